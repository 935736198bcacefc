/* Unit tests for core/json.c: valid documents round-trip through parse and write, every
 * malformed or hostile input is refused with the right error, the writer escapes, never emits
 * invalid JSON, and reports its errors. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "core/json.h"

#define LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Parses into a fresh arena with a generous budget and throws the tree away. */
static int parse_n(const char *s, size_t n, const struct json_limits *lim, struct json_error *err)
{
	struct arena a;
	arena_init(&a, 256u << 20, NULL, 0);
	struct json *j;
	struct json_error e;
	int rc = json_parse(&a, s, n, lim, &j, err ? err : &e);
	CHECK((rc == 0) == (j != NULL));
	arena_free(&a);
	return rc;
}

static int parse(const char *s)
{
	return parse_n(s, strlen(s), NULL, NULL);
}

/* Writes a parsed tree back out (recursion is fine here: test inputs are shallow). */
static void emit(struct jw *w, const struct json *j)
{
	switch (j->type) {
	case JSON_NULL: jw_null(w); break;
	case JSON_BOOL: jw_bool(w, j->boolean); break;
	case JSON_NUMBER:
		if (j->is_int)
			jw_int(w, j->integer);
		else
			jw_double(w, j->number);
		break;
	case JSON_STRING: jw_strn(w, j->str, j->len); break;
	case JSON_ARRAY:
	case JSON_OBJECT: {
		bool obj = j->type == JSON_OBJECT;
		size_t n = 0;
		if (obj)
			jw_obj(w);
		else
			jw_arr(w);
		for (const struct json *c = j->child; c; c = c->next, n++) {
			if (obj)
				jw_key(w, c->key);
			emit(w, c);
		}
		CHECK(n == j->len);
		if (obj)
			jw_obj_end(w);
		else
			jw_arr_end(w);
		break;
	}
	}
}

/* parse -> write; returns the output (static buffer reused per call) or NULL. */
static const char *round_trip(const char *in, size_t n)
{
	static struct buf out = BUF_INIT(1 << 20);
	struct arena a;
	arena_init(&a, 1 << 20, NULL, 0);
	struct json *j;
	struct json_error e;
	const char *res = NULL;
	buf_reset(&out);
	if (json_parse(&a, in, n, NULL, &j, &e) == 0) {
		struct jw w;
		jw_init(&w, &out);
		emit(&w, j);
		if (jw_finish(&w) == 0)
			res = buf_str(&out);
	}
	arena_free(&a);
	return res;
}

static void test_round_trip(void)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{"{}", "{}"},
		{"[]", "[]"},
		{" \t\r\n[ 1 , 2 ] \n", "[1,2]"},
		{"[[],{},[[]],{\"a\":{}}]", "[[],{},[[]],{\"a\":{}}]"},
		{"{\"b\":1,\"a\":[true,false,null],\"c\":{\"d\":\"e\"}}",
		 "{\"b\":1,\"a\":[true,false,null],\"c\":{\"d\":\"e\"}}"},
		{"\"\"", "\"\""},
		{"\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"", "\"\\\"\\\\/\\b\\f\\n\\r\\t\""},
		{"\"\\u00e9\\u20AC\"", "\"\xc3\xa9\xe2\x82\xac\""},
		{"\"\\ud83d\\ude00\"", "\"\xf0\x9f\x98\x80\""},
		{"\"\\u001f\\u007f\"", "\"\\u001f\x7f\""},
		{"\"a\\u2028b\xe2\x80\xa9\"", "\"a\\u2028b\\u2029\""},
		{"\"caf\xc3\xa9 \xf4\x8f\xbf\xbf\"", "\"caf\xc3\xa9 \xf4\x8f\xbf\xbf\""},
		{"{\"k\\u0065y\":\"v\"}", "{\"key\":\"v\"}"},
		{"0", "0"},
		{"-0", "0"},
		{"1.5", "1.5"},
		{"0.1", "0.1"},
		{"1E+2", "100"},
		{"1e2", "100"},
		{"-1.25e-7", "-1.25e-07"},
		{"123456789012", "123456789012"},
		{"9223372036854775807", "9223372036854775807"},
		{"-9223372036854775808", "-9223372036854775808"},
		{"9223372036854775808", "9.223372036854776e+18"},
		{"1.7976931348623157e308", "1.7976931348623157e+308"},
		{"5e-324", "5e-324"},
		{"true", "true"},
		{"null", "null"},
	};
	for (size_t i = 0; i < LEN(cases); i++) {
		const char *got = round_trip(cases[i].in, strlen(cases[i].in));
		CHECK_STR(got, cases[i].out);
		/* the writer's output is canonical: it survives a second trip unchanged */
		if (got) {
			char *again = strdup(got);
			CHECK_STR(round_trip(again, strlen(again)), cases[i].out);
			free(again);
		}
	}
}

