/* relay/send.c: a message from its JSON (PUT /messages or the socket's send and message
 * frames) to the recipient's devices' queues: the envelopes checked and decoded, one delivery
 * made per device, and the outcome both transports answer with. Must never read, log or keep
 * anything of a message but its opaque bytes and who it is from and to. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/crypto.h"
#include "core/time.h"
#include "http/errors.h"
#include "relay/internal.h"
#include "relay/relay.h"
#include "users/users.h"

#define SIMPLE_TRIES 3 /* the simple form's device set changed while it was sent */

int relay_message_frame(struct buf *out, const char *id, const char *from, int64_t from_device, int type,
                        const unsigned char *content, size_t len, const char *created_at)
{
	struct jw w;
	jw_init(&w, out);
	jw_obj(&w);
	jw_kstr(&w, "type", "message");
	jw_kstr(&w, "id", id);
	jw_kstr(&w, "from", from);
	jw_kint(&w, "from_device", from_device);
	jw_kint(&w, "envelope_type", type);
	jw_key(&w, "content");
	struct buf b64 = BUF_INIT(RELAY_CONTENT_MAX * 2);
	int rc = crypto_b64_encode(&b64, content, len);
	jw_strn(&w, b64.ptr ? b64.ptr : "", b64.len);
	buf_free(&b64);
	if (type == 0) { /* the original backend's form: the payload as it was sent (a JSON string) */
		jw_key(&w, "payload");
		jw_strn(&w, (const char *)content, len);
	}
	jw_kstr(&w, "timestamp", created_at);
	jw_obj_end(&w);
	int wrc = jw_finish(&w);
	return rc ? rc : wrc;
}

/* Base64 with or without its padding into bytes in a. ERR_INVAL, ERR_TOOBIG (over max). */
int relay_b64(struct arena *a, const char *s, size_t n, size_t max, const unsigned char **out, size_t *len)
{
	if (n > (max + 2) / 3 * 4)
		return ERR_TOOBIG;
	char padded[4] = "";
	size_t whole = n - n % 4, pad = n % 4 ? 4 - n % 4 : 0;
	if (pad == 3)
		return ERR_INVAL;
	struct buf b = BUF_INIT(max + 3);
	int rc = crypto_b64_decode(&b, s, whole);
	if (!rc && pad) {
		memcpy(padded, s + whole, 4 - pad);
		memset(padded + 4 - pad, '=', pad);
		rc = crypto_b64_decode(&b, padded, 4);
	}
	if (!rc && b.len > max)
		rc = ERR_TOOBIG;
	unsigned char *p = rc ? NULL : arena_alloc(a, b.len ? b.len : 1);
	if (!rc && !p)
		rc = ERR_NOMEM;
	if (!rc) {
		memcpy(p, b.ptr, b.len);
		*out = p;
		*len = b.len;
	}
	buf_free(&b);
	return rc;
}

static void refuse(struct relay_outcome *o, enum http_err e, const char *message, const char *field)
{
	o->err = e;
	o->message = message;
	o->field = field;
}

/* An integer member in [lo, hi], or -1 (then o says why). */
static int64_t int_member(const struct json *obj, const char *name, int64_t lo, int64_t hi, struct relay_outcome *o)
{
	const struct json *v = json_get(obj, name);
	if (!v || v->type != JSON_NUMBER || !v->is_int || v->integer < lo || v->integer > hi) {
		refuse(o, E_INVALID_INPUT, "each message needs device_id, registration_id and type as whole numbers", name);
		return -1;
	}
	return v->integer;
}

