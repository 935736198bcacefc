/* llm/client.c: POST {LLM_BASE_URL}/chat/completions with stream: true through libcurl,
 * the reply read as Server-Sent Events while it arrives. Retries only before the first
 * byte of a reply, a circuit breaker in front, and every wait bounded. Must never put the
 * API key or an upstream body into a message or a log line. */
#include <curl/curl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/config.h"
#include "core/json.h"
#include "core/log.h"
#include "core/time.h"
#include "llm/internal.h"

/* The breaker: after LLM_BREAKER_FAILURES failed calls in a row, calls fail at once for
 * LLM_BREAKER_OPEN_MS; then calls are let through again. */
static atomic_int failures;
static _Atomic int64_t open_until_us;

struct stream {
	const struct llm_call *c;
	struct llm_result *res;
	CURL *easy;
	struct sse sse;
	long http;
	bool done;      /* [DONE] or a finish_reason: the reply is whole */
	bool cancelled; /* on_delta or on_tick asked to stop */
	bool malformed;
	int64_t last_byte_us;
};

/* Whether a real model is configured (else the demo responder answers). */
static bool configured(void)
{
	return *config_str("LLM_BASE_URL") != '\0';
}

void llm_fail(struct llm_result *res, enum llm_status status, enum http_err code, const char *message)
{
	res->status = status;
	res->code = code;
	snprintf(res->message, sizeof res->message, "%s", message);
}

/* One event's data: a chat.completion.chunk, [DONE], or an error object. */
static int on_event(void *ctx, const char *data, size_t n)
{
	struct stream *s = ctx;
	if (n == 6 && memcmp(data, "[DONE]", 6) == 0) {
		s->done = true;
		return 0;
	}
	char first[8192];
	struct arena a;
	arena_init(&a, 4 * 1024 * 1024, first, sizeof first);
	struct json *root;
	struct json_error err;
	int rc = 0;
	if (json_parse(&a, data, n, NULL, &root, &err) != 0 || root->type != JSON_OBJECT) {
		s->malformed = true;
		rc = 1;
	} else if (json_get(root, "error")) {
		llm_fail(s->res, LLM_UPSTREAM, E_UPSTREAM_ERROR, "the model server reported an error mid-stream");
		rc = 1;
	} else {
		const struct json *usage = json_get(root, "usage");
		const struct json *pt = json_get(usage, "prompt_tokens"), *ct = json_get(usage, "completion_tokens");
		if (pt && pt->is_int)
			s->res->prompt_tokens = (long)pt->integer;
		if (ct && ct->is_int)
			s->res->completion_tokens = (long)ct->integer;
		const struct json *choices = json_get(root, "choices");
		const struct json *choice = choices && choices->type == JSON_ARRAY ? choices->child : NULL;
		const struct json *delta = json_get(choice, "delta");
		const struct json *content = json_get(delta, "content");
		const struct json *finish = json_get(choice, "finish_reason");
		if (choices && choices->type != JSON_ARRAY) {
			s->malformed = true;
			rc = 1;
		} else if (content && content->type == JSON_STRING && content->len > 0) {
			s->res->started = true;
			if (s->c->on_delta(s->c->ctx, content->str, content->len) != 0) {
				s->cancelled = true;
				rc = 1;
			}
		}
		if (finish && finish->type == JSON_STRING)
			s->done = true;
	}
	arena_free(&a);
	return rc;
}

static size_t on_body(char *p, size_t size, size_t nmemb, void *ud)
{
	struct stream *s = ud;
	size_t n = size * nmemb;
	s->last_byte_us = time_mono_us();
	if (!s->http)
		curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &s->http);
	if (s->http != 200)
		return n; /* an error body: read and dropped, only the status is used */
	int rc = sse_feed(&s->sse, p, n);
	if (rc == ERR_TOOBIG)
		s->malformed = true;
	return rc ? 0 : n; /* 0 makes curl stop */
}

