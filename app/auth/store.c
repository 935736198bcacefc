/* auth/store.c: every SQL statement on auth's tables (refresh_tokens, sessions, email_tokens,
 * otp_codes), through store/db.h's engine-neutral calls only. Must never build SQL from values,
 * never store a token or code but as its hash, and never write one out. */
#include <string.h>

#include "auth/auth.h"
#include "auth/internal.h"
#include "store/db.h"

static const char sql_refresh_insert[] =
	"INSERT INTO refresh_tokens(token_hash, family_id, user_id, created_at, expires_at)"
	" VALUES(?1, ?2, ?3, ?4, ?5)";
static const char sql_refresh_find[] =
	"SELECT family_id, user_id, expires_at, rotated_at, revoked_at FROM refresh_tokens"
	" WHERE token_hash = ?1";
static const char sql_refresh_rotate[] = "UPDATE refresh_tokens SET rotated_at = ?2 WHERE token_hash = ?1";
static const char sql_revoke_family[] =
	"UPDATE refresh_tokens SET revoked_at = coalesce(revoked_at, ?2) WHERE family_id = ?1";
static const char sql_revoke_user[] =
	"UPDATE refresh_tokens SET revoked_at = coalesce(revoked_at, ?2) WHERE user_id = ?1";

static const char sql_session_revoke[] =
	"UPDATE sessions SET revoked_at = coalesce(revoked_at, ?2) WHERE id = ?1";
static const char sql_session_revoke_user[] =
	"UPDATE sessions SET revoked_at = coalesce(revoked_at, ?2) WHERE user_id = ?1";
static const char sql_session_insert[] =
	"INSERT INTO sessions(id, user_id, device, created_at, last_used_at, expires_at)"
	" VALUES(?1, ?2, ?3, ?4, ?4, ?5)";
static const char sql_session_touch[] =
	"UPDATE sessions SET last_used_at = ?2, expires_at = ?3 WHERE id = ?1";
/* column 0 is the id: the cursor of a page; ids are UUIDv7, so "id < cursor" is older */
#define SESSION_COLUMNS "id, device, created_at, last_used_at"
static const char sql_session_find[] =
	"SELECT " SESSION_COLUMNS " FROM sessions"
	" WHERE id = ?1 AND user_id = ?2 AND revoked_at IS NULL AND expires_at > ?3";
static const char sql_session_page[] =
	"SELECT " SESSION_COLUMNS " FROM sessions"
	" WHERE user_id = ?1 AND revoked_at IS NULL AND expires_at > ?2 AND (?3 IS NULL OR id < ?3)"
	" ORDER BY id DESC LIMIT ?4";
static const char sql_session_revoked_since[] =
	"SELECT id, revoked_at FROM sessions WHERE revoked_at > ?1";

static const char sql_email_insert[] =
	"INSERT INTO email_tokens(token_hash, user_id, purpose, created_at, expires_at) VALUES(?1, ?2, ?3, ?4, ?5)";
static const char sql_email_find[] =
	"SELECT user_id, purpose FROM email_tokens WHERE token_hash = ?1 AND used_at IS NULL AND expires_at > ?2";
static const char sql_email_use[] = "UPDATE email_tokens SET used_at = ?2 WHERE token_hash = ?1 AND used_at IS NULL";

static const char sql_otp_put[] =
	"INSERT INTO otp_codes(phone, code_hash, expires_at, tries_left, created_at) VALUES(?1, ?2, ?3, ?4, ?5)"
	" ON CONFLICT(phone) DO UPDATE SET code_hash = excluded.code_hash, expires_at = excluded.expires_at,"
	" tries_left = excluded.tries_left, created_at = excluded.created_at";
static const char sql_otp_find[] = "SELECT code_hash, expires_at, tries_left FROM otp_codes WHERE phone = ?1";
static const char sql_otp_spend[] = "UPDATE otp_codes SET tries_left = tries_left - 1 WHERE phone = ?1";
static const char sql_otp_delete[] = "DELETE FROM otp_codes WHERE phone = ?1";

