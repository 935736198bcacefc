/* auth/tokens.c: access tokens (JWT HS256), refresh-token rotation with reuse detection,
 * logout, and the access check every protected route goes through. Must never accept a
 * token it did not sign, nor keep serving a disabled account. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "auth/auth.h"
#include "auth/internal.h"
#include "auth/jwt.h"
#include "core/config.h"
#include "core/crypto.h"
#include "core/datadir.h"
#include "core/rand.h"
#include "core/time.h"
#include "http/server.h"
#include "http/wsproto.h"
#include "store/db.h"

int auth_new_token(struct req *r, char **token, unsigned char hash[32])
{
	struct buf b = BUF_INIT(128);
	if (crypto_token(&b, 32) != 0) {
		buf_free(&b);
		return http_error(r, E_INTERNAL, "no randomness", NULL);
	}
	crypto_sha256(b.ptr, b.len, hash);
	*token = arena_strndup(&r->arena, b.ptr, b.len);
	memset(b.ptr, 0, b.len);
	buf_free(&b);
	return *token ? 0 : ERR_NOMEM;
}

int auth_access_token(struct req *r, const struct user *u, const char *sid, int64_t now_s,
                      struct buf *jwt)
{
	struct jwt_claims c;
	memset(&c, 0, sizeof c);
	snprintf(c.sub, sizeof c.sub, "%s", u->id);
	snprintf(c.role, sizeof c.role, "%s", u->role);
	if (sid)
		snprintf(c.sid, sizeof c.sid, "%s", sid);
	c.gen = u->session_gen;
	if (uuid7(c.jti))
		return ERR_CRYPTO;
	c.iat = now_s;
	c.exp = c.iat + config_int("ACCESS_TTL");
	size_t klen;
	const unsigned char *key = datadir_key(&klen);
	if (!key || jwt_sign(&c, key, klen, jwt) != 0)
		return r ? http_error(r, E_INTERNAL, "the access token could not be signed", NULL)
		         : ERR_CRYPTO;
	return 0;
}

int auth_issue(struct req *r, int status, const struct user *u, const char *family)
{
	char fam[UUID_STR_LEN], now[TIME_RFC3339_LEN], exp[TIME_RFC3339_LEN];
	bool sign_in = !family;
	if (sign_in) {
		if (uuid7(fam))
			return ERR_CRYPTO;
		family = fam;
	}
	char *refresh;
	unsigned char hash[32];
	int rc = auth_new_token(r, &refresh, hash);
	if (rc)
		return rc;
	int64_t now_us = time_now_us();
	time_rfc3339(now_us, now);
	time_rfc3339(now_us + config_int("REFRESH_TTL") * 1000000, exp);
	if ((rc = refresh_token_insert(hash, family, u->id, now, exp)))
		return rc;
	/* a sign-in starts a session; a refresh is its latest use */
	if (sign_in)
		rc = auth_session_insert(family, u->id, auth_session_device(r), now, exp);
	else
		rc = auth_session_touch(family, now, exp);
	if (rc)
		return rc;
	struct buf jwt = BUF_INIT(JWT_MAX_LEN);
	if ((rc = auth_access_token(r, u, family, now_us / 1000000, &jwt))) {
		buf_free(&jwt);
		return rc;
	}
	struct jw w;
	res_json(r, status, &w);
	jw_obj(&w);
	jw_key(&w, "user");
	users_json(&w, u, true);
	jw_kstr(&w, "access_token", buf_str(&jwt));
	jw_kstr(&w, "refresh_token", refresh);
	jw_kstr(&w, "token_type", "Bearer");
	jw_kint(&w, "expires_in", config_int("ACCESS_TTL"));
	jw_obj_end(&w);
	buf_free(&jwt);
	return res_end(r, &w);
}

int auth_revoke_user(const char *user_id)
{
	char now[TIME_RFC3339_LEN];
	time_rfc3339(time_now_us(), now);
	int rc = refresh_user_revoke(user_id, now);
	return rc ? rc : users_bump_session_gen(user_id);
}

static int bad_refresh(struct req *r)
{
	return http_error(r, E_UNAUTHORIZED, "the refresh token is not valid", "refresh_token");
}

