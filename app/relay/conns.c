/* relay/conns.c: the relay's part of a /ws socket. A socket opened with ?device_id=N is that
 * device's relay connection (one per device: a newer one closes the older with 4409): its
 * queue goes out page by page as the socket drains, then new messages as they commit, each
 * once (a cursor of the last seq sent). A socket without a device of an account that has none
 * (a client of the original backend) is a connection of its inbox, device 0, which any number
 * of sockets share: each gets the inbox's messages, an ack from any removes one. Frames from the client (send, message, ack) are
 * handled one at a time per socket, in order, on the loop's task threads. The maps and the
 * sockets' state belong to the loop thread; the database is only touched on task threads. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "core/time.h"
#include "http/errors.h"
#include "http/live.h"
#include "http/loop.h"
#include "http/ratelimit.h"
#include "http/wsproto.h"
#include "hub/hub.h"
#include "relay/internal.h"
#include "relay/relay.h"

#define PAGE_ROWS   100
#define PAGE_BYTES  (256 * 1024) /* of content per page read from the queue */
/* a device whose socket has this much waiting to go out gets its next messages from the
 * queue once it drained, instead of in memory */
#define HIGH_WATER  (256 * 1024)
#define JOBS_MAX    256 /* frames of one socket waiting their turn; more: the socket is closed */
#define JOBS_BYTES  (8u << 20)
#define ACK_BATCH   256 /* acks that wait together go in one transaction */
#define BUCKETS     4096
#define CLIENT_ID_MAX 100

/* A frame from the client waiting its turn. */
struct job {
	struct job *next;
	bool ack;
	size_t n;
	char text[];
};

struct rsock {
	char user_id[RELAY_ID_MAX];
	int64_t device; /* 0 and not inbox: not a relay connection */
	bool inbox;     /* a connection of the account's inbox (device 0) */
	bool replaced;  /* a newer socket of its device took over (its acks still count) */
	uint64_t id;    /* the live connection's, once ready */
	bool mapped;    /* in by_id (on the loop thread from its first frame or ready to close) */
	bool ready;     /* the hub's replay went out: in by_device, relaying */
	struct rsock *id_next, *dev_next;
	int64_t cursor;  /* the last seq sent */
	bool caught_up;  /* new messages go straight out */
	bool reading;    /* a page is being read on a task thread */
	bool missed;     /* a message came while not caught up: read again */
	bool wait_flush; /* the next page waits for the send queue to empty */
	bool empty_sent; /* queue_empty went out */
	bool busy;       /* a job is on a task thread */
	struct job *jobs, *jobs_tail;
	int njobs;
	size_t job_bytes;
};

static struct rsock *by_id[BUCKETS], *by_device[BUCKETS];

static unsigned device_hash(const char *user, int64_t device)
{
	uint32_t h = 2166136261u;
	while (*user)
		h = (h ^ (uint8_t)*user++) * 16777619u;
	return (h ^ (uint32_t)device) * 16777619u % BUCKETS;
}

static struct rsock *find_id(uint64_t id)
{
	for (struct rsock *s = by_id[id % BUCKETS]; s; s = s->id_next)
		if (s->id == id)
			return s;
	return NULL;
}

static struct rsock *find_device(const char *user, int64_t device)
{
	for (struct rsock *s = by_device[device_hash(user, device)]; s; s = s->dev_next)
		if (s->device == device && strcmp(s->user_id, user) == 0)
			return s;
	return NULL;
}

/* Whether rs is (still) a relay connection, in by_device: its device's, or one of its inbox's. */
static bool relaying(const struct rsock *rs)
{
	return rs->ready && !rs->replaced;
}

static void unmap_device(struct rsock *rs)
{
	for (struct rsock **p = &by_device[device_hash(rs->user_id, rs->device)]; *p; p = &(*p)->dev_next)
		if (*p == rs) {
			*p = rs->dev_next;
			return;
		}
}

static void jobs_free(struct job *j)
{
	for (struct job *next; j; j = next) {
		next = j->next;
		free(j);
	}
}

/* ---- frames to the client ----------------------------------------------------------------- */

