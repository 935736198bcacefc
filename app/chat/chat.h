/* chat/chat.h: LLM chat sessions, streamed over Server-Sent Events. The only header other
 * domains may include from chat/. */
#ifndef CHAT_CHAT_H
#define CHAT_CHAT_H

#include "core/arena.h"
#include "core/json.h"
#include "http/route.h"

extern const struct route_table chat_routes;
/* POST /asistente/start of the Gin backend (domain "compat"). */
extern const struct route_table chat_compat_routes;

/* Deletes every chat and chat message of the user. Runs inside the caller's open write
 * transaction (it never begins or commits one). 0 or ERR_DB. */
int chat_user_deleted(const char *user_id);
/* Writes the member "chats":[{"chat":{...},"messages":[...]}, ...] (both as the API shows
 * them) with everything chat/ keeps about the user. 0, ERR_NOMEM or ERR_DB. */
int chat_user_export(struct arena *a, struct jw *w, const char *user_id);

#endif
