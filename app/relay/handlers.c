/* relay/handlers.c: the relay's HTTP routes: devices, key uploads and bundles, and sends.
 * Every route acts for the caller's own devices; another account is reached only through its
 * public bundle and its queue. Must never log a key or a message's bytes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/crypto.h"
#include "http/req.h"
#include "relay/handlers.h"
#include "relay/internal.h"
#include "relay/relay.h"

/* ?device_id= (default 1) into *device: 0, or the 400 answered. */
static int device_of(struct req *r, int64_t *device)
{
	const char *q = req_query(r, "device_id");
	*device = 1;
	if (!q)
		return 0;
	char *end;
	long long v = strtoll(q, &end, 10);
	if (!*q || *end || v < 1 || v > INT32_MAX)
		return http_error(r, E_INVALID_INPUT, "device_id must be one of your device ids", "device_id");
	*device = v;
	return 0;
}

static int limited(struct req *r, int retry_after, const char *message)
{
	char s[16];
	snprintf(s, sizeof s, "%d", retry_after);
	res_header(r, "Retry-After", s);
	return http_error(r, E_RATE_LIMITED, message, NULL);
}

/* ---- devices --------------------------------------------------------------------------- */

static void device_json(struct jw *w, const struct relay_device *d)
{
	jw_obj(w);
	jw_kint(w, "device_id", d->id);
	jw_kint(w, "registration_id", d->registration_id);
	jw_kstr(w, "name", d->name);
	jw_kstr(w, "created_at", d->created_at);
	jw_kstr(w, "last_seen_at", d->last_seen_at);
	jw_obj_end(w);
}

int devices_add(struct req *r)
{
	struct json *body;
	const char *name;
	bool has;
	int64_t reg, id;
	int rc = req_object(r, &body);
	if (rc || (rc = req_int(r, body, "registration_id", 1, RELAY_REG_MAX, &has, &reg)) ||
	    (rc = req_str(r, body, "name", false, RELAY_NAME_MAX, &name)))
		return rc;
	if (!has)
		return http_error(r, E_INVALID_INPUT, "registration_id (1 to 16380) is required", "registration_id");
	rc = relay_store_device_add(r->user_id, reg, name, &id);
	if (rc == ERR_BUSY)
		return http_error(r, E_CONFLICT, "an account has at most 6 devices: remove one first", NULL);
	if (rc)
		return rc;
	struct relay_device devs[RELAY_DEVICES_MAX];
	int n = 0;
	if ((rc = relay_store_devices(&r->arena, r->user_id, devs, &n)))
		return rc;
	for (int i = 0; i < n; i++)
		if (devs[i].id == id) {
			struct jw w;
			res_json(r, 201, &w);
			device_json(&w, &devs[i]);
			return res_end(r, &w);
		}
	return http_error(r, E_NOT_FOUND, "the device was removed at once", NULL);
}

int devices_list(struct req *r)
{
	struct relay_device devs[RELAY_DEVICES_MAX];
	int n = 0;
	int rc = relay_store_devices(&r->arena, r->user_id, devs, &n);
	if (rc)
		return rc;
	struct jw w;
	res_json(r, 200, &w);
	jw_obj(&w);
	jw_key(&w, "items");
	jw_arr(&w);
	for (int i = 0; i < n; i++)
		device_json(&w, &devs[i]);
	jw_arr_end(&w);
	jw_knull(&w, "next_cursor");
	jw_obj_end(&w);
	return res_end(r, &w);
}

int devices_remove(struct req *r)
{
	char *end;
	const char *p = req_param(r, "id");
	long long id = strtoll(p, &end, 10);
	if (!*p || *end || id < 1 || id > INT32_MAX)
		return http_error(r, E_NOT_FOUND, "no such device", NULL);
	int rc = relay_store_device_remove(r->user_id, id);
	if (rc == ERR_NOTFOUND)
		return http_error(r, E_NOT_FOUND, "no such device", NULL);
	if (rc)
		return rc;
	relay_kick(r->user_id, id);
	r->status = 204;
	return 0;
}

/* ---- keys ------------------------------------------------------------------------------ */

/* A base64 member of exactly len bytes (into *out), 0 or the 400 answered. */
static int bytes_of(struct req *r, const struct json *obj, const char *name, size_t len, const char *field,
                    const unsigned char **out)
{
	const struct json *v = json_get(obj, name);
	size_t n = 0;
	int rc = v && v->type == JSON_STRING ? relay_b64(&r->arena, v->str, v->len, len, out, &n) : ERR_INVAL;
	if (rc == ERR_NOMEM)
		return rc;
	if (rc || n != len) {
		char msg[128];
		snprintf(msg, sizeof msg, "%s must be %zu bytes in base64", name, len);
		return http_error(r, E_INVALID_INPUT, arena_strdup(&r->arena, msg), field);
	}
	return 0;
}

