/* users/admin.c: GET /admin/users (search, role filter, cursor pages) and PATCH
 * /admin/users/{id} (role, disabled). An admin cannot demote or disable themselves, so
 * the appliance never loses its last way in by accident. */
#include <string.h>

#include "store/db.h"
#include "users/handlers.h"
#include "users/users.h"

static bool role_ok(const char *role)
{
	return !strcmp(role, "user") || !strcmp(role, "agent") || !strcmp(role, "admin");
}

/* res_page's item writer: admins see whole records */
static void full_json(struct jw *w, const void *item)
{
	users_json(w, item, true);
}

int admin_users_list(struct req *r)
{
	struct page pg;
	const char *q = req_query(r, "q"), *role = req_query(r, "role");
	int rc = req_page_of(r, &pg);
	if (rc)
		return rc;
	if (role && !role_ok(role))
		return http_error(r, E_INVALID_INPUT, "role must be user, agent or admin", "role");
	if (q && strlen(q) > 200)
		return http_error(r, E_INVALID_INPUT, "q must be at most 200 bytes", "q");
	struct page_out out;
	if ((rc = users_search(&r->arena, q, role, &pg, &out)))
		return rc;
	return res_page(r, &out, sizeof(struct user), full_json);
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
	if ((rc = db_begin()))
		return rc;
	rc = users_set_access(id, role, has_disabled ? disabled : -1);
	if (!rc)
		rc = db_commit();
	if (rc) {
		db_rollback();
		return rc == ERR_NOTFOUND ? http_error(r, E_NOT_FOUND, "no such user", NULL) : rc;
	}
	struct user u;
	if ((rc = users_by_id(&r->arena, id, &u)))
		return rc;
	struct jw w;
	res_json(r, 200, &w);
	users_json(&w, &u, true);
	return res_end(r, &w);
}
