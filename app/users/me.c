/* users/me.c: GET/PUT /users/me and the public card GET /users/{id}. A profile update takes
 * only the fields it is given; each is checked before anything is written. */
#include <string.h>

#include "core/time.h"
#include "media/media.h"
#include "store/db.h"
#include "users/handlers.h"
#include "users/users.h"

/* one static statement: ?2k (present) decides whether ?2k+1 replaces the column */
static const char sql_update[] =
	"UPDATE users SET"
	" name = CASE WHEN ?2 THEN ?3 ELSE name END,"
	" bio = CASE WHEN ?4 THEN ?5 ELSE bio END,"
	" country = CASE WHEN ?6 THEN ?7 ELSE country END,"
	" phone = CASE WHEN ?8 THEN ?9 ELSE phone END,"
	" avatar_media_id = CASE WHEN ?10 THEN ?11 ELSE avatar_media_id END,"
	" locale = CASE WHEN ?12 THEN ?13 ELSE locale END,"
	" finance = CASE WHEN ?14 THEN ?15 ELSE finance END,"
	" updated_at = ?16"
	" WHERE id = ?1";

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
	static const char *const names[] = {"name", "bio", "country", "phone", "avatar_media_id", "locale"};
	static const size_t limits[] = {100, 1000, 2, 16, 36, 35};
	const char *vals[6];
	bool present[6];
	for (int i = 0; i < 6; i++) {
		const struct json *v = json_get(body, names[i]);
		present[i] = v != NULL;
		if ((rc = req_str(r, body, names[i], false, limits[i], &vals[i])) < 0)
			return rc;
	}
	if (present[0] && (!vals[0] || !*vals[0]))
		return http_error(r, E_INVALID_INPUT, "name must not be empty", "name");
	if (present[1] && !vals[1])
		vals[1] = ""; /* bio: null clears it */
	if (vals[2] && !country_ok(vals[2]))
		return http_error(r, E_INVALID_INPUT, "country must be an ISO 3166-1 alpha-2 code", "country");
	if (vals[3] && !users_phone_ok(vals[3]))
		return http_error(r, E_INVALID_INPUT, "phone must be in E.164 form, e.g. +5491122334455", "phone");
	if (vals[4] && (rc = media_check_owner(vals[4], r->user_id)) != 0)
		return rc == ERR_NOTFOUND ? http_error(r, E_INVALID_INPUT, "avatar_media_id must be one of your media",
		                                       "avatar_media_id")
		                          : rc;
	if (vals[5] && !locale_ok(vals[5]))
		return http_error(r, E_INVALID_INPUT, "locale must be a language tag like es-AR", "locale");
	struct buf finance = BUF_INIT(8192);
	const struct json *f = json_get(body, "finance");
	bool has_finance = f != NULL;
	if (f && f->type != JSON_NULL && (rc = finance_json(r, f, &finance)) < 0) {
		buf_free(&finance);
		return rc;
	}
	char now[TIME_RFC3339_LEN];
	time_rfc3339(time_now_us(), now);
	sqlite3_stmt *st = db_prep(sql_update);
	if (!st) {
		buf_free(&finance);
		return ERR_DB;
	}
	sqlite3_bind_text(st, 1, r->user_id, -1, SQLITE_STATIC);
	for (int i = 0; i < 6; i++) {
		sqlite3_bind_int(st, 2 + 2 * i, present[i]);
		if (vals[i])
			sqlite3_bind_text(st, 3 + 2 * i, vals[i], -1, SQLITE_STATIC);
	}
	sqlite3_bind_int(st, 14, has_finance);
	if (finance.len)
		sqlite3_bind_text(st, 15, finance.ptr, (int)finance.len, SQLITE_STATIC);
	sqlite3_bind_text(st, 16, now, -1, SQLITE_STATIC);
	int step = sqlite3_step(st);
	bool taken = step != SQLITE_DONE && sqlite3_extended_errcode(db_conn()) == SQLITE_CONSTRAINT_UNIQUE;
	if (step != SQLITE_DONE && !taken)
		db_fail("profile update");
	db_done(st);
	buf_free(&finance);
	if (taken)
		return http_error(r, E_CONFLICT, "that phone number belongs to another account", "phone");
	if (step != SQLITE_DONE)
		return ERR_DB;
	return respond_user(r, 200, r->user_id, true);
}
