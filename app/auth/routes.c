/* auth/routes.c: the auth domain's route tables (its own, and the drop-in routes of the
 * original backends' clients), and its boot: the rate limiters, the access check and the
 * sessions ended lately. */
#include "auth/auth.h"
#include "auth/internal.h"
#include "http/server.h"

int register_post(struct req *r);
int login_post(struct req *r);
int refresh_post(struct req *r);
int logout_post(struct req *r);
int verify_email_post(struct req *r);
int forgot_post(struct req *r);
int reset_post(struct req *r);
int invite_post(struct req *r);
int otp_request_post(struct req *r);
int otp_verify_post(struct req *r);
int signup_compat(struct req *r);
int login_compat(struct req *r);
int auth_sessions_list(struct req *r);
int auth_session_delete(struct req *r);
int auth_sessions_delete_all(struct req *r);
void auth_register_check(void);
void kdf_init(void);
void kdf_destroy(void);

#define BODY_MAX 4096

static const char tokens_schema[] =
	"{\"type\":\"object\",\"required\":[\"user\",\"access_token\",\"refresh_token\",\"expires_in\"],"
	"\"properties\":{\"user\":{\"type\":\"object\"},\"access_token\":{\"type\":\"string\"},"
	"\"refresh_token\":{\"type\":\"string\"},\"token_type\":{\"const\":\"Bearer\"},\"expires_in\":{\"type\":\"integer\"}}}";
static const char register_schema[] =
	"{\"type\":\"object\",\"required\":[\"email\",\"password\",\"name\"],\"properties\":{"
	"\"email\":{\"type\":\"string\",\"format\":\"email\"},\"password\":{\"type\":\"string\",\"minLength\":8},"
	"\"name\":{\"type\":\"string\",\"maxLength\":100}}}";
static const char login_schema[] =
	"{\"type\":\"object\",\"required\":[\"email\",\"password\"],\"properties\":{\"email\":{\"type\":\"string\"},"
	"\"password\":{\"type\":\"string\"}}}";
static const char refresh_schema[] =
	"{\"type\":\"object\",\"required\":[\"refresh_token\"],\"properties\":{\"refresh_token\":{\"type\":\"string\"}}}";
static const char token_schema[] =
	"{\"type\":\"object\",\"required\":[\"token\"],\"properties\":{\"token\":{\"type\":\"string\"}}}";
static const char email_schema[] =
	"{\"type\":\"object\",\"required\":[\"email\"],\"properties\":{\"email\":{\"type\":\"string\"}}}";
static const char reset_schema[] =
	"{\"type\":\"object\",\"required\":[\"token\",\"password\"],\"properties\":{\"token\":{\"type\":\"string\"},"
	"\"password\":{\"type\":\"string\",\"minLength\":8}}}";
static const char invite_schema[] =
	"{\"type\":\"object\",\"required\":[\"email\",\"name\"],\"properties\":{\"email\":{\"type\":\"string\"},"
	"\"name\":{\"type\":\"string\"}}}";
static const char phone_schema[] =
	"{\"type\":\"object\",\"required\":[\"phone\"],\"properties\":{\"phone\":{\"type\":\"string\",\"pattern\":\"^\\\\+[1-9][0-9]{7,14}$\"}}}";
static const char otp_verify_schema[] =
	"{\"type\":\"object\",\"required\":[\"phone\",\"code\"],\"properties\":{\"phone\":{\"type\":\"string\"},"
	"\"code\":{\"type\":\"string\",\"pattern\":\"^[0-9]{6}$\"}}}";

static const char sessions_schema[] =
	"{\"type\":\"object\",\"required\":[\"items\",\"next_cursor\"],\"properties\":{\"items\":{\"type\":\"array\","
	"\"items\":{\"type\":\"object\",\"required\":[\"id\",\"device\",\"created_at\",\"last_used_at\",\"current\"],"
	"\"properties\":{\"id\":{\"type\":\"string\"},\"device\":{\"type\":\"string\",\"description\":\"the User-Agent at sign-in\"},"
	"\"created_at\":{\"type\":\"string\",\"description\":\"the sign-in\"},"
	"\"last_used_at\":{\"type\":\"string\",\"description\":\"the last refresh (the sign-in until one happens)\"},"
	"\"current\":{\"type\":\"boolean\",\"description\":\"the session of the token that asks\"}}}},"
	"\"next_cursor\":{\"type\":[\"string\",\"null\"]}}}";

