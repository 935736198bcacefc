/* Unit tests for auth/jwt.c: round trips, the RFC 7515 A.1 example, and forged tokens that
 * carry a correct HS256 MAC but are wrong in exactly one other way, so that each rejection
 * is proven to come from the check it names and not from the MAC. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "auth/jwt.h"
#include "check.h"
#include "core/crypto.h"

static const unsigned char key[] = "0123456789abcdef0123456789abcdef"; /* 32 bytes + NUL */
#define KLEN (sizeof key - 1)

#define NOW 1700000000

/* The token being built by the helpers below; valid until the next helper call. */
static struct buf tok = BUF_INIT(16384);

/* signing_input "." base64url(HMAC(key, signing_input)) */
static const char *seal(const char *signing_input, const unsigned char *k, size_t klen)
{
	unsigned char mac[32];
	struct buf si = BUF_INIT(16384);
	int rc = buf_adds(&si, signing_input);
	rc = rc ? rc : crypto_hmac_sha256(k, klen, si.ptr, si.len, mac);
	buf_reset(&tok);
	rc = rc ? rc : buf_add(&tok, si.ptr, si.len);
	rc = rc ? rc : buf_addc(&tok, '.');
	rc = rc ? rc : crypto_b64url_encode(&tok, mac, sizeof mac);
	CHECK(rc == 0);
	buf_free(&si);
	return buf_str(&tok);
}

/* A token with the given header and payload JSON text, MACed with our key. */
static const char *forge(const char *hdr, const char *payload)
{
	struct buf si = BUF_INIT(16384);
	int rc = crypto_b64url_encode(&si, hdr, strlen(hdr));
	rc = rc ? rc : buf_addc(&si, '.');
	rc = rc ? rc : crypto_b64url_encode(&si, payload, strlen(payload));
	CHECK(rc == 0);
	const char *t = seal(buf_str(&si), key, KLEN);
	buf_free(&si);
	return t;
}

