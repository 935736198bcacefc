/* users/account.c: the account as a whole: DELETE /users/me (everything every domain keeps,
 * in one transaction) and GET /users/me/export (everything every domain keeps, as one JSON
 * file). The domains are the hook table main.c registers. Must never delete without the
 * person's word again (auth_reauth), keep a row of a deleted account, or export a secret. */
#include <string.h>

#include "auth/auth.h"
#include "core/log.h"
#include "core/time.h"
#include "store/db.h"
#include "users/handlers.h"
#include "users/users.h"

/* Registered once before the server starts, read-only afterwards. */
static const struct user_hook *hooks;
static size_t nhooks;

void users_set_hooks(const struct user_hook *h, size_t n)
{
	hooks = h;
	nhooks = n;
}

struct deletion {
	const char *id;
	const char *failed; /* the domain whose hook failed */
};

/* One transaction: every domain first (they may still read the user row: mail finds
 * messages by the account's addresses), the row itself last. */
static int delete_all(void *ctx)
{
	struct deletion *d = ctx;
	int rc = 0;
	for (size_t i = 0; i < nhooks && !rc; i++)
		if ((rc = hooks[i].deleted(d->id)))
			d->failed = hooks[i].name;
	if (!rc && (rc = users_delete(d->id)))
		d->failed = "users";
	return rc;
}

int me_delete(struct req *r)
{
	const char *password = NULL;
	struct json *body;
	int rc = 0;
	/* an account without a password may send no body at all */
	if (r->body_len > 0 && ((rc = req_object(r, &body)) ||
	                        (rc = req_str(r, body, "password", false, 1024, &password))))
		return rc;
	if ((rc = auth_reauth(r, r->user, password)))
		return rc;
	struct deletion d = {r->user_id, NULL};
	if ((rc = db_write(delete_all, &d))) {
		log_error("account deletion failed; nothing was deleted", "user", d.id, "domain",
		          d.failed ? d.failed : "commit", NULL);
		return rc == ERR_NOTFOUND ? http_error(r, E_NOT_FOUND, "no such user", NULL) : rc;
	}
	/* the row is gone, so every token of the account fails its next access check */
	log_info("account deleted", "user", d.id, NULL);
	r->status = 204;
	return 0;
}

int me_export(struct req *r)
{
	char now[TIME_RFC3339_LEN];
	time_rfc3339(time_now_us(), now);
	struct jw w;
	res_json(r, 200, &w);
	jw_obj(&w);
	jw_kstr(&w, "exported_at", now);
	int rc = 0;
	for (size_t i = 0; i < nhooks && !rc; i++)
		if (hooks[i].export && (rc = hooks[i].export(&r->arena, &w, r->user_id)))
			log_error("export failed", "user", r->user_id, "domain", hooks[i].name,
			          NULL);
	jw_obj_end(&w);
	if (rc)
		return rc == ERR_NOTFOUND ? http_error(r, E_NOT_FOUND, "no such user", NULL) : rc;
	res_header(r, "Content-Disposition", "attachment; filename=\"export.json\"");
	res_header(r, "Cache-Control", "no-store");
	return res_end(r, &w);
}
