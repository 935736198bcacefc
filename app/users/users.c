/* users/users.c: what a user looks like from outside (the JSON of a profile or a card) and
 * the checks on addresses. Must never write a password hash or any other secret. */
#include <string.h>

#include "core/buf.h"
#include "users/users.h"

void users_json(struct jw *w, const struct user *u, bool full)
{
	jw_obj(w);
	jw_kstr(w, "id", u->id);
	jw_kstr(w, "name", u->name);
	if (u->avatar_media_id) {
		struct buf url = BUF_INIT(128);
		if (buf_printf(&url, "/api/v1/media/%s", u->avatar_media_id) == 0)
			jw_kstr(w, "avatar_url", buf_str(&url));
		buf_free(&url);
	} else {
		jw_knull(w, "avatar_url");
	}
	if (full) {
		jw_kstr(w, "email", u->email);
		jw_kbool(w, "email_verified", u->email_verified_at != NULL);
		/* whether deleting the account asks for a password or a fresh sign-in */
		jw_kbool(w, "has_password", u->password_hash != NULL);
		jw_kstr(w, "phone", u->phone);
		jw_kstr(w, "bio", u->bio);
		jw_kstr(w, "country", u->country);
		jw_kstr(w, "locale", u->locale);
		jw_kstr(w, "avatar_media_id", u->avatar_media_id);
		jw_key(w, "finance");
		if (u->finance)
			jw_raw(w, u->finance, strlen(u->finance));
		else
			jw_null(w);
		jw_kstr(w, "role", u->role);
		jw_kbool(w, "disabled", u->disabled);
		jw_kbool(w, "show_presence", u->show_presence);
		jw_kstr(w, "created_at", u->created_at);
		jw_kstr(w, "updated_at", u->updated_at);
	}
	jw_obj_end(w);
}

bool users_email_ok(const char *e)
{
	size_t n = strlen(e);
	const char *at = strchr(e, '@');
	if (n < 3 || n > 254 || !at || at == e || strchr(at + 1, '@') || !strchr(at + 1, '.'))
		return false;
	if (at[1] == '.' || e[n - 1] == '.' || at - e > 64)
		return false;
	for (const unsigned char *p = (const unsigned char *)e; *p; p++)
		if (*p <= ' ' || *p == 0x7f || strchr("<>()[]\\,;:\"", *p))
			return false;
	return true;
}

bool users_phone_ok(const char *p)
{
	size_t n = strlen(p);
	if (n < 9 || n > 16 || p[0] != '+' || p[1] == '0')
		return false;
	for (size_t i = 1; i < n; i++)
		if (p[i] < '0' || p[i] > '9')
			return false;
	return true;
}
