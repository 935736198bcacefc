/* chat/internal.h: what chat/'s files share; private to chat/. */
#ifndef CHAT_INTERNAL_H
#define CHAT_INTERNAL_H

#include <stdbool.h>

#include "core/json.h"
#include "core/page.h"
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

/* What PUT /chats/{id} changes: a NULL title keeps the title; model and system_prompt change
 * only when set_model / set_prompt (to NULL clears them); archived is -1 (keep), 0 or 1. */
struct chat_change {
	const char *title;
	bool set_model, set_prompt;
	const char *model, *system_prompt;
	int archived;
};

/* Visits a person's chats, each followed by its messages, in id order. The rows' strings are
 * valid only during the call; a nonzero return stops the walk and is returned. */
struct chat_visit {
	int (*chat)(void *ctx, const struct chat *c);
	int (*msg)(void *ctx, const struct chat_msg *m);
	void *ctx;
};

/* ---- store.c: 0, ERR_NOTFOUND, ERR_DB, ERR_NOMEM ------------------------------------ */
/* The chat if owner owns it. */
int chat_owned(struct arena *a, const char *id, const char *owner, struct chat *c);
int chat_create(struct arena *a, const char *owner, const char *title, const char *model,
                const char *system_prompt, struct chat *out);
/* A page of owner's chats, newest first: only archived ones, or only the others. */
int chat_list(struct arena *a, const char *owner, bool archived, const struct page *pg,
              struct page_out *out);
/* Applies ch to owner's chat and reads it back into *out; ERR_NOTFOUND when it is gone. */
int chat_update(struct arena *a, const char *id, const char *owner, const struct chat_change *ch,
                struct chat *out);
/* Archives (keeping an earlier archive time) or deletes, with its messages, owner's chat. */
int chat_archive(const char *id, const char *owner);
int chat_delete(const char *id, const char *owner);
/* Gives m its id and time now (ids sort as time): a reply is stamped when it starts, so
 * that history keeps it before anything said while it streamed. */
int chat_msg_stamp(struct arena *a, struct chat_msg *m);
/* Inserts m (its id and created_at filled in unless stamped before), checking the owner's
 * daily limit of user messages first when m is a user message: ERR_BUSY when it is spent.
 * With touch (the chat's first message), the chat is named after it unless it has a title
 * and its updated_at bumped, in the same transaction. The owner's
 * chat.message event is written in the same transaction (sent once it commits). */
int chat_msg_insert(struct arena *a, const char *owner, struct chat_msg *m, const char *touch);
/* A page of a chat's messages, oldest first (the caller checked the chat is the user's). */
int chat_messages(struct arena *a, const char *chat_id, const struct page *pg,
                  struct page_out *out);
/* The last n messages of the chat, oldest first, for the model. */
int chat_history(struct arena *a, const char *chat_id, int n, struct llm_msg **out, size_t *count);
/* Walks owner's chats and messages (a holds one copy of each chat's id, nothing more). */
int chat_each_of(struct arena *a, const char *owner, const struct chat_visit *v);

/* ---- exchange.c: one user message and the model's reply ----------------------------- */
enum reply_mode { REPLY_SSE, REPLY_JSON, REPLY_COMPAT };
/* Stores content as the user's message, calls the model with the chat's history, stores
 * the reply, and answers in the given mode. */
int chat_exchange(struct req *r, const struct chat *c, const char *content, enum reply_mode mode);

/* ---- handlers.c ----------------------------------------------------------------------- */
void chat_json(struct jw *w, const struct chat *c);
void chat_msg_json(struct jw *w, const struct chat_msg *m);
/* The chat.message event's data: {chat_id, message: {id, role, content, status, created_at}}.
 * 0, ERR_TOOBIG or ERR_NOMEM. */
int chat_msg_event(struct buf *b, const struct chat_msg *m);
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