/* The "messages" array into x->env. */
static int envelopes(struct arena *a, const struct json *body, struct relay_accept *x, struct relay_outcome *o)
{
	const struct json *list = json_get(body, "messages");
	if (!list || list->type != JSON_ARRAY || list->len == 0 || list->len > RELAY_DEVICES_MAX) {
		refuse(o, E_INVALID_INPUT, "messages must be a list of 1 to 6 envelopes, one per device", "messages");
		return ERR_INVAL;
	}
	x->env = arena_zalloc(a, sizeof *x->env * list->len);
	if (!x->env)
		return ERR_NOMEM;
	x->n = 0;
	for (const struct json *m = list->child; m; m = m->next) {
		struct relay_envelope *e = &x->env[x->n];
		const struct json *content = json_get(m, "content");
		if (m->type != JSON_OBJECT || (e->device_id = int_member(m, "device_id", 1, INT32_MAX, o)) < 0 ||
		    (e->registration_id = int_member(m, "registration_id", 1, RELAY_REG_MAX, o)) < 0 ||
		    (e->type = (int)int_member(m, "type", 1, 8, o)) < 0) {
			if (m->type != JSON_OBJECT)
				refuse(o, E_INVALID_INPUT, "each message must be an object", "messages");
			return ERR_INVAL;
		}
		if (e->type != 1 && e->type != 3 && e->type != 6 && e->type != 8) {
			refuse(o, E_INVALID_INPUT, "type must be 1 (whisper), 3 (prekey), 6 (sealed sender) or 8 (plaintext)",
			       "type");
			return ERR_INVAL;
		}
		for (int i = 0; i < x->n; i++)
			if (x->env[i].device_id == e->device_id) {
				refuse(o, E_INVALID_INPUT, "one envelope per device", "device_id");
				return ERR_INVAL;
			}
		if (!content || content->type != JSON_STRING) {
			refuse(o, E_INVALID_INPUT, "content must be the envelope's bytes in base64", "content");
			return ERR_INVAL;
		}
		int rc = relay_b64(a, content->str, content->len, RELAY_CONTENT_MAX, &e->content, &e->len);
		if (rc == ERR_TOOBIG)
			refuse(o, E_PAYLOAD_TOO_LARGE, "an envelope's content is over 96 KiB", "content");
		else if (rc == ERR_INVAL || (!rc && e->len == 0))
			refuse(o, E_INVALID_INPUT, "content must be the envelope's bytes in base64", "content");
		if (rc || e->len == 0)
			return rc ? rc : ERR_INVAL;
		x->n++;
	}
	return 0;
}

static void deliveries_free(struct relay_accept *x)
{
	for (int i = 0; i < x->n; i++) {
		free(x->env[i].delivery);
		x->env[i].delivery = NULL;
	}
}

/* Makes each envelope's delivery and queues them all. */
static int accept_all(struct relay_accept *x)
{
	struct buf frame = BUF_INIT(RELAY_CONTENT_MAX * 2 + 4096);
	int rc = uuid7(x->message_id);
	time_rfc3339(time_now_us(), x->created_at);
	for (int i = 0; !rc && i < x->n; i++) {
		struct relay_envelope *e = &x->env[i];
		buf_reset(&frame);
		rc = relay_message_frame(&frame, x->message_id, x->sender, x->sender_device, e->type, e->content, e->len,
		                         x->created_at);
		if (!rc && !(e->delivery = relay_delivery_new(x->recipient, e->device_id, frame.ptr, frame.len)))
			rc = ERR_NOMEM;
	}
	buf_free(&frame);
	if (!rc)
		rc = relay_store_accept(x, config_int("RELAY_QUEUE_MAX"));
	if (rc)
		deliveries_free(x);
	return rc;
}

/* The original backend's form: the payload to every device of the recipient as it is, or to
 * its inbox (device 0) while it has no device: the sockets its clients open without one. */
