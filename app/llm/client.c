/* llm/client.c: POST {LLM_BASE_URL}/chat/completions with stream: true through the upstream
 * client (http/upstream.h), the reply read as Server-Sent Events while it arrives. The client
 * brings the timeouts, the retries before the first byte and the "llm" circuit breaker; this
 * file speaks the model's wire format. Must never put the API key or an upstream body into a
 * message or a log line. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/json.h"
#include "http/loop.h"
#include "http/upstream.h"
#include "llm/internal.h"

/* LLM_BREAKER_FAILURES failed calls in a row open it for LLM_BREAKER_OPEN_MS. */
static struct upstream model =
    UPSTREAM_DEFINE("llm", "the model server", "LLM_BREAKER_FAILURES", "LLM_BREAKER_OPEN_MS", 0, 0);

struct stream {
	const struct llm_call *c;
	struct llm_result *res;
	struct sse sse;
	bool done;      /* [DONE] or a finish_reason: the reply is whole */
	bool cancelled; /* on_delta asked to stop */
	bool malformed;
	bool error_event; /* the server reported an error inside the stream */
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
		s->error_event = true;
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

/* The 2xx body as it arrives: fed to the SSE reader, whose events go to on_event. */
static int on_data(void *ctx, const char *p, size_t n)
{
	struct stream *s = ctx;
	int rc = sse_feed(&s->sse, p, n);
	if (rc == 0)
		return UPSTREAM_CONTINUE;
	if (s->cancelled)
		return UPSTREAM_CANCEL;
	if (rc == ERR_TOOBIG)
		s->malformed = true;
	return UPSTREAM_BAD;
}

/* How the call ended, in llm's words: the stream's own verdict first, then the client's. */
static void outcome(const struct stream *s, int rc, const struct upstream_res *u,
                    struct llm_result *res)
{
	enum http_err code = u->code;
	const char *message = u->message;
	if (s->cancelled || (rc && code == E_CANCELLED)) {
		llm_fail(res, LLM_CANCELLED, E_CANCELLED, "the caller went away");
		return;
	}
	if (s->error_event) {
		llm_fail(res, LLM_UPSTREAM, E_UPSTREAM_ERROR,
		         "the model server reported an error mid-stream");
		return;
	}
	if (s->malformed) {
		llm_fail(res, LLM_UPSTREAM, E_UPSTREAM_MALFORMED, "the model server sent a malformed stream");
		return;
	}
	if (!rc) {
		if (!s->done)
			llm_fail(res, LLM_UPSTREAM, E_UPSTREAM_CUT,
			         "the model server ended the stream early");
		return;
	}
	if (u->breaker_open) {
		code = E_LLM_UNAVAILABLE;
		message = "the model server failed repeatedly; retrying it shortly";
	} else if (code == E_UPSTREAM_UNAVAILABLE && u->status == 0) {
		code = E_LLM_UNAVAILABLE; /* nobody answered at all */
	} else if (code == E_UPSTREAM_AUTH) {
		message = "the model server refused the API key (LLM_API_KEY)";
	}
	int status = http_err_info(code)->status;
	llm_fail(res,
	         status == 503   ? LLM_UNAVAILABLE
	         : status == 504 ? LLM_TIMEOUT
	                         : LLM_UPSTREAM,
	         code, message);
}

/* What one call to the model needs kept until it ends. */
struct request {
	struct buf body, auth, url;
	const char *headers[4];
};

static void request_free(struct request *q)
{
	if (q->auth.ptr)
		memset(q->auth.ptr, 0, q->auth.len);
	buf_free(&q->auth);
	buf_free(&q->body);
	buf_free(&q->url);
}

/* The request for c, and the upstream call's settings around it (timeouts, retries). */
static int request_build(const struct llm_call *c, struct request *q, struct stream *s, struct upstream_req *rq)
{
	buf_init(&q->body, 8 * 1024 * 1024);
	buf_init(&q->auth, 4096);
	buf_init(&q->url, 4096);
	const char *key = config_str("LLM_API_KEY");
	q->headers[0] = "Content-Type: application/json";
	q->headers[1] = "Accept: text/event-stream";
	q->headers[2] = q->headers[3] = NULL;
	if (*key && buf_printf(&q->auth, "Authorization: Bearer %s", key) == 0)
		q->headers[2] = buf_str(&q->auth);
	if ((*key && !q->headers[2]) || request_json(c, &q->body) != 0 ||
	    upstream_url(&q->url, config_str("LLM_BASE_URL"), "/chat/completions") != 0)
		return ERR_NOMEM;
	*rq = (struct upstream_req){
	    .up = &model,
	    .url = buf_str(&q->url),
	    .headers = q->headers,
	    .body = q->body.ptr,
	    .body_len = q->body.len,
	    .connect_timeout_ms = (long)config_int("LLM_CONNECT_TIMEOUT_MS"),
	    .idle_timeout_ms = (long)config_int("LLM_IDLE_TIMEOUT_MS"),
	    .retries = (int)config_int("LLM_RETRIES"),
	    .idempotent = true, /* a completion changes nothing upstream: sending it twice is safe */
	    .retry_500 = true,  /* OpenAI-compatible servers answer 500 for passing trouble */
	    .on_data = on_data,
	    .ctx = s,
	};
	return 0;
}

void llm_complete(const struct llm_call *c, struct llm_result *res)
{
	memset(res, 0, sizeof *res);
	res->prompt_tokens = res->completion_tokens = -1;
	if (!configured()) {
		llm_demo(c, res);
		return;
	}
	struct request q;
	struct stream s = {.c = c, .res = res};
	struct upstream_req rq;
	if (request_build(c, &q, &s, &rq) != 0) {
		llm_fail(res, LLM_UNAVAILABLE, E_LLM_UNAVAILABLE, "the model request could not be built");
		request_free(&q);
		return;
	}
	sse_init(&s.sse, on_event, &s);
	struct upstream_res u;
	int rc = upstream_perform(&rq, &u);
	outcome(&s, rc, &u, res);
	upstream_res_free(&u);
	sse_free(&s.sse);
	request_free(&q);
}

/* One call on the loop. Owned by the loop thread until on_end ran or llm_cancel freed it. */
struct llm_run {
	struct llm_call c;
	void (*on_end)(void *ctx, const struct llm_result *res);
	struct llm_result res;
	struct stream s;
	struct request q;
	struct upstream_call *call;
	struct demo_run *demo;
};

static void run_free(struct llm_run *run)
{
	if (!run->demo) {
		sse_free(&run->s.sse);
		request_free(&run->q);
	}
	free(run);
}

static void run_done(void *ctx, struct upstream_res *u)
{
	struct llm_run *run = (struct llm_run *)((char *)ctx - offsetof(struct llm_run, s));
	outcome(&run->s, u->ok ? 0 : ERR_IO, u, &run->res);
	run->on_end(run->c.ctx, &run->res);
	run_free(run);
}

static void demo_done(void *ctx, const struct llm_result *res)
{
	struct llm_run *run = ctx;
	run->on_end(run->c.ctx, res);
	free(run);
}

struct llm_run *llm_start(const struct llm_call *c, void (*on_end)(void *ctx, const struct llm_result *res),
                          struct llm_result *failed)
{
	memset(failed, 0, sizeof *failed);
	failed->prompt_tokens = failed->completion_tokens = -1;
	struct llm_run *run = calloc(1, sizeof *run);
	if (!run) {
		llm_fail(failed, LLM_UNAVAILABLE, E_LLM_UNAVAILABLE, "out of memory for the model call");
		return NULL;
	}
	run->c = *c;
	run->on_end = on_end;
	run->res.prompt_tokens = run->res.completion_tokens = -1;
	if (!configured()) {
		run->demo = llm_demo_start(&run->c, demo_done, run, failed);
		if (!run->demo) {
			free(run);
			return NULL;
		}
		return run;
	}
	run->s.c = &run->c;
	run->s.res = &run->res;
	sse_init(&run->s.sse, on_event, &run->s);
	struct upstream_req rq;
	if (request_build(&run->c, &run->q, &run->s, &rq) != 0) {
		llm_fail(failed, LLM_UNAVAILABLE, E_LLM_UNAVAILABLE, "the model request could not be built");
		run_free(run);
		return NULL;
	}
	rq.on_done = run_done;
	if (upstream_start(loop_multi(), &rq, &run->call) != 0) {
		llm_fail(failed, LLM_UNAVAILABLE, E_LLM_UNAVAILABLE, "the model call could not start");
		run_free(run);
		return NULL;
	}
	return run;
}

void llm_cancelled(struct llm_result *res)
{
	memset(res, 0, sizeof *res);
	res->prompt_tokens = res->completion_tokens = -1;
	llm_fail(res, LLM_CANCELLED, E_CANCELLED, "the caller went away");
}

void llm_cancel(struct llm_run *run)
{
	if (run->demo) {
		llm_demo_cancel(run->demo);
		free(run);
		return;
	}
	upstream_cancel(run->call);
	run_free(run);
}