static void send_error(uint64_t id, const char *client_id, const struct relay_outcome *o, const char *code,
                       const char *message)
{
	struct buf b = BUF_INIT(8192);
	struct jw w;
	jw_init(&w, &b);
	jw_obj(&w);
	jw_kstr(&w, "type", "error");
	if (client_id)
		jw_kstr(&w, "client_id", client_id);
	jw_kstr(&w, "code", code);
	jw_kstr(&w, "message", message);
	if (o && o->field)
		jw_kstr(&w, "field", o->field);
	if (o)
		relay_outcome_lists(&w, o);
	jw_obj_end(&w);
	if (jw_finish(&w) == 0)
		live_send(id, 0, b.ptr, b.len);
	buf_free(&b);
}

/* ---- the queue, page by page ---------------------------------------------------------------- */

struct qpage {
	struct loop_post p;
	uint64_t id;
	char user_id[RELAY_ID_MAX];
	int64_t device, after;
	int rc, nrows;
	bool full;
	struct buf frames;
	struct {
		int64_t seq;
		size_t off, n;
	} rows[PAGE_ROWS];
};

static void start_read(struct rsock *rs);

static int page_row(void *ctx, const struct relay_row *row)
{
	struct qpage *pg = ctx;
	size_t off = pg->frames.len;
	int rc = relay_message_frame(&pg->frames, row->message_id, row->sender, row->sender_device, row->type,
	                             row->content, row->len, row->created_at);
	if (rc)
		return rc;
	pg->rows[pg->nrows].seq = row->seq;
	pg->rows[pg->nrows].off = off;
	pg->rows[pg->nrows].n = pg->frames.len - off;
	pg->nrows++;
	return 0;
}

static void page_done(struct loop_post *p)
{
	struct qpage *pg = (struct qpage *)p;
	struct rsock *rs = find_id(pg->id);
	struct live *l = rs ? live_get(rs->id) : NULL;
	/* a socket replaced by a newer one of its device reads no more */
	if (!l || !relaying(rs)) {
		buf_free(&pg->frames);
		free(pg);
		return;
	}
	rs->reading = false;
	if (pg->rc) {
		buf_free(&pg->frames);
		free(pg);
		live_close(l, WS_CLOSE_INTERNAL, "the message queue could not be read");
		return;
	}
	for (int i = 0; i < pg->nrows; i++)
		if (pg->rows[i].seq > rs->cursor) {
			live_frame(l, 0, pg->frames.ptr + pg->rows[i].off, pg->rows[i].n);
			rs->cursor = pg->rows[i].seq;
		}
	bool more = pg->full || rs->missed;
	buf_free(&pg->frames);
	free(pg);
	if (more) {
		if (live_queued(l) > 0)
			rs->wait_flush = true;
		else
			start_read(rs);
		return;
	}
	rs->caught_up = true;
	/* an inbox says so only after messages: its sockets are also every plain socket of an
	 * account without devices (the web app's), which have no use for it */
	if (!rs->empty_sent && (!rs->inbox || rs->cursor > 0)) {
		static const char empty[] = "{\"type\":\"queue_empty\"}";
		rs->empty_sent = true;
		live_frame(l, 0, empty, sizeof empty - 1);
	}
}

static void page_read(struct loop_post *p)
{
	struct qpage *pg = (struct qpage *)p;
	pg->frames = (struct buf)BUF_INIT(PAGE_BYTES * 2 + (size_t)PAGE_ROWS * 4096 + RELAY_CONTENT_MAX * 2);
	pg->rc = relay_store_queue(pg->user_id, pg->device, pg->after, PAGE_ROWS, PAGE_BYTES, page_row, pg, &pg->full);
	pg->p.run = page_done;
	loop_post(&pg->p);
}

static void start_read(struct rsock *rs)
{
	struct qpage *pg = malloc(sizeof *pg);
	struct live *l = live_get(rs->id);
	if (!pg) {
		if (l)
			live_close(l, WS_CLOSE_INTERNAL, "out of memory");
		return;
	}
	memset(pg, 0, offsetof(struct qpage, rows));
	pg->p.run = page_read;
	pg->id = rs->id;
	snprintf(pg->user_id, sizeof pg->user_id, "%s", rs->user_id);
	pg->device = rs->device;
	pg->after = rs->cursor;
	rs->reading = true;
	rs->missed = false;
	rs->caught_up = false;
	loop_task(&pg->p);
}