/* account deletion and export */
static const char sql_refresh_of_user[] = "DELETE FROM refresh_tokens WHERE user_id = ?1";
static const char sql_email_of_user[] = "DELETE FROM email_tokens WHERE user_id = ?1";
static const char sql_sessions_of_user[] = "DELETE FROM sessions WHERE user_id = ?1";
static const char sql_session_export[] =
	"SELECT id, device, created_at, last_used_at, expires_at, revoked_at FROM sessions"
	" WHERE user_id = ?1 ORDER BY id";
static const char sql_refresh_export[] =
	"SELECT family_id, created_at, expires_at, rotated_at, revoked_at FROM refresh_tokens"
	" WHERE user_id = ?1 ORDER BY created_at";
static const char sql_email_export[] =
	"SELECT purpose, created_at, expires_at, used_at FROM email_tokens WHERE user_id = ?1 ORDER BY created_at";
static const char sql_otp_export[] = "SELECT created_at, expires_at, tries_left FROM otp_codes WHERE phone = ?1";

/* Steps a bound statement that writes and finishes it: 0, ERR_NOTFOUND when must_change
 * and no row changed, ERR_EXISTS or ERR_DB. */
static int write_done(db_stmt *st, const char *context, bool must_change)
{
	int rc = db_step(st, context);
	if (rc == DB_DONE && must_change && db_changes() == 0)
		rc = ERR_NOTFOUND;
	db_done(st);
	return rc == DB_ROW ? 0 : rc;
}

/* ---- refresh tokens ------------------------------------------------------------------- */

int refresh_token_insert(const unsigned char hash[32], const char *family_id, const char *user_id,
                         const char *now, const char *expires_at)
{
	db_stmt *st = db_prep(sql_refresh_insert);
	if (!st)
		return ERR_DB;
	db_bind_blob(st, 1, hash, 32);
	db_bind_text(st, 2, family_id);
	db_bind_text(st, 3, user_id);
	db_bind_text(st, 4, now);
	db_bind_text(st, 5, expires_at);
	return write_done(st, "refresh insert", false);
}

int refresh_token_find(struct arena *a, const unsigned char hash[32], struct refresh_token *t)
{
	db_stmt *st = db_prep(sql_refresh_find);
	if (!st)
		return ERR_DB;
	db_bind_blob(st, 1, hash, 32);
	int rc = db_step(st, "refresh lookup");
	if (rc == DB_ROW) {
		t->family_id = db_text(a, st, 0);
		t->user_id = db_text(a, st, 1);
		t->expires_at = db_text(a, st, 2);
		t->rotated = !db_col_null(st, 3);
		t->revoked = !db_col_null(st, 4);
		rc = t->family_id && t->user_id && t->expires_at ? 0 : ERR_NOMEM;
	} else if (rc == DB_DONE) {
		rc = ERR_NOTFOUND;
	}
	db_done(st);
	return rc;
}

int refresh_token_rotate(const unsigned char hash[32], const char *now)
{
	db_stmt *st = db_prep(sql_refresh_rotate);
	if (!st)
		return ERR_DB;
	db_bind_blob(st, 1, hash, 32);
	db_bind_text(st, 2, now);
	return write_done(st, "refresh rotate", false);
}

int refresh_family_revoke(const char *family_id, const char *now)
{
	const char *p[] = {family_id, now};
	int rc = db_run(sql_revoke_family, "revoke family", 2, p);
	return rc ? rc : db_run(sql_session_revoke, "end session", 2, p);
}

int refresh_user_revoke(const char *user_id, const char *now)
{
	const char *p[] = {user_id, now};
	int rc = db_run(sql_revoke_user, "revoke user", 2, p);
	return rc ? rc : db_run(sql_session_revoke_user, "end sessions", 2, p);
}

/* ---- sessions --------------------------------------------------------------------------- */

int auth_session_insert(const char *id, const char *user_id, const char *device, const char *now,
                        const char *expires_at)
{
	const char *p[] = {id, user_id, device, now, expires_at};
	return db_run(sql_session_insert, "session insert", 5, p);
}

int auth_session_touch(const char *id, const char *now, const char *expires_at)
{
	const char *p[] = {id, now, expires_at};
	return db_run(sql_session_touch, "session touch", 3, p);
}

/* db_page's row reader: SESSION_COLUMNS */
static int auth_session_row(struct arena *a, db_stmt *st, void *item)
{
	struct auth_session *s = item;
	s->current = false;
	if (!(s->id = db_text(a, st, 0)) || !(s->device = db_text(a, st, 1)) ||
	    !(s->created_at = db_text(a, st, 2)) || !(s->last_used_at = db_text(a, st, 3)))
		return ERR_NOMEM;
	return 0;
}