static void test_malformed(void)
{
	static const char *const bad[] = {
		"", " \t\r\n", "[", "]", "{", "}", "[1", "{\"a\":1", "{\"a\"}", "{\"a\":}",
		"{\"a\" 1}", "{1:2}", "{a:1}", "{'a':1}", "{\"a\":1,}", "[1,]", "[,1]", "[1,,2]",
		"[1 2]", "{\"a\":1 \"b\":2}", "[1}", "{\"a\":1]", "01", "-01", "00", "1.", "1.e5",
		".5", "+1", "-", "--1", "1e", "1e+", "1E-", "0x10", "1_000", "NaN", "Infinity",
		"-Infinity", "inf", "'a'", "tru", "nul", "fals", "True", "NULL", "[1]x", "[1] [2]",
		"1 2", "\xef\xbb\xbf[]",
		"/* c */ 1", "// c\n1", "1 // c", "\"abc", "\"abc\\\"", "\"a\x01\"", "\"a\tb\"",
		"\"a\nb\"", "\"\\x\"", "\"\\a\"", "\"\\U0041\"", "\"\\u12\"", "\"\\u12G4\"",
		"\"\\uzzzz\"", "\"\\", "1e999", "-1e999", "\"\\ud800\"", "\"\\udc00\"",
		"\"\\ud800\\u0041\"", "\"\\ud800\\ud800\"", "\"\\ude00\\ud83d\"", "\"\\ud83dx\"",
		"\"\\u0000\"", "{\"a\":1,\"a\":2}", "\f1", "\v1",
		"\xc2\xa0\x31", /* a no-break space is not JSON whitespace */
	};
	for (size_t i = 0; i < LEN(bad); i++) {
		size_t n = strlen(bad[i]);
		struct json_error err = {99, NULL};
		int rc = parse_n(bad[i], n, NULL, &err);
		if (rc != ERR_INVAL)
			fprintf(stderr, "not refused as ERR_INVAL (%d): %s\n", rc, bad[i]);
		CHECK(rc == ERR_INVAL);
		CHECK(err.message != NULL && err.offset <= n);
	}

	/* embedded NUL bytes: the length is the truth, not the C string */
	CHECK(parse_n("[1]\0", 4, NULL, NULL) == ERR_INVAL);
	CHECK(parse_n("\"a\0b\"", 5, NULL, NULL) == ERR_INVAL);
	CHECK(parse_n("[1]\0", 3, NULL, NULL) == 0);
	/* input that ends inside a token, without a terminating NUL to lean on */
	static const char cut[] = {'[', '1', '2'};
	CHECK(parse_n(cut, sizeof cut, NULL, NULL) == ERR_INVAL);
	CHECK(parse_n("truex", 3, NULL, NULL) == ERR_INVAL);
	CHECK(parse_n("-1.5e", 5, NULL, NULL) == ERR_INVAL);
	CHECK(parse_n(NULL, 0, NULL, NULL) == ERR_INVAL);

	/* messages and offsets */
	static const struct {
		const char *in;
		size_t offset;
		const char *message;
	} where[] = {
		{"", 0, "empty input"},
		{"[1,2,x]", 5, "expected a value"},
		{"[1,]", 3, "expected a value"},
		{"{\"a\":1,}", 7, "expected a string key"},
		{"[1 2]", 3, "expected ',' or ']'"},
		{"{\"a\":1 2}", 7, "expected ',' or '}'"},
		{"[1] x", 4, "unexpected data after the value"},
		{"[1,", 3, "unexpected end of input"},
		{"01", 0, "leading zeros are not allowed"},
		{"[1.]", 3, "expected a digit after '.'"},
		{"1e+x", 3, "expected a digit in the exponent"},
		{"[1e999]", 1, "number out of range"},
		{"\xef\xbb\xbf{}", 0, "byte order mark not allowed"},
		{"[tru]", 1, "invalid literal"},
		{"[\"ab", 1, "unterminated string"},
		{"\"ab\x1f\"", 3, "control character in string"},
		{"\"a\\qb\"", 2, "invalid escape"},
		{"\"\\u00G0\"", 1, "invalid \\u escape"},
		{"\"x\\ud83d\\u0041\"", 2, "unpaired surrogate"},
		{"\"\\u0000\"", 1, "NUL character not allowed"},
		{"\"ok\xc3\x28\"", 3, "invalid UTF-8"},
		{"[{},{\"a\":1,\"b\":2,\"a\":3}]", 4, "duplicate key"},
	};
	for (size_t i = 0; i < LEN(where); i++) {
		struct json_error err = {0, NULL};
		CHECK(parse_n(where[i].in, strlen(where[i].in), NULL, &err) == ERR_INVAL);
		CHECK_STR(err.message, where[i].message);
		if (err.offset != where[i].offset)
			fprintf(stderr, "offset %zu, want %zu: %s\n", err.offset, where[i].offset,
			        where[i].in);
		CHECK(err.offset == where[i].offset);
	}
}

