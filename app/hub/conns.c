/* hub/conns.c: the hub's side of GET /ws and GET /api/v1/events: who a connection is and what
 * it may hear (its own log; presence, typing and read between mutual contacts), the replay on
 * connect, and token renewal. The sockets are http/live.c's. Must never block on the loop
 * thread: the database is read in the handler (a worker) or on the loop's task thread. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth/auth.h"
#include "core/json.h"
#include "core/time.h"
#include "http/live.h"
#include "http/loop.h"
#include "http/wsproto.h"
#include "hub/hub.h"
#include "hub/internal.h"
#include "users/users.h"

#define CONTACTS_MAX 5000 /* mutual contacts a connection hears about (read when it opens) */
#define REPLAY_BATCH 500
/* a client further behind than this reloads instead (resync): a replay is held in memory on
 * its way out, and a week of someone's events could be large */
#define REPLAY_MAX 10000
#define ID_MAX 40

static const struct hub_ws_part *part;

void hub_set_ws_part(const struct hub_ws_part *p)
{
	part = p;
}

/* Who is on a connection. Owned by the connection (freed in on_close). */
struct who {
	char user_id[ID_MAX];
	bool online; /* counted in presence */
	bool hidden; /* "show my presence" is off: no presence either way */
	int ncontacts;
	char (*contacts)[ID_MAX];
	bool *shows; /* contacts[i] shows their presence */
	void *part;  /* the ws part's state */
};

static void who_free(struct who *w)
{
	if (w) {
		if (w->part)
			part->close(w->part);
		free(w->contacts);
		free(w->shows);
		free(w);
	}
}

static bool is_contact(const struct who *w, const char *id)
{
	for (int i = 0; i < w->ncontacts; i++)
		if (strcmp(w->contacts[i], id) == 0)
			return true;
	return false;
}

static void user_key(char out[ID_MAX + 2], const char *user_id)
{
	snprintf(out, ID_MAX + 2, HUB_USER_PREFIX "%s", user_id);
}

/* A small frame built with the JSON writer into out (a fixed-size stack buffer's worth). */
static int frame_presence(struct buf *out, const char *user_id, bool online)
{
	struct jw w;
	jw_init(&w, out);
	jw_obj(&w);
	jw_kstr(&w, "type", "presence");
	jw_kstr(&w, "user_id", user_id);
	jw_kstr(&w, "status", online ? "online" : "offline");
	if (online) {
		jw_knull(&w, "last_seen");
	} else {
		char ts[TIME_RFC3339_LEN];
		time_rfc3339(time_now_us(), ts);
		jw_kstr(&w, "last_seen", ts);
	}
	jw_obj_end(&w);
	return jw_finish(&w);
}

static void send_error(struct live *l, const char *code, const char *message)
{
	struct buf b = BUF_INIT(4096);
	struct jw w;
	jw_init(&w, &b);
	jw_obj(&w);
	jw_kstr(&w, "type", "error");
	jw_kstr(&w, "code", code);
	jw_kstr(&w, "message", message);
	jw_obj_end(&w);
	if (jw_finish(&w) == 0)
		live_frame(l, 0, b.ptr, b.len);
	buf_free(&b);
}

/* Tells the user's connected mutual contacts that the user came or went (those who hide
 * their own presence hear nobody's). */
static void announce(const struct who *w, bool online)
{
	struct buf b = BUF_INIT(4096);
	char key[ID_MAX + 2];
	if (frame_presence(&b, w->user_id, online) == 0)
		for (int i = 0; i < w->ncontacts; i++) {
			if (!w->shows[i])
				continue;
			user_key(key, w->contacts[i]);
			live_deliver(key, 0, b.ptr, b.len);
		}
	buf_free(&b);
}

/* ---- the loop's callbacks ---------------------------------------------------------------- */

static void on_ready(struct live *l, const char *key, int64_t seq)
{
	struct who *w = live_user(l);
	char ready[96];
	int n = snprintf(ready, sizeof ready, "{\"type\":\"ready\",\"seq\":%lld}", (long long)seq);
	live_frame(l, 0, ready, (size_t)n);
	if (w->part && strncmp(key, HUB_USER_PREFIX, strlen(HUB_USER_PREFIX)) == 0)
		part->ready(w->part, l);
	if (w->online || w->hidden)
		return;
	w->online = true;
	/* the user's first connection: contacts hear it; this one hears who is here already */
	if (live_count(key) == 1)
		announce(w, true);
	struct buf b = BUF_INIT(4096);
	char ck[ID_MAX + 2];
	for (int i = 0; i < w->ncontacts; i++) {
		if (!w->shows[i])
			continue;
		user_key(ck, w->contacts[i]);
		buf_reset(&b);
		if (live_count(ck) > 0 && frame_presence(&b, w->contacts[i], true) == 0)
			live_frame(l, 0, b.ptr, b.len);
	}
	buf_free(&b);
}

