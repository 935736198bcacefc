/* copilot/store.c: every SQL statement on copilot_sessions and copilot_details. Must never
 * build SQL from values; every lookup names the owner. */
#include <string.h>

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
static const char sql_history[] =
	"SELECT input, output FROM copilot_details WHERE session_id = ?1 AND status = 'answered'"
	" AND (?2 IS NULL OR id < ?2) ORDER BY id";

static void now_into(char out[TIME_RFC3339_LEN])
{
	time_rfc3339(time_now_us(), out);
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

void session_json(struct jw *w, const struct session *s)
{
	jw_obj(w);
	jw_kstr(w, "id", s->id);
	jw_kstr(w, "topic", s->topic);
	jw_key(w, "portfolio");
	if (s->portfolio)
		jw_raw(w, s->portfolio, strlen(s->portfolio)); /* written by portfolio_for: valid JSON */
	else
		jw_null(w);
	jw_kstr(w, "created_at", s->created_at);
	jw_kstr(w, "updated_at", s->updated_at);
	jw_obj_end(w);
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

void detail_json(struct jw *w, const struct detail *d)
{
	jw_obj(w);
	jw_kstr(w, "id", d->id);
	jw_kstr(w, "input", d->input);
	jw_kstr(w, "output", d->output);
	jw_kstr(w, "status", d->status);
	jw_kstr(w, "source", d->source);
	jw_kstr(w, "error", d->error);
	jw_kstr(w, "created_at", d->created_at);
	jw_obj_end(w);
}

int history(struct arena *a, const char *session_id, const char *before, struct llm_msg **out, size_t *n)
{
	size_t cap = 16, k = 0;
	struct llm_msg *m = arena_alloc(a, sizeof *m * cap);
	sqlite3_stmt *st = m ? db_prep(sql_history) : NULL;
	if (!st)
		return m ? ERR_DB : ERR_NOMEM;
	sqlite3_bind_text(st, 1, session_id, -1, SQLITE_STATIC);
	if (before)
		sqlite3_bind_text(st, 2, before, -1, SQLITE_STATIC);
	int step = SQLITE_DONE, rc = 0;
	while (!rc && (step = sqlite3_step(st)) == SQLITE_ROW) {
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
		m[k++] = (struct llm_msg){"user", db_text(a, st, 0)};
		m[k++] = (struct llm_msg){"assistant", db_text(a, st, 1)};
		if (!m[k - 2].content || !m[k - 1].content)
			rc = ERR_NOMEM;
	}
	if (!rc && step != SQLITE_DONE)
		rc = db_fail("copilot history");
	db_done(st);
	*out = m;
	*n = k;
	return rc;
}
