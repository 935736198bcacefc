/* users/admin.c: GET /admin/users (search, role filter, cursor pages) and PATCH
 * /admin/users/{id} (role, disabled). An admin cannot demote or disable themselves, so
 * the appliance never loses its last way in by accident. */
#include <string.h>

#include "core/time.h"
#include "store/db.h"
#include "users/handlers.h"
#include "users/users.h"

/* ids are UUIDv7, so "id < cursor" pages from newest to oldest */
static const char sql_list[] =
	"SELECT id FROM users"
	" WHERE (?1 IS NULL OR email LIKE ?1 ESCAPE '\\' OR name LIKE ?1 ESCAPE '\\' OR phone LIKE ?1 ESCAPE '\\')"
	" AND (?2 IS NULL OR role = ?2) AND (?3 IS NULL OR id < ?3)"
	" ORDER BY id DESC LIMIT ?4";
static const char sql_patch[] =
	"UPDATE users SET role = coalesce(?2, role), disabled = coalesce(?3, disabled), updated_at = ?4"
	" WHERE id = ?1";

static bool role_ok(const char *role)
{
	return !strcmp(role, "user") || !strcmp(role, "agent") || !strcmp(role, "admin");
}

/* "%" + q with % _ \ escaped + "%" */
static char *like_pattern(struct arena *a, const char *q)
{
	size_t n = strlen(q);
	char *p = arena_alloc(a, 2 * n + 3), *o = p;
	if (!p)
		return NULL;
	*o++ = '%';
	for (const char *s = q; *s; s++) {
		if (*s == '%' || *s == '_' || *s == '\\')
			*o++ = '\\';
		*o++ = *s;
	}
	*o++ = '%';
	*o = '\0';
	return p;
}

int admin_users_list(struct req *r)
{
	int limit;
	const char *cursor, *q = req_query(r, "q"), *role = req_query(r, "role");
	int rc = req_page(r, &limit, &cursor);
	if (rc)
		return rc;
	if (role && !role_ok(role))
		return http_error(r, E_INVALID_INPUT, "role must be user, agent or admin", "role");
	if (q && strlen(q) > 200)
		return http_error(r, E_INVALID_INPUT, "q must be at most 200 bytes", "q");
	char *pattern = q && *q ? like_pattern(&r->arena, q) : NULL;
	sqlite3_stmt *st = db_prep(sql_list);
	if (!st)
		return ERR_DB;
	if (pattern)
		sqlite3_bind_text(st, 1, pattern, -1, SQLITE_STATIC);
	if (role)
		sqlite3_bind_text(st, 2, role, -1, SQLITE_STATIC);
	if (cursor)
		sqlite3_bind_text(st, 3, cursor, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 4, limit + 1);
	return users_page(r, st, limit, true);
}

int admin_user_patch(struct req *r)
{
	const char *id = req_param(r, "id");
	struct json *body;
	int rc = req_object(r, &body);
	if (rc)
		return rc;
	const char *role;
	bool has_disabled, disabled = false;
	if ((rc = req_str(r, body, "role", false, 8, &role)) || (rc = req_bool(r, body, "disabled", &has_disabled, &disabled)))
		return rc;
	if (role && !role_ok(role))
		return http_error(r, E_INVALID_INPUT, "role must be user, agent or admin", "role");
	if (uuid_check(id) != 0)
		return http_error(r, E_NOT_FOUND, "no such user", NULL);
	if (strcmp(id, r->user_id) == 0 && ((role && strcmp(role, "admin")) || (has_disabled && disabled)))
		return http_error(r, E_CONFLICT, "an admin cannot demote or disable themselves", NULL);
	char now[TIME_RFC3339_LEN];
	time_rfc3339(time_now_us(), now);
	sqlite3_stmt *st = db_prep(sql_patch);
	if (!st)
		return ERR_DB;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	if (role)
		sqlite3_bind_text(st, 2, role, -1, SQLITE_STATIC);
	if (has_disabled)
		sqlite3_bind_int(st, 3, disabled);
	sqlite3_bind_text(st, 4, now, -1, SQLITE_STATIC);
	int step = sqlite3_step(st);
	int changed = sqlite3_changes(db_conn());
	db_done(st);
	if (step != SQLITE_DONE)
		return db_fail("user patch");
	if (!changed)
		return http_error(r, E_NOT_FOUND, "no such user", NULL);
	struct user u;
	if ((rc = users_by_id(&r->arena, id, &u)))
		return rc;
	struct jw w;
	res_json(r, 200, &w);
	users_json(&w, &u, true);
	return res_end(r, &w);
}
