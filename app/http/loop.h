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
	long long send_queue_max; /* bytes queued for a live connection that does not read */
	void (*thread_exit)(void); /* runs on each task thread as it ends (per-thread state) */
};

/* Work handed between threads: run(p) owns p (frees it or reuses it). */
struct loop_post {
	struct loop_post *next;
	void (*run)(struct loop_post *p);
};
/* Runs p on the loop thread, after everything posted before it. Any thread; never blocks. */
void loop_post(struct loop_post *p);
/* Runs p on one of the loop's task threads, where blocking (the database) is allowed; tasks
 * start in the order they came but may run side by side. */
void loop_task(struct loop_post *p);

/* For http/live.c, on the loop thread. epoll's pointer starts with one of these tags. */
#define LOOP_TAG_CONN 1
#define LOOP_TAG_LIVE 2
#define LOOP_TAG_UPSTREAM 3
int loop_watch(int fd, uint32_t events, void *ptr, bool add);
/* A connection closed elsewhere: its address slot and count go (peer: its sockaddr). */
void loop_release(const void *peer);
/* Closes a connection the loop counted: TLS says goodbye (best effort) and its context is
 * freed, the socket closed, its counts released. */
void loop_close_socket(int fd, void *ssl, const void *peer);
long long loop_send_queue_max(void);
/* Loop thread only: runs p on the loop thread in ms (or at once when it is stopping). */
WUR int loop_timer(int ms, struct loop_post *p);
/* Loop thread only: the libcurl multi whose calls the loop drives (http/upstream.h). */
struct upstream_multi *loop_multi(void);
/* true while the loop runs (false once it is stopping) */
bool loop_running(void);

/* Connections refused so far: by a limit, a malformed or late head, no free worker. */
unsigned long long loop_refused(void);

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
