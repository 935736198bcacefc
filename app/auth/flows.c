/* auth/flows.c: register, login, verify email, forgot/reset password, invite, and the CLI's
 * first admin. Every door that takes a secret is rate limited per IP and per account; the
 * answer to a wrong email and a wrong password is the same. */
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "auth/auth.h"
#include "auth/internal.h"
#include "auth/jwt.h"
#include "auth/password.h"
#include "core/config.h"
#include "core/crypto.h"
#include "core/log.h"
#include "core/time.h"
#include "http/server.h"
#include "mail/mail.h"
#include "store/db.h"

#define LINK_TTL_VERIFY (3 * 86400)
#define LINK_TTL_RESET 3600
#define LINK_TTL_INVITE (7 * 86400)
#define KDF_WAIT_S 10

static sem_t kdf_slots;
static bool kdf_ready;

void kdf_init(void)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	/* leave a core for everything else */
	unsigned slots = cpus > 2 ? (unsigned)(cpus - 1) : 1;
	kdf_ready = sem_init(&kdf_slots, 0, slots) == 0;
}

void kdf_destroy(void)
{
	if (kdf_ready)
		sem_destroy(&kdf_slots);
	kdf_ready = false;
}

static int kdf_enter(struct req *r)
{
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += KDF_WAIT_S;
	if (!kdf_ready || sem_timedwait(&kdf_slots, &until) != 0) {
		res_header(r, "Retry-After", "5");
		return http_error(r, E_UNAVAILABLE, "too many sign-ins at once; try again shortly", NULL);
	}
	return 0;
}

int auth_hash(struct req *r, const char *password, struct buf *out)
{
	int rc = kdf_enter(r);
	if (rc)
		return rc;
	rc = password_hash(password, strlen(password), (unsigned)config_int("PASSWORD_ITERATIONS"), out);
	sem_post(&kdf_slots);
	return rc ? http_error(r, E_INTERNAL, "the password could not be hashed", NULL) : 0;
}

int auth_verify_password(struct req *r, const char *password, const char *stored, bool *ok, bool *rehash)
{
	int rc = kdf_enter(r);
	if (rc)
		return rc;
	/* no account or no password: hash anyway, so timing does not tell accounts apart */
	static const char dummy[] = "pbkdf2-sha256$600000$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
	unsigned iters = (unsigned)config_int("PASSWORD_ITERATIONS");
	bool real = stored != NULL;
	rc = password_verify(password, strlen(password), real ? stored : dummy, iters, ok, rehash);
	sem_post(&kdf_slots);
	if (!real)
		*ok = false;
	if (rc && rc != ERR_INVAL)
		return http_error(r, E_INTERNAL, "the password could not be checked", NULL);
	return 0;
}

int auth_check_password(struct req *r, const char *password, const char *field)
{
	size_t chars = 0;
	for (const unsigned char *p = (const unsigned char *)password; *p; p++)
		chars += (*p & 0xc0) != 0x80; /* count code points, not bytes */
	if (chars < 8)
		return http_error(r, E_INVALID_INPUT, "the password needs at least 8 characters", field);
	return 0;
}

int auth_limit(struct req *r, struct ratelimit *rl, const char *key)
{
	int retry = 0;
	if (ratelimit_take(rl, key, strlen(key), time_mono_us(), &retry) == 0)
		return 0;
	char s[16];
	snprintf(s, sizeof s, "%d", retry);
	res_header(r, "Retry-After", s);
	return http_error(r, E_RATE_LIMITED, "too many attempts; wait before trying again", NULL);
}

/* Settings are read-only once loaded, so the fallback is made once, by whichever thread
 * asks first (request threads and the resets thread may ask at the same time). */
static char fallback_url[128];
static pthread_once_t fallback_once = PTHREAD_ONCE_INIT;

static void fallback_init(void)
{
	snprintf(fallback_url, sizeof fallback_url, "http://%s", config_str("APP_LISTEN"));
}

const char *auth_public_url(void)
{
	/* PUBLIC_URL when set (a proxy in front), else the address this server really listens
	 * on, else (a command with no server) the configured one */
	const char *u = config_str("PUBLIC_URL");
	if (*u)
		return u;
	if (*server_url())
		return server_url();
	pthread_once(&fallback_once, fallback_init);
	return fallback_url;
}

static int link_create(const char *user_id, const char *purpose, int64_t ttl_s, struct buf *token)
{
	unsigned char hash[32];
	char now[TIME_RFC3339_LEN], exp[TIME_RFC3339_LEN];
	if (crypto_token(token, 32) != 0)
		return ERR_CRYPTO;
	crypto_sha256(token->ptr, token->len, hash);
	int64_t now_us = time_now_us();
	time_rfc3339(now_us, now);
	time_rfc3339(now_us + ttl_s * 1000000, exp);
	return email_token_insert(hash, user_id, purpose, now, exp);
}

