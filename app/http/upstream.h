/* http/upstream.h: the one client for outgoing calls (HTTP(S), and SMTP(S) for mail), over
 * libcurl: timeouts, bounded retries before the first response byte, a circuit breaker per
 * upstream, bounded bodies, errors from http/errors.h. Must never put an upstream body, a URL
 * or a secret (keys, passwords, headers) into a log line or an error message.
 *
 * Two forms over one engine:
 * - blocking: upstream_perform() runs a request to its end on the calling thread;
 * - non-blocking: upstream_start() adds a request to a struct upstream_multi whose sockets
 *   and timer are driven by the caller's event loop (the contract is below, before
 *   upstream_multi_new). upstream_perform() is that same engine driven by a private poll().
 *
 * Knows nothing of domains: each domain declares its upstreams (UPSTREAM_DEFINE) and maps
 * results to its own words. libcurl's global set-up must have been done (main). */
#ifndef HTTP_UPSTREAM_H
#define HTTP_UPSTREAM_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "http/errors.h"

/* One outside service and its circuit breaker: after `failures` calls in a row failed (could
 * not connect, timed out, 5xx, 429, cut or unusable answer), calls fail at once with
 * E_UPSTREAM_UNAVAILABLE for `open_ms`; then one call is let through as a probe (the others
 * still fail fast) and its outcome closes the breaker or opens it again.
 * Owner: the file that defines it (static storage, lives as long as the process). */
struct upstream {
	const char *name;  /* short, for log lines: "llm", "rag", "smtp" */
	const char *label; /* for error messages: "the model server" */
	/* The settings read at each call for the threshold and the open time; NULL: the numbers */
	const char *failures_setting, *open_ms_setting;
	int failures;
	long open_ms;
	/* the breaker's state: upstream.c's alone */
	pthread_mutex_t lock;
	int state, count;
	bool probing;
	int64_t open_until_us;
};

#define UPSTREAM_DEFINE(name, label, failures_setting, open_ms_setting, failures, open_ms)         \
	{                                                                                          \
		(name), (label), (failures_setting), (open_ms_setting), (failures), (open_ms),     \
		    PTHREAD_MUTEX_INITIALIZER, 0, 0, false, 0                                      \
	}

#define UPSTREAM_HEAD_MAX           (32 * 1024) /* the response's header lines kept */
#define UPSTREAM_ERROR_BODY_MAX     (64 * 1024) /* an error response's body kept (the rest dropped) */
#define UPSTREAM_BACKOFF_MS         250         /* the first retry's wait; doubles, with jitter */
#define UPSTREAM_RETRY_AFTER_MAX_MS 10000       /* a longer Retry-After is not waited for */
#define UPSTREAM_TICK_MS            200         /* default on_tick period of the blocking form */

/* What on_data answers: go on, or stop the call. */
enum {
	UPSTREAM_CONTINUE = 0,
	UPSTREAM_CANCEL = 1, /* the caller wants no more: E_CANCELLED, the breaker is not told */
	UPSTREAM_BAD = 2,    /* the answer is unusable: E_UPSTREAM_MALFORMED, a breaker failure */
};

/* How a call ended. For a response that arrived whole, status is its code and code is what
 * the status means (E_UPSTREAM_* for a non-2xx one); ok says 2xx (or an SMTP success). */
struct upstream_res {
	bool ok;
	enum http_err code; /* when !ok: the API error to answer with */
	long status;        /* HTTP status, or the last SMTP reply code; 0 when none arrived */
	bool started;       /* on_data got at least one byte: no retry happened after that */
	bool breaker_open;  /* failed fast without calling: the circuit is open */
	int attempts;       /* requests actually sent or tried (0 when the breaker refused) */
	char message[192];  /* for !ok: what went wrong, made of the label: no body, no secret */
	const char *detail; /* for !ok: libcurl's static text for its error, or "" */
	struct buf head;    /* the final response's header lines, "Name: value\r\n" each */
	struct buf body;    /* a 2xx body when on_data is NULL (up to body_max); an error
	                     * response's body (up to UPSTREAM_ERROR_BODY_MAX) */
};

/* One call. Every pointer must stay valid until the call has ended (on_done returned,
 * upstream_perform returned, or upstream_cancel returned): nothing is copied but the struct. */
struct upstream_req {
	struct upstream *up;
	const char *url;
	const char *method;         /* NULL: GET, or POST when there is a body */
	const char *const *headers; /* "Name: value" lines, NULL-terminated; may hold secrets */
	const char *body;           /* the request body (for SMTP: the whole message) */
	size_t body_len;
	const char *user, *password; /* HTTP basic auth, or the SMTP login; NULL: none */
	/* SMTP: a mail_from makes this an SMTP(S) call (smtp:// or smtps:// url) */
	const char *mail_from;
	const char *const *mail_rcpt; /* NULL-terminated */