static const struct route routes[] = {
	{"POST", "/api/v1/auth/register", register_post, ACCESS_PUBLIC, BODY_MAX,
	 "Create an account; mails a link to confirm the address", register_schema, tokens_schema, 201, NULL},
	{"POST", "/api/v1/auth/login", login_post, ACCESS_PUBLIC, BODY_MAX,
	 "Sign in with email and password (rate limited per IP and per account)", login_schema, tokens_schema, 200, NULL},
	{"POST", "/api/v1/auth/refresh", refresh_post, ACCESS_PUBLIC, BODY_MAX,
	 "Trade a refresh token for a new pair (each works once; reuse signs the session out)",
	 refresh_schema, tokens_schema, 200, NULL},
	{"POST", "/api/v1/auth/logout", logout_post, ACCESS_PUBLIC, BODY_MAX, "End the session of a refresh token",
	 refresh_schema, NULL, 204, NULL},
	{"POST", "/api/v1/auth/verify-email", verify_email_post, ACCESS_PUBLIC, BODY_MAX,
	 "Confirm an email address with the mailed token", token_schema, NULL, 204, NULL},
	{"POST", "/api/v1/auth/password/forgot", forgot_post, ACCESS_PUBLIC, BODY_MAX,
	 "Mail a reset link (always 202: the answer never tells whether the account exists)", email_schema, NULL, 202, NULL},
	{"POST", "/api/v1/auth/password/reset", reset_post, ACCESS_PUBLIC, BODY_MAX,
	 "Set a new password with a mailed token; ends every other session", reset_schema, NULL, 204, NULL},
	{"POST", "/api/v1/auth/invite", invite_post, ACCESS_ADMIN, BODY_MAX,
	 "Invite someone: mails a set-password link (never a password)", invite_schema, NULL, 201, NULL},
	{"POST", "/api/v1/auth/otp/request", otp_request_post, ACCESS_PUBLIC, BODY_MAX,
	 "Send a 6-digit sign-in code by SMS (5 minutes, 5 tries)", phone_schema, NULL, 202, NULL},
	{"POST", "/api/v1/auth/otp/verify", otp_verify_post, ACCESS_PUBLIC, BODY_MAX,
	 "Sign in with the code; the first sign-in creates the account", otp_verify_schema, tokens_schema, 200, NULL},
	{"GET", "/api/v1/auth/sessions", auth_sessions_list, ACCESS_USER, 0,
	 "My sessions (one per sign-in), newest first; current marks the one asking", NULL, sessions_schema, 200, NULL},
	{"DELETE", "/api/v1/auth/sessions", auth_sessions_delete_all, ACCESS_USER, 0,
	 "Sign out everywhere, this session too: every refresh and access token stops working at once", NULL, NULL,
	 204, NULL},
	{"DELETE", "/api/v1/auth/sessions/{id}", auth_session_delete, ACCESS_USER, 0,
	 "Sign one session out: its refresh token and its access tokens stop working at once", NULL, NULL, 204, NULL},
};

const struct route_table auth_routes = ROUTE_TABLE("auth", routes,
						   "Sign-up, sign-in (password or phone code), tokens, sessions, email "
						   "verification, password reset, invitations");

static const char signup_schema[] =
	"{\"type\":\"object\",\"required\":[\"email\"],\"properties\":{\"email\":{\"type\":\"string\",\"format\":\"email\"},"
	"\"name\":{\"type\":\"string\",\"maxLength\":100}}}";
static const char signup_reply[] =
	"{\"type\":\"object\",\"required\":[\"id\",\"email\"],\"properties\":{\"id\":{\"type\":\"string\"},"
	"\"email\":{\"type\":\"string\"},\"name\":{\"type\":\"string\"},\"created_at\":{\"type\":\"string\"}}}";
