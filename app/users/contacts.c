/* users/contacts.c: my contacts: list, add by user id or phone, remove. A contact is only
 * ever visible to its owner; someone else's contact id answers 404. */
#include <string.h>

#include "store/db.h"
#include "users/handlers.h"
#include "users/users.h"

/* res_page's item writer: contacts are shown as public cards */
static void card_json(struct jw *w, const void *item)
{
	users_json(w, item, false);
}

int contacts_list(struct req *r)
{
	struct page pg;
	struct page_out out;
	int rc = req_page_of(r, &pg);
	if (rc || (rc = contacts_page(&r->arena, r->user_id, &pg, &out)))
		return rc;
	return res_page(r, &out, sizeof(struct user), card_json);
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
	bool added = false;
	if ((rc = db_begin()))
		return rc;
	rc = contacts_insert(r->user_id, u.id, &added);
	if (!rc)
		rc = db_commit();
	if (rc) {
		db_rollback();
		return rc;
	}
	struct jw w;
	res_json(r, added ? 201 : 200, &w);
	users_json(&w, &u, false);
	return res_end(r, &w);
}

int contacts_remove(struct req *r)
{
	int rc = db_begin();
	if (rc)
		return rc;
	rc = contacts_delete(r->user_id, req_param(r, "id"));
	if (!rc)
		rc = db_commit();
	if (rc) {
		db_rollback();
		return rc == ERR_NOTFOUND ? http_error(r, E_NOT_FOUND, "no such contact", NULL) : rc;
	}
	r->status = 204;
	return 0;
}