/* ---- deliveries after their commit -------------------------------------------------------- */

struct relay_delivery *relay_delivery_new(const char *user, int64_t device_id, const char *frame, size_t n)
{
	struct relay_delivery *d = malloc(sizeof *d + n);
	if (!d)
		return NULL;
	memset(d, 0, sizeof *d);
	snprintf(d->user_id, sizeof d->user_id, "%s", user);
	d->device_id = device_id;
	d->n = n;
	memcpy(d->frame, frame, n);
	return d;
}

/* A message that committed for rs's device (the inbox has several sockets). */
static void deliver_to(struct rsock *rs, const struct relay_delivery *d)
{
	struct live *l = live_get(rs->id);
	if (l && d->seq > rs->cursor) {
		if (!rs->caught_up) {
			rs->missed = true; /* the page being read, or the next one, has it */
		} else if (live_queued(l) > HIGH_WATER) {
			/* a slow reader: the queue keeps it until the socket drained */
			rs->caught_up = false;
			rs->missed = true;
			rs->wait_flush = true;
		} else {
			live_frame(l, 0, d->frame, d->n);
			rs->cursor = d->seq;
		}
	}
}

static void delivery_run(struct loop_post *p)
{
	struct relay_delivery *d = (struct relay_delivery *)p;
	for (struct rsock *rs = by_device[device_hash(d->user_id, d->device_id)]; rs; rs = rs->dev_next)
		if (rs->device == d->device_id && strcmp(rs->user_id, d->user_id) == 0) {
			deliver_to(rs, d);
			if (d->device_id)
				break; /* one connection per device */
		}
	free(d);
}

void relay_delivery_post(struct relay_delivery *d)
{
	d->p.run = delivery_run;
	loop_post(&d->p);
}

struct kick {
	struct loop_post p;
	char user_id[RELAY_ID_MAX];
	int64_t device;
};

static void kick_run(struct loop_post *p)
{
	struct kick *k = (struct kick *)p;
	struct rsock *rs = find_device(k->user_id, k->device);
	struct live *l = rs ? live_get(rs->id) : NULL;
	if (l)
		live_close(l, WS_CLOSE_POLICY, "this device was removed");
	free(k);
}

void relay_kick(const char *user, int64_t device_id)
{
	struct kick *k = malloc(sizeof *k);
	if (!k)
		return; /* its socket finds no queue and no keys; it ends with its token */
	k->p.run = kick_run;
	snprintf(k->user_id, sizeof k->user_id, "%s", user);
	k->device = device_id;
	loop_post(&k->p);
}

/* ---- the client's frames, one at a time -------------------------------------------------- */

struct task {
	struct loop_post p;
	uint64_t id;
	char user_id[RELAY_ID_MAX];
	int64_t device;
	bool inbox;
	struct job *jobs; /* one send or message, or acks */
};

static void next_job(struct rsock *rs);

static void task_done(struct loop_post *p)
{
	struct task *t = (struct task *)p;
	struct rsock *rs = find_id(t->id);
	jobs_free(t->jobs);
	free(t);
	if (rs) {
		rs->busy = false;
		next_job(rs);
	}
}

static void run_acks(struct task *t, struct arena *a)
{
	const char *ids[ACK_BATCH];
	int n = 0;
	for (struct job *j = t->jobs; j && n < ACK_BATCH; j = j->next) {
		struct json *msg;
		struct json_error err;
		const struct json *id;
		if (json_parse(a, j->text, j->n, NULL, &msg, &err) != 0 || !(id = json_get(msg, "id")) ||
		    id->type != JSON_STRING || uuid_check(id->str)) {
			send_error(t->id, NULL, NULL, "invalid_input", "an ack is {\"type\":\"ack\",\"id\":\"<message id>\"}");
			continue;
		}
		ids[n++] = id->str;
	}
	if (t->device == 0 && !t->inbox && n) {
		send_error(t->id, NULL, NULL, "invalid_input", "acks come from a device's connection (/ws?device_id=N)");
		return;
	}
	int acked = 0;
	if (n && relay_store_ack(t->user_id, t->device, ids, n, &acked) != 0)
		send_error(t->id, NULL, NULL, "unavailable", "the ack could not be stored; the message comes again");
}