static void on_close(struct live *l)
{
	struct who *w = live_user(l);
	char key[ID_MAX + 2];
	user_key(key, w->user_id);
	if (w->online && live_count(key) == 0)
		announce(w, false);
	who_free(w);
}

/* A token renewal, checked on the task thread (it reads the account). */
struct renewal {
	struct loop_post p;
	uint64_t id;
	char user_id[ID_MAX];
	char token[];
};

static void renew_run(struct loop_post *p)
{
	struct renewal *rn = (struct renewal *)p;
	char first[1024];
	struct arena a;
	arena_init(&a, 64 * 1024, first, sizeof first);
	const char *uid = NULL;
	int64_t exp = 0;
	int rc = auth_token_check(&a, rn->token, &uid, &exp);
	if (rc == 0 && strcmp(uid, rn->user_id) == 0) {
		live_expire_at(rn->id, time_mono_us() + (exp - (int64_t)time(NULL)) * 1000000);
	} else {
		static const char bad[] = "{\"type\":\"error\",\"code\":\"unauthorized\",\"message\":\"the token is not valid for this connection\"}";
		live_send(rn->id, 0, bad, sizeof bad - 1);
		live_end(rn->id, WS_CLOSE_POLICY, "the token is not valid");
	}
	arena_free(&a);
	free(rn);
}

static void relay_signal(struct live *l, const struct who *w, const struct json *msg, const char *type)
{
	const struct json *to = json_get(msg, "to");
	if (!to || to->type != JSON_STRING) {
		send_error(l, "invalid_input", "\"to\" must be a user id");
		return;
	}
	/* a stranger learns nothing, not even whether the user exists */
	if (!is_contact(w, to->str))
		return;
	struct buf b = BUF_INIT(4096);
	struct jw jw;
	jw_init(&jw, &b);
	jw_obj(&jw);
	jw_kstr(&jw, "type", type);
	jw_kstr(&jw, "from", w->user_id);
	if (strcmp(type, "typing") == 0) {
		jw_kstr(&jw, "to", to->str);
	} else {
		const struct json *m = json_get(msg, "message_id");
		if (!m || m->type != JSON_STRING || m->len > 100) {
			buf_free(&b);
			send_error(l, "invalid_input", "\"message_id\" must be a string of at most 100 bytes");
			return;
		}
		jw_kstr(&jw, "message_id", m->str);
	}
	jw_obj_end(&jw);
	char key[ID_MAX + 2];
	user_key(key, to->str);
	if (jw_finish(&jw) == 0)
		live_deliver(key, 0, b.ptr, b.len);
	buf_free(&b);
}

static void on_text(struct live *l, const char *text, size_t n)
{
	struct who *w = live_user(l);
	char first[4096];
	struct arena a;
	arena_init(&a, 4u << 20, first, sizeof first);
	struct json *msg;
	struct json_error err;
	const struct json *type;
	if (json_parse(&a, text, n, NULL, &msg, &err) != 0 || msg->type != JSON_OBJECT ||
	    !(type = json_get(msg, "type")) || type->type != JSON_STRING) {
		send_error(l, "invalid_input", "send a JSON object with a \"type\"");
	} else if (strcmp(type->str, "typing") == 0 || strcmp(type->str, "read") == 0) {
		relay_signal(l, w, msg, type->str);
	} else if (strcmp(type->str, "auth") == 0) {
		const struct json *t = json_get(msg, "access_token");
		struct renewal *rn = t && t->type == JSON_STRING && t->len < 4096 ? malloc(sizeof *rn + t->len + 1) : NULL;
		if (!rn) {
			send_error(l, "invalid_input", "\"access_token\" must be a string");
		} else {
			rn->p.run = renew_run;
			rn->id = live_id(l);
			snprintf(rn->user_id, sizeof rn->user_id, "%s", w->user_id);
			memcpy(rn->token, t->str, t->len + 1);
			loop_task(&rn->p);
		}
	} else if (strcmp(type->str, "subscribe") == 0) {
		send_error(l, "forbidden", "no topic can be subscribed to by this account");
	} else if (!w->part || !part->frame(w->part, l, type->str, msg, text, n)) {
		send_error(l, "invalid_input", "unknown message type");
	}
	arena_free(&a);
}

static void on_flushed(struct live *l)
{
	struct who *w = live_user(l);
	if (w->part)
		part->flushed(w->part, l);
}

static const struct live_ops ops = {
	.on_text = on_text, .on_ready = on_ready, .on_close = on_close, .on_flushed = on_flushed};

/* ---- the handlers ------------------------------------------------------------------------ */

static const char *header_of(void *ctx, const char *name)
{
	return req_header(ctx, name);
}

struct replay_ctx {
	uint64_t id;
};

