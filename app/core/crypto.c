/* core/crypto.c: mbedTLS wrappers and the base64/hex codecs. The decoders must never accept
 * two spellings of the same bytes, and no function may leave secrets on the stack or a
 * half-written result in the caller's buffer. */
#include "core/crypto.h"

#include <mbedtls/md.h>
#include <mbedtls/pkcs5.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/sha256.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "core/rand.h"

#define TOKEN_MAX 1024

void crypto_sha256(const void *data, size_t n, unsigned char out[CRYPTO_SHA256_LEN])
{
	/* is224 = 0 selects SHA-256. The return value only matters for hardware-accelerated
	 * builds ("_ALT"), which this binary does not use. */
	(void)mbedtls_sha256_ret(data, n, out, 0);
}

void crypto_sha256_begin(struct crypto_sha256 *h)
{
	mbedtls_sha256_init(&h->ctx);
	(void)mbedtls_sha256_starts_ret(&h->ctx, 0);
}

void crypto_sha256_add(struct crypto_sha256 *h, const void *data, size_t n)
{
	(void)mbedtls_sha256_update_ret(&h->ctx, data, n);
}

void crypto_sha256_end(struct crypto_sha256 *h, unsigned char out[CRYPTO_SHA256_LEN])
{
	(void)mbedtls_sha256_finish_ret(&h->ctx, out);
	mbedtls_sha256_free(&h->ctx);
}

int crypto_hmac_sha256(const void *key, size_t klen, const void *data, size_t n,
                       unsigned char out[CRYPTO_SHA256_LEN])
{
	const mbedtls_md_info_t *md = mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);
	if (!md || mbedtls_md_hmac(md, key, klen, data, n, out) != 0)
		return ERR_CRYPTO;
	return 0;
}

int crypto_pbkdf2_sha256(const void *password, size_t plen, const void *salt, size_t slen,
                         unsigned iterations, unsigned char *out, size_t outlen)
{
	int rc = 0;
	mbedtls_md_context_t ctx;
	mbedtls_md_init(&ctx);
	if (iterations == 0 || outlen == 0 || outlen > UINT32_MAX) {
		rc = ERR_INVAL;
		goto fail;
	}
	const mbedtls_md_info_t *md = mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);
	/* hmac = 1: PBKDF2 needs the HMAC part of the context */
	if (!md || mbedtls_md_setup(&ctx, md, 1) != 0 ||
	    mbedtls_pkcs5_pbkdf2_hmac(&ctx, password, plen, salt, slen, iterations,
	                              (uint32_t)outlen, out) != 0)
		rc = ERR_CRYPTO;
fail:
	/* mbedtls_md_free zeroizes the HMAC pads, which are derived from the password */
	mbedtls_md_free(&ctx);
	return rc;
}

int crypto_equal(const void *a, const void *b, size_t n)
{
	/* No early exit: the loop always runs n times, and volatile keeps the compiler from
	 * turning it into memcmp. */
	const volatile unsigned char *x = a, *y = b;
	volatile unsigned char diff = 0;
	for (size_t i = 0; i < n; i++)
		diff |= x[i] ^ y[i];
	return diff == 0;
}

/* ---- base64 ------------------------------------------------------------------------ */

static const char b64_std[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char b64_url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Undoes a failed append: the caller's bytes end where they ended before. */
static void truncate_to(struct buf *out, size_t len)
{
	out->len = len;
	if (out->ptr)
		out->ptr[len] = '\0';
}

static int b64_encode(struct buf *out, const unsigned char *in, size_t n, bool url)
{
	const char *alpha = url ? b64_url : b64_std;
	size_t groups = n / 3, rest = n % 3;
	if (groups > (SIZE_MAX - 4) / 4)
		return ERR_TOOBIG;
	/* unpadded: 1 leftover byte needs 2 symbols, 2 bytes need 3 */
	size_t olen = groups * 4 + (rest == 0 ? 0 : url ? rest + 1 : 4);
	int rc = buf_reserve(out, olen);
	if (rc)
		return rc;
	char *o = out->ptr + out->len;
	for (size_t i = 0; i < groups; i++, in += 3) {
		uint32_t v = (uint32_t)in[0] << 16 | (uint32_t)in[1] << 8 | in[2];
		*o++ = alpha[v >> 18 & 63];
		*o++ = alpha[v >> 12 & 63];
		*o++ = alpha[v >> 6 & 63];
		*o++ = alpha[v & 63];
	}
	if (rest) {
		uint32_t v = (uint32_t)in[0] << 16 | (rest == 2 ? (uint32_t)in[1] << 8 : 0);
		*o++ = alpha[v >> 18 & 63];
		*o++ = alpha[v >> 12 & 63];
		if (rest == 2)
			*o++ = alpha[v >> 6 & 63];
		else if (!url)
			*o++ = '=';
		if (!url)
			*o++ = '=';
	}
	out->len += olen;
	out->ptr[out->len] = '\0';
	return 0;
}

/* The 6-bit value of one symbol, or -1 for anything outside the alphabet (including '=',
 * which the caller has already stripped from where it is allowed). */
static int b64_value(unsigned char c, bool url)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == (url ? '-' : '+'))
		return 62;
	if (c == (url ? '_' : '/'))
		return 63;
	return -1;
}

