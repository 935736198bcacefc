/* users/store.c: every SQL statement on the users and contacts tables, through store/db.h's
 * engine-neutral calls only. Must never build SQL from values, and never hand a password
 * hash to anything but a lookup of one account (auth's verification). */
#include <string.h>

#include "core/time.h"
#include "store/db.h"
#include "users/users.h"

/* Column 0 is always the id: the cursor of a page and the first field of struct user. */
#define USER_COLUMNS_WITH(pw)                                                                     \
	"u.id, u.email, u.phone, " pw ", u.name, u.bio, u.country, u.locale, u.avatar_media_id, "     \
	"u.finance, u.role, u.email_verified_at, u.created_at, u.updated_at, u.disabled, u.session_gen, "  \
	"u.show_presence"
#define USER_COLUMNS USER_COLUMNS_WITH("u.password_hash")
/* lists never carry password hashes */
#define USER_COLUMNS_LISTED USER_COLUMNS_WITH("NULL")

static const char sql_by_id[] = "SELECT " USER_COLUMNS " FROM users u WHERE u.id = ?1";
static const char sql_by_email[] = "SELECT " USER_COLUMNS " FROM users u WHERE u.email = ?1";
static const char sql_by_phone[] = "SELECT " USER_COLUMNS " FROM users u WHERE u.phone = ?1";
/* ids are UUIDv7, so "id < cursor" pages from newest to oldest */
static const char sql_search[] =
	"SELECT " USER_COLUMNS_LISTED " FROM users u"
	" WHERE (?1 IS NULL OR u.email LIKE ?1 ESCAPE '\\' OR u.name LIKE ?1 ESCAPE '\\'"
	" OR u.phone LIKE ?1 ESCAPE '\\')"
	" AND (?2 IS NULL OR u.role = ?2) AND (?3 IS NULL OR u.id < ?3)"
	" ORDER BY u.id DESC LIMIT ?4";
static const char sql_avatar_used[] = "SELECT 1 FROM users WHERE avatar_media_id = ?1 LIMIT 1";
static const char sql_insert[] =
	"INSERT INTO users(id, email, phone, password_hash, name, role, created_at, updated_at)"
	" VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)";
static const char sql_set_password[] = "UPDATE users SET password_hash = ?2, updated_at = ?3 WHERE id = ?1";
static const char sql_verified[] =
	"UPDATE users SET email_verified_at = coalesce(email_verified_at, ?2), updated_at = ?2 WHERE id = ?1";
/* one static statement: ?2k (present) decides whether ?2k+1 replaces the column */
static const char sql_update[] =
	"UPDATE users SET"
	" name = CASE WHEN ?2 = 1 THEN ?3 ELSE name END,"
	" bio = CASE WHEN ?4 = 1 THEN ?5 ELSE bio END,"
	" country = CASE WHEN ?6 = 1 THEN ?7 ELSE country END,"
	" phone = CASE WHEN ?8 = 1 THEN ?9 ELSE phone END,"
	" avatar_media_id = CASE WHEN ?10 = 1 THEN ?11 ELSE avatar_media_id END,"
	" locale = CASE WHEN ?12 = 1 THEN ?13 ELSE locale END,"
	" finance = CASE WHEN ?14 = 1 THEN ?15 ELSE finance END,"
	" updated_at = ?16,"
	" show_presence = coalesce(?17, show_presence)"
	" WHERE id = ?1";
static const char sql_set_access[] =
	"UPDATE users SET role = coalesce(?2, role), disabled = coalesce(?3, disabled), updated_at = ?4"
	" WHERE id = ?1";
static const char sql_bump_gen[] = "UPDATE users SET session_gen = session_gen + 1 WHERE id = ?1";
static const char sql_clear_avatar[] = "UPDATE users SET avatar_media_id = NULL WHERE avatar_media_id = ?1";
static const char sql_delete[] = "DELETE FROM users WHERE id = ?1";