/* One key object {key_id, public_key[, signature]}: EC keys start with 0x05, Kyber with 0x08. */
static int key_of(struct req *r, const struct json *obj, const char *field, size_t pub_len, bool signed_key,
                  struct relay_key *k)
{
	if (!obj || obj->type != JSON_OBJECT)
		return http_error(r, E_INVALID_INPUT, "each key is an object {key_id, public_key, signature}", field);
	bool has;
	int rc = req_int(r, obj, "key_id", 0, UINT32_MAX, &has, &k->key_id);
	if (rc)
		return rc;
	if (!has)
		return http_error(r, E_INVALID_INPUT, "key_id (0 to 4294967295) is required", field);
	if ((rc = bytes_of(r, obj, "public_key", pub_len, field, &k->pub)))
		return rc;
	k->pub_len = pub_len;
	if (k->pub[0] != (pub_len == RELAY_EC_KEY ? 0x05 : 0x08))
		return http_error(r, E_INVALID_INPUT, "public_key is not a serialized public key of its kind", field);
	k->sig = NULL;
	k->sig_len = 0;
	if (signed_key) {
		if ((rc = bytes_of(r, obj, "signature", RELAY_SIG, field, &k->sig)))
			return rc;
		k->sig_len = RELAY_SIG;
	}
	return 0;
}

/* A list of keys (absent: *n -1). */
static int keys_of(struct req *r, const struct json *body, const char *name, size_t pub_len, bool signed_key,
                   struct relay_key **out, int *n)
{
	const struct json *list = json_get(body, name);
	*n = -1;
	if (!list || list->type == JSON_NULL)
		return 0;
	if (list->type != JSON_ARRAY || list->len > RELAY_KEYS_MAX)
		return http_error(r, E_INVALID_INPUT, "at most 100 keys of each kind per upload", name);
	*out = arena_zalloc(&r->arena, sizeof **out * (list->len ? list->len : 1));
	if (!*out)
		return ERR_NOMEM;
	*n = 0;
	for (const struct json *k = list->child; k; k = k->next) {
		int rc = key_of(r, k, name, pub_len, signed_key, &(*out)[*n]);
		if (rc)
			return rc;
		for (int i = 0; i < *n; i++)
			if ((*out)[i].key_id == (*out)[*n].key_id)
				return http_error(r, E_INVALID_INPUT, "key ids must differ within a list", name);
		(*n)++;
	}
	return 0;
}

static int counts_json(struct req *r, int64_t count, int64_t kyber_count)
{
	struct jw w;
	res_json(r, 200, &w);
	jw_obj(&w);
	jw_kint(&w, "count", count);
	jw_kint(&w, "kyber_count", kyber_count);
	jw_obj_end(&w);
	return res_end(r, &w);
}

int keys_put(struct req *r)
{
	struct json *body;
	struct relay_upload u = {.n_ec = -1, .n_kyber = -1};
	bool has;
	int rc = req_object(r, &body);
	if (rc || (rc = req_int(r, body, "device_id", 1, INT32_MAX, &has, &u.device_id)))
		return rc;
	if (!has)
		return http_error(r, E_INVALID_INPUT, "device_id is required", "device_id");
	const struct json *v;
	if ((v = json_get(body, "identity_key")) && v->type != JSON_NULL &&
	    (rc = bytes_of(r, body, "identity_key", RELAY_EC_KEY, "identity_key", &u.identity)))
		return rc;
	if (u.identity && u.identity[0] != 0x05)
		return http_error(r, E_INVALID_INPUT, "identity_key is not a serialized public key", "identity_key");
	if ((v = json_get(body, "signed_prekey")) && v->type != JSON_NULL) {
		if ((rc = key_of(r, v, "signed_prekey", RELAY_EC_KEY, true, &u.signed_key)))
			return rc;
		u.has_signed = true;
	}
	if ((v = json_get(body, "kyber_last_resort")) && v->type != JSON_NULL) {
		if ((rc = key_of(r, v, "kyber_last_resort", RELAY_KYBER_KEY, true, &u.last_resort)))
			return rc;
		u.has_last_resort = true;
	}
	if ((rc = keys_of(r, body, "one_time_prekeys", RELAY_EC_KEY, false, &u.ec, &u.n_ec)) ||
	    (rc = keys_of(r, body, "kyber_prekeys", RELAY_KYBER_KEY, true, &u.kyber, &u.n_kyber)))
		return rc;
	int64_t count, kyber_count;
	rc = relay_store_keys_put(r->user_id, &u, &count, &kyber_count);
	if (rc == ERR_NOTFOUND)
		return http_error(r, E_NOT_FOUND, "device_id is not one of your devices", "device_id");
	if (rc == ERR_EXISTS)
		return http_error(r, E_CONFLICT, "the account has another identity key; only device 1 changes it",
		                  "identity_key");
	if (rc == ERR_INVAL)
		return http_error(r, E_INVALID_INPUT, "the account's first upload needs its identity_key", "identity_key");
	return rc ? rc : counts_json(r, count, kyber_count);
}