static int b64_decode(struct buf *out, const char *s, size_t n, bool url)
{
	const unsigned char *in = (const unsigned char *)s;
	size_t old = out->len;
	int rc = 0;
	if (!url) {
		if (n % 4 != 0)
			return ERR_INVAL;
		/* at most two '=' and only at the very end; a '=' anywhere else is simply not
		 * in the alphabet */
		if (n >= 4 && in[n - 1] == '=')
			n -= in[n - 2] == '=' ? 2 : 1;
	}
	/* a single leftover symbol carries 6 bits: not even one byte */
	if (n % 4 == 1)
		return ERR_INVAL;
	size_t rest = n % 4;
	size_t olen = n / 4 * 3 + (rest ? rest - 1 : 0);
	rc = buf_reserve(out, olen);
	if (rc)
		return rc;
	unsigned char *o = (unsigned char *)out->ptr + out->len;
	size_t i = 0;
	for (; i + 4 <= n; i += 4) {
		int a = b64_value(in[i], url), b = b64_value(in[i + 1], url);
		int c = b64_value(in[i + 2], url), d = b64_value(in[i + 3], url);
		if ((a | b | c | d) < 0)
			goto bad;
		uint32_t v = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6 | (uint32_t)d;
		*o++ = (unsigned char)(v >> 16);
		*o++ = (unsigned char)(v >> 8);
		*o++ = (unsigned char)v;
	}
	if (rest) {
		int a = b64_value(in[i], url), b = b64_value(in[i + 1], url);
		int c = rest == 3 ? b64_value(in[i + 2], url) : 0;
		if ((a | b | c) < 0)
			goto bad;
		/* the bits past the last whole byte must be zero, or "QQ" and "QR" would both
		 * decode to "A" */
		if (rest == 2 ? (b & 0x0f) != 0 : (c & 0x03) != 0)
			goto bad;
		uint32_t v = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6;
		*o++ = (unsigned char)(v >> 16);
		if (rest == 3)
			*o++ = (unsigned char)(v >> 8);
	}
	out->len += olen;
	out->ptr[out->len] = '\0';
	return 0;
bad:
	/* what was decoded so far may be secret: wipe it along with the append */
	mbedtls_platform_zeroize(out->ptr + old, olen);
	truncate_to(out, old);
	return ERR_INVAL;
}

int crypto_b64_encode(struct buf *out, const void *data, size_t n)
{
	return b64_encode(out, data, n, false);
}

int crypto_b64_decode(struct buf *out, const char *s, size_t n)
{
	return b64_decode(out, s, n, false);
}

int crypto_b64url_encode(struct buf *out, const void *data, size_t n)
{
	return b64_encode(out, data, n, true);
}

int crypto_b64url_decode(struct buf *out, const char *s, size_t n)
{
	return b64_decode(out, s, n, true);
}

int crypto_hex(struct buf *out, const void *data, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	const unsigned char *in = data;
	if (n > SIZE_MAX / 2)
		return ERR_TOOBIG;
	int rc = buf_reserve(out, n * 2);
	if (rc)
		return rc;
	char *o = out->ptr + out->len;
	for (size_t i = 0; i < n; i++) {
		*o++ = digits[in[i] >> 4];
		*o++ = digits[in[i] & 15];
	}
	out->len += n * 2;
	out->ptr[out->len] = '\0';
	return 0;
}

int crypto_token(struct buf *out, size_t nbytes)
{
	/* 48 is a multiple of 3, so encoding chunk by chunk gives the same text as encoding
	 * everything at once, without a heap copy of the secret. */
	unsigned char chunk[48];
	size_t old = out->len;
	int rc = 0;
	if (nbytes == 0 || nbytes > TOKEN_MAX) {
		rc = ERR_INVAL;
		goto fail;
	}
	while (nbytes > 0) {
		size_t k = nbytes < sizeof chunk ? nbytes : sizeof chunk;
		rc = rand_bytes(chunk, k);
		if (rc)
			goto fail;
		rc = crypto_b64url_encode(out, chunk, k);
		if (rc)
			goto fail;
		nbytes -= k;
	}
fail:
	mbedtls_platform_zeroize(chunk, sizeof chunk);
	if (rc && out->len > old) {
		/* a partial token is still part of a secret */
		mbedtls_platform_zeroize(out->ptr + old, out->len - old);
		truncate_to(out, old);
	}
	return rc;
}
