/* copilot/handlers.c: copilot sessions and exchanges. An input is stored before any
 * outside call; the answer (or the failure, which can be retried) is stored after it. With
 * no RAG_URL the LLM client (or its demo responder) answers with the profile as context.
 * Another user's session is always 404. */
#include <stdio.h>
#include <string.h>

#include "copilot/internal.h"
#include "core/config.h"
#include "users/users.h"

#define TOPIC_MAX 200
#define REPLY_MAX (1024 * 1024)

static const char system_prompt[] =
	"You are a careful financial-education assistant. Explain options and trade-offs in plain "
	"language, adapted to the user's profile below; do not promise returns, and suggest a "
	"licensed adviser for decisions with legal or tax consequences. User profile (JSON): ";

static int load(struct req *r, struct session *s)
{
	int rc = session_owned(&r->arena, req_param(r, "id"), r->user_id, s);
	return rc == ERR_NOTFOUND ? http_error(r, E_NOT_FOUND, "no such copilot session", NULL) : rc;
}

/* The caller's profile as the RAG service expects it: name, country, locale, finance. */
static int profile_json(struct req *r, struct buf *out, const char **risk)
{
	const struct user *u = r->user;
	struct jw w;
	jw_init(&w, out);
	jw_obj(&w);
	jw_kstr(&w, "id", u->id);
	jw_kstr(&w, "name", u->name);
	jw_kstr(&w, "country", u->country);
	jw_kstr(&w, "locale", u->locale);
	jw_key(&w, "finance");
	if (u->finance)
		jw_raw(&w, u->finance, strlen(u->finance)); /* stored by users/ as checked JSON */
	else
		jw_null(&w);
	jw_obj_end(&w);
	*risk = "moderate";
	struct json *fin;
	struct json_error err;
	if (u->finance && json_parse(&r->arena, u->finance, strlen(u->finance), NULL, &fin, &err) == 0) {
		const struct json *rp = json_get(fin, "risk_profile");
		if (rp && rp->type == JSON_STRING)
			*risk = rp->str;
	}
	return jw_finish(&w);
}

int sessions_create(struct req *r)
{
	struct json *body;
	const char *topic;
	int rc = req_object(r, &body);
	if (rc || (rc = req_str(r, body, "topic", false, TOPIC_MAX, &topic)))
		return rc;
	struct session s;
	if ((rc = session_create(&r->arena, r->user_id, topic, &s)))
		return rc;
	struct jw w;
	res_json(r, 201, &w);
	session_json(&w, &s);
	return res_end(r, &w);
}

void session_json(struct jw *w, const struct session *s)
{
	jw_obj(w);
	jw_kstr(w, "id", s->id);
	jw_kstr(w, "topic", s->topic);
	jw_key(w, "portfolio");
	if (s->portfolio)
		jw_raw(w, s->portfolio, strlen(s->portfolio)); /* written by portfolio_for: valid JSON */
	else
		jw_null(w);
	jw_kstr(w, "created_at", s->created_at);
	jw_kstr(w, "updated_at", s->updated_at);
	jw_obj_end(w);
}

void detail_json(struct jw *w, const struct detail *d)
{
	jw_obj(w);
	jw_kstr(w, "id", d->id);
	jw_kstr(w, "input", d->input);
	jw_kstr(w, "output", d->output);
	jw_kstr(w, "status", d->status);
	jw_kstr(w, "source", d->source);
	jw_kstr(w, "error", d->error);
	jw_kstr(w, "created_at", d->created_at);
	jw_obj_end(w);
}

static void session_item(struct jw *w, const void *p)
{
	session_json(w, p);
}

int sessions_list(struct req *r)
{
	struct page pg;
	struct page_out out;
	int rc = req_page_of(r, &pg);
	if (rc || (rc = session_list(&r->arena, r->user_id, &pg, &out)))
		return rc;
	return res_page(r, &out, sizeof(struct session), session_item);
}

static int detail_item(void *ctx, const struct detail *d)
{
	detail_json(ctx, d);
	return 0;
}

int sessions_get(struct req *r)
{
	struct session s;
	int rc = load(r, &s);
	if (rc)
		return rc;
	struct jw w;
	res_json(r, 200, &w);
	jw_obj(&w);
	jw_key(&w, "session");
	session_json(&w, &s);
	jw_key(&w, "details");
	jw_arr(&w);
	/* written as they are read: a long session is never held twice in memory */
	rc = details_each(s.id, detail_item, &w);
	jw_arr_end(&w);
	jw_obj_end(&w);
	return rc ? rc : res_end(r, &w);
}