static const char login_compat_schema[] =
	"{\"type\":\"object\",\"required\":[\"email\"],\"properties\":{\"email\":{\"type\":\"string\"},"
	"\"password\":{\"type\":\"string\"},\"clave\":{\"type\":\"string\",\"description\":\"the original's name for password\"}}}";
static const char login_compat_reply[] =
	"{\"type\":\"object\",\"required\":[\"access_token\",\"token_type\"],\"properties\":{"
	"\"access_token\":{\"type\":\"string\"},\"token_type\":{\"const\":\"bearer\"}}}";

static const struct route compat[] = {
	{"POST", "/user/signup", signup_compat, ACCESS_PUBLIC, BODY_MAX,
	 "FastAPI copilot: create an account; mails a set-password link (never a password)", signup_schema,
	 signup_reply, 200, NULL},
	{"POST", "/user/login", login_compat, ACCESS_PUBLIC, BODY_MAX,
	 "FastAPI copilot: sign in with email and password, answered as {access_token, token_type}",
	 login_compat_schema, login_compat_reply, 200, NULL},
	{"POST", "/api/v1/auth/request-otp", otp_request_post, ACCESS_PUBLIC, BODY_MAX,
	 "E2EE chat: as POST /api/v1/auth/otp/request", phone_schema, NULL, 202, NULL},
	{"POST", "/api/v1/auth/verify-otp", otp_verify_post, ACCESS_PUBLIC, BODY_MAX,
	 "E2EE chat: as POST /api/v1/auth/otp/verify", otp_verify_schema, tokens_schema, 200, NULL},
};

const struct route_table auth_compat_routes =
	ROUTE_TABLE("compat", compat, "Drop-in routes for the clients of the five original backends");

struct ratelimit *rl_login_ip, *rl_login_account, *rl_register_ip, *rl_otp_ip, *rl_otp_phone,
	*rl_verify_ip, *rl_verify_phone, *rl_reset_ip, *rl_reset_account;

#define KEYS 10000

int auth_init(void)
{
	/* burst first, then the steady rate */
	rl_login_ip = ratelimit_setting("login per IP", "RATE_LOGIN_IP", KEYS);
	rl_login_account = ratelimit_setting("login per account", "RATE_LOGIN_ACCOUNT", KEYS);
	rl_register_ip = ratelimit_setting("register per IP", "RATE_REGISTER_IP", KEYS);
	rl_otp_ip = ratelimit_setting("otp request per IP", "RATE_OTP_IP", KEYS);
	rl_otp_phone = ratelimit_setting("otp request per phone", "RATE_OTP_PHONE", KEYS);
	rl_verify_ip = ratelimit_setting("otp verify per IP", "RATE_VERIFY_IP", KEYS);
	rl_verify_phone = ratelimit_setting("otp verify per phone", "RATE_VERIFY_PHONE", KEYS);
	rl_reset_ip = ratelimit_setting("password reset per IP", "RATE_RESET_IP", KEYS);
	rl_reset_account = ratelimit_setting("password reset per account", "RATE_RESET_ACCOUNT", KEYS);
	if (!rl_login_ip || !rl_login_account || !rl_register_ip || !rl_otp_ip || !rl_otp_phone ||
	    !rl_verify_ip || !rl_verify_phone || !rl_reset_ip || !rl_reset_account)
		return ERR_NOMEM;
	kdf_init();
	auth_register_check();
	/* sessions ended just before a restart keep their access tokens refused */
	return revoked_load();
}

void auth_shutdown(void)
{
	struct ratelimit **all[] = {&rl_login_ip, &rl_login_account, &rl_register_ip, &rl_otp_ip, &rl_otp_phone,
	                            &rl_verify_ip, &rl_verify_phone, &rl_reset_ip, &rl_reset_account};
	for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
		ratelimit_free(*all[i]);
		*all[i] = NULL;
	}
	kdf_destroy();
	revoked_free();
}
