/* core/arena.c: bump allocator for one request. Blocks come from malloc (after an optional
 * caller-provided first block) and are all freed by arena_free; never frees one object. */
#include "core/arena.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ALIGN 16
#define BLOCK_MIN 8192

struct arena_block {
	struct arena_block *next;
	size_t size;
	_Alignas(ALIGN) char data[];
};

static char *align_up(char *p)
{
	uintptr_t u = (uintptr_t)p;
	return (char *)((u + (ALIGN - 1)) & ~(uintptr_t)(ALIGN - 1));
}

void arena_init(struct arena *a, size_t max, void *first, size_t first_len)
{
	a->head = NULL;
	a->used = 0;
	a->max = max;
	a->first = first;
	a->cur = first;
	a->end = first ? (char *)first + first_len : NULL;
}

void arena_free(struct arena *a)
{
	struct arena_block *b = a->head;
	while (b) {
		struct arena_block *next = b->next;
		free(b);
		b = next;
	}
	a->head = NULL;
	a->cur = a->end = NULL;
	a->used = 0;
}

void *arena_alloc(struct arena *a, size_t n)
{
	if (n == 0)
		n = 1;
	if (n > SIZE_MAX / 2 || (a->max && (n > a->max || a->used > a->max - n)))
		return NULL;
	char *p = a->cur ? align_up(a->cur) : NULL;
	if (!p || p > a->end || (size_t)(a->end - p) < n) {
		size_t size = n + ALIGN > BLOCK_MIN ? n + ALIGN : BLOCK_MIN;
		struct arena_block *b = malloc(sizeof(*b) + size);
		if (!b)
			return NULL;
		b->next = a->head;
		b->size = size;
		a->head = b;
		a->end = b->data + size;
		p = b->data;
	}
	a->cur = p + n;
	a->used += n;
	return p;
}

void *arena_zalloc(struct arena *a, size_t n)
{
	void *p = arena_alloc(a, n);
	if (p)
		memset(p, 0, n);
	return p;
}

char *arena_strndup(struct arena *a, const char *s, size_t n)
{
	if (n == SIZE_MAX)
		return NULL;
	char *p = arena_alloc(a, n + 1);
	if (!p)
		return NULL;
	if (n)
		memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *arena_strdup(struct arena *a, const char *s)
{
	return arena_strndup(a, s, strlen(s));
}

char *arena_printf(struct arena *a, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return NULL;
	char *p = arena_alloc(a, (size_t)n + 1);
	if (!p)
		return NULL;
	va_start(ap, fmt);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return p;
}
