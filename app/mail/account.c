/* mail/account.c: what mail/ keeps about a person, for account deletion and the data export.
 * The outbox keeps addresses, not accounts, so a person's messages are those addressed to
 * their current email or phone. Must never export a message's secret (links, codes). */
#include "mail/internal.h"
#include "mail/mail.h"
#include "users/users.h"

#define USER_ARENA (1 << 20) /* one user row, for its addresses */

int mail_user_deleted(const char *user_id)
{
	struct arena a;
	struct user u;
	arena_init(&a, USER_ARENA, NULL, 0);
	int rc = users_by_id(&a, user_id, &u);
	if (!rc)
		rc = outbox_delete_to(u.email, u.phone);
	arena_free(&a);
	return rc;
}

struct walk {
	struct jw *w;
	struct arena *a;
};

static int on_row(void *ctx, const struct outbox_row *m)
{
	struct walk *k = ctx;
	struct outbox_row shown = *m;
	/* even in dev mode: an export is a copy that leaves the server */
	shown.body = outbox_redact(k->a, m->body, m->secret);
	if (!shown.body)
		return ERR_NOMEM;
	outbox_json(k->w, &shown);
	return 0;
}

int mail_user_export(struct arena *a, struct jw *w, const char *user_id)
{
	struct user u;
	struct walk k = {w, a};
	int rc = users_by_id(a, user_id, &u);
	jw_key(w, "outbox");
	jw_arr(w);
	if (!rc)
		rc = outbox_each_to(u.email, u.phone, on_row, &k);
	jw_arr_end(w);
	return rc;
}
