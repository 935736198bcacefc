/* chat/internal.h: what chat/'s files share; private to chat/. */
#ifndef CHAT_INTERNAL_H
#define CHAT_INTERNAL_H

#include <stdbool.h>

#include "core/json.h"
#include "core/uuid.h"
#include "http/req.h"
#include "llm/llm.h"

/* A chat row; strings in the arena it was read into, NULL when unset. */
struct chat {
	const char *id, *owner_id, *title, *model, *system_prompt, *archived_at, *created_at, *updated_at;
};

/* A stored message, as the API shows it. */
struct chat_msg {
	const char *id, *chat_id, *role, *content, *status, *created_at;
	long long prompt_tokens, completion_tokens; /* -1: unknown */
};

/* ---- store.c: 0, ERR_NOTFOUND, ERR_DB, ERR_NOMEM ------------------------------------ */
/* The chat if owner owns it. */
int chat_owned(struct arena *a, const char *id, const char *owner, struct chat *c);
int chat_create(struct arena *a, const char *owner, const char *title, const char *model,
                const char *system_prompt, struct chat *out);
void chat_json(struct jw *w, const struct chat *c);
void chat_msg_json(struct jw *w, const struct chat_msg *m);
/* Inserts m (id and created_at are filled in), checking the owner's daily limit of user
 * messages first when m is a user message: ERR_BUSY when it is spent. */
int chat_msg_insert(struct arena *a, const char *owner, struct chat_msg *m);
/* The last n messages of the chat, oldest first, for the model. */
int chat_history(struct arena *a, const char *chat_id, int n, struct llm_msg **out, size_t *count);
/* Names the chat after its first message unless it has a title; bumps updated_at. */
int chat_touch(const char *chat_id, const char *first_message);

/* ---- exchange.c: one user message and the model's reply ----------------------------- */
enum reply_mode { REPLY_SSE, REPLY_JSON, REPLY_COMPAT };
/* Stores content as the user's message, calls the model with the chat's history, stores
 * the reply, and answers in the given mode. */
int chat_exchange(struct req *r, const struct chat *c, const char *content, enum reply_mode mode);

/* ---- handlers ----------------------------------------------------------------------- */
int chats_list(struct req *r);
int chats_create(struct req *r);
int chats_get(struct req *r);
int chats_update(struct req *r);
int chats_delete(struct req *r);
int messages_list(struct req *r);
int messages_post(struct req *r);
int stream_get(struct req *r);
int compat_start(struct req *r);

#define CHAT_CONTENT_MAX 32000

#endif
