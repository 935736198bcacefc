/* Unit tests for http/upstream.c against a tiny HTTP server made here (a thread per
 * connection on 127.0.0.1:0): two streamed calls at once (one by name, through libcurl's
 * resolver thread) on the test's own epoll loop with no call into the client blocking it;
 * retries (Retry-After, its cap, idempotency, 500), timeouts (connect refused, total, idle),
 * body limits, a cut answer, cancelling, the breaker per upstream (open, fail fast, one
 * half-open probe), no secret or body in messages and logs. */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "core/time.h"
#include "http/upstream.h"

/* ---- the server ------------------------------------------------------------------------ */

static int listen_fd;
static int port;
static atomic_int hits;         /* requests read */
static atomic_int hangs_closed; /* /hang connections the client closed */
static atomic_bool stopping;
static pthread_mutex_t seq_lock = PTHREAD_MUTEX_INITIALIZER;
static const char *seq[8]; /* /seq answers, in order: "503", "429 1", "200" ... */
static int seq_next, seq_len;

static void set_seq(int n, const char *const *answers)
{
	pthread_mutex_lock(&seq_lock);
	for (int i = 0; i < n; i++)
		seq[i] = answers[i];
	seq_len = n;
	seq_next = 0;
	pthread_mutex_unlock(&seq_lock);
}

static void say(int fd, const char *s, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
		if (w <= 0)
			return;
		s += w;
		n -= (size_t)w;
	}
}

static void says(int fd, const char *s)
{
	say(fd, s, strlen(s));
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* Waits until the peer closes or the test ends; true when the peer closed. */
static bool wait_close(int fd)
{
	while (!atomic_load(&stopping)) {
		struct pollfd p = {fd, POLLIN, 0};
		char c[64];
		if (poll(&p, 1, 50) > 0 && recv(fd, c, sizeof c, 0) <= 0)
			return true;
	}
	return false;
}

static void answer(int fd, int status, const char *extra, const char *body)
{
	char head[512];
	int n = snprintf(head, sizeof head,
	                 "HTTP/1.1 %d X\r\nContent-Length: %zu\r\nConnection: close\r\n%s\r\n",
	                 status, strlen(body), extra);
	say(fd, head, (size_t)n);
	say(fd, body, strlen(body));
}

static void chunk(int fd, const char *s)
{
	char size[32];
	int n = snprintf(size, sizeof size, "%zx\r\n", strlen(s));
	say(fd, size, (size_t)n);
	say(fd, s, strlen(s));
	say(fd, "\r\n", 2);
}

static void *serve(void *arg)
{
	int fd = (int)(long)arg;
	char req[8192];
	size_t got = 0;
	char *end = NULL;
	while (got < sizeof req - 1 && !end) {
		ssize_t r = recv(fd, req + got, sizeof req - 1 - got, 0);
		if (r <= 0)
			goto out;
		got += (size_t)r;
		req[got] = '\0';
		end = strstr(req, "\r\n\r\n");
	}
	if (!end)
		goto out;
	char *cl = strcasestr(req, "Content-Length:");
	size_t want = cl && cl < end ? (size_t)atol(cl + 15) : 0,
	       have = got - (size_t)(end + 4 - req);
	while (have < want) {
		char sink[4096];
		ssize_t r = recv(fd, sink, sizeof sink, 0);
		if (r <= 0)
			goto out;
		have += (size_t)r;
	}
	atomic_fetch_add(&hits, 1);
	char path[256];
	if (sscanf(req, "%*s %255s", path) != 1)
		goto out;
	if (strcmp(path, "/ok") == 0) {
		answer(fd, 200, "X-Test:  yes \r\nContent-Type: text/plain\r\n", "hello");
	} else if (strncmp(path, "/stream/", 8) == 0) {
		/* /stream/NAME/COUNT/GAP_MS: COUNT pieces "NAMEi;" a gap apart, chunked */
		char name[16];
		int count = 0, gap = 0;
		if (sscanf(path + 8, "%15[^/]/%d/%d", name, &count, &gap) != 3)
			goto out;
		says(fd,
		     "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n");
		for (int i = 0; i < count; i++) {
			char piece[32];
			snprintf(piece, sizeof piece, "%s%d;", name, i);
			chunk(fd, piece);
			sleep_ms(gap);
		}
		says(fd, "0\r\n\r\n");
	} else if (strcmp(path, "/hang") == 0) {
		if (wait_close(fd))
			atomic_fetch_add(&hangs_closed, 1);
	} else if (strcmp(path, "/silent") == 0) {
		says(fd,
		     "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n");
		chunk(fd, "first;");
		wait_close(fd);
	} else if (strcmp(path, "/slow") == 0) {
		sleep_ms(150);
		answer(fd, 200, "", "slow");
	} else if (strcmp(path, "/big") == 0) {
		static char big[100001];
		memset(big, 'x', sizeof big - 1);
		answer(fd, 200, "", big);
	} else if (strcmp(path, "/cut") == 0) {
		says(fd, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten b");
	} else if (strncmp(path, "/status/", 8) == 0) {
		answer(fd, atoi(path + 8), "", "SECRET-BODY-TEXT");
	} else if (strcmp(path, "/seq") == 0) {
		pthread_mutex_lock(&seq_lock);
		const char *a = seq_next < seq_len ? seq[seq_next++] : "200";
		pthread_mutex_unlock(&seq_lock);
		int status = atoi(a);
		const char *sp = strchr(a, ' ');
		char extra[64] = "";
		if (sp)
			snprintf(extra, sizeof extra, "Retry-After: %s\r\n", sp + 1);
		answer(fd, status, extra, status == 200 ? "done" : "SECRET-BODY-TEXT");
	} else {
		answer(fd, 404, "", "");
	}
out:
	close(fd);
	return NULL;
}

static void *accept_loop(void *arg)
{
	(void)arg;
	while (!atomic_load(&stopping)) {
		struct pollfd p = {listen_fd, POLLIN, 0};
		if (poll(&p, 1, 50) <= 0)
			continue;
		int fd = accept(listen_fd, NULL, NULL);
		if (fd < 0)
			continue;
		pthread_t t;
		if (pthread_create(&t, NULL, serve, (void *)(long)fd) == 0)
			pthread_detach(t);
		else
			close(fd);
	}
	return NULL;
}

static int listen_any(int *out_port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof a;
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 64) != 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) != 0)
		return -1;
	*out_port = ntohs(a.sin_port);
	return fd;
}

