/* copilot/internal.h: what copilot/'s files share; private to copilot/. */
#ifndef COPILOT_INTERNAL_H
#define COPILOT_INTERNAL_H

#include <stdbool.h>

#include "core/buf.h"
#include "core/json.h"
#include "core/page.h"
#include "core/uuid.h"
#include "http/req.h"
#include "llm/llm.h"

struct session {
	const char *id, *owner_id, *topic, *portfolio, *created_at, *updated_at;
};

struct detail {
	const char *id, *session_id, *input, *output, *status, *source, *error, *created_at;
};

/* Visits a person's sessions, each followed by its exchanges, in id order. The rows' strings
 * are valid only during the call; a nonzero return stops the walk and is returned. */
struct copilot_visit {
	int (*session)(void *ctx, const struct session *s);
	int (*detail)(void *ctx, const struct detail *d);
	void *ctx;
};

/* ---- store.c: 0, ERR_NOTFOUND, ERR_DB, ERR_NOMEM -------------------------------------- */
int session_owned(struct arena *a, const char *id, const char *owner, struct session *s);
int session_create(struct arena *a, const char *owner, const char *topic, struct session *out);
/* A page of owner's sessions, newest first. */
int session_list(struct arena *a, const char *owner, const struct page *pg, struct page_out *out);
int session_set_portfolio(const char *id, const char *portfolio_json);
/* Inserts a pending detail (id and created_at filled in). */
int detail_insert(struct arena *a, struct detail *d);
int detail_get(struct arena *a, const char *session_id, const char *id, struct detail *d);
/* Records how a call ended: answered with output and source, or failed with an error code. */
int detail_finish(const char *id, const char *output, const char *source, const char *error);
/* Calls fn with each exchange of the session (the caller checked it is the user's), oldest
 * first; d's strings are valid only during the call, and a nonzero return stops the walk. */
int details_each(const char *session_id, int (*fn)(void *ctx, const struct detail *d), void *ctx);
/* The session's answered exchanges before detail_id, oldest first, as chat messages. */
int history(struct arena *a, const char *session_id, const char *before, struct llm_msg **out, size_t *n);
/* Walks owner's sessions and exchanges (a holds one copy of each session's id, nothing more). */
int copilot_each_of(struct arena *a, const char *owner, const struct copilot_visit *v);

/* ---- upstream.c: the outside services --------------------------------------------------- */
struct failure {
	enum http_err code; /* an upstream_* error (502, 503 or 504) */
	char message[256];
};
/* Asks {RAG_URL}/api/chat; out gets the answer's text. */
int rag_ask(const char *profile_json, const struct llm_msg *hist, size_t n, const char *input, struct buf *out,
            struct failure *f);
/* The allocation for a risk profile as JSON {assets, weights, risk_profile, source}: from
 * {PORTFOLIO_URL}/portfolio/generate/{risk_profile}, or the built-in one (labelled so) when
 * no optimiser is set or it fails. */
int portfolio_for(const char *risk_profile, struct buf *out);

/* ---- handlers.c --------------------------------------------------------------------- */
void session_json(struct jw *w, const struct session *s);
void detail_json(struct jw *w, const struct detail *d);
int sessions_create(struct req *r);
int sessions_list(struct req *r);
int sessions_get(struct req *r);
int sessions_ask(struct req *r);
int details_retry(struct req *r);

#define COPILOT_INPUT_MAX 8000

#endif
