/* core/time.h: clocks and RFC 3339 timestamps. The API shows UTC with milliseconds,
 * "2026-11-24T10:00:00.123Z", the same text SQLite's strftime('%Y-%m-%dT%H:%M:%fZ') makes. */
#ifndef CORE_TIME_H
#define CORE_TIME_H

#include <stdint.h>

#include "core/err.h"

#define TIME_RFC3339_LEN 25 /* bytes written by time_rfc3339, NUL included */

int64_t time_now_us(void);  /* wall clock, microseconds since the Unix epoch */
int64_t time_mono_us(void); /* monotonic clock, for durations */
/* Formats unix_us (UTC, milliseconds) into out, which has room for TIME_RFC3339_LEN. */
void time_rfc3339(int64_t unix_us, char *out);
/* Parses an RFC 3339 date-time (any offset, optional fraction); ERR_INVAL when malformed. */
WUR int time_parse(const char *s, int64_t *unix_us);

#endif
