/* http/head.h: the strict reader of HTTP/1.x request heads. Every head, whether the event loop
 * or a civetweb worker read it, passes here before anything acts on it: shapes that two
 * parsers could read two ways (request smuggling) are refused, never guessed at.
 * Pure: no I/O, no allocation; safe on any bytes. */
#ifndef HTTP_HEAD_H
#define HTTP_HEAD_H

#include <stdbool.h>
#include <stddef.h>

#define HEAD_MAX 16384    /* longest head, request line and headers together */
#define HEAD_MAX_FIELDS 64 /* most header lines (civetweb keeps no more) */

struct head_check {
	size_t len;                /* bytes of the head, its blank line included */
	long long content_length;  /* -1 when none was sent */
	bool chunked;
	int status;                /* when refused: 400, 413, 431 or 505 */
	const char *why;           /* when refused: a static sentence for the error body */
};

/* Where a head ends in p[0..n): the length through its blank line, or 0 while no blank
 * line has arrived. A line ending in a bare LF counts, so that the checker can refuse it. */
size_t head_end(const char *p, size_t n);

/* Checks the head at the start of p[0..n) (n may run past it into a body). Returns 1 when
 * it is complete and acceptable (out filled), 0 while it is incomplete and could still
 * become acceptable, -1 when refused (out->status and out->why say why). A declared body
 * larger than body_max is refused with 413 before any of it is read; lengths are parsed
 * without overflow whatever their digits. */
int head_check(const char *p, size_t n, long long body_max, struct head_check *out);

#endif
