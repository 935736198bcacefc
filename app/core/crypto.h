/* core/crypto.h: the few cryptographic primitives the domains need, over mbedTLS: SHA-256,
 * HMAC-SHA256, PBKDF2, a constant-time compare, strict base64/base64url, hex, random tokens.
 * Nothing here knows about users, tokens' meaning or storage. */
#ifndef CORE_CRYPTO_H
#define CORE_CRYPTO_H

#include <mbedtls/sha256.h>
#include <stddef.h>

#include "core/buf.h"
#include "core/err.h"

#define CRYPTO_SHA256_LEN 32

/* The software SHA-256 of mbedTLS cannot fail, hence no return value. */
void crypto_sha256(const void *data, size_t n, unsigned char out[CRYPTO_SHA256_LEN]);
/* The same, fed piece by piece (uploads): begin, add any number of times, end. */
struct crypto_sha256 {
	mbedtls_sha256_context ctx;
};
void crypto_sha256_begin(struct crypto_sha256 *h);
void crypto_sha256_add(struct crypto_sha256 *h, const void *data, size_t n);
void crypto_sha256_end(struct crypto_sha256 *h, unsigned char out[CRYPTO_SHA256_LEN]);
/* 0, or ERR_CRYPTO. Any key length is accepted (HMAC hashes long keys itself). */
WUR int crypto_hmac_sha256(const void *key, size_t klen, const void *data, size_t n,
                           unsigned char out[CRYPTO_SHA256_LEN]);
/* PBKDF2-HMAC-SHA256 (RFC 8018) into out[0..outlen). 0, ERR_INVAL (iterations or outlen 0,
 * outlen over 4 GiB) or ERR_CRYPTO. Takes time linear in iterations: callers bound it. */
WUR int crypto_pbkdf2_sha256(const void *password, size_t plen, const void *salt, size_t slen,
                             unsigned iterations, unsigned char *out, size_t outlen);
/* 1 when a[0..n) == b[0..n), else 0, in time that depends only on n (for MACs, hashes). */
int crypto_equal(const void *a, const void *b, size_t n);

/* Encoders and decoders APPEND to out. On failure out keeps its previous contents (len
 * and bytes), so a caller may build a string piece by piece and bail out on any error.
 * Errors: ERR_TOOBIG (out's limit), ERR_NOMEM, and for decoders ERR_INVAL. */

/* RFC 4648 section 4: alphabet A-Z a-z 0-9 + /, padded with '=' to a multiple of 4. */
WUR int crypto_b64_encode(struct buf *out, const void *data, size_t n);
/* Strict: the length must be a multiple of 4, at most two '=' and only at the end, no
 * whitespace or other characters, and the unused bits of the last symbol must be zero
 * (so every byte string has exactly one accepted encoding). */
WUR int crypto_b64_decode(struct buf *out, const char *s, size_t n);
/* RFC 4648 section 5 alphabet (- and _ instead of + and /) without padding, as JWTs use. */
WUR int crypto_b64url_encode(struct buf *out, const void *data, size_t n);
/* Strict like crypto_b64_decode; any '=' is refused, and so is a length of 4k+1. */
WUR int crypto_b64url_decode(struct buf *out, const char *s, size_t n);
/* Lowercase hex, two characters per byte. */
WUR int crypto_hex(struct buf *out, const void *data, size_t n);

/* Appends nbytes (1..1024) of fresh randomness as base64url: 32 bytes give 43 characters.
 * ERR_INVAL for nbytes out of range, ERR_CRYPTO when the generator fails. */
WUR int crypto_token(struct buf *out, size_t nbytes);

#endif
