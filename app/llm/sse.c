/* llm/sse.c: the text/event-stream reader (WHATWG HTML, "server-sent events"), fed bytes
 * in whatever pieces the network delivers. Only data: fields matter here; event:, id:,
 * retry: and comments are read and ignored. Must never grow without bound. */
#include <string.h>

#include "llm/llm.h"

#define SSE_MAX (1024 * 1024)

void sse_init(struct sse *s, int (*on_event)(void *, const char *, size_t), void *ctx)
{
	memset(s, 0, sizeof *s);
	buf_init(&s->line, SSE_MAX);
	buf_init(&s->data, SSE_MAX);
	s->on_event = on_event;
	s->ctx = ctx;
}

void sse_free(struct sse *s)
{
	buf_free(&s->line);
	buf_free(&s->data);
}

/* One whole line (without its end). */
static int line(struct sse *s, const char *p, size_t n)
{
	if (n == 0) { /* a blank line ends the event */
		if (!s->has_data)
			return 0;
		s->has_data = false;
		int rc = s->on_event(s->ctx, s->data.ptr ? s->data.ptr : "", s->data.len);
		buf_reset(&s->data);
		return rc;
	}
	if (n < 4 || memcmp(p, "data", 4) != 0 || (n > 4 && p[4] != ':'))
		return 0; /* a comment or another field */
	p += n > 4 ? 5 : 4; /* "data" alone is an empty value */
	n -= n > 4 ? 5 : 4;
	if (n && *p == ' ') {
		p++;
		n--;
	}
	if (s->has_data && buf_addc(&s->data, '\n'))
		return ERR_TOOBIG;
	s->has_data = true;
	return buf_add(&s->data, p, n) ? ERR_TOOBIG : 0;
}

int sse_feed(struct sse *s, const char *p, size_t n)
{
	for (size_t i = 0; i < n;) {
		if (s->cr && p[i] == '\n') { /* the \n of a \r\n */
			s->cr = false;
			i++;
			continue;
		}
		s->cr = false;
		size_t j = i;
		while (j < n && p[j] != '\n' && p[j] != '\r')
			j++;
		if (j == n) { /* no line end yet: keep the piece */
			return buf_add(&s->line, p + i, n - i) ? ERR_TOOBIG : 0;
		}
		int rc;
		if (s->line.len) {
			rc = buf_add(&s->line, p + i, j - i) ? ERR_TOOBIG : line(s, s->line.ptr, s->line.len);
			buf_reset(&s->line);
		} else {
			rc = line(s, p + i, j - i);
		}
		if (rc)
			return rc;
		s->cr = p[j] == '\r';
		i = j + 1;
	}
	return 0;
}