int auth_session_find(struct arena *a, const char *id, const char *user_id, const char *now,
                      struct auth_session *s)
{
	db_stmt *st = db_prep(sql_session_find);
	if (!st)
		return ERR_DB;
	db_bind_text(st, 1, id);
	db_bind_text(st, 2, user_id);
	db_bind_text(st, 3, now);
	return db_one(a, st, auth_session_row, s, "session lookup");
}

int auth_session_page(struct arena *a, const char *user_id, const char *now, const struct page *pg,
                      struct page_out *out)
{
	db_stmt *st = db_prep(sql_session_page);
	if (!st)
		return ERR_DB;
	db_bind_text(st, 1, user_id);
	db_bind_text(st, 2, now);
	db_bind_text(st, 3, pg->cursor);
	db_bind_int(st, 4, pg->limit + 1);
	return db_page(a, st, pg, sizeof(struct auth_session), auth_session_row, out,
	               "session page");
}

int auth_session_revoked_since(const char *since,
                               int (*each)(void *ctx, const char *id, const char *revoked_at),
                               void *ctx)
{
	db_stmt *st = db_prep(sql_session_revoked_since);
	if (!st)
		return ERR_DB;
	db_bind_text(st, 1, since);
	int rc;
	while ((rc = db_step(st, "revoked sessions")) == DB_ROW)
		if ((rc = each(ctx, db_col(st, 0), db_col(st, 1))) != 0)
			break;
	db_done(st);
	return rc == DB_DONE ? 0 : rc;
}

/* ---- mailed links ------------------------------------------------------------------------ */

int email_token_insert(const unsigned char hash[32], const char *user_id, const char *purpose,
                       const char *now, const char *expires_at)
{
	db_stmt *st = db_prep(sql_email_insert);
	if (!st)
		return ERR_DB;
	db_bind_blob(st, 1, hash, 32);
	db_bind_text(st, 2, user_id);
	db_bind_text(st, 3, purpose);
	db_bind_text(st, 4, now);
	db_bind_text(st, 5, expires_at);
	return write_done(st, "link insert", false);
}

int email_token_find(struct arena *a, const unsigned char hash[32], const char *now, struct email_token *t)
{
	db_stmt *st = db_prep(sql_email_find);
	if (!st)
		return ERR_DB;
	db_bind_blob(st, 1, hash, 32);
	db_bind_text(st, 2, now);
	int rc = db_step(st, "link lookup");
	if (rc == DB_ROW) {
		t->user_id = db_text(a, st, 0);
		t->purpose = db_text(a, st, 1);
		rc = t->user_id && t->purpose ? 0 : ERR_NOMEM;
	} else if (rc == DB_DONE) {
		rc = ERR_NOTFOUND;
	}
	db_done(st);
	return rc;
}

int email_token_use(const unsigned char hash[32], const char *now)
{
	db_stmt *st = db_prep(sql_email_use);
	if (!st)
		return ERR_DB;
	db_bind_blob(st, 1, hash, 32);
	db_bind_text(st, 2, now);
	return write_done(st, "link use", true);
}

/* ---- phone codes ------------------------------------------------------------------------ */

int otp_code_put(const char *phone, const unsigned char code_hash[32], const char *expires_at, int tries_left,
                 const char *now)
{
	db_stmt *st = db_prep(sql_otp_put);
	if (!st)
		return ERR_DB;
	db_bind_text(st, 1, phone);
	db_bind_blob(st, 2, code_hash, 32);
	db_bind_text(st, 3, expires_at);
	db_bind_int(st, 4, tries_left);
	db_bind_text(st, 5, now);
	return write_done(st, "otp upsert", false);
}