static const char *url(const char *path)
{
	static char u[8][256];
	static int next;
	char *s = u[next++ % 8];
	snprintf(s, 256, "http://127.0.0.1:%d%s", port, path);
	return s;
}

/* ---- the epoll loop ------------------------------------------------------------------------ */

struct loop {
	int ep;
	int64_t due_us;     /* -1: no timer */
	int64_t longest_us; /* the longest time one call into the client took */
};

static int loop_watch(void *l, int fd, int events)
{
	struct loop *lp = l;
	if (!events) {
		epoll_ctl(lp->ep, EPOLL_CTL_DEL, fd, NULL); /* may be closed already: ignored */
		return 0;
	}
	struct epoll_event ev = {.events = (events & UPSTREAM_IN ? EPOLLIN : 0) |
	                                   (events & UPSTREAM_OUT ? EPOLLOUT : 0),
	                         .data.fd = fd};
	if (epoll_ctl(lp->ep, EPOLL_CTL_MOD, fd, &ev) == 0)
		return 0;
	return errno == ENOENT && epoll_ctl(lp->ep, EPOLL_CTL_ADD, fd, &ev) == 0 ? 0 : -1;
}

static void loop_timer(void *l, long ms)
{
	struct loop *lp = l;
	lp->due_us = ms < 0 ? -1 : time_mono_us() + (int64_t)ms * 1000;
}

static void timed(struct loop *lp, int64_t t0)
{
	int64_t took = time_mono_us() - t0;
	if (took > lp->longest_us)
		lp->longest_us = took;
}

