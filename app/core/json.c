/* core/json.c: strict JSON reader into an arena and writer into a buf. The reader treats
 * every byte as hostile: it must never recurse deeper than the depth limit, read past the
 * input, accept invalid UTF-8, or take quadratic time on duplicate-key checks. */
#include "core/json.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- UTF-8 --------------------------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at s (n bytes available), or 0 when invalid. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	if (c < 0x80)
		return 1;
	size_t len;
	unsigned lo = 0x80, hi = 0xbf;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2;
	else if (c == 0xe0)
		len = 3, lo = 0xa0;
	else if (c == 0xed)
		len = 3, hi = 0x9f; /* no surrogates */
	else if (c >= 0xe1 && c <= 0xef)
		len = 3;
	else if (c == 0xf0)
		len = 4, lo = 0x90;
	else if (c >= 0xf1 && c <= 0xf3)
		len = 4;
	else if (c == 0xf4)
		len = 4, hi = 0x8f; /* <= U+10FFFF */
	else
		return 0;
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return len;
}

int utf8_check(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;
	while (i < n) {
		size_t k = utf8_seq(p + i, n - i);
		if (!k)
			return ERR_INVAL;
		i += k;
	}
	return 0;
}

/* ---- reader -------------------------------------------------------------------------- */

struct parser {
	const char *p, *end, *start;
	struct arena *a;
	size_t depth, max_depth, nodes, max_nodes;
	struct json_error *err;
	int rc;
};

static int fail(struct parser *ps, int rc, const char *msg)
{
	if (!ps->rc) {
		ps->rc = rc;
		if (ps->err) {
			ps->err->offset = (size_t)(ps->p - ps->start);
			ps->err->message = msg;
		}
	}
	return rc;
}

