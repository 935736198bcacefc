/* chat/handlers.c: chats (create, list, read, rename, archive, delete) and their messages.
 * Another user's chat is always 404. */
#include <string.h>

#include "chat/internal.h"

#define TITLE_MAX  200
#define PROMPT_MAX 8000
#define MODEL_MAX  200

static int not_found(struct req *r)
{
	return http_error(r, E_NOT_FOUND, "no such chat", NULL);
}

/* The chat named by {id} if it is the caller's; answers 404 otherwise. */
static int load(struct req *r, struct chat *c)
{
	int rc = chat_owned(&r->arena, req_param(r, "id"), r->user_id, c);
	return rc == ERR_NOTFOUND ? not_found(r) : rc;
}

void chat_json(struct jw *w, const struct chat *c)
{
	jw_obj(w);
	jw_kstr(w, "id", c->id);
	jw_kstr(w, "title", c->title);
	jw_kstr(w, "model", c->model);
	jw_kstr(w, "system_prompt", c->system_prompt);
	jw_kbool(w, "archived", c->archived_at != NULL);
	jw_kstr(w, "archived_at", c->archived_at);
	jw_kstr(w, "created_at", c->created_at);
	jw_kstr(w, "updated_at", c->updated_at);
	jw_obj_end(w);
}

void chat_msg_json(struct jw *w, const struct chat_msg *m)
{
	jw_obj(w);
	jw_kstr(w, "id", m->id);
	jw_kstr(w, "chat_id", m->chat_id);
	jw_kstr(w, "role", m->role);
	jw_kstr(w, "content", m->content);
	jw_kstr(w, "status", m->status);
	jw_key(w, "usage");
	if (m->prompt_tokens >= 0 || m->completion_tokens >= 0) {
		jw_obj(w);
		jw_kint(w, "prompt_tokens", m->prompt_tokens >= 0 ? m->prompt_tokens : 0);
		jw_kint(w, "completion_tokens",
		        m->completion_tokens >= 0 ? m->completion_tokens : 0);
		jw_obj_end(w);
	} else {
		jw_null(w);
	}
	jw_kstr(w, "created_at", m->created_at);
	jw_obj_end(w);
}

int chat_msg_event(struct buf *b, const struct chat_msg *m)
{
	struct jw w;
	jw_init(&w, b);
	jw_obj(&w);
	jw_kstr(&w, "chat_id", m->chat_id);
	jw_key(&w, "message");
	jw_obj(&w);
	jw_kstr(&w, "id", m->id);
	jw_kstr(&w, "role", m->role);
	jw_kstr(&w, "content", m->content);
	jw_kstr(&w, "status", m->status);
	jw_kstr(&w, "created_at", m->created_at);
	jw_obj_end(&w);
	jw_obj_end(&w);
	return jw_finish(&w);
}

static void chat_item(struct jw *w, const void *p)
{
	chat_json(w, p);
}

static void msg_item(struct jw *w, const void *p)
{
	chat_msg_json(w, p);
}

int chats_list(struct req *r)
{
	struct page pg;
	struct page_out out;
	const char *archived = req_query(r, "archived");
	int rc = req_page_of(r, &pg);
	if (rc || (rc = chat_list(&r->arena, r->user_id, archived && strcmp(archived, "true") == 0,
	                          &pg, &out)))
		return rc;
	return res_page(r, &out, sizeof(struct chat), chat_item);
}

/* The optional chat fields of a body: title, model, system_prompt (present[] says which
 * were given; null clears model and system_prompt). */
static int fields(struct req *r, const struct json *body, const char *v[3], bool present[3])
{
	static const char *const names[] = {"title", "model", "system_prompt"};
	static const size_t limits[] = {TITLE_MAX, MODEL_MAX, PROMPT_MAX};
	for (int i = 0; i < 3; i++) {
		present[i] = json_get(body, names[i]) != NULL;
		int rc = req_str(r, body, names[i], false, limits[i], &v[i]);
		if (rc)
			return rc;
	}
	return 0;
}

int chats_create(struct req *r)
{
	struct json *body;
	const char *v[3];
	bool present[3];
	int rc = req_object(r, &body);
	if (rc || (rc = fields(r, body, v, present)))
		return rc;
	struct chat c;
	if ((rc = chat_create(&r->arena, r->user_id, v[0], v[1], v[2], &c)))
		return rc;
	struct jw w;
	res_json(r, 201, &w);
	chat_json(&w, &c);
	return res_end(r, &w);
}