/* The refresh token in the body, hashed. */
static int body_token(struct req *r, unsigned char hash[32])
{
	struct json *body;
	const char *token;
	int rc = req_object(r, &body);
	if (rc || (rc = req_str(r, body, "refresh_token", true, 256, &token)))
		return rc;
	crypto_sha256(token, strlen(token), hash);
	return 0;
}

int refresh_post(struct req *r)
{
	unsigned char hash[32];
	int rc = body_token(r, hash);
	if (rc)
		return rc;
	char now[TIME_RFC3339_LEN];
	time_rfc3339(time_now_us(), now);
	struct refresh_token row;
	if ((rc = db_begin()))
		return rc;
	rc = refresh_token_find(&r->arena, hash, &row);
	bool expired = !rc && strcmp(row.expires_at, now) <= 0;
	if (rc == ERR_NOTFOUND || (!rc && (row.revoked || expired))) {
		db_rollback();
		return bad_refresh(r);
	}
	if (!rc && row.rotated) {
		/* a used token came back: someone holds a copy. End the whole sign-in. */
		rc = refresh_family_revoke(row.family_id, now);
		if (!rc && (rc = db_commit()) == 0) {
			auth_forget_session(row.family_id, row.user_id);
			return http_error(r, E_UNAUTHORIZED,
			                  "this refresh token was already used; the session is signed out",
			                  "refresh_token");
		}
	}
	struct user u;
	if (!rc) {
		rc = users_by_id(&r->arena, row.user_id, &u);
		if (rc == ERR_NOTFOUND || (!rc && u.disabled)) {
			db_rollback();
			return bad_refresh(r);
		}
	}
	if (!rc)
		rc = refresh_token_rotate(hash, now);
	if (!rc)
		rc = auth_issue(r, 200, &u, row.family_id);
	if (!rc && (rc = db_commit()) == 0)
		return 0;
	db_rollback();
	return rc;
}

int logout_post(struct req *r)
{
	unsigned char hash[32];
	int rc = body_token(r, hash);
	if (rc)
		return rc;
	char now[TIME_RFC3339_LEN];
	time_rfc3339(time_now_us(), now);
	struct refresh_token row;
	if ((rc = db_begin()))
		return rc;
	rc = refresh_token_find(&r->arena, hash, &row);
	bool found = rc == 0;
	if (rc == 0)
		rc = refresh_family_revoke(row.family_id, now);
	if (rc == 0 || rc == ERR_NOTFOUND)
		rc = db_commit();
	if (rc) {
		db_rollback();
		return rc;
	}
	if (found) /* the session's access tokens end with it */
		auth_forget_session(row.family_id, row.user_id);
	r->status = 204; /* also for an unknown token: logging out twice is not an error */
	return 0;
}

/* Tokens this thread verified lately, so a client's next request skips the HMAC. Only
 * tokens that passed jwt_verify enter; a hit still checks expiry; the key never changes
 * while the process runs. */
#define SEEN_SLOTS 8
#define SEEN_MAX_LEN 512
struct seen_token {
	size_t len;
	char token[SEEN_MAX_LEN];
	struct jwt_claims claims;
};
static _Thread_local struct seen_token seen[SEEN_SLOTS];
static _Thread_local unsigned seen_next;

static int verify_cached(const char *token, const unsigned char *key, size_t klen, int64_t now,
                         struct jwt_claims *c)
{
	size_t n = strlen(token);
	for (unsigned i = 0; n <= SEEN_MAX_LEN && i < SEEN_SLOTS; i++) {
		if (seen[i].len == n && memcmp(seen[i].token, token, n) == 0) {
			if (seen[i].claims.exp <= now)
				break;
			*c = seen[i].claims;
			return 0;
		}
	}
	int rc = key ? jwt_verify(token, n, key, klen, now, c) : ERR_CRYPTO;
	if (rc == 0 && n <= SEEN_MAX_LEN) {
		struct seen_token *s = &seen[seen_next++ % SEEN_SLOTS];
		memcpy(s->token, token, n);
		s->len = n;
		s->claims = *c;
	}
	return rc;
}