static void test_utf8(void)
{
	static const struct {
		const char *s;
		size_t n;
	} bad[] = {
		{"\x80", 1},                 /* stray continuation bytes */
		{"\xbf", 1},
		{"a\x80\x80", 3},
		{"\xc0\xaf", 2},             /* overlong '/' */
		{"\xc0\x80", 2},             /* overlong NUL */
		{"\xc1\xbf", 2},
		{"\xe0\x80\xaf", 3},         /* overlong 3-byte */
		{"\xe0\x9f\xbf", 3},
		{"\xf0\x80\x80\xaf", 4},     /* overlong 4-byte */
		{"\xf0\x8f\xbf\xbf", 4},
		{"\xed\xa0\x80", 3},         /* U+D800 encoded */
		{"\xed\xbf\xbf", 3},         /* U+DFFF encoded */
		{"\xed\xa0\xbd\xed\xb8\x80", 6}, /* CESU-8 surrogate pair */
		{"\xf4\x90\x80\x80", 4},     /* U+110000 */
		{"\xf5\x80\x80\x80", 4},
		{"\xf8\x88\x80\x80\x80", 5},
		{"\xfe", 1},
		{"\xff", 1},
		{"\xc3", 1},                 /* truncated */
		{"\xe2\x82", 2},
		{"\xf0\x9f\x98", 3},
		{"\xc3\x28", 2},             /* second byte not a continuation */
		{"\xe2\x28\xa1", 3},
		{"\xf0\x9f\x28\x80", 4},
	};
	struct buf b = BUF_INIT(64);
	for (size_t i = 0; i < LEN(bad); i++) {
		CHECK(utf8_check(bad[i].s, bad[i].n) == ERR_INVAL);
		/* inside a string value and inside a key */
		buf_reset(&b);
		CHECK(buf_addc(&b, '"') == 0 && buf_add(&b, bad[i].s, bad[i].n) == 0 &&
		      buf_addc(&b, '"') == 0);
		struct json_error err = {0, NULL};
		CHECK(parse_n(b.ptr, b.len, NULL, &err) == ERR_INVAL);
		CHECK_STR(err.message, "invalid UTF-8");
		buf_reset(&b);
		CHECK(buf_adds(&b, "{\"") == 0 && buf_add(&b, bad[i].s, bad[i].n) == 0 &&
		      buf_adds(&b, "\":1}") == 0);
		CHECK(parse_n(b.ptr, b.len, NULL, NULL) == ERR_INVAL);
	}
	/* the edges of every range are accepted */
	static const char *const good[] = {
		"\x7f", "\xc2\x80", "\xdf\xbf", "\xe0\xa0\x80", "\xed\x9f\xbf", "\xee\x80\x80",
		"\xef\xbf\xbf", "\xf0\x90\x80\x80", "\xf4\x8f\xbf\xbf",
		"h\xc3\xa9llo \xf0\x9f\x98\x80",
	};
	for (size_t i = 0; i < LEN(good); i++) {
		CHECK(utf8_check(good[i], strlen(good[i])) == 0);
		buf_reset(&b);
		CHECK(buf_addc(&b, '"') == 0 && buf_adds(&b, good[i]) == 0 &&
		      buf_addc(&b, '"') == 0);
		CHECK(parse_n(b.ptr, b.len, NULL, NULL) == 0);
	}
	CHECK(utf8_check("", 0) == 0);
	CHECK(utf8_check("a\0b", 3) == 0); /* NUL is valid UTF-8; the parser refuses it itself */
	buf_free(&b);
}

/* Parses one string value and compares its unescaped bytes. */
static void check_string(const char *in, const char *want, size_t want_len)
{
	struct arena a;
	arena_init(&a, 1 << 20, NULL, 0);
	struct json *j;
	struct json_error e;
	CHECK(json_parse(&a, in, strlen(in), NULL, &j, &e) == 0);
	CHECK(j && j->type == JSON_STRING && j->len == want_len &&
	      memcmp(j->str, want, want_len) == 0 && j->str[want_len] == '\0');
	arena_free(&a);
}

static void test_surrogates(void)
{
	check_string("\"\\ud83d\\ude00\"", "\xf0\x9f\x98\x80", 4);
	check_string("\"\\uD834\\uDD1E\"", "\xf0\x9d\x84\x9e", 4);
	check_string("\"\\ud800\\udc00\"", "\xf0\x90\x80\x80", 4);
	check_string("\"\\udbff\\udfff\"", "\xf4\x8f\xbf\xbf", 4);
	check_string("\"a\\ud83d\\ude00b\"", "a\xf0\x9f\x98\x80" "b", 6);
	check_string("\"\\u0001\\u007f\\u0080\\u07ff\\u0800\\uffff\"",
	             "\x01\x7f\xc2\x80\xdf\xbf\xe0\xa0\x80\xef\xbf\xbf", 12);
	check_string("\"\\ud7ff\\ue000\"", "\xed\x9f\xbf\xee\x80\x80", 6);
	static const char *const bad[] = {
		"\"\\ud83d\"", "\"\\ude00\"", "\"\\ude00\\ud83d\"", "\"\\ud83d\\ud83d\"",
		"\"\\ud83d\\u0041\"", "\"\\ud83dx\"", "\"\\ud83d\\ude0\"", "\"\\ud83d\\n\"",
		"\"\\ud83d\\\\ude00\"",
	};
	for (size_t i = 0; i < LEN(bad); i++)
		CHECK(parse(bad[i]) == ERR_INVAL);
}