/* disabled contacts are left out: their cards are gone for everyone but admins */
static const char sql_contacts_page[] =
	"SELECT " USER_COLUMNS_LISTED " FROM contacts c JOIN users u ON u.id = c.contact_id"
	" WHERE c.owner_id = ?1 AND (?2 IS NULL OR c.contact_id > ?2) AND u.disabled = 0"
	" ORDER BY c.contact_id LIMIT ?3";
static const char sql_contact_insert[] =
	"INSERT INTO contacts(owner_id, contact_id, created_at) VALUES(?1, ?2, ?3) ON CONFLICT DO NOTHING";
static const char sql_contact_delete[] = "DELETE FROM contacts WHERE owner_id = ?1 AND contact_id = ?2";
static const char sql_contact_linked[] = "SELECT 1 FROM contacts WHERE owner_id = ?1 AND contact_id = ?2";
static const char sql_contacts_of_user[] = "DELETE FROM contacts WHERE owner_id = ?1 OR contact_id = ?1";
static const char sql_contacts_mutual[] =
	"SELECT c.contact_id, u.show_presence FROM contacts c JOIN contacts back ON back.owner_id = c.contact_id "
	"AND back.contact_id = c.owner_id JOIN users u ON u.id = c.contact_id"
	" WHERE c.owner_id = ?1 ORDER BY c.contact_id LIMIT ?2";
static const char sql_contacts_export[] =
	"SELECT contact_id, created_at FROM contacts WHERE owner_id = ?1 ORDER BY contact_id";

/* Fills the struct user at item from the current row (USER_COLUMNS order). */
static int user_row(struct arena *a, db_stmt *st, void *item)
{
	struct user *u = item;
	memset(u, 0, sizeof *u);
	const char **text[] = {&u->id,      &u->email,  &u->phone,           &u->password_hash,
	                       &u->name,    &u->bio,    &u->country,         &u->locale,
	                       &u->avatar_media_id,     &u->finance,         &u->role,
	                       &u->email_verified_at,   &u->created_at,      &u->updated_at};
	for (int i = 0; i < 14; i++)
		if (!db_col_null(st, i) && !(*text[i] = db_text(a, st, i)))
			return ERR_NOMEM;
	u->disabled = db_col_int(st, 14) != 0;
	u->session_gen = db_col_int(st, 15);
	u->show_presence = db_col_int(st, 16) != 0;
	return u->id && u->role ? 0 : ERR_DB;
}

/* Runs a one-parameter lookup and fills u. */
static int lookup(struct arena *a, const char *sql, const char *key, struct user *u)
{
	db_stmt *st = db_prep(sql);
	if (!st)
		return ERR_DB;
	db_bind_text(st, 1, key);
	return db_one(a, st, user_row, u, "user lookup");
}

/* Steps a bound statement that writes and finishes it: 0, ERR_NOTFOUND when must_change
 * and no row changed, ERR_EXISTS (a unique key is taken) or ERR_DB. */
static int write_done(db_stmt *st, const char *context, bool must_change)
{
	int rc = db_step(st, context);
	if (rc == DB_DONE && must_change && db_changes() == 0)
		rc = ERR_NOTFOUND;
	db_done(st);
	return rc == DB_ROW ? 0 : rc;
}

