/* hub/hub.h: real-time events. Durable ones go to a stream's log (one user's, or a topic's)
 * in the caller's write transaction and out to the connections after its commit; ephemeral
 * ones go out at once and are never stored. The only header other domains include from hub/,
 * and all a transport needs: a sink for frames, and replay for clients that reconnect. */
#ifndef HUB_HUB_H
#define HUB_HUB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "http/route.h"

/* Streams: "u:<user id>" is one user's log, "t:<topic>" a topic's ("t:tickets",
 * "t:ticket:<id>"). A topic's event is one row, however many subscribe. */
#define HUB_USER_PREFIX  "u:"
#define HUB_TOPIC_PREFIX "t:"
#define HUB_NAME_MAX     200 /* a user id or topic, bytes */
#define HUB_TYPE_MAX     64  /* an event type: [a-z0-9._-], e.g. "chat.message" */
/* an event's JSON object, bytes: room for a chat reply of 4 MiB, escaped */
#define HUB_DATA_MAX  (32u << 20)
#define HUB_FRAME_MAX (HUB_DATA_MAX + 512)

/* Where frames go: the transport registers one. A frame is one JSON text,
 * {"type":T,"seq":N,<the event's fields>} (a topic's also has "topic":"<topic>"; an
 * ephemeral one has no seq and comes with seq 0), valid only during the call: copy it.
 * Durable frames are delivered by the thread that commits their transaction, holding the
 * database's writer turn: one call at a time, each stream's in seq order, all before the
 * writer moves on; ephemeral ones from the signalling thread, at any time. So deliver must
 * be thread-safe, short, and never block (post to the event loop), and must not write to
 * the database. */
struct hub_sink {
	void (*deliver)(void *ctx, const char *stream, int64_t seq, const char *frame, size_t len);
	void *ctx;
};
/* Registers sink (NULL: none; then delivery does nothing, as in commands and tests). The
 * struct must outlive its registration; change it only while nothing can publish (before
 * the server starts, after it stopped). */
void hub_set_sink(const struct hub_sink *sink);

/* A durable event: inside the caller's open write transaction, gives the stream its next
 * seq (*seq, when not NULL), stores the event, and has its frame (built here, once)
 * delivered after the commit, or never when the transaction rolls back. type as above;
 * data_json is a JSON object without "type", "seq" or "topic" members. 0, ERR_INVAL (no
 * transaction, or a bad name, type or object: logged, a bug of the caller), ERR_TOOBIG,
 * ERR_NOMEM or ERR_DB; on failure the caller rolls back. */
WUR int hub_user_event(const char *user_id, const char *type, const char *data_json, int64_t *seq);
WUR int hub_topic_event(const char *topic, const char *type, const char *data_json, int64_t *seq);

/* An ephemeral event (presence, typing, read): delivered now to whoever is connected, no
 * seq, never stored. Any thread, with or without a transaction (delivered even if it rolls
 * back). 0, or ERR_INVAL / ERR_TOOBIG / ERR_NOMEM (nothing delivered). */
int hub_user_signal(const char *user_id, const char *type, const char *data_json);
int hub_topic_signal(const char *topic, const char *type, const char *data_json);

/* Where a replay left the reader. */
struct hub_pos {
	int64_t at;   /* the seq the reader is at: the last frame given, else since */
	int64_t head; /* the stream's last seq, as read (0: no event yet) */
	bool more;    /* max frames were given and more follow: call again with since = at */
	bool resync;  /* since is below what was pruned, or above the head (another log's seq):
	               * nothing given; the client reloads its state and goes on from head */
};
/* For a client that (re)connects knowing seq since (0: none yet): calls each(ctx, seq,
 * frame, len) for the stream's frames with seq > since, in order, at most max of them, all
 * read as one snapshot on this thread's read connection. A nonzero return from each stops
 * the replay and is returned. each must not call into the hub or the database.
 * To lose nothing, the transport subscribes the connection to live delivery first, holds
 * back what arrives, replays (again while pos->more), then sends what it held with seq
 * greater than pos->at. 0, ERR_INVAL (a bad stream, since < 0, max < 1), ERR_NOMEM,
 * ERR_DB, or each's return. */
WUR int hub_replay(const char *stream, int64_t since, int max,
                   int (*each)(void *ctx, int64_t seq, const char *frame, size_t len), void *ctx,
                   struct hub_pos *pos);
/* The stream's last seq (0 for a stream without events). 0, ERR_INVAL or ERR_DB. */
WUR int hub_head(const char *stream, int64_t *head);

/* Retention: deletes the events created before before_us (unix microseconds), in batches
 * of a bounded size, each its own write transaction, raising each stream's floor past them
 * (seq are never reused); stops early when hub_stop is waiting. *pruned counts the rows
 * deleted. 0, ERR_NOMEM or ERR_DB. */
WUR int hub_prune(int64_t before_us, long *pruned);
/* The job that prunes what is older than EVENTS_RETENTION, once a minute. */
WUR int hub_start(void);
void hub_stop(void);

/* GET /ws and GET /api/v1/events. */
extern const struct route_table hub_routes;
/* Sends the hub's frames to the live connections (http/live.c); before the server starts. */
void hub_connect_sink(void);

/* A domain's part in GET /ws: the relay makes a socket a device's connection and takes the
 * frames the hub does not know ("send", "ack", the original backend's "message"). At most
 * one, registered before the server starts; the hub never includes its header. */
struct live;
struct json;
struct hub_ws_part {
	/* on the worker, before the 101: reads what the socket needs (r->user_id is the caller)
	 * into *state, owned by the socket from then on. 0, or the error already answered on r
	 * (the socket is not opened). */
	int (*open)(struct req *r, void **state);
	/* on the loop thread, as the socket goes live (after the hub's ready) */
	void (*ready)(void *state, struct live *l);
	/* on the loop thread: a frame whose type the hub does not know, parsed (msg) and as it
	 * came (text, n bytes); false when the part does not know it either */
	bool (*frame)(void *state, struct live *l, const char *type, const struct json *msg, const char *text,
	              size_t n);
	/* on the loop thread: the socket's send queue emptied */
	void (*flushed)(void *state, struct live *l);
	/* the socket ended (or never opened): free state; any thread, never blocking */
	void (*close)(void *state);
};
void hub_set_ws_part(const struct hub_ws_part *part);

/* Inside the caller's open write transaction: the user's stream and its events. */
WUR int hub_user_deleted(const char *user_id);

#endif