static void test_numbers(void)
{
	static const struct {
		const char *in;
		bool is_int;
		int64_t integer;
		double number;
	} cases[] = {
		{"0", true, 0, 0.0},
		{"-0", true, 0, -0.0},
		{"7", true, 7, 7.0},
		{"-42", true, -42, -42.0},
		{"9223372036854775807", true, INT64_MAX, 9223372036854775807.0},
		{"-9223372036854775808", true, INT64_MIN, -9223372036854775808.0},
		{"9223372036854775808", false, 0, 9223372036854775808.0},
		{"-9223372036854775809", false, 0, -9223372036854775809.0},
		{"18446744073709551616", false, 0, 18446744073709551616.0},
		{"123456789012345678901234567890", false, 0, 123456789012345678901234567890.0},
		{"1.0", false, 0, 1.0},
		{"0.5", false, 0, 0.5},
		{"-0.0", false, 0, -0.0},
		{"1e2", false, 0, 100.0},
		{"1E-2", false, 0, 0.01},
		{"2.5e+3", false, 0, 2500.0},
		{"0e0", false, 0, 0.0},
		{"1e-400", false, 0, 0.0}, /* underflow is not an error */
		{"1.7976931348623157e308", false, 0, 1.7976931348623157e308},
		{"4.9e-324", false, 0, 4.9e-324},
	};
	for (size_t i = 0; i < LEN(cases); i++) {
		struct arena a;
		arena_init(&a, 1 << 20, NULL, 0);
		struct json *j;
		struct json_error e;
		CHECK(json_parse(&a, cases[i].in, strlen(cases[i].in), NULL, &j, &e) == 0);
		bool ok = j && j->type == JSON_NUMBER && j->is_int == cases[i].is_int &&
		          (!j->is_int || j->integer == cases[i].integer) &&
		          j->number == cases[i].number &&
		          signbit(j->number) == signbit(cases[i].number);
		if (!ok)
			fprintf(stderr, "number mismatch: %s\n", cases[i].in);
		CHECK(ok);
		arena_free(&a);
	}
	static const char *const range[] = {"1e309", "-1e309", "1.8e308", "1e99999999999999999999"};
	for (size_t i = 0; i < LEN(range); i++) {
		struct json_error err = {0, NULL};
		CHECK(parse_n(range[i], strlen(range[i]), NULL, &err) == ERR_INVAL);
		CHECK_STR(err.message, "number out of range");
	}
	/* a very long number is copied, not read past the end of the input */
	size_t n = 100000;
	char *digits = malloc(n);
	memset(digits, '9', n);
	CHECK(parse_n(digits, n, NULL, NULL) == ERR_INVAL); /* 1e100000: out of range */
	digits[0] = '0';
	digits[1] = '.';
	CHECK(parse_n(digits, n, NULL, NULL) == 0);
	free(digits);
}

static void test_tree(void)
{
	struct arena a;
	arena_init(&a, 1 << 20, NULL, 0);
	struct json *j;
	struct json_error e;
	const char *doc = "{\"s\":\"x\\ny\",\"n\":3,\"b\":true,\"z\":null,"
	                  "\"arr\":[1,[2],{}],\"\":0}";
	CHECK(json_parse(&a, doc, strlen(doc), NULL, &j, &e) == 0);
	CHECK(j->type == JSON_OBJECT && j->len == 6 && j->key == NULL);
	const struct json *s = json_get(j, "s");
	CHECK(s && s->type == JSON_STRING && s->len == 3);
	CHECK_STR(s->str, "x\ny");
	CHECK(s->key_len == 1);
	CHECK_STR(s->key, "s");
	CHECK(json_get(j, "n")->is_int && json_get(j, "n")->integer == 3);
	CHECK(json_get(j, "b")->type == JSON_BOOL && json_get(j, "b")->boolean);
	CHECK(json_get(j, "z")->type == JSON_NULL);
	const struct json *arr = json_get(j, "arr");
	CHECK(arr && arr->type == JSON_ARRAY && arr->len == 3);
	CHECK(arr->child->integer == 1 && arr->child->key == NULL);
	CHECK(arr->child->next->type == JSON_ARRAY && arr->child->next->len == 1);
	CHECK(arr->child->next->next->type == JSON_OBJECT && arr->child->next->next->len == 0);
	CHECK(arr->child->next->next->next == NULL);
	CHECK(json_get(j, "") != NULL && json_get(j, "")->integer == 0);
	CHECK(json_get(j, "missing") == NULL);
	CHECK(json_get(j, "S") == NULL);
	CHECK(json_get(arr, "s") == NULL);
	CHECK(json_get(NULL, "s") == NULL);
	arena_free(&a);
}

