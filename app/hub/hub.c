/* hub/hub.c: publishing (durable events written in the caller's transaction and delivered
 * after its commit; signals delivered at once) and replay for clients that reconnect. Must
 * never deliver a durable event before its transaction committed, nor one that rolled back,
 * and never store or send a frame that is not one valid JSON object. */
#include "hub/hub.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/json.h"
#include "core/log.h"
#include "core/time.h"
#include "hub/internal.h"
#include "store/db.h" /* db_writing, db_after_commit */

#define STREAM_MAX (2 + HUB_NAME_MAX + 1) /* "u:" or "t:", the name, NUL */

static _Atomic(const struct hub_sink *) sink;

void hub_set_sink(const struct hub_sink *s)
{
	atomic_store(&sink, s);
}

/* A user id or topic: 1..HUB_NAME_MAX printable ASCII bytes, no spaces. */
static bool name_ok(const char *name)
{
	size_t n = name ? strlen(name) : 0;
	if (n == 0 || n > HUB_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (name[i] <= ' ' || name[i] > '~')
			return false;
	return true;
}

static bool type_ok(const char *type)
{
	size_t n = type ? strlen(type) : 0;
	if (n == 0 || n > HUB_TYPE_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = type[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		      c == '-'))
			return false;
	}
	return true;
}

/* prefix + name into key (STREAM_MAX bytes); ERR_INVAL for a bad name. */
static int stream_key(char *key, const char *prefix, const char *name)
{
	if (!name_ok(name))
		return ERR_INVAL;
	snprintf(key, STREAM_MAX, "%s%s", prefix, name);
	return 0;
}

/* data is one JSON object whose members do not take the frame's own names ("type", "seq",
 * and "topic" for a topic's event). */
static int data_check(const char *data, size_t len, bool topic)
{
	if (len > HUB_DATA_MAX)
		return ERR_TOOBIG;
	struct arena a;
	arena_init(&a, len + (16u << 20), NULL, 0);
	struct json *root = NULL;
	struct json_error err;
	int rc = json_parse(&a, data, len, NULL, &root, &err);
	if (!rc && root->type != JSON_OBJECT)
		rc = ERR_INVAL;
	for (const struct json *m = rc ? NULL : root->child; m && !rc; m = m->next)
		if (!strcmp(m->key, "type") || !strcmp(m->key, "seq") ||
		    (topic && !strcmp(m->key, "topic")))
			rc = ERR_INVAL;
	arena_free(&a);
	return rc;
}

static bool space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* {"type":T[,"seq":N][,"topic":P], then the members of data (checked: one object)}. */
static int frame_build(struct buf *b, const char *type, int64_t seq, const char *topic,
                       const char *data, size_t len)
{
	const char *p = data, *end = data + len;
	while (p < end && space(*p))
		p++;
	p++; /* the object's '{': p..end is its members, then '}' and blanks */
	while (p < end && space(*p))
		p++;
	while (end > p && space(end[-1]))
		end--;
	int rc = buf_adds(b, "{\"type\":");
	if (!rc)
		rc = json_quote(b, type, strlen(type));
	if (!rc && seq > 0)
		rc = buf_printf(b, ",\"seq\":%lld", (long long)seq);
	if (!rc && topic && !(rc = buf_adds(b, ",\"topic\":")))
		rc = json_quote(b, topic, strlen(topic));
	if (!rc && *p != '}')
		rc = buf_addc(b, ',');
	if (!rc)
		rc = buf_add(b, p, (size_t)(end - p));
	return rc;
}

/* A durable event's frame waiting for its transaction's commit. Owned by the after-commit
 * callback that gets it (deliver or drop frees it). */
struct pending {
	int64_t seq;
	char *frame; /* malloc'd, NUL-terminated */
	size_t len;
	char stream[];
};

static void pending_drop(void *arg)
{
	struct pending *p = arg;
	free(p->frame);
	free(p);
}

static void pending_deliver(void *arg)
{
	struct pending *p = arg;
	const struct hub_sink *s = atomic_load(&sink);
	if (s)
		s->deliver(s->ctx, p->stream, p->seq, p->frame, p->len);
	pending_drop(p);
}

/* Hands the frame to db_after_commit (which frees it in either outcome). */
static int publish_after_commit(const char *key, int64_t seq, const char *type, const char *topic,
                                const char *data, size_t len)
{
	struct buf b = BUF_INIT(HUB_FRAME_MAX);
	size_t klen = strlen(key);
	struct pending *p = malloc(sizeof *p + klen + 1);
	int rc = p ? frame_build(&b, type, seq, topic, data, len) : ERR_NOMEM;
	if (rc) {
		free(p);
		buf_free(&b);
		return rc;
	}
	p->seq = seq;
	memcpy(p->stream, key, klen + 1);
	p->frame = buf_take(&b, &p->len);
	return db_after_commit(pending_deliver, pending_drop, p);
}

