/* Unit tests for http/head.c: the strict request-head reader. Every smuggling shape is
 * refused with its status, lengths are bounded without overflow, an incomplete head is
 * "more" until it can no longer become acceptable, and no prefix of a good head is refused. */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "http/head.h"

#define MAXBODY 1000

static int check(const char *head, struct head_check *out)
{
	return head_check(head, strlen(head), MAXBODY, out);
}

/* head is refused with status, and its reason says so (a word of it). */
static void refused(const char *head, int status, const char *word)
{
	struct head_check hc;
	int rc = check(head, &hc);
	CHECK(rc == -1);
	CHECK(hc.status == status);
	bool says = rc != -1 || !word || (hc.why && strstr(hc.why, word));
	if (!says)
		fprintf(stderr, "reason \"%s\" lacks \"%s\" for %s\n", hc.why ? hc.why : "", word, head);
	CHECK(says);
}

static void accepted(const char *head, long long length, bool chunked)
{
	struct head_check hc;
	CHECK(check(head, &hc) == 1);
	CHECK(hc.content_length == length);
	CHECK(hc.chunked == chunked);
}

int main(void)
{
	/* fine heads */
	accepted("GET /health HTTP/1.1\r\nHost: x\r\n\r\n", -1, false);
	accepted("GET /health HTTP/1.0\r\n\r\n", -1, false); /* 1.0 needs no Host */
	accepted("POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n", 1000, false);
	accepted("POST /a HTTP/1.1\r\nHost: x\r\nContent-Length:  7 \r\n\r\n", 7, false);
	accepted("POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: Chunked\r\n\r\n", -1, true);
	accepted("GET /a?b=c%20d HTTP/1.1\r\nhost: x\r\nX-Empty:\r\nX-Tab:\tv\t\r\n\r\n", -1, false);

	/* the head ends where it ends; what follows is the body or the next request */
	struct head_check hc;
	const char *two = "GET / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\n";
	CHECK(head_check(two, strlen(two), MAXBODY, &hc) == 1);
	CHECK(hc.len == strlen("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));

	/* every prefix of a good head is "more", never refused */
	const char *good = "POST /x HTTP/1.1\r\nHost: example\r\nContent-Length: 5\r\n\r\n";
	for (size_t n = 0; n < strlen(good); n++)
		CHECK(head_check(good, n, MAXBODY, &hc) == 0);

	/* smuggling shapes */
	refused("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", 400,
	        "together");
	refused("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", 400,
	        "together");
	refused("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", 400, "Content-Length");
	refused("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n", 400, "Content-Length");
	refused("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5, 5\r\n\r\n", 400, "number");
	refused("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +5\r\n\r\n", 400, "number");
	refused("POST / HTTP/1.1\r\nHost: x\r\nContent-Length:\r\n\r\n", 400, "number");
	refused("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 400, "chunked");
	refused("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", 400,
	        "Transfer-Encoding");
	refused("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400, "1.0");
	refused("GET / HTTP/1.1\r\n\r\n", 400, "Host");
	refused("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, "Host");
	refused("GET / HTTP/1.1\nHost: x\n\n", 400, "CRLF");
	refused("GET / HTTP/1.1\r\nHost: x\n\r\n", 400, "CRLF");
	refused("GET / HTTP/1.1\r\nHost: x\r\nX: a\rb\r\n\r\n", 400, "CR");
	refused("GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n", 400, "folding");
	refused("GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n\tb\r\n\r\n", 400, "folding");
	refused("GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400, "malformed");
	refused("GET / HTTP/1.1\r\nHost: x\r\n: v\r\n\r\n", 400, "malformed");
	refused("GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x01\r\n\r\n", 400, "control");
	refused("GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x7f\r\n\r\n", 400, "control");
	refused("GET  / HTTP/1.1\r\nHost: x\r\n\r\n", 400, "target");
	refused("GET / HTTP/1.1 \r\nHost: x\r\n\r\n", 400, "request line");
	refused("\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n", 400, "request line");
	refused("GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505, "HTTP/1");
	refused("GET / FTP/1.1\r\nHost: x\r\n\r\n", 400, "request line");
	/* a NUL in a value is a control character, not the end of the head */
	const char nul[] = "GET / HTTP/1.1\r\nHost: x\r\nX: a\0b\r\n\r\n";
	CHECK(head_check(nul, sizeof nul - 1, MAXBODY, &hc) == -1 && hc.status == 400);

	/* lengths: over the limit is 413 before any body; no digits overflow */
	accepted("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0001000\r\n\r\n", 1000, false);
	refused("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1001\r\n\r\n", 413, "large");
	refused("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 9223372036854775807\r\n\r\n", 413, "large");
	refused("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 9223372036854775808\r\n\r\n", 413, "large");
	refused("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999999999999\r\n\r\n", 413, "large");
	const char *huge = "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 18446744073709551617\r\n\r\n";
	CHECK(head_check(huge, strlen(huge), 9223372036854775807LL, &hc) == -1 && hc.status == 413);
	const char *max = "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 9223372036854775807\r\n\r\n";
	CHECK(head_check(max, strlen(max), 9223372036854775807LL, &hc) == 1 &&
	      hc.content_length == 9223372036854775807LL);
	/* a smuggling shape wins over the size: it is the more dangerous answer */
	refused("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\nTransfer-Encoding: chunked\r\n\r\n", 400,
	        "together");

	/* size: a head that cannot end within HEAD_MAX is 431; 65 fields are too many */
	static char big[HEAD_MAX + 64];
	memset(big, 'a', sizeof big);
	memcpy(big, "GET / HTTP/1.1\r\nHost: x\r\nX-Big: ", 32);
	CHECK(head_check(big, HEAD_MAX - 1, MAXBODY, &hc) == 0);
	CHECK(head_check(big, HEAD_MAX, MAXBODY, &hc) == -1 && hc.status == 431);
	CHECK(head_check(big, sizeof big, MAXBODY, &hc) == -1 && hc.status == 431);
	char many[4096];
	size_t n = (size_t)snprintf(many, sizeof many, "GET / HTTP/1.1\r\nHost: x\r\n");
	for (int i = 0; i < 63; i++)
		n += (size_t)snprintf(many + n, sizeof many - n, "X-%d: v\r\n", i);
	memcpy(many + n, "\r\n", 3);
	CHECK(head_check(many, n + 2, MAXBODY, &hc) == 1); /* 64 fields */
	memcpy(many + n, "X-64: v\r\n\r\n", 12);
	CHECK(head_check(many, n + 11, MAXBODY, &hc) == -1 && hc.status == 431);

	/* head_end finds the blank line, bare LF ones too (so that they can be refused) */
	CHECK(head_end("a\r\n\r\n", 5) == 5);
	CHECK(head_end("a\n\n", 3) == 3);
	CHECK(head_end("a\r\n\r", 4) == 0);
	CHECK(head_end("a\r\nb\r\n", 6) == 0);
	CHECK(head_end("", 0) == 0);
	return check_done("test_head");
}