/* Runs the loop until m has no call left or limit_ms passed. */
static void run(struct loop *lp, struct upstream_multi *m, long limit_ms)
{
	int64_t end = time_mono_us() + limit_ms * 1000;
	while (upstream_multi_count(m) > 0 && time_mono_us() < end) {
		int64_t now = time_mono_us();
		int timeout = lp->due_us < 0      ? 100
		              : lp->due_us <= now ? 0
		                                  : (int)((lp->due_us - now + 999) / 1000);
		struct epoll_event evs[16];
		int n = epoll_wait(lp->ep, evs, 16, timeout > 100 ? 100 : timeout);
		for (int i = 0; i < n; i++) {
			uint32_t e = evs[i].events;
			int64_t t0 = time_mono_us();
			upstream_multi_socket(m, evs[i].data.fd,
			                      (e & EPOLLIN ? UPSTREAM_IN : 0) |
			                          (e & EPOLLOUT ? UPSTREAM_OUT : 0) |
			                          (e & (EPOLLERR | EPOLLHUP) ? UPSTREAM_ERR : 0));
			timed(lp, t0);
		}
		if (lp->due_us >= 0 && time_mono_us() >= lp->due_us) {
			lp->due_us = -1;
			int64_t t0 = time_mono_us();
			upstream_multi_timeout(m);
			timed(lp, t0);
		}
	}
}

/* ---- non-blocking calls ------------------------------------------------------------------ */

static char order[256]; /* the name of the call each piece arrived for, in arrival order */

struct got {
	char name;
	char text[512];
	size_t len;
	bool done, ok;
	enum http_err code;
	bool breaker_open;
	int attempts;
	int cancel_after; /* on_data answers UPSTREAM_CANCEL at this call (0: never) */
	int calls;
};

static int got_data(void *ctx, const char *p, size_t n)
{
	struct got *g = ctx;
	size_t o = strlen(order);
	if (o + 1 < sizeof order)
		order[o] = g->name;
	if (g->len + n < sizeof g->text) {
		memcpy(g->text + g->len, p, n);
		g->len += n;
	}
	return ++g->calls == g->cancel_after ? UPSTREAM_CANCEL : UPSTREAM_CONTINUE;
}

static void got_done(void *ctx, struct upstream_res *res)
{
	struct got *g = ctx;
	g->done = true;
	g->ok = res->ok;
	g->code = res->code;
	g->breaker_open = res->breaker_open;
	g->attempts = res->attempts;
	if (!g->len && res->body.len < sizeof g->text) {
		memcpy(g->text, res->body.ptr ? res->body.ptr : "", res->body.len);
		g->len = res->body.len;
	}
}

static struct upstream test_up = UPSTREAM_DEFINE("test", "the test service", NULL, NULL, 1000, 0);

