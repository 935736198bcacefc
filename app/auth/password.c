/* auth/password.c: the stored password format and its checks. Must never compare hashes
 * with an early exit, hash a password longer than PASSWORD_MAX_LEN, or accept a stored
 * string it would not itself write (apart from a longer salt). */
#include "auth/password.h"

#include <mbedtls/platform_util.h>
#include <string.h>

#include "core/crypto.h"
#include "core/rand.h"

static const char prefix[] = "pbkdf2-sha256$";

#define SALT_MIN 16
#define SALT_MAX 64
/* digits of PASSWORD_MAX_ITERATIONS: "10000000" */
#define ITER_DIGITS_MAX 8

int password_hash(const char *password, size_t len, unsigned iterations, struct buf *out)
{
	unsigned char salt[PASSWORD_SALT_LEN], hash[PASSWORD_HASH_LEN];
	size_t old = out->len;
	int rc = 0;
	if (len > PASSWORD_MAX_LEN) {
		rc = ERR_TOOBIG;
		goto fail;
	}
	if (iterations == 0 || iterations > PASSWORD_MAX_ITERATIONS) {
		rc = ERR_INVAL;
		goto fail;
	}
	rc = rand_bytes(salt, sizeof salt);
	if (rc)
		goto fail;
	rc = crypto_pbkdf2_sha256(password, len, salt, sizeof salt, iterations, hash, sizeof hash);
	if (rc)
		goto fail;
	rc = buf_printf(out, "%s%u$", prefix, iterations);
	if (rc)
		goto fail;
	rc = crypto_b64url_encode(out, salt, sizeof salt);
	if (rc)
		goto fail;
	rc = buf_addc(out, '$');
	if (rc)
		goto fail;
	rc = crypto_b64url_encode(out, hash, sizeof hash);
fail:
	mbedtls_platform_zeroize(hash, sizeof hash);
	if (rc) {
		out->len = old;
		if (out->ptr)
			out->ptr[old] = '\0';
	}
	return rc;
}

/* Strict decimal: 1..PASSWORD_MAX_ITERATIONS, no sign, no leading zero, no spaces. */
static int parse_iterations(const char *s, size_t n, unsigned *out)
{
	if (n == 0 || n > ITER_DIGITS_MAX || s[0] == '0')
		return ERR_INVAL;
	unsigned long v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return ERR_INVAL;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v > PASSWORD_MAX_ITERATIONS)
		return ERR_INVAL;
	*out = (unsigned)v;
	return 0;
}

int password_verify(const char *password, size_t len, const char *stored, unsigned want_iterations,
                    bool *ok, bool *needs_rehash)
{
	struct buf salt = BUF_INIT(SALT_MAX), want = BUF_INIT(PASSWORD_HASH_LEN);
	unsigned char got[PASSWORD_HASH_LEN];
	unsigned iterations;
	int rc = 0;
	*ok = false;
	*needs_rehash = false;
	if (len > PASSWORD_MAX_LEN) {
		rc = ERR_TOOBIG;
		goto fail;
	}
	/* Cut stored into its four fields; any deviation is ERR_INVAL. */
	rc = ERR_INVAL;
	size_t n = strnlen(stored, PASSWORD_STORED_MAX + 1);
	if (n > PASSWORD_STORED_MAX || n < sizeof prefix - 1 ||
	    memcmp(stored, prefix, sizeof prefix - 1) != 0)
		goto fail;
	const char *p = stored + sizeof prefix - 1, *end = stored + n;
	const char *d1 = memchr(p, '$', (size_t)(end - p));
	if (!d1)
		goto fail;
	const char *d2 = memchr(d1 + 1, '$', (size_t)(end - d1 - 1));
	if (!d2 || memchr(d2 + 1, '$', (size_t)(end - d2 - 1)))
		goto fail;
	if (parse_iterations(p, (size_t)(d1 - p), &iterations) != 0)
		goto fail;
	/* a decoder error, even ERR_TOOBIG from a salt over SALT_MAX, means malformed */
	if (crypto_b64url_decode(&salt, d1 + 1, (size_t)(d2 - d1 - 1)) != 0 || salt.len < SALT_MIN)
		goto fail;
	if (crypto_b64url_decode(&want, d2 + 1, (size_t)(end - d2 - 1)) != 0 ||
	    want.len != PASSWORD_HASH_LEN)
		goto fail;

	rc = crypto_pbkdf2_sha256(password, len, salt.ptr, salt.len, iterations, got, sizeof got);
	if (rc)
		goto fail;
	*ok = crypto_equal(got, want.ptr, sizeof got) == 1;
	*needs_rehash = *ok && iterations < want_iterations;
fail:
	mbedtls_platform_zeroize(got, sizeof got);
	buf_free(&salt);
	buf_free(&want);
	return rc;
}
