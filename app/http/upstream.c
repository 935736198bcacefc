/* http/upstream.c: every outgoing call, over one libcurl multi handle per loop (the blocking
 * form brings its own loop on poll()). Retries only while nothing of an answer has reached the
 * caller, one breaker per upstream, every wait bounded. Must never log or put into a message
 * a URL, a header, a body or libcurl's error buffer (it names hosts and paths): only the
 * upstream's name and label, a code, a status and libcurl's static error texts. */
#include "http/upstream.h"

#include <curl/curl.h>
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/config.h"
#include "core/log.h"
#include "core/rand.h"
#include "core/time.h"

#define BODY_MAX_DEFAULT (1024 * 1024)
#define BACKOFF_MAX_MS   8000
#define POLL_FDS_MAX     64

/* ---- the breaker ------------------------------------------------------------------------ */

enum { CLOSED, OPEN, HALF_OPEN };
enum verdict { NEUTRAL, SUCCESS, FAILURE };

static int threshold(const struct upstream *up)
{
	return up->failures_setting ? (int)config_int(up->failures_setting) : up->failures;
}

static int64_t open_us(const struct upstream *up)
{
	return (up->open_ms_setting ? config_int(up->open_ms_setting) : up->open_ms) * 1000;
}

/* Whether a call may go out now; *probe: it is the one half-open probe, whose outcome must
 * be reported (even NEUTRAL) or every later call fails fast. */
static bool breaker_admit(struct upstream *up, bool *probe)
{
	int64_t now = time_mono_us();
	bool ok = true;
	*probe = false;
	pthread_mutex_lock(&up->lock);
	if (up->state == OPEN && now >= up->open_until_us) {
		up->state = HALF_OPEN;
		up->probing = false;
	}
	if (up->state == OPEN || (up->state == HALF_OPEN && up->probing))
		ok = false;
	else if (up->state == HALF_OPEN)
		*probe = up->probing = true;
	pthread_mutex_unlock(&up->lock);
	return ok;
}

/* A call's outcome. While open or half-open only the probe decides: a call let out before
 * the breaker opened says nothing about now. */
static void breaker_report(struct upstream *up, bool probe, enum verdict v, enum http_err code)
{
	bool opened = false, closed = false;
	pthread_mutex_lock(&up->lock);
	if (v == SUCCESS) {
		if (probe) {
			closed = up->state != CLOSED;
			up->state = CLOSED;
		}
		if (up->state == CLOSED)
			up->count = 0;
	} else if (v == FAILURE &&
	           (probe || (up->state == CLOSED && ++up->count >= threshold(up)))) {
		up->state = OPEN;
		up->open_until_us = time_mono_us() + open_us(up);
		up->count = 0;
		opened = true;
	}
	if (probe)
		up->probing = false;
	pthread_mutex_unlock(&up->lock);
	if (opened) {
		char ms[32];
		snprintf(ms, sizeof ms, "%lld", (long long)(open_us(up) / 1000));
		log_warn("an outside service failed repeatedly; calls to it fail fast for a while",
		         "upstream", up->name, "code", http_err_info(code)->code, "open_ms", ms,
		         NULL);
	} else if (closed) {
		log_info("an outside service answers again", "upstream", up->name, NULL);
	}
}

/* ---- calls and the multi ------------------------------------------------------------------ */

enum call_state {
	C_RUNNING, /* an attempt is in libcurl's hands */
	C_WAITING, /* between attempts, until due_us */
	C_ENDING,  /* ended without libcurl (open breaker, set-up failure): on_done at due_us */
};

/* Owner: its multi, from upstream_start until on_done returned or upstream_cancel. */
struct upstream_call {
	struct upstream_multi *m;
	struct upstream_call *prev, *next;
	struct upstream_req rq;
	void (*done)(void *ctx, struct upstream_res *res);
	void *done_ctx;
	CURL *easy;
	struct curl_slist *headers, *rcpt;
	struct upstream_res res;
	enum call_state state;
	enum verdict verdict;
	bool admitted, probe;
	bool body_seen, body_2xx; /* this attempt: the first body byte came; its status was 2xx */
	bool too_big, idle;
	int stop;           /* what on_data answered when it stopped the call */
	const char *send_p; /* the SMTP upload's next byte */
	size_t send_left;
	int64_t deadline_us;  /* the whole call's end; 0: none */
	int64_t last_byte_us; /* for idle_timeout_ms */
	int64_t due_us;       /* C_WAITING, C_ENDING: when to act */
};

