/* core/json.c: strict JSON (RFC 8259) reader into an arena and writer into a buf. The reader
 * parses every request body: it must never recurse, read past len, accept what the RFC
 * refuses, or take more than O(n log n) on any input. The writer must never emit invalid JSON. */
#include "core/json.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_DEPTH 32
#define DEFAULT_NODES 100000
#define SMALL_OBJECT 16 /* up to this many members, duplicate keys are looked for pairwise */

/* ---- UTF-8 ----------------------------------------------------------------------------- */

/* Length of the well-formed sequence at s (n > 0 bytes available), or 0. The ranges are
 * those of Unicode's table of well-formed sequences: they leave out overlongs, surrogates
 * and everything past U+10FFFF without decoding. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	unsigned char lo = 0x80, hi = 0xbf; /* allowed range of the second byte */
	size_t len;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed)
			hi = 0x9f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;
	} else {
		return 0; /* a continuation byte, 0xc0, 0xc1 or 0xf5..0xff */
	}
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return len;
}

int utf8_check(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	for (size_t i = 0; i < n;) {
		size_t k = utf8_len(u + i, n - i);
		if (!k)
			return ERR_INVAL;
		i += k;
	}
	return 0;
}

/* Writes cp (a scalar value, not a surrogate) as UTF-8; returns the byte count. */
static size_t utf8_put(char *o, unsigned cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xc0 | cp >> 6);
		o[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xe0 | cp >> 12);
		o[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | cp >> 18);
	o[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	o[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	o[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* ---- reader ---------------------------------------------------------------------------- */

/* An array or object whose closing bracket has not been seen yet. */
struct frame {
	struct json *node;
	struct json **tail; /* where its next child is linked */
	size_t open;        /* offset of its opening bracket, for messages */
};

/* Nesting lives in an explicit stack in the arena, not on the C stack: a caller's max_depth
 * cannot turn into a stack overflow. */
struct parser {
	struct arena *a;
	const char *start, *p, *end;
	size_t nodes, max_nodes;
	size_t depth, max_depth, cap;
	struct frame *stack;
	struct json *root;
	struct json_error *err;
};

static int fail_at(struct parser *ps, const char *at, int rc, const char *msg)
{
	if (ps->err) {
		ps->err->offset = (size_t)(at - ps->start);
		ps->err->message = msg;
	}
	return rc;
}

static int fail(struct parser *ps, int rc, const char *msg)
{
	return fail_at(ps, ps->p, rc, msg);
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static void skip_ws(struct parser *ps)
{
	while (ps->p < ps->end &&
	       (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
		ps->p++;
}

static bool at(const struct parser *ps, char c)
{
	return ps->p < ps->end && *ps->p == c;
}

static int hex4(const char *s, const char *end, unsigned *out)
{
	if (end - s < 4)
		return ERR_INVAL;
	unsigned v = 0;
	for (int i = 0; i < 4; i++) {
		char c = s[i];
		unsigned d;
		if (c >= '0' && c <= '9')
			d = (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			d = (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			d = (unsigned)(c - 'A' + 10);
		else
			return ERR_INVAL;
		v = v << 4 | d;
	}
	*out = v;
	return 0;
}

/* The \u escape at s (pointing at the backslash, q the closing quote): one code point, two
 * escapes when they are a surrogate pair. Sets *used to the escaped bytes consumed. */
static int read_u_escape(struct parser *ps, const char *s, const char *q, unsigned *cp,
                         size_t *used)
{
	unsigned hi, lo;
	if (hex4(s + 2, q, &hi))
		return fail_at(ps, s, ERR_INVAL, "invalid \\u escape");
	*used = 6;
	if (hi >= 0xdc00 && hi <= 0xdfff)
		return fail_at(ps, s, ERR_INVAL, "unpaired surrogate");
	if (hi >= 0xd800 && hi <= 0xdbff) {
		const char *t = s + 6;
		if (q - t < 6 || t[0] != '\\' || t[1] != 'u' || hex4(t + 2, q, &lo) ||
		    lo < 0xdc00 || lo > 0xdfff)
			return fail_at(ps, s, ERR_INVAL, "unpaired surrogate");
		hi = 0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00);
		*used = 12;
	}
	if (hi == 0) /* values are used as C strings */
		return fail_at(ps, s, ERR_INVAL, "NUL character not allowed");
	*cp = hi;
	return 0;
}

/* At the opening quote; leaves p after the closing one. The closing quote is found first so
 * one allocation fits the result: unescaping never makes text longer. */
static int read_string(struct parser *ps, const char **out, size_t *out_len)
{
	const char *s = ps->p + 1, *q = s;
	while (q < ps->end && *q != '"')
		q += *q == '\\' && ps->end - q > 1 ? 2 : 1;
	if (q >= ps->end)
		return fail(ps, ERR_INVAL, "unterminated string");
	char *o = arena_alloc(ps->a, (size_t)(q - s) + 1);
	if (!o)
		return fail(ps, ERR_NOMEM, "out of memory");
	size_t n = 0;
	for (const char *p = s; p < q;) {
		unsigned char c = (unsigned char)*p;
		if (c == '\\') {
			/* p[1] < q: the scan above stepped over escaped characters */
			static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
			const char *e = p[1] ? strchr(from, p[1]) : NULL;
			if (e) {
				o[n++] = to[e - from];
				p += 2;
			} else if (p[1] == 'u') {
				unsigned cp;
				size_t used;
				int rc = read_u_escape(ps, p, q, &cp, &used);
				if (rc)
					return rc;
				n += utf8_put(o + n, cp);
				p += used;
			} else {
				return fail_at(ps, p, ERR_INVAL, "invalid escape");
			}
		} else if (c < 0x20) {
			return fail_at(ps, p, ERR_INVAL, "control character in string");
		} else {
			size_t k = utf8_len((const unsigned char *)p, (size_t)(q - p));
			if (!k)
				return fail_at(ps, p, ERR_INVAL, "invalid UTF-8");
			memcpy(o + n, p, k);
			n += k;
			p += k;
		}
	}
	o[n] = '\0';
	*out = o;
	*out_len = n;
	ps->p = q + 1;
	return 0;
}

/* The integer digits [p, end) as int64, from the digits themselves: a double cannot tell
 * 9223372036854775807 from 9223372036854775808. */
static bool digits_to_int64(const char *p, const char *end, bool neg, int64_t *out)
{
	uint64_t limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX, v = 0;
	for (; p < end; p++) {
		unsigned d = (unsigned)(*p - '0');
		if (v > (limit - d) / 10)
			return false;
		v = v * 10 + d;
	}
	if (!neg)
		*out = (int64_t)v;
	else
		*out = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
	return true;
}

/* -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? checked here, so strtod only ever sees
 * the grammar (never hex, inf, nan or locale forms). */
static int read_number(struct parser *ps, struct json *j)
{
	const char *s = ps->p, *p = s, *e = ps->end;
	bool neg = false, integral = true;
	if (*p == '-') {
		neg = true;
		p++;
	}
	const char *int_start = p;
	if (p == e || !is_digit(*p))
		return fail_at(ps, p, ERR_INVAL, "expected a digit");
	if (*p == '0' && e - p > 1 && is_digit(p[1]))
		return fail_at(ps, p, ERR_INVAL, "leading zeros are not allowed");
	while (p < e && is_digit(*p))
		p++;
	const char *int_end = p;
	if (p < e && *p == '.') {
		integral = false;
		if (++p == e || !is_digit(*p))
			return fail_at(ps, p, ERR_INVAL, "expected a digit after '.'");
		while (p < e && is_digit(*p))
			p++;
	}
	if (p < e && (*p == 'e' || *p == 'E')) {
		integral = false;
		p++;
		if (p < e && (*p == '+' || *p == '-'))
			p++;
		if (p == e || !is_digit(*p))
			return fail_at(ps, p, ERR_INVAL, "expected a digit in the exponent");
		while (p < e && is_digit(*p))
			p++;
	}

	/* strtod wants a NUL after the number; the input may end right there */
	size_t n = (size_t)(p - s);
	char small[64];
	char *copy = n < sizeof small ? small : arena_alloc(ps->a, n + 1);
	if (!copy)
		return fail(ps, ERR_NOMEM, "out of memory");
	memcpy(copy, s, n);
	copy[n] = '\0';
	double d = strtod(copy, NULL);
	if (isinf(d))
		return fail_at(ps, s, ERR_INVAL, "number out of range");
	j->number = d;
	j->is_int = integral && digits_to_int64(int_start, int_end, neg, &j->integer);
	ps->p = p;
	return 0;
}

static int read_literal(struct parser *ps, const char *word, size_t n)
{
	if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0)
		return fail(ps, ERR_INVAL, "invalid literal");
	ps->p += n;
	return 0;
}

/* A member name and its colon. */
static int read_key(struct parser *ps, const char **key, size_t *key_len)
{
	skip_ws(ps);
	if (!at(ps, '"'))
		return fail(ps, ERR_INVAL, "expected a string key");
	int rc = read_string(ps, key, key_len);
	if (rc)
		return rc;
	skip_ws(ps);
	if (!at(ps, ':'))
		return fail(ps, ERR_INVAL, "expected ':'");
	ps->p++;
	return 0;
}

static int push(struct parser *ps, struct json *c, const char *open)
{
	if (ps->depth == ps->cap) {
		/* grows with the input's real nesting, never up front to max_depth */
		size_t cap = ps->cap ? ps->cap * 2 : 16;
		if (cap > ps->max_depth)
			cap = ps->max_depth;
		if (cap > SIZE_MAX / sizeof *ps->stack)
			return fail(ps, ERR_NOMEM, "out of memory");
		struct frame *f = arena_alloc(ps->a, cap * sizeof *f);
		if (!f)
			return fail(ps, ERR_NOMEM, "out of memory");
		if (ps->depth)
			memcpy(f, ps->stack, ps->depth * sizeof *f);
		ps->stack = f;
		ps->cap = cap;
	}
	ps->stack[ps->depth++] = (struct frame){c, &c->child, (size_t)(open - ps->start)};
	return 0;
}

static int key_cmp(const struct json *a, const struct json *b)
{
	if (a->key_len != b->key_len)
		return a->key_len < b->key_len ? -1 : 1;
	return memcmp(a->key, b->key, a->key_len);
}

/* Bottom-up merge sort of v[0..n) using tmp; returns whichever array holds the result.
 * A sort, not a hash table: its worst case is O(n log n) whatever keys an attacker picks. */
static struct json **sort_members(struct json **v, struct json **tmp, size_t n)
{
	for (size_t w = 1; w < n; w *= 2) {
		for (size_t lo = 0; lo < n; lo += 2 * w) {
			size_t mid = n - lo > w ? lo + w : n;
			size_t hi = n - mid > w ? mid + w : n;
			size_t i = lo, j = mid, k = lo;
			while (i < mid && j < hi)
				tmp[k++] = key_cmp(v[j], v[i]) < 0 ? v[j++] : v[i++];
			while (i < mid)
				tmp[k++] = v[i++];
			while (j < hi)
				tmp[k++] = v[j++];
		}
		struct json **t = v;
		v = tmp;
		tmp = t;
	}
	return v;
}

static int check_duplicates(struct parser *ps, const struct frame *f)
{
	const struct json *obj = f->node;
	const char *open = ps->start + f->open;
	size_t n = obj->len;
	if (n <= SMALL_OBJECT) {
		for (const struct json *a = obj->child; a; a = a->next)
			for (const struct json *b = a->next; b; b = b->next)
				if (!key_cmp(a, b))
					return fail_at(ps, open, ERR_INVAL, "duplicate key");
		return 0;
	}
	/* n is bounded by max_nodes and by the input, so this cannot overflow in practice */
	if (n > SIZE_MAX / (2 * sizeof(struct json *)))
		return fail(ps, ERR_NOMEM, "out of memory");
	struct json **v = arena_alloc(ps->a, 2 * n * sizeof *v);
	if (!v)
		return fail(ps, ERR_NOMEM, "out of memory");
	size_t i = 0;
	for (struct json *m = obj->child; m; m = m->next)
		v[i++] = m;
	struct json **sorted = sort_members(v, v + n, n);
	for (i = 1; i < n; i++)
		if (!key_cmp(sorted[i - 1], sorted[i]))
			return fail_at(ps, open, ERR_INVAL, "duplicate key");
	return 0;
}

/* After a closing bracket. */
static int pop(struct parser *ps)
{
	const struct frame *f = &ps->stack[ps->depth - 1];
	if (f->node->type == JSON_OBJECT) {
		int rc = check_duplicates(ps, f);
		if (rc)
			return rc;
	}
	ps->depth--;
	return 0;
}

static int new_node(struct parser *ps, enum json_type t, struct json **out)
{
	if (ps->nodes == ps->max_nodes)
		return fail(ps, ERR_TOOBIG, "too many values");
	struct json *j = arena_zalloc(ps->a, sizeof *j);
	if (!j)
		return fail(ps, ERR_NOMEM, "out of memory");
	ps->nodes++;
	j->type = t;
	*out = j;
	return 0;
}

/* Reads the value at p and links it into the open container (or makes it the root). An
 * array or object is only opened and pushed: its contents are read by json_parse's loop. */
static int read_value(struct parser *ps, const char *key, size_t key_len, struct json **out)
{
	skip_ws(ps);
	if (ps->p == ps->end)
		return fail(ps, ERR_INVAL, ps->root ? "unexpected end of input" : "empty input");
	const char *s = ps->p;
	enum json_type t;
	switch (*s) {
	case '{': t = JSON_OBJECT; break;
	case '[': t = JSON_ARRAY; break;
	case '"': t = JSON_STRING; break;
	case 't':
	case 'f': t = JSON_BOOL; break;
	case 'n': t = JSON_NULL; break;
	case '-': t = JSON_NUMBER; break;
	default:
		if (is_digit(*s)) {
			t = JSON_NUMBER;
			break;
		}
		if (ps->end - s >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0)
			return fail(ps, ERR_INVAL, "byte order mark not allowed");
		return fail(ps, ERR_INVAL, "expected a value");
	}
	bool container = t == JSON_OBJECT || t == JSON_ARRAY;
	if (container && ps->depth == ps->max_depth)
		return fail(ps, ERR_TOOBIG, "nested too deeply");

	struct json *j;
	int rc = new_node(ps, t, &j);
	if (rc)
		return rc;
	switch (t) {
	case JSON_OBJECT:
	case JSON_ARRAY: ps->p++; break;
	case JSON_STRING: rc = read_string(ps, &j->str, &j->len); break;
	case JSON_BOOL:
		j->boolean = *s == 't';
		rc = j->boolean ? read_literal(ps, "true", 4) : read_literal(ps, "false", 5);
		break;
	case JSON_NULL: rc = read_literal(ps, "null", 4); break;
	case JSON_NUMBER: rc = read_number(ps, j); break;
	}
	if (rc)
		return rc;

	if (ps->depth) {
		struct frame *f = &ps->stack[ps->depth - 1];
		j->key = key;
		j->key_len = key_len;
		*f->tail = j;
		f->tail = &j->next;
		f->node->len++;
	} else {
		ps->root = j;
	}
	if (container && (rc = push(ps, j, s)))
		return rc;
	*out = j;
	return 0;
}

/* The loop alternates: read a value; then, while it completes containers, consume closing
 * brackets; a comma (plus a key in objects) leads to the next value. */
int json_parse(struct arena *a, const char *text, size_t len, const struct json_limits *lim,
               struct json **out, struct json_error *err)
{
	if (!text) {
		text = "";
		len = 0;
	}
	struct parser ps = {
		.a = a,
		.start = text,
		.p = text,
		.end = text + len,
		.max_nodes = lim && lim->max_nodes ? lim->max_nodes : DEFAULT_NODES,
		.max_depth = lim && lim->max_depth ? lim->max_depth : DEFAULT_DEPTH,
		.err = err,
	};
	*out = NULL;
	if (err) {
		err->offset = 0;
		err->message = NULL;
	}
	const char *key = NULL;
	size_t key_len = 0;
	for (;;) {
		struct json *v;
		int rc = read_value(&ps, key, key_len, &v);
		if (rc)
			return rc;
		key = NULL;
		key_len = 0;
		bool next = false;
		if (v->type == JSON_OBJECT || v->type == JSON_ARRAY) {
			skip_ws(&ps);
			bool empty = at(&ps, v->type == JSON_OBJECT ? '}' : ']');
			if (!empty) {
				if (v->type == JSON_OBJECT && (rc = read_key(&ps, &key, &key_len)))
					return rc;
				continue;
			}
			ps.p++;
			if ((rc = pop(&ps)))
				return rc;
		}
		while (ps.depth && !next) {
			bool obj = ps.stack[ps.depth - 1].node->type == JSON_OBJECT;
			skip_ws(&ps);
			if (at(&ps, ',')) {
				ps.p++;
				if (obj && (rc = read_key(&ps, &key, &key_len)))
					return rc;
				next = true;
			} else if (at(&ps, obj ? '}' : ']')) {
				ps.p++;
				if ((rc = pop(&ps)))
					return rc;
			} else {
				return fail(&ps, ERR_INVAL,
				            obj ? "expected ',' or '}'" : "expected ',' or ']'");
			}
		}
		if (!next)
			break;
	}
	skip_ws(&ps);
	if (ps.p != ps.end)
		return fail(&ps, ERR_INVAL, "unexpected data after the value");
	*out = ps.root;
	return 0;
}

const struct json *json_get(const struct json *obj, const char *key)
{
	if (!obj || obj->type != JSON_OBJECT || !key)
		return NULL;
	size_t n = strlen(key);
	for (const struct json *m = obj->child; m; m = m->next)
		if (m->key_len == n && memcmp(m->key, key, n) == 0)
			return m;
	return NULL;
}

/* ---- writer ---------------------------------------------------------------------------- */

static int quote(struct buf *b, const unsigned char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	int rc = buf_addc(b, '"');
	size_t i = 0, run = 0; /* s[run..i) is copied as it is */
	while (!rc && i < n) {
		unsigned char c = s[i];
		size_t k = 1;
		char u[7];
		const char *esc;
		if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
			i++;
			continue;
		}
		if (c >= 0x80) {
			k = utf8_len(s + i, n - i);
			bool sep = k == 3 && c == 0xe2 && s[i + 1] == 0x80 &&
			           (s[i + 2] == 0xa8 || s[i + 2] == 0xa9);
			if (sep) {
				/* valid JSON, but not JavaScript before ES2019: escape them */
				esc = s[i + 2] == 0xa8 ? "\\u2028" : "\\u2029";
			} else if (k == 0) {
				esc = "\xef\xbf\xbd"; /* one U+FFFD per byte that is not UTF-8 */
				k = 1;
			} else {
				i += k;
				continue;
			}
		} else {
			switch (c) {
			case '"': esc = "\\\""; break;
			case '\\': esc = "\\\\"; break;
			case '\b': esc = "\\b"; break;
			case '\f': esc = "\\f"; break;
			case '\n': esc = "\\n"; break;
			case '\r': esc = "\\r"; break;
			case '\t': esc = "\\t"; break;
			default:
				memcpy(u, "\\u00", 4);
				u[4] = hex[c >> 4];
				u[5] = hex[c & 15];
				u[6] = '\0';
				esc = u;
			}
		}
		if (i > run)
			rc = buf_add(b, s + run, i - run);
		if (!rc)
			rc = buf_adds(b, esc);
		i += k;
		run = i;
	}
	if (!rc && n > run)
		rc = buf_add(b, s + run, n - run);
	if (!rc)
		rc = buf_addc(b, '"');
	return rc;
}

int json_quote(struct buf *b, const char *s, size_t n)
{
	size_t old = b->len;
	/* the output is at least n + 2 bytes: fail before writing anything when it cannot fit */
	int rc = n > SIZE_MAX - 2 ? ERR_TOOBIG : buf_reserve(b, n + 2);
	if (!rc)
		rc = quote(b, (const unsigned char *)s, n);
	if (rc && b->ptr) {
		/* no half-written string left behind */
		b->len = old;
		b->ptr[old] = '\0';
	}
	return rc;
}

void jw_init(struct jw *w, struct buf *b)
{
	memset(w, 0, sizeof *w);
	w->b = b;
}

/* Called before every value: a value is the single top-level one, an array element, or
 * follows a key. At depth 0, need_comma[0] means the top-level value was already written. */
static bool begin_value(struct jw *w)
{
	if (w->err)
		return false;
	int d = w->depth;
	if (d == 0 && w->need_comma[0]) {
		w->err = ERR_INVAL;
		return false;
	}
	if (d > 0 && w->is_obj[d]) {
		if (!w->after_key) {
			w->err = ERR_INVAL;
			return false;
		}
		w->after_key = false;
		return true;
	}
	if (d > 0 && w->need_comma[d]) {
		w->err = buf_addc(w->b, ',');
		if (w->err)
			return false;
	}
	w->need_comma[d] = true;
	return true;
}

static void open_container(struct jw *w, char c, bool obj)
{
	if (w->err)
		return;
	if (w->depth >= JSON_WRITER_DEPTH) {
		w->err = ERR_TOOBIG;
		return;
	}
	if (!begin_value(w))
		return;
	w->err = buf_addc(w->b, c);
	w->depth++;
	w->need_comma[w->depth] = false;
	w->is_obj[w->depth] = obj;
}

static void close_container(struct jw *w, char c, bool obj)
{
	if (w->err)
		return;
	if (w->depth == 0 || w->is_obj[w->depth] != obj || w->after_key) {
		w->err = ERR_INVAL;
		return;
	}
	w->err = buf_addc(w->b, c);
	w->depth--;
}

void jw_obj(struct jw *w)
{
	open_container(w, '{', true);
}

void jw_obj_end(struct jw *w)
{
	close_container(w, '}', true);
}

void jw_arr(struct jw *w)
{
	open_container(w, '[', false);
}

void jw_arr_end(struct jw *w)
{
	close_container(w, ']', false);
}

void jw_key(struct jw *w, const char *key)
{
	if (w->err)
		return;
	int d = w->depth;
	if (!key || d == 0 || !w->is_obj[d] || w->after_key) {
		w->err = ERR_INVAL;
		return;
	}
	if (w->need_comma[d])
		w->err = buf_addc(w->b, ',');
	if (!w->err)
		w->err = json_quote(w->b, key, strlen(key));
	if (!w->err)
		w->err = buf_addc(w->b, ':');
	w->need_comma[d] = true;
	w->after_key = true;
}

void jw_strn(struct jw *w, const char *s, size_t n)
{
	if (begin_value(w))
		w->err = json_quote(w->b, s, n);
}

void jw_str(struct jw *w, const char *s)
{
	if (s)
		jw_strn(w, s, strlen(s));
	else
		jw_null(w);
}

void jw_int(struct jw *w, int64_t v)
{
	if (begin_value(w))
		w->err = buf_printf(w->b, "%" PRId64, v);
}

void jw_double(struct jw *w, double v)
{
	if (!isfinite(v)) {
		jw_null(w); /* JSON has no NaN or infinity */
		return;
	}
	if (!begin_value(w))
		return;
	/* the fewest digits that read back as the same double: 0.1, not 0.10000000000000001 */
	char num[40];
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(num, sizeof num, "%.*g", prec, v);
		if (strtod(num, NULL) == v)
			break;
	}
	/* %g picks 1e+02 for 100 at one digit; whole numbers read better written out */
	if (strchr(num, 'e') && v > -1e17 && v < 1e17 && v == (double)(int64_t)v)
		snprintf(num, sizeof num, "%.0f", v);
	w->err = buf_adds(w->b, num);
}

void jw_bool(struct jw *w, bool v)
{
	if (begin_value(w))
		w->err = buf_adds(w->b, v ? "true" : "false");
}

void jw_null(struct jw *w)
{
	if (begin_value(w))
		w->err = buf_adds(w->b, "null");
}

void jw_raw(struct jw *w, const char *json, size_t n)
{
	if (begin_value(w))
		w->err = buf_add(w->b, json, n);
}

void jw_kstr(struct jw *w, const char *key, const char *s)
{
	jw_key(w, key);
	jw_str(w, s);
}

void jw_kint(struct jw *w, const char *key, int64_t v)
{
	jw_key(w, key);
	jw_int(w, v);
}

void jw_kbool(struct jw *w, const char *key, bool v)
{
	jw_key(w, key);
	jw_bool(w, v);
}

void jw_knull(struct jw *w, const char *key)
{
	jw_key(w, key);
	jw_null(w);
}

int jw_finish(struct jw *w)
{
	if (w->err)
		return w->err;
	return w->depth || w->after_key ? ERR_INVAL : 0;
}