static void run_send(struct task *t, struct arena *a)
{
	struct json *msg;
	struct json_error err;
	struct json_limits lim = {0, 0};
	const struct json *type, *to, *cid;
	if (json_parse(a, t->jobs->text, t->jobs->n, &lim, &msg, &err) != 0 || !(type = json_get(msg, "type"))) {
		send_error(t->id, NULL, NULL, "invalid_input", "send a JSON object with a \"type\"");
		return;
	}
	bool simple = strcmp(type->str, "message") == 0;
	cid = json_get(msg, "client_id");
	const char *client_id = cid && cid->type == JSON_STRING && cid->len <= CLIENT_ID_MAX ? cid->str : NULL;
	if (cid && !client_id) {
		send_error(t->id, NULL, NULL, "invalid_input", "client_id must be a string of at most 100 bytes");
		return;
	}
	to = json_get(msg, "to");
	if (!to || to->type != JSON_STRING) {
		send_error(t->id, client_id, NULL, "invalid_input", "\"to\" must be a user id");
		return;
	}
	int retry = 0;
	if (relay_limit_send(t->user_id, &retry) != 0) {
		send_error(t->id, client_id, NULL, "rate_limited", "too many messages; wait a moment");
		return;
	}
	/* a socket without a device sends as device 1 (as HTTP does), the simple form as none */
	int64_t from = t->device ? t->device : simple ? 0 : 1;
	struct relay_outcome o;
	relay_send(a, t->user_id, from, to->str, msg, simple, &o);
	if (o.err >= 0) {
		send_error(t->id, client_id, &o, http_err_info(o.err)->code, o.message);
		return;
	}
	struct buf b = BUF_INIT(512);
	struct jw w;
	jw_init(&w, &b);
	jw_obj(&w);
	jw_kstr(&w, "type", "sent");
	if (client_id)
		jw_kstr(&w, "client_id", client_id);
	jw_kstr(&w, "message_id", o.x.message_id);
	jw_obj_end(&w);
	if (jw_finish(&w) == 0)
		live_send(t->id, 0, b.ptr, b.len);
	buf_free(&b);
}

static void task_run(struct loop_post *p)
{
	struct task *t = (struct task *)p;
	char first[8192];
	struct arena a;
	arena_init(&a, 8u << 20, first, sizeof first);
	if (t->jobs->ack)
		run_acks(t, &a);
	else
		run_send(t, &a);
	arena_free(&a);
	t->p.run = task_done;
	loop_post(&t->p);
}

static void next_job(struct rsock *rs)
{
	if (rs->busy || !rs->jobs)
		return;
	struct task *t = malloc(sizeof *t);
	if (!t) {
		struct live *l = live_get(rs->id);
		if (l)
			live_close(l, WS_CLOSE_INTERNAL, "out of memory");
		return;
	}
	t->p.run = task_run;
	t->id = rs->id;
	snprintf(t->user_id, sizeof t->user_id, "%s", rs->user_id);
	t->device = rs->device;
	t->inbox = rs->inbox;
	/* a send alone; acks in a row together */
	struct job *last = rs->jobs;
	int n = 1;
	if (last->ack)
		while (last->next && last->next->ack && n < ACK_BATCH) {
			last = last->next;
			n++;
		}
	t->jobs = rs->jobs;
	rs->jobs = last->next;
	last->next = NULL;
	if (!rs->jobs)
		rs->jobs_tail = NULL;
	for (struct job *j = t->jobs; j; j = j->next) {
		rs->njobs--;
		rs->job_bytes -= j->n;
	}
	rs->busy = true;
	loop_task(&t->p);
}

/* ---- the hub's part ---------------------------------------------------------------------- */