static void two_streams_on_one_loop(void)
{
	struct loop lp = {.ep = epoll_create1(EPOLL_CLOEXEC), .due_us = -1};
	struct upstream_loop ops = {loop_watch, loop_timer, &lp};
	struct upstream_multi *m = upstream_multi_new(&ops);
	CHECK(lp.ep >= 0 && m != NULL);
	struct got a = {.name = 'a'}, b = {.name = 'b'}, h = {.name = 'h'};
	struct upstream_req ra = {.up = &test_up,
	                          .url = url("/stream/a/6/40"),
	                          .timeout_ms = 10000,
	                          .on_data = got_data,
	                          .on_done = got_done,
	                          .ctx = &a};
	struct upstream_req rb = ra;
	char by_name[128]; /* a name: libcurl's resolver thread answers through the loop too */
	snprintf(by_name, sizeof by_name, "http://localhost:%d/stream/b/6/40", port);
	rb.url = by_name;
	rb.ctx = &b;
	/* a third call that never gets an answer: it must hold up neither the loop nor the others
	 */
	struct upstream_req rh = {.up = &test_up,
	                          .url = url("/hang"),
	                          .idle_timeout_ms = 600,
	                          .on_data = got_data,
	                          .on_done = got_done,
	                          .ctx = &h};
	memset(order, 0, sizeof order);
	int64_t t0 = time_mono_us();
	CHECK(upstream_start(m, &ra, NULL) == 0);
	CHECK(upstream_start(m, &rb, NULL) == 0);
	CHECK(upstream_start(m, &rh, NULL) == 0);
	CHECK(upstream_multi_count(m) == 3);
	run(&lp, m, 5000);
	CHECK(a.done && a.ok && b.done && b.ok);
	CHECK_STR(a.text, "a0;a1;a2;a3;a4;a5;");
	CHECK_STR(b.text, "b0;b1;b2;b3;b4;b5;");
	/* both streams were read as they came: their pieces are interleaved */
	const char *first_b = strchr(order, 'b'), *last_a = strrchr(order, 'a');
	CHECK(first_b && last_a && first_b < last_a);
	const char *first_a = strchr(order, 'a'), *last_b = strrchr(order, 'b');
	CHECK(first_a && last_b && first_a < last_b);
	CHECK(h.done && !h.ok && h.code == E_UPSTREAM_TIMEOUT);
	CHECK(time_mono_us() - t0 < 3000000);
	/* no call into the client blocked the loop (the streams took ~240 ms, the hang 600) */
	fprintf(stderr, "two streams: longest call into the client %lld us, order %s\n",
	        (long long)lp.longest_us, order);
	CHECK(lp.longest_us < 200000);
	CHECK(upstream_multi_count(m) == 0);

	/* cancelling from the loop closes the connection, and no on_done comes */
	sleep_ms(150); /* the server notices that the first hang was closed */
	int before = atomic_load(&hangs_closed);
	struct got c = {.name = 'c'};
	struct upstream_req rc = {
	    .up = &test_up, .url = url("/hang"), .on_done = got_done, .ctx = &c};
	struct upstream_call *call = NULL;
	atomic_store(&hits, 0);
	CHECK(upstream_start(m, &rc, &call) == 0 && call != NULL);
	for (int i = 0; i < 100 && atomic_load(&hits) == 0; i++)
		run(&lp, m, 20); /* until the request has reached the server */
	CHECK(atomic_load(&hits) == 1);
	upstream_cancel(call);
	CHECK(upstream_multi_count(m) == 0);
	for (int i = 0; i < 40 && atomic_load(&hangs_closed) == before; i++)
		sleep_ms(25);
	CHECK(atomic_load(&hangs_closed) == before + 1);
	CHECK(!c.done);

	/* on_data may stop its own call: E_CANCELLED, through on_done */
	struct got s = {.name = 's', .cancel_after = 2};
	struct upstream_req rs = {.up = &test_up,
	                          .url = url("/stream/s/6/20"),
	                          .on_data = got_data,
	                          .on_done = got_done,
	                          .ctx = &s};
	CHECK(upstream_start(m, &rs, NULL) == 0);
	run(&lp, m, 3000);
	CHECK(s.done && !s.ok && s.code == E_CANCELLED && s.calls == 2);
	upstream_multi_free(m);
	close(lp.ep);
}

/* ---- blocking calls ------------------------------------------------------------------------ */

static struct upstream_res perform(const struct upstream_req *rq, int *rc)
{
	struct upstream_res res;
	*rc = upstream_perform(rq, &res);
	return res;
}

