/* auth/compat.c: the FastAPI copilot's sign-up and sign-in doors, answered in that
 * backend's shapes on top of the same code as ours (auth_invite, auth_password_sign_in).
 * Must never mail, log or return a password: sign-up mails a link to choose one. */
#include <string.h>

#include "auth/internal.h"
#include "auth/jwt.h"
#include "core/time.h"

/* POST /user/signup {email, name?, ...}: the account, with a mailed set-password link. The
 * original's other fields (birth date, questionnaire ids) are accepted and ignored. */
int signup_compat(struct req *r)
{
	struct json *body;
	const char *email, *name;
	int rc = req_object(r, &body);
	if (rc || (rc = req_str(r, body, "email", true, 254, &email)) || (rc = req_str(r, body, "name", false, 100, &name)))
		return rc;
	if (!users_email_ok(email))
		return http_error(r, E_INVALID_INPUT, "that is not an email address", "email");
	if ((rc = auth_limit(r, rl_register_ip, r->remote_ip)))
		return rc;
	/* no name given: what the original showed, the part before the @ */
	if (!name || !*name)
		name = arena_strndup(&r->arena, email, (size_t)(strchr(email, '@') - email));
	if (!name)
		return ERR_NOMEM;
	struct user u;
	if ((rc = auth_invite(r, email, name, "Welcome: choose your password",
	                      "Your account is ready. Choose your password here to sign in:", &u)))
		return rc;
	struct jw w;
	res_json(r, 200, &w);
	users_json(&w, &u, true);
	return res_end(r, &w);
}

/* POST /user/login {email, password} -> {access_token, token_type: "bearer"}. The
 * original's clients sent the password as "clave": taken when "password" is absent. */
int login_compat(struct req *r)
{
	struct json *body;
	const char *email, *password;
	int rc = req_object(r, &body);
	if (rc || (rc = req_str(r, body, "email", true, 254, &email)) ||
	    (rc = req_str(r, body, "password", false, 1024, &password)))
		return rc;
	if (!password && (rc = req_str(r, body, "clave", false, 1024, &password)))
		return rc;
	if (!password)
		return http_error(r, E_INVALID_INPUT, "password is required", "password");
	struct user u;
	if ((rc = auth_password_sign_in(r, email, password, &u)))
		return rc;
	/* no refresh token, so no session: the token is not listed among the sessions and
	 * ends with ACCESS_TTL, a sign-out everywhere or a password reset */
	struct buf jwt = BUF_INIT(JWT_MAX_LEN);
	if ((rc = auth_access_token(r, &u, NULL, time_now_us() / 1000000, &jwt))) {
		buf_free(&jwt);
		return rc;
	}
	struct jw w;
	res_json(r, 200, &w);
	jw_obj(&w);
	jw_kstr(&w, "access_token", buf_str(&jwt));
	jw_kstr(&w, "token_type", "bearer");
	jw_obj_end(&w);
	buf_free(&jwt);
	return res_end(r, &w);
}
