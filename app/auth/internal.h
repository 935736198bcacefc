/* auth/internal.h: what auth/'s files share; private to auth/. */
#ifndef AUTH_INTERNAL_H
#define AUTH_INTERNAL_H

#include <stdint.h>

#include "core/page.h"
#include "http/ratelimit.h"
#include "http/req.h"
#include "users/users.h"

/* The limiters of the doors that take secrets (see auth_init for their rates). */
extern struct ratelimit *rl_login_ip, *rl_login_account, *rl_register_ip, *rl_otp_ip,
	*rl_otp_phone, *rl_verify_ip, *rl_verify_phone, *rl_reset_ip, *rl_reset_account;

/* 429 rate_limited with Retry-After when key (a string) is over its limiter's rate. */
int auth_limit(struct req *r, struct ratelimit *rl, const char *key);
/* Inside the caller's transaction: a new refresh token in family (NULL: a new family),
 * then the response {user, access_token, refresh_token, token_type, expires_in}. */
int auth_issue(struct req *r, int status, const struct user *u, const char *family);
/* PBKDF2 with at most one hash per spare core at a time, so sign-ins cannot starve the
 * rest of the server. 503 when the queue is too long. */
int auth_hash(struct req *r, const char *password, struct buf *out);
int auth_verify_password(struct req *r, const char *password, const char *stored, bool *ok, bool *rehash);
/* Password policy: 8 to 1024 bytes, at least 8 characters. */
int auth_check_password(struct req *r, const char *password, const char *field);
/* A random URL-safe token (32 bytes) and its SHA-256, for mailed links and refresh tokens. */
int auth_new_token(struct req *r, char **token, unsigned char hash[32]);
/* The base of links in mails: PUBLIC_URL, else the address this server listens on, else
 * (a command without a server) http://APP_LISTEN. Any thread, any time after config_load. */
const char *auth_public_url(void);
/* Inside the caller's transaction: a mailed link of purpose for user, valid ttl_s. */
int auth_mail_link(struct req *r, const struct user *u, const char *purpose, int64_t ttl_s,
                   const char *subject, const char *intro);
/* Inside the caller's transaction: ends every session of a user (password reset, sign out
 * everywhere): their refresh families are revoked and the account's session generation goes
 * up, so every access token issued before is refused from its next request on. */
int auth_revoke_user(const char *user_id);
/* After the commit that revoked family sid of user_id: its access tokens are refused from
 * now on (the revoked set; when that is full, every session of the user ends instead). */
void auth_forget_session(const char *sid, const char *user_id);
/* The signed access token (JWT) of u, issued now (seconds), into jwt; sid is the session
 * (refresh family) it belongs to, or NULL for none. 500 (answered) when it cannot be signed. */
int auth_access_token(struct req *r, const struct user *u, const char *sid, int64_t now_s,
                      struct buf *jwt);
/* The claims of the caller's access token (the route was authenticated). 0, or 401 answered. */
struct jwt_claims;
int auth_caller(struct req *r, struct jwt_claims *c);

/* ---- sessions.c: access tokens of ended sessions, refused until they would expire ------ */
/* Reloads the sessions ended within the last ACCESS_TTL (after migrations, before serving). */
WUR int revoked_load(void);
/* sid's tokens are refused until until_s (seconds). ERR_TOOBIG when the set is full. */
WUR int revoked_add(const char *sid, int64_t until_s);
/* True while sid's tokens are refused. Cheap enough for every request: no lock while the
 * set is empty, one hash probe otherwise. */
bool revoked_has(const char *sid, int64_t now_s);
void revoked_free(void);
/* The User-Agent of r as a session's device: whitespace trimmed, control characters
 * dropped, at most 200 characters (UTF-8 kept whole); "" without one. In r's arena. */
const char *auth_session_device(struct req *r);

/* ---- resets.c: forgot-password requests, answered before any work that depends on the
 * address is done (the work runs on the resets thread) ---------------------------------- */