/* Runs a query whose only answer is whether it has a row; false on errors (logged). */
static bool exists(const char *sql, const char *context, const char *p1, const char *p2)
{
	db_stmt *st = db_prep(sql);
	if (!st)
		return false;
	db_bind_text(st, 1, p1);
	if (p2)
		db_bind_text(st, 2, p2);
	bool found = db_step(st, context) == DB_ROW;
	db_done(st);
	return found;
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

/* "%" + q with % _ \ escaped + "%": q matches as a plain substring */
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

int users_search(struct arena *a, const char *q, const char *role, const struct page *pg, struct page_out *out)
{
	char *pattern = q && *q ? like_pattern(a, q) : NULL;
	if (q && *q && !pattern)
		return ERR_NOMEM;
	db_stmt *st = db_prep(sql_search);
	if (!st)
		return ERR_DB;
	db_bind_text(st, 1, pattern);
	db_bind_text(st, 2, role);
	db_bind_text(st, 3, pg->cursor);
	db_bind_int(st, 4, pg->limit + 1);
	return db_page(a, st, pg, sizeof(struct user), user_row, out, "user search");
}

bool users_avatar_in_use(const char *media_id)
{
	return exists(sql_avatar_used, "avatar lookup", media_id, NULL);
}

int users_create(const char *email, const char *phone, const char *password_hash, const char *name,
                 const char *role, char id[UUID_STR_LEN])
{
	char now[TIME_RFC3339_LEN];
	if (uuid7(id))
		return ERR_CRYPTO;
	time_rfc3339(time_now_us(), now);
	db_stmt *st = db_prep(sql_insert);
	if (!st)
		return ERR_DB;
	db_bind_text(st, 1, id);
	db_bind_text(st, 2, email);
	db_bind_text(st, 3, phone);
	db_bind_text(st, 4, password_hash);
	db_bind_text(st, 5, name ? name : "");
	db_bind_text(st, 6, role ? role : "user");
	db_bind_text(st, 7, now);
	return write_done(st, "user insert", false);
}

int users_set_password(const char *id, const char *password_hash)
{
	char now[TIME_RFC3339_LEN];
	time_rfc3339(time_now_us(), now);
	db_stmt *st = db_prep(sql_set_password);
	if (!st)
		return ERR_DB;
	db_bind_text(st, 1, id);
	db_bind_text(st, 2, password_hash);
	db_bind_text(st, 3, now);
	return write_done(st, "user password", true);
}

int users_mark_email_verified(const char *id)
{
	char now[TIME_RFC3339_LEN];
	time_rfc3339(time_now_us(), now);
	db_stmt *st = db_prep(sql_verified);
	if (!st)
		return ERR_DB;
	db_bind_text(st, 1, id);
	db_bind_text(st, 2, now);
	return write_done(st, "user verified", true);
}

int users_update(const char *id, const struct user_changes *c)
{
	char now[TIME_RFC3339_LEN];
	time_rfc3339(time_now_us(), now);
	db_stmt *st = db_prep(sql_update);
	if (!st)
		return ERR_DB;
	const bool has[] = {c->has_name, c->has_bio, c->has_country, c->has_phone,
	                    c->has_avatar, c->has_locale, c->has_finance};
	const char *val[] = {c->name, c->bio, c->country, c->phone, c->avatar_media_id, c->locale, c->finance};
	db_bind_text(st, 1, id);
	for (int i = 0; i < 7; i++) {
		db_bind_int(st, 2 + 2 * i, has[i]);
		db_bind_text(st, 3 + 2 * i, val[i]);
	}
	db_bind_text(st, 16, now);
	if (c->show_presence < 0)
		db_bind_null(st, 17);
	else
		db_bind_int(st, 17, c->show_presence);
	return write_done(st, "profile update", true);
}

int users_set_access(const char *id, const char *role, int disabled)
{
	char now[TIME_RFC3339_LEN];
	time_rfc3339(time_now_us(), now);
	db_stmt *st = db_prep(sql_set_access);
	if (!st)
		return ERR_DB;
	db_bind_text(st, 1, id);
	db_bind_text(st, 2, role);
	if (disabled < 0)
		db_bind_null(st, 3);
	else
		db_bind_int(st, 3, disabled != 0);
	db_bind_text(st, 4, now);
	return write_done(st, "user access", true);
}

int users_clear_avatar_media(const char *media_id)
{
	return db_run(sql_clear_avatar, "avatar clear", 1, &media_id);
}

int users_bump_session_gen(const char *id)
{
	db_stmt *st = db_prep(sql_bump_gen);
	if (!st)
		return ERR_DB;
	db_bind_text(st, 1, id);
	return write_done(st, "session generation", true);
}

int contacts_page(struct arena *a, const char *owner_id, const struct page *pg, struct page_out *out)
{
	db_stmt *st = db_prep(sql_contacts_page);
	if (!st)
		return ERR_DB;
	db_bind_text(st, 1, owner_id);
	db_bind_text(st, 2, pg->cursor);
	db_bind_int(st, 3, pg->limit + 1);
	return db_page(a, st, pg, sizeof(struct user), user_row, out, "contacts page");
}

int contacts_insert(const char *owner_id, const char *contact_id, bool *added)
{
	char now[TIME_RFC3339_LEN];
	time_rfc3339(time_now_us(), now);
	db_stmt *st = db_prep(sql_contact_insert);
	if (!st)
		return ERR_DB;
	db_bind_text(st, 1, owner_id);
	db_bind_text(st, 2, contact_id);
	db_bind_text(st, 3, now);
	int rc = write_done(st, "contact insert", true);
	*added = rc == 0;
	return rc == ERR_NOTFOUND ? 0 : rc; /* nothing inserted: it already was a contact */
}

int contacts_delete(const char *owner_id, const char *contact_id)
{
	db_stmt *st = db_prep(sql_contact_delete);
	if (!st)
		return ERR_DB;
	db_bind_text(st, 1, owner_id);
	db_bind_text(st, 2, contact_id);
	return write_done(st, "contact delete", true);
}

bool contacts_linked(const char *owner_id, const char *contact_id)
{
	return owner_id && contact_id && exists(sql_contact_linked, "contact lookup", owner_id, contact_id);
}

int contacts_mutual(struct arena *a, const char *user_id, int max, const char ***ids, bool **shown, int *n)
{
	*n = 0;
	size_t room = (size_t)(max > 0 ? max : 1);
	*ids = arena_alloc(a, sizeof **ids * room);
	*shown = arena_alloc(a, sizeof **shown * room);
	db_stmt *st = *ids && *shown ? db_prep(sql_contacts_mutual) : NULL;
	if (!st)
		return *ids && *shown ? ERR_DB : ERR_NOMEM;
	db_bind_text(st, 1, user_id);
	db_bind_int(st, 2, max);
	int rc;
	while ((rc = db_step(st, "mutual contacts")) == DB_ROW && *n < max) {
		const char *id = arena_strdup(a, db_col(st, 0));
		if (!id) {
			rc = ERR_NOMEM;
			break;
		}
		(*shown)[*n] = db_col_int(st, 1) != 0;
		(*ids)[(*n)++] = id;
	}
	db_done(st);
	return rc == DB_DONE || rc == DB_ROW ? 0 : rc;
}

int users_user_deleted(const char *user_id)
{
	return db_run(sql_contacts_of_user, "user deleted: contacts", 1, &user_id);
}

int users_delete(const char *user_id)
{
	db_stmt *st = db_prep(sql_delete);
	if (!st)
		return ERR_DB;
	db_bind_text(st, 1, user_id);
	return write_done(st, "user delete", true);
}

int users_user_export(struct arena *a, struct jw *w, const char *user_id)
{
	struct user u;
	int rc = users_by_id(a, user_id, &u);
	if (rc)
		return rc;
	db_stmt *st = db_prep(sql_contacts_export);
	if (!st)
		return ERR_DB;
	db_bind_text(st, 1, user_id);
	jw_key(w, "account");
	jw_obj(w);
	jw_key(w, "profile");
	users_json(w, &u, true);
	jw_key(w, "contacts");
	jw_arr(w);
	while ((rc = db_step(st, "contacts export")) == DB_ROW) {
		jw_obj(w);
		jw_kstr(w, "user_id", db_col(st, 0));
		jw_kstr(w, "created_at", db_col(st, 1));
		jw_obj_end(w);
	}
	db_done(st);
	jw_arr_end(w);
	jw_obj_end(w);
	return rc;
}
