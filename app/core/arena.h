/* core/arena.h: per-request bump allocator (after h2o's mem pool). Everything allocated
 * from an arena is released at once by arena_free; nothing is freed one by one.
 * An arena has a byte budget: past it allocations return NULL, never abort. */
#ifndef CORE_ARENA_H
#define CORE_ARENA_H

#include <stddef.h>

#include "core/err.h"

struct arena_block;

struct arena {
	struct arena_block *head; /* newest block first */
	char *cur, *end;          /* free space in the newest block */
	size_t used;              /* bytes handed out so far */
	size_t max;               /* budget; 0 means no limit */
	char *first;              /* caller-provided first block (not freed), may be NULL */
};

/* first/first_len: optional storage (e.g. on the stack) used before any malloc. */
void arena_init(struct arena *a, size_t max, void *first, size_t first_len);
void arena_free(struct arena *a);
/* 16-byte aligned; NULL when the budget is spent or memory is short. */
void *arena_alloc(struct arena *a, size_t n);
void *arena_zalloc(struct arena *a, size_t n);
/* Copies n bytes and adds a NUL. */
char *arena_strndup(struct arena *a, const char *s, size_t n);
char *arena_strdup(struct arena *a, const char *s);
char *arena_printf(struct arena *a, const char *fmt, ...) PRINTF_LIKE(2, 3);

#endif
