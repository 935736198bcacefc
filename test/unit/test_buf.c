/* Unit tests for core/buf.c and core/arena.c: limits are hard, bytes stay NUL-terminated. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/arena.h"
#include "core/buf.h"

static void test_buf(void)
{
	struct buf b = BUF_INIT(10);
	CHECK_STR(buf_str(&b), "");
	CHECK(buf_adds(&b, "hello") == 0);
	CHECK(b.len == 5 && b.ptr[5] == '\0');
	CHECK(buf_printf(&b, "%d", 1234) == 0);
	CHECK_STR(buf_str(&b), "hello1234");
	CHECK(buf_adds(&b, "xy") == ERR_TOOBIG);
	CHECK_STR(buf_str(&b), "hello1234"); /* untouched on failure */
	CHECK(buf_addc(&b, '!') == 0);
	CHECK(b.len == 10);
	CHECK(buf_addc(&b, '!') == ERR_TOOBIG);
	CHECK(buf_printf(&b, "%s", "") == 0);
	size_t n;
	char *p = buf_take(&b, &n);
	CHECK(n == 10 && strcmp(p, "hello1234!") == 0);
	CHECK(b.ptr == NULL && b.len == 0);
	free(p);
	/* a huge request fails cleanly instead of overflowing */
	CHECK(buf_reserve(&b, (size_t)-1) == ERR_TOOBIG);
	buf_reset(&b);
	CHECK(buf_add(&b, "\0x", 2) == 0 && b.len == 2);
	buf_free(&b);
	/* truncating keeps the first bytes and the NUL; a length past the end changes nothing */
	CHECK(buf_adds(&b, "keep|drop") == 0);
	buf_truncate(&b, 4);
	CHECK(b.len == 4 && strcmp(buf_str(&b), "keep") == 0);
	buf_truncate(&b, 99);
	CHECK(b.len == 4 && strcmp(buf_str(&b), "keep") == 0);
	CHECK(buf_adds(&b, "!") == 0 && strcmp(buf_str(&b), "keep!") == 0);
	buf_free(&b);
	p = buf_take(&b, &n);
	CHECK(p && n == 0 && p[0] == '\0');
	free(p);
}

static void test_arena(void)
{
	char first[64];
	struct arena a;
	arena_init(&a, 100000, first, sizeof first);
	char *s = arena_strdup(&a, "abc");
	CHECK_STR(s, "abc");
	CHECK(s >= first && s < first + sizeof first); /* came from the first block */
	void *big = arena_alloc(&a, 20000);
	CHECK(big != NULL && ((unsigned long)big % 16) == 0);
	memset(big, 1, 20000);
	CHECK(arena_alloc(&a, 90000) == NULL); /* over budget */
	char *f = arena_printf(&a, "%s-%d", "x", 42);
	CHECK_STR(f, "x-42");
	for (int i = 0; i < 1000; i++) {
		int *z = arena_zalloc(&a, 24);
		CHECK(z && z[0] == 0 && ((unsigned long)z % 16) == 0);
		if (!z)
			break;
	}
	arena_free(&a);
	CHECK(a.used == 0);
}

int main(void)
{
	test_buf();
	test_arena();
	return check_done("buf");
}
