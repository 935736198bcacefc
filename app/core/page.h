/* core/page.h: one page of a list, shared by http/ (which reads ?limit and ?cursor and writes
 * {"items","next_cursor"}) and the store (which reads the rows), so neither includes the other.
 * Keyset paging: the cursor is opaque to clients (the last item's sort key). */
#ifndef CORE_PAGE_H
#define CORE_PAGE_H

#include <stddef.h>

struct page {
	int limit;          /* 1..200 */
	const char *cursor; /* NULL: the first page */
};

/* What a store function answers for a page: items is an array of n structs of the domain's
 * type (in the request's arena); next_cursor is NULL on the last page. */
struct page_out {
	void *items;
	size_t n;
	const char *next_cursor;
};

#endif
