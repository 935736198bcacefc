/* http/live.h: the long-lived connections (WebSocket after its 101, Server-Sent Events after
 * their head) that the loop owns once a handler let go of them, and the routing of frames to
 * them by key ("u:<user id>", "t:<topic>"): a connection subscribes to keys, a frame posted for
 * a key goes to every connection subscribed. Knows nothing of users or events beyond that. */
#ifndef HTTP_LIVE_H
#define HTTP_LIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http/req.h"

/* LIVE_STREAM: a handler's own chunked response (its head already written), whose frames are
 * sent as they are, one chunk each (a chat reply's events). */
enum live_kind { LIVE_WS, LIVE_SSE, LIVE_STREAM };

struct live;

/* What the owner of a kind of connection does; every call on the loop thread, never blocking. */
struct live_ops {
	/* a whole text message from a WebSocket client (valid UTF-8, at most 1 MiB) */
	void (*on_text)(struct live *l, const char *text, size_t n);
	/* key's held frames went out (see live_release); seq: the last seq sent on it */
	void (*on_ready)(struct live *l, const char *key, int64_t seq);
	/* l ends (its subscriptions are gone already): free what user holds */
	void (*on_close)(struct live *l);
	/* l's send queue emptied: what it was sent has all gone to the socket (may be NULL) */
	void (*on_flushed)(struct live *l);
};

/* From a handler on its worker: answers r (a 101 with Sec-WebSocket-Accept: accept and, when
 * not NULL, Sec-WebSocket-Protocol: protocol; or a text/event-stream head; nothing for
 * LIVE_STREAM), takes the connection into the loop and subscribes it to key (when not NULL)
 * with delivery held: frames for key wait until live_release. expires_us (monotonic, 0: never): then a WebSocket is closed with 1008
 * and a stream ends. Returns the connection's id (> 0), or 0 when it could not be taken (the
 * connection is closed then; user is the caller's to free). r counts as answered either way. */
uint64_t live_open(struct req *r, enum live_kind kind, const char *accept, const char *protocol,
                   const struct live_ops *ops, void *user, const char *key, int64_t expires_us);

/* Any thread; posted to the loop in order with everything else (never blocks). frame is one
 * JSON text, copied. seq > 0: a durable event (an SSE "id:"); 0: ephemeral. */
void live_publish(const char *key, int64_t seq, const char *frame, size_t n);
void live_send(uint64_t id, int64_t seq, const char *frame, size_t n);
/* Sends what key held for connection id with seq > at, in order, then delivers as it comes and
 * calls on_ready. */
void live_release(uint64_t id, const char *key, int64_t at);
/* Ends connection id (a WebSocket with code and reason). */
void live_end(uint64_t id, int code, const char *reason);
/* Connection id's token now ends at expires_us (monotonic). */
void live_expire_at(uint64_t id, int64_t expires_us);

/* Loop thread only, e.g. inside the ops. */
struct live *live_get(uint64_t id); /* NULL once it ended */
uint64_t live_id(const struct live *l);
void *live_user(const struct live *l);
int live_count(const char *key); /* connections subscribed to key */
void live_frame(struct live *l, int64_t seq, const char *frame, size_t n);
/* to every connection subscribed to key, now */
void live_deliver(const char *key, int64_t seq, const char *frame, size_t n);
void live_close(struct live *l, int code, const char *reason);
/* Bytes waiting in l's send queue (the socket took the rest); on_flushed says when it is 0. */
size_t live_queued(const struct live *l);

/* Counters for /metrics. */
long long live_open_count(enum live_kind kind);
unsigned long long live_published(void);
unsigned long long live_dropped(void);

/* The loop's hooks. */
void live_on_event(void *ptr, uint32_t events);
void live_tick(int64_t now_us);
void live_close_all(void);

#endif
