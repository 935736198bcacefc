/* test/bench/bare.c: baseline for the /health throughput figure: the vendored civetweb with
 * one handler that writes a fixed answer; with DOCROOT also the baseline for media
 * downloads: civetweb serving that directory's files as plain static files. Must stay bare:
 * no router, no log, no database, or the ratio app/bare stops measuring what the app adds.
 * Usage: bench-bare PORT THREADS [DOCROOT] */
#include <civetweb.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BODY "{\"status\":\"ok\",\"db\":\"ok\",\"version\":\"0.1.0\"}"

/* The whole response, built once: header and body leave in one write, as the app's do. */
static char response[256];
static size_t response_len;

static int health(struct mg_connection *conn, void *unused)
{
	(void)unused;
	if (mg_write(conn, response, response_len) <= 0)
		return 0;
	return 200;
}

/* A decimal number in [lo, hi]; -1 for anything else. */
static long number(const char *s, long lo, long hi)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return -1;
	return v;
}

int main(int argc, char **argv)
{
	if (argc < 3 || argc > 4 || number(argv[1], 1, 65535) < 0 || number(argv[2], 1, 1024) < 0) {
		fprintf(stderr, "usage: bench-bare PORT THREADS [DOCROOT]\n");
		return 2;
	}
	int n = snprintf(response, sizeof response,
	                 "HTTP/1.1 200 OK\r\n"
	                 "Content-Type: application/json\r\n"
	                 "Content-Length: %zu\r\n"
	                 "\r\n" BODY,
	                 sizeof BODY - 1);
	if (n < 0 || (size_t)n >= sizeof response)
		return 1;
	response_len = (size_t)n;

	/* Blocked before civetweb starts its threads, so they inherit the mask and the signal
	 * can only be taken by sigwait below. */
	sigset_t stop;
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	if (pthread_sigmask(SIG_BLOCK, &stop, NULL) != 0)
		return 1;

	char addr[32];
	snprintf(addr, sizeof addr, "127.0.0.1:%s", argv[1]);
	/* Name, value pairs: the connection options the app uses too, so that only the request
	 * path differs. */
	/* clang-format off */
	const char *options[] = {
		"listening_ports", addr,
		"num_threads", argv[2],
		"enable_keep_alive", "yes",
		"keep_alive_timeout_ms", "5000",
		"tcp_nodelay", "1",
		argc == 4 ? "document_root" : NULL, argc == 4 ? argv[3] : NULL,
		NULL,
	};
	/* clang-format on */
	struct mg_callbacks callbacks;
	memset(&callbacks, 0, sizeof callbacks);
	mg_init_library(0);
	struct mg_context *ctx = mg_start(&callbacks, NULL, options);
	if (!ctx) {
		fprintf(stderr, "bench-bare: cannot listen on %s\n", addr);
		mg_exit_library();
		return 1;
	}
	mg_set_request_handler(ctx, "/health", health, NULL);
	fprintf(stderr, "bench-bare: http://%s/health, %s threads\n", addr, argv[2]);

	int sig = 0;
	while (sigwait(&stop, &sig) != 0)
		;
	mg_stop(ctx);
	mg_exit_library();
	return 0;
}
