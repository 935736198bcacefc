/* http/server.h: the HTTP(S) server over civetweb: every request goes through one path
 * (request id, CORS, route, access, body limit, handler, response, metrics, access log). */
#ifndef HTTP_SERVER_H
#define HTTP_SERVER_H

#include <stdbool.h>

#include "core/buf.h"
#include "http/errors.h"
#include "http/req.h"

struct server_opts {
	const char *listen;  /* "127.0.0.1:8080", "[::1]:8080", port 0 picks a free one */
	const char *tls_pem; /* key + certificate PEM for HTTPS, or NULL for HTTP */
	int threads;
	int request_timeout_ms;
	const char *cors_origins; /* comma-separated, "*" for any; "" for none */
	void (*worker_exit)(void); /* runs on each worker thread as it ends (per-thread state), or NULL */
	long long body_max;       /* the largest declared body any route takes (streamed ones too) */
	const char *trusted_proxies; /* addresses or CIDR ranges whose X-Forwarded-For is believed */
	int conn_max, conn_per_address, head_timeout_ms;
	long long send_queue_max; /* CONN_SEND_QUEUE_BYTES */
};

/* Checks a bearer token for routes above ACCESS_LOOPBACK; set by the accounts domain.
 * Returns 0 (and fills r's user) or the negative value of http_error. */
extern int (*server_authenticate)(struct req *r, enum route_access need);

WUR int server_start(const struct server_opts *o, struct buf *msg);
/* The base URL actually listened on, e.g. "http://127.0.0.1:41234". */
const char *server_url(void);
/* Stops taking new requests (they get 503 and Connection: close) and waits up to grace_ms
 * for requests in flight (streamed replies included) to finish. Returns true when all
 * finished in time. WebSockets and event streams are closed by server_stop (1001). */
bool server_drain(int grace_ms);
/* Registers the gauges and counters of connections (/metrics), after metrics_init. */
WUR int server_metrics(void);
/* Stops civetweb and joins its threads. */
void server_stop(void);

/* A whole response refusing a request before it reached a handler (malformed head, a limit),
 * with Connection: close; why replaces the table's meaning (plain text, no quotes). */
WUR int server_refusal(struct buf *out, enum http_err e, const char *why);
struct head_check;
/* The error table's code for a head the strict reader refused. */
enum http_err server_head_error(const struct head_check *hc);

#endif
