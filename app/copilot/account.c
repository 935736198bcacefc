/* copilot/account.c: what copilot/ hands over when a person asks for their data (the export
 * of GET /users/me/export). Must never write anything that is not the person's own. */
#include "copilot/copilot.h"
#include "copilot/internal.h"

struct walk {
	struct jw *w;
	bool open; /* a session object and its details array are open */
};

static int on_session(void *ctx, const struct session *s)
{
	struct walk *e = ctx;
	if (e->open) {
		jw_arr_end(e->w);
		jw_obj_end(e->w);
	}
	/* each entry is shaped like GET /copilot/sessions/{id}: {session, details} */
	jw_obj(e->w);
	jw_key(e->w, "session");
	session_json(e->w, s);
	jw_key(e->w, "details");
	jw_arr(e->w);
	e->open = true;
	return 0;
}

static int on_detail(void *ctx, const struct detail *d)
{
	struct walk *e = ctx;
	detail_json(e->w, d);
	return 0;
}

int copilot_user_export(struct arena *a, struct jw *w, const char *user_id)
{
	struct walk e = {w, false};
	struct copilot_visit v = {on_session, on_detail, &e};
	jw_key(w, "copilot_sessions");
	jw_arr(w);
	int rc = copilot_each_of(a, user_id, &v);
	if (e.open) {
		jw_arr_end(w);
		jw_obj_end(w);
	}
	jw_arr_end(w);
	return rc;
}
