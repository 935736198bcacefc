/* copilot/store.c: every SQL statement on copilot_sessions and copilot_details, through
 * store/db.h's engine-neutral calls only. Must never build SQL from values; every lookup names
 * the owner, or a session already checked to be the owner's. */
#include <string.h>

#include "copilot/copilot.h"
#include "copilot/internal.h"
#include "core/time.h"
#include "store/db.h"

static const char sql_owned[] =
	"SELECT id, owner_id, topic, portfolio, created_at, updated_at FROM copilot_sessions WHERE id = ?1 AND owner_id = ?2";
static const char sql_create[] =
	"INSERT INTO copilot_sessions(id, owner_id, topic, created_at, updated_at) VALUES(?1, ?2, ?3, ?4, ?4)";
static const char sql_portfolio[] =
	"UPDATE copilot_sessions SET portfolio = coalesce(portfolio, ?2), updated_at = ?3 WHERE id = ?1";
static const char sql_detail_insert[] =
	"INSERT INTO copilot_details(id, session_id, input, status, created_at, updated_at)"
	" VALUES(?1, ?2, ?3, 'pending', ?4, ?4)";
static const char sql_detail_get[] =
	"SELECT id, session_id, input, output, status, source, error, created_at FROM copilot_details"
	" WHERE id = ?2 AND session_id = ?1";
static const char sql_detail_finish[] =
	"UPDATE copilot_details SET output = ?2, source = ?3, error = ?4,"
	" status = CASE WHEN ?4 IS NULL THEN 'answered' ELSE 'failed' END, updated_at = ?5 WHERE id = ?1";
static const char sql_list[] =
	"SELECT id, owner_id, topic, portfolio, created_at, updated_at FROM copilot_sessions"
	" WHERE owner_id = ?1 AND (?2 IS NULL OR id < ?2) ORDER BY id DESC LIMIT ?3";
static const char sql_details[] =
	"SELECT id, session_id, input, output, status, source, error, created_at FROM copilot_details"
	" WHERE session_id = ?1 ORDER BY id";
/* a session's columns, then one of its details' (all NULL for a session without any) */
static const char sql_all_of[] =
	"SELECT s.id, s.owner_id, s.topic, s.portfolio, s.created_at, s.updated_at, d.id, d.session_id,"
	" d.input, d.output, d.status, d.source, d.error, d.created_at"
	" FROM copilot_sessions s LEFT JOIN copilot_details d ON d.session_id = s.id"
	" WHERE s.owner_id = ?1 ORDER BY s.id, d.id";
static const char sql_user_details[] =
	"DELETE FROM copilot_details WHERE session_id IN (SELECT id FROM copilot_sessions WHERE owner_id = ?1)";
static const char sql_user_sessions[] = "DELETE FROM copilot_sessions WHERE owner_id = ?1";
static const char sql_history[] =
	"SELECT input, output FROM copilot_details WHERE session_id = ?1 AND status = 'answered'"
	" AND (?2 IS NULL OR id < ?2) ORDER BY id";

static void now_into(char out[TIME_RFC3339_LEN])
{
	time_rfc3339(time_now_us(), out);
}

/* Column i copied into a (or, when a is NULL, the statement's own text, valid until the next
 * step); ERR_NOMEM only when a non-NULL value could not be copied. */
static int text(struct arena *a, db_stmt *st, int i, const char **out)
{
	*out = a ? db_text(a, st, i) : db_col(st, i);
	return *out || db_col_null(st, i) ? 0 : ERR_NOMEM;
}

/* A session from columns first..first+5, a detail from first..first+7 (see text()). */
static int session_read(struct arena *a, db_stmt *st, int first, struct session *s)
{
	const char **f[] = {&s->id,        &s->owner_id,   &s->topic,
	                    &s->portfolio, &s->created_at, &s->updated_at};
	int rc = 0;
	for (int i = 0; i < 6 && !rc; i++)
		rc = text(a, st, first + i, f[i]);
	return rc;
}

static int detail_read(struct arena *a, db_stmt *st, int first, struct detail *d)
{
	const char **f[] = {&d->id,     &d->session_id, &d->input, &d->output,
	                    &d->status, &d->source,     &d->error, &d->created_at};
	int rc = 0;
	for (int i = 0; i < 8 && !rc; i++)
		rc = text(a, st, first + i, f[i]);
	return rc;
}

int session_owned(struct arena *a, const char *id, const char *owner, struct session *s)
{
	if (!id || uuid_check(id) != 0)
		return ERR_NOTFOUND;
	const char *keys[] = {id, owner};
	const char **f[] = {&s->id, &s->owner_id, &s->topic, &s->portfolio, &s->created_at, &s->updated_at};
	return db_row(a, sql_owned, "copilot session lookup", 2, keys, f, 6);
}

int session_create(struct arena *a, const char *owner, const char *topic, struct session *out)
{
	char *id = arena_alloc(a, UUID_STR_LEN), *now = arena_alloc(a, TIME_RFC3339_LEN);
	if (!id || !now || uuid7(id) != 0)
		return ERR_NOMEM;
	now_into(now);
	const char *v[] = {id, owner, topic ? topic : "", now};
	int rc = db_run(sql_create, "copilot session create", 4, v);
	*out = (struct session){id, owner, v[2], NULL, now, now};
	return rc;
}

