/* core/rand.h: cryptographically strong random bytes from mbedTLS's CTR-DRBG, seeded from
 * the OS entropy source on first use. Thread-safe. Never falls back to a weak source. */
#ifndef CORE_RAND_H
#define CORE_RAND_H

#include <stddef.h>

#include "core/err.h"

/* 0, or ERR_CRYPTO when the generator cannot be seeded or fails. */
WUR int rand_bytes(void *out, size_t n);
/* Releases the generator (at exit, so that leak checkers stay quiet). */
void rand_shutdown(void);

#endif
