/* copilot/internal.h: what copilot/'s files share; private to copilot/. */
#ifndef COPILOT_INTERNAL_H
#define COPILOT_INTERNAL_H

#include <stdbool.h>

#include "core/buf.h"
#include "core/json.h"
#include "core/uuid.h"
#include "http/req.h"
#include "llm/llm.h"

struct session {
	const char *id, *owner_id, *topic, *portfolio, *created_at, *updated_at;
};

struct detail {
	const char *id, *session_id, *input, *output, *status, *source, *error, *created_at;
};

/* ---- store.c: 0, ERR_NOTFOUND, ERR_DB, ERR_NOMEM -------------------------------------- */
int session_owned(struct arena *a, const char *id, const char *owner, struct session *s);
int session_create(struct arena *a, const char *owner, const char *topic, struct session *out);
int session_set_portfolio(const char *id, const char *portfolio_json);
void session_json(struct jw *w, const struct session *s);
/* Inserts a pending detail (id and created_at filled in). */
int detail_insert(struct arena *a, struct detail *d);
int detail_get(struct arena *a, const char *session_id, const char *id, struct detail *d);
/* Records how a call ended: answered with output and source, or failed with an error code. */
int detail_finish(const char *id, const char *output, const char *source, const char *error);
void detail_json(struct jw *w, const struct detail *d);
/* The session's answered exchanges before detail_id, oldest first, as chat messages. */
int history(struct arena *a, const char *session_id, const char *before, struct llm_msg **out, size_t *n);

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

/* ---- handlers ----------------------------------------------------------------------- */
int sessions_create(struct req *r);
int sessions_list(struct req *r);
int sessions_get(struct req *r);
int sessions_ask(struct req *r);
int details_retry(struct req *r);

#define COPILOT_INPUT_MAX 8000

#endif