static const char *link_path(const char *purpose)
{
	return strcmp(purpose, "verify") == 0 ? "/verify-email" : "/reset-password";
}

int auth_mail_link(struct req *r, const struct user *u, const char *purpose, int64_t ttl_s,
                   const char *subject, const char *intro)
{
	struct buf token = BUF_INIT(128), body = BUF_INIT(8192);
	int rc = link_create(u->id, purpose, ttl_s, &token);
	if (!rc && buf_printf(&body, "Hello %s,\n\n%s\n\n%s%s?token=%s\n\nThe link works once, for %lld hours.\n"
	                             "If you did not ask for this, ignore this message.\n",
	                      u->name && *u->name ? u->name : "there", intro, auth_public_url(),
	                      link_path(purpose), buf_str(&token), (long long)(ttl_s / 3600)))
		rc = ERR_TOOBIG;
	if (!rc)
		rc = mail_queue_email(u->email, subject, buf_str(&body), buf_str(&token));
	if (token.ptr)
		memset(token.ptr, 0, token.len);
	buf_free(&token);
	buf_free(&body);
	if (rc)
		return r ? http_error(r, E_INTERNAL, "the message could not be queued", NULL) : rc;
	return 0;
}

/* ---- handlers ------------------------------------------------------------------------ */

int register_post(struct req *r)
{
	struct json *body;
	const char *email, *password, *name;
	int rc = req_object(r, &body);
	if (rc || (rc = req_str(r, body, "email", true, 254, &email)) ||
	    (rc = req_str(r, body, "password", true, 1024, &password)) ||
	    (rc = req_str(r, body, "name", true, 100, &name)))
		return rc;
	if (!users_email_ok(email))
		return http_error(r, E_INVALID_INPUT, "that is not an email address", "email");
	if ((rc = auth_check_password(r, password, "password")) || (rc = auth_limit(r, rl_register_ip, r->remote_ip)))
		return rc;
	struct buf hash = BUF_INIT(256);
	if ((rc = auth_hash(r, password, &hash))) {
		buf_free(&hash);
		return rc;
	}
	char id[UUID_STR_LEN];
	struct user u;
	if ((rc = db_begin()))
		goto out;
	rc = users_create(email, NULL, buf_str(&hash), name, "user", id);
	if (rc == ERR_EXISTS) {
		db_rollback();
		rc = http_error(r, E_CONFLICT, "an account with that email exists", "email");
		goto out;
	}
	if (!rc)
		rc = users_by_id(&r->arena, id, &u);
	if (!rc)
		rc = auth_mail_link(r, &u, "verify", LINK_TTL_VERIFY, "Confirm your email address",
		                    "Please confirm your email address by opening this link:");
	if (!rc)
		rc = auth_issue(r, 201, &u, NULL);
	if (!rc)
		rc = db_commit();
	if (rc)
		db_rollback();
	else
		mail_wake();
out:
	buf_free(&hash);
	return rc;
}

int auth_password_sign_in(struct req *r, const char *email, const char *password, struct user *u)
{
	char *account = arena_printf(&r->arena, "%s", email);
	for (char *p = account; p && *p; p++)
		*p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
	int rc;
	if ((rc = auth_limit(r, rl_login_ip, r->remote_ip)) || (rc = auth_limit(r, rl_login_account, account ? account : email)))
		return rc;
	rc = users_by_email(&r->arena, email, u);
	if (rc && rc != ERR_NOTFOUND)
		return rc;
	bool found = rc == 0, ok = false, rehash = false;
	if ((rc = auth_verify_password(r, password, found ? u->password_hash : NULL, &ok, &rehash)))
		return rc;
	if (!ok || !found)
		return http_error(r, E_UNAUTHORIZED, "wrong email or password", NULL);
	if (u->disabled)
		return http_error(r, E_UNAUTHORIZED, "this account is disabled", NULL);
	if (account)
		ratelimit_reset(rl_login_account, account, strlen(account));
	struct buf hash = BUF_INIT(256);
	/* its own transaction, the hashing before it: a failed re-hash is not the caller's problem */
	if (rehash && auth_hash(r, password, &hash) == 0 && db_begin() == 0) {
		if (users_set_password(u->id, buf_str(&hash)) == 0 && db_commit() == 0)
			log_info("password re-hashed at the current cost", "user", u->id, NULL);
		else
			db_rollback();
	}
	buf_free(&hash);
	r->error_code = NULL;
	return 0;
}

#define REAUTH_FRESH_S 300 /* a sign-in at most this old counts as the person's word */

