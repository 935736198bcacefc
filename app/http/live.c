/* http/live.c: WebSocket and SSE connections on the loop thread: framing, a bounded send queue
 * per connection (a client that does not read is dropped, never buffered without bound), pings,
 * token expiry, and frames routed by key to the connections subscribed. Everything here runs on
 * the loop thread except live_open and the posting functions; nothing blocks. */
#include "http/live.h"

#include <civetweb.h>
#include <errno.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/ssl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "core/time.h"
#include "http/loop.h"
#include "http/wsproto.h"

#define PING_EVERY_US (30 * 1000000LL)
#define SILENT_MAX_US (75 * 1000000LL) /* a WebSocket that answers no ping for this long is dead */
#define CLOSING_US (2 * 1000000LL)     /* a close frame's last chance to leave */
#define SWEEP_US 250000LL
/* a stream whose producer is silent this long gets a comment line, so that proxies and
 * clients see it alive (a chat model thinking) */
#define STREAM_QUIET_US 250000LL
#define KEY_BUCKETS 16384
#define ID_BUCKETS 16384
#define READ_CHUNK 16384
#define READ_MAX_PER_WAKE (256 * 1024)

struct chunk {
	struct chunk *next;
	size_t len, off;
	char data[];
};

struct held {
	struct held *next;
	int64_t seq;
	size_t n;
	char frame[];
};

struct key;

/* One subscription: a connection to a key. Owned by the connection. */
struct sub {
	struct sub *cnext;        /* the connection's subscriptions */
	struct sub *kprev, *knext; /* the key's subscribers */
	struct key *key;
	struct live *l;
	bool holding;
	struct held *held, *held_tail;
	size_t held_bytes;
};

struct key {
	struct key *hnext;
	struct sub *subs;
	int count;
	char name[];
};

/* One long-lived connection. Owned by the loop thread (built on a worker, then posted). */
struct live {
	uint8_t tag; /* LOOP_TAG_LIVE */
	uint8_t kind;
	bool dead;      /* waiting to be reaped */
	bool closing;   /* a close frame is on its way; then the socket goes */
	bool want_out;  /* watching EPOLLOUT */
	int fd;
	mbedtls_ssl_context *ssl;
	uint64_t id;
	unsigned char peer[128];
	int64_t expires_us, last_in_us, last_out_us, next_ping_us, closing_until_us;
	struct ws_parser parser;
	struct chunk *q, *q_tail;
	size_t q_bytes;
	struct sub *subs;
	const struct live_ops *ops;
	void *user;
	struct live *hnext;            /* by id */
	struct live *prev, *next;      /* all connections */
	struct live *doomed_next;
	char *pending; /* bytes that came with the upgrade, until attached */
	int pending_len;
	char *first_key;
	struct loop_post post;
};

static struct key *keys[KEY_BUCKETS];
static struct live *by_id[ID_BUCKETS];
static struct live *all, *doomed;
static int64_t next_sweep;
static atomic_ullong next_id = 1, published, dropped;
static atomic_llong open_count[3];

/* ---- lookups ---------------------------------------------------------------------------- */

static unsigned hash_str(const char *s)
{
	uint32_t h = 2166136261u;
	while (*s)
		h = (h ^ (uint8_t)*s++) * 16777619u;
	return h;
}

static struct key *key_find(const char *name, bool make)
{
	unsigned b = hash_str(name) % KEY_BUCKETS;
	for (struct key *k = keys[b]; k; k = k->hnext)
		if (strcmp(k->name, name) == 0)
			return k;
	if (!make)
		return NULL;
	size_t n = strlen(name);
	struct key *k = calloc(1, sizeof *k + n + 1);
	if (!k)
		return NULL;
	memcpy(k->name, name, n + 1);
	k->hnext = keys[b];
	keys[b] = k;
	return k;
}

static void key_drop_if_empty(struct key *k)
{
	if (k->count)
		return;
	unsigned b = hash_str(k->name) % KEY_BUCKETS;
	for (struct key **p = &keys[b]; *p; p = &(*p)->hnext)
		if (*p == k) {
			*p = k->hnext;
			free(k);
			return;
		}
}

