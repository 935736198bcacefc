/* chat/store.c: every SQL statement on chats and chat_messages, through store/db.h's
 * engine-neutral calls only. Must never build SQL from values, and must never show one user's
 * chat to another (every lookup names the owner or a chat already checked to be the owner's). */
#include <string.h>

#include "chat/chat.h"
#include "chat/internal.h"
#include "core/config.h"
#include "core/time.h"
#include "hub/hub.h"
#include "store/db.h"

#define CHAT_COLUMNS "id, owner_id, title, model, system_prompt, archived_at, created_at, updated_at"
#define MSG_COLUMNS "id, chat_id, role, content, status, prompt_tokens, completion_tokens, created_at"

static const char sql_owned[] = "SELECT " CHAT_COLUMNS " FROM chats WHERE id = ?1 AND owner_id = ?2";
static const char sql_create[] =
	"INSERT INTO chats(id, owner_id, title, model, system_prompt, created_at, updated_at)"
	" VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?6)";
static const char sql_list[] =
	"SELECT " CHAT_COLUMNS " FROM chats"
	" WHERE owner_id = ?1 AND (?2 IS NULL OR id < ?2) AND (archived_at IS NOT NULL) = ?4"
	" ORDER BY id DESC LIMIT ?3";
static const char sql_update[] =
	"UPDATE chats SET title = coalesce(?3, title),"
	" model = CASE WHEN ?4 THEN ?5 ELSE model END,"
	" system_prompt = CASE WHEN ?6 THEN ?7 ELSE system_prompt END,"
	" archived_at = CASE WHEN ?8 IS NULL THEN archived_at"
	" WHEN ?8 THEN coalesce(archived_at, ?9) ELSE NULL END,"
	" updated_at = ?9 WHERE id = ?1 AND owner_id = ?2";
static const char sql_archive[] =
	"UPDATE chats SET archived_at = coalesce(archived_at, ?3), updated_at = ?3"
	" WHERE id = ?1 AND owner_id = ?2";
static const char sql_delete[] = "DELETE FROM chats WHERE id = ?1 AND owner_id = ?2";
static const char sql_today[] =
	"SELECT count(*) FROM chat_messages WHERE owner_id = ?1 AND role = 'user' AND created_at >= ?2";
static const char sql_msg_insert[] =
	"INSERT INTO chat_messages(" MSG_COLUMNS ", owner_id) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";
static const char sql_messages[] =
	"SELECT " MSG_COLUMNS " FROM chat_messages"
	" WHERE chat_id = ?1 AND (?2 IS NULL OR id > ?2) ORDER BY id LIMIT ?3";
static const char sql_history[] =
	"SELECT role, content FROM (SELECT id, role, content FROM chat_messages WHERE chat_id = ?1"
	" ORDER BY id DESC LIMIT ?2) ORDER BY id";
static const char sql_touch[] =
	"UPDATE chats SET updated_at = ?2, title = CASE WHEN title = '' THEN ?3 ELSE title END"
	" WHERE id = ?1";
/* a chat's columns, then one of its messages' (all NULL for a chat without messages) */
static const char sql_all_of[] =
	"SELECT c.id, c.owner_id, c.title, c.model, c.system_prompt, c.archived_at, c.created_at,"
	" c.updated_at, m.id, m.chat_id, m.role, m.content, m.status, m.prompt_tokens,"
	" m.completion_tokens, m.created_at"
	" FROM chats c LEFT JOIN chat_messages m ON m.chat_id = c.id"
	" WHERE c.owner_id = ?1 ORDER BY c.id, m.id";
static const char sql_user_messages[] = "DELETE FROM chat_messages WHERE owner_id = ?1";
static const char sql_user_chats[] = "DELETE FROM chats WHERE owner_id = ?1";

/* Column i copied into a (or, when a is NULL, the statement's own text, valid until the next
 * step); ERR_NOMEM only when a non-NULL value could not be copied. */
static int text(struct arena *a, db_stmt *st, int i, const char **out)
{
	*out = a ? db_text(a, st, i) : db_col(st, i);
	return *out || db_col_null(st, i) ? 0 : ERR_NOMEM;
}

static long long count_or_unknown(db_stmt *st, int i)
{
	return db_col_null(st, i) ? -1 : db_col_int(st, i);
}

/* A chat from columns first..first+7 (CHAT_COLUMNS), copied into a (see text()). */
static int chat_read(struct arena *a, db_stmt *st, int first, struct chat *c)
{
	const char **f[] = {&c->id,         &c->owner_id,      &c->title,
	                    &c->model,      &c->system_prompt, &c->archived_at,
	                    &c->created_at, &c->updated_at};
	int rc = 0;
	for (int i = 0; i < 8 && !rc; i++)
		rc = text(a, st, first + i, f[i]);
	return rc;
}

