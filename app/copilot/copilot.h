/* copilot/copilot.h: the financial-advice copilot (a RAG service and a portfolio optimiser,
 * or the LLM and a built-in allocation without them). The only header other domains may
 * include from copilot/. */
#ifndef COPILOT_COPILOT_H
#define COPILOT_COPILOT_H

#include "core/arena.h"
#include "core/json.h"
#include "http/route.h"

extern const struct route_table copilot_routes;
/* The FastAPI copilot's unversioned session routes (domain "compat"). */
extern const struct route_table copilot_compat_routes;

/* Deletes every copilot session and exchange of the user. Runs inside the caller's open write
 * transaction (it never begins or commits one). 0 or ERR_DB. */
int copilot_user_deleted(const char *user_id);
/* Writes the member "copilot_sessions":[{"session":{...},"details":[...]}, ...] (each entry
 * as GET /copilot/sessions/{id} answers) with everything copilot/ keeps about the user.
 * 0, ERR_NOMEM or ERR_DB. */
int copilot_user_export(struct arena *a, struct jw *w, const char *user_id);

#endif