/* The request's access token checked (MAC, expiry) into c: 0, or 401 answered. */
static int token_claims(struct req *r, int64_t now, struct jwt_claims *c)
{
	const char *h = req_header(r, "Authorization");
	/* EventSource and WebSocket cannot send headers: the token may come as ?access_token=
	 * (the access log never records query strings), or for a WebSocket as the subprotocol
	 * list "bearer, <token>" */
	const char *q = !h && route_query_token(r->route) ? req_query(r, "access_token") : NULL;
	const char *tok;
	size_t tn;
	if (!h && !q && r->route && r->route->produces && strcmp(r->route->produces, "websocket") == 0 &&
	    ws_bearer_token(req_header(r, "Sec-WebSocket-Protocol"), &tok, &tn) == 0) {
		q = arena_strndup(&r->arena, tok, tn);
		r->token_in_protocol = q != NULL;
	}
	if (!q && (!h || strncasecmp(h, "Bearer ", 7) != 0 || !h[7]))
		return http_error(r, E_UNAUTHORIZED, "sign in first: Authorization: Bearer <token>", NULL);
	const char *token = q ? q : h + 7;
	size_t klen;
	const unsigned char *key = datadir_key(&klen);
	int rc = verify_cached(token, key, klen, now, c);
	if (rc == JWT_EXPIRED)
		return http_error(r, E_UNAUTHORIZED, "the access token has expired; refresh it", NULL);
	if (rc)
		return http_error(r, E_UNAUTHORIZED, "the access token is not valid", NULL);
	r->token_exp = c->exp;
	return 0;
}

int auth_caller(struct req *r, struct jwt_claims *c)
{
	return token_claims(r, time(NULL), c);
}

/* The account behind verified claims, when it may still act: 0, ERR_NOTFOUND (disabled or
 * gone), ERR_INVAL (the token's session was ended: sign out, sign out everywhere, a password
 * reset), or another error (the account could not be read). */
static int claims_account(struct arena *a, const struct jwt_claims *c, int64_t now, struct user *u)
{
	/* the current row, not the token's claims: a role change or a disable counts at once */
	int rc = users_by_id(a, c->sub, u);
	if (rc == ERR_NOTFOUND || (!rc && u->disabled))
		return ERR_NOTFOUND;
	if (!rc && (c->gen != u->session_gen || (c->sid[0] && revoked_has(c->sid, now))))
		return ERR_INVAL;
	return rc;
}

int auth_token_check(struct arena *a, const char *token, const char **user_id, int64_t *exp)
{
	struct jwt_claims c;
	int64_t now = time(NULL);
	size_t klen;
	const unsigned char *key = datadir_key(&klen);
	int rc = verify_cached(token, key, klen, now, &c);
	if (rc)
		return ERR_INVAL;
	struct user *u = arena_alloc(a, sizeof *u);
	rc = u ? claims_account(a, &c, now, u) : ERR_NOMEM;
	if (rc)
		return rc == ERR_NOTFOUND ? ERR_INVAL : rc;
	*user_id = u->id;
	*exp = c.exp;
	return 0;
}

/* server_authenticate: Bearer JWT, then the account's current role and state, and whether
 * the token's session was ended (sign out, sign out everywhere, a password reset). */
static int authenticate(struct req *r, enum route_access need)
{
	struct jwt_claims c;
	int64_t now = time(NULL);
	int rc = token_claims(r, now, &c);
	if (rc)
		return rc;
	struct user *u = arena_alloc(&r->arena, sizeof *u);
	rc = u ? claims_account(&r->arena, &c, now, u) : ERR_NOMEM;
	if (rc == ERR_NOTFOUND)
		return http_error(r, E_UNAUTHORIZED, "this account is disabled or gone", NULL);
	if (rc == ERR_INVAL)
		return http_error(r, E_UNAUTHORIZED, "this session was signed out; sign in again",
		                  NULL);
	if (rc)
		return http_error(r, E_UNAVAILABLE, "the account could not be checked", NULL);
	bool admin = strcmp(u->role, "admin") == 0;
	if ((need == ACCESS_ADMIN && !admin) || (need == ACCESS_AGENT && !admin && strcmp(u->role, "agent") != 0))
		return http_error(r, E_FORBIDDEN, "your role does not allow this", NULL);
	r->user_id = u->id;
	r->user_role = u->role;
	r->user = u;
	return 0;
}

void auth_register_check(void)
{
	server_authenticate = authenticate;
}