static const char good_hdr[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
static const char good_pay[] =
    "{\"sub\":\"u1\",\"role\":\"user\",\"jti\":\"j1\",\"iat\":1699999000,\"exp\":1700000900}";

static int verify(const char *t, struct jwt_claims *c)
{
	return jwt_verify(t, strlen(t), key, KLEN, NOW, c);
}

static bool zeroed(const struct jwt_claims *c)
{
	static const struct jwt_claims zero;
	return memcmp(c, &zero, sizeof zero) == 0;
}

/* Expects ERR_INVAL and zeroed claims, naming the case on failure. */
static void rejects(const char *why, const char *t)
{
	struct jwt_claims c;
	memset(&c, 0x55, sizeof c);
	int rc = verify(t, &c);
	if (rc != ERR_INVAL)
		fprintf(stderr, "not rejected (%d): %s\n", rc, why);
	CHECK(rc == ERR_INVAL && zeroed(&c));
}

static void test_round_trip(void)
{
	struct jwt_claims in = {.iat = NOW, .exp = NOW + 900}, out;
	memcpy(in.sub, "0b6f1c2e-8f0a-4c55-9b7d-2f3c4d5e6f70", 37);
	memcpy(in.role, "admin", 6);
	memcpy(in.jti, "Qm9vYmFy-_x", 12);
	struct buf t = BUF_INIT(JWT_MAX_LEN);
	CHECK(jwt_sign(&in, key, KLEN, &t) == 0);
	/* the header is exactly {"alg":"HS256","typ":"JWT"} */
	CHECK(strncmp(buf_str(&t), "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.", 37) == 0);
	CHECK(jwt_verify(t.ptr, t.len, key, KLEN, NOW, &out) == 0);
	CHECK(memcmp(&in, &out, sizeof in) == 0);
	CHECK(jwt_verify(t.ptr, t.len, key, KLEN, NOW + 899, &out) == 0);
	/* exp is the first second the token is dead: no leeway */
	memset(&out, 0x55, sizeof out);
	CHECK(jwt_verify(t.ptr, t.len, key, KLEN, NOW + 900, &out) == JWT_EXPIRED && zeroed(&out));
	CHECK(jwt_verify(t.ptr, t.len, key, KLEN, NOW + 86400, &out) == JWT_EXPIRED);
	/* another key, or the same key one byte shorter */
	static const unsigned char other[] = "0123456789abcdef0123456789abcdeF";
	CHECK(jwt_verify(t.ptr, t.len, other, KLEN, NOW, &out) == ERR_INVAL && zeroed(&out));
	CHECK(jwt_verify(t.ptr, t.len - 1, key, KLEN, NOW, &out) == ERR_INVAL);

	/* the payload is what we think it is */
	const char *d1 = strchr(t.ptr, '.'), *d2 = strrchr(t.ptr, '.');
	struct buf p = BUF_INIT(1024);
	CHECK(crypto_b64url_decode(&p, d1 + 1, (size_t)(d2 - d1 - 1)) == 0);
	CHECK_STR(buf_str(&p),
	          "{\"sub\":\"0b6f1c2e-8f0a-4c55-9b7d-2f3c4d5e6f70\",\"role\":\"admin\","
	          "\"iat\":1700000000,\"exp\":1700000900,\"jti\":\"Qm9vYmFy-_x\"}");
	buf_free(&p);

	/* strings that need escaping survive, and the longest ones that fit */
	buf_reset(&t);
	memset(in.sub, 'a', sizeof in.sub - 1);
	in.sub[sizeof in.sub - 1] = '\0';
	memcpy(in.role, "r\"\\\xc3\xa9/\t", 8);
	memset(in.jti, 'j', sizeof in.jti - 1);
	in.jti[sizeof in.jti - 1] = '\0';
	in.iat = -1;
	in.exp = INT64_MAX;
	CHECK(jwt_sign(&in, key, KLEN, &t) == 0);
	CHECK(jwt_verify(t.ptr, t.len, key, KLEN, NOW, &out) == 0);
	CHECK(memcmp(&in, &out, sizeof in) == 0);

	/* a token that does not fit leaves out as it was */
	struct buf small = BUF_INIT(100);
	CHECK(buf_adds(&small, "x") == 0);
	CHECK(jwt_sign(&in, key, KLEN, &small) == ERR_TOOBIG);
	CHECK_STR(buf_str(&small), "x");
	buf_free(&small);
	buf_free(&t);
}

static void test_sign_refuses(void)
{
	struct jwt_claims c = {.iat = 1, .exp = 2};
	memcpy(c.sub, "u", 2);
	memcpy(c.role, "user", 5);
	memcpy(c.jti, "j", 2);
	struct buf t = BUF_INIT(JWT_MAX_LEN);
	CHECK(jwt_sign(&c, key, KLEN - 1, &t) == ERR_INVAL); /* short key */
	struct jwt_claims bad = c;
	bad.sub[0] = '\0';
	CHECK(jwt_sign(&bad, key, KLEN, &t) == ERR_INVAL);
	bad = c;
	memset(bad.role, 'r', sizeof bad.role); /* no NUL inside the array */
	CHECK(jwt_sign(&bad, key, KLEN, &t) == ERR_INVAL);
	bad = c;
	memcpy(bad.jti, "j\xff", 3); /* not UTF-8 */
	CHECK(jwt_sign(&bad, key, KLEN, &t) == ERR_INVAL);
	CHECK(t.len == 0);
	CHECK(jwt_sign(&c, key, KLEN, &t) == 0);
	buf_free(&t);
}

static void test_rfc7515(void)
{
	/* RFC 7515 appendix A.1: JWS using HMAC SHA-256 */
	static const char k64[] = "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0i"
	                          "PS4hcgUuTwjAzZr1Z9CAow";
	static const char si[] = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9"
	                         ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFt"
	                         "cGxlLmNvbS9pc19yb290Ijp0cnVlfQ";
	static const char sig[] = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
	struct buf k = BUF_INIT(64);
	CHECK(crypto_b64url_decode(&k, k64, sizeof k64 - 1) == 0 && k.len == 64);
	const unsigned char *kp = (const unsigned char *)k.ptr;

	/* the MAC we compute is the published one */
	const char *t = seal(si, kp, k.len);
	CHECK(strlen(t) == sizeof si + sizeof sig - 1);
	CHECK(strcmp(t + sizeof si, sig) == 0);

	/* Authentic, and its header ({"typ":"JWT",\r\n "alg":"HS256"}) is fine, but its
	 * payload lacks sub, role, jti and iat, which the app requires: invalid, even before
	 * its exp of 1300819380. */
	struct jwt_claims c;
	CHECK(jwt_verify(t, strlen(t), kp, k.len, 1300819379, &c) == ERR_INVAL && zeroed(&c));

	/* the same header bytes with a complete payload are accepted */
	struct buf s = BUF_INIT(4096);
	static const char pay[] = "{\"iss\":\"joe\",\r\n \"exp\":1300819380,\r\n "
	                          "\"http://example.com/is_root\":true,\"sub\":\"joe\","
	                          "\"role\":\"user\",\"jti\":\"1\",\"iat\":1300819000}";
	CHECK(buf_add(&s, si, (size_t)(strchr(si, '.') - si) + 1) == 0);
	CHECK(crypto_b64url_encode(&s, pay, sizeof pay - 1) == 0);
	t = seal(s.ptr, kp, k.len);
	CHECK(jwt_verify(t, strlen(t), kp, k.len, 1300819379, &c) == 0);
	CHECK_STR(c.sub, "joe");
	CHECK(c.exp == 1300819380 && c.iat == 1300819000);
	CHECK(jwt_verify(t, strlen(t), kp, k.len, 1300819380, &c) == JWT_EXPIRED);
	buf_free(&s);
	buf_free(&k);
}

static void test_tampered(void)
{
	struct jwt_claims c;
	const char *t = forge(good_hdr, good_pay);
	CHECK(verify(t, &c) == 0);
	CHECK_STR(c.sub, "u1");
	CHECK_STR(c.role, "user");
	CHECK_STR(c.jti, "j1");
	char *copy = strdup(t);
	size_t n = strlen(copy);
	char *d1 = strchr(copy, '.'), *d2 = strrchr(copy, '.');

	/* one payload symbol changed (still valid base64url) */
	char save = d1[5];
	d1[5] = save == 'A' ? 'B' : 'A';
	rejects("tampered payload", copy);
	d1[5] = save;
	/* one signature symbol changed, in the middle and at the end */
	save = d2[10];
	d2[10] = save == 'A' ? 'B' : 'A';
	rejects("tampered signature", copy);
	d2[10] = save;
	save = copy[n - 1];
	copy[n - 1] = save == 'A' ? 'E' : 'A';
	rejects("tampered last signature symbol", copy);
	copy[n - 1] = save;
	CHECK(verify(copy, &c) == 0);

	/* a payload from another token under this token's signature */
	char *spliced = NULL;
	t = forge(good_hdr, "{\"sub\":\"admin\",\"role\":\"admin\",\"jti\":\"j1\",\"iat\":1,"
	                    "\"exp\":1700000900}");
	const char *e1 = strchr(t, '.'), *e2 = strrchr(t, '.');
	struct buf s = BUF_INIT(4096);
	CHECK(buf_add(&s, copy, (size_t)(d1 - copy)) == 0);
	CHECK(buf_add(&s, e1, (size_t)(e2 - e1)) == 0);
	CHECK(buf_adds(&s, d2) == 0);
	spliced = buf_take(&s, NULL);
	rejects("spliced payload", spliced);
	free(spliced);
	buf_free(&s);
	free(copy);
}

static void test_alg(void)
{
	/* each of these carries a correct HS256 MAC: only the header is wrong */
	rejects("alg none", forge("{\"alg\":\"none\",\"typ\":\"JWT\"}", good_pay));
	rejects("alg HS512", forge("{\"alg\":\"HS512\",\"typ\":\"JWT\"}", good_pay));
	rejects("alg hs256", forge("{\"alg\":\"hs256\",\"typ\":\"JWT\"}", good_pay));
	rejects("alg HS256 with a space", forge("{\"alg\":\"HS256 \"}", good_pay));
	rejects("alg with a NUL", forge("{\"alg\":\"HS256\\u0000\"}", good_pay));
	rejects("alg RS256", forge("{\"alg\":\"RS256\",\"typ\":\"JWT\"}", good_pay));
	rejects("alg missing", forge("{\"typ\":\"JWT\"}", good_pay));
	rejects("alg not a string", forge("{\"alg\":256,\"typ\":\"JWT\"}", good_pay));
	rejects("alg in an array", forge("{\"alg\":[\"HS256\"]}", good_pay));
	rejects("alg twice", forge("{\"alg\":\"HS256\",\"alg\":\"none\"}", good_pay));
	rejects("typ not JWT", forge("{\"alg\":\"HS256\",\"typ\":\"JWS\"}", good_pay));
	rejects("crit", forge("{\"alg\":\"HS256\",\"crit\":[\"exp\"],\"exp\":1}", good_pay));
	rejects("header an array", forge("[\"HS256\"]", good_pay));
	rejects("header not JSON", forge("{alg:HS256}", good_pay));
	rejects("header empty", forge("", good_pay));
	/* alg none in its usual shape: empty signature */
	struct buf s = BUF_INIT(4096);
	static const char none[] = "{\"alg\":\"none\",\"typ\":\"JWT\"}";
	CHECK(crypto_b64url_encode(&s, none, sizeof none - 1) == 0 && buf_addc(&s, '.') == 0);
	CHECK(crypto_b64url_encode(&s, good_pay, sizeof good_pay - 1) == 0);
	CHECK(buf_addc(&s, '.') == 0);
	rejects("alg none, no signature", s.ptr);
	buf_free(&s);
	/* a header without typ, and with extra members, is fine */
	struct jwt_claims c;
	CHECK(verify(forge("{\"alg\":\"HS256\"}", good_pay), &c) == 0);
	CHECK(verify(forge(" {\"kid\":\"k1\", \"alg\":\"HS256\"} ", good_pay), &c) == 0);
}

static void test_claims(void)
{
	static const char *bad[][2] = {
	    {"no sub", "{\"role\":\"user\",\"jti\":\"j1\",\"iat\":1,\"exp\":1700000900}"},
	    {"no role", "{\"sub\":\"u1\",\"jti\":\"j1\",\"iat\":1,\"exp\":1700000900}"},
	    {"no jti", "{\"sub\":\"u1\",\"role\":\"user\",\"iat\":1,\"exp\":1700000900}"},
	    {"no iat", "{\"sub\":\"u1\",\"role\":\"user\",\"jti\":\"j1\",\"exp\":1700000900}"},
	    {"no exp", "{\"sub\":\"u1\",\"role\":\"user\",\"jti\":\"j1\",\"iat\":1}"},
	    {"exp fraction", "{\"sub\":\"u1\",\"role\":\"user\",\"jti\":\"j1\",\"iat\":1,"
	                     "\"exp\":1700000900.5}"},
	    {"exp .0", "{\"sub\":\"u1\",\"role\":\"user\",\"jti\":\"j1\",\"iat\":1,"
	               "\"exp\":1700000900.0}"},
	    {"exp exponent", "{\"sub\":\"u1\",\"role\":\"user\",\"jti\":\"j1\",\"iat\":1,"
	                     "\"exp\":1.8e9}"},
	    {"exp string", "{\"sub\":\"u1\",\"role\":\"user\",\"jti\":\"j1\",\"iat\":1,"
	                   "\"exp\":\"1700000900\"}"},
	    {"exp null",
	     "{\"sub\":\"u1\",\"role\":\"user\",\"jti\":\"j1\",\"iat\":1,\"exp\":null}"},
	    {"exp beyond int64", "{\"sub\":\"u1\",\"role\":\"user\",\"jti\":\"j1\",\"iat\":1,"
	                         "\"exp\":99999999999999999999}"},
	    {"iat fraction", "{\"sub\":\"u1\",\"role\":\"user\",\"jti\":\"j1\",\"iat\":1.5,"
	                     "\"exp\":1700000900}"},
	    {"exp twice", "{\"sub\":\"u1\",\"role\":\"user\",\"jti\":\"j1\",\"iat\":1,"
	                  "\"exp\":1,\"exp\":1700000900}"},
	    {"sub number", "{\"sub\":1,\"role\":\"user\",\"jti\":\"j1\",\"iat\":1,"
	                   "\"exp\":1700000900}"},
	    {"sub empty", "{\"sub\":\"\",\"role\":\"user\",\"jti\":\"j1\",\"iat\":1,"
	                  "\"exp\":1700000900}"},
	    {"sub with NUL", "{\"sub\":\"u1\\u0000admin\",\"role\":\"user\",\"jti\":\"j1\","
	                     "\"iat\":1,\"exp\":1700000900}"},
	    {"role too long", "{\"sub\":\"u1\",\"role\":\"0123456789abcdef\",\"jti\":\"j1\","
	                      "\"iat\":1,\"exp\":1700000900}"},
	    {"payload array", "[\"u1\"]"},
	    {"payload string", "\"u1\""},
	    {"payload not JSON", "{\"sub\":\"u1\",}"},
	    {"payload empty", ""},
	    {"payload invalid UTF-8", "{\"sub\":\"\xff\",\"role\":\"user\",\"jti\":\"j1\","
	                              "\"iat\":1,\"exp\":1700000900}"},
	    {"payload too deep", "{\"sub\":\"u1\",\"role\":\"user\",\"jti\":\"j1\",\"iat\":1,"
	                         "\"exp\":1700000900,\"x\":[[[[[[1]]]]]]}"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		rejects(bad[i][0], forge(good_hdr, bad[i][1]));

	/* sub of 63 bytes fits, 64 does not */
	char p[512];
	char s63[64];
	memset(s63, 's', 63);
	s63[63] = '\0';
	snprintf(p, sizeof p,
	         "{\"sub\":\"%s\",\"role\":\"user\",\"jti\":\"j1\",\"iat\":1,\"exp\":1700000900}",
	         s63);
	struct jwt_claims c;
	CHECK(verify(forge(good_hdr, p), &c) == 0 && strlen(c.sub) == 63);
	snprintf(p, sizeof p,
	         "{\"sub\":\"%sx\",\"role\":\"user\",\"jti\":\"j1\",\"iat\":1,\"exp\":1700000900}",
	         s63);
	rejects("sub too long", forge(good_hdr, p));

	/* unknown claims are ignored, escapes are undone */
	CHECK(verify(forge(good_hdr, "{\"iss\":\"x\",\"sub\":\"u\\u00e9\",\"role\":\"user\","
	                             "\"jti\":\"j1\",\"iat\":1,\"exp\":1700000900,\"n\":{}}"),
	             &c) == 0);
	CHECK_STR(c.sub, "u\xc3\xa9");

	/* too many values for a token */
	struct buf big = BUF_INIT(4096);
	CHECK(buf_adds(&big, "{\"sub\":\"u1\",\"role\":\"user\",\"jti\":\"j1\",\"iat\":1,"
	                     "\"exp\":1700000900,\"x\":[") == 0);
	int rc = 0;
	for (int i = 0; i < 100 && !rc; i++)
		rc = buf_adds(&big, i ? ",0" : "0");
	CHECK(rc == 0 && buf_adds(&big, "]}") == 0);
	rejects("too many values", forge(good_hdr, big.ptr));
	buf_free(&big);

	/* expired is told apart, but only for an authentic, well-formed token */
	CHECK(verify(forge(good_hdr, "{\"sub\":\"u1\",\"role\":\"user\",\"jti\":\"j1\",\"iat\":1,"
	                             "\"exp\":1700000000}"),
	             &c) == JWT_EXPIRED);
	CHECK(verify(forge(good_hdr, "{\"sub\":\"u1\",\"role\":\"user\",\"jti\":\"j1\",\"iat\":1,"
	                             "\"exp\":-1}"),
	             &c) == JWT_EXPIRED);
	rejects("expired and missing a claim",
	        forge(good_hdr, "{\"sub\":\"u1\",\"role\":\"user\",\"iat\":1,\"exp\":1}"));
}

static void test_shape(void)
{
	struct jwt_claims c;
	const char *t = forge(good_hdr, good_pay);
	char *ok = strdup(t);
	size_t n = strlen(ok);
	const char *d1 = strchr(ok, '.'), *d2 = strrchr(ok, '.');
	struct buf s = BUF_INIT(16384);

	rejects("empty", "");
	rejects("dots only", "..");
	rejects("one part", "abc");
	/* two parts: header.payload, and header.signature */
	CHECK(buf_add(&s, ok, (size_t)(d2 - ok)) == 0);
	rejects("two parts", s.ptr);
	buf_reset(&s);
	CHECK(buf_add(&s, ok, (size_t)(d1 - ok)) == 0 && buf_adds(&s, d2) == 0);
	rejects("two parts (no payload)", s.ptr);
	/* four parts */
	buf_reset(&s);
	CHECK(buf_adds(&s, ok) == 0 && buf_adds(&s, ".") == 0);
	rejects("trailing dot", s.ptr);
	buf_reset(&s);
	CHECK(buf_adds(&s, ok) == 0 && buf_adds(&s, ".AAAA") == 0);
	rejects("four parts", s.ptr);
	/* the length given is the truth: a NUL inside is not an end */
	CHECK(jwt_verify(ok, n, key, KLEN, NOW, &c) == 0);
	buf_reset(&s);
	CHECK(buf_add(&s, ok, n) == 0 && buf_addc(&s, '\0') == 0);
	CHECK(jwt_verify(s.ptr, s.len, key, KLEN, NOW, &c) == ERR_INVAL);
	CHECK(jwt_verify(ok, n, key, KLEN - 1, NOW, &c) == ERR_INVAL); /* short key */

	/* base64url only: padding, the standard alphabet, whitespace, non-canonical bits */
	buf_reset(&s);
	CHECK(buf_adds(&s, ok) == 0 && buf_adds(&s, "=") == 0);
	rejects("padded signature", s.ptr);
	buf_reset(&s);
	CHECK(buf_adds(&s, ok) == 0 && buf_adds(&s, " ") == 0);
	rejects("trailing space", s.ptr);
	buf_reset(&s);
	CHECK(buf_adds(&s, " ") == 0 && buf_adds(&s, ok) == 0);
	rejects("leading space", s.ptr);
	rejects("garbage", "!!!!.????.****");
	rejects("garbage with a valid signature", seal("!!!!.????", key, KLEN));
	rejects("standard alphabet", seal("eyJhbGciOiJIUzI1NiJ9+/.e30", key, KLEN));
	/* the signed header with '=' padding: the MAC is right, the encoding is not */
	buf_reset(&s);
	CHECK(crypto_b64_encode(&s, "{\"alg\":\"HS256\"}x", 16) == 0); /* ends in "=" */
	CHECK(s.ptr[s.len - 1] == '=');
	CHECK(buf_addc(&s, '.') == 0);
	CHECK(crypto_b64url_encode(&s, good_pay, sizeof good_pay - 1) == 0);
	rejects("padded header", seal(s.ptr, key, KLEN));
	/* header "eyJhbGciOiJIUzI1NiJ9" is {"alg":"HS256"}; then a symbol outside the alphabet */
	buf_reset(&s);
	CHECK(buf_adds(&s, "eyJhbGciOiJIUzI1NiJ9.") == 0);
	CHECK(crypto_b64url_encode(&s, good_pay, sizeof good_pay - 1) == 0);
	CHECK(verify(seal(s.ptr, key, KLEN), &c) == 0);
	s.ptr[19] = ':'; /* '9' -> ':' is not even base64 */
	rejects("bad symbol in header", seal(s.ptr, key, KLEN));
	buf_reset(&s);
	CHECK(buf_adds(&s, "eyJhbGciOiJIUzI1NiJ9.") == 0);
	CHECK(crypto_b64url_encode(&s, good_pay, sizeof good_pay - 1) == 0);
	/* the payload's encoding ends in a partial group: flip a spare bit of the last symbol */
	size_t plen = sizeof good_pay - 1;
	CHECK(plen % 3 != 0);
	char last = s.ptr[s.len - 1];
	s.ptr[s.len - 1] = (char)(last + 1);
	rejects("non-canonical payload", seal(s.ptr, key, KLEN));

	/* size cap: an otherwise valid token just under and just over JWT_MAX_LEN */
	size_t pad = 2800, under = 0, over = 0;
	for (; pad < 3200 && !(under && over); pad++) {
		buf_reset(&s);
		CHECK(buf_adds(&s, "{\"sub\":\"u1\",\"role\":\"user\",\"jti\":\"j1\",\"iat\":1,"
		                   "\"exp\":1700000900,\"pad\":\"") == 0);
		int rc = 0;
		for (size_t i = 0; i < pad && !rc; i++)
			rc = buf_addc(&s, 'p');
		CHECK(rc == 0 && buf_adds(&s, "\"}") == 0);
		t = forge(good_hdr, s.ptr);
		size_t len = strlen(t);
		if (len <= JWT_MAX_LEN && len > JWT_MAX_LEN - 4) {
			CHECK(verify(t, &c) == 0);
			under = len;
		} else if (len > JWT_MAX_LEN && !over) {
			rejects("oversize token", t);
			over = len;
		}
	}
	CHECK(under && over);
	buf_free(&s);
	free(ok);
}

/* The optional claims: sid (the session) and gen (the account's session generation). Written
 * only when set, read as unset when absent, and a present one must be well-typed. */
static void test_session_claims(void)
{
	struct jwt_claims in = {.iat = NOW, .exp = NOW + 900, .gen = 3}, out;
	memcpy(in.sub, "u1", 3);
	memcpy(in.role, "user", 5);
	memcpy(in.jti, "j1", 3);
	memcpy(in.sid, "01a21599-7e7f-710e-a32e-895c8300d8c1", 37);
	struct buf t = BUF_INIT(JWT_MAX_LEN), p = BUF_INIT(1024);
	CHECK(jwt_sign(&in, key, KLEN, &t) == 0);
	CHECK(jwt_verify(t.ptr, t.len, key, KLEN, NOW, &out) == 0);
	CHECK_STR(out.sid, in.sid);
	CHECK(out.gen == 3);
	const char *d1 = strchr(t.ptr, '.'), *d2 = strrchr(t.ptr, '.');
	CHECK(crypto_b64url_decode(&p, d1 + 1, (size_t)(d2 - d1 - 1)) == 0);
	CHECK_STR(buf_str(&p),
	          "{\"sub\":\"u1\",\"role\":\"user\",\"iat\":1700000000,\"exp\":1700000900,"
	          "\"jti\":\"j1\",\"sid\":\"01a21599-7e7f-710e-a32e-895c8300d8c1\",\"gen\":3}");
	/* absent: "" and 0 (tokens from before sessions existed) */
	memset(&out, 0x55, sizeof out);
	CHECK(verify(forge(good_hdr, good_pay), &out) == 0);
	CHECK(out.sid[0] == '\0' && out.gen == 0);
	/* a negative generation is never signed */
	in.gen = -1;
	buf_reset(&t);
	CHECK(jwt_sign(&in, key, KLEN, &t) == ERR_INVAL && t.len == 0);
	static const char *bad[][2] = {
	    {"sid number", "{\"sub\":\"u1\",\"role\":\"user\",\"jti\":\"j1\",\"iat\":1,"
	                   "\"exp\":1700000900,\"sid\":7}"},
	    {"sid empty", "{\"sub\":\"u1\",\"role\":\"user\",\"jti\":\"j1\",\"iat\":1,"
	                  "\"exp\":1700000900,\"sid\":\"\"}"},
	    {"sid too long", "{\"sub\":\"u1\",\"role\":\"user\",\"jti\":\"j1\",\"iat\":1,"
	                     "\"exp\":1700000900,\"sid\":\"0123456789012345678901234567890123456789"
	                     "012345678901234567890123\"}"},
	    {"gen string", "{\"sub\":\"u1\",\"role\":\"user\",\"jti\":\"j1\",\"iat\":1,"
	                   "\"exp\":1700000900,\"gen\":\"1\"}"},
	    {"gen fraction", "{\"sub\":\"u1\",\"role\":\"user\",\"jti\":\"j1\",\"iat\":1,"
	                     "\"exp\":1700000900,\"gen\":1.5}"},
	    {"gen negative", "{\"sub\":\"u1\",\"role\":\"user\",\"jti\":\"j1\",\"iat\":1,"
	                     "\"exp\":1700000900,\"gen\":-1}"},
	    {"gen null", "{\"sub\":\"u1\",\"role\":\"user\",\"jti\":\"j1\",\"iat\":1,"
	                 "\"exp\":1700000900,\"gen\":null}"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		rejects(bad[i][0], forge(good_hdr, bad[i][1]));
	/* the longest sid that fits is accepted */
	CHECK(verify(forge(good_hdr,
	                   "{\"sub\":\"u1\",\"role\":\"user\",\"jti\":\"j1\",\"iat\":1,"
	                   "\"exp\":1700000900,\"sid\":\"012345678901234567890123456789012345678901"
	                   "234567890123456789012\"}"),
	             &out) == 0 &&
	      strlen(out.sid) == 63);
	buf_free(&t);
	buf_free(&p);
}

int main(void)
{
	test_round_trip();
	test_session_claims();
	test_sign_refuses();
	test_rfc7515();
	test_tampered();
	test_alg();
	test_claims();
	test_shape();
	buf_free(&tok);
	return check_done("jwt");
}