int keys_count(struct req *r)
{
	int64_t device, count, kyber_count;
	int rc = device_of(r, &device);
	if (rc)
		return rc;
	rc = relay_store_keys_count(r->user_id, device, &count, &kyber_count);
	if (rc == ERR_NOTFOUND)
		return http_error(r, E_NOT_FOUND, "device_id is not one of your devices", "device_id");
	return rc ? rc : counts_json(r, count, kyber_count);
}

static void key_json(struct jw *w, const char *name, const struct relay_key *k)
{
	struct buf b = BUF_INIT(4096);
	jw_key(w, name);
	jw_obj(w);
	jw_kint(w, "key_id", k->key_id);
	if (crypto_b64_encode(&b, k->pub, k->pub_len) == 0)
		jw_kstr(w, "public_key", buf_str(&b));
	if (k->sig) {
		buf_reset(&b);
		if (crypto_b64_encode(&b, k->sig, k->sig_len) == 0)
			jw_kstr(w, "signature", buf_str(&b));
	}
	jw_obj_end(w);
	buf_free(&b);
}

int keys_bundle(struct req *r)
{
	const char *user = req_param(r, "user_id"), *dev = req_param(r, "device_id");
	int64_t device = 0;
	if (dev) {
		char *end;
		long long v = strtoll(dev, &end, 10);
		if (!*dev || *end || v < 1 || v > INT32_MAX)
			return http_error(r, E_NOT_FOUND, "no such device", NULL);
		device = v;
	}
	int retry;
	if (relay_limit_keys(r->user_id, &retry) != 0)
		return limited(r, retry, "too many key bundles fetched; each takes one-time keys of their owner");
	const unsigned char *identity = NULL;
	struct relay_bundle b[RELAY_DEVICES_MAX];
	int n = 0;
	int rc = uuid_check(user) ? ERR_NOTFOUND : relay_store_keys_take(&r->arena, user, device, &identity, b, &n);
	if (rc == ERR_NOTFOUND)
		return http_error(r, E_NOT_FOUND, "no such user or device with keys", NULL);
	if (rc)
		return rc;
	struct buf id64 = BUF_INIT(64);
	if ((rc = crypto_b64_encode(&id64, identity, RELAY_EC_KEY)))
		return rc;
	struct jw w;
	res_json(r, 200, &w);
	jw_obj(&w);
	jw_kstr(&w, "identity_key", buf_str(&id64));
	buf_free(&id64);
	jw_key(&w, "devices");
	jw_arr(&w);
	for (int i = 0; i < n; i++) {
		jw_obj(&w);
		jw_kint(&w, "device_id", b[i].device_id);
		jw_kint(&w, "registration_id", b[i].registration_id);
		key_json(&w, "signed_prekey", &b[i].signed_key);
		if (b[i].has_prekey)
			key_json(&w, "prekey", &b[i].prekey);
		key_json(&w, "kyber_prekey", &b[i].kyber);
		jw_obj_end(&w);
	}
	jw_arr_end(&w);
	jw_obj_end(&w);
	return res_end(r, &w);
}

/* ---- messages -------------------------------------------------------------------------- */

int messages_put(struct req *r)
{
	struct json *body;
	int64_t device;
	const char *client_id;
	int rc = device_of(r, &device);
	if (rc || (rc = req_object(r, &body)) || (rc = req_str(r, body, "client_id", false, 100, &client_id)))
		return rc;
	int retry;
	if (relay_limit_send(r->user_id, &retry) != 0)
		return limited(r, retry, "too many messages; wait a moment");
	struct relay_outcome o;
	relay_send(&r->arena, r->user_id, device, req_param(r, "user_id"), body, false, &o);
	if (o.err >= 0) {
		if (o.err == E_RATE_LIMITED)
			res_header(r, "Retry-After", "1");
		return http_error_more(r, o.err, o.message, o.field, relay_outcome_lists, &o);
	}
	struct jw w;
	res_json(r, 200, &w);
	jw_obj(&w);
	jw_kstr(&w, "message_id", o.x.message_id);
	jw_obj_end(&w);
	return res_end(r, &w);
}