static void test_limits(void)
{
	/* a million '[' hits the depth limit without recursing a million times */
	size_t n = 1000000;
	char *deep = malloc(2 * n);
	memset(deep, '[', n);
	CHECK(parse_n(deep, n, NULL, NULL) == ERR_TOOBIG);
	for (size_t i = 0; i < n; i += 5)
		memcpy(deep + i, "{\"a\":", 5);
	CHECK(parse_n(deep, n, NULL, NULL) == ERR_TOOBIG);

	/* the default depth is 32: exactly 32 levels parse, 33 do not */
	memset(deep, '[', 33);
	memset(deep + 33, ']', 33);
	CHECK(parse_n(deep + 1, 64, NULL, NULL) == 0);
	CHECK(parse_n(deep, 66, NULL, NULL) == ERR_TOOBIG);

	/* a huge max_depth is safe: nesting lives in the arena, not on the C stack */
	size_t levels = 300000;
	memset(deep, '[', levels);
	memset(deep + levels, ']', levels);
	struct json_limits wide = {n, n};
	CHECK(parse_n(deep, 2 * levels, &wide, NULL) == 0);
	free(deep);

	struct arena a;
	arena_init(&a, 1 << 20, NULL, 0);
	struct json *j;
	struct json_error e;
	struct json_limits lim = {3, 5};
	CHECK(json_parse(&a, "[[[1]]]", 7, &lim, &j, &e) == 0);
	CHECK(json_parse(&a, "[[[[1]]]]", 9, &lim, &j, &e) == ERR_TOOBIG);
	CHECK_STR(e.message, "nested too deeply");
	CHECK(e.offset == 3);
	CHECK(json_parse(&a, "{\"a\":{\"b\":{\"c\":{}}}}", 20, &lim, &j, &e) == ERR_TOOBIG);
	CHECK(json_parse(&a, "[1,2,3,4]", 9, &lim, &j, &e) == 0);
	CHECK(json_parse(&a, "[1,2,3,4,5]", 11, &lim, &j, &e) == ERR_TOOBIG);
	CHECK_STR(e.message, "too many values");
	CHECK(json_parse(&a, "{\"a\":1,\"b\":2,\"c\":3,\"d\":4}", 25, &lim, &j, &e) == 0);
	CHECK(json_parse(&a, "{\"a\":1,\"b\":2,\"c\":3,\"d\":4,\"e\":5}", 31, &lim, &j, &e) ==
	      ERR_TOOBIG);
	arena_free(&a);

	/* the default node limit is 100000 values */
	struct buf b = BUF_INIT(1 << 20);
	int rc = buf_addc(&b, '[');
	for (int i = 0; i < 99999 && !rc; i++)
		rc = buf_adds(&b, i ? ",0" : "0");
	CHECK(rc == 0 && buf_addc(&b, ']') == 0);
	CHECK(parse_n(b.ptr, b.len, NULL, NULL) == 0);
	b.len--;
	CHECK(buf_adds(&b, ",0]") == 0);
	CHECK(parse_n(b.ptr, b.len, NULL, NULL) == ERR_TOOBIG);
	buf_free(&b);

	/* a small arena runs out: ERR_NOMEM, not a crash */
	for (size_t budget = 0; budget <= 2048; budget += 64) {
		arena_init(&a, budget ? budget : 1, NULL, 0);
		const char *doc = "{\"k\":[1,2,3,\"four\",{\"five\":5}],\"x\":\"yyyyyyyy\"}";
		rc = json_parse(&a, doc, strlen(doc), NULL, &j, &e);
		CHECK(rc == 0 || rc == ERR_NOMEM);
		if (budget == 64)
			CHECK(rc == ERR_NOMEM && strcmp(e.message, "out of memory") == 0);
		if (budget == 2048)
			CHECK(rc == 0);
		arena_free(&a);
	}

	/* a 1 MiB string, plain and escaped */
	size_t sn = 1 << 20;
	char *str = malloc(6 * sn + 2);
	str[0] = '"';
	memset(str + 1, 'x', sn);
	str[sn + 1] = '"';
	arena_init(&a, 64u << 20, NULL, 0);
	CHECK(json_parse(&a, str, sn + 2, NULL, &j, &e) == 0);
	CHECK(j->type == JSON_STRING && j->len == sn);
	CHECK(j->str[sn - 1] == 'x' && j->str[sn] == '\0');
	for (size_t i = 0; i < sn; i++)
		memcpy(str + 1 + 6 * i, "\\u00e9", 6);
	str[6 * sn + 1] = '"';
	CHECK(json_parse(&a, str, 6 * sn + 2, NULL, &j, &e) == 0);
	CHECK(j->len == 2 * sn && memcmp(j->str + 2 * sn - 2, "\xc3\xa9", 2) == 0);
	arena_free(&a);
	free(str);
}