static void blocking_basics(void)
{
	int rc;
	struct upstream_req rq = {.up = &test_up, .url = url("/ok"), .timeout_ms = 5000};
	struct upstream_res res = perform(&rq, &rc);
	CHECK(rc == 0 && res.ok && res.status == 200 && res.attempts == 1);
	CHECK(res.body.len == 5 && memcmp(res.body.ptr, "hello", 5) == 0);
	size_t n = 0;
	const char *v = upstream_header(&res, "x-test", &n);
	CHECK(v && n == 3 && memcmp(v, "yes", 3) == 0);
	CHECK(upstream_header(&res, "X-Missing", &n) == NULL);
	upstream_res_free(&res);

	/* a body over its limit */
	rq.url = url("/big");
	rq.body_max = 1000;
	res = perform(&rq, &rc);
	CHECK(rc == ERR_IO && res.code == E_UPSTREAM_MALFORMED);
	upstream_res_free(&res);
	rq.body_max = 200000;
	res = perform(&rq, &rc);
	CHECK(rc == 0 && res.body.len == 100000);
	upstream_res_free(&res);

	/* an answer shorter than it said */
	rq.url = url("/cut");
	res = perform(&rq, &rc);
	CHECK(rc == ERR_IO && res.code == E_UPSTREAM_CUT);
	upstream_res_free(&res);

	/* statuses and their codes; error bodies are kept for the caller, never in the message */
	static const struct {
		const char *path;
		enum http_err code;
	} statuses[] = {{"/status/401", E_UPSTREAM_AUTH},
	                {"/status/404", E_UPSTREAM_ERROR},
	                {"/status/429", E_UPSTREAM_RATE_LIMITED},
	                {"/status/500", E_UPSTREAM_ERROR},
	                {"/status/503", E_UPSTREAM_UNAVAILABLE}};
	for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++) {
		struct upstream_req q = {
		    .up = &test_up, .url = url(statuses[i].path), .timeout_ms = 5000};
		res = perform(&q, &rc);
		CHECK(rc == ERR_IO && !res.ok && res.code == statuses[i].code);
		CHECK(strstr(res.message, "the test service") == res.message);
		CHECK(res.body.len == 16 && memcmp(res.body.ptr, "SECRET-BODY-TEXT", 16) == 0);
		CHECK(!strstr(res.message, "SECRET"));
		upstream_res_free(&res);
	}
}

static void retries(void)
{
	int rc;
	/* 503 twice (Retry-After: 0), then an answer: three attempts */
	set_seq(3, (const char *[]){"503 0", "503", "200"});
	atomic_store(&hits, 0);
	struct upstream_req rq = {
	    .up = &test_up, .url = url("/seq"), .timeout_ms = 5000, .retries = 2};
	struct upstream_res res = perform(&rq, &rc);
	CHECK(rc == 0 && res.attempts == 3 && atomic_load(&hits) == 3);
	CHECK(res.body.len == 4 && memcmp(res.body.ptr, "done", 4) == 0);
	upstream_res_free(&res);
	/* the retries run out */
	set_seq(3, (const char *[]){"503", "503", "200"});
	rq.retries = 1;
	res = perform(&rq, &rc);
	CHECK(rc == ERR_IO && res.code == E_UPSTREAM_UNAVAILABLE && res.attempts == 2 &&
	      res.status == 503);
	upstream_res_free(&res);

	/* a POST that may not be sent twice is not retried after a 502 ... */
	set_seq(2, (const char *[]){"502", "200"});
	struct upstream_req post = {.up = &test_up,
	                            .url = url("/seq"),
	                            .body = "x=1",
	                            .body_len = 3,
	                            .timeout_ms = 5000,
	                            .retries = 2};
	res = perform(&post, &rc);
	CHECK(rc == ERR_IO && res.code == E_UPSTREAM_ERROR && res.attempts == 1);
	upstream_res_free(&res);
	/* ... but is after a 503 (nothing was done) */
	set_seq(2, (const char *[]){"503", "200"});
	res = perform(&post, &rc);
	CHECK(rc == 0 && res.attempts == 2);
	upstream_res_free(&res);
	/* and an idempotent one is, after a 502 */
	set_seq(2, (const char *[]){"502", "200"});
	post.idempotent = true;
	res = perform(&post, &rc);
	CHECK(rc == 0 && res.attempts == 2);
	upstream_res_free(&res);

	/* 500 only when asked */
	set_seq(2, (const char *[]){"500", "200"});
	res = perform(&rq, &rc);
	CHECK(rc == ERR_IO && res.attempts == 1);
	upstream_res_free(&res);
	set_seq(2, (const char *[]){"500", "200"});
	rq.retry_500 = true;
	res = perform(&rq, &rc);
	CHECK(rc == 0 && res.attempts == 2);
	upstream_res_free(&res);

	/* Retry-After is waited for, up to the cap; beyond it the call ends at once */
	set_seq(2, (const char *[]){"429 1", "200"});
	int64_t t0 = time_mono_us();
	res = perform(&rq, &rc);
	CHECK(rc == 0 && res.attempts == 2 && time_mono_us() - t0 >= 950000);
	upstream_res_free(&res);
	set_seq(2, (const char *[]){"429 60", "200"});
	t0 = time_mono_us();
	res = perform(&rq, &rc);
	CHECK(rc == ERR_IO && res.code == E_UPSTREAM_RATE_LIMITED && res.attempts == 1);
	CHECK(time_mono_us() - t0 < 500000);
	upstream_res_free(&res);
	/* a wait that would pass the call's deadline is not taken */
	set_seq(2, (const char *[]){"503 2", "200"});
	rq.timeout_ms = 1000;
	res = perform(&rq, &rc);
	CHECK(rc == ERR_IO && res.attempts == 1);
	upstream_res_free(&res);

	/* nobody listening: tried again, then unavailable with no status */
	int closed_port;
	int fd = listen_any(&closed_port);
	close(fd);
	char refused[64];
	snprintf(refused, sizeof refused, "http://127.0.0.1:%d/", closed_port);
	struct upstream_req nobody = {
	    .up = &test_up, .url = refused, .timeout_ms = 5000, .retries = 2};
	res = perform(&nobody, &rc);
	CHECK(rc == ERR_IO && res.code == E_UPSTREAM_UNAVAILABLE && res.status == 0 &&
	      res.attempts == 3);
	CHECK(*res.detail != '\0');
	upstream_res_free(&res);
}

