/* core/buf.h: growable byte buffer with a hard upper limit (after curl's dynbuf).
 * The bytes are always NUL-terminated, but len is the truth. A buffer never grows past
 * its max: hostile input gets ERR_TOOBIG instead of memory. Owner: whoever called buf_init. */
#ifndef CORE_BUF_H
#define CORE_BUF_H

#include <stdarg.h>
#include <stddef.h>

#include "core/err.h"

struct buf {
	char *ptr;  /* NULL until the first append */
	size_t len; /* bytes in use, not counting the NUL */
	size_t cap; /* bytes allocated */
	size_t max; /* len may never exceed this */
};

#define BUF_INIT(limit) {NULL, 0, 0, (limit)}

void buf_init(struct buf *b, size_t max);
void buf_free(struct buf *b);
/* Empties the buffer but keeps its memory for reuse. */
void buf_reset(struct buf *b);
/* Drops what was added after the first len bytes (len <= b->len). */
void buf_truncate(struct buf *b, size_t len);
WUR int buf_add(struct buf *b, const void *p, size_t n);
WUR int buf_adds(struct buf *b, const char *s);
WUR int buf_addc(struct buf *b, char c);
WUR int buf_printf(struct buf *b, const char *fmt, ...) PRINTF_LIKE(2, 3);
WUR int buf_vprintf(struct buf *b, const char *fmt, va_list ap);
/* For human-readable messages only: appends what fits and never fails (a message that hits
 * the limit is cut). b may be NULL. */
void buf_note(struct buf *b, const char *fmt, ...) PRINTF_LIKE(2, 3);
/* Makes room for n more bytes without changing len. */
WUR int buf_reserve(struct buf *b, size_t n);
/* Hands the bytes to the caller (free() them); the buffer is left empty. Never NULL. */
char *buf_take(struct buf *b, size_t *len);
/* The bytes as a C string: "" when nothing was added yet. */
const char *buf_str(const struct buf *b);

#endif