static void skip_ws(struct parser *ps)
{
	while (ps->p < ps->end &&
	       (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
		ps->p++;
}

static struct json *new_node(struct parser *ps, enum json_type t)
{
	if (++ps->nodes > ps->max_nodes) {
		fail(ps, ERR_TOOBIG, "too many values");
		return NULL;
	}
	struct json *j = arena_zalloc(ps->a, sizeof *j);
	if (!j) {
		fail(ps, ERR_NOMEM, "out of memory");
		return NULL;
	}
	j->type = t;
	return j;
}

static int hex4(const char *p, unsigned *out)
{
	unsigned v = 0;
	for (int i = 0; i < 4; i++) {
		char c = p[i];
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (unsigned)(c - 'A' + 10);
		else
			return -1;
	}
	*out = v;
	return 0;
}

static size_t put_utf8(char *o, unsigned cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xc0 | (cp >> 6));
		o[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xe0 | (cp >> 12));
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | (cp >> 18));
	o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	o[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* At the opening quote; leaves p after the closing one. The unescaped text is never longer
 * than the escaped one, so one allocation of the raw length suffices. */
static int parse_string(struct parser *ps, const char **out, size_t *out_len)
{
	const char *s = ++ps->p;
	const char *q = s;
	while (q < ps->end && *q != '"') {
		if (*q == '\\' && q + 1 < ps->end)
			q++;
		q++;
	}
	if (q >= ps->end)
		return fail(ps, ERR_INVAL, "unterminated string");
	char *buf = arena_alloc(ps->a, (size_t)(q - s) + 1);
	if (!buf)
		return fail(ps, ERR_NOMEM, "out of memory");
	size_t n = 0;
	while (ps->p < q) {
		unsigned char c = (unsigned char)*ps->p;
		if (c < 0x20)
			return fail(ps, ERR_INVAL, "control character in string");
		if (c == '\\') {
			char e = ps->p[1];
			ps->p += 2;
			switch (e) {
			case '"': buf[n++] = '"'; break;
			case '\\': buf[n++] = '\\'; break;
			case '/': buf[n++] = '/'; break;
			case 'b': buf[n++] = '\b'; break;
			case 'f': buf[n++] = '\f'; break;
			case 'n': buf[n++] = '\n'; break;
			case 'r': buf[n++] = '\r'; break;
			case 't': buf[n++] = '\t'; break;
			case 'u': {
				unsigned cp, lo;
				if (q - ps->p < 4 || hex4(ps->p, &cp))
					return fail(ps, ERR_INVAL, "bad \\u escape");
				ps->p += 4;
				if (cp >= 0xdc00 && cp <= 0xdfff)
					return fail(ps, ERR_INVAL, "lone surrogate");
				if (cp >= 0xd800 && cp <= 0xdbff) {
					if (q - ps->p < 6 || ps->p[0] != '\\' || ps->p[1] != 'u' ||
					    hex4(ps->p + 2, &lo) || lo < 0xdc00 || lo > 0xdfff)
						return fail(ps, ERR_INVAL, "lone surrogate");
					ps->p += 6;
					cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
				}
				if (cp == 0)
					return fail(ps, ERR_INVAL, "NUL character not allowed");
				n += put_utf8(buf + n, cp);
				break;
			}
			default:
				ps->p -= 1;
				return fail(ps, ERR_INVAL, "bad escape");
			}
			continue;
		}
		size_t k = utf8_seq((const unsigned char *)ps->p, (size_t)(q - ps->p));
		if (!k)
			return fail(ps, ERR_INVAL, "invalid UTF-8");
		memcpy(buf + n, ps->p, k);
		n += k;
		ps->p += k;
	}
	ps->p = q + 1;
	buf[n] = '\0';
	*out = buf;
	*out_len = n;
	return 0;
}

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int parse_number(struct parser *ps, struct json *j)
{
	const char *s = ps->p, *p = s;
	bool neg = false, integral = true;
	if (p < ps->end && *p == '-') {
		neg = true;
		p++;
	}
	if (p >= ps->end || !is_digit(*p))
		return fail(ps, ERR_INVAL, "bad number");
	if (*p == '0') {
		p++;
		if (p < ps->end && is_digit(*p))
			return fail(ps, ERR_INVAL, "leading zero");
	} else {
		while (p < ps->end && is_digit(*p))
			p++;
	}
	const char *int_end = p;
	if (p < ps->end && *p == '.') {
		integral = false;
		p++;
		if (p >= ps->end || !is_digit(*p))
			return fail(ps, ERR_INVAL, "bad fraction");
		while (p < ps->end && is_digit(*p))
			p++;
	}
	if (p < ps->end && (*p == 'e' || *p == 'E')) {
		integral = false;
		p++;
		if (p < ps->end && (*p == '+' || *p == '-'))
			p++;
		if (p >= ps->end || !is_digit(*p))
			return fail(ps, ERR_INVAL, "bad exponent");
		while (p < ps->end && is_digit(*p))
			p++;
	}
	/* strtod needs a terminated copy: the input may end right after the number */
	char tmp[64];
	char *copy = (size_t)(p - s) < sizeof tmp ? tmp : arena_alloc(ps->a, (size_t)(p - s) + 1);
	if (!copy)
		return fail(ps, ERR_NOMEM, "out of memory");
	memcpy(copy, s, (size_t)(p - s));
	copy[p - s] = '\0';
	errno = 0;
	double d = strtod(copy, NULL);
	if (isinf(d))
		return fail(ps, ERR_INVAL, "number out of range");
	j->number = d;
	if (integral) {
		/* exact int64 from the digits, not through the double */
		const char *q = s + (neg ? 1 : 0);
		uint64_t v = 0, limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
		bool fits = true;
		for (; q < int_end; q++) {
			unsigned dgt = (unsigned)(*q - '0');
			if (v > (limit - dgt) / 10) {
				fits = false;
				break;
			}
			v = v * 10 + dgt;
		}
		if (fits) {
			j->is_int = true;
			j->integer = neg ? (v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v) : (int64_t)v;
		}
	}
	ps->p = p;
	return 0;
}

static bool match_word(struct parser *ps, const char *w, size_t n)
{
	if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, w, n) != 0)
		return false;
	ps->p += n;
	return true;
}

static uint64_t key_hash(const char *k, size_t n)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)k[i]) * 1099511628211ull;
	return h;
}

/* Duplicate keys: pairwise for small objects, a hash set in the arena for large ones. */
static int check_duplicates(struct parser *ps, struct json *obj)
{
	if (obj->len < 2)
		return 0;
	if (obj->len <= 16) {
		for (struct json *a = obj->child; a; a = a->next)
			for (struct json *b = a->next; b; b = b->next)
				if (a->key_len == b->key_len && memcmp(a->key, b->key, a->key_len) == 0)
					return fail(ps, ERR_INVAL, "duplicate key");
		return 0;
	}
	size_t cap = 32;
	while (cap < obj->len * 2)
		cap *= 2;
	struct json **slots = arena_zalloc(ps->a, cap * sizeof *slots);
	if (!slots)
		return fail(ps, ERR_NOMEM, "out of memory");
	for (struct json *m = obj->child; m; m = m->next) {
		size_t i = (size_t)key_hash(m->key, m->key_len) & (cap - 1);
		while (slots[i]) {
			if (slots[i]->key_len == m->key_len && memcmp(slots[i]->key, m->key, m->key_len) == 0)
				return fail(ps, ERR_INVAL, "duplicate key");
			i = (i + 1) & (cap - 1);
		}
		slots[i] = m;
	}
	return 0;
}