int otp_code_find(struct arena *a, const char *phone, struct otp_code *c)
{
	db_stmt *st = db_prep(sql_otp_find);
	if (!st)
		return ERR_DB;
	db_bind_text(st, 1, phone);
	int rc = db_step(st, "otp lookup");
	if (rc == DB_ROW) {
		size_t n;
		const void *hash = db_col_blob(st, 0, &n);
		c->expires_at = db_text(a, st, 1);
		c->tries_left = (int)db_col_int(st, 2);
		if (!hash || n != sizeof c->code_hash)
			rc = ERR_NOTFOUND; /* not a hash we wrote: no code to check against */
		else if (!c->expires_at)
			rc = ERR_NOMEM;
		else
			rc = 0;
		if (!rc)
			memcpy(c->code_hash, hash, sizeof c->code_hash);
	} else if (rc == DB_DONE) {
		rc = ERR_NOTFOUND;
	}
	db_done(st);
	return rc;
}

int otp_code_spend(const char *phone)
{
	return db_run(sql_otp_spend, "otp try", 1, &phone);
}

int otp_code_delete(const char *phone)
{
	return db_run(sql_otp_delete, "otp delete", 1, &phone);
}

/* ---- account deletion and export --------------------------------------------------------- */

/* The user's phone (codes are kept by phone, not by account) in a, or NULL when the user
 * has none or is gone. */
static int phone_of(struct arena *a, const char *user_id, const char **phone)
{
	struct user u;
	int rc = users_by_id(a, user_id, &u);
	*phone = rc == 0 ? u.phone : NULL;
	return rc == ERR_NOTFOUND ? 0 : rc;
}

int auth_user_deleted(const char *user_id)
{
	char first[2048];
	struct arena a;
	arena_init(&a, 16384, first, sizeof first);
	const char *phone;
	int rc = phone_of(&a, user_id, &phone);
	if (!rc && phone)
		rc = otp_code_delete(phone);
	if (!rc)
		rc = db_run(sql_refresh_of_user, "user deleted: refresh tokens", 1, &user_id);
	if (!rc)
		rc = db_run(sql_email_of_user, "user deleted: email tokens", 1, &user_id);
	if (!rc)
		rc = db_run(sql_sessions_of_user, "user deleted: sessions", 1, &user_id);
	arena_free(&a);
	return rc;
}

/* Writes key:[...] with one object per row of sql (bound to param): each column under its
 * name in names, integers where is_int says so. */
static int export_rows(struct jw *w, const char *key, const char *sql, const char *param,
                       const char *const *names, const bool *is_int, int ncols)
{
	db_stmt *st = db_prep(sql);
	if (!st)
		return ERR_DB;
	db_bind_text(st, 1, param);
	jw_key(w, key);
	jw_arr(w);
	int rc;
	while ((rc = db_step(st, key)) == DB_ROW) {
		jw_obj(w);
		for (int i = 0; i < ncols; i++) {
			if (is_int[i])
				jw_kint(w, names[i], db_col_int(st, i));
			else
				jw_kstr(w, names[i], db_col(st, i));
		}
		jw_obj_end(w);
	}
	db_done(st);
	jw_arr_end(w);
	return rc;
}

int auth_user_export(struct arena *a, struct jw *w, const char *user_id)
{
	static const char *const refresh[] = {"family_id", "created_at", "expires_at", "rotated_at", "revoked_at"};
	static const char *const email[] = {"purpose", "created_at", "expires_at", "used_at"};
	static const char *const otp[] = {"created_at", "expires_at", "tries_left"};
	static const char *const sessions[] = {"id",           "device",     "created_at",
	                                       "last_used_at", "expires_at", "revoked_at"};
	static const bool texts[] = {false, false, false, false, false, false};
	static const bool otp_int[] = {false, false, true};
	const char *phone;
	int rc = phone_of(a, user_id, &phone);
	if (rc)
		return rc;
	jw_key(w, "auth");
	jw_obj(w);
	rc = export_rows(w, "sessions", sql_session_export, user_id, sessions, texts, 6);
	if (!rc)
		rc = export_rows(w, "refresh_tokens", sql_refresh_export, user_id, refresh, texts,
		                 5);
	if (!rc)
		rc = export_rows(w, "email_tokens", sql_email_export, user_id, email, texts, 4);
	if (!rc && phone) {
		rc = export_rows(w, "otp_codes", sql_otp_export, phone, otp, otp_int, 3);
	} else if (!rc) {
		jw_key(w, "otp_codes"); /* codes are kept by phone: none without one */
		jw_arr(w);
		jw_arr_end(w);
	}
	jw_obj_end(w);
	return rc;
}