/* Owner: whoever called upstream_multi_new; one thread. */
struct upstream_multi {
	CURLM *multi;
	struct upstream_loop loop;
	struct upstream_call *calls;
	size_t count;
	int64_t curl_due_us; /* libcurl's timer; -1: none */
	int64_t check_us;    /* no call's own deadline is earlier than this; -1: none */
	int64_t armed_us;    /* what the loop's timer is set to; -1: disarmed */
};

static int64_t earliest(int64_t a, int64_t b)
{
	return a < 0 ? b : b < 0 ? a : a < b ? a : b;
}

static void rearm(struct upstream_multi *m)
{
	int64_t due = earliest(m->curl_due_us, m->check_us);
	if (due == m->armed_us)
		return;
	m->armed_us = due;
	if (due < 0) {
		m->loop.timer(m->loop.loop, -1);
		return;
	}
	int64_t left = due - time_mono_us();
	m->loop.timer(m->loop.loop, left <= 0 ? 0 : (long)((left + 999) / 1000));
}

static void note_due(struct upstream_multi *m, int64_t due)
{
	m->check_us = earliest(m->check_us, due);
}

/* libcurl's view of its own next timeout, which its timer callback only reports on change. */
static void refresh_curl_due(struct upstream_multi *m)
{
	long ms = -1;
	if (curl_multi_timeout(m->multi, &ms) == CURLM_OK)
		m->curl_due_us = ms < 0 ? -1 : time_mono_us() + (int64_t)ms * 1000;
}

static int on_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
	(void)easy;
	(void)socketp;
	struct upstream_multi *m = userp;
	int ev = 0;
	if (what != CURL_POLL_REMOVE)
		ev = (what & CURL_POLL_IN ? UPSTREAM_IN : 0) |
		     (what & CURL_POLL_OUT ? UPSTREAM_OUT : 0);
	return m->loop.watch(m->loop.loop, fd, ev) == 0 ? 0 : -1;
}

static int on_timer(CURLM *multi, long ms, void *userp)
{
	(void)multi;
	struct upstream_multi *m = userp;
	m->curl_due_us = ms < 0 ? -1 : time_mono_us() + (int64_t)ms * 1000;
	rearm(m);
	return 0;
}

static void fail(struct upstream_call *c, enum http_err code, enum verdict v, const char *what)
{
	c->res.ok = false;
	c->res.code = code;
	c->verdict = v;
	snprintf(c->res.message, sizeof c->res.message, "%s %s",
	         c->rq.up->label ? c->rq.up->label : "the outside service", what);
}

static bool idempotent(const struct upstream_req *rq)
{
	const char *m = rq->method;
	if (!m)
		return !rq->body || rq->idempotent;
	return strcmp(m, "POST") != 0 && strcmp(m, "PATCH") != 0 ? true : rq->idempotent;
}

static size_t on_header(char *p, size_t size, size_t nmemb, void *ud)
{
	struct upstream_call *c = ud;
	size_t n = size * nmemb;
	c->last_byte_us = time_mono_us();
	if (n >= 5 && memcmp(p, "HTTP/", 5) == 0) {
		buf_reset(&c->res.head); /* a new response head: only the final one is kept */
		return n;
	}
	if (n == 0 || p[0] == '\r' || p[0] == '\n')
		return n;
	if (buf_add(&c->res.head, p, n) != 0) {
		c->too_big = true;
		return 0;
	}
	return n;
}