	long connect_timeout_ms; /* 0: libcurl's default (300 s), capped by timeout_ms */
	long timeout_ms;         /* the whole call, retries and their waits included; 0: none */
	long idle_timeout_ms;    /* no byte from the upstream for this long ends it; 0: none */
	int retries;             /* extra attempts at most, only before the first response byte */
	bool idempotent;         /* a POST that may be sent twice (GET, PUT, DELETE always may) */
	bool retry_500;          /* 500 is worth a retry too (OpenAI-compatible APIs say so) */
	size_t body_max;         /* the most bytes of a 2xx body collected; over it: malformed */

	/* A 2xx body as it arrives (then res.body stays empty). May be NULL. */
	int (*on_data)(void *ctx, const char *p, size_t n);
	/* Non-blocking form only: the end, exactly once, from upstream_multi_socket/_timeout
	 * (never from upstream_start). res->head and res->body may be taken (buf_take); what is
	 * left is freed when on_done returns, and the call with it. */
	void (*on_done)(void *ctx, struct upstream_res *res);
	/* Blocking form only: called at least every tick_ms (0: UPSTREAM_TICK_MS); non-zero
	 * cancels the call (E_CANCELLED). May be NULL. */
	int (*on_tick)(void *ctx);
	long tick_ms;
	void *ctx;
};

/* ---- blocking ------------------------------------------------------------------------- */

/* Runs rq to its end on this thread and fills *res (free it with upstream_res_free). 0 when
 * a response arrived whole, with a 2xx status (res->ok); ERR_IO otherwise, res saying why. */
WUR int upstream_perform(const struct upstream_req *rq, struct upstream_res *res);
void upstream_res_free(struct upstream_res *res);

/* ---- non-blocking: the event-loop contract -------------------------------------------
 * A struct upstream_multi is one libcurl multi handle plus the calls in it. It belongs to one
 * thread (the loop's): every function below and every callback runs on that thread; nothing
 * here blocks, sleeps or waits for DNS (libcurl's threaded resolver answers through a socket).
 * The loop provides two callbacks:
 *   watch(loop, fd, events): start, change or stop (events == 0) watching fd for
 *     UPSTREAM_IN / UPSTREAM_OUT, level-triggered (EPOLLIN/EPOLLOUT without EPOLLET). When
 *     events == 0 the fd may already be closed: ignore EBADF/ENOENT from EPOLL_CTL_DEL. An fd
 *     number may come back later for a new socket.
 *   timer(loop, ms): (re)arm the multi's one timer to fire once after ms (0: as soon as
 *     possible); ms == -1 disarms it. A new call replaces the previous one.
 * They are called from inside the functions below (libcurl's socket and timer callbacks) and
 * must only record: never call back into this module from them.
 * The loop then calls upstream_multi_socket(m, fd, events) when fd is ready (UPSTREAM_ERR
 * for EPOLLERR/EPOLLHUP; passing it with IN|OUT is fine), and upstream_multi_timeout(m) when
 * the timer fires. on_data and on_done run inside those two calls; from them a caller may
 * start new calls, but may not cancel any call nor free the multi: return UPSTREAM_CANCEL
 * from on_data instead, or cancel after the loop iteration. */
enum { UPSTREAM_IN = 1, UPSTREAM_OUT = 2, UPSTREAM_ERR = 4 };

struct upstream_loop {
	int (*watch)(void *loop, int fd, int events);
	void (*timer)(void *loop, long ms);
	void *loop;
};

struct upstream_multi;
struct upstream_call;

/* NULL when memory is short. */
struct upstream_multi *upstream_multi_new(const struct upstream_loop *loop);
/* Cancels what is still running (no on_done), then frees. Not from a callback. */
void upstream_multi_free(struct upstream_multi *m);
void upstream_multi_socket(struct upstream_multi *m, int fd, int events);
void upstream_multi_timeout(struct upstream_multi *m);
/* Calls in m that have not ended. */
size_t upstream_multi_count(const struct upstream_multi *m);

/* Adds a call (rq->on_done required); *out (may be NULL) is its handle until on_done. An open
 * breaker still gives 0: on_done says so from the loop. ERR_NOMEM or ERR_INVAL (no url, no
 * upstream, no on_done): no call was made and on_done will not run. */
WUR int upstream_start(struct upstream_multi *m, const struct upstream_req *rq,
                       struct upstream_call **out);
/* Ends a call at once without on_done (its connection is closed). Not from a callback. */
void upstream_cancel(struct upstream_call *c);

/* ---- helpers -------------------------------------------------------------------------- */

/* The value of the final response's header name (case-insensitive), trimmed; NULL when absent.
 * *len gets its length. */
const char *upstream_header(const struct upstream_res *res, const char *name, size_t *len);
/* base (trailing slashes dropped) + path, into out. */
WUR int upstream_url(struct buf *out, const char *base, const char *path);
/* s percent-encoded for a query string or an x-www-form-urlencoded body (RFC 3986 unreserved
 * characters kept), appended to out. */
WUR int upstream_urlencode(struct buf *out, const char *s);
/* A Retry-After value (delta-seconds or an HTTP-date) as milliseconds from now_unix_s; -1
 * when malformed. */
long long upstream_retry_after_ms(const char *v, size_t n, int64_t now_unix_s);

#endif
