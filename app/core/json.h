/* core/json.h: strict JSON (RFC 8259) reader into an arena, and a writer into a buf.
 * The reader never trusts its input: depth, size and node limits, UTF-8 validation,
 * number grammar, duplicate keys refused. The writer always produces valid UTF-8 JSON. */
#ifndef CORE_JSON_H
#define CORE_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/buf.h"

/* ---- reader ---------------------------------------------------------------------- */

enum json_type { JSON_NULL, JSON_BOOL, JSON_NUMBER, JSON_STRING, JSON_ARRAY, JSON_OBJECT };

/* A parsed value. Lives in the arena it was parsed into. */
struct json {
	enum json_type type;
	bool boolean;        /* JSON_BOOL */
	double number;       /* JSON_NUMBER */
	bool is_int;         /* JSON_NUMBER: no fraction/exponent and fits int64 */
	int64_t integer;     /* JSON_NUMBER when is_int */
	const char *str;     /* JSON_STRING: unescaped, valid UTF-8, NUL-terminated */
	size_t len;          /* JSON_STRING: bytes; ARRAY/OBJECT: number of children */
	struct json *child;  /* ARRAY/OBJECT: first element or member */
	struct json *next;   /* next sibling in the parent */
	const char *key;     /* member name (unescaped, NUL-terminated) when inside an object */
	size_t key_len;
};

struct json_limits {
	size_t max_depth; /* nesting of arrays/objects; 0 means 32 */
	size_t max_nodes; /* total values; 0 means 100000 */
};

/* Where and why parsing failed: offset into the input and a short English message. */
struct json_error {
	size_t offset;
	const char *message;
};

/* Parses exactly one JSON value (surrounding whitespace allowed, nothing else).
 * Returns 0, ERR_INVAL (malformed, message in *err), ERR_TOOBIG (a limit) or ERR_NOMEM. */
WUR int json_parse(struct arena *a, const char *text, size_t len, const struct json_limits *lim,
                   struct json **out, struct json_error *err);

/* Member of an object by key, or NULL (also NULL when obj is not an object). */
const struct json *json_get(const struct json *obj, const char *key);

/* ---- writer ---------------------------------------------------------------------- */

#define JSON_WRITER_DEPTH 32

/* Appends JSON to a buf. Commas are placed automatically. The first error (ERR_TOOBIG,
 * ERR_NOMEM, misuse as ERR_INVAL) sticks and later calls do nothing: check jw_finish. */
struct jw {
	struct buf *b;
	int err;
	int depth;
	bool need_comma[JSON_WRITER_DEPTH + 1];
	bool is_obj[JSON_WRITER_DEPTH + 1]; /* the container open at each depth is an object */
	bool after_key;
};

void jw_init(struct jw *w, struct buf *b);
void jw_obj(struct jw *w);     /* { */
void jw_obj_end(struct jw *w); /* } */
void jw_arr(struct jw *w);     /* [ */
void jw_arr_end(struct jw *w); /* ] */
void jw_key(struct jw *w, const char *key);
void jw_str(struct jw *w, const char *s);        /* NULL writes null */
void jw_strn(struct jw *w, const char *s, size_t n);
void jw_int(struct jw *w, int64_t v);
void jw_double(struct jw *w, double v); /* non-finite writes null */
void jw_bool(struct jw *w, bool v);
void jw_null(struct jw *w);
/* Inserts already-valid JSON text as one value (the caller vouches for it). */
void jw_raw(struct jw *w, const char *json, size_t n);
/* key + value in one call */
void jw_kstr(struct jw *w, const char *key, const char *s);
void jw_kint(struct jw *w, const char *key, int64_t v);
void jw_kbool(struct jw *w, const char *key, bool v);
void jw_knull(struct jw *w, const char *key);
/* 0, or the first error; also ERR_INVAL when objects/arrays are left open. */
WUR int jw_finish(struct jw *w);

/* Writes s as a JSON string literal (with quotes) to b. Invalid UTF-8 becomes U+FFFD. */
WUR int json_quote(struct buf *b, const char *s, size_t n);

/* 0 when s[0..n) is well-formed UTF-8 (no overlongs, no surrogates, <= U+10FFFF). */
int utf8_check(const char *s, size_t n);

#endif