static int event(const char *prefix, const char *name, const char *type, const char *data,
                 int64_t *seq_out)
{
	bool topic = prefix[0] == 't';
	char key[STREAM_MAX];
	size_t len = data ? strlen(data) : 0;
	if (!db_writing()) {
		log_error("hub: an event outside a write transaction", "type",
		          type_ok(type) ? type : "(bad)", NULL);
		return ERR_INVAL;
	}
	int rc = !type_ok(type) || !data ? ERR_INVAL : stream_key(key, prefix, name);
	if (!rc)
		rc = data_check(data, len, topic);
	if (rc) {
		log_error("hub: event refused: a bad name, type or object", "type",
		          type_ok(type) ? type : "(bad)", "reason", err_str(rc), NULL);
		return rc;
	}
	char now[TIME_RFC3339_LEN];
	time_rfc3339(time_now_us(), now);
	int64_t seq = 0;
	if ((rc = hub_store_append(key, type, data, now, &seq)))
		return rc;
	/* without a sink (commands, tests) there is no one to deliver to */
	if (atomic_load(&sink) &&
	    (rc = publish_after_commit(key, seq, type, topic ? name : NULL, data, len)))
		return rc;
	if (seq_out)
		*seq_out = seq;
	return 0;
}

int hub_user_event(const char *user_id, const char *type, const char *data_json, int64_t *seq)
{
	return event(HUB_USER_PREFIX, user_id, type, data_json, seq);
}

int hub_topic_event(const char *topic, const char *type, const char *data_json, int64_t *seq)
{
	return event(HUB_TOPIC_PREFIX, topic, type, data_json, seq);
}

static int signal_now(const char *prefix, const char *name, const char *type, const char *data)
{
	bool topic = prefix[0] == 't';
	char key[STREAM_MAX];
	size_t len = data ? strlen(data) : 0;
	int rc = !type_ok(type) || !data ? ERR_INVAL : stream_key(key, prefix, name);
	if (!rc)
		rc = data_check(data, len, topic);
	if (rc) {
		log_error("hub: signal refused: a bad name, type or object", "type",
		          type_ok(type) ? type : "(bad)", "reason", err_str(rc), NULL);
		return rc;
	}
	const struct hub_sink *s = atomic_load(&sink);
	if (!s)
		return 0;
	struct buf b = BUF_INIT(HUB_FRAME_MAX);
	if (!(rc = frame_build(&b, type, 0, topic ? name : NULL, data, len)))
		s->deliver(s->ctx, key, 0, b.ptr, b.len);
	buf_free(&b);
	return rc;
}

int hub_user_signal(const char *user_id, const char *type, const char *data_json)
{
	return signal_now(HUB_USER_PREFIX, user_id, type, data_json);
}

int hub_topic_signal(const char *topic, const char *type, const char *data_json)
{
	return signal_now(HUB_TOPIC_PREFIX, topic, type, data_json);
}

/* ---- replay ------------------------------------------------------------------------- */

/* The topic of a stream key ("t:<topic>"), NULL for a user's; ERR_INVAL for neither. */
static int stream_check(const char *stream, const char **topic)
{
	*topic = NULL;
	if (!stream)
		return ERR_INVAL;
	if (!strncmp(stream, HUB_TOPIC_PREFIX, 2))
		*topic = stream + 2;
	else if (strncmp(stream, HUB_USER_PREFIX, 2) != 0)
		return ERR_INVAL;
	return name_ok(stream + 2) ? 0 : ERR_INVAL;
}

struct replay {
	const char *topic;
	struct buf frame; /* reused for every row */
	int (*each)(void *ctx, int64_t seq, const char *frame, size_t len);
	void *ctx;
	int64_t last; /* the last seq given */
};

static int replay_row(void *ctx, int64_t seq, const char *type, const char *data, size_t len)
{
	struct replay *x = ctx;
	buf_reset(&x->frame);
	int rc = frame_build(&x->frame, type, seq, x->topic, data, len);
	if (!rc)
		rc = x->each(x->ctx, seq, buf_str(&x->frame), x->frame.len);
	if (!rc)
		x->last = seq;
	return rc;
}

int hub_replay(const char *stream, int64_t since, int max,
               int (*each)(void *ctx, int64_t seq, const char *frame, size_t len), void *ctx,
               struct hub_pos *pos)
{
	*pos = (struct hub_pos){.at = since};
	struct replay x = {
	    .frame = BUF_INIT(HUB_FRAME_MAX), .each = each, .ctx = ctx, .last = since};
	if (stream_check(stream, &x.topic) || since < 0 || max < 1 || !each)
		return ERR_INVAL;
	struct hub_read rd = {.since = since, .max = max, .row = replay_row, .ctx = &x};
	int rc = hub_store_read(stream, &rd);
	buf_free(&x.frame);
	pos->at = x.last;
	if (rc)
		return rc;
	pos->head = rd.head;
	pos->resync = since < rd.floor || since > rd.head;
	pos->more = !pos->resync && rd.rows == max && pos->at < rd.head;
	return 0;
}

int hub_head(const char *stream, int64_t *head)
{
	const char *topic;
	int64_t floor;
	*head = 0;
	return stream_check(stream, &topic) ? ERR_INVAL : hub_store_head(stream, head, &floor);
}

int hub_user_deleted(const char *user_id)
{
	char key[STREAM_MAX];
	return stream_key(key, HUB_USER_PREFIX, user_id) ? ERR_INVAL : hub_store_forget(key);
}
