/* core/uuid.h: UUIDv7 (RFC 9562) public ids: 48-bit millisecond time, then a 12-bit counter
 * so ids made by this process sort in creation order, then 62 random bits. */
#ifndef CORE_UUID_H
#define CORE_UUID_H

#include "core/err.h"

#define UUID_STR_LEN 37 /* 36 characters and the NUL */

/* Writes the canonical lowercase form into out (UUID_STR_LEN bytes). */
WUR int uuid7(char *out);
/* 0 when s is a canonical UUID string (any version, lowercase or uppercase hex). */
int uuid_check(const char *s);

#endif
