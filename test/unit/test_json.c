/* Unit tests for core/json.c: valid documents round-trip, every malformed or hostile input
 * is refused with the right error, the writer escapes and reports its errors. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "core/json.h"

static int parse_n(const char *s, size_t n, struct json_error *err)
{
	struct arena a;
	arena_init(&a, 256u << 20, NULL, 0);
	struct json *j;
	struct json_error e = {0, NULL};
	int rc = json_parse(&a, s, n, NULL, &j, err ? err : &e);
	arena_free(&a);
	return rc;
}

static int parse(const char *s)
{
	return parse_n(s, strlen(s), NULL);
}

static void test_valid(void)
{
	static const char *const ok[] = {
		"{}", "[]", "0", "-0", "1.5e3", "1E+2", "-1.25e-7", "true", "false", "null", "\"\"",
		" [ 1 , 2 ] \n", "{\"a\":[1,2,{\"b\":null}],\"c\":true}", "\"\\ud83d\\ude00\"",
		"\"caf\xc3\xa9\"", "\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"", "\"\xf4\x8f\xbf\xbf\"",
	};
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		int rc = parse(ok[i]);
		if (rc)
			fprintf(stderr, "valid input refused: %s\n", ok[i]);
		CHECK(rc == 0);
	}
}

static void test_malformed(void)
{
	static const char *const bad[] = {
		"", " ", "[", "]", "{", "}", "{\"a\"}", "{\"a\":}", "{\"a\":1,}", "[1,]", "[,1]", "01", "1.",
		".5", "+1", "-", "1e", "1e+", "NaN", "Infinity", "-Infinity", "'a'", "tru", "nul", "True",
		"[1]x", "[1] [2]", "\xef\xbb\xbf[]", "{1:2}", "{\"a\" 1}", "\"abc", "\"a\x01\"", "\"\\x\"",
		"\"\\u12\"", "\"\\uzzzz\"", "/* c */ 1", "[1 2]", "{\"a\":1 \"b\":2}", "0x10", "1e999",
		"-1e999", "\"\\ud800\"", "\"\\udc00\"", "\"\\ud800\\u0041\"", "\"\\u0000\"",
		"{\"a\":1,\"a\":2}",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		int rc = parse(bad[i]);
		if (rc != ERR_INVAL)
			fprintf(stderr, "malformed input not refused as ERR_INVAL (%d): %s\n", rc, bad[i]);
		CHECK(rc == ERR_INVAL);
	}
	struct json_error err = {0, NULL};
	CHECK(parse_n("[1,2,x]", 7, &err) == ERR_INVAL);
	CHECK(err.offset == 5 && err.message != NULL);
	/* embedded NUL byte in the input */
	CHECK(parse_n("[1]\0", 4, NULL) == ERR_INVAL);
	CHECK(parse_n("\"a\0b\"", 5, NULL) == ERR_INVAL);
}