/* A message from columns first..first+7 (MSG_COLUMNS), copied into a (see text()). */
static int msg_read(struct arena *a, db_stmt *st, int first, struct chat_msg *m)
{
	const char **f[] = {&m->id, &m->chat_id, &m->role, &m->content, &m->status};
	int rc = 0;
	for (int i = 0; i < 5 && !rc; i++)
		rc = text(a, st, first + i, f[i]);
	m->prompt_tokens = count_or_unknown(st, first + 5);
	m->completion_tokens = count_or_unknown(st, first + 6);
	return rc ? rc : text(a, st, first + 7, &m->created_at);
}

int chat_owned(struct arena *a, const char *id, const char *owner, struct chat *c)
{
	if (!id || uuid_check(id) != 0)
		return ERR_NOTFOUND;
	const char *keys[] = {id, owner};
	const char **f[] = {&c->id,         &c->owner_id,      &c->title,
	                    &c->model,      &c->system_prompt, &c->archived_at,
	                    &c->created_at, &c->updated_at};
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

static int chat_item(struct arena *a, db_stmt *st, void *item)
{
	return chat_read(a, st, 0, item);
}

int chat_list(struct arena *a, const char *owner, bool archived, const struct page *pg,
              struct page_out *out)
{
	db_stmt *st = db_prep(sql_list);
	if (!st)
		return ERR_DB;
	db_bind_text(st, 1, owner);
	db_bind_text(st, 2, pg->cursor);
	db_bind_int(st, 3, pg->limit + 1);
	db_bind_int(st, 4, archived);
	return db_page(a, st, pg, sizeof(struct chat), chat_item, out, "chat list");
}

int chat_update(struct arena *a, const char *id, const char *owner, const struct chat_change *ch,
                struct chat *out)
{
	char now[TIME_RFC3339_LEN];
	time_rfc3339(time_now_us(), now);
	int rc = db_begin();
	if (rc)
		return rc;
	db_stmt *st = db_prep(sql_update);
	if (!st) {
		db_rollback();
		return ERR_DB;
	}
	db_bind_text(st, 1, id);
	db_bind_text(st, 2, owner);
	db_bind_text(st, 3, ch->title);
	db_bind_int(st, 4, ch->set_model);
	db_bind_text(st, 5, ch->model);
	db_bind_int(st, 6, ch->set_prompt);
	db_bind_text(st, 7, ch->system_prompt);
	if (ch->archived >= 0)
		db_bind_int(st, 8, ch->archived);
	db_bind_text(st, 9, now);
	rc = db_exec(st, "chat update");
	if (!rc && db_changes() != 1)
		rc = ERR_NOTFOUND; /* deleted since the caller looked it up */
	/* the row as it now is, inside the transaction that changed it */
	if (!rc)
		rc = chat_owned(a, id, owner, out);
	if (!rc)
		rc = db_commit();
	if (rc)
		db_rollback();
	return rc;
}

int chat_archive(const char *id, const char *owner)
{
	char now[TIME_RFC3339_LEN];
	time_rfc3339(time_now_us(), now);
	const char *v[] = {id, owner, now};
	return db_run(sql_archive, "chat archive", 3, v);
}

int chat_delete(const char *id, const char *owner)
{
	const char *v[] = {id, owner};
	return db_run(sql_delete, "chat delete", 2, v);
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
	db_stmt *st = db_prep(sql_today);
	if (!st)
		return ERR_DB;
	db_bind_text(st, 1, owner);
	db_bind_text(st, 2, day);
	int rc = db_step(st, "chat quota");
	if (rc == DB_ROW)
		*left = db_col_int(st, 0) < limit;
	db_done(st);
	return rc == DB_ROW ? 0 : rc < 0 ? rc : ERR_DB;
}

static int msg_write(const char *owner, const struct chat_msg *m)
{
	db_stmt *st = db_prep(sql_msg_insert);
	if (!st)
		return ERR_DB;
	const char *text[] = {m->id, m->chat_id, m->role, m->content, m->status};
	for (int i = 0; i < 5; i++)
		db_bind_text(st, i + 1, text[i]);
	if (m->prompt_tokens >= 0)
		db_bind_int(st, 6, m->prompt_tokens);
	if (m->completion_tokens >= 0)
		db_bind_int(st, 7, m->completion_tokens);
	db_bind_text(st, 8, m->created_at);
	db_bind_text(st, 9, owner);
	return db_exec(st, "chat message insert");
}

int chat_msg_stamp(struct arena *a, struct chat_msg *m)
{
	char *id = arena_alloc(a, UUID_STR_LEN), *now = arena_alloc(a, TIME_RFC3339_LEN);
	if (!id || !now || uuid7(id) != 0)
		return ERR_NOMEM;
	time_rfc3339(time_now_us(), now);
	m->id = id;
	m->created_at = now;
	return 0;
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

struct msg_insert {
	const char *owner;
	const struct chat_msg *m;
	const char *event; /* the chat.message event's data */
	const char *touch; /* the chat's first message, to touch the chat with; NULL: no touch */
};

static int touch_write(const char *chat_id, const char *first_message)
{
	char now[TIME_RFC3339_LEN], title[64];
	time_rfc3339(time_now_us(), now);
	title_of(first_message, title, sizeof title);
	const char *v[] = {chat_id, now, title};
	return db_run(sql_touch, "chat touch", 3, v);
}

/* On the writer: the count, the insert and the owner's chat.message event in one
 * transaction, so two messages at once cannot both take the last one of the day, and the
 * owner's other tabs and devices hear of exactly the messages that were kept. */
static int msg_insert_txn(void *ctx)
{
	const struct msg_insert *x = ctx;
	bool left = true;
	int rc = strcmp(x->m->role, "user") == 0 ? quota_left(x->owner, &left) : 0;
	if (!rc && !left)
		rc = ERR_BUSY;
	if (!rc)
		rc = msg_write(x->owner, x->m);
	/* the chat's new title and order are in place when the event arrives */
	if (!rc && x->touch)
		rc = touch_write(x->m->chat_id, x->touch);
	return rc ? rc : hub_user_event(x->owner, "chat.message", x->event, NULL);
}

int chat_msg_insert(struct arena *a, const char *owner, struct chat_msg *m, const char *touch)
{
	if (!m->id && chat_msg_stamp(a, m))
		return ERR_NOMEM;
	/* built before taking the writer's turn */
	struct buf event = BUF_INIT(HUB_DATA_MAX);
	int rc = chat_msg_event(&event, m);
	if (!rc) {
		struct msg_insert x = {owner, m, buf_str(&event), touch};
		rc = db_write(msg_insert_txn, &x);
	}
	buf_free(&event);
	return rc;
}

static int msg_item(struct arena *a, db_stmt *st, void *item)
{
	return msg_read(a, st, 0, item);
}

int chat_messages(struct arena *a, const char *chat_id, const struct page *pg, struct page_out *out)
{
	db_stmt *st = db_prep(sql_messages);
	if (!st)
		return ERR_DB;
	db_bind_text(st, 1, chat_id);
	db_bind_text(st, 2, pg->cursor);
	db_bind_int(st, 3, pg->limit + 1);
	return db_page(a, st, pg, sizeof(struct chat_msg), msg_item, out, "chat messages");
}

int chat_history(struct arena *a, const char *chat_id, int n, struct llm_msg **out, size_t *count)
{
	struct llm_msg *msgs = arena_alloc(a, sizeof *msgs * (size_t)(n + 1));
	if (!msgs)
		return ERR_NOMEM;
	db_stmt *st = db_prep(sql_history);
	if (!st)
		return ERR_DB;
	db_bind_text(st, 1, chat_id);
	db_bind_int(st, 2, n);
	size_t k = 0;
	int step = DB_DONE, rc = 0;
	while (!rc && (step = db_step(st, "chat history")) == DB_ROW && k < (size_t)n) {
		rc = text(a, st, 0, &msgs[k].role);
		if (!rc)
			rc = text(a, st, 1, &msgs[k].content);
		k++;
	}
	if (!rc && step < 0)
		rc = step;
	db_done(st);
	*out = msgs;
	*count = k;
	return rc;
}


static int visit_chat(void *ctx, db_stmt *st)
{
	const struct chat_visit *v = ctx;
	struct chat c;
	int rc = chat_read(NULL, st, 0, &c);
	return rc ? rc : v->chat(v->ctx, &c);
}

static int visit_msg(void *ctx, db_stmt *st)
{
	const struct chat_visit *v = ctx;
	struct chat_msg m;
	int rc = msg_read(NULL, st, 8, &m);
	return rc ? rc : v->msg(v->ctx, &m);
}

int chat_each_of(struct arena *a, const char *owner, const struct chat_visit *v)
{
	(void)a;
	db_stmt *st = db_prep(sql_all_of);
	if (!st)
		return ERR_DB;
	db_bind_text(st, 1, owner);
	return db_groups(st, 8, visit_chat, visit_msg, (void *)v, "chat export");
}

int chat_user_deleted(const char *user_id)
{
	const char *v[] = {user_id};
	int rc = db_run(sql_user_messages, "chat user deleted", 1, v);
	return rc ? rc : db_run(sql_user_chats, "chat user deleted", 1, v);
}