/* 0 when the caller's sign-in is fresh: its session started at most REAUTH_FRESH_S ago (a
 * refresh renews the token, not the sign-in), or, for a token of no session, the token was
 * issued that recently. */
static int fresh_sign_in(struct req *r, bool *fresh)
{
	struct jwt_claims c;
	int rc = auth_caller(r, &c);
	if (rc)
		return rc;
	int64_t now_us = time_now_us(), signed_in_us = c.iat * 1000000;
	if (c.sid[0]) {
		char now[TIME_RFC3339_LEN];
		struct auth_session s;
		time_rfc3339(now_us, now);
		rc = auth_session_find(&r->arena, c.sid, r->user_id, now, &s);
		if (rc == ERR_NOTFOUND) {
			*fresh = false;
			return 0;
		}
		if (rc || (rc = time_parse(s.created_at, &signed_in_us)))
			return rc;
	}
	*fresh = now_us - signed_in_us <= REAUTH_FRESH_S * 1000000LL;
	return 0;
}

int auth_reauth(struct req *r, const struct user *u, const char *password)
{
	int rc;
	bool ok = false, rehash = false;
	if (!u->password_hash) {
		if ((rc = fresh_sign_in(r, &ok)))
			return rc;
		if (ok)
			return 0;
		return http_error(r, E_REAUTH_REQUIRED, "sign in again (in the last 5 minutes) to confirm",
		                  "password");
	}
	if (!password)
		return http_error(r, E_REAUTH_REQUIRED, "confirm with your password", "password");
	/* a stolen access token must not become a way to guess the password: the same limits
	 * as the sign-in door, on the same account key */
	char *account = arena_printf(&r->arena, "%s", u->email ? u->email : u->id);
	for (char *p = account; p && *p; p++)
		*p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
	if ((rc = auth_limit(r, rl_login_ip, r->remote_ip)) ||
	    (rc = auth_limit(r, rl_login_account, account ? account : u->id)) ||
	    (rc = auth_verify_password(r, password, u->password_hash, &ok, &rehash)))
		return rc;
	if (!ok)
		return http_error(r, E_REAUTH_REQUIRED, "the password is not right", "password");
	return 0;
}

int login_post(struct req *r)
{
	struct json *body;
	const char *email, *password;
	struct user u;
	int rc = req_object(r, &body);
	if (rc || (rc = req_str(r, body, "email", true, 254, &email)) ||
	    (rc = req_str(r, body, "password", true, 1024, &password)) ||
	    (rc = auth_password_sign_in(r, email, password, &u)))
		return rc;
	if ((rc = db_begin()))
		return rc;
	rc = auth_issue(r, 200, &u, NULL);
	if (!rc)
		rc = db_commit();
	if (rc)
		db_rollback();
	return rc;
}

/* Inside the caller's transaction: marks a link used and returns its user; 400 for an
 * unknown, used or old one, or one whose purpose is not among want. */
static int use_link(struct req *r, const char *token, const char *want, const char **user_id)
{
	unsigned char hash[32];
	char now[TIME_RFC3339_LEN];
	crypto_sha256(token, strlen(token), hash);
	time_rfc3339(time_now_us(), now);
	struct email_token t;
	int rc = email_token_find(&r->arena, hash, now, &t);
	if (rc == ERR_NOTFOUND || (!rc && (!t.purpose[0] || !strstr(want, t.purpose))))
		return http_error(r, E_INVALID_INPUT, "this link is not valid, already used, or expired", "token");
	if (!rc)
		rc = email_token_use(hash, now);
	if (rc == ERR_NOTFOUND)
		return http_error(r, E_INVALID_INPUT, "this link was already used", "token");
	*user_id = t.user_id;
	return rc;
}

int verify_email_post(struct req *r)
{
	struct json *body;
	const char *token, *user_id = NULL;
	int rc = req_object(r, &body);
	if (rc || (rc = req_str(r, body, "token", true, 256, &token)))
		return rc;
	if ((rc = db_begin()))
		return rc;
	rc = use_link(r, token, "verify", &user_id);
	if (!rc)
		rc = users_mark_email_verified(user_id);
	if (!rc)
		rc = db_commit();
	if (rc) {
		db_rollback();
		return rc;
	}
	r->status = 204;
	return 0;
}

int forgot_post(struct req *r)
{
	struct json *body;
	const char *email;
	int rc = req_object(r, &body);
	if (rc || (rc = req_str(r, body, "email", true, 254, &email)))
		return rc;
	if ((rc = auth_limit(r, rl_reset_ip, r->remote_ip)) || (rc = auth_limit(r, rl_reset_account, email)))
		return rc;
	/* 202 whatever happens next, after the same work either way: the address is looked up
	 * (and a link written and made durable) on the resets thread, so neither the answer nor
	 * its timing tells whether the account exists */
	if ((rc = resets_enqueue(r, email)))
		return rc;
	static const char accepted[] = "{\"status\":\"accepted\"}";
	return res_body(r, 202, "application/json", accepted, sizeof accepted - 1);
}