static struct live *live_find(uint64_t id)
{
	for (struct live *l = by_id[id % ID_BUCKETS]; l; l = l->hnext)
		if (l->id == id)
			return l->dead ? NULL : l;
	return NULL;
}

struct live *live_get(uint64_t id)
{
	return live_find(id);
}

/* ---- output ----------------------------------------------------------------------------- */

static void doom(struct live *l)
{
	if (l->dead)
		return;
	l->dead = true;
	l->doomed_next = doomed;
	doomed = l;
}

static void watch_out(struct live *l, bool out)
{
	if (l->want_out == out)
		return;
	l->want_out = out;
	loop_watch(l->fd, EPOLLIN | EPOLLRDHUP | (out ? EPOLLOUT : 0), l, false);
}

/* Writes what is queued; false when the connection failed (doomed). */
static bool flush(struct live *l)
{
	bool had = l->q != NULL;
	while (l->q) {
		struct chunk *c = l->q;
		ssize_t n;
		if (l->ssl) {
			int r = mbedtls_ssl_write(l->ssl, (const unsigned char *)c->data + c->off, c->len - c->off);
			if (r == MBEDTLS_ERR_SSL_WANT_WRITE || r == MBEDTLS_ERR_SSL_WANT_READ)
				break;
			n = r;
		} else {
			n = send(l->fd, c->data + c->off, c->len - c->off, MSG_NOSIGNAL | MSG_DONTWAIT);
			if (n < 0 && (errno == EAGAIN || errno == EINTR))
				break;
		}
		if (n <= 0) {
			doom(l);
			return false;
		}
		c->off += (size_t)n;
		l->q_bytes -= (size_t)n;
		if (c->off == c->len) {
			l->q = c->next;
			if (!l->q)
				l->q_tail = NULL;
			free(c);
		}
	}
	watch_out(l, l->q != NULL);
	if (!l->q && l->closing)
		doom(l);
	else if (!l->q && had && l->ops->on_flushed)
		l->ops->on_flushed(l);
	return true;
}

/* Writes the pieces v[0..n) (at most 3) as one, what the socket takes now, and queues the rest
 * as one copy. A client whose queue would pass CONN_SEND_QUEUE_BYTES is dropped. */
static void outv(struct live *l, struct iovec *v, int n)
{
	if (l->dead)
		return;
	if (l->kind == LIVE_STREAM)
		l->last_out_us = time_mono_us();
	size_t total = 0;
	for (int i = 0; i < n; i++)
		total += v[i].iov_len;
	size_t done = 0;
	if (!l->q && !l->ssl) { /* the usual case: straight out, no copy */
		ssize_t w = writev(l->fd, v, n);
		if (w < 0 && errno != EAGAIN && errno != EINTR) {
			doom(l);
			return;
		}
		done = w > 0 ? (size_t)w : 0;
		if (done == total)
			return;
	}
	if (l->q_bytes + total - done > (size_t)loop_send_queue_max()) {
		atomic_fetch_add(&dropped, 1);
		doom(l);
		return;
	}
	struct chunk *c = malloc(sizeof *c + total - done);
	if (!c) {
		doom(l);
		return;
	}
	c->len = 0;
	for (int i = 0; i < n; i++) { /* what the socket did not take */
		size_t skip = done < v[i].iov_len ? done : v[i].iov_len;
		done -= skip;
		memcpy(c->data + c->len, (const char *)v[i].iov_base + skip, v[i].iov_len - skip);
		c->len += v[i].iov_len - skip;
	}
	c->off = 0;
	c->next = NULL;
	if (l->q_tail)
		l->q_tail->next = c;
	else
		l->q = c;
	l->q_tail = c;
	l->q_bytes += c->len;
	flush(l);
}

static void out(struct live *l, const void *a, size_t an, const void *b, size_t bn)
{
	struct iovec v[2] = {{(void *)a, an}, {(void *)b, bn}};
	outv(l, v, bn ? 2 : 1);
}

static void ws_out(struct live *l, int op, const void *p, size_t n)
{
	uint8_t head[WS_FRAME_HEAD_MAX];
	size_t hn = ws_frame_head(head, op, n);
	if (hn)
		out(l, head, hn, p, n);
}

/* One SSE event as one chunk of the chunked body: id (durable only), event name, data (the
 * frame is one line of JSON: no raw newlines), the blank line and the chunk's end. */
