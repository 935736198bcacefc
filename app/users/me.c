/* users/me.c: GET/PUT /users/me and the public card GET /users/{id}. A profile update takes
 * only the fields it is given; each is checked before anything is written. */
#include <string.h>

#include "media/media.h"
#include "store/db.h"
#include "users/handlers.h"
#include "users/users.h"

static int respond_user(struct req *r, int status, const char *id, bool full)
{
	struct user u;
	int rc = users_by_id(&r->arena, id, &u);
	if (rc == ERR_NOTFOUND)
		return http_error(r, E_NOT_FOUND, "no such user", NULL);
	if (rc)
		return rc;
	struct jw w;
	res_json(r, status, &w);
	users_json(&w, &u, full);
	return res_end(r, &w);
}

int me_get(struct req *r)
{
	/* the access check already loaded this row */
	struct jw w;
	res_json(r, 200, &w);
	users_json(&w, r->user, true);
	return res_end(r, &w);
}

int user_get(struct req *r)
{
	const char *id = req_param(r, "id");
	if (uuid_check(id) != 0)
		return http_error(r, E_NOT_FOUND, "no such user", NULL);
	bool admin = strcmp(r->user_role, "admin") == 0;
	return respond_user(r, 200, id, admin || strcmp(id, r->user_id) == 0);
}

static bool country_ok(const char *c)
{
	return strlen(c) == 2 && c[0] >= 'A' && c[0] <= 'Z' && c[1] >= 'A' && c[1] <= 'Z';
}

static bool locale_ok(const char *l)
{
	size_t n = strlen(l);
	if (n < 2 || n > 35)
		return false;
	for (const char *p = l; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '-'))
			return false;
	return true;
}

/* finance: {risk_profile, horizon_years, goals, monthly_income}, re-serialised from the
 * checked values so that only known fields of known types are stored. */
static int finance_json(struct req *r, const struct json *f, struct buf *out)
{
	if (f->type != JSON_OBJECT)
		return http_error(r, E_INVALID_INPUT, "finance must be an object", "finance");
	const char *risk = NULL, *goals = NULL;
	bool has_h, has_i;
	int64_t horizon = 0, income = 0;
	int rc = req_str(r, f, "risk_profile", false, 16, &risk);
	if (!rc && risk && strcmp(risk, "conservative") && strcmp(risk, "moderate") && strcmp(risk, "aggressive"))
		rc = http_error(r, E_INVALID_INPUT,
		                "risk_profile must be conservative, moderate or aggressive", "finance.risk_profile");
	rc = rc ? rc : req_int(r, f, "horizon_years", 0, 100, &has_h, &horizon);
	rc = rc ? rc : req_str(r, f, "goals", false, 2000, &goals);
	rc = rc ? rc : req_int(r, f, "monthly_income", 0, 1000000000000LL, &has_i, &income);
	if (rc)
		return rc;
	struct jw w;
	jw_init(&w, out);
	jw_obj(&w);
	if (risk)
		jw_kstr(&w, "risk_profile", risk);
	if (has_h)
		jw_kint(&w, "horizon_years", horizon);
	if (goals)
		jw_kstr(&w, "goals", goals);
	if (has_i)
		jw_kint(&w, "monthly_income", income);
	jw_obj_end(&w);
	return jw_finish(&w) ? http_error(r, E_INTERNAL, "finance could not be stored", NULL) : 0;
}

int me_put(struct req *r)
{
	struct json *body;
	int rc = req_object(r, &body);
	if (rc)
		return rc;
	struct user_changes c = {.show_presence = -1};
	const struct {
		const char *name;
		size_t max;
		bool *has;
		const char **val;
	} fields[] = {
		{"name", 100, &c.has_name, &c.name},
		{"bio", 1000, &c.has_bio, &c.bio},
		{"country", 2, &c.has_country, &c.country},
		{"phone", 16, &c.has_phone, &c.phone},
		{"avatar_media_id", 36, &c.has_avatar, &c.avatar_media_id},
		{"locale", 35, &c.has_locale, &c.locale},
	};
	for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
		*fields[i].has = json_get(body, fields[i].name) != NULL;
		if ((rc = req_str(r, body, fields[i].name, false, fields[i].max, fields[i].val)) < 0)
			return rc;
	}
	if (c.has_name && (!c.name || !*c.name))
		return http_error(r, E_INVALID_INPUT, "name must not be empty", "name");
	if (c.has_bio && !c.bio)
		c.bio = ""; /* bio: null clears it */
	if (c.country && !country_ok(c.country))
		return http_error(r, E_INVALID_INPUT, "country must be an ISO 3166-1 alpha-2 code", "country");
	if (c.phone && !users_phone_ok(c.phone))
		return http_error(r, E_INVALID_INPUT, "phone must be in E.164 form, e.g. +5491122334455", "phone");
	if (c.avatar_media_id && (rc = media_check_owner(c.avatar_media_id, r->user_id)) != 0)
		return rc == ERR_NOTFOUND ? http_error(r, E_INVALID_INPUT, "avatar_media_id must be one of your media",
		                                       "avatar_media_id")
		                          : rc;
	if (c.locale && !locale_ok(c.locale))
		return http_error(r, E_INVALID_INPUT, "locale must be a language tag like es-AR", "locale");
	bool has_show, show;
	if ((rc = req_bool(r, body, "show_presence", &has_show, &show)) < 0)
		return rc;
	if (has_show)
		c.show_presence = show;
	struct buf finance = BUF_INIT(8192);
	const struct json *f = json_get(body, "finance");
	c.has_finance = f != NULL; /* null clears it */
	if (f && f->type != JSON_NULL && (rc = finance_json(r, f, &finance)) < 0) {
		buf_free(&finance);
		return rc;
	}
	bool any = finance.len > 0;
	c.finance = any ? arena_strndup(&r->arena, finance.ptr, finance.len) : NULL;
	buf_free(&finance);
	if (any && !c.finance)
		return ERR_NOMEM;
	if ((rc = db_begin()))
		return rc;
	rc = users_update(r->user_id, &c);
	if (!rc)
		rc = db_commit();
	if (rc) {
		db_rollback();
		if (rc == ERR_EXISTS)
			return http_error(r, E_CONFLICT, "that phone number belongs to another account", "phone");
		return rc == ERR_NOTFOUND ? http_error(r, E_NOT_FOUND, "no such user", NULL) : rc;
	}
	return respond_user(r, 200, r->user_id, true);
}
