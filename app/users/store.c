/* users/store.c: every SQL statement on the users table. Must never build SQL from values
 * and never return a password hash to anything but auth's verification. */
#include <stdio.h>
#include <string.h>

#include "core/time.h"
#include "store/db.h"
#include "users/handlers.h"
#include "users/users.h"

#define USER_COLUMNS                                                                                 \
	"id, email, phone, password_hash, name, bio, country, locale, avatar_media_id, finance, role, " \
	"email_verified_at, created_at, updated_at, disabled"

static const char sql_by_id[] = "SELECT " USER_COLUMNS " FROM users WHERE id = ?1";
static const char sql_by_email[] = "SELECT " USER_COLUMNS " FROM users WHERE email = ?1";
static const char sql_by_phone[] = "SELECT " USER_COLUMNS " FROM users WHERE phone = ?1";
static const char sql_insert[] =
	"INSERT INTO users(id, email, phone, password_hash, name, role, created_at, updated_at)"
	" VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)";
static const char sql_set_password[] =
	"UPDATE users SET password_hash = ?2, updated_at = ?3 WHERE id = ?1";
static const char sql_verified[] =
	"UPDATE users SET email_verified_at = coalesce(email_verified_at, ?2), updated_at = ?2 WHERE id = ?1";

/* Runs a one-parameter lookup statement and fills u. */
static int lookup(struct arena *a, const char *sql, const char *key, struct user *u)
{
	sqlite3_stmt *st = db_prep(sql);
	if (!st)
		return ERR_DB;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	int step = sqlite3_step(st), rc = 0;
	if (step == SQLITE_ROW) {
		memset(u, 0, sizeof *u);
		const char **fields[] = {&u->id, &u->email, &u->phone, &u->password_hash, &u->name,
		                         &u->bio, &u->country, &u->locale, &u->avatar_media_id, &u->finance,
		                         &u->role, &u->email_verified_at, &u->created_at, &u->updated_at};
		for (int i = 0; i < 14; i++)
			*fields[i] = db_text(a, st, i);
		u->disabled = sqlite3_column_int(st, 14) != 0;
		if (!u->id || !u->role)
			rc = ERR_NOMEM;
	} else {
		rc = step == SQLITE_DONE ? ERR_NOTFOUND : db_fail("user lookup");
	}
	db_done(st);
	return rc;
}

int users_by_id(struct arena *a, const char *id, struct user *u)
{
	return lookup(a, sql_by_id, id, u);
}

int users_by_email(struct arena *a, const char *email, struct user *u)
{
	return lookup(a, sql_by_email, email, u);
}

int users_by_phone(struct arena *a, const char *phone, struct user *u)
{
	return lookup(a, sql_by_phone, phone, u);
}

static void bind_or_null(sqlite3_stmt *st, int i, const char *v)
{
	if (v)
		sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, i);
}

int users_create(const char *email, const char *phone, const char *password_hash,
                 const char *name, const char *role, char id[UUID_STR_LEN])
{
	char now[TIME_RFC3339_LEN];
	if (uuid7(id))
		return ERR_CRYPTO;
	time_rfc3339(time_now_us(), now);
	sqlite3_stmt *st = db_prep(sql_insert);
	if (!st)
		return ERR_DB;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	bind_or_null(st, 2, email);
	bind_or_null(st, 3, phone);
	bind_or_null(st, 4, password_hash);
	sqlite3_bind_text(st, 5, name ? name : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, role ? role : "user", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, now, -1, SQLITE_STATIC);
	int step = sqlite3_step(st);
	int rc = step == SQLITE_DONE ? 0
	         : (sqlite3_extended_errcode(db_conn()) == SQLITE_CONSTRAINT_UNIQUE ? ERR_EXISTS
	                                                                             : db_fail("user insert"));
	db_done(st);
	return rc;
}