static void sse_out(struct live *l, int64_t seq, const char *frame, size_t n)
{
	char type[80] = "message";
	if (n > 9 && memcmp(frame, "{\"type\":\"", 9) == 0) {
		const char *e = memchr(frame + 9, '"', n - 9 < sizeof type - 1 ? n - 9 : sizeof type - 1);
		if (e) {
			memcpy(type, frame + 9, (size_t)(e - frame - 9));
			type[e - frame - 9] = '\0';
		}
	}
	char head[160], idline[40] = "";
	if (seq > 0)
		snprintf(idline, sizeof idline, "id: %lld\n", (long long)seq);
	int body = snprintf(NULL, 0, "%sevent: %s\ndata: ", idline, type) + (int)n + 2;
	int hn = snprintf(head, sizeof head, "%x\r\n%sevent: %s\ndata: ", body, idline, type);
	struct iovec v[3] = {{head, (size_t)hn}, {(void *)frame, n}, {"\n\n\r\n", 4}};
	outv(l, v, 3);
}

void live_frame(struct live *l, int64_t seq, const char *frame, size_t n)
{
	if (l->kind == LIVE_WS) {
		ws_out(l, WS_OP_TEXT, frame, n);
	} else if (l->kind == LIVE_SSE) {
		sse_out(l, seq, frame, n);
	} else if (n) {
		char head[24];
		int hn = snprintf(head, sizeof head, "%zx\r\n", n);
		struct iovec v[3] = {{head, (size_t)hn}, {(void *)frame, n}, {"\r\n", 2}};
		outv(l, v, 3);
	}
}

size_t live_queued(const struct live *l)
{
	return l->q_bytes;
}

void live_close(struct live *l, int code, const char *reason)
{
	if (l->dead || l->closing)
		return;
	if (l->kind == LIVE_WS) {
		uint8_t p[WS_CONTROL_MAX];
		size_t n = ws_close_payload(p, code, reason, reason ? strlen(reason) : 0);
		ws_out(l, WS_OP_CLOSE, p, n);
	} else {
		out(l, "0\r\n\r\n", 5, NULL, 0);
	}
	l->closing = true;
	l->closing_until_us = time_mono_us() + CLOSING_US;
	if (!l->q)
		doom(l);
}

/* ---- subscriptions ---------------------------------------------------------------------- */

static struct sub *subscribe(struct live *l, const char *name, bool hold)
{
	struct key *k = key_find(name, true);
	struct sub *s = k ? calloc(1, sizeof *s) : NULL;
	if (!s) {
		if (k)
			key_drop_if_empty(k);
		return NULL;
	}
	s->key = k;
	s->l = l;
	s->holding = hold;
	s->knext = k->subs;
	if (k->subs)
		k->subs->kprev = s;
	k->subs = s;
	k->count++;
	s->cnext = l->subs;
	l->subs = s;
	return s;
}

static void held_free(struct sub *s)
{
	for (struct held *h = s->held, *next; h; h = next) {
		next = h->next;
		free(h);
	}
	s->held = s->held_tail = NULL;
	s->held_bytes = 0;
}

static void unsubscribe_all(struct live *l)
{
	for (struct sub *s = l->subs, *next; s; s = next) {
		next = s->cnext;
		struct key *k = s->key;
		if (s->kprev)
			s->kprev->knext = s->knext;
		else
			k->subs = s->knext;
		if (s->knext)
			s->knext->kprev = s->kprev;
		k->count--;
		key_drop_if_empty(k);
		held_free(s);
		free(s);
	}
	l->subs = NULL;
}

static void hold(struct sub *s, int64_t seq, const char *frame, size_t n)
{
	if (s->held_bytes + n > (size_t)loop_send_queue_max()) {
		atomic_fetch_add(&dropped, 1);
		doom(s->l);
		return;
	}
	struct held *h = malloc(sizeof *h + n);
	if (!h) {
		doom(s->l);
		return;
	}
	h->next = NULL;
	h->seq = seq;
	h->n = n;
	memcpy(h->frame, frame, n);
	if (s->held_tail)
		s->held_tail->next = h;
	else
		s->held = h;
	s->held_tail = h;
	s->held_bytes += n;
}