void auth_reset_mail(const char *email)
{
	char first[2048];
	struct arena a;
	struct user u;
	arena_init(&a, 1 << 20, first, sizeof first);
	if (users_by_email(&a, email, &u) == 0 && !u.disabled && db_begin() == 0) {
		if (auth_mail_link(NULL, &u, "reset", LINK_TTL_RESET, "Reset your password",
		                   "Someone asked to reset your password. To choose a new one, open:") == 0 &&
		    db_commit() == 0)
			mail_wake();
		else
			db_rollback();
	}
	arena_free(&a);
}

int reset_post(struct req *r)
{
	struct json *body;
	const char *token, *password, *user_id = NULL;
	int rc = req_object(r, &body);
	if (rc || (rc = req_str(r, body, "token", true, 256, &token)) ||
	    (rc = req_str(r, body, "password", true, 1024, &password)))
		return rc;
	if ((rc = auth_check_password(r, password, "password")) || (rc = auth_limit(r, rl_reset_ip, r->remote_ip)))
		return rc;
	struct buf hash = BUF_INIT(256);
	if ((rc = auth_hash(r, password, &hash)) || (rc = db_begin())) {
		buf_free(&hash);
		return rc;
	}
	rc = use_link(r, token, "reset invite", &user_id);
	if (!rc)
		rc = users_set_password(user_id, buf_str(&hash));
	if (!rc) /* they proved they read the mailbox */
		rc = users_mark_email_verified(user_id);
	if (!rc) /* every other session ends */
		rc = auth_revoke_user(user_id);
	if (!rc)
		rc = db_commit();
	buf_free(&hash);
	if (rc) {
		db_rollback();
		return rc;
	}
	r->status = 204;
	return 0;
}

int auth_invite(struct req *r, const char *email, const char *name, const char *subject, const char *intro,
                struct user *u)
{
	char id[UUID_STR_LEN];
	int rc = db_begin();
	if (rc)
		return rc;
	rc = users_create(email, NULL, NULL, name, "user", id);
	if (rc == ERR_EXISTS) {
		db_rollback();
		return http_error(r, E_CONFLICT, "an account with that email exists", "email");
	}
	if (!rc)
		rc = users_by_id(&r->arena, id, u);
	if (!rc)
		rc = auth_mail_link(r, u, "invite", LINK_TTL_INVITE, subject, intro);
	if (!rc)
		rc = db_commit();
	if (rc) {
		db_rollback();
		return rc;
	}
	mail_wake();
	return 0;
}

int invite_post(struct req *r)
{
	struct json *body;
	const char *email, *name;
	int rc = req_object(r, &body);
	if (rc || (rc = req_str(r, body, "email", true, 254, &email)) || (rc = req_str(r, body, "name", true, 100, &name)))
		return rc;
	if (!users_email_ok(email))
		return http_error(r, E_INVALID_INPUT, "that is not an email address", "email");
	struct user u;
	if ((rc = auth_invite(r, email, name, "You are invited",
	                      "You have been invited. Choose your password here to sign in:", &u)))
		return rc;
	struct jw w;
	res_json(r, 201, &w);
	users_json(&w, &u, true);
	return res_end(r, &w);
}

int auth_admin_create(const char *email, struct buf *link, struct buf *msg)
{
	if (!users_email_ok(email)) {
		buf_note(msg, "%s is not an email address", email);
		return ERR_INVAL;
	}
	struct arena a;
	arena_init(&a, 1 << 20, NULL, 0);
	struct user u;
	char id[UUID_STR_LEN];
	struct buf token = BUF_INIT(128);
	int rc = db_begin();
	if (!rc) {
		rc = users_by_email(&a, email, &u);
		if (rc == ERR_NOTFOUND && (rc = users_create(email, NULL, NULL, "Admin", "admin", id)) == 0)
			rc = users_by_id(&a, id, &u);
	}
	if (!rc)
		rc = users_set_access(u.id, "admin", 0);
	if (!rc)
		rc = link_create(u.id, "invite", 86400, &token);
	if (!rc &&
	    buf_printf(link, "%s/reset-password?token=%s", auth_public_url(), buf_str(&token)))
		rc = ERR_TOOBIG;
	if (!rc)
		rc = db_commit();
	if (rc) {
		db_rollback();
		buf_note(msg, "could not create the admin: %s", err_str(rc));
	}
	buf_free(&token);
	arena_free(&a);
	return rc;
}