static size_t on_write(char *p, size_t size, size_t nmemb, void *ud)
{
	struct upstream_call *c = ud;
	size_t n = size * nmemb;
	c->last_byte_us = time_mono_us();
	if (!c->body_seen) {
		long status = 0;
		curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &status);
		c->body_seen = true;
		c->body_2xx = status >= 200 && status < 300;
		buf_free(&c->res.body);
		buf_init(&c->res.body, !c->body_2xx     ? UPSTREAM_ERROR_BODY_MAX
		                       : c->rq.body_max ? c->rq.body_max
		                                        : BODY_MAX_DEFAULT);
	}
	if (!c->body_2xx) {
		if (buf_add(&c->res.body, p, n) != 0)
			c->res.body.max = c->res.body.len; /* an error body is kept only in part */
		return n;
	}
	if (c->rq.on_data) {
		c->res.started = true;
		int rc = n ? c->rq.on_data(c->rq.ctx, p, n) : 0;
		if (rc) {
			c->stop = rc == UPSTREAM_CANCEL ? UPSTREAM_CANCEL : UPSTREAM_BAD;
			return 0; /* makes libcurl end the transfer with CURLE_WRITE_ERROR */
		}
		return n;
	}
	if (buf_add(&c->res.body, p, n) != 0) {
		c->too_big = true;
		return 0;
	}
	return n;
}

static size_t on_read(char *dst, size_t size, size_t nmemb, void *ud)
{
	struct upstream_call *c = ud;
	size_t want = size * nmemb, take = c->send_left < want ? c->send_left : want;
	memcpy(dst, c->send_p, take);
	c->send_p += take;
	c->send_left -= take;
	return take;
}

static void link_call(struct upstream_multi *m, struct upstream_call *c)
{
	c->next = m->calls;
	if (m->calls)
		m->calls->prev = c;
	m->calls = c;
	m->count++;
}

static void unlink_call(struct upstream_call *c)
{
	struct upstream_multi *m = c->m;
	if (c->prev)
		c->prev->next = c->next;
	else
		m->calls = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->prev = c->next = NULL;
	m->count--;
}

static void call_free(struct upstream_call *c)
{
	if (c->easy)
		curl_easy_cleanup(c->easy);
	curl_slist_free_all(c->headers);
	curl_slist_free_all(c->rcpt);
	upstream_res_free(&c->res);
	free(c);
}

static void finish(struct upstream_call *c)
{
	if (c->admitted)
		breaker_report(c->rq.up, c->probe, c->verdict, c->res.code);
	unlink_call(c);
	c->done(c->done_ctx, &c->res);
	call_free(c);
}

/* Ends c without libcurl: on_done comes from the loop, never from the caller's stack. */
static void end_soon(struct upstream_call *c)
{
	c->state = C_ENDING;
	c->due_us = time_mono_us();
	note_due(c->m, c->due_us);
}

static int begin_attempt(struct upstream_call *c)
{
	int64_t now = time_mono_us();
	struct upstream_res *r = &c->res;
	r->ok = false;
	r->status = 0;
	r->code = E_INTERNAL;
	r->message[0] = '\0';
	r->detail = "";
	buf_reset(&r->head);
	buf_reset(&r->body);
	c->body_seen = c->body_2xx = c->too_big = c->idle = false;
	c->send_p = c->rq.body;
	c->send_left = c->rq.body ? c->rq.body_len : 0;
	r->attempts++;
	long total = 0, connect = c->rq.connect_timeout_ms;
	if (c->deadline_us) {
		int64_t left = (c->deadline_us - now + 999) / 1000;
		total = left < 1 ? 1 : (long)left;
		if (!connect || connect > total)
			connect = total;
	}
	curl_easy_setopt(c->easy, CURLOPT_TIMEOUT_MS, total);
	curl_easy_setopt(c->easy, CURLOPT_CONNECTTIMEOUT_MS, connect);
	if (curl_multi_add_handle(c->m->multi, c->easy) != CURLM_OK)
		return ERR_NOMEM;
	c->state = C_RUNNING;
	c->last_byte_us = now;
	if (c->rq.idle_timeout_ms > 0)
		note_due(c->m, now + (int64_t)c->rq.idle_timeout_ms * 1000);
	return 0;
}