static struct json *parse_value(struct parser *ps);

static struct json *parse_container(struct parser *ps, bool object)
{
	struct json *j = new_node(ps, object ? JSON_OBJECT : JSON_ARRAY);
	if (!j)
		return NULL;
	if (++ps->depth > ps->max_depth) {
		fail(ps, ERR_TOOBIG, "nested too deeply");
		return NULL;
	}
	ps->p++;
	skip_ws(ps);
	struct json **tail = &j->child;
	char close = object ? '}' : ']';
	if (ps->p < ps->end && *ps->p == close) {
		ps->p++;
		ps->depth--;
		return j;
	}
	for (;;) {
		const char *key = NULL;
		size_t key_len = 0;
		if (object) {
			skip_ws(ps);
			if (ps->p >= ps->end || *ps->p != '"') {
				fail(ps, ERR_INVAL, "expected a key");
				return NULL;
			}
			if (parse_string(ps, &key, &key_len))
				return NULL;
			skip_ws(ps);
			if (ps->p >= ps->end || *ps->p != ':') {
				fail(ps, ERR_INVAL, "expected ':'");
				return NULL;
			}
			ps->p++;
		}
		struct json *v = parse_value(ps);
		if (!v)
			return NULL;
		v->key = key;
		v->key_len = key_len;
		*tail = v;
		tail = &v->next;
		j->len++;
		skip_ws(ps);
		if (ps->p < ps->end && *ps->p == ',') {
			ps->p++;
			continue;
		}
		if (ps->p < ps->end && *ps->p == close) {
			ps->p++;
			break;
		}
		fail(ps, ERR_INVAL, object ? "expected ',' or '}'" : "expected ',' or ']'");
		return NULL;
	}
	ps->depth--;
	if (object && check_duplicates(ps, j))
		return NULL;
	return j;
}

static struct json *parse_value(struct parser *ps)
{
	skip_ws(ps);
	if (ps->p >= ps->end) {
		fail(ps, ERR_INVAL, "unexpected end of input");
		return NULL;
	}
	struct json *j;
	switch (*ps->p) {
	case '{':
		return parse_container(ps, true);
	case '[':
		return parse_container(ps, false);
	case '"':
		j = new_node(ps, JSON_STRING);
		if (!j || parse_string(ps, &j->str, &j->len))
			return NULL;
		return j;
	case 't':
	case 'f':
		j = new_node(ps, JSON_BOOL);
		if (!j)
			return NULL;
		if (match_word(ps, "true", 4))
			j->boolean = true;
		else if (!match_word(ps, "false", 5)) {
			fail(ps, ERR_INVAL, "unexpected word");
			return NULL;
		}
		return j;
	case 'n':
		j = new_node(ps, JSON_NULL);
		if (j && !match_word(ps, "null", 4)) {
			fail(ps, ERR_INVAL, "unexpected word");
			return NULL;
		}
		return j;
	default:
		if (*ps->p == '-' || is_digit(*ps->p)) {
			j = new_node(ps, JSON_NUMBER);
			if (!j || parse_number(ps, j))
				return NULL;
			return j;
		}
		fail(ps, ERR_INVAL, "unexpected character");
		return NULL;
	}
}

int json_parse(struct arena *a, const char *text, size_t len, const struct json_limits *lim,
               struct json **out, struct json_error *err)
{
	struct parser ps = {text, text + len, text, a, 0, 32, 0, 100000, err, 0};
	if (lim && lim->max_depth)
		ps.max_depth = lim->max_depth;
	if (lim && lim->max_nodes)
		ps.max_nodes = lim->max_nodes;
	*out = NULL;
	struct json *j = parse_value(&ps);
	if (!j)
		return ps.rc ? ps.rc : ERR_INVAL;
	skip_ws(&ps);
	if (ps.p != ps.end)
		return fail(&ps, ERR_INVAL, "unexpected data after the value");
	*out = j;
	return 0;
}

const struct json *json_get(const struct json *obj, const char *key)
{
	if (!obj || obj->type != JSON_OBJECT)
		return NULL;
	size_t n = strlen(key);
	for (const struct json *m = obj->child; m; m = m->next)
		if (m->key_len == n && memcmp(m->key, key, n) == 0)
			return m;
	return NULL;
}

/* ---- writer -------------------------------------------------------------------------- */