/* The request body: model, messages, stream with usage. */
static int request_json(const struct llm_call *c, struct buf *out)
{
	struct jw w;
	jw_init(&w, out);
	jw_obj(&w);
	jw_kstr(&w, "model", c->model && *c->model ? c->model : config_str("LLM_MODEL"));
	jw_key(&w, "messages");
	jw_arr(&w);
	for (size_t i = 0; i < c->nmsgs; i++) {
		jw_obj(&w);
		jw_kstr(&w, "role", c->msgs[i].role);
		jw_kstr(&w, "content", c->msgs[i].content);
		jw_obj_end(&w);
	}
	jw_arr_end(&w);
	jw_kbool(&w, "stream", true);
	jw_key(&w, "stream_options");
	jw_obj(&w);
	jw_kbool(&w, "include_usage", true);
	jw_obj_end(&w);
	jw_obj_end(&w);
	return jw_finish(&w);
}

/* One attempt. Returns true when it is worth another (nothing was delivered and the
 * failure may pass: no connection, 429, 5xx). */
static bool attempt(const struct llm_call *c, const char *body, struct curl_slist *headers, struct llm_result *res)
{
	struct stream s = {.c = c, .res = res, .last_byte_us = time_mono_us()};
	sse_init(&s.sse, on_event, &s);
	char url[2048];
	const char *base = config_str("LLM_BASE_URL");
	size_t blen = strlen(base);
	while (blen && base[blen - 1] == '/')
		blen--;
	snprintf(url, sizeof url, "%.*s/chat/completions", (int)blen, base);
	s.easy = curl_easy_init();
	CURLM *m = curl_multi_init();
	if (!s.easy || !m) {
		llm_fail(res, LLM_UNAVAILABLE, E_LLM_UNAVAILABLE, "out of memory for the model call");
		goto out;
	}
	curl_easy_setopt(s.easy, CURLOPT_URL, url);
	curl_easy_setopt(s.easy, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(s.easy, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(s.easy, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(s.easy, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(s.easy, CURLOPT_WRITEDATA, &s);
	curl_easy_setopt(s.easy, CURLOPT_CONNECTTIMEOUT_MS, (long)config_int("LLM_CONNECT_TIMEOUT_MS"));
	curl_easy_setopt(s.easy, CURLOPT_NOSIGNAL, 1L);
	curl_multi_add_handle(m, s.easy);
	int64_t idle_us = config_int("LLM_IDLE_TIMEOUT_MS") * 1000;
	int running = 1;
	while (running) {
		if (curl_multi_perform(m, &running) != CURLM_OK)
			break;
		if (!running || s.cancelled)
			break;
		curl_multi_poll(m, NULL, 0, LLM_TICK_MS, NULL);
		if (c->on_tick && c->on_tick(c->ctx) != 0) {
			s.cancelled = true;
			break;
		}
		if (time_mono_us() - s.last_byte_us > idle_us) {
			llm_fail(res, LLM_TIMEOUT, E_UPSTREAM_TIMEOUT, "the model server went silent");
			break;
		}
	}
	CURLcode cc = CURLE_OK;
	for (CURLMsg *msg; (msg = curl_multi_info_read(m, &running)) != NULL;)
		if (msg->msg == CURLMSG_DONE)
			cc = msg->data.result;
	if (!s.http)
		curl_easy_getinfo(s.easy, CURLINFO_RESPONSE_CODE, &s.http);
	if (s.cancelled) {
		llm_fail(res, LLM_CANCELLED, E_CANCELLED, "the caller went away");
	} else if (res->status != LLM_OK) {
		/* set above (timeout, error event) */
	} else if (s.malformed) {
		llm_fail(res, LLM_UPSTREAM, E_UPSTREAM_MALFORMED, "the model server sent a malformed stream");
	} else if (s.http == 401 || s.http == 403) {
		llm_fail(res, LLM_UPSTREAM, E_UPSTREAM_AUTH, "the model server refused the API key (LLM_API_KEY)");
	} else if (s.http == 429) {
		llm_fail(res, LLM_UNAVAILABLE, E_UPSTREAM_RATE_LIMITED, "the model server is rate limiting us; try again soon");
	} else if (s.http >= 500) {
		llm_fail(res, LLM_UPSTREAM, E_UPSTREAM_ERROR, "the model server failed");
	} else if (s.http && s.http != 200) {
		llm_fail(res, LLM_UPSTREAM, E_UPSTREAM_ERROR, "the model server did not accept the request");
	} else if (cc == CURLE_COULDNT_CONNECT || cc == CURLE_COULDNT_RESOLVE_HOST || cc == CURLE_OPERATION_TIMEDOUT ||
	           (cc != CURLE_OK && !s.http)) {
		llm_fail(res, LLM_UNAVAILABLE, E_LLM_UNAVAILABLE, "the model server cannot be reached");
	} else if (!s.done) {
		llm_fail(res, LLM_UPSTREAM, E_UPSTREAM_CUT, "the model server ended the stream early");
	}
out:
	if (m && s.easy)
		curl_multi_remove_handle(m, s.easy);
	curl_easy_cleanup(s.easy);
	curl_multi_cleanup(m);
	sse_free(&s.sse);
	return !res->started && res->status != LLM_OK && res->status != LLM_CANCELLED &&
	       (res->status == LLM_UNAVAILABLE || s.http >= 500);
}

/* Waits ms while letting the caller cancel; true when cancelled. */
static bool pause_ms(const struct llm_call *c, long ms)
{
	for (long waited = 0; waited < ms; waited += LLM_TICK_MS) {
		struct timespec ts = {0, (ms - waited < LLM_TICK_MS ? ms - waited : LLM_TICK_MS) * 1000000L};
		nanosleep(&ts, NULL);
		if (c->on_tick && c->on_tick(c->ctx) != 0)
			return true;
	}
	return false;
}

void llm_complete(const struct llm_call *c, struct llm_result *res)
{
	memset(res, 0, sizeof *res);
	res->prompt_tokens = res->completion_tokens = -1;
	if (!configured()) {
		llm_demo(c, res);
		return;
	}
	int64_t now = time_mono_us();
	if (atomic_load(&open_until_us) > now) {
		llm_fail(res, LLM_UNAVAILABLE, E_LLM_UNAVAILABLE, "the model server failed repeatedly; retrying it shortly");
		return;
	}
	struct buf body = BUF_INIT(8 * 1024 * 1024);
	struct buf auth = BUF_INIT(4096);
	struct curl_slist *headers = curl_slist_append(NULL, "Content-Type: application/json");
	headers = headers ? curl_slist_append(headers, "Accept: text/event-stream") : NULL;
	const char *key = config_str("LLM_API_KEY");
	if (headers && *key && buf_printf(&auth, "Authorization: Bearer %s", key) == 0)
		headers = curl_slist_append(headers, buf_str(&auth));
	if (!headers || request_json(c, &body) != 0) {
		llm_fail(res, LLM_UNAVAILABLE, E_LLM_UNAVAILABLE, "the model request could not be built");
	} else {
		long retries = (long)config_int("LLM_RETRIES");
		for (long i = 0; attempt(c, buf_str(&body), headers, res) && i < retries; i++) {
			if (pause_ms(c, 250L << i)) {
				llm_fail(res, LLM_CANCELLED, E_CANCELLED, "the caller went away");
				break;
			}
			memset(res, 0, sizeof *res);
			res->prompt_tokens = res->completion_tokens = -1;
		}
	}
	if (res->status == LLM_UNAVAILABLE || res->status == LLM_UPSTREAM || res->status == LLM_TIMEOUT) {
		if (atomic_fetch_add(&failures, 1) + 1 >= config_int("LLM_BREAKER_FAILURES")) {
			atomic_store(&open_until_us, time_mono_us() + config_int("LLM_BREAKER_OPEN_MS") * 1000);
			atomic_store(&failures, 0);
			log_warn("the model server failed repeatedly; calls fail fast for LLM_BREAKER_OPEN_MS", "code",
			         http_err_info(res->code)->code, NULL);
		}
	} else if (res->status == LLM_OK) {
		atomic_store(&failures, 0);
	}
	curl_slist_free_all(headers);
	buf_free(&body);
	buf_free(&auth);
}