/* What the attempt's end means; true when another attempt is worth it. */
static bool classify(struct upstream_call *c, CURLcode cc)
{
	struct upstream_res *r = &c->res;
	long status = 0, sent = 0;
	curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_getinfo(c->easy, CURLINFO_REQUEST_SIZE, &sent);
	r->status = status;
	r->detail = cc == CURLE_OK ? "" : curl_easy_strerror(cc);
	bool idem = idempotent(&c->rq);
	bool unsent = cc == CURLE_COULDNT_CONNECT || cc == CURLE_COULDNT_RESOLVE_HOST ||
	              cc == CURLE_COULDNT_RESOLVE_PROXY ||
	              (cc == CURLE_OPERATION_TIMEDOUT && sent == 0);
	if (c->stop == UPSTREAM_CANCEL) {
		fail(c, E_CANCELLED, NEUTRAL, "call was cancelled by its caller");
		return false;
	}
	if (c->stop == UPSTREAM_BAD) {
		fail(c, E_UPSTREAM_MALFORMED, FAILURE, "sent an answer that cannot be used");
		return false;
	}
	if (c->too_big) {
		fail(c, E_UPSTREAM_MALFORMED, FAILURE, "sent an answer over its size limit");
		return false;
	}
	if (c->idle) {
		fail(c, E_UPSTREAM_TIMEOUT, FAILURE, "went silent");
		return false;
	}
	if (c->rq.mail_from) {
		/* a reply code means the server is up: a refused message is not its failure */
		enum verdict v = status && status != 421 ? SUCCESS : FAILURE;
		if (cc == CURLE_OK) {
			r->ok = true;
			c->verdict = SUCCESS;
		} else if (unsent || (cc == CURLE_OPERATION_TIMEDOUT && !status)) {
			fail(c, E_UPSTREAM_UNAVAILABLE, FAILURE, "cannot be reached");
			return true;
		} else if (cc == CURLE_OPERATION_TIMEDOUT) {
			fail(c, E_UPSTREAM_TIMEOUT, FAILURE, "did not answer in time");
		} else if (cc == CURLE_LOGIN_DENIED) {
			fail(c, E_UPSTREAM_AUTH, v, "refused our credentials");
		} else {
			fail(c, E_UPSTREAM_ERROR, v, status ? "refused the message" : "failed");
		}
		return false;
	}
	bool response = status >= 200; /* a final status line arrived */
	if (response && status < 300) {
		if (cc == CURLE_OK) {
			r->ok = true;
			c->verdict = SUCCESS;
		} else if (cc == CURLE_OPERATION_TIMEDOUT) {
			fail(c, E_UPSTREAM_TIMEOUT, FAILURE, "did not finish answering in time");
		} else {
			fail(c, E_UPSTREAM_CUT, FAILURE, "ended its answer early");
		}
		return false;
	}
	if (response) {
		/* an error status (its body may be cut: it is not used) */
		bool again = idem;
		if (status == 401 || status == 403) {
			fail(c, E_UPSTREAM_AUTH, SUCCESS, "refused our credentials");
			again = false;
		} else if (status == 429) {
			fail(c, E_UPSTREAM_RATE_LIMITED, FAILURE,
			     "is rate limiting us; try again soon");
			again = true; /* the request was not processed */
		} else if (status == 503) {
			fail(c, E_UPSTREAM_UNAVAILABLE, FAILURE, "is unavailable");
			again = true;
		} else if (status == 502 || status == 504) {
			fail(c, E_UPSTREAM_ERROR, FAILURE, "answered with an error");
		} else if (status >= 500) {
			fail(c, E_UPSTREAM_ERROR, FAILURE, "answered with an error");
			again = again && status == 500 && c->rq.retry_500;
		} else {
			/* 3xx, 4xx: the service is up; the request is ours to fix */
			fail(c, E_UPSTREAM_ERROR, SUCCESS, "did not accept the request");
			again = false;
		}
		return again;
	}
	if (cc == CURLE_OPERATION_TIMEDOUT && !unsent) {
		fail(c, E_UPSTREAM_TIMEOUT, FAILURE, "did not answer in time");
		return false;
	}
	fail(c, E_UPSTREAM_UNAVAILABLE, FAILURE, "cannot be reached");
	return unsent || idem; /* refused, reset, or closed before any byte of an answer */
}

static long long retry_after(const struct upstream_call *c)
{
	size_t n;
	const char *v = upstream_header(&c->res, "Retry-After", &n);
	return v ? upstream_retry_after_ms(v, n, time_now_us() / 1000000) : -1;
}

