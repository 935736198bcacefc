/* chat/store.c: every SQL statement on chats and chat_messages. Must never build SQL from
 * values, and must never show one user's chat to another (every lookup names the owner). */
#include <string.h>

#include "chat/internal.h"
#include "core/config.h"
#include "core/time.h"
#include "store/db.h"

#define CHAT_COLUMNS "id, owner_id, title, model, system_prompt, archived_at, created_at, updated_at"

static const char sql_owned[] = "SELECT " CHAT_COLUMNS " FROM chats WHERE id = ?1 AND owner_id = ?2";
static const char sql_create[] =
	"INSERT INTO chats(id, owner_id, title, model, system_prompt, created_at, updated_at)"
	" VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?6)";
static const char sql_today[] =
	"SELECT count(*) FROM chat_messages WHERE owner_id = ?1 AND role = 'user' AND created_at >= ?2";
static const char sql_msg_insert[] =
	"INSERT INTO chat_messages(id, chat_id, owner_id, role, content, status, prompt_tokens,"
	" completion_tokens, created_at) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";
static const char sql_history[] =
	"SELECT role, content FROM (SELECT id, role, content FROM chat_messages WHERE chat_id = ?1"
	" ORDER BY id DESC LIMIT ?2) ORDER BY id";
static const char sql_touch[] =
	"UPDATE chats SET updated_at = ?2, title = CASE WHEN title = '' THEN ?3 ELSE title END WHERE id = ?1";

int chat_owned(struct arena *a, const char *id, const char *owner, struct chat *c)
{
	if (!id || uuid_check(id) != 0)
		return ERR_NOTFOUND;
	const char *keys[] = {id, owner};
	const char **f[] = {&c->id, &c->owner_id, &c->title, &c->model, &c->system_prompt,
	                    &c->archived_at, &c->created_at, &c->updated_at};
	return db_row(a, sql_owned, "chat lookup", 2, keys, f, 8);
}

int chat_create(struct arena *a, const char *owner, const char *title, const char *model,
                const char *system_prompt, struct chat *out)
{
	char *id = arena_alloc(a, UUID_STR_LEN), *now = arena_alloc(a, TIME_RFC3339_LEN);
	if (!id || !now || uuid7(id) != 0)
		return ERR_NOMEM;
	time_rfc3339(time_now_us(), now);
	const char *v[] = {id, owner, title ? title : "", model, system_prompt, now};
	int rc = db_run(sql_create, "chat create", 6, v);
	*out = (struct chat){id, owner, title ? title : "", model, system_prompt, NULL, now, now};
	return rc;
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
		jw_kint(w, "completion_tokens", m->completion_tokens >= 0 ? m->completion_tokens : 0);
		jw_obj_end(w);
	} else {
		jw_null(w);
	}
	jw_kstr(w, "created_at", m->created_at);
	jw_obj_end(w);
}

/* Whether owner may send another message today (UTC); inside the caller's transaction. */
static int quota_left(const char *owner, bool *left)
{
	long long limit = config_int("CHAT_DAILY_LIMIT");
	*left = true;
	if (limit == 0)
		return 0;
	char day[TIME_RFC3339_LEN];
	time_rfc3339(time_now_us(), day);
	memcpy(day + 10, "T00:00:00.000Z", 15); /* midnight of today */
	sqlite3_stmt *st = db_prep(sql_today);
	if (!st)
		return ERR_DB;
	sqlite3_bind_text(st, 1, owner, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, day, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st) == SQLITE_ROW ? 0 : db_fail("chat quota");
	if (!rc)
		*left = sqlite3_column_int64(st, 0) < limit;
	db_done(st);
	return rc;
}

int chat_msg_insert(struct arena *a, const char *owner, struct chat_msg *m)
{
	char *id = arena_alloc(a, UUID_STR_LEN), *now = arena_alloc(a, TIME_RFC3339_LEN);
	if (!id || !now || uuid7(id) != 0)
		return ERR_NOMEM;
	time_rfc3339(time_now_us(), now);
	m->id = id;
	m->created_at = now;
	bool user = strcmp(m->role, "user") == 0, left = true;
	int rc = db_begin();
	if (!rc && user)
		rc = quota_left(owner, &left);
	sqlite3_stmt *st = !rc && left ? db_prep(sql_msg_insert) : NULL;
	if (st) {
		const char *text[] = {id, m->chat_id, owner, m->role, m->content, m->status};
		for (int i = 0; i < 6; i++)
			sqlite3_bind_text(st, i + 1, text[i], -1, SQLITE_STATIC);
		if (m->prompt_tokens >= 0)
			sqlite3_bind_int64(st, 7, m->prompt_tokens);
		if (m->completion_tokens >= 0)
			sqlite3_bind_int64(st, 8, m->completion_tokens);
		sqlite3_bind_text(st, 9, now, -1, SQLITE_STATIC);
		rc = sqlite3_step(st) == SQLITE_DONE ? 0 : db_fail("chat message insert");
		db_done(st);
	} else if (!rc && left) {
		rc = ERR_DB;
	}
	if (!rc && !left)
		rc = ERR_BUSY;
	if (!rc)
		rc = db_commit();
	if (rc)
		db_rollback();
	return rc;
}

int chat_history(struct arena *a, const char *chat_id, int n, struct llm_msg **out, size_t *count)
{
	struct llm_msg *msgs = arena_alloc(a, sizeof *msgs * (size_t)(n + 1));
	if (!msgs)
		return ERR_NOMEM;
	sqlite3_stmt *st = db_prep(sql_history);
	if (!st)
		return ERR_DB;
	sqlite3_bind_text(st, 1, chat_id, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, n);
	size_t k = 0;
	int step, rc = 0;
	while ((step = sqlite3_step(st)) == SQLITE_ROW && k < (size_t)n) {
		msgs[k].role = db_text(a, st, 0);
		msgs[k].content = db_text(a, st, 1);
		if (!msgs[k].role || !msgs[k].content)
			rc = ERR_NOMEM;
		k++;
	}
	if (step != SQLITE_ROW && step != SQLITE_DONE)
		rc = db_fail("chat history");
	db_done(st);
	*out = msgs;
	*count = k;
	return rc;
}

/* A title from the first message: its first line, blanks squeezed, at most 60 bytes cut
 * at a word (or character) boundary. */
static void title_of(const char *text, char *out, size_t cap)
{
	size_t n = 0;
	bool space = false;
	const char *p = text;
	for (; *p && *p != '\n' && n + 4 < cap; p++) {
		bool blank = *p == ' ' || *p == '\t' || *p == '\r';
		if (blank && (n == 0 || space))
			continue;
		space = blank;
		out[n++] = blank ? ' ' : *p;
	}
	bool cut = *p && *p != '\n'; /* stopped for room, not at the end of the line */
	while (n > 0 && (out[n - 1] == ' ' || utf8_check(out, n) != 0))
		n--;
	if (cut && n > 0) {
		size_t word = n;
		while (word > 0 && out[word - 1] != ' ')
			word--;
		if (word > cap / 2)
			n = word - 1;
		memcpy(out + n, "\xe2\x80\xa6", 3); /* … */
		n += 3;
	}
	out[n] = '\0';
}

int chat_touch(const char *chat_id, const char *first_message)
{
	char now[TIME_RFC3339_LEN], title[64];
	time_rfc3339(time_now_us(), now);
	title_of(first_message, title, sizeof title);
	const char *v[] = {chat_id, now, title};
	return db_run(sql_touch, "chat touch", 3, v);
}
