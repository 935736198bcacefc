/* copilot/upstream.c: the RAG service and the portfolio optimiser, through the upstream
 * client (http/upstream.h): a connect timeout, COPILOT_TIMEOUT_MS for the whole call, a retry
 * before the first byte, and a circuit breaker for each ("rag", "optimizer"). Their answers
 * are data: the RAG reply is kept as text, the allocation is checked before it is kept. Must
 * never put an upstream body into an error message or a log line. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "copilot/internal.h"
#include "core/config.h"
#include "http/upstream.h"

#define ANSWER_MAX         (1024 * 1024)
#define CONNECT_TIMEOUT_MS 5000
#define RETRIES            1

/* COPILOT_BREAKER_FAILURES failed calls in a row open one for COPILOT_BREAKER_OPEN_MS. */
static struct upstream rag = UPSTREAM_DEFINE(
    "rag", "the advice service", "COPILOT_BREAKER_FAILURES", "COPILOT_BREAKER_OPEN_MS", 0, 0);
static struct upstream optimizer =
    UPSTREAM_DEFINE("optimizer", "the portfolio optimizer", "COPILOT_BREAKER_FAILURES",
                    "COPILOT_BREAKER_OPEN_MS", 0, 0);

static void fail(struct failure *f, enum http_err code, const char *message)
{
	f->code = code;
	snprintf(f->message, sizeof f->message, "%s", message);
}

/* One call: a POST of body (JSON) or a GET when body is NULL. 0 for a 2xx answer (in res);
 * ERR_IO otherwise, res saying why. Both questions change nothing upstream, so either may
 * be sent twice. */
static int call(struct upstream *up, const char *url, const struct buf *body,
                struct upstream_res *res)
{
	static const char *const json[] = {"Content-Type: application/json", NULL};
	struct upstream_req rq = {
	    .up = up,
	    .url = url,
	    .headers = body ? json : NULL,
	    .body = body ? buf_str(body) : NULL,
	    .body_len = body ? body->len : 0,
	    .connect_timeout_ms = CONNECT_TIMEOUT_MS,
	    .timeout_ms = (long)config_int("COPILOT_TIMEOUT_MS"),
	    .retries = RETRIES,
	    .idempotent = true,
	    .body_max = ANSWER_MAX,
	};
	return upstream_perform(&rq, res);
}

/* The answer of a RAG reply: a JSON string, or an object's output/response/answer/text/
 * message string; plain text is taken as it is. */
static int answer_text(const struct buf *body, const char *ctype, struct buf *out)
{
	const char *p = body->ptr ? body->ptr : "";
	if (strncmp(ctype, "application/json", 16) != 0)
		return body->len && utf8_check(p, body->len) == 0 && buf_add(out, p, body->len) == 0 ? 0 : ERR_INVAL;
	char first[4096];
	struct arena a;
	arena_init(&a, 8 * ANSWER_MAX, first, sizeof first);
	struct json *root;
	struct json_error err;
	int rc = json_parse(&a, p, body->len, NULL, &root, &err) ? ERR_INVAL : 0;
	const struct json *text = NULL;
	if (!rc && root->type == JSON_STRING)
		text = root;
	static const char *const keys[] = {"output", "response", "answer", "text", "message"};
	for (size_t i = 0; !rc && !text && root->type == JSON_OBJECT && i < sizeof keys / sizeof keys[0]; i++) {
		const struct json *v = json_get(root, keys[i]);
		if (v && v->type == JSON_STRING)
			text = v;
	}
	rc = rc || !text || !text->len || buf_add(out, text->str, text->len) ? ERR_INVAL : 0;
	arena_free(&a);
	return rc;
}

int rag_ask(const char *profile_json, const struct llm_msg *hist, size_t n, const char *input, struct buf *out,
            struct failure *f)
{
	struct buf body = BUF_INIT(16 * 1024 * 1024);
	struct jw w;
	jw_init(&w, &body);
	jw_obj(&w);
	jw_key(&w, "userProfile");
	jw_raw(&w, profile_json, strlen(profile_json));
	jw_key(&w, "chatHistory");
	jw_arr(&w);
	for (size_t i = 0; i < n; i++) {
		jw_obj(&w);
		jw_kstr(&w, "role", hist[i].role);
		jw_kstr(&w, "content", hist[i].content);
		jw_obj_end(&w);
	}
	jw_arr_end(&w);
	jw_kstr(&w, "input", input);
	jw_obj_end(&w);
	struct buf url = BUF_INIT(4096);
	struct upstream_res res = {0};
	int rc =
	    jw_finish(&w) || upstream_url(&url, config_str("RAG_URL"), "/api/chat") ? ERR_NOMEM : 0;
	if (rc) {
		fail(f, E_UNAVAILABLE, "out of memory for the outside call");
	} else if (call(&rag, buf_str(&url), &body, &res) != 0) {
		fail(f, res.code, res.message);
		rc = ERR_IO;
	} else {
		char ctype[128];
		size_t tlen = 0;
		const char *t = upstream_header(&res, "Content-Type", &tlen);
		snprintf(ctype, sizeof ctype, "%.*s", t ? (int)tlen : 0, t ? t : "");
		if (answer_text(&res.body, ctype, out) != 0) {
			fail(f, E_UPSTREAM_MALFORMED,
			     "the advice service's answer has no text in it");
			rc = ERR_IO;
		}
	}
	upstream_res_free(&res);
	buf_free(&url);
	buf_free(&body);
	return rc;
}