/* Puts c to wait for its next attempt; false when none fits (count, Retry-After, time). */
static bool schedule_retry(struct upstream_call *c)
{
	if (c->res.started || c->res.attempts > c->rq.retries)
		return false;
	long long wait = (long long)UPSTREAM_BACKOFF_MS
	                 << (c->res.attempts - 1 < 6 ? c->res.attempts - 1 : 6);
	if (wait > BACKOFF_MAX_MS)
		wait = BACKOFF_MAX_MS;
	unsigned short r;
	if (rand_bytes(&r, sizeof r) == 0)
		wait =
		    wait / 2 + r % (wait / 2 + 1); /* jitter: many callers do not retry in step */
	long long after = c->res.status == 429 || c->res.status == 503 ? retry_after(c) : -1;
	if (after > UPSTREAM_RETRY_AFTER_MAX_MS)
		return false;
	if (after > wait)
		wait = after;
	int64_t now = time_mono_us(), due = now + wait * 1000;
	if (c->deadline_us && due >= c->deadline_us)
		return false;
	char attempt[16];
	snprintf(attempt, sizeof attempt, "%d", c->res.attempts);
	log_debug("retrying an outside call", "upstream", c->rq.up->name, "attempt", attempt,
	          "code", http_err_info(c->res.code)->code, NULL);
	c->state = C_WAITING;
	c->due_us = due;
	note_due(c->m, due);
	return true;
}

/* The attempt is out of libcurl (removed from the multi): another one, or the end. */
static void attempt_ended(struct upstream_call *c, CURLcode cc)
{
	if (classify(c, cc) && schedule_retry(c))
		return;
	finish(c);
}