static int part_open(struct req *r, void **state)
{
	const char *q = req_query(r, "device_id");
	int64_t device = 0;
	if (q) {
		char *end;
		long long v = strtoll(q, &end, 10);
		if (!*q || *end || v < 1 || v > INT32_MAX)
			return http_error(r, E_INVALID_INPUT, "device_id must be one of your device ids", "device_id");
		int rc = relay_store_device_seen(r->user_id, v);
		if (rc == ERR_NOTFOUND)
			return http_error(r, E_NOT_FOUND, "device_id is not one of your devices", "device_id");
		if (rc)
			return rc;
		device = v;
	}
	struct relay_device devs[RELAY_DEVICES_MAX];
	int ndevs = 1;
	if (!device && relay_store_devices(&r->arena, r->user_id, devs, &ndevs) != 0)
		return http_error(r, E_UNAVAILABLE, "the devices could not be read", NULL);
	struct rsock *rs = calloc(1, sizeof *rs);
	if (!rs)
		return ERR_NOMEM;
	snprintf(rs->user_id, sizeof rs->user_id, "%s", r->user_id);
	rs->device = device;
	rs->inbox = ndevs == 0;
	*state = rs;
	return 0;
}

/* rs answers by its connection's id from now on (frames may come before ready). */
static void map_id(struct rsock *rs, struct live *l)
{
	if (rs->mapped)
		return;
	rs->id = live_id(l);
	rs->mapped = true;
	unsigned b = (unsigned)(rs->id % BUCKETS);
	rs->id_next = by_id[b];
	by_id[b] = rs;
}

static void part_ready(void *state, struct live *l)
{
	struct rsock *rs = state;
	map_id(rs, l);
	if (rs->ready || (!rs->device && !rs->inbox))
		return;
	rs->ready = true;
	unsigned b;
	struct rsock *old = rs->inbox ? NULL : find_device(rs->user_id, rs->device);
	if (old) {
		struct live *ol = live_get(old->id);
		unmap_device(old);
		old->replaced = true;
		if (ol)
			live_close(ol, WS_CLOSE_REPLACED, "replaced by a newer connection of this device");
	}
	b = device_hash(rs->user_id, rs->device);
	rs->dev_next = by_device[b];
	by_device[b] = rs;
	start_read(rs);
}

static bool part_frame(void *state, struct live *l, const char *type, const struct json *msg, const char *text,
                       size_t n)
{
	(void)msg;
	struct rsock *rs = state;
	map_id(rs, l);
	bool ack = strcmp(type, "ack") == 0;
	if (!ack && strcmp(type, "send") != 0 && strcmp(type, "message") != 0)
		return false;
	if (rs->njobs >= JOBS_MAX || rs->job_bytes + n > JOBS_BYTES) {
		live_close(l, WS_CLOSE_POLICY, "too many frames waiting: wait for the answers");
		return true;
	}
	struct job *j = malloc(sizeof *j + n + 1);
	if (!j) {
		live_close(l, WS_CLOSE_INTERNAL, "out of memory");
		return true;
	}
	j->next = NULL;
	j->ack = ack;
	j->n = n;
	memcpy(j->text, text, n);
	j->text[n] = '\0';
	if (rs->jobs_tail)
		rs->jobs_tail->next = j;
	else
		rs->jobs = j;
	rs->jobs_tail = j;
	rs->njobs++;
	rs->job_bytes += n;
	next_job(rs);
	return true;
}

static void part_flushed(void *state, struct live *l)
{
	(void)l;
	struct rsock *rs = state;
	if (rs->wait_flush && !rs->reading && relaying(rs)) {
		rs->wait_flush = false;
		start_read(rs);
	}
}

static void part_close(void *state)
{
	struct rsock *rs = state;
	if (rs->mapped) {
		for (struct rsock **p = &by_id[rs->id % BUCKETS]; *p; p = &(*p)->id_next)
			if (*p == rs) {
				*p = rs->id_next;
				break;
			}
		if (relaying(rs))
			unmap_device(rs);
	}
	jobs_free(rs->jobs);
	free(rs);
}

const struct hub_ws_part relay_ws_part = {
	.open = part_open,
	.ready = part_ready,
	.frame = part_frame,
	.flushed = part_flushed,
	.close = part_close,
};