static int ticks;
static int tick_cancel(void *ctx)
{
	(void)ctx;
	return ++ticks >= 2;
}

static int fail_data(void *ctx, const char *p, size_t n)
{
	(void)ctx;
	(void)p;
	(void)n;
	return UPSTREAM_BAD;
}

static void timeouts(void)
{
	int rc;
	/* the whole call: no answer within timeout_ms, and a timeout is never retried */
	struct upstream_req rq = {
	    .up = &test_up, .url = url("/hang"), .timeout_ms = 300, .retries = 3};
	int64_t t0 = time_mono_us();
	struct upstream_res res = perform(&rq, &rc);
	CHECK(rc == ERR_IO && res.code == E_UPSTREAM_TIMEOUT && res.attempts == 1);
	CHECK(time_mono_us() - t0 < 1500000);
	upstream_res_free(&res);
	/* silence in the middle of a stream */
	struct got g = {.name = 'g'};
	struct upstream_req idle = {.up = &test_up,
	                            .url = url("/silent"),
	                            .idle_timeout_ms = 300,
	                            .on_data = got_data,
	                            .ctx = &g};
	t0 = time_mono_us();
	res = perform(&idle, &rc);
	CHECK(rc == ERR_IO && res.code == E_UPSTREAM_TIMEOUT && res.started);
	CHECK(g.len == 6 && memcmp(g.text, "first;", 6) == 0);
	CHECK(time_mono_us() - t0 < 1500000);
	upstream_res_free(&res);
	/* the caller goes away: on_tick */
	ticks = 0;
	struct upstream_req tick = {
	    .up = &test_up, .url = url("/hang"), .on_tick = tick_cancel, .tick_ms = 50};
	t0 = time_mono_us();
	res = perform(&tick, &rc);
	CHECK(rc == ERR_IO && res.code == E_CANCELLED && ticks == 2);
	CHECK(time_mono_us() - t0 < 1000000);
	upstream_res_free(&res);
	/* on_data finds the answer unusable */
	struct upstream_req bad = {.up = &test_up, .url = url("/ok"), .on_data = fail_data};
	res = perform(&bad, &rc);
	CHECK(rc == ERR_IO && res.code == E_UPSTREAM_MALFORMED);
	upstream_res_free(&res);
}