/* Built-in allocations by risk profile, used without an optimiser. */
static const struct builtin {
	const char *profile;
	const char *assets[4];
	double weights[4];
} builtins[] = {
	{"conservative", {"Government bonds", "Global equities", "Cash", "Real estate (REITs)"}, {0.55, 0.25, 0.15, 0.05}},
	{"moderate", {"Global equities", "Government bonds", "Real estate (REITs)", "Cash"}, {0.55, 0.30, 0.10, 0.05}},
	{"aggressive", {"Global equities", "Emerging markets", "Real estate (REITs)", "Government bonds"},
	 {0.60, 0.20, 0.10, 0.10}},
};

static int write_portfolio(struct buf *out, const char *profile, const char *source, const char *const *assets,
                           const double *weights, size_t n)
{
	struct jw w;
	jw_init(&w, out);
	jw_obj(&w);
	jw_key(&w, "assets");
	jw_arr(&w);
	for (size_t i = 0; i < n; i++)
		jw_str(&w, assets[i]);
	jw_arr_end(&w);
	jw_key(&w, "weights");
	jw_arr(&w);
	for (size_t i = 0; i < n; i++)
		jw_double(&w, weights[i]);
	jw_arr_end(&w);
	jw_kstr(&w, "risk_profile", profile);
	jw_kstr(&w, "source", source);
	jw_obj_end(&w);
	return jw_finish(&w);
}

/* {assets:[strings], weights:[numbers in 0..1 adding up to 1]} of equal, small length. */
static int optimiser_answer(const struct buf *body, const char *profile, struct buf *out)
{
	char first[4096];
	struct arena a;
	arena_init(&a, 4 * ANSWER_MAX, first, sizeof first);
	struct json *root;
	struct json_error err;
	int rc = json_parse(&a, body->ptr ? body->ptr : "", body->len, NULL, &root, &err) ? ERR_INVAL : 0;
	const struct json *as = rc ? NULL : json_get(root, "assets"), *ws = rc ? NULL : json_get(root, "weights");
	if (!as || !ws || as->type != JSON_ARRAY || ws->type != JSON_ARRAY || as->len != ws->len || as->len == 0 ||
	    as->len > 64)
		rc = ERR_INVAL;
	const char *assets[64];
	double weights[64], sum = 0;
	size_t n = 0;
	for (const struct json *x = rc ? NULL : as->child, *y = rc ? NULL : ws->child; x && y && !rc;
	     x = x->next, y = y->next, n++) {
		if (x->type != JSON_STRING || !x->len || y->type != JSON_NUMBER || y->number < 0 || y->number > 1)
			rc = ERR_INVAL;
		assets[n] = x->str;
		weights[n] = y->number;
		sum += y->number;
	}
	if (!rc && fabs(sum - 1.0) > 0.02)
		rc = ERR_INVAL;
	if (!rc)
		rc = write_portfolio(out, profile, "optimizer", assets, weights, n);
	arena_free(&a);
	return rc;
}

int portfolio_for(const char *risk_profile, struct buf *out)
{
	const struct builtin *b = &builtins[1];
	for (size_t i = 0; i < sizeof builtins / sizeof builtins[0]; i++)
		if (strcmp(builtins[i].profile, risk_profile) == 0)
			b = &builtins[i];
	const char *base = config_str("PORTFOLIO_URL");
	if (*base) {
		struct buf url = BUF_INIT(4096);
		struct upstream_res res;
		int rc =
		    upstream_url(&url, base, "/portfolio/generate/") || buf_adds(&url, b->profile)
		        ? ERR_NOMEM
		        : 0;
		if (!rc) {
			rc = call(&optimizer, buf_str(&url), NULL, &res);
			if (!rc)
				rc = res.status == 200
				         ? optimiser_answer(&res.body, b->profile, out)
				         : ERR_INVAL;
			upstream_res_free(&res);
		}
		buf_free(&url);
		if (!rc)
			return 0;
		buf_reset(out); /* the optimiser failed: the built-in allocation stands in, labelled */
		return write_portfolio(out, b->profile, "builtin (the optimizer did not answer)", b->assets, b->weights, 4);
	}
	return write_portfolio(out, b->profile, "builtin", b->assets, b->weights, 4);
}