/* An object with n distinct members "k0".."k<n-1>", plus extra before the closing brace. */
static void build_object(struct buf *b, int n, const char *extra)
{
	buf_reset(b);
	int rc = buf_addc(b, '{');
	for (int i = 0; i < n && !rc; i++)
		rc = buf_printf(b, "%s\"k%d\":%d", i ? "," : "", i, i);
	if (!rc)
		rc = buf_adds(b, extra);
	if (!rc)
		rc = buf_addc(b, '}');
	CHECK(rc == 0);
}

static void test_duplicates(void)
{
	CHECK(parse("{\"a\":1,\"a\":1}") == ERR_INVAL);
	CHECK(parse("{\"a\":1,\"\\u0061\":2}") == ERR_INVAL); /* same key once unescaped */
	CHECK(parse("{\"a\":1,\"a \":2,\"A\":3,\"\":4}") == 0);
	CHECK(parse("{\"a\":{\"a\":{\"a\":1}}}") == 0); /* same key, different objects */
	CHECK(parse("[{\"a\":1},{\"a\":1}]") == 0);
	CHECK(parse("{\"a\":{\"b\":1,\"b\":2}}") == ERR_INVAL);

	/* around the switch from pairwise checking to sorting */
	struct buf b = BUF_INIT(64u << 20);
	for (int n = 14; n <= 40; n++) {
		build_object(&b, n, "");
		CHECK(parse_n(b.ptr, b.len, NULL, NULL) == 0);
		build_object(&b, n, ",\"k0\":0");
		CHECK(parse_n(b.ptr, b.len, NULL, NULL) == ERR_INVAL);
		char extra[32];
		snprintf(extra, sizeof extra, ",\"k%d\":0", n / 2);
		build_object(&b, n, extra);
		CHECK(parse_n(b.ptr, b.len, NULL, NULL) == ERR_INVAL);
	}

	/* 50,000 members: unique keys parse, one duplicate is found, in n log n time */
	clock_t t0 = clock();
	build_object(&b, 50000, "");
	struct arena a;
	arena_init(&a, 64u << 20, NULL, 0);
	struct json *j;
	struct json_error e;
	CHECK(json_parse(&a, b.ptr, b.len, NULL, &j, &e) == 0);
	CHECK(j && j->len == 50000);
	const struct json *last = json_get(j, "k49999");
	CHECK(last && last->integer == 49999);
	arena_free(&a);
	build_object(&b, 50000, ",\"k17\":1");
	CHECK(parse_n(b.ptr, b.len, NULL, NULL) == ERR_INVAL);
	build_object(&b, 50000, ",\"k49999\":1");
	CHECK(parse_n(b.ptr, b.len, NULL, NULL) == ERR_INVAL);

	/* long keys sharing a long prefix: the comparisons stay cheap enough */
	buf_reset(&b);
	int rc = buf_addc(&b, '{');
	for (int i = 0; i < 20000 && !rc; i++)
		rc = buf_printf(&b, "%s\"%0200d\":0", i ? "," : "", i);
	CHECK(rc == 0 && buf_addc(&b, '}') == 0);
	CHECK(parse_n(b.ptr, b.len, NULL, NULL) == 0);
	double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
	CHECK(secs < 5.0); /* quadratic would take minutes; a sanity bound, not a benchmark */
	buf_free(&b);
}

/* json_quote of n bytes, compared with want. */
static void check_quote(const char *s, size_t n, const char *want)
{
	struct buf b = BUF_INIT(1024);
	CHECK(json_quote(&b, s, n) == 0);
	CHECK_STR(buf_str(&b), want);
	/* whatever went in, valid JSON came out (the reader refuses \u0000 on purpose) */
	if (!memchr(s, '\0', n))
		CHECK(parse_n(b.ptr, b.len, NULL, NULL) == 0);
	buf_free(&b);
}

