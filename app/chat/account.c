/* chat/account.c: what chat/ hands over when a person asks for their data (the export of
 * GET /users/me/export). Must never write anything that is not the person's own. */
#include "chat/chat.h"
#include "chat/internal.h"

struct walk
{
	struct jw *w;
	bool open; /* a chat object and its messages array are open */
};

static int on_chat(void *ctx, const struct chat *c)
{
	struct walk *e = ctx;
	if (e->open) {
		jw_arr_end(e->w);
		jw_obj_end(e->w);
	}
	/* each entry is {chat, messages}, both as the API shows them */
	jw_obj(e->w);
	jw_key(e->w, "chat");
	chat_json(e->w, c);
	jw_key(e->w, "messages");
	jw_arr(e->w);
	e->open = true;
	return 0;
}

static int on_msg(void *ctx, const struct chat_msg *m)
{
	struct walk *e = ctx;
	chat_msg_json(e->w, m);
	return 0;
}

int chat_user_export(struct arena *a, struct jw *w, const char *user_id)
{
	struct walk e = {w, false};
	struct chat_visit v = {on_chat, on_msg, &e};
	jw_key(w, "chats");
	jw_arr(w);
	int rc = chat_each_of(a, user_id, &v);
	if (e.open) {
		jw_arr_end(w);
		jw_obj_end(w);
	}
	jw_arr_end(w);
	return rc;
}