int session_set_portfolio(const char *id, const char *portfolio_json)
{
	char now[TIME_RFC3339_LEN];
	now_into(now);
	const char *v[] = {id, portfolio_json, now};
	return db_run(sql_portfolio, "copilot portfolio", 3, v);
}

int detail_insert(struct arena *a, struct detail *d)
{
	char *id = arena_alloc(a, UUID_STR_LEN), *now = arena_alloc(a, TIME_RFC3339_LEN);
	if (!id || !now || uuid7(id) != 0)
		return ERR_NOMEM;
	now_into(now);
	const char *v[] = {id, d->session_id, d->input, now};
	int rc = db_run(sql_detail_insert, "copilot detail insert", 4, v);
	d->id = id;
	d->created_at = now;
	d->status = "pending";
	return rc;
}

int detail_get(struct arena *a, const char *session_id, const char *id, struct detail *d)
{
	if (!id || uuid_check(id) != 0)
		return ERR_NOTFOUND;
	const char *keys[] = {session_id, id};
	const char **f[] = {&d->id, &d->session_id, &d->input, &d->output, &d->status, &d->source, &d->error,
	                    &d->created_at};
	return db_row(a, sql_detail_get, "copilot detail lookup", 2, keys, f, 8);
}

int detail_finish(const char *id, const char *output, const char *source, const char *error)
{
	char now[TIME_RFC3339_LEN];
	now_into(now);
	const char *v[] = {id, output, source, error, now};
	return db_run(sql_detail_finish, "copilot detail finish", 5, v);
}

static int session_item(struct arena *a, db_stmt *st, void *item)
{
	return session_read(a, st, 0, item);
}

int session_list(struct arena *a, const char *owner, const struct page *pg, struct page_out *out)
{
	db_stmt *st = db_prep(sql_list);
	if (!st)
		return ERR_DB;
	db_bind_text(st, 1, owner);
	db_bind_text(st, 2, pg->cursor);
	db_bind_int(st, 3, pg->limit + 1);
	return db_page(a, st, pg, sizeof(struct session), session_item, out, "copilot sessions");
}

int details_each(const char *session_id, int (*fn)(void *ctx, const struct detail *d), void *ctx)
{
	db_stmt *st = db_prep(sql_details);
	if (!st)
		return ERR_DB;
	db_bind_text(st, 1, session_id);
	int step = DB_DONE, rc = 0;
	while (!rc && (step = db_step(st, "copilot details")) == DB_ROW) {
		struct detail d;
		rc = detail_read(NULL, st, 0, &d);
		if (!rc)
			rc = fn(ctx, &d);
	}
	if (!rc && step < 0)
		rc = step;
	db_done(st);
	return rc;
}

int history(struct arena *a, const char *session_id, const char *before, struct llm_msg **out, size_t *n)
{
	size_t cap = 16, k = 0;
	struct llm_msg *m = arena_alloc(a, sizeof *m * cap);
	db_stmt *st = m ? db_prep(sql_history) : NULL;
	if (!st)
		return m ? ERR_DB : ERR_NOMEM;
	db_bind_text(st, 1, session_id);
	db_bind_text(st, 2, before);
	int step = DB_DONE, rc = 0;
	while (!rc && (step = db_step(st, "copilot history")) == DB_ROW) {
		if (k + 2 > cap) {
			struct llm_msg *grown = arena_alloc(a, sizeof *m * cap * 2);
			if (!grown) {
				rc = ERR_NOMEM;
				break;
			}
			memcpy(grown, m, sizeof *m * k);
			m = grown;
			cap *= 2;
		}
		m[k] = (struct llm_msg){"user", NULL};
		m[k + 1] = (struct llm_msg){"assistant", NULL};
		rc = text(a, st, 0, &m[k].content);
		if (!rc)
			rc = text(a, st, 1, &m[k + 1].content);
		if (!rc && !m[k + 1].content)
			m[k + 1].content = ""; /* never NULL for the model */
		k += 2;
	}
	if (!rc && step < 0)
		rc = step;
	db_done(st);
	*out = m;
	*n = k;
	return rc;
}

static int visit_session(void *ctx, db_stmt *st)
{
	const struct copilot_visit *v = ctx;
	struct session s;
	int rc = session_read(NULL, st, 0, &s);
	return rc ? rc : v->session(v->ctx, &s);
}

static int visit_detail(void *ctx, db_stmt *st)
{
	const struct copilot_visit *v = ctx;
	struct detail d;
	int rc = detail_read(NULL, st, 6, &d);
	return rc ? rc : v->detail(v->ctx, &d);
}

int copilot_each_of(struct arena *a, const char *owner, const struct copilot_visit *v)
{
	(void)a;
	db_stmt *st = db_prep(sql_all_of);
	if (!st)
		return ERR_DB;
	db_bind_text(st, 1, owner);
	return db_groups(st, 6, visit_session, visit_detail, (void *)v, "copilot export");
}

int copilot_user_deleted(const char *user_id)
{
	const char *v[] = {user_id};
	int rc = db_run(sql_user_details, "copilot user deleted", 1, v);
	return rc ? rc : db_run(sql_user_sessions, "copilot user deleted", 1, v);
}
