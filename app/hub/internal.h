/* hub/internal.h: what hub/'s files share; private to hub/. */
#ifndef HUB_INTERNAL_H
#define HUB_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- store.c: the only SQL on event_streams and events ------------------------------- */
/* Inside the caller's write transaction: the stream's next seq (*seq) and the event's row. */
int hub_store_append(const char *stream, const char *type, const char *data, const char *created_at,
                     int64_t *seq);

/* A replay as the store reads it. row() gets each event with seq > since, in order, at
 * most max; it is called only when since is within [floor, head] (else no event is read). */
struct hub_read {
	int64_t since;
	int max;
	int (*row)(void *ctx, int64_t seq, const char *type, const char *data, size_t len);
	void *ctx;
	int64_t head, floor; /* out: the stream's, as one snapshot with the rows (0, 0: unknown) */
	int rows;            /* out: row() calls */
};
/* 0, ERR_DB, or row()'s nonzero return (which stops the read). */
int hub_store_read(const char *stream, struct hub_read *rd);
/* The stream's head and floor (0, 0 for an unknown stream). 0 or ERR_DB. */
int hub_store_head(const char *stream, int64_t *head, int64_t *floor);
/* One write transaction: prunes up to limit of the oldest events created before `before`
 * (RFC 3339), raising their streams' floors. *rows: events deleted; *full: the batch was
 * full (there may be more). 0, ERR_NOMEM or ERR_DB. */
int hub_store_prune(const char *before, int limit, long *rows, bool *full);
/* Inside the caller's write transaction: the stream and its events. 0 or ERR_DB. */
int hub_store_forget(const char *stream);

/* ---- conns.c: GET /ws and GET /api/v1/events --------------------------------------- */
struct req;
int hub_ws(struct req *r);
int hub_events(struct req *r);

#endif