static void breaker(void)
{
	static struct upstream up =
	    UPSTREAM_DEFINE("flaky", "the flaky service", NULL, NULL, 2, 400);
	static struct upstream other =
	    UPSTREAM_DEFINE("other", "the other service", NULL, NULL, 2, 400);
	int rc;
	struct upstream_req fail500 = {.up = &up, .url = url("/status/500"), .timeout_ms = 5000};
	struct upstream_req ok = {.up = &up, .url = url("/ok"), .timeout_ms = 5000};
	struct upstream_res res;
	/* a success in between resets the count; 4xx are not the service's failures */
	res = perform(&fail500, &rc);
	upstream_res_free(&res);
	res = perform(&ok, &rc);
	upstream_res_free(&res);
	struct upstream_req notfound = {.up = &up, .url = url("/status/404"), .timeout_ms = 5000};
	res = perform(&notfound, &rc);
	upstream_res_free(&res);
	res = perform(&fail500, &rc);
	upstream_res_free(&res);
	res = perform(&ok, &rc);
	CHECK(rc == 0);
	upstream_res_free(&res);
	/* two in a row open it: the next call fails fast without reaching the server */
	res = perform(&fail500, &rc);
	upstream_res_free(&res);
	res = perform(&fail500, &rc);
	upstream_res_free(&res);
	atomic_store(&hits, 0);
	res = perform(&ok, &rc);
	CHECK(rc == ERR_IO && res.breaker_open && res.code == E_UPSTREAM_UNAVAILABLE &&
	      res.attempts == 0);
	CHECK(atomic_load(&hits) == 0);
	upstream_res_free(&res);
	/* other upstreams are not affected */
	struct upstream_req fine = {.up = &other, .url = url("/ok"), .timeout_ms = 5000};
	res = perform(&fine, &rc);
	CHECK(rc == 0);
	upstream_res_free(&res);

	/* after the open time one probe goes out; the calls beside it still fail fast */
	sleep_ms(450);
	struct loop lp = {.ep = epoll_create1(EPOLL_CLOEXEC), .due_us = -1};
	struct upstream_loop ops = {loop_watch, loop_timer, &lp};
	struct upstream_multi *m = upstream_multi_new(&ops);
	struct got p = {.name = 'p'}, q = {.name = 'q'};
	struct upstream_req probe = {
	    .up = &up, .url = url("/slow"), .on_done = got_done, .ctx = &p};
	struct upstream_req beside = {
	    .up = &up, .url = url("/slow"), .on_done = got_done, .ctx = &q};
	atomic_store(&hits, 0);
	CHECK(upstream_start(m, &probe, NULL) == 0);
	CHECK(upstream_start(m, &beside, NULL) == 0);
	CHECK(!p.done && !q.done); /* on_done never runs from upstream_start */
	run(&lp, m, 3000);
	CHECK(p.done && p.ok && p.attempts == 1);
	CHECK(q.done && !q.ok && q.breaker_open && q.attempts == 0);
	CHECK(atomic_load(&hits) == 1);
	/* the probe's success closed it */
	res = perform(&ok, &rc);
	CHECK(rc == 0);
	upstream_res_free(&res);

	/* a failed probe opens it again at once */
	for (int i = 0; i < 2; i++) {
		res = perform(&fail500, &rc);
		upstream_res_free(&res);
	}
	sleep_ms(450);
	res = perform(&fail500, &rc);
	CHECK(rc == ERR_IO && !res.breaker_open && res.attempts == 1);
	upstream_res_free(&res);
	res = perform(&ok, &rc);
	CHECK(rc == ERR_IO && res.breaker_open);
	upstream_res_free(&res);

	/* a probe its caller cancels decides nothing: the next call probes */
	sleep_ms(450);
	struct got c = {.name = 'c'};
	struct upstream_req cancelled = {
	    .up = &up, .url = url("/hang"), .on_done = got_done, .ctx = &c};
	struct upstream_call *call;
	CHECK(upstream_start(m, &cancelled, &call) == 0);
	upstream_cancel(call);
	res = perform(&ok, &rc);
	CHECK(rc == 0 && !res.breaker_open);
	upstream_res_free(&res);
	upstream_multi_free(m);
	close(lp.ep);
}