/* Queues a reset mail for email; waits (bounded) while the queue is full. 0, or 503 answered. */
int resets_enqueue(struct req *r, const char *email);
/* Mails a reset link to email when it names an enabled account, in its own transaction. */
void auth_reset_mail(const char *email);
/* The one check behind every password sign-in: rate limits per IP and per account, the same
 * 401 for a wrong email and a wrong password, disabled accounts refused, an old work factor
 * upgraded. 0 with *u, or a negative value already answered. */
int auth_password_sign_in(struct req *r, const char *email, const char *password, struct user *u);
/* Creates an account without a password for email and mails it a link to choose one
 * (purpose "invite", a week), in one transaction. 0 with *u, or a negative value already
 * answered (409 when the email is taken). */
int auth_invite(struct req *r, const char *email, const char *name, const char *subject, const char *intro,
                struct user *u);

/* ---- store.c: auth's tables. Writes run inside the caller's transaction. 0, ERR_NOTFOUND,
 * ERR_NOMEM or ERR_DB; strings are read into a. Tokens and codes are kept only as hashes. */
struct refresh_token {
	const char *family_id, *user_id, *expires_at;
	bool rotated, revoked;
};
WUR int refresh_token_insert(const unsigned char hash[32], const char *family_id, const char *user_id,
                             const char *now, const char *expires_at);
WUR int refresh_token_find(struct arena *a, const unsigned char hash[32], struct refresh_token *t);
WUR int refresh_token_rotate(const unsigned char hash[32], const char *now);
/* Both also mark the session (or the user's sessions) ended at now. */
WUR int refresh_family_revoke(const char *family_id, const char *now);
WUR int refresh_user_revoke(const char *user_id, const char *now);

/* A session: one sign-in, i.e. one refresh family. Live: not revoked and not expired. */
struct auth_session {
	const char *id, *device, *created_at, *last_used_at;
	bool current; /* set by the handler: the caller's own */
};
WUR int auth_session_insert(const char *id, const char *user_id, const char *device,
                            const char *now, const char *expires_at);
/* A refresh: last used now, valid until expires_at. */
WUR int auth_session_touch(const char *id, const char *now, const char *expires_at);
/* user_id's live session id at now. ERR_NOTFOUND when it is not one (another user's too). */
WUR int auth_session_find(struct arena *a, const char *id, const char *user_id, const char *now,
                          struct auth_session *s);
/* user_id's live sessions at now, newest first; out->items are struct auth_session. */
WUR int auth_session_page(struct arena *a, const char *user_id, const char *now,
                          const struct page *pg, struct page_out *out);
/* Calls each(ctx, id, revoked_at) for every session revoked after since; stops at the first
 * non-zero return and returns it. */
WUR int auth_session_revoked_since(const char *since,
                                   int (*each)(void *ctx, const char *id, const char *revoked_at),
                                   void *ctx);

struct email_token {
	const char *user_id, *purpose;
};
WUR int email_token_insert(const unsigned char hash[32], const char *user_id, const char *purpose,
                           const char *now, const char *expires_at);
/* A link not used and not expired at now. */
WUR int email_token_find(struct arena *a, const unsigned char hash[32], const char *now, struct email_token *t);
/* Marks it used; ERR_NOTFOUND when it already was. */
WUR int email_token_use(const unsigned char hash[32], const char *now);

struct otp_code {
	unsigned char code_hash[32];
	const char *expires_at;
	int tries_left;
};
/* One live code per phone: a new one replaces the old. */
WUR int otp_code_put(const char *phone, const unsigned char code_hash[32], const char *expires_at,
                     int tries_left, const char *now);
WUR int otp_code_find(struct arena *a, const char *phone, struct otp_code *c);
WUR int otp_code_spend(const char *phone);
WUR int otp_code_delete(const char *phone);

#endif