static void reap(struct upstream_multi *m)
{
	CURLMsg *msg;
	int left;
	while ((msg = curl_multi_info_read(m->multi, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		char *priv = NULL;
		CURLcode cc = msg->data.result;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
		struct upstream_call *c = (struct upstream_call *)priv;
		curl_multi_remove_handle(m->multi, c->easy); /* msg is gone from here on */
		attempt_ended(c, cc);
	}
}

/* Acts on every call whose own deadline has come (idle, retry wait, ending), and finds the
 * next such deadline. A callback may start calls, so the scan restarts after each act. */
static void check_calls(struct upstream_multi *m)
{
	int64_t now = time_mono_us();
again:
	m->check_us = -1;
	for (struct upstream_call *c = m->calls; c; c = c->next) {
		int64_t due = c->state != C_RUNNING ? c->due_us
		              : c->rq.idle_timeout_ms > 0
		                  ? c->last_byte_us + (int64_t)c->rq.idle_timeout_ms * 1000
		                  : -1;
		if (due < 0)
			continue;
		if (due > now) {
			note_due(m, due);
			continue;
		}
		if (c->state == C_RUNNING) {
			curl_multi_remove_handle(m->multi, c->easy);
			c->idle = true;
			attempt_ended(c, CURLE_OPERATION_TIMEDOUT);
		} else if (c->state == C_WAITING && begin_attempt(c) == 0) {
			/* running again */
		} else {
			if (c->state == C_WAITING)
				fail(c, E_UNAVAILABLE, NEUTRAL,
				     "could not be called (out of memory)");
			finish(c);
		}
		goto again;
	}
}

struct upstream_multi *upstream_multi_new(const struct upstream_loop *loop)
{
	struct upstream_multi *m = calloc(1, sizeof *m);
	if (!m || !(m->multi = curl_multi_init())) {
		free(m);
		return NULL;
	}
	m->loop = *loop;
	m->curl_due_us = m->check_us = m->armed_us = -1;
	curl_multi_setopt(m->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
	curl_multi_setopt(m->multi, CURLMOPT_SOCKETDATA, m);
	curl_multi_setopt(m->multi, CURLMOPT_TIMERFUNCTION, on_timer);
	curl_multi_setopt(m->multi, CURLMOPT_TIMERDATA, m);
	return m;
}

void upstream_cancel(struct upstream_call *c)
{
	struct upstream_multi *m = c->m;
	if (c->state == C_RUNNING)
		curl_multi_remove_handle(m->multi, c->easy);
	if (c->admitted)
		breaker_report(c->rq.up, c->probe, NEUTRAL, E_CANCELLED);
	unlink_call(c);
	call_free(c);
	refresh_curl_due(m);
	rearm(m);
}

void upstream_multi_free(struct upstream_multi *m)
{
	if (!m)
		return;
	while (m->calls)
		upstream_cancel(m->calls);
	curl_multi_cleanup(m->multi); /* may still ask the loop to stop watching sockets */
	if (m->armed_us >= 0)
		m->loop.timer(m->loop.loop, -1);
	free(m);
}

void upstream_multi_socket(struct upstream_multi *m, int fd, int events)
{
	int ev = (events & UPSTREAM_IN ? CURL_CSELECT_IN : 0) |
	         (events & UPSTREAM_OUT ? CURL_CSELECT_OUT : 0) |
	         (events & UPSTREAM_ERR ? CURL_CSELECT_ERR : 0);
	int running;
	curl_multi_socket_action(m->multi, fd, ev, &running);
	reap(m);
	refresh_curl_due(m);
	rearm(m);
}

void upstream_multi_timeout(struct upstream_multi *m)
{
	int64_t now = time_mono_us();
	m->armed_us = -1; /* the loop's timer fired: it is one-shot */
	if (m->curl_due_us >= 0 && m->curl_due_us <= now) {
		int running;
		curl_multi_socket_action(m->multi, CURL_SOCKET_TIMEOUT, 0, &running);
		reap(m);
	}
	if (m->check_us >= 0 && m->check_us <= now)
		check_calls(m);
	refresh_curl_due(m);
	rearm(m);
}

size_t upstream_multi_count(const struct upstream_multi *m)
{
	return m->count;
}

/* The libcurl handle of a call, options that hold for every attempt. */
static int setup(struct upstream_call *c)
{
	const struct upstream_req *rq = &c->rq;
	CURL *e = c->easy = curl_easy_init();
	if (!e)
		return ERR_NOMEM;
	curl_easy_setopt(e, CURLOPT_PRIVATE, (char *)c);
	curl_easy_setopt(e, CURLOPT_URL, rq->url);
	/* answers come in small pieces (a model's stream) or are small: libcurl's 16 KiB receive
	 * buffer per call added up to most of a streamed reply's memory with thousands at once */
	curl_easy_setopt(e, CURLOPT_BUFFERSIZE, 4096L);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	/* a call cancelled during its DNS lookup must not wait for getaddrinfo(): the resolver
	 * thread is left to finish and clean up after itself */
	curl_easy_setopt(e, CURLOPT_QUICK_EXIT, 1L);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, c);
	if (rq->user) {
		curl_easy_setopt(e, CURLOPT_USERNAME, rq->user);
		curl_easy_setopt(e, CURLOPT_PASSWORD, rq->password ? rq->password : "");
	}
	if (rq->mail_from) {
		for (const char *const *t = rq->mail_rcpt; t && *t; t++) {
			struct curl_slist *n = curl_slist_append(c->rcpt, *t);
			if (!n)
				return ERR_NOMEM;
			c->rcpt = n;
		}
		curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
		curl_easy_setopt(e, CURLOPT_MAIL_FROM, rq->mail_from);
		curl_easy_setopt(e, CURLOPT_MAIL_RCPT, c->rcpt);
		curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(e, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(e, CURLOPT_READDATA, c);
		curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE,
		                 (curl_off_t)(rq->body ? rq->body_len : 0));
		/* smtp:// upgrades with STARTTLS when the server offers it; smtps:// is TLS
		 * throughout */
		curl_easy_setopt(e, CURLOPT_USE_SSL, (long)CURLUSESSL_TRY);
		return 0;
	}
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, c);
	if (rq->user)
		curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
	for (const char *const *h = rq->headers; h && *h; h++) {
		struct curl_slist *n = curl_slist_append(c->headers, *h);
		if (!n)
			return ERR_NOMEM;
		c->headers = n;
	}
	if (rq->body) {
		/* no "Expect: 100-continue" round trip for large bodies */
		struct curl_slist *n = curl_slist_append(c->headers, "Expect:");
		if (!n)
			return ERR_NOMEM;
		c->headers = n;
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, rq->body);
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)rq->body_len);
	}
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, c->headers);
	if (rq->method && strcmp(rq->method, "HEAD") == 0)
		curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
	else if (rq->method && strcmp(rq->method, "GET") != 0 && strcmp(rq->method, "POST") != 0)
		curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, rq->method);
	else if (rq->method && strcmp(rq->method, "POST") == 0 && !rq->body)
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, "");
	return 0;
}

