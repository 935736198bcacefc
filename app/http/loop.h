/* http/loop.h: the one event loop (epoll, one thread) that owns every connection while it
 * waits: it accepts, runs TLS handshakes, reads request heads, holds idle keep-alive
 * connections, and hands a connection to a civetweb worker only when a whole head is there.
 * Nothing here blocks or touches the database. */
#ifndef HTTP_LOOP_H
#define HTTP_LOOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"

struct mg_context;
struct mg_handoff;

struct loop_opts {
	const char *listen;     /* "127.0.0.1:8080", "[::1]:0" */
	const char *tls_pem;    /* key + certificate chain, or NULL for plain HTTP */
	int conn_max;           /* open connections in all (CONN_MAX) */
	int conn_per_address;   /* open connections per client address (CONN_PER_ADDRESS) */
	int head_timeout_ms;    /* accept (or first byte after idling) to a whole head */
	int idle_timeout_ms;    /* an idle keep-alive connection is closed after this */
	long long body_max;     /* largest declared body any route takes */
};

/* Binds the listening socket (the port actually bound goes to *port) and loads the TLS
 * key and certificate. The loop does not run yet. */
WUR int loop_open(const struct loop_opts *o, int *port, struct buf *msg);
/* Runs the loop on its own thread, handing whole heads to ctx's workers. */
WUR int loop_start(struct mg_context *ctx);
/* Ends the loop thread and closes every connection it holds and the listening socket. */
void loop_stop(void);

/* From a worker: the loop takes over a connection civetweb let go of (h from
 * mg_handoff_take; the TLS context's I/O is re-pointed here). On failure the connection is
 * closed. Never blocks. */
void loop_park(struct mg_handoff *h);

/* A civetweb worker closed a connection for good (fd still open): its address slot and
 * count are released. */
void loop_closed(int fd);

/* The response sent for a refused head (status 400, 413, 431, 503, 505), always with
 * Connection: close; why is a sentence for the JSON error body. */
WUR int loop_refusal(struct buf *out, int status, const char *why);

#endif
