/* auth/jwt.h: JSON Web Tokens (RFC 7519) signed with HS256 (RFC 7515/7518) and nothing else:
 * the access tokens of the API. A token is accepted only when its MAC is right, its header
 * says HS256, and every claim the app relies on is present, well-typed and fits. */
#ifndef AUTH_JWT_H
#define AUTH_JWT_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"

/* Returned by jwt_verify for an authentic token whose exp has passed. Outside the err.h
 * range on purpose, so that a caller can tell "log in again" from "forged or broken". */
#define JWT_EXPIRED (-64)

#define JWT_MAX_LEN     4096 /* longer tokens are refused unread */
#define JWT_MIN_KEY_LEN 32   /* RFC 7518 3.2: an HS256 key at least as long as the hash */

/* String claims are NUL-terminated; one that does not fit (with its NUL) is an error in
 * both directions, never truncated. */
struct jwt_claims {
	char sub[64];  /* user id */
	char role[16]; /* e.g. "user", "admin" */
	char jti[64];  /* token id */
	int64_t iat;   /* issued at, seconds since the epoch */
	int64_t exp;   /* expires at: the token is dead from this second on */
	/* optional: written only when set, and an absent one reads as unset */
	char sid[64]; /* the session (refresh family) the token belongs to; "" for none */
	int64_t gen;  /* the account's session generation when issued; 0 is never written */
};

/* Appends the compact serialization of c to out, with the header exactly
 * {"alg":"HS256","typ":"JWT"}. 0, ERR_INVAL (a claim empty, unterminated in its array or not
 * UTF-8; key shorter than JWT_MIN_KEY_LEN), ERR_TOOBIG (out's limit), ERR_NOMEM, ERR_CRYPTO.
 * On failure out is unchanged. */
WUR int jwt_sign(const struct jwt_claims *c, const unsigned char *key, size_t klen,
                 struct buf *out);

/* Checks token[0..len) at time now (seconds since the epoch; no leeway). Returns 0 with the
 * claims in *out; JWT_EXPIRED when the token is authentic and well-formed but exp <= now;
 * ERR_INVAL for anything else that is wrong with the token (size, shape, base64url, JSON,
 * alg other than exactly "HS256", bad MAC, a "crit" header, missing, ill-typed or oversized
 * claims, an optional one present but ill-typed or oversized); ERR_NOMEM or ERR_CRYPTO for
 * internal failures. On every error *out is zeroed. The MAC is checked (in constant time)
 * before any JSON is parsed, so the parser only ever sees bytes signed with our key. */
WUR int jwt_verify(const char *token, size_t len, const unsigned char *key, size_t klen,
                   int64_t now, struct jwt_claims *out);

#endif