int chats_get(struct req *r)
{
	struct chat c;
	int rc = load(r, &c);
	if (rc)
		return rc;
	struct jw w;
	res_json(r, 200, &w);
	chat_json(&w, &c);
	return res_end(r, &w);
}

int chats_update(struct req *r)
{
	struct json *body;
	const char *v[3];
	bool present[3], has_archived, archived;
	struct chat c;
	int rc = load(r, &c);
	if (rc || (rc = req_object(r, &body)) || (rc = fields(r, body, v, present)) ||
	    (rc = req_bool(r, body, "archived", &has_archived, &archived)))
		return rc;
	if (present[0] && !v[0])
		return http_error(r, E_INVALID_INPUT, "title must be a string", "title");
	struct chat_change ch = {.title = v[0],
	                         .set_model = present[1],
	                         .model = v[1],
	                         .set_prompt = present[2],
	                         .system_prompt = v[2],
	                         .archived = has_archived ? archived : -1};
	rc = chat_update(&r->arena, c.id, r->user_id, &ch, &c);
	if (rc == ERR_NOTFOUND)
		return not_found(r);
	if (rc)
		return rc;
	struct jw w;
	res_json(r, 200, &w);
	chat_json(&w, &c);
	return res_end(r, &w);
}

/* DELETE archives; ?hard=true deletes the chat and its messages for good. */
int chats_delete(struct req *r)
{
	struct chat c;
	int rc = load(r, &c);
	if (rc)
		return rc;
	const char *hard = req_query(r, "hard");
	bool gone = hard && strcmp(hard, "true") == 0;
	rc = gone ? chat_delete(c.id, r->user_id) : chat_archive(c.id, r->user_id);
	if (!rc)
		r->status = 204;
	return rc;
}

int messages_list(struct req *r)
{
	struct chat c;
	struct page pg;
	struct page_out out;
	int rc = load(r, &c);
	if (rc || (rc = req_page_of(r, &pg)) || (rc = chat_messages(&r->arena, c.id, &pg, &out)))
		return rc;
	return res_page(r, &out, sizeof(struct chat_msg), msg_item);
}

/* The content of a message: required, non-empty, at most CHAT_CONTENT_MAX bytes. */
static int content_of(struct req *r, const char *field, const char **out)
{
	struct json *body;
	int rc = req_object(r, &body);
	if (rc || (rc = req_str(r, body, field, true, CHAT_CONTENT_MAX, out)))
		return rc;
	return **out ? 0 : http_error(r, E_INVALID_INPUT, "the message is empty", field);
}

static bool wants_sse(struct req *r)
{
	const char *accept = req_header(r, "Accept");
	return accept && strstr(accept, "text/event-stream");
}

int messages_post(struct req *r)
{
	struct chat c;
	const char *content;
	int rc = load(r, &c);
	if (rc || (rc = content_of(r, "content", &content)))
		return rc;
	return chat_exchange(r, &c, content, wants_sse(r) ? REPLY_SSE : REPLY_JSON);
}

/* GET /stream/chat/{id}?message=: the same stream for EventSource clients. */
int stream_get(struct req *r)
{
	struct chat c;
	int rc = load(r, &c);
	if (rc)
		return rc;
	const char *content = req_query(r, "message");
	if (!content || !*content || strlen(content) > CHAT_CONTENT_MAX ||
	    utf8_check(content, strlen(content)))
		return http_error(r, E_INVALID_INPUT, "message must be 1 to 32000 bytes of UTF-8",
		                  "message");
	return chat_exchange(r, &c, content, REPLY_SSE);
}

/* POST /asistente/start {prompt} -> {thread_id, text}: a new chat, answered whole. */
int compat_start(struct req *r)
{
	const char *prompt;
	int rc = content_of(r, "prompt", &prompt);
	if (rc)
		return rc;
	struct chat c;
	if ((rc = chat_create(&r->arena, r->user_id, NULL, NULL, NULL, &c)))
		return rc;
	return chat_exchange(r, &c, prompt, REPLY_COMPAT);
}
