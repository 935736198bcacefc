/* chat/handlers.c: chats (create, list, read, rename, archive, delete) and their messages.
 * Another user's chat is always 404. */
#include <string.h>

#include "chat/internal.h"
#include "core/time.h"
#include "store/db.h"

#define TITLE_MAX 200
#define PROMPT_MAX 8000
#define MODEL_MAX 200

static const char sql_list[] =
	"SELECT id, owner_id, title, model, system_prompt, archived_at, created_at, updated_at FROM chats"
	" WHERE owner_id = ?1 AND (?2 IS NULL OR id < ?2) AND (archived_at IS NOT NULL) = ?4"
	" ORDER BY id DESC LIMIT ?3";
static const char sql_update[] =
	"UPDATE chats SET title = coalesce(?3, title),"
	" model = CASE WHEN ?4 THEN ?5 ELSE model END,"
	" system_prompt = CASE WHEN ?6 THEN ?7 ELSE system_prompt END,"
	" archived_at = CASE WHEN ?8 IS NULL THEN archived_at WHEN ?8 THEN coalesce(archived_at, ?9) ELSE NULL END,"
	" updated_at = ?9 WHERE id = ?1 AND owner_id = ?2";
static const char sql_archive[] =
	"UPDATE chats SET archived_at = coalesce(archived_at, ?3), updated_at = ?3 WHERE id = ?1 AND owner_id = ?2";
static const char sql_delete[] = "DELETE FROM chats WHERE id = ?1 AND owner_id = ?2";
static const char sql_messages[] =
	"SELECT id, chat_id, role, content, status, prompt_tokens, completion_tokens, created_at"
	" FROM chat_messages WHERE chat_id = ?1 AND (?2 IS NULL OR id > ?2) ORDER BY id LIMIT ?3";

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

static void chat_row(struct jw *w, sqlite3_stmt *st, void *ctx)
{
	(void)ctx;
	const char *t[8];
	for (int i = 0; i < 8; i++)
		t[i] = (const char *)sqlite3_column_text(st, i);
	struct chat c = {t[0], t[1], t[2], t[3], t[4], t[5], t[6], t[7]};
	chat_json(w, &c);
}

int chats_list(struct req *r)
{
	int limit;
	const char *archived = req_query(r, "archived");
	sqlite3_stmt *st;
	int rc = req_owned_page(r, sql_list, r->user_id, &limit, &st);
	if (rc)
		return rc;
	sqlite3_bind_int(st, 4, archived && strcmp(archived, "true") == 0);
	return res_rows(r, st, limit, chat_row, NULL);
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
	char now[TIME_RFC3339_LEN];
	time_rfc3339(time_now_us(), now);
	sqlite3_stmt *st = db_prep(sql_update);
	if (!st)
		return ERR_DB;
	sqlite3_bind_text(st, 1, c.id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, r->user_id, -1, SQLITE_STATIC);
	if (v[0])
		sqlite3_bind_text(st, 3, v[0], -1, SQLITE_STATIC);
	for (int i = 1; i < 3; i++) {
		sqlite3_bind_int(st, 2 + 2 * i, present[i]);
		if (v[i])
			sqlite3_bind_text(st, 3 + 2 * i, v[i], -1, SQLITE_STATIC);
	}
	if (has_archived)
		sqlite3_bind_int(st, 8, archived);
	sqlite3_bind_text(st, 9, now, -1, SQLITE_STATIC);
	rc = sqlite3_step(st) == SQLITE_DONE ? 0 : db_fail("chat update");
	db_done(st);
	if (rc || (rc = chat_owned(&r->arena, c.id, r->user_id, &c)))
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
	char now[TIME_RFC3339_LEN];
	time_rfc3339(time_now_us(), now);
	sqlite3_stmt *st = db_prep(gone ? sql_delete : sql_archive);
	if (!st)
		return ERR_DB;
	sqlite3_bind_text(st, 1, c.id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, r->user_id, -1, SQLITE_STATIC);
	if (!gone)
		sqlite3_bind_text(st, 3, now, -1, SQLITE_STATIC);
	rc = sqlite3_step(st) == SQLITE_DONE ? 0 : db_fail("chat delete");
	db_done(st);
	if (!rc)
		r->status = 204;
	return rc;
}

static void message_row(struct jw *w, sqlite3_stmt *st, void *ctx)
{
	(void)ctx;
	struct chat_msg m = {
		(const char *)sqlite3_column_text(st, 0), (const char *)sqlite3_column_text(st, 1),
		(const char *)sqlite3_column_text(st, 2), (const char *)sqlite3_column_text(st, 3),
		(const char *)sqlite3_column_text(st, 4), (const char *)sqlite3_column_text(st, 7),
		sqlite3_column_type(st, 5) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 5),
		sqlite3_column_type(st, 6) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 6)};
	chat_msg_json(w, &m);
}

int messages_list(struct req *r)
{
	struct chat c;
	int limit;
	const char *cursor;
	int rc = load(r, &c);
	if (rc || (rc = req_page(r, &limit, &cursor)))
		return rc;
	sqlite3_stmt *st = db_prep(sql_messages);
	if (!st)
		return ERR_DB;
	sqlite3_bind_text(st, 1, c.id, -1, SQLITE_STATIC);
	if (cursor)
		sqlite3_bind_text(st, 2, cursor, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, limit + 1);
	return res_rows(r, st, limit, message_row, NULL);
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
	if (!content || !*content || strlen(content) > CHAT_CONTENT_MAX || utf8_check(content, strlen(content)))
		return http_error(r, E_INVALID_INPUT, "message must be 1 to 32000 bytes of UTF-8", "message");
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