static int replay_each(void *ctx, int64_t seq, const char *frame, size_t len)
{
	live_send(((struct replay_ctx *)ctx)->id, seq, frame, len);
	return 0;
}

/* Opens a connection of kind for r's user, replaying from since (-1: nothing to replay). */
static int open_for(struct req *r, enum live_kind kind, const char *accept, int64_t since)
{
	struct who *w = calloc(1, sizeof *w);
	if (!w)
		return ERR_NOMEM;
	snprintf(w->user_id, sizeof w->user_id, "%s", r->user_id);
	const char **ids;
	bool *shows;
	int n = 0;
	if (contacts_mutual(&r->arena, r->user_id, CONTACTS_MAX, &ids, &shows, &n) != 0) {
		who_free(w);
		return http_error(r, E_UNAVAILABLE, "the contacts could not be read", NULL);
	}
	if (n && (!(w->contacts = calloc((size_t)n, sizeof *w->contacts)) || !(w->shows = calloc((size_t)n, 1)))) {
		who_free(w);
		return ERR_NOMEM;
	}
	for (int i = 0; i < n; i++) {
		snprintf(w->contacts[i], ID_MAX, "%s", ids[i]);
		w->shows[i] = shows[i];
	}
	w->ncontacts = n;
	w->hidden = !((const struct user *)r->user)->show_presence;
	int rc;
	if (part && kind == LIVE_WS && (rc = part->open(r, &w->part))) {
		who_free(w);
		return rc;
	}
	char key[ID_MAX + 2];
	user_key(key, r->user_id);
	int64_t expires = time_mono_us() + (r->token_exp - (int64_t)time(NULL)) * 1000000;
	uint64_t id = live_open(r, kind, accept, r->token_in_protocol ? WS_BEARER : NULL, &ops, w, key, expires);
	if (!id) {
		who_free(w);
		return 0;
	}
	/* live delivery is held for this connection from here on; what committed before is in
	 * the log, read now; the transport drops what both give */
	int64_t at = 0;
	bool resync = false;
	rc = hub_head(key, &at);
	if (!rc && since >= 0 && at - since > REPLAY_MAX) {
		resync = true;
	} else if (!rc && since >= 0) {
		struct replay_ctx ctx = {id};
		struct hub_pos pos = {.at = since};
		do
			rc = hub_replay(key, pos.at, REPLAY_BATCH, replay_each, &ctx, &pos);
		while (!rc && pos.more);
		resync = pos.resync;
		at = resync ? pos.head : pos.at;
	}
	if (rc) {
		live_end(id, WS_CLOSE_INTERNAL, "the event log could not be read");
		return 0;
	}
	if (resync) {
		char f[96];
		int fn = snprintf(f, sizeof f, "{\"type\":\"resync\",\"seq\":%lld}", (long long)at);
		live_send(id, 0, f, (size_t)fn);
	}
	live_release(id, key, at);
	return 0;
}

/* ?since= or Last-Event-ID: -1 when absent, -2 when malformed. */
static int64_t since_of(const char *value)
{
	if (!value || !*value)
		return -1;
	char *end;
	long long v = strtoll(value, &end, 10);
	return *end || v < 0 ? -2 : v;
}

int hub_ws(struct req *r)
{
	enum ws_refusal why;
	char accept[WS_ACCEPT_SIZE];
	int rc = ws_handshake_check(r->method, "1.1", header_of, r, &why, accept);
	if (rc == ERR_NOMEM)
		return rc;
	if (rc) {
		if (ws_refusal_status(why) == 426) {
			res_header(r, "Upgrade", "websocket");
			res_header(r, "Sec-WebSocket-Version", "13");
			return http_error(r, E_UPGRADE_REQUIRED, ws_refusal_str(why), NULL);
		}
		return http_error(r, E_INVALID_INPUT, ws_refusal_str(why), NULL);
	}
	int64_t since = since_of(req_query(r, "since"));
	if (since == -2)
		return http_error(r, E_INVALID_INPUT, "since must be a sequence number", "since");
	return open_for(r, LIVE_WS, accept, since);
}

int hub_events(struct req *r)
{
	const char *q = req_query(r, "since");
	int64_t since = since_of(q ? q : req_header(r, "Last-Event-ID"));
	if (since == -2)
		return http_error(r, E_INVALID_INPUT, "since (or Last-Event-ID) must be a sequence number", "since");
	return open_for(r, LIVE_SSE, NULL, since);
}

/* The sink: durable frames after their commit, signals at once; all to the loop. */
static void deliver(void *ctx, const char *stream, int64_t seq, const char *frame, size_t len)
{
	(void)ctx;
	live_publish(stream, seq, frame, len);
}

static const struct hub_sink sink = {deliver, NULL};

void hub_connect_sink(void)
{
	hub_set_sink(&sink);
}