void live_deliver(const char *key, int64_t seq, const char *frame, size_t n)
{
	struct key *k = key_find(key, false);
	for (struct sub *s = k ? k->subs : NULL; s; s = s->knext) {
		if (s->l->dead || s->l->closing)
			continue;
		if (s->holding && seq > 0)
			hold(s, seq, frame, n);
		else
			live_frame(s->l, seq, frame, n);
	}
}

int live_count(const char *key)
{
	struct key *k = key_find(key, false);
	int n = 0;
	for (struct sub *s = k ? k->subs : NULL; s; s = s->knext)
		n += !s->l->dead;
	return n;
}

void live_each(const char *key, void (*fn)(struct live *l, void *ctx), void *ctx)
{
	struct key *k = key_find(key, false);
	for (struct sub *s = k ? k->subs : NULL; s; s = s->knext)
		if (!s->l->dead)
			fn(s->l, ctx);
}

/* ---- posted work ------------------------------------------------------------------------ */

enum post_kind { P_PUBLISH, P_SEND, P_RELEASE, P_END, P_EXPIRY };

struct msg {
	struct loop_post p;
	enum post_kind kind;
	uint64_t id;
	int64_t seq; /* also the close code */
	size_t n;
	char *key;
	char data[];
};

static void msg_run(struct loop_post *p)
{
	struct msg *m = (struct msg *)p;
	struct live *l = m->kind == P_PUBLISH ? NULL : live_find(m->id);
	switch (m->kind) {
	case P_PUBLISH:
		live_deliver(m->key, m->seq, m->data, m->n);
		break;
	case P_SEND:
		if (l)
			live_frame(l, m->seq, m->data, m->n);
		break;
	case P_END:
		if (l)
			live_close(l, (int)m->seq, m->data);
		break;
	case P_EXPIRY: /* renewals may be checked side by side: the latest token wins */
		if (l && m->seq > l->expires_us)
			l->expires_us = m->seq;
		break;
	case P_RELEASE:
		for (struct sub *s = l ? l->subs : NULL; s; s = s->cnext) {
			if (!s->holding || strcmp(s->key->name, m->key) != 0)
				continue;
			int64_t last = m->seq;
			for (struct held *h = s->held; h && !l->dead; h = h->next)
				if (h->seq > last) {
					live_frame(l, h->seq, h->frame, h->n);
					last = h->seq;
				}
			held_free(s);
			s->holding = false;
			if (!l->dead && l->ops->on_ready)
				l->ops->on_ready(l, m->key, last);
			break;
		}
		break;
	}
	free(m);
}

static void post(enum post_kind kind, uint64_t id, const char *key, int64_t seq, const char *data, size_t n)
{
	size_t kn = key ? strlen(key) + 1 : 0;
	struct msg *m = malloc(sizeof *m + n + 1 + kn);
	if (!m) {
		atomic_fetch_add(&dropped, 1);
		return;
	}
	m->p.run = msg_run;
	m->kind = kind;
	m->id = id;
	m->seq = seq;
	m->n = n;
	if (n)
		memcpy(m->data, data, n);
	m->data[n] = '\0';
	m->key = key ? m->data + n + 1 : NULL;
	if (key)
		memcpy(m->key, key, kn);
	loop_post(&m->p);
}

void live_publish(const char *key, int64_t seq, const char *frame, size_t n)
{
	atomic_fetch_add(&published, 1);
	post(P_PUBLISH, 0, key, seq, frame, n);
}

void live_send(uint64_t id, int64_t seq, const char *frame, size_t n)
{
	post(P_SEND, id, NULL, seq, frame, n);
}

void live_release(uint64_t id, const char *key, int64_t at)
{
	post(P_RELEASE, id, key, at, NULL, 0);
}

void live_expire_at(uint64_t id, int64_t expires_us)
{
	post(P_EXPIRY, id, NULL, expires_us, NULL, 0);
}

void live_end(uint64_t id, int code, const char *reason)
{
	post(P_END, id, NULL, code, reason ? reason : "", reason ? strlen(reason) : 0);
}

/* ---- reading ---------------------------------------------------------------------------- */

