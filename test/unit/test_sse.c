/* Unit tests for llm/sse.c: events split at every possible byte, the three line endings,
 * multi-line data, comments and other fields ignored, "data" without a colon, a callback
 * that stops the reader, and the size bound. */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "llm/llm.h"

struct seen {
	char all[4096]; /* events joined by | */
	int n;
	int stop_at; /* return 7 from this event on (0: never) */
};

static int collect(void *ctx, const char *data, size_t n)
{
	struct seen *s = ctx;
	size_t len = strlen(s->all);
	snprintf(s->all + len, sizeof s->all - len, "%s%.*s", s->n ? "|" : "", (int)n, data);
	s->n++;
	return s->stop_at && s->n >= s->stop_at ? 7 : 0;
}

/* Feeds text cut at position cut (and, for cut 0, byte by byte). */
static void feed(const char *text, size_t cut, struct seen *out)
{
	struct sse s;
	memset(out, 0, sizeof *out);
	sse_init(&s, collect, out);
	size_t n = strlen(text);
	if (cut == 0) {
		for (size_t i = 0; i < n; i++)
			CHECK(sse_feed(&s, text + i, 1) == 0);
	} else {
		CHECK(sse_feed(&s, text, cut) == 0);
		CHECK(sse_feed(&s, text + cut, n - cut) == 0);
	}
	sse_free(&s);
}

int main(void)
{
	static const char *const streams[] = {
		"data: {\"a\":1}\n\ndata: two\n\n",
		"data: {\"a\":1}\r\n\r\ndata: two\r\n\r\n",
		"data: {\"a\":1}\r\rdata: two\r\r",
		": comment\nevent: delta\nid: 5\nretry: 10\ndata: {\"a\":1}\n\ndata:two\n\n",
	};
	for (size_t k = 0; k < sizeof streams / sizeof streams[0]; k++) {
		for (size_t cut = 0; cut < strlen(streams[k]); cut++) {
			struct seen s;
			feed(streams[k], cut, &s);
			CHECK(s.n == 2);
			CHECK_STR(s.all, "{\"a\":1}|two");
		}
	}
	struct seen s;
	feed("data: line one\ndata: line two\n\n", 7, &s);
	CHECK_STR(s.all, "line one\nline two");
	feed("data\n\ndata:\n\n", 3, &s); /* empty values are still events */
	CHECK(s.n == 2);
	feed("data: no blank line at the end\n", 5, &s);
	CHECK(s.n == 0);
	feed("event: ping\n\n: only a comment\n\n", 4, &s); /* no data: no event */
	CHECK(s.n == 0);
	feed("dataX: not data\n\n", 2, &s);
	CHECK(s.n == 0);

	/* a callback's non-zero answer stops the reader and comes back */
	struct sse r;
	memset(&s, 0, sizeof s);
	s.stop_at = 1;
	sse_init(&r, collect, &s);
	CHECK(sse_feed(&r, "data: a\n\ndata: b\n\n", 18) == 7);
	CHECK(s.n == 1);
	sse_free(&r);

	/* a line that never ends is refused once it passes 1 MiB */
	static char big[64 * 1024];
	memset(big, 'x', sizeof big);
	memset(&s, 0, sizeof s);
	sse_init(&r, collect, &s);
	CHECK(sse_feed(&r, "data: ", 6) == 0);
	int rc = 0;
	for (int i = 0; i < 20 && rc == 0; i++)
		rc = sse_feed(&r, big, sizeof big);
	CHECK(rc == ERR_TOOBIG);
	sse_free(&r);
	return check_done("sse");
}