static void test_quote(void)
{
	check_quote("", 0, "\"\"");
	check_quote("plain text", 10, "\"plain text\"");
	check_quote("a\"b\\c/d", 7, "\"a\\\"b\\\\c/d\"");
	check_quote("\n\r\t\b\f", 5, "\"\\n\\r\\t\\b\\f\"");
	check_quote("\x01\x1f\x7f", 3, "\"\\u0001\\u001f\x7f\"");
	check_quote("a\0b", 3, "\"a\\u0000b\"");
	check_quote("\xe2\x80\xa8|\xe2\x80\xa9", 7, "\"\\u2028|\\u2029\"");
	check_quote("\xe2\x80\xaa", 3, "\"\xe2\x80\xaa\""); /* U+202A is left alone */
	check_quote("caf\xc3\xa9 \xf0\x9f\x98\x80", 10, "\"caf\xc3\xa9 \xf0\x9f\x98\x80\"");
	/* each byte that is not UTF-8 becomes one U+FFFD; what follows is kept */
	check_quote("a\xff" "b", 3, "\"a\xef\xbf\xbd" "b\"");
	check_quote("\x80", 1, "\"\xef\xbf\xbd\"");
	check_quote("\xc0\xaf", 2, "\"\xef\xbf\xbd\xef\xbf\xbd\"");
	check_quote("\xed\xa0\x80", 3, "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"");
	check_quote("\xf4\x90\x80\x80", 4,
	            "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"");
	check_quote("x\xc3", 2, "\"x\xef\xbf\xbd\"");
	check_quote("\xe2\x82" "a", 3, "\"\xef\xbf\xbd\xef\xbf\xbd" "a\"");

	/* a failed quote leaves the buffer as it was */
	struct buf b = BUF_INIT(8);
	CHECK(buf_adds(&b, "ab") == 0);
	CHECK(json_quote(&b, "cdefgh", 6) == ERR_TOOBIG);
	CHECK_STR(buf_str(&b), "ab");
	CHECK(json_quote(&b, "\n\n\n", 3) == ERR_TOOBIG); /* fits raw, not escaped */
	CHECK(b.len == 2);
	CHECK_STR(buf_str(&b), "ab");
	CHECK(json_quote(&b, "cd", 2) == 0);
	CHECK_STR(buf_str(&b), "ab\"cd\"");
	buf_free(&b);
}

static void test_writer(void)
{
	struct buf b = BUF_INIT(1 << 16);
	struct jw w;
	jw_init(&w, &b);
	jw_obj(&w);
	jw_kstr(&w, "a\"b", "x\n\x01\xe2\x80\xa8\xff<");
	jw_kint(&w, "n", -5);
	jw_key(&w, "arr");
	jw_arr(&w);
	jw_int(&w, INT64_MIN);
	jw_int(&w, INT64_MAX);
	jw_double(&w, 0.5);
	jw_double(&w, INFINITY);
	jw_double(&w, NAN);
	jw_str(&w, NULL);
	jw_bool(&w, true);
	jw_raw(&w, "{\"r\":1}", 7);
	jw_arr(&w);
	jw_arr_end(&w);
	jw_obj(&w);
	jw_obj_end(&w);
	jw_arr_end(&w);
	jw_knull(&w, "z");
	jw_kbool(&w, "t", false);
	jw_key(&w, "o");
	jw_obj(&w);
	jw_kstr(&w, "", "");
	jw_obj_end(&w);
	jw_obj_end(&w);
	CHECK(jw_finish(&w) == 0);
	CHECK_STR(buf_str(&b), "{\"a\\\"b\":\"x\\n\\u0001\\u2028\xef\xbf\xbd<\",\"n\":-5,\"arr\":"
	                       "[-9223372036854775808,9223372036854775807,0.5,null,null,null,true,"
	                       "{\"r\":1},[],{}],\"z\":null,\"t\":false,\"o\":{\"\":\"\"}}");
	CHECK(parse_n(b.ptr, b.len, NULL, NULL) == 0);

	/* a single scalar is a document too; the writer appends to what the buf holds */
	buf_reset(&b);
	CHECK(buf_adds(&b, "x=") == 0);
	jw_init(&w, &b);
	jw_str(&w, "v");
	CHECK(jw_finish(&w) == 0);
	CHECK_STR(buf_str(&b), "x=\"v\"");

	/* doubles: shortest text that reads back exactly; non-finite is null */
	static const struct {
		double v;
		const char *want;
	} dbl[] = {
		{0.1, "0.1"}, {0.3, "0.3"}, {1.0, "1"}, {-0.0, "-0"}, {1e300, "1e+300"},
		{123456789.125, "123456789.125"}, {5e-324, "5e-324"},
		{1.0 / 3.0, "0.3333333333333333"}, {1e16, "10000000000000000"}, {1e17, "1e+17"},
		{-2.5e-7, "-2.5e-07"}, {1.7976931348623157e308, "1.7976931348623157e+308"},
		{-INFINITY, "null"}, {NAN, "null"},
	};
	for (size_t i = 0; i < LEN(dbl); i++) {
		buf_reset(&b);
		jw_init(&w, &b);
		jw_double(&w, dbl[i].v);
		CHECK(jw_finish(&w) == 0);
		CHECK_STR(buf_str(&b), dbl[i].want);
		if (isfinite(dbl[i].v))
			CHECK(strtod(buf_str(&b), NULL) == dbl[i].v);
	}

	/* exactly JSON_WRITER_DEPTH levels are fine, one more is ERR_TOOBIG */
	buf_reset(&b);
	jw_init(&w, &b);
	for (int i = 0; i < JSON_WRITER_DEPTH; i++)
		jw_arr(&w);
	for (int i = 0; i < JSON_WRITER_DEPTH; i++)
		jw_arr_end(&w);
	CHECK(jw_finish(&w) == 0 && b.len == 2 * JSON_WRITER_DEPTH);
	buf_reset(&b);
	jw_init(&w, &b);
	for (int i = 0; i < JSON_WRITER_DEPTH + 1; i++)
		jw_arr(&w);
	CHECK(jw_finish(&w) == ERR_TOOBIG);
	CHECK(b.len == JSON_WRITER_DEPTH);
	buf_free(&b);
}

/* Each misuse is ERR_INVAL, sticks (nothing more is written), and never yields bad JSON. */
static void test_writer_misuse(void)
{
	enum { KEY_IN_ARRAY, KEY_AT_TOP, VALUE_WITHOUT_KEY, TWO_TOP_VALUES, WRONG_CLOSE_OBJ,
	       WRONG_CLOSE_ARR, CLOSE_AT_TOP, KEY_TWICE, CLOSE_AFTER_KEY, NULL_KEY, LEFT_OPEN,
	       OPEN_AFTER_KEY, CASES };
	struct buf b = BUF_INIT(1024);
	for (int c = 0; c < CASES; c++) {
		struct jw w;
		buf_reset(&b);
		jw_init(&w, &b);
		switch (c) {
		case KEY_IN_ARRAY:
			jw_arr(&w);
			jw_key(&w, "k");
			break;
		case KEY_AT_TOP: jw_key(&w, "k"); break;
		case VALUE_WITHOUT_KEY:
			jw_obj(&w);
			jw_int(&w, 1);
			break;
		case TWO_TOP_VALUES:
			jw_int(&w, 1);
			jw_int(&w, 2);
			break;
		case WRONG_CLOSE_OBJ:
			jw_obj(&w);
			jw_arr_end(&w);
			break;
		case WRONG_CLOSE_ARR:
			jw_arr(&w);
			jw_obj_end(&w);
			break;
		case CLOSE_AT_TOP: jw_obj_end(&w); break;
		case KEY_TWICE:
			jw_obj(&w);
			jw_key(&w, "a");
			jw_key(&w, "b");
			break;
		case CLOSE_AFTER_KEY:
			jw_obj(&w);
			jw_key(&w, "a");
			jw_obj_end(&w);
			break;
		case NULL_KEY:
			jw_obj(&w);
			jw_key(&w, NULL);
			break;
		case LEFT_OPEN:
			jw_obj(&w);
			jw_key(&w, "a");
			jw_arr(&w);
			jw_int(&w, 1);
			jw_arr_end(&w);
			break;
		case OPEN_AFTER_KEY:
			jw_obj(&w);
			jw_key(&w, "a");
			jw_obj(&w);
			jw_obj_end(&w);
			jw_obj(&w); /* a second value for the same key */
			break;
		}
		if (jw_finish(&w) != ERR_INVAL)
			fprintf(stderr, "writer misuse %d not reported\n", c);
		CHECK(jw_finish(&w) == ERR_INVAL);
		size_t len = b.len;
		/* whatever comes next does nothing, even calls that would close things properly */
		jw_int(&w, 1);
		jw_arr_end(&w);
		jw_obj_end(&w);
		jw_obj_end(&w);
		CHECK(b.len == len);
		CHECK(jw_finish(&w) == ERR_INVAL);
	}
	/* the valid prefix a misuse leaves never contains the misused part */
	struct jw w;
	buf_reset(&b);
	jw_init(&w, &b);
	jw_arr(&w);
	jw_key(&w, "k");
	jw_int(&w, 1);
	CHECK_STR(buf_str(&b), "[");
	buf_free(&b);
}

static void test_writer_limit(void)
{
	/* the buf's limit sticks as ERR_TOOBIG, and nothing more is written */
	struct buf small = BUF_INIT(16);
	struct jw w;
	jw_init(&w, &small);
	jw_arr(&w);
	jw_str(&w, "short");
	jw_str(&w, "a string longer than sixteen bytes");
	CHECK(w.err == ERR_TOOBIG);
	size_t len = small.len;
	CHECK_STR(buf_str(&small), "[\"short\","); /* the comma went in, the string did not */
	jw_int(&w, 1);
	jw_arr_end(&w);
	CHECK(small.len == len);
	CHECK(jw_finish(&w) == ERR_TOOBIG);
	buf_free(&small);

	/* every cut point of a document fails cleanly within the limit */
	for (size_t max = 0; max < 40; max++) {
		struct buf b = BUF_INIT(max);
		jw_init(&w, &b);
		jw_obj(&w);
		jw_kstr(&w, "name", "x\ty");
		jw_key(&w, "list");
		jw_arr(&w);
		jw_int(&w, 12345);
		jw_double(&w, 0.25);
		jw_arr_end(&w);
		jw_obj_end(&w);
		int rc = jw_finish(&w);
		CHECK(b.len <= max);
		CHECK(rc == (max >= 35 ? 0 : ERR_TOOBIG));
		if (rc == 0)
			CHECK_STR(buf_str(&b), "{\"name\":\"x\\ty\",\"list\":[12345,0.25]}");
		buf_free(&b);
	}
}

int main(void)
{
	test_round_trip();
	test_malformed();
	test_utf8();
	test_surrogates();
	test_numbers();
	test_tree();
	test_limits();
	test_duplicates();
	test_quote();
	test_writer();
	test_writer_misuse();
	test_writer_limit();
	return check_done("json");
}