static int update2(const char *sql, const char *id, const char *a, const char *b)
{
	sqlite3_stmt *st = db_prep(sql);
	if (!st)
		return ERR_DB;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, a, -1, SQLITE_STATIC);
	if (b)
		sqlite3_bind_text(st, 3, b, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : db_fail("user update");
	if (!rc && sqlite3_changes(db_conn()) == 0)
		rc = ERR_NOTFOUND;
	db_done(st);
	return rc;
}

int users_set_password(const char *id, const char *password_hash)
{
	char now[TIME_RFC3339_LEN];
	time_rfc3339(time_now_us(), now);
	return update2(sql_set_password, id, password_hash, now);
}

int users_mark_email_verified(const char *id)
{
	char now[TIME_RFC3339_LEN];
	time_rfc3339(time_now_us(), now);
	return update2(sql_verified, id, now, NULL);
}

void users_json(struct jw *w, const struct user *u, bool full)
{
	jw_obj(w);
	jw_kstr(w, "id", u->id);
	jw_kstr(w, "name", u->name);
	if (u->avatar_media_id) {
		struct buf url = BUF_INIT(128);
		if (buf_printf(&url, "/api/v1/media/%s", u->avatar_media_id) == 0)
			jw_kstr(w, "avatar_url", buf_str(&url));
		buf_free(&url);
	} else {
		jw_knull(w, "avatar_url");
	}
	if (full) {
		jw_kstr(w, "email", u->email);
		jw_kbool(w, "email_verified", u->email_verified_at != NULL);
		jw_kstr(w, "phone", u->phone);
		jw_kstr(w, "bio", u->bio);
		jw_kstr(w, "country", u->country);
		jw_kstr(w, "locale", u->locale);
		jw_kstr(w, "avatar_media_id", u->avatar_media_id);
		jw_key(w, "finance");
		if (u->finance)
			jw_raw(w, u->finance, strlen(u->finance));
		else
			jw_null(w);
		jw_kstr(w, "role", u->role);
		jw_kbool(w, "disabled", u->disabled);
		jw_kstr(w, "created_at", u->created_at);
		jw_kstr(w, "updated_at", u->updated_at);
	}
	jw_obj_end(w);
}

bool users_email_ok(const char *e)
{
	size_t n = strlen(e);
	const char *at = strchr(e, '@');
	if (n < 3 || n > 254 || !at || at == e || strchr(at + 1, '@') || !strchr(at + 1, '.'))
		return false;
	if (at[1] == '.' || e[n - 1] == '.' || at - e > 64)
		return false;
	for (const unsigned char *p = (const unsigned char *)e; *p; p++)
		if (*p <= ' ' || *p == 0x7f || strchr("<>()[]\\,;:\"", *p))
			return false;
	return true;
}

bool users_phone_ok(const char *p)
{
	size_t n = strlen(p);
	if (n < 9 || n > 16 || p[0] != '+' || p[1] == '0')
		return false;
	for (size_t i = 1; i < n; i++)
		if (p[i] < '0' || p[i] > '9')
			return false;
	return true;
}

int users_page(struct req *r, sqlite3_stmt *st, int limit, bool full)
{
	/* ids first: the statement must be done before the lookups below use the connection */
	const char **ids = arena_alloc(&r->arena, sizeof *ids * (size_t)(limit + 1));
	int n = 0;
	while (ids && n <= limit && sqlite3_step(st) == SQLITE_ROW)
		ids[n++] = arena_strdup(&r->arena, (const char *)sqlite3_column_text(st, 0));
	db_done(st);
	if (!ids)
		return ERR_NOMEM;
	struct jw w;
	res_json(r, 200, &w);
	jw_obj(&w);
	jw_key(&w, "items");
	jw_arr(&w);
	for (int i = 0; i < n && i < limit; i++) {
		struct user u;
		if (ids[i] && users_by_id(&r->arena, ids[i], &u) == 0 && (full || !u.disabled))
			users_json(&w, &u, full);
	}
	jw_arr_end(&w);
	if (n > limit)
		jw_kstr(&w, "next_cursor", ids[limit - 1]);
	else
		jw_knull(&w, "next_cursor");
	jw_obj_end(&w);
	return res_end(r, &w);
}
