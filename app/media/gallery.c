/* media/gallery.c: a user's gallery: media they chose to show, with captions, newest first.
 * Everyone sees the public items at /users/{id}/gallery; the owner and the people the owner
 * added as contacts see them all. Must never list another user's item as one's own. */
#include <string.h>

#include "core/time.h"
#include "media/internal.h"
#include "store/db.h"
#include "users/users.h"

#define CAPTION_MAX 500

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

/* res_page's item writer */
static void page_item_json(struct jw *w, const void *item)
{
	const struct gallery_item *g = item;
	item_json(w, g->id, g->caption, g->created_at, &g->media);
}

/* Answers one page of owner's gallery; all: private items too. */
static int page(struct req *r, const char *owner, bool all)
{
	struct page pg;
	struct page_out out;
	int rc = req_page_of(r, &pg);
	if (rc || (rc = gallery_page(&r->arena, owner, all, &pg, &out)))
		return rc;
	return res_page(r, &out, sizeof(struct gallery_item), page_item_json);
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
	/* the owner and the people the owner added see everything */
	bool all = r->user_id && (strcmp(r->user_id, u.id) == 0 || contacts_linked(u.id, r->user_id));
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
	char id[UUID_STR_LEN], now[TIME_RFC3339_LEN];
	if (uuid7(id) != 0)
		return ERR_NOMEM;
	time_rfc3339(time_now_us(), now);
	struct gallery_item g = {.id = id, .caption = caption ? caption : "", .created_at = now};
	/* the ownership check inside the transaction: the media cannot go in between */
	if ((rc = db_begin()))
		return rc;
	rc = media_owned(&r->arena, media_id, r->user_id, &g.media);
	if (!rc)
		rc = gallery_insert(&g, r->user_id);
	if (!rc)
		rc = db_commit();
	if (rc) {
		db_rollback();
		if (rc == ERR_NOTFOUND)
			return http_error(r, E_NOT_FOUND, "no such media of yours", "media_id");
		if (rc == ERR_EXISTS)
			return http_error(r, E_CONFLICT, "this media is already in your gallery", "media_id");
		return rc;
	}
	struct jw w;
	res_json(r, 201, &w);
	page_item_json(&w, &g);
	return res_end(r, &w);
}

int gallery_remove(struct req *r)
{
	int rc = db_begin();
	if (rc)
		return rc;
	rc = gallery_delete(r->user_id, req_param(r, "id"));
	if (!rc)
		rc = db_commit();
	if (rc) {
		db_rollback();
		return rc == ERR_NOTFOUND ? http_error(r, E_NOT_FOUND, "no such gallery item of yours", NULL) : rc;
	}
	r->status = 204;
	return 0;
}