static int accept_simple(struct arena *a, struct relay_accept *x, const struct json *payload, struct relay_outcome *o)
{
	if (!payload || payload->type != JSON_STRING || payload->len == 0 || payload->len > RELAY_CONTENT_MAX) {
		refuse(o, payload && payload->len > RELAY_CONTENT_MAX ? E_PAYLOAD_TOO_LARGE : E_INVALID_INPUT,
		       "payload must be a string of 1 byte to 96 KiB", "payload");
		return ERR_INVAL;
	}
	int rc = ERR_INVAL;
	for (int tries = 0; rc == ERR_INVAL && tries < SIMPLE_TRIES; tries++) {
		struct relay_device devs[RELAY_DEVICES_MAX];
		int n = 0;
		if ((rc = relay_store_devices(a, x->recipient, devs, &n)))
			return rc;
		if (!(x->env = arena_zalloc(a, sizeof *x->env * RELAY_DEVICES_MAX)))
			return ERR_NOMEM;
		x->n = 0;
		bool self = strcmp(x->sender, x->recipient) == 0;
		for (int i = 0; i < n; i++) {
			if (self && devs[i].id == x->sender_device)
				continue;
			struct relay_envelope *e = &x->env[x->n++];
			e->device_id = devs[i].id;
			e->registration_id = devs[i].registration_id;
			e->content = (const unsigned char *)payload->str;
			e->len = payload->len;
		}
		if (n == 0) { /* an account of the original backend's clients: its inbox (device 0) */
			x->env[0].content = (const unsigned char *)payload->str;
			x->env[0].len = payload->len;
			x->n = 1;
		} else if (x->n == 0) {
			return ERR_NOTFOUND;
		}
		rc = accept_all(x);
		if (rc == ERR_INVAL && x->refusal != REFUSED_MISMATCH && x->refusal != REFUSED_STALE)
			break;
	}
	return rc;
}

void relay_send(struct arena *a, const char *sender, int64_t sender_device, const char *to, const struct json *body,
                bool simple, struct relay_outcome *o)
{
	memset(o, 0, sizeof *o);
	o->err = -1;
	struct relay_accept *x = &o->x;
	x->sender = sender;
	x->recipient = to;
	x->sender_device = sender_device;
	struct user u;
	int rc = !to || uuid_check(to) ? ERR_NOTFOUND : users_by_id(a, to, &u);
	if (rc == 0 && u.disabled)
		rc = ERR_NOTFOUND;
	if (rc == ERR_NOTFOUND) {
		refuse(o, E_NOT_FOUND, "no such user, or they have no device", "to");
		return;
	}
	if (!rc)
		rc = simple ? accept_simple(a, x, json_get(body, "payload"), o) : envelopes(a, body, x, o);
	if (!rc && !simple)
		rc = accept_all(x);
	if (!rc || (int)o->err >= 0)
		return;
	switch (rc == ERR_INVAL ? x->refusal : REFUSED_NOT) {
	case REFUSED_MISMATCH:
		return refuse(o, E_MISMATCHED_DEVICES, "send one envelope to each of the recipient's devices", NULL);
	case REFUSED_STALE:
		return refuse(o, E_STALE_DEVICES, "a registration id is not the device's: fetch its keys again", NULL);
	case REFUSED_FULL:
		return refuse(o, E_RATE_LIMITED, "the recipient's device has too many messages waiting", NULL);
	case REFUSED_SENDER:
		return refuse(o, E_NOT_FOUND, "device_id is not one of your devices", "device_id");
	case REFUSED_NOT:
		break;
	}
	if (rc == ERR_NOTFOUND)
		refuse(o, E_NOT_FOUND, "no such user, or they have no device", "to");
	else
		refuse(o, E_UNAVAILABLE, "the message could not be stored; send it again", NULL);
}

static void id_list(struct jw *w, const char *name, const int64_t *ids, int n)
{
	jw_key(w, name);
	jw_arr(w);
	for (int i = 0; i < n; i++)
		jw_int(w, ids[i]);
	jw_arr_end(w);
}

void relay_outcome_lists(struct jw *w, const void *ctx)
{
	const struct relay_outcome *o = ctx;
	if (o->err == E_MISMATCHED_DEVICES) {
		id_list(w, "missing_devices", o->x.missing, o->x.nmissing);
		id_list(w, "extra_devices", o->x.extra, o->x.nextra);
	} else if (o->err == E_STALE_DEVICES) {
		id_list(w, "stale_devices", o->x.stale, o->x.nstale);
	}
}
