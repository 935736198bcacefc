/* media/gallery.c: a user's gallery: media they chose to show, with captions, newest first.
 * Everyone sees the public items at /users/{id}/gallery; the owner and the people the owner
 * added as contacts see them all. Must never list another user's item as one's own. */
#include <string.h>

#include "core/time.h"
#include "media/internal.h"
#include "store/db.h"
#include "users/users.h"

#define CAPTION_MAX 500

static const char sql_page[] =
	"SELECT g.id, g.caption, g.created_at, m.id, m.owner_id, m.sha256, m.size, m.content_type,"
	" m.original_name, m.visibility, m.created_at"
	" FROM gallery_items g JOIN media m ON m.id = g.media_id"
	" WHERE g.owner_id = ?1 AND (?2 IS NULL OR g.id < ?2) AND (?4 OR m.visibility = 'public')"
	" ORDER BY g.id DESC LIMIT ?3";
static const char sql_contact[] = "SELECT 1 FROM contacts WHERE owner_id = ?1 AND contact_id = ?2";
static const char sql_add[] =
	"INSERT INTO gallery_items(id, owner_id, media_id, caption, created_at) VALUES(?1, ?2, ?3, ?4, ?5)";
static const char sql_remove[] = "DELETE FROM gallery_items WHERE owner_id = ?1 AND (id = ?2 OR media_id = ?2)";

static void item_json(struct jw *w, const char *id, const char *caption, const char *created_at,
                      const struct media *m)
{
	jw_obj(w);
	jw_kstr(w, "id", id);
	jw_kstr(w, "media_id", m->id);
	jw_kstr(w, "caption", caption);
	jw_kstr(w, "created_at", created_at);
	jw_key(w, "media");
	media_json(w, m);
	jw_obj_end(w);
}

static void item_row(struct jw *w, sqlite3_stmt *st, void *ctx)
{
	(void)ctx;
	const char *t[11];
	for (int i = 0; i < 11; i++)
		t[i] = (const char *)sqlite3_column_text(st, i);
	struct media m = {t[3], t[4], t[5], t[7], t[8], t[9], t[10], sqlite3_column_int64(st, 6)};
	item_json(w, t[0], t[1], t[2], &m);
}

/* Answers one page of owner's gallery; all: private items too. */
static int page(struct req *r, const char *owner, bool all)
{
	int limit;
	sqlite3_stmt *st;
	int rc = req_owned_page(r, sql_page, owner, &limit, &st);
	if (rc)
		return rc;
	sqlite3_bind_int(st, 4, all);
	return res_rows(r, st, limit, item_row, NULL);
}

int gallery_list(struct req *r)
{
	return page(r, r->user_id, true);
}

int gallery_of_user(struct req *r)
{
	const char *id = req_param(r, "id");
	struct user u;
	int rc = uuid_check(id) ? ERR_NOTFOUND : users_by_id(&r->arena, id, &u);
	if (rc == ERR_NOTFOUND || (rc == 0 && u.disabled))
		return http_error(r, E_NOT_FOUND, "no such user", NULL);
	if (rc)
		return rc;
	bool all = r->user_id && strcmp(r->user_id, u.id) == 0;
	sqlite3_stmt *st = r->user_id && !all ? db_prep(sql_contact) : NULL;
	if (st) {
		sqlite3_bind_text(st, 1, u.id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, r->user_id, -1, SQLITE_STATIC);
		all = sqlite3_step(st) == SQLITE_ROW;
		db_done(st);
	}
	return page(r, u.id, all);
}

int gallery_add(struct req *r)
{
	struct json *body;
	const char *media_id, *caption;
	int rc = req_object(r, &body);
	if (rc || (rc = req_str(r, body, "media_id", true, 36, &media_id)) ||
	    (rc = req_str(r, body, "caption", false, CAPTION_MAX, &caption)))
		return rc;
	struct media m;
	rc = media_owned(&r->arena, media_id, r->user_id, &m);
	if (rc == ERR_NOTFOUND)
		return http_error(r, E_NOT_FOUND, "no such media of yours", "media_id");
	if (rc)
		return rc;
	char id[UUID_STR_LEN], now[TIME_RFC3339_LEN];
	if (uuid7(id) != 0)
		return ERR_NOMEM;
	time_rfc3339(time_now_us(), now);
	sqlite3_stmt *st = db_prep(sql_add);
	if (!st)
		return ERR_DB;
	const char *v[] = {id, r->user_id, m.id, caption ? caption : "", now};
	for (int i = 0; i < 5; i++)
		sqlite3_bind_text(st, i + 1, v[i], -1, SQLITE_STATIC);
	int step = sqlite3_step(st);
	bool dup = step != SQLITE_DONE && sqlite3_extended_errcode(db_conn()) == SQLITE_CONSTRAINT_UNIQUE;
	if (step != SQLITE_DONE && !dup)
		rc = db_fail("gallery add");
	db_done(st);
	if (dup)
		return http_error(r, E_CONFLICT, "this media is already in your gallery", "media_id");
	if (rc)
		return rc;
	struct jw w;
	res_json(r, 201, &w);
	item_json(&w, id, v[3], now, &m);
	return res_end(r, &w);
}

int gallery_remove(struct req *r)
{
	sqlite3_stmt *st = db_prep(sql_remove);
	if (!st)
		return ERR_DB;
	sqlite3_bind_text(st, 1, r->user_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, req_param(r, "id"), -1, SQLITE_STATIC);
	int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : db_fail("gallery remove");
	int changed = sqlite3_changes(db_conn());
	db_done(st);
	if (rc)
		return rc;
	if (!changed)
		return http_error(r, E_NOT_FOUND, "no such gallery item of yours", NULL);
	r->status = 204;
	return 0;
}