static int start_call(struct upstream_multi *m, const struct upstream_req *rq,
                      void (*done)(void *, struct upstream_res *), void *done_ctx,
                      struct upstream_call **out)
{
	if (out)
		*out = NULL;
	if (!rq->url || !rq->up || !done)
		return ERR_INVAL;
	struct upstream_call *c = calloc(1, sizeof *c);
	if (!c)
		return ERR_NOMEM;
	c->m = m;
	c->rq = *rq;
	c->done = done;
	c->done_ctx = done_ctx;
	buf_init(&c->res.head, UPSTREAM_HEAD_MAX);
	buf_init(&c->res.body, UPSTREAM_ERROR_BODY_MAX);
	c->res.detail = "";
	if (rq->timeout_ms > 0)
		c->deadline_us = time_mono_us() + (int64_t)rq->timeout_ms * 1000;
	if (setup(c) != 0) {
		call_free(c);
		return ERR_NOMEM;
	}
	link_call(m, c);
	if (!breaker_admit(rq->up, &c->probe)) {
		fail(c, E_UPSTREAM_UNAVAILABLE, NEUTRAL,
		     "failed repeatedly; calls to it fail fast for a while");
		c->res.breaker_open = true;
		end_soon(c);
	} else {
		c->admitted = true;
		if (begin_attempt(c) != 0) {
			fail(c, E_UNAVAILABLE, NEUTRAL, "could not be called (out of memory)");
			end_soon(c);
		}
	}
	if (out)
		*out = c;
	refresh_curl_due(m);
	rearm(m);
	return 0;
}

int upstream_start(struct upstream_multi *m, const struct upstream_req *rq,
                   struct upstream_call **out)
{
	return start_call(m, rq, rq->on_done, rq->ctx, out);
}

void upstream_res_free(struct upstream_res *res)
{
	buf_free(&res->head);
	buf_free(&res->body);
}

/* ---- the blocking form: the same engine on a private poll() loop ------------------------- */

struct pollset {
	struct pollfd fds[POLL_FDS_MAX];
	size_t n;
	int64_t due_us; /* the multi's timer; -1: none */
};

static int ps_watch(void *loop, int fd, int events)
{
	struct pollset *ps = loop;
	size_t i = 0;
	while (i < ps->n && ps->fds[i].fd != fd)
		i++;
	if (!events) {
		if (i < ps->n)
			ps->fds[i] = ps->fds[--ps->n];
		return 0;
	}
	if (i == ps->n) {
		if (ps->n == POLL_FDS_MAX)
			return -1;
		ps->n++;
	}
	ps->fds[i] = (struct pollfd){.fd = fd,
	                             .events = (short)((events & UPSTREAM_IN ? POLLIN : 0) |
	                                               (events & UPSTREAM_OUT ? POLLOUT : 0))};
	return 0;
}

static void ps_timer(void *loop, long ms)
{
	struct pollset *ps = loop;
	ps->due_us = ms < 0 ? -1 : time_mono_us() + (int64_t)ms * 1000;
}

struct waiter {
	struct upstream_res *out;
	bool done;
};

static void waiter_done(void *ctx, struct upstream_res *res)
{
	struct waiter *w = ctx;
	*w->out = *res;
	buf_init(&res->head, 0); /* the buffers now belong to the waiter's caller */
	buf_init(&res->body, 0);
	w->done = true;
}