static void on_ws_bytes(struct live *l, uint8_t *p, size_t n)
{
	while (n > 0 && !l->dead && !l->closing) {
		struct ws_event ev;
		size_t used = ws_parse(&l->parser, p, n, &ev);
		p += used;
		n -= used;
		switch (ev.type) {
		case WS_EV_NONE:
			break;
		case WS_EV_TEXT:
			if (l->ops->on_text)
				l->ops->on_text(l, ev.data, ev.len);
			break;
		case WS_EV_BINARY:
			live_close(l, 1003, "only JSON text messages are accepted");
			break;
		case WS_EV_PING:
			ws_out(l, WS_OP_PONG, ev.data, ev.len);
			break;
		case WS_EV_PONG:
			break;
		case WS_EV_CLOSE:
			live_close(l, ev.code == WS_CLOSE_NO_STATUS ? WS_CLOSE_NORMAL : ev.code, NULL);
			break;
		case WS_EV_ERROR:
			live_close(l, ev.code, NULL);
			break;
		}
		if (ev.type == WS_EV_NONE)
			break;
	}
}

static void on_readable(struct live *l)
{
	uint8_t buf[READ_CHUNK];
	size_t total = 0;
	while (!l->dead && total < READ_MAX_PER_WAKE) {
		ssize_t n;
		if (l->ssl) {
			int r = mbedtls_ssl_read(l->ssl, buf, sizeof buf);
			if (r == MBEDTLS_ERR_SSL_WANT_READ || r == MBEDTLS_ERR_SSL_WANT_WRITE)
				return;
			n = r;
		} else {
			n = recv(l->fd, buf, sizeof buf, MSG_DONTWAIT);
			if (n < 0 && (errno == EAGAIN || errno == EINTR))
				return;
		}
		if (n <= 0) {
			doom(l);
			return;
		}
		total += (size_t)n;
		l->last_in_us = time_mono_us();
		if (l->kind == LIVE_WS)
			on_ws_bytes(l, buf, (size_t)n);
		/* an SSE client has nothing to say: what it sends is dropped */
	}
}

void live_on_event(void *ptr, uint32_t events)
{
	struct live *l = ptr;
	if (l->dead)
		return;
	if (events & EPOLLOUT)
		flush(l);
	if (!l->dead && (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)))
		on_readable(l);
}

/* ---- life ------------------------------------------------------------------------------- */

static void reap(void)
{
	while (doomed) {
		struct live *l = doomed;
		doomed = l->doomed_next;
		unsubscribe_all(l);
		if (l->ops->on_close)
			l->ops->on_close(l);
		for (struct live **p = &by_id[l->id % ID_BUCKETS]; *p; p = &(*p)->hnext)
			if (*p == l) {
				*p = l->hnext;
				break;
			}
		if (l->prev)
			l->prev->next = l->next;
		else
			all = l->next;
		if (l->next)
			l->next->prev = l->prev;
		loop_close_socket(l->fd, l->ssl, l->peer);
		atomic_fetch_sub(&open_count[l->kind], 1);
		for (struct chunk *c = l->q, *next; c; c = next) {
			next = c->next;
			free(c);
		}
		ws_parser_free(&l->parser);
		free(l->pending);
		free(l);
	}
}

void live_tick(int64_t now)
{
	reap();
	if (now < next_sweep)
		return;
	next_sweep = now + SWEEP_US;
	for (struct live *l = all; l; l = l->next) {
		if (l->dead)
			continue;
		if (l->closing) {
			if (now > l->closing_until_us)
				doom(l);
			continue;
		}
		if (l->expires_us && now >= l->expires_us) {
			live_close(l, WS_CLOSE_POLICY, "the access token expired");
			continue;
		}
		if (l->kind == LIVE_WS && now - l->last_in_us > SILENT_MAX_US) {
			doom(l);
			continue;
		}
		if (l->kind == LIVE_STREAM) {
			if (now - l->last_out_us >= STREAM_QUIET_US)
				out(l, "2\r\n:\n\r\n", 7, NULL, 0);
			continue;
		}
		if (now >= l->next_ping_us) {
			l->next_ping_us = now + PING_EVERY_US;
			if (l->kind == LIVE_WS)
				ws_out(l, WS_OP_PING, NULL, 0);
			else
				out(l, "8\r\n: ping\n\n\r\n", 13, NULL, 0);
		}
	}
	reap();
}

