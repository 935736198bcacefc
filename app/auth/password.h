/* auth/password.h: password hashing for storage, PBKDF2-HMAC-SHA256 in one self-describing
 * string "pbkdf2-sha256$<iterations>$<salt base64url>$<hash base64url>". Password policy
 * (minimum length and the like) is the caller's; this layer only refuses what costs CPU. */
#ifndef AUTH_PASSWORD_H
#define AUTH_PASSWORD_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"
#include "core/err.h"

#define PASSWORD_MAX_LEN        1024     /* longer ones are ERR_TOOBIG before any hashing */
#define PASSWORD_ITERATIONS     600000   /* the app's default work factor */
#define PASSWORD_MAX_ITERATIONS 10000000 /* a stored string asking for more is malformed */
#define PASSWORD_SALT_LEN       16
#define PASSWORD_HASH_LEN       32
#define PASSWORD_STORED_MAX     160 /* longest stored string accepted; we write at most 89 */

/* The bytes are hashed as given. Two known PBKDF2-HMAC equivalences follow: "pw" and "pw\0"
 * hash alike (HMAC pads short keys with zeros), and so do a password over 64 bytes and its
 * raw SHA-256. Callers should refuse NUL bytes in passwords (text policy); the second is
 * harmless, as producing the digest already requires the password. */

/* Appends the stored form of password[0..len) to out, with a fresh random salt.
 * 0, ERR_TOOBIG (password over PASSWORD_MAX_LEN, or out's limit), ERR_INVAL (iterations 0
 * or over PASSWORD_MAX_ITERATIONS), ERR_NOMEM, ERR_CRYPTO. On failure out is unchanged. */
WUR int password_hash(const char *password, size_t len, unsigned iterations, struct buf *out);

/* Checks password[0..len) against a string from password_hash. Returns 0 when the check
 * could be made, with *ok telling the outcome (compared in constant time); ERR_INVAL when
 * stored is malformed, ERR_TOOBIG for a password over PASSWORD_MAX_LEN, ERR_CRYPTO.
 * *ok is false on every error. *needs_rehash is set only when *ok: the stored work factor
 * is below want_iterations, so the caller should store password_hash(password, ...) now,
 * while it holds the proven plaintext. Salts of 16..64 bytes are accepted so that the salt
 * length can grow without invalidating old hashes. */
WUR int password_verify(const char *password, size_t len, const char *stored,
                        unsigned want_iterations, bool *ok, bool *needs_rehash);

#endif
