/* auth/jwt.c: HS256 JWTs, compact serialization only. Must never accept a token whose MAC
 * was not checked against our key, an alg other than HS256 (no "none", no algorithm picked
 * by the token), a truncated claim, or a token past its exp. */
#include "auth/jwt.h"

#include <mbedtls/platform_util.h>
#include <stdbool.h>
#include <string.h>

#include "core/arena.h"
#include "core/crypto.h"
#include "core/json.h"

/* Our header, byte for byte. Verification parses headers instead of comparing with this,
 * since other writers order or space the members differently. */
static const char header[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";

/* JSON we are willing to parse from a token: flat objects with a handful of members. */
static const struct json_limits limits = {.max_depth = 4, .max_nodes = 64};

/* Room for both parsed parts of the largest token (see the limits above), so that the
 * arena's budget is never what stops a token: a token stops at JWT_MAX_LEN or the limits. */
#define ARENA_BUDGET 65536

/* A claim string is usable when it is non-empty, ends inside its array and is UTF-8
 * (the JSON writer would otherwise replace bytes and the token would not round-trip). */
static bool claim_ok(const char *s, size_t size)
{
	size_t n = strnlen(s, size);
	return n > 0 && n < size && utf8_check(s, n) == 0;
}

int jwt_sign(const struct jwt_claims *c, const unsigned char *key, size_t klen, struct buf *out)
{
	struct buf payload = BUF_INIT(JWT_MAX_LEN);
	unsigned char mac[CRYPTO_SHA256_LEN];
	size_t old = out->len;
	int rc = ERR_INVAL;
	if (klen < JWT_MIN_KEY_LEN || !claim_ok(c->sub, sizeof c->sub) ||
	    !claim_ok(c->role, sizeof c->role) || !claim_ok(c->jti, sizeof c->jti) ||
	    (c->sid[0] && !claim_ok(c->sid, sizeof c->sid)) || c->gen < 0)
		goto fail;

	struct jw w;
	jw_init(&w, &payload);
	jw_obj(&w);
	jw_kstr(&w, "sub", c->sub);
	jw_kstr(&w, "role", c->role);
	jw_kint(&w, "iat", c->iat);
	jw_kint(&w, "exp", c->exp);
	jw_kstr(&w, "jti", c->jti);
	if (c->sid[0])
		jw_kstr(&w, "sid", c->sid);
	if (c->gen)
		jw_kint(&w, "gen", c->gen);
	jw_obj_end(&w);
	rc = jw_finish(&w);
	if (rc)
		goto fail;

	/* the MAC covers exactly what precedes the second dot, as the verifier sees it */
	rc = crypto_b64url_encode(out, header, sizeof header - 1);
	if (rc)
		goto fail;
	rc = buf_addc(out, '.');
	if (rc)
		goto fail;
	rc = crypto_b64url_encode(out, payload.ptr, payload.len);
	if (rc)
		goto fail;
	rc = crypto_hmac_sha256(key, klen, out->ptr + old, out->len - old, mac);
	if (rc)
		goto fail;
	rc = buf_addc(out, '.');
	if (rc)
		goto fail;
	rc = crypto_b64url_encode(out, mac, sizeof mac);
fail:
	mbedtls_platform_zeroize(mac, sizeof mac);
	buf_free(&payload);
	if (rc) {
		out->len = old;
		if (out->ptr)
			out->ptr[old] = '\0';
	}
	return rc;
}

/* base64url-decodes one part into b (reused) and parses it; it must be a JSON object.
 * The parsed values live in the arena, so b may be reused afterwards. */
static int decode_part(struct arena *a, struct buf *b, const char *s, size_t n,
                       const struct json **out)
{
	struct json *j;
	buf_reset(b);
	if (crypto_b64url_decode(b, s, n) != 0)
		return ERR_INVAL;
	int rc = json_parse(a, buf_str(b), b->len, &limits, &j, NULL);
	if (rc == ERR_NOMEM)
		return rc;
	if (rc || j->type != JSON_OBJECT)
		return ERR_INVAL;
	*out = j;
	return 0;
}

static bool is_str(const struct json *j, const char *want)
{
	size_t n = strlen(want);
	return j && j->type == JSON_STRING && j->len == n && memcmp(j->str, want, n) == 0;
}

static int check_header(const struct json *h)
{
	/* Exact, case-sensitive: "hs256", "none", "HS512" and an absent alg all fail here. */
	if (!is_str(json_get(h, "alg"), "HS256"))
		return ERR_INVAL;
	const struct json *typ = json_get(h, "typ");
	if (typ && !is_str(typ, "JWT"))
		return ERR_INVAL;
	/* RFC 7515 4.1.11: extensions we do not understand must make the token invalid, and
	 * we understand none. */
	if (json_get(h, "crit"))
		return ERR_INVAL;
	return 0;
}

/* Copies a string claim into dst[size] with its NUL, refusing rather than truncating. */
static int claim_str(const struct json *p, const char *name, char *dst, size_t size)
{
	const struct json *j = json_get(p, name);
	/* an embedded NUL ("\u0000") would make the C string say less than the token */
	if (!j || j->type != JSON_STRING || j->len == 0 || j->len >= size ||
	    strlen(j->str) != j->len)
		return ERR_INVAL;
	memcpy(dst, j->str, j->len + 1);
	return 0;
}

/* Integer claims only: 1.5, 1e9, "123" and numbers beyond int64 are refused. */
static int claim_int(const struct json *p, const char *name, int64_t *dst)
{
	const struct json *j = json_get(p, name);
	if (!j || j->type != JSON_NUMBER || !j->is_int)
		return ERR_INVAL;
	*dst = j->integer;
	return 0;
}

int jwt_verify(const char *token, size_t len, const unsigned char *key, size_t klen, int64_t now,
               struct jwt_claims *out)
{
	_Alignas(16) char first[4096];
	struct arena a;
	struct buf part = BUF_INIT(JWT_MAX_LEN);
	unsigned char mac[CRYPTO_SHA256_LEN];
	const struct json *h, *p;
	int rc = ERR_INVAL;
	memset(out, 0, sizeof *out);
	arena_init(&a, ARENA_BUDGET, first, sizeof first);
	if (len == 0 || len > JWT_MAX_LEN || klen < JWT_MIN_KEY_LEN)
		goto fail;

	/* exactly three parts: two dots */
	const char *end = token + len;
	const char *d1 = memchr(token, '.', len);
	if (!d1)
		goto fail;
	const char *d2 = memchr(d1 + 1, '.', (size_t)(end - d1 - 1));
	if (!d2 || memchr(d2 + 1, '.', (size_t)(end - d2 - 1)))
		goto fail;

	if (crypto_b64url_decode(&part, d2 + 1, (size_t)(end - d2 - 1)) != 0 ||
	    part.len != sizeof mac)
		goto fail;
	rc = crypto_hmac_sha256(key, klen, token, (size_t)(d2 - token), mac);
	if (rc)
		goto fail;
	rc = ERR_INVAL;
	if (!crypto_equal(mac, part.ptr, sizeof mac))
		goto fail;

	rc = decode_part(&a, &part, token, (size_t)(d1 - token), &h);
	if (rc)
		goto fail;
	rc = check_header(h);
	if (rc)
		goto fail;
	rc = decode_part(&a, &part, d1 + 1, (size_t)(d2 - d1 - 1), &p);
	if (rc)
		goto fail;
	if (claim_str(p, "sub", out->sub, sizeof out->sub) ||
	    claim_str(p, "role", out->role, sizeof out->role) ||
	    claim_str(p, "jti", out->jti, sizeof out->jti) || claim_int(p, "iat", &out->iat) ||
	    claim_int(p, "exp", &out->exp) ||
	    (json_get(p, "sid") && claim_str(p, "sid", out->sid, sizeof out->sid)) ||
	    (json_get(p, "gen") && (claim_int(p, "gen", &out->gen) || out->gen < 0))) {
		rc = ERR_INVAL;
		goto fail;
	}
	/* no leeway: issuer and verifier share one clock */
	if (out->exp <= now)
		rc = JWT_EXPIRED;
fail:
	if (rc)
		memset(out, 0, sizeof *out);
	mbedtls_platform_zeroize(mac, sizeof mac);
	buf_free(&part);
	arena_free(&a);
	return rc;
}