void live_close_all(void)
{
	for (struct live *l = all; l; l = l->next)
		if (!l->dead) {
			live_close(l, WS_CLOSE_GOING_AWAY, "the server is stopping");
			flush(l);
			doom(l);
		}
	reap();
}

static void attach_run(struct loop_post *p)
{
	struct live *l = (struct live *)((char *)p - offsetof(struct live, post));
	unsigned b = (unsigned)(l->id % ID_BUCKETS);
	l->hnext = by_id[b];
	by_id[b] = l;
	l->next = all;
	if (all)
		all->prev = l;
	all = l;
	int64_t now = time_mono_us();
	l->last_in_us = l->last_out_us = now;
	l->next_ping_us = now + PING_EVERY_US;
	struct sub *s = l->first_key ? subscribe(l, l->first_key, true) : NULL;
	bool failed = l->first_key && !s;
	free(l->first_key);
	l->first_key = NULL;
	if (failed || loop_watch(l->fd, EPOLLIN | EPOLLRDHUP, l, true) != 0) {
		doom(l);
		return;
	}
	if (l->pending_len > 0 && l->kind == LIVE_WS)
		on_ws_bytes(l, (uint8_t *)l->pending, (size_t)l->pending_len);
	free(l->pending);
	l->pending = NULL;
	/* data mbedTLS already decrypted raises no epoll event */
	if (l->ssl && mbedtls_ssl_get_bytes_avail(l->ssl) > 0)
		on_readable(l);
}

uint64_t live_open(struct req *r, enum live_kind kind, const char *accept, const char *protocol,
                   const struct live_ops *ops, void *user, const char *key, int64_t expires_us)
{
	r->written = true;
	if (kind == LIVE_STREAM) {
		/* the handler wrote its head */
	} else if (kind == LIVE_SSE) {
		if (res_stream_start(r, 200, "text/event-stream") != 0)
			return 0;
	} else {
		struct buf h = BUF_INIT(4096);
		int rc = buf_printf(&h, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
		                        "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\nX-Request-Id: %s\r\n",
		                    accept, r->request_id);
		if (!rc && protocol)
			rc = buf_printf(&h, "Sec-WebSocket-Protocol: %s\r\n", protocol);
		rc = rc ? rc : buf_adds(&h, "\r\n");
		if (!rc && mg_write(r->conn, h.ptr, h.len) <= 0)
			rc = ERR_IO;
		r->status = 101;
		r->bytes_sent = rc ? 0 : h.len;
		buf_free(&h);
		if (rc)
			return 0;
	}
	struct live *l = calloc(1, sizeof *l);
	char *k = l && key ? strdup(key) : NULL;
	struct mg_handoff h;
	if (!l || (key && !k) || mg_handoff_take(r->conn, &h) != 0) {
		free(l);
		free(k);
		return 0; /* civetweb closes the connection */
	}
	l->tag = LOOP_TAG_LIVE;
	l->kind = (uint8_t)kind;
	l->fd = h.fd;
	l->ssl = h.ssl;
	if (l->ssl)
		mbedtls_ssl_set_bio(l->ssl, &l->fd, mbedtls_net_send, mbedtls_net_recv, NULL);
	memcpy(l->peer, h.remote, sizeof l->peer);
	l->pending = h.pending;
	l->pending_len = h.pending_len;
	uint64_t id = atomic_fetch_add(&next_id, 1);
	l->id = id;
	l->ops = ops;
	l->user = user;
	l->first_key = k;
	l->expires_us = expires_us;
	ws_parser_init(&l->parser, WS_MESSAGE_MAX);
	atomic_fetch_add(&open_count[kind], 1);
	l->post.run = attach_run;
	loop_post(&l->post); /* the loop's from here on: it may end and free it at once */
	return id;
}

uint64_t live_id(const struct live *l)
{
	return l->id;
}

void *live_user(const struct live *l)
{
	return l->user;
}

long long live_open_count(enum live_kind kind)
{
	return atomic_load(&open_count[kind]);
}

unsigned long long live_published(void)
{
	return atomic_load(&published);
}

unsigned long long live_dropped(void)
{
	return atomic_load(&dropped);
}