/* Secrets in the URL, a header and the body never reach a message or a log line. */
static void no_secrets(void)
{
	char path[] = "/tmp/app-upstream-log-XXXXXX";
	int logfd = mkstemp(path);
	int saved = dup(STDERR_FILENO);
	fflush(stderr);
	dup2(logfd, STDERR_FILENO);
	static struct upstream up =
	    UPSTREAM_DEFINE("secretive", "the secretive service", NULL, NULL, 1, 1000);
	static const char *const headers[] = {"Authorization: Bearer SECRET-KEY", NULL};
	char u[256];
	snprintf(u, sizeof u, "http://user:SECRET-PASS@127.0.0.1:%d/status/500?token=SECRET-URL",
	         port);
	struct upstream_req rq = {.up = &up,
	                          .url = u,
	                          .headers = headers,
	                          .body = "SECRET-REQUEST",
	                          .body_len = 14,
	                          .password = "SECRET-PASSWORD",
	                          .user = "me",
	                          .timeout_ms = 5000};
	int rc;
	for (int i = 0; i < 2;
	     i++) { /* the first opens the breaker (logged), the second fails fast */
		struct upstream_res res = perform(&rq, &rc);
		CHECK(rc == ERR_IO && !strstr(res.message, "SECRET") &&
		      !strstr(res.detail, "SECRET"));
		upstream_res_free(&res);
	}
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	char logged[8192] = "";
	ssize_t n = pread(logfd, logged, sizeof logged - 1, 0);
	logged[n > 0 ? n : 0] = '\0';
	close(logfd);
	unlink(path);
	CHECK(strstr(logged, "secretive") != NULL); /* the breaker's line is there ... */
	CHECK(strstr(logged, "SECRET") == NULL);    /* ... and holds nothing of the call */
}

static void helpers(void)
{
	struct buf b = BUF_INIT(1024);
	CHECK(upstream_url(&b, "http://h/v1//", "/chat") == 0);
	CHECK_STR(buf_str(&b), "http://h/v1/chat");
	buf_reset(&b);
	CHECK(upstream_urlencode(&b, "a b&c=d/é~_.-") == 0);
	CHECK_STR(buf_str(&b), "a%20b%26c%3Dd%2F%C3%A9~_.-");
	buf_free(&b);
	CHECK(upstream_retry_after_ms("5", 1, 0) == 5000);
	CHECK(upstream_retry_after_ms("120", 3, 0) == 120000);
	CHECK(upstream_retry_after_ms("", 0, 0) == -1);
	CHECK(upstream_retry_after_ms("-1", 2, 0) == -1);
	CHECK(upstream_retry_after_ms("soon", 4, 0) == -1);
	/* Wed, 21 Oct 2015 07:28:00 GMT is 1445412480 */
	const char *date = "Wed, 21 Oct 2015 07:28:00 GMT";
	CHECK(upstream_retry_after_ms(date, strlen(date), 1445412477) == 3000);
	CHECK(upstream_retry_after_ms(date, strlen(date), 1445412490) == 0);
	CHECK(upstream_retry_after_ms("99999999999999", 14, 0) > UPSTREAM_RETRY_AFTER_MAX_MS);
	/* a call the client cannot make */
	struct upstream_multi *m =
	    upstream_multi_new(&(struct upstream_loop){loop_watch, loop_timer, NULL});
	struct upstream_req none = {.up = &test_up};
	CHECK(upstream_start(m, &none, NULL) == ERR_INVAL);
	none.url = "http://127.0.0.1:1/";
	CHECK(upstream_start(m, &none, NULL) == ERR_INVAL); /* no on_done */
	CHECK(upstream_multi_count(m) == 0);
	upstream_multi_free(m);
}

int main(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	listen_fd = listen_any(&port);
	CHECK(listen_fd >= 0);
	pthread_t acceptor;
	CHECK(pthread_create(&acceptor, NULL, accept_loop, NULL) == 0);
	helpers();
	two_streams_on_one_loop();
	blocking_basics();
	retries();
	timeouts();
	breaker();
	no_secrets();
	atomic_store(&stopping, true);
	pthread_join(acceptor, NULL);
	close(listen_fd);
	sleep_ms(100); /* the connection threads see the stop */
	curl_global_cleanup();
	return check_done("test_upstream");
}
