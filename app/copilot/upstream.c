/* copilot/upstream.c: the RAG service and the portfolio optimiser, through libcurl with a
 * connect timeout and a total one (COPILOT_TIMEOUT_MS). Their answers are data: the RAG
 * reply is kept as text, the allocation is checked before it is kept. Must never put an
 * upstream body into an error message or a log line. */
#include <curl/curl.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "copilot/internal.h"
#include "core/config.h"

#define ANSWER_MAX (1024 * 1024)

static size_t collect(char *p, size_t size, size_t n, void *ud)
{
	return buf_add(ud, p, size * n) ? 0 : size * n; /* 0 stops an answer over the limit */
}

static void fail(struct failure *f, enum http_err code, const char *message)
{
	f->code = code;
	snprintf(f->message, sizeof f->message, "%s", message);
}

/* One request: a POST of body (JSON) or a GET when body is NULL. 0 with the status, the
 * answer and its content type, or ERR_IO with f filled in. */
static int call(const char *url, const char *body, struct buf *answer, long *status, char *ctype, size_t ctcap,
                struct failure *f)
{
	CURL *c = curl_easy_init();
	struct curl_slist *h = body ? curl_slist_append(NULL, "Content-Type: application/json") : NULL;
	if (!c || (body && !h)) {
		curl_easy_cleanup(c);
		fail(f, E_UNAVAILABLE, "out of memory for the outside call");
		return ERR_IO;
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	if (body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	}
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, answer);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)config_int("COPILOT_TIMEOUT_MS"));
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	CURLcode cc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
	char *type = NULL;
	curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &type);
	snprintf(ctype, ctcap, "%s", type ? type : "");
	curl_easy_cleanup(c);
	curl_slist_free_all(h);
	if (cc == CURLE_OPERATION_TIMEDOUT && *status) {
		fail(f, E_UPSTREAM_TIMEOUT, "the service did not finish answering in time");
		return ERR_IO;
	}
	if (cc == CURLE_OPERATION_TIMEDOUT) {
		fail(f, E_UPSTREAM_TIMEOUT, "the service did not answer in time");
		return ERR_IO;
	}
	if (cc == CURLE_WRITE_ERROR) {
		fail(f, E_UPSTREAM_MALFORMED, "the service's answer is too large");
		return ERR_IO;
	}
	if (cc != CURLE_OK) {
		fail(f, E_UPSTREAM_UNAVAILABLE, "the service cannot be reached");
		return ERR_IO;
	}
	return 0;
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
	struct buf body = BUF_INIT(16 * 1024 * 1024), answer = BUF_INIT(ANSWER_MAX);
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
	char url[2048], ctype[128];
	const char *base = config_str("RAG_URL");
	size_t blen = strlen(base);
	while (blen && base[blen - 1] == '/')
		blen--;
	snprintf(url, sizeof url, "%.*s/api/chat", (int)blen, base);
	long status = 0;
	int rc = jw_finish(&w) ? ERR_NOMEM : call(url, buf_str(&body), &answer, &status, ctype, sizeof ctype, f);
	if (rc == ERR_NOMEM)
		fail(f, E_UNAVAILABLE, "out of memory for the outside call");
	if (!rc && status != 200) {
		fail(f, status == 429 || status == 503 ? E_UPSTREAM_UNAVAILABLE : E_UPSTREAM_ERROR, "the advice service answered with an error");
		rc = ERR_IO;
	}
	if (!rc && answer_text(&answer, ctype, out) != 0) {
		fail(f, E_UPSTREAM_MALFORMED, "the advice service's answer has no text in it");
		rc = ERR_IO;
	}
	buf_free(&body);
	buf_free(&answer);
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
		char url[2048], ctype[128];
		size_t blen = strlen(base);
		while (blen && base[blen - 1] == '/')
			blen--;
		snprintf(url, sizeof url, "%.*s/portfolio/generate/%s", (int)blen, base, b->profile);
		struct buf answer = BUF_INIT(ANSWER_MAX);
		struct failure f;
		long status = 0;
		int rc = call(url, NULL, &answer, &status, ctype, sizeof ctype, &f);
		if (!rc && status == 200)
			rc = optimiser_answer(&answer, b->profile, out);
		buf_free(&answer);
		if (!rc && status == 200)
			return 0;
		buf_reset(out); /* the optimiser failed: the built-in allocation stands in, labelled */
		return write_portfolio(out, b->profile, "builtin (the optimizer did not answer)", b->assets, b->weights, 4);
	}
	return write_portfolio(out, b->profile, "builtin", b->assets, b->weights, 4);
}