static void test_utf8(void)
{
	static const char *const bad[] = {
		"\"\x80\"", "\"\xbf\"", "\"\xc0\xaf\"", "\"\xc1\xbf\"", "\"\xc3\"", "\"\xe0\x80\xaf\"",
		"\"\xed\xa0\x80\"", "\"\xed\xbf\xbf\"", "\"\xf0\x80\x80\xaf\"", "\"\xf4\x90\x80\x80\"",
		"\"\xf5\x80\x80\x80\"", "\"\xff\"", "\"\xe2\x82\"", "\"\xf0\x9f\x98\"",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		CHECK(parse(bad[i]) == ERR_INVAL);
	CHECK(utf8_check("h\xc3\xa9llo \xf0\x9f\x98\x80", 11) == 0);
	CHECK(utf8_check("\xed\xa0\x80", 3) != 0);
}

static void test_values(void)
{
	struct arena a;
	arena_init(&a, 1 << 20, NULL, 0);
	struct json *j;
	struct json_error e;
	const char *doc = "{\"s\":\"\\ud83d\\ude00x\",\"i\":9223372036854775807,\"big\":9223372036854775808,"
	                  "\"neg\":-9223372036854775808,\"f\":1.0,\"z\":-0,\"b\":false,\"n\":null,"
	                  "\"arr\":[1,[2],{}]}";
	CHECK(json_parse(&a, doc, strlen(doc), NULL, &j, &e) == 0);
	CHECK(j->type == JSON_OBJECT && j->len == 9);
	const struct json *s = json_get(j, "s");
	CHECK(s && s->type == JSON_STRING && s->len == 5 && memcmp(s->str, "\xf0\x9f\x98\x80x", 5) == 0);
	const struct json *i = json_get(j, "i");
	CHECK(i && i->is_int && i->integer == INT64_MAX);
	const struct json *big = json_get(j, "big");
	CHECK(big && big->type == JSON_NUMBER && !big->is_int && big->number > 9.2e18);
	const struct json *neg = json_get(j, "neg");
	CHECK(neg && neg->is_int && neg->integer == INT64_MIN);
	const struct json *f = json_get(j, "f");
	CHECK(f && !f->is_int && f->number == 1.0);
	const struct json *z = json_get(j, "z");
	CHECK(z && z->is_int && z->integer == 0);
	CHECK(json_get(j, "b")->type == JSON_BOOL && !json_get(j, "b")->boolean);
	CHECK(json_get(j, "n")->type == JSON_NULL);
	const struct json *arr = json_get(j, "arr");
	CHECK(arr && arr->type == JSON_ARRAY && arr->len == 3 && arr->child->integer == 1);
	CHECK(arr->child->next->type == JSON_ARRAY && arr->child->next->next->type == JSON_OBJECT);
	CHECK(json_get(j, "missing") == NULL);
	CHECK(json_get(arr, "s") == NULL);
	CHECK(json_get(NULL, "s") == NULL);
	arena_free(&a);
}

static void test_limits(void)
{
	/* a million '[' must not recurse a million times */
	size_t n = 1000000;
	char *deep = malloc(n);
	memset(deep, '[', n);
	CHECK(parse_n(deep, n, NULL) == ERR_TOOBIG);
	free(deep);
	struct arena a;
	arena_init(&a, 1 << 20, NULL, 0);
	struct json *j;
	struct json_error e;
	struct json_limits lim = {3, 5};
	CHECK(json_parse(&a, "[[[1]]]", 7, &lim, &j, &e) == 0);
	CHECK(json_parse(&a, "[[[[1]]]]", 9, &lim, &j, &e) == ERR_TOOBIG);
	CHECK(json_parse(&a, "[1,2,3,4]", 9, &lim, &j, &e) == 0);
	CHECK(json_parse(&a, "[1,2,3,4,5]", 11, &lim, &j, &e) == ERR_TOOBIG);
	arena_free(&a);
	/* a small arena runs out: ERR_NOMEM, not a crash */
	arena_init(&a, 512, NULL, 0);
	CHECK(json_parse(&a, "[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]", 40, NULL, &j, &e) == ERR_NOMEM);
	arena_free(&a);
	/* a 1 MiB string */
	size_t sn = 1 << 20;
	char *str = malloc(sn + 2);
	str[0] = '"';
	memset(str + 1, 'x', sn);
	str[sn + 1] = '"';
	CHECK(parse_n(str, sn + 2, NULL) == 0);
	free(str);
}

static void test_duplicates(void)
{
	/* 50,000 members: unique keys parse, one duplicate at the end is found, in linear time */
	struct buf b = BUF_INIT(64u << 20);
	int rc = buf_addc(&b, '{');
	for (int i = 0; i < 50000 && !rc; i++)
		rc = buf_printf(&b, "%s\"k%d\":%d", i ? "," : "", i, i);
	CHECK(rc == 0);
	size_t open_len = b.len;
	clock_t t0 = clock();
	CHECK(buf_addc(&b, '}') == 0);
	CHECK(parse_n(b.ptr, b.len, NULL) == 0);
	b.len = open_len;
	CHECK(buf_adds(&b, ",\"k17\":1}") == 0);
	CHECK(parse_n(b.ptr, b.len, NULL) == ERR_INVAL);
	double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
	CHECK(secs < 5.0); /* quadratic would take minutes; this is a sanity bound, not a benchmark */
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
	jw_double(&w, 0.5);
	jw_double(&w, 1.0 / 0.0);
	jw_null(&w);
	jw_str(&w, NULL);
	jw_bool(&w, true);
	jw_raw(&w, "{\"r\":1}", 7);
	jw_arr_end(&w);
	jw_knull(&w, "z");
	jw_kbool(&w, "t", false);
	jw_obj_end(&w);
	CHECK(jw_finish(&w) == 0);
	CHECK_STR(buf_str(&b), "{\"a\\\"b\":\"x\\n\\u0001\\u2028\xef\xbf\xbd<\",\"n\":-5,\"arr\":"
	                       "[-9223372036854775808,0.5,null,null,null,true,{\"r\":1}],\"z\":null,"
	                       "\"t\":false}");
	CHECK(parse_n(b.ptr, b.len, NULL) == 0);

	/* misuse is sticky */
	buf_reset(&b);
	jw_init(&w, &b);
	jw_arr(&w);
	jw_key(&w, "k"); /* a key inside an array */
	CHECK(jw_finish(&w) == ERR_INVAL);
	buf_reset(&b);
	jw_init(&w, &b);
	jw_obj(&w);
	CHECK(jw_finish(&w) == ERR_INVAL); /* left open */
	buf_reset(&b);
	jw_init(&w, &b);
	jw_obj_end(&w);
	CHECK(jw_finish(&w) == ERR_INVAL);
	buf_reset(&b);
	jw_init(&w, &b);
	for (int i = 0; i < JSON_WRITER_DEPTH + 5; i++)
		jw_arr(&w);
	CHECK(jw_finish(&w) == ERR_TOOBIG);
	buf_free(&b);

	/* the buffer's limit sticks as ERR_TOOBIG */
	struct buf small = BUF_INIT(16);
	jw_init(&w, &small);
	jw_arr(&w);
	jw_str(&w, "a string longer than sixteen bytes");
	jw_int(&w, 1);
	jw_arr_end(&w);
	CHECK(jw_finish(&w) == ERR_TOOBIG);
	buf_free(&small);
}

int main(void)
{
	test_valid();
	test_malformed();
	test_utf8();
	test_values();
	test_limits();
	test_duplicates();
	test_writer();
	return check_done("json");
}