int json_quote(struct buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	int rc = buf_reserve(b, n + 2);
	if (rc)
		return rc;
	rc = buf_addc(b, '"');
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, run = 0;
	while (i < n && !rc) {
		unsigned char c = p[i];
		const char *esc = NULL;
		char u[6];
		size_t k = 1;
		if (c == '"')
			esc = "\\\"";
		else if (c == '\\')
			esc = "\\\\";
		else if (c == '\n')
			esc = "\\n";
		else if (c == '\r')
			esc = "\\r";
		else if (c == '\t')
			esc = "\\t";
		else if (c == '\b')
			esc = "\\b";
		else if (c == '\f')
			esc = "\\f";
		else if (c < 0x20) {
			u[0] = '\\', u[1] = 'u', u[2] = '0', u[3] = '0', u[4] = hex[c >> 4], u[5] = hex[c & 15];
		} else if (c >= 0x80) {
			k = utf8_seq(p + i, n - i);
			if (k == 3 && c == 0xe2 && p[i + 1] == 0x80 && (p[i + 2] == 0xa8 || p[i + 2] == 0xa9))
				esc = p[i + 2] == 0xa8 ? "\\u2028" : "\\u2029";
			else if (k == 0)
				esc = "\xef\xbf\xbd", k = 1; /* U+FFFD for a byte that is not UTF-8 */
		}
		if (!esc && !(c < 0x20)) {
			i += k; /* plain bytes: copied in runs */
			run += k;
			continue;
		}
		if (run)
			rc = buf_add(b, s + i - run, run);
		run = 0;
		if (!rc)
			rc = esc ? buf_adds(b, esc) : buf_add(b, u, 6);
		i += k;
	}
	if (!rc && run)
		rc = buf_add(b, s + i - run, run);
	return rc ? rc : buf_addc(b, '"');
}

void jw_init(struct jw *w, struct buf *b)
{
	memset(w, 0, sizeof *w);
	w->b = b;
}

/* Before any value: the comma, or nothing right after a key. */
static bool jw_value(struct jw *w)
{
	if (w->err)
		return false;
	if (w->after_key) {
		w->after_key = false;
		return true;
	}
	if (w->need_comma[w->depth])
		w->err = buf_addc(w->b, ',');
	w->need_comma[w->depth] = true;
	return !w->err;
}

static void jw_open(struct jw *w, char c)
{
	if (!jw_value(w))
		return;
	if (w->depth >= JSON_WRITER_DEPTH) {
		w->err = ERR_TOOBIG;
		return;
	}
	w->err = buf_addc(w->b, c);
	w->depth++;
	w->need_comma[w->depth] = false;
}

static void jw_close(struct jw *w, char c)
{
	if (w->err)
		return;
	if (w->depth == 0 || w->after_key) {
		w->err = ERR_INVAL;
		return;
	}
	w->depth--;
	w->err = buf_addc(w->b, c);
}

void jw_obj(struct jw *w) { jw_open(w, '{'); }
void jw_obj_end(struct jw *w) { jw_close(w, '}'); }
void jw_arr(struct jw *w) { jw_open(w, '['); }
void jw_arr_end(struct jw *w) { jw_close(w, ']'); }

void jw_key(struct jw *w, const char *key)
{
	if (w->err)
		return;
	if (w->depth == 0 || w->after_key) {
		w->err = ERR_INVAL;
		return;
	}
	if (w->need_comma[w->depth])
		w->err = buf_addc(w->b, ',');
	w->need_comma[w->depth] = true;
	if (!w->err)
		w->err = json_quote(w->b, key, strlen(key));
	if (!w->err)
		w->err = buf_addc(w->b, ':');
	w->after_key = true;
}

void jw_strn(struct jw *w, const char *s, size_t n)
{
	if (jw_value(w))
		w->err = json_quote(w->b, s, n);
}

void jw_str(struct jw *w, const char *s)
{
	if (!s)
		jw_null(w);
	else
		jw_strn(w, s, strlen(s));
}

void jw_int(struct jw *w, int64_t v)
{
	if (jw_value(w))
		w->err = buf_printf(w->b, "%lld", (long long)v);
}

void jw_double(struct jw *w, double v)
{
	if (!isfinite(v)) {
		jw_null(w);
		return;
	}
	if (jw_value(w))
		w->err = buf_printf(w->b, "%.17g", v);
}

void jw_bool(struct jw *w, bool v)
{
	if (jw_value(w))
		w->err = buf_adds(w->b, v ? "true" : "false");
}

void jw_null(struct jw *w)
{
	if (jw_value(w))
		w->err = buf_adds(w->b, "null");
}

void jw_raw(struct jw *w, const char *json, size_t n)
{
	if (jw_value(w))
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