static int gather(void *ctx, const char *text, size_t n)
{
	return buf_add(ctx, text, n) != 0;
}

/* Answers d (stored as pending) and records the outcome; then the API's answer. */
static int answer(struct req *r, struct session *s, struct detail *d)
{
	struct buf profile = BUF_INIT(64 * 1024), out = BUF_INIT(REPLY_MAX), portfolio = BUF_INIT(64 * 1024);
	const char *risk;
	struct llm_msg *hist;
	size_t n;
	int rc = profile_json(r, &profile, &risk) ? ERR_NOMEM : history(&r->arena, s->id, d->id, &hist, &n);
	struct failure f = {0};
	const char *source = "rag";
	if (!rc && *config_str("RAG_URL")) {
		rc = rag_ask(buf_str(&profile), hist, n, d->input, &out, &f);
	} else if (!rc) {
		/* no RAG service: the model answers, with the profile as context */
		const char *sys = arena_printf(&r->arena, "%s%s", system_prompt, buf_str(&profile));
		struct llm_msg *msgs = sys ? arena_alloc(&r->arena, sizeof *msgs * (n + 2)) : NULL;
		if (!msgs) {
			rc = ERR_NOMEM;
		} else {
			msgs[0] = (struct llm_msg){"system", sys};
			memcpy(msgs + 1, hist, sizeof *msgs * n);
			msgs[n + 1] = (struct llm_msg){"user", d->input};
			struct llm_call call = {msgs, n + 2, NULL, gather, &out};
			struct llm_result res;
			llm_complete(&call, &res);
			source = res.demo ? "demo" : "llm";
			if (res.status != LLM_OK) {
				f.code = res.code;
				snprintf(f.message, sizeof f.message, "%s", res.message);
				rc = ERR_IO;
			}
		}
	}
	if (rc == ERR_IO) {
		(void)detail_finish(d->id, NULL, NULL, http_err_info(f.code)->code);
	} else if (!rc) {
		rc = detail_finish(d->id, buf_str(&out), source, NULL);
		if (!rc && !s->portfolio && portfolio_for(risk, &portfolio) == 0 &&
		    session_set_portfolio(s->id, buf_str(&portfolio)) == 0)
			s->portfolio = buf_str(&portfolio); /* the session's first answer: its allocation */
		else
			buf_reset(&portfolio);
	}
	if (rc == ERR_IO)
		rc = http_error(r, f.code, f.message, NULL);
	else if (!rc) {
		struct jw w;
		res_json(r, 200, &w);
		jw_obj(&w);
		jw_kstr(&w, "detail_id", d->id);
		jw_kstr(&w, "output", buf_str(&out));
		jw_kstr(&w, "source", source);
		if (portfolio.len) {
			jw_key(&w, "portfolio");
			jw_raw(&w, portfolio.ptr, portfolio.len);
		}
		jw_obj_end(&w);
		rc = res_end(r, &w);
	}
	buf_free(&profile);
	buf_free(&out);
	buf_free(&portfolio);
	return rc;
}

int sessions_ask(struct req *r)
{
	struct session s;
	struct json *body;
	const char *input;
	int rc = load(r, &s);
	if (rc || (rc = req_object(r, &body)) || (rc = req_str(r, body, "input", true, COPILOT_INPUT_MAX, &input)))
		return rc;
	if (!*input)
		return http_error(r, E_INVALID_INPUT, "input is empty", "input");
	struct detail d = {.session_id = s.id, .input = input};
	if ((rc = detail_insert(&r->arena, &d)))
		return rc;
	return answer(r, &s, &d);
}

/* POST /copilot/sessions/{id}/details/{detail_id}/retry: asks again for a failed input. */
int details_retry(struct req *r)
{
	struct session s;
	struct detail d;
	int rc = load(r, &s);
	if (rc)
		return rc;
	rc = detail_get(&r->arena, s.id, req_param(r, "detail_id"), &d);
	if (rc == ERR_NOTFOUND)
		return http_error(r, E_NOT_FOUND, "no such exchange in this session", NULL);
	if (rc)
		return rc;
	if (strcmp(d.status, "answered") == 0) /* failed, or pending because a crash cut the call */
		return http_error(r, E_CONFLICT, "only a failed exchange can be retried", NULL);
	return answer(r, &s, &d);
}
