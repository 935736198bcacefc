/* http/head.c: the strict reader of request heads (RFC 9112 sections 2-3, 5-6), refusing
 * what a proxy in front and this server could read differently. Must never read past n,
 * allocate, or trust a length it has not bounded. */
#include "http/head.h"

#include <string.h>

static bool is_tchar(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

static int refuse(struct head_check *out, int status, const char *why)
{
	out->status = status;
	out->why = why;
	return -1;
}

size_t head_end(const char *p, size_t n)
{
	for (const char *nl = memchr(p, '\n', n); nl; nl = memchr(nl + 1, '\n', n - (size_t)(nl + 1 - p))) {
		size_t at = (size_t)(nl - p) + 1;
		if (at < n && p[at] == '\n')
			return at + 1;
		if (at + 1 < n && p[at] == '\r' && p[at + 1] == '\n')
			return at + 2;
		if (at >= n)
			break;
	}
	return 0;
}

static bool name_is(const char *name, size_t n, const char *want)
{
	size_t i = 0;
	for (; i < n && want[i]; i++) {
		char a = name[i], b = want[i];
		if (a >= 'A' && a <= 'Z')
			a = (char)(a - 'A' + 'a');
		if (a != b)
			return false;
	}
	return i == n && !want[i];
}

/* The request line "METHOD SP target SP HTTP/1.x": 0, or -1 refused. */
static int request_line(const char *p, size_t n, bool *http10, struct head_check *out)
{
	size_t i = 0;
	while (i < n && is_tchar((unsigned char)p[i]))
		i++;
	if (i == 0 || i >= n || p[i] != ' ')
		return refuse(out, 400, "the request line is malformed");
	size_t t = ++i;
	while (i < n && (unsigned char)p[i] > 0x20 && (unsigned char)p[i] < 0x7f)
		i++;
	if (i == t || i >= n || p[i] != ' ')
		return refuse(out, 400, "the request target is malformed");
	const char *v = p + i + 1;
	size_t vn = n - i - 1;
	if (vn == 8 && memcmp(v, "HTTP/1.1", 8) == 0) {
		*http10 = false;
		return 0;
	}
	if (vn == 8 && memcmp(v, "HTTP/1.0", 8) == 0) {
		*http10 = true;
		return 0;
	}
	if (vn == 8 && memcmp(v, "HTTP/", 5) == 0 && v[5] >= '0' && v[5] <= '9' && v[6] == '.' && v[7] >= '0' && v[7] <= '9')
		return refuse(out, 505, "only HTTP/1.0 and HTTP/1.1 are spoken here");
	return refuse(out, 400, "the request line is malformed");
}

/* Content-Length: 1*DIGIT, bounded by body_max without ever overflowing. */
static int content_length(const char *v, size_t n, long long body_max, long long *len, bool *too_big)
{
	if (n == 0)
		return -1;
	long long x = 0;
	for (size_t i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return -1;
		if (*too_big)
			continue;
		if (x > (body_max - (v[i] - '0')) / 10)
			*too_big = true;
		else
			x = x * 10 + (v[i] - '0');
	}
	*len = *too_big ? -1 : x;
	return 0;
}

int head_check(const char *p, size_t n, long long body_max, struct head_check *out)
{
	memset(out, 0, sizeof *out);
	out->content_length = -1;
	size_t end = head_end(p, n < HEAD_MAX ? n : HEAD_MAX);
	if (end == 0)
		return n >= HEAD_MAX ? refuse(out, 431, "the request head is too large") : 0;
	out->len = end;
	if (body_max < 0)
		body_max = 0;

	bool http10 = false, too_big = false, te = false;
	int fields = 0, hosts = 0, lengths = 0;
	size_t at = 0;
	for (int line = 0;; line++) {
		const char *nl = memchr(p + at, '\n', end - at);
		size_t ln = (size_t)(nl - (p + at)); /* a blank line ends the head, so nl is found */
		if (ln == 0 || p[at + ln - 1] != '\r')
			return refuse(out, 400, "lines must end with CRLF");
		ln--; /* without its CR */
		const char *s = p + at;
		at += ln + 2;
		if (memchr(s, '\r', ln))
			return refuse(out, 400, "a bare CR in the request head");
		if (line == 0) {
			if (request_line(s, ln, &http10, out) < 0)
				return -1;
			continue;
		}
		if (ln == 0)
			break;
		if (s[0] == ' ' || s[0] == '\t')
			return refuse(out, 400, "header folding is not accepted");
		if (++fields > HEAD_MAX_FIELDS)
			return refuse(out, 431, "too many header fields");
		size_t k = 0;
		while (k < ln && is_tchar((unsigned char)s[k]))
			k++;
		if (k == 0 || k >= ln || s[k] != ':')
			return refuse(out, 400, "a header field is malformed");
		const char *v = s + k + 1, *ve = s + ln;
		while (v < ve && (*v == ' ' || *v == '\t'))
			v++;
		while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
			ve--;
		for (const char *c = v; c < ve; c++)
			if (((unsigned char)*c < 0x20 && *c != '\t') || *c == 0x7f)
				return refuse(out, 400, "a header value holds a control character");
		size_t vn = (size_t)(ve - v);
		if (name_is(s, k, "content-length")) {
			if (++lengths > 1)
				return refuse(out, 400, "more than one Content-Length");
			if (content_length(v, vn, body_max, &out->content_length, &too_big) < 0)
				return refuse(out, 400, "Content-Length is not a number");
		} else if (name_is(s, k, "transfer-encoding")) {
			if (te)
				return refuse(out, 400, "more than one Transfer-Encoding");
			te = true;
			if (!name_is(v, vn, "chunked"))
				return refuse(out, 400, "the only transfer coding accepted is chunked");
		} else if (name_is(s, k, "host")) {
			hosts++;
		}
	}
	if (te && lengths)
		return refuse(out, 400, "Content-Length and Transfer-Encoding together");
	if (te && http10)
		return refuse(out, 400, "Transfer-Encoding in an HTTP/1.0 request");
	if (hosts > 1 || (!http10 && hosts == 0))
		return refuse(out, 400, hosts ? "more than one Host" : "an HTTP/1.1 request needs a Host");
	if (too_big)
		return refuse(out, 413, "the request body is too large");
	out->chunked = te;
	return 1;
}