int upstream_perform(const struct upstream_req *rq, struct upstream_res *res)
{
	memset(res, 0, sizeof *res);
	res->detail = "";
	struct pollset ps = {.n = 0, .due_us = -1};
	struct upstream_loop loop = {ps_watch, ps_timer, &ps};
	struct waiter w = {res, false};
	struct upstream_multi *m = upstream_multi_new(&loop);
	struct upstream_call *c = NULL;
	if (!m || start_call(m, rq, waiter_done, &w, &c) != 0) {
		upstream_multi_free(m);
		res->code = E_UNAVAILABLE;
		snprintf(res->message, sizeof res->message,
		         "the outside call could not be made (out of memory)");
		return ERR_IO;
	}
	int64_t tick_us = (rq->tick_ms > 0 ? rq->tick_ms : UPSTREAM_TICK_MS) * 1000;
	int64_t next_tick = time_mono_us() + tick_us;
	while (!w.done) {
		int64_t now = time_mono_us();
		int64_t wake = earliest(rq->on_tick ? next_tick : -1, ps.due_us);
		/* a second at most: a lost timer would cost a second, never a hang */
		int64_t left = wake < 0 ? 1000000 : wake - now;
		int ms = left <= 0 ? 0 : left > 1000000 ? 1000 : (int)((left + 999) / 1000);
		struct pollfd ready[POLL_FDS_MAX];
		size_t nready = 0;
		if (poll(ps.fds, ps.n, ms) > 0) {
			/* the set changes while libcurl acts on a socket: act on a copy */
			for (size_t i = 0; i < ps.n; i++)
				if (ps.fds[i].revents)
					ready[nready++] = ps.fds[i];
		}
		for (size_t i = 0; i < nready && !w.done; i++) {
			short re = ready[i].revents;
			upstream_multi_socket(
			    m, ready[i].fd,
			    (re & POLLIN ? UPSTREAM_IN : 0) | (re & POLLOUT ? UPSTREAM_OUT : 0) |
			        (re & (POLLERR | POLLHUP | POLLNVAL) ? UPSTREAM_ERR : 0));
		}
		if (!w.done && ps.due_us >= 0 && time_mono_us() >= ps.due_us) {
			ps.due_us = -1;
			upstream_multi_timeout(m);
		}
		if (!w.done && rq->on_tick && time_mono_us() >= next_tick) {
			next_tick = time_mono_us() + tick_us;
			if (rq->on_tick(rq->ctx) != 0) {
				bool started = c->res.started;
				int attempts = c->res.attempts;
				upstream_cancel(c);
				res->started = started;
				res->attempts = attempts;
				res->code = E_CANCELLED;
				snprintf(res->message, sizeof res->message, "the caller went away");
				break;
			}
		}
	}
	upstream_multi_free(m);
	return res->ok ? 0 : ERR_IO;
}

/* ---- helpers -------------------------------------------------------------------------------- */

const char *upstream_header(const struct upstream_res *res, const char *name, size_t *len)
{
	size_t nlen = strlen(name);
	const char *p = res->head.ptr, *end = p ? p + res->head.len : NULL;
	while (p && p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *next = eol ? eol + 1 : end;
		if (!eol)
			eol = end;
		if ((size_t)(eol - p) > nlen && p[nlen] == ':' && strncasecmp(p, name, nlen) == 0) {
			const char *v = p + nlen + 1;
			while (v < eol && (*v == ' ' || *v == '\t'))
				v++;
			const char *ve = eol;
			while (ve > v && (ve[-1] == '\r' || ve[-1] == ' ' || ve[-1] == '\t'))
				ve--;
			if (len)
				*len = (size_t)(ve - v);
			return v;
		}
		p = next;
	}
	return NULL;
}

int upstream_url(struct buf *out, const char *base, const char *path)
{
	size_t n = strlen(base);
	while (n && base[n - 1] == '/')
		n--;
	int rc = buf_add(out, base, n);
	return rc ? rc : buf_adds(out, path);
}

int upstream_urlencode(struct buf *out, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	int rc = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p && !rc; p++) {
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '.' || *p == '~') {
			rc = buf_addc(out, (char)*p);
		} else {
			char esc[3] = {'%', hex[*p >> 4], hex[*p & 15]};
			rc = buf_add(out, esc, 3);
		}
	}
	return rc;
}

long long upstream_retry_after_ms(const char *v, size_t n, int64_t now_unix_s)
{
	if (n == 0 || n >= 64)
		return -1;
	char s[64];
	memcpy(s, v, n);
	s[n] = '\0';
	if (strspn(s, "0123456789") == n) {
		if (n > 9)
			return 1000LL * 999999999; /* far beyond any cap */
		return atoll(s) * 1000;
	}
	struct tm tm = {0};
	const char *end = strptime(s, "%a, %d %b %Y %H:%M:%S GMT", &tm);
	if (!end || *end)
		return -1;
	int64_t at = (int64_t)timegm(&tm);
	return at <= now_unix_s ? 0 : (at - now_unix_s) * 1000;
}
