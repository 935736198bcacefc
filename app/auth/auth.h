/* auth/auth.h: signing in: passwords, phone codes, access and refresh tokens, mailed links.
 * Owns the refresh_tokens, sessions, email_tokens and otp_codes tables. The only header
 * other code may include from auth/. */
#ifndef AUTH_AUTH_H
#define AUTH_AUTH_H

#include <stdio.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/json.h"
#include "http/route.h"

extern const struct route_table auth_routes;
/* Drop-in routes for the original backends' clients: the FastAPI copilot's /user/signup and
 * /user/login, the E2EE chat's request-otp and verify-otp. */
extern const struct route_table auth_compat_routes;

/* Rate limiters, the access check (server_authenticate) and the sessions ended within the
 * last ACCESS_TTL; after config_load and the migrations. */
WUR int auth_init(void);
void auth_shutdown(void);
/* CLI `app admin create EMAIL`: makes EMAIL an admin (creating the account if needed) and
 * writes a one-time set-password link into link. After migrations, without a server. */
WUR int auth_admin_create(const char *email, struct buf *link, struct buf *msg);

/* The jobs of a running server: the thread that mails reset links (forgot-password answers
 * before looking the address up). Start after mail_start, stop before mail_stop. */
WUR int auth_start(void);
void auth_stop(void);

/* CLI `app seed users N [PREFIX]`: N verified accounts PREFIX-<i>@seed.test (existing ones
 * are reused), a few hundred per transaction, and one line per account on out:
 * email TAB user_id TAB access_token. Their password is random and known to nobody. Also
 * beside a running server. 0, or an error with its reason in msg. */
WUR int auth_seed_users(long n, const char *prefix, FILE *out, struct buf *msg);

/* For actions that want the person's word again (deleting the account): the password when
 * the account has one, else a sign-in (the caller's session) no older than five minutes.
 * 0, or a negative value already answered: 403 reauth_required (field "password"), 429
 * when password guesses come too fast, 503. */
struct user;
int auth_reauth(struct req *r, const struct user *u, const char *password);

/* Inside the caller's open write transaction (before the user row goes): deletes the
 * user's sessions, refresh tokens, mailed links and the sign-in code of their phone. */
WUR int auth_user_deleted(const char *user_id);
/* An access token checked as a request's would be (signature, expiry, the account enabled,
 * the session not ended), for a connection that renews its token: 0 with *user_id (in a)
 * and *exp (unix seconds); ERR_INVAL when it may not act; other errors when it could not be
 * checked. Reads the database: never on the event loop. */
WUR int auth_token_check(struct arena *a, const char *token, const char **user_id, int64_t *exp);
/* Writes the member "auth":{"sessions":[...],"refresh_tokens":[...],"email_tokens":[...],
 * "otp_codes":[...]}: when each was made, expires, was used or revoked, and the device of
 * each session; never a hash. 0, ERR_NOMEM or ERR_DB. */
WUR int auth_user_export(struct arena *a, struct jw *w, const char *user_id);

#endif
