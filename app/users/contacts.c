/* users/contacts.c: my contacts: list, add by user id or phone, remove. A contact is only
 * ever visible to its owner; someone else's contact id answers 404. */
#include <string.h>

#include "core/time.h"
#include "store/db.h"
#include "users/handlers.h"
#include "users/users.h"

static const char sql_list[] =
	"SELECT contact_id FROM contacts WHERE owner_id = ?1 AND (?2 IS NULL OR contact_id > ?2)"
	" ORDER BY contact_id LIMIT ?3";
static const char sql_add[] =
	"INSERT INTO contacts(owner_id, contact_id, created_at) VALUES(?1, ?2, ?3) ON CONFLICT DO NOTHING";
static const char sql_remove[] = "DELETE FROM contacts WHERE owner_id = ?1 AND contact_id = ?2";

int contacts_list(struct req *r)
{
	int limit;
	sqlite3_stmt *st;
	int rc = req_owned_page(r, sql_list, r->user_id, &limit, &st);
	return rc ? rc : users_page(r, st, limit, false);
}

int contacts_add(struct req *r)
{
	struct json *body;
	const char *id, *phone;
	int rc = req_object(r, &body);
	if (rc || (rc = req_str(r, body, "user_id", false, 36, &id)) || (rc = req_str(r, body, "phone", false, 16, &phone)))
		return rc;
	if (!!id == !!phone)
		return http_error(r, E_INVALID_INPUT, "give user_id or phone", id ? "phone" : "user_id");
	struct user u;
	rc = id ? (uuid_check(id) ? ERR_NOTFOUND : users_by_id(&r->arena, id, &u))
	        : (users_phone_ok(phone) ? users_by_phone(&r->arena, phone, &u) : ERR_NOTFOUND);
	if (rc == ERR_NOTFOUND || (rc == 0 && u.disabled))
		return http_error(r, E_NOT_FOUND, "no such user", id ? "user_id" : "phone");
	if (rc)
		return rc;
	if (strcmp(u.id, r->user_id) == 0)
		return http_error(r, E_INVALID_INPUT, "you cannot add yourself", id ? "user_id" : "phone");
	char now[TIME_RFC3339_LEN];
	time_rfc3339(time_now_us(), now);
	sqlite3_stmt *st = db_prep(sql_add);
	if (!st)
		return ERR_DB;
	sqlite3_bind_text(st, 1, r->user_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, u.id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, now, -1, SQLITE_STATIC);
	int step = sqlite3_step(st);
	int added = sqlite3_changes(db_conn());
	db_done(st);
	if (step != SQLITE_DONE)
		return db_fail("contact add");
	struct jw w;
	res_json(r, added ? 201 : 200, &w);
	users_json(&w, &u, false);
	return res_end(r, &w);
}

int contacts_remove(struct req *r)
{
	sqlite3_stmt *st = db_prep(sql_remove);
	if (!st)
		return ERR_DB;
	sqlite3_bind_text(st, 1, r->user_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, req_param(r, "id"), -1, SQLITE_STATIC);
	int step = sqlite3_step(st);
	int removed = sqlite3_changes(db_conn());
	db_done(st);
	if (step != SQLITE_DONE)
		return db_fail("contact remove");
	if (!removed)
		return http_error(r, E_NOT_FOUND, "no such contact", NULL);
	r->status = 204;
	return 0;
}
