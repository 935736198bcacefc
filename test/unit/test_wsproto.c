/* Unit tests for http/wsproto.c: RFC 6455's own examples (the accept key, the masked "Hello"),
 * each rule that fails a connection with the code it must carry, fragments with control frames
 * between them, input cut at every size down to one byte, the size limit at and just past it,
 * UTF-8 at the edges, the parser's memory, and frames from the encoder read back. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "check.h"
#include "http/wsproto.h"

/* ---- building client frames ---- */

struct wire {
	uint8_t *b;
	size_t n, cap;
};

static void put(struct wire *w, const void *p, size_t n)
{
	if (w->n + n > w->cap) {
		w->cap = (w->n + n) * 2 + 64;
		w->b = realloc(w->b, w->cap);
		if (!w->b)
			abort();
	}
	if (n)
		memcpy(w->b + w->n, p, n);
	w->n += n;
}

/* RFC 6455 section 5.7's masking key */
static const uint8_t mask_key[4] = {0x37, 0xfa, 0x21, 0x3d};

/* A frame header: b0 is FIN, RSV and opcode as sent; the length in its shortest form unless
 * long64 asks for the 64-bit form; the masking key when masked. */
static void put_head(struct wire *w, uint8_t b0, int masked, uint64_t len, int long64)
{
	uint8_t h[10];
	size_t hn = 2;
	h[0] = b0;
	if (len <= 125 && !long64) {
		h[1] = (uint8_t)len;
	} else if (len <= 0xFFFF && !long64) {
		h[1] = 126;
		h[2] = (uint8_t)(len >> 8);
		h[3] = (uint8_t)len;
		hn = 4;
	} else {
		h[1] = 127;
		for (int i = 0; i < 8; i++)
			h[2 + i] = (uint8_t)(len >> (56 - 8 * i));
		hn = 10;
	}
	if (masked)
		h[1] |= 0x80;
	put(w, h, hn);
	if (masked)
		put(w, mask_key, 4);
}

/* A whole masked frame. */
static void put_frame(struct wire *w, uint8_t b0, const void *payload, size_t n)
{
	put_head(w, b0, 1, n, 0);
	size_t at = w->n;
	put(w, payload, n);
	for (size_t i = 0; i < n; i++)
		w->b[at + i] ^= mask_key[i % 4];
}

#define FIN       0x80
#define TEXT(fin) (uint8_t)((fin) | WS_OP_TEXT)
#define BIN(fin)  (uint8_t)((fin) | WS_OP_BINARY)
#define CONT(fin) (uint8_t)((fin) | WS_OP_CONT)
#define PING      (uint8_t)(FIN | WS_OP_PING)
#define PONG      (uint8_t)(FIN | WS_OP_PONG)
#define CLOSE     (uint8_t)(FIN | WS_OP_CLOSE)

/* ---- feeding a parser and recording what it says ---- */

struct rec {
	int type, code;
	size_t len;
	char *data;
};

struct seen {
	int n;
	struct rec r[16];
	size_t held_max; /* the most bytes of message buffer the parser held between calls */
};

static void seen_free(struct seen *s)
{
	for (int i = 0; i < s->n; i++)
		free(s->r[i].data);
	memset(s, 0, sizeof *s);
}

/* Feeds bytes in pieces of step bytes (0: all at once), calling ws_parse until it asks for
 * more each time, as the event loop will; the input is copied first since it is unmasked in
 * place. */
static void feed(struct ws_parser *p, const uint8_t *bytes, size_t n, size_t step, struct seen *s)
{
	uint8_t *copy = malloc(n ? n : 1);
	if (!copy)
		abort();
	if (n)
		memcpy(copy, bytes, n);
	size_t off = 0;
	do {
		size_t piece = step && n - off > step ? step : n - off;
		uint8_t *in = copy + off;
		size_t left = piece;
		for (;;) {
			struct ws_event ev;
			size_t used = ws_parse(p, in, left, &ev);
			CHECK(used <= left);
			in += used;
			left -= used;
			if (ev.type == WS_EV_NONE) {
				CHECK(left == 0);
				break;
			}
			CHECK(ev.data != NULL);
			if (s->n < 16) {
				struct rec *r = &s->r[s->n++];
				r->type = ev.type;
				r->code = ev.code;
				r->len = ev.len;
				r->data = malloc(ev.len + 1);
				if (!r->data)
					abort();
				memcpy(r->data, ev.data, ev.len);
				r->data[ev.len] = '\0';
			}
		}
		if (p->msg.cap > s->held_max)
			s->held_max = p->msg.cap;
		off += piece;
	} while (off < n);
	free(copy);
}

/* A fresh parser fed w in pieces of step; the parser is freed afterwards. */
static void run(const struct wire *w, size_t step, size_t max, struct seen *s)
{
	struct ws_parser p;
	ws_parser_init(&p, max);
	memset(s, 0, sizeof *s);
	feed(&p, w->b, w->n, step, s);
	ws_parser_free(&p);
}

static const size_t steps[] = {0, 1, 2, 3, 5, 13};
#define NSTEPS (sizeof steps / sizeof steps[0])

/* w, fed at every step size to a parser with limit max, gives exactly one event: an error
 * with code. */
static void expect_error(const struct wire *w, int code, size_t max, int line)
{
	for (size_t i = 0; i < NSTEPS; i++) {
		struct seen s;
		run(w, steps[i], max, &s);
		int ok =
		    s.n == 1 && s.r[0].type == WS_EV_ERROR && s.r[0].code == code && s.r[0].len > 0;
		CHECK(ok);
		if (!ok)
			fprintf(stderr,
			        "  (expect_error from line %d, step %zu: %d events, first %d/%d)\n",
			        line, steps[i], s.n, s.n ? s.r[0].type : -1,
			        s.n ? s.r[0].code : -1);
		seen_free(&s);
	}
}
#define EXPECT_ERROR(w, code)          expect_error(w, code, 0, __LINE__)
#define EXPECT_ERROR_MAX(w, code, max) expect_error(w, code, max, __LINE__)

/* w, fed at every step size, gives exactly one text (or binary) message equal to want. */
static void expect_message(const struct wire *w, int type, const void *want, size_t n, int line)
{
	for (size_t i = 0; i < NSTEPS; i++) {
		struct seen s;
		run(w, steps[i], 0, &s);
		int ok = s.n == 1 && s.r[0].type == type && s.r[0].len == n &&
		         memcmp(s.r[0].data, want, n) == 0;
		CHECK(ok);
		if (!ok)
			fprintf(
			    stderr,
			    "  (expect_message from line %d, step %zu: %d events, first %d/%d)\n",
			    line, steps[i], s.n, s.n ? s.r[0].type : -1, s.n ? s.r[0].code : -1);
		seen_free(&s);
	}
}
#define EXPECT_TEXT(w, s, n)   expect_message(w, WS_EV_TEXT, s, n, __LINE__)
#define EXPECT_BINARY(w, s, n) expect_message(w, WS_EV_BINARY, s, n, __LINE__)

/* ---- the handshake ---- */

static void test_accept_key(void)
{
	char out[WS_ACCEPT_SIZE];
	/* section 1.3 and 4.2.2's example */
	CHECK(ws_accept_key("dGhlIHNhbXBsZSBub25jZQ==", out) == 0);
	CHECK_STR(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
	/* the example of section 1.2 */
	CHECK(ws_accept_key("x3JJHMbDL1EzLkh9GBhXDw==", out) == 0);
	CHECK_STR(out, "HSmrc0sMlYUkAGmm5OPpG2HaGWk=");
	/* spaces around the value are not part of the key */
	CHECK(ws_accept_key(" \tdGhlIHNhbXBsZSBub25jZQ== ", out) == 0);
	CHECK_STR(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");

	static const char *const bad[] = {
	    "",
	    "dGhlIHNhbXBsZSBub25jZQ=",   /* 23 characters */
	    "dGhlIHNhbXBsZSBub25jZQ==A", /* 25 */
	    "AAAAAAAAAAAAAAAAAAAAAAA=",  /* 17 bytes */
	    "AAAAAAAAAAAAAAAAAAAAAAAA",  /* 18 bytes */
	    "dGhlIHNhbXBsZSBub25jZR==",  /* unused bits set: not the canonical spelling */
	    "dGhlIHNhbXBsZSBub25jZ!==",  /* not base64 */
	    "dGhlIHNhbXBsZSBub2 jZQ==",  /* space inside */
	    "dGhlIHNhbXBsZSBub25jZQ-_",  /* base64url */
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		memcpy(out, "junk", 5);
		CHECK(ws_accept_key(bad[i], out) == ERR_INVAL);
		CHECK_STR(out, "");
	}
	CHECK(ws_accept_key(NULL, out) == ERR_INVAL);
}

struct hdr {
	const char *name, *value;
};

/* Header lookup over a NULL-terminated list, any case, as the caller's adapter would do. */
static const char *lookup(void *ctx, const char *name)
{
	for (const struct hdr *h = ctx; h->name; h++)
		if (strcasecmp(h->name, name) == 0)
			return h->value;
	return NULL;
}

/* A valid request, with header replace (NULL value: removed) set to value. */
static enum ws_refusal check_with(const char *method, const char *version, const char *replace,
                                  const char *value, int *rc, char accept[WS_ACCEPT_SIZE])
{
	struct hdr h[] = {
	    {"Host", "example.com"},         {"Upgrade", "websocket"},
	    {"Connection", "Upgrade"},       {"Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="},
	    {"Sec-WebSocket-Version", "13"}, {NULL, NULL},
	};
	struct hdr *out = h;
	struct hdr kept[6];
	size_t k = 0;
	for (; out->name; out++) {
		if (replace && strcasecmp(out->name, replace) == 0) {
			if (!value)
				continue;
			kept[k++] = (struct hdr){out->name, value};
		} else {
			kept[k++] = *out;
		}
	}
	kept[k] = (struct hdr){NULL, NULL};
	enum ws_refusal why = WS_REFUSE_KEY + 1; /* not a value the function may leave */
	*rc = ws_handshake_check(method, version, lookup, kept, &why, accept);
	return why;
}

static void test_handshake(void)
{
	char accept[WS_ACCEPT_SIZE];
	int rc;
	CHECK(check_with("GET", "1.1", NULL, NULL, &rc, accept) == WS_REFUSE_NONE);
	CHECK(rc == 0);
	CHECK_STR(accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
	CHECK(ws_refusal_status(WS_REFUSE_NONE) == 0);

	/* what clients really send */
	static const struct {
		const char *header, *value;
	} fine[] = {
	    {"Connection", "keep-alive, Upgrade"}, /* Firefox */
	    {"Connection", "upgrade"},
	    {"Connection", "Upgrade ,keep-alive"},
	    {"Connection", ",, Upgrade,"},
	    {"Upgrade", "WebSocket"},
	    {"Upgrade", "h2c, websocket"},
	    {"Sec-WebSocket-Version", " 13 "},
	    {"Sec-WebSocket-Key", " dGhlIHNhbXBsZSBub25jZQ== "},
	};
	for (size_t i = 0; i < sizeof fine / sizeof fine[0]; i++) {
		CHECK(check_with("GET", "HTTP/1.1", fine[i].header, fine[i].value, &rc, accept) ==
		      WS_REFUSE_NONE);
		CHECK(rc == 0);
		CHECK_STR(accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
	}
	CHECK(check_with("GET", "2", NULL, NULL, &rc, accept) == WS_REFUSE_NONE);

	static const struct {
		const char *method, *version, *header, *value;
		enum ws_refusal why;
		int status;
	} bad[] = {
	    {"POST", "1.1", NULL, NULL, WS_REFUSE_METHOD, 405},
	    {"get", "1.1", NULL, NULL, WS_REFUSE_METHOD, 405},
	    {"GET", "1.0", NULL, NULL, WS_REFUSE_HTTP_VERSION, 400},
	    {"GET", "HTTP/1.0", NULL, NULL, WS_REFUSE_HTTP_VERSION, 400},
	    {"GET", "1.1x", NULL, NULL, WS_REFUSE_HTTP_VERSION, 400},
	    {"GET", "", NULL, NULL, WS_REFUSE_HTTP_VERSION, 400},
	    {"GET", "1.1", "Host", NULL, WS_REFUSE_HOST, 400},
	    {"GET", "1.1", "Upgrade", NULL, WS_REFUSE_UPGRADE, 426},
	    {"GET", "1.1", "Upgrade", "h2c", WS_REFUSE_UPGRADE, 426},
	    {"GET", "1.1", "Upgrade", "websockets", WS_REFUSE_UPGRADE, 426},
	    {"GET", "1.1", "Upgrade", "web socket", WS_REFUSE_UPGRADE, 426},
	    {"GET", "1.1", "Connection", NULL, WS_REFUSE_CONNECTION, 400},
	    {"GET", "1.1", "Connection", "keep-alive", WS_REFUSE_CONNECTION, 400},
	    {"GET", "1.1", "Connection", "upgraded", WS_REFUSE_CONNECTION, 400},
	    {"GET", "1.1", "Connection", "keep-alive upgrade", WS_REFUSE_CONNECTION, 400},
	    {"GET", "1.1", "Sec-WebSocket-Version", NULL, WS_REFUSE_VERSION, 426},
	    {"GET", "1.1", "Sec-WebSocket-Version", "8", WS_REFUSE_VERSION, 426},
	    {"GET", "1.1", "Sec-WebSocket-Version", "13, 8", WS_REFUSE_VERSION, 426},
	    {"GET", "1.1", "Sec-WebSocket-Version", "013", WS_REFUSE_VERSION, 426},
	    {"GET", "1.1", "Sec-WebSocket-Key", NULL, WS_REFUSE_KEY, 400},
	    {"GET", "1.1", "Sec-WebSocket-Key", "AAAAAAAAAAAAAAAAAAAA", WS_REFUSE_KEY, 400},
	    {"GET", "1.1", "Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZR==", WS_REFUSE_KEY, 400},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		memcpy(accept, "junk", 5);
		enum ws_refusal why = check_with(bad[i].method, bad[i].version, bad[i].header,
		                                 bad[i].value, &rc, accept);
		CHECK(why == bad[i].why);
		CHECK(rc == ERR_INVAL);
		CHECK_STR(accept, "");
		CHECK(ws_refusal_status(why) == bad[i].status);
		CHECK(strlen(ws_refusal_str(why)) > 0);
	}
}

static void test_bearer(void)
{
	const char *tok;
	size_t len;
	CHECK(ws_bearer_token("bearer, eyJ.abc.def", &tok, &len) == 0);
	CHECK(len == 11 && memcmp(tok, "eyJ.abc.def", 11) == 0);
	CHECK(ws_bearer_token("bearer,tok", &tok, &len) == 0);
	CHECK(len == 3 && memcmp(tok, "tok", 3) == 0);
	CHECK(ws_bearer_token("chat, bearer ,\ttok2 , other", &tok, &len) == 0);
	CHECK(len == 4 && memcmp(tok, "tok2", 4) == 0);

	CHECK(ws_bearer_token(NULL, &tok, &len) == ERR_NOTFOUND);
	CHECK(ws_bearer_token("chat, superchat", &tok, &len) == ERR_NOTFOUND);
	CHECK(ws_bearer_token("Bearer, tok", &tok, &len) == ERR_NOTFOUND); /* answered as sent */
	CHECK(ws_bearer_token("tok, bearer", &tok, &len) == ERR_INVAL);
	CHECK(ws_bearer_token("bearer", &tok, &len) == ERR_INVAL);
	CHECK(ws_bearer_token("bearer, ", &tok, &len) == ERR_INVAL);
	CHECK(ws_bearer_token("bearer,, tok", &tok, &len) == ERR_INVAL);
	CHECK(tok == NULL && len == 0);
}

/* ---- the parser ---- */

static void test_size(void)
{
	printf("sizeof(struct ws_parser) = %zu (struct buf %zu)\n", sizeof(struct ws_parser),
	       sizeof(struct buf));
	CHECK(sizeof(struct ws_parser) <= 64 + sizeof(struct buf));
	struct ws_parser p;
	ws_parser_init(&p, 0);
	CHECK(p.msg.max == WS_MESSAGE_MAX && WS_MESSAGE_MAX == 1024 * 1024);
	CHECK(p.msg.ptr == NULL && p.ctl == NULL);
	ws_parser_free(&p);
}

/* Section 5.7: a single-frame masked text message, as bytes from the RFC. */
static void test_rfc_hello(void)
{
	static const uint8_t hello[] = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d,
	                                0x7f, 0x9f, 0x4d, 0x51, 0x58};
	uint8_t in[sizeof hello];
	memcpy(in, hello, sizeof in);
	struct ws_parser p;
	ws_parser_init(&p, 0);
	struct ws_event ev;
	CHECK(ws_parse(&p, in, sizeof in, &ev) == sizeof in);
	CHECK(ev.type == WS_EV_TEXT && ev.len == 5 && memcmp(ev.data, "Hello", 5) == 0);
	/* it came whole, so it is handed over in place, without a buffer */
	CHECK((const uint8_t *)ev.data == in + 6);
	CHECK(p.msg.ptr == NULL);
	CHECK(ws_parse(&p, in + sizeof in, 0, &ev) == 0 && ev.type == WS_EV_NONE);
	ws_parser_free(&p);

	struct wire w = {0};
	put(&w, hello, sizeof hello);
	EXPECT_TEXT(&w, "Hello", 5);
	/* the RFC's unmasked one is refused: clients must mask */
	w.n = 0;
	put(&w, "\x81\x05Hello", 7);
	EXPECT_ERROR(&w, WS_CLOSE_PROTOCOL);
	free(w.b);
}

static void test_header_rules(void)
{
	struct wire w = {0};
	/* a valid frame of each data type first, so the errors below are the rule's doing */
	put_frame(&w, BIN(FIN), "\x00\xff", 2);
	EXPECT_BINARY(&w, "\x00\xff", 2);
	w.n = 0;
	put_frame(&w, TEXT(FIN), "", 0);
	EXPECT_TEXT(&w, "", 0);

	/* each reserved bit */
	for (int bit = 0x40; bit >= 0x10; bit >>= 1) {
		w.n = 0;
		put_frame(&w, (uint8_t)(TEXT(FIN) | bit), "hi", 2);
		EXPECT_ERROR(&w, WS_CLOSE_PROTOCOL);
		w.n = 0;
		put_frame(&w, (uint8_t)(PING | bit), "", 0);
		EXPECT_ERROR(&w, WS_CLOSE_PROTOCOL);
	}
	/* unknown opcodes, data (3-7) and control (B-F) */
	for (int op = 3; op <= 0xF; op++) {
		if (op >= WS_OP_CLOSE && op <= WS_OP_PONG)
			continue;
		w.n = 0;
		put_frame(&w, (uint8_t)(FIN | op), "x", 1);
		EXPECT_ERROR(&w, WS_CLOSE_PROTOCOL);
	}
	/* unmasked frames of every kind */
	static const uint8_t kinds[] = {TEXT(FIN), BIN(FIN), PING, PONG, CLOSE};
	for (size_t i = 0; i < sizeof kinds; i++) {
		w.n = 0;
		put_head(&w, kinds[i], 0, 0, 0);
		EXPECT_ERROR(&w, WS_CLOSE_PROTOCOL);
	}
	/* control frames: at most 125 bytes, never fragmented */
	static char big[126];
	memset(big, 'p', sizeof big);
	w.n = 0;
	put_frame(&w, PING, big, 125);
	for (size_t i = 0; i < NSTEPS; i++) {
		struct seen s;
		run(&w, steps[i], 0, &s);
		CHECK(s.n == 1 && s.r[0].type == WS_EV_PING && s.r[0].len == 125 &&
		      memcmp(s.r[0].data, big, 125) == 0);
		seen_free(&s);
	}
	static const uint8_t controls[] = {PING, PONG, CLOSE};
	for (size_t i = 0; i < sizeof controls; i++) {
		w.n = 0;
		put_frame(&w, controls[i], big, 126); /* 16-bit length form */
		EXPECT_ERROR(&w, WS_CLOSE_PROTOCOL);
		w.n = 0;
		put_head(&w, controls[i], 1, 5, 1); /* 64-bit length form, small value */
		EXPECT_ERROR(&w, WS_CLOSE_PROTOCOL);
		w.n = 0;
		put_frame(&w, (uint8_t)(controls[i] & 0x0F), "", 0); /* FIN clear */
		EXPECT_ERROR(&w, WS_CLOSE_PROTOCOL);
	}
	/* a continuation with no message started, final or not */
	w.n = 0;
	put_frame(&w, CONT(FIN), "x", 1);
	EXPECT_ERROR(&w, WS_CLOSE_PROTOCOL);
	w.n = 0;
	put_frame(&w, CONT(0), "x", 1);
	EXPECT_ERROR(&w, WS_CLOSE_PROTOCOL);
	/* ... nor after a message that has ended */
	w.n = 0;
	put_frame(&w, TEXT(FIN), "a", 1);
	put_frame(&w, CONT(FIN), "b", 1);
	for (size_t i = 0; i < NSTEPS; i++) {
		struct seen s;
		run(&w, steps[i], 0, &s);
		CHECK(s.n == 2 && s.r[0].type == WS_EV_TEXT && s.r[1].type == WS_EV_ERROR &&
		      s.r[1].code == WS_CLOSE_PROTOCOL);
		seen_free(&s);
	}
	/* a new data frame while a fragmented message is open */
	static const uint8_t second[] = {TEXT(FIN), BIN(FIN), TEXT(0), BIN(0)};
	for (size_t i = 0; i < sizeof second; i++) {
		w.n = 0;
		put_frame(&w, TEXT(0), "a", 1);
		put_frame(&w, second[i], "b", 1);
		EXPECT_ERROR(&w, WS_CLOSE_PROTOCOL);
	}
	/* a 64-bit length with its top bit set, noticed once the header is in */
	w.n = 0;
	put_head(&w, BIN(FIN), 1, 0x8000000000000000ull, 1);
	EXPECT_ERROR(&w, WS_CLOSE_PROTOCOL);
	w.n = 0;
	put_head(&w, BIN(FIN), 1, UINT64_MAX, 1);
	EXPECT_ERROR(&w, WS_CLOSE_PROTOCOL);
	/* the largest legal length is merely too big */
	w.n = 0;
	put_head(&w, BIN(FIN), 1, 0x7FFFFFFFFFFFFFFFull, 1);
	EXPECT_ERROR(&w, WS_CLOSE_TOO_BIG);
	free(w.b);
}

/* Lengths in each form, read back whole and in pieces. */
static void test_lengths(void)
{
	static const size_t sizes[] = {0, 1, 125, 126, 127, 65535, 65536, 70000};
	uint8_t *payload = malloc(70000);
	if (!payload)
		abort();
	for (size_t i = 0; i < 70000; i++)
		payload[i] = (uint8_t)(i * 7 + 3);
	struct wire w = {0};
	for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
		w.n = 0;
		put_frame(&w, BIN(FIN), payload, sizes[k]);
		/* the header really used the form this size needs */
		uint8_t len7 = w.b[1] & 0x7F;
		CHECK(sizes[k] <= 125      ? len7 == sizes[k]
		      : sizes[k] <= 0xFFFF ? len7 == 126
		                           : len7 == 127);
		EXPECT_BINARY(&w, payload, sizes[k]);
	}
	/* a 64-bit form for a small length is read all the same */
	w.n = 0;
	put_head(&w, BIN(FIN), 1, 3, 1);
	put(&w, "\x37\xfa\x21", 3); /* masks to zeros */
	EXPECT_BINARY(&w, "\0\0\0", 3);
	free(w.b);
	free(payload);
}

/* The limit on a reassembled message: exactly at it is fine, one byte over is 1009, reported
 * from the header alone, before any payload came and without buffering. */
static void test_limit(void)
{
	size_t max = 1000;
	uint8_t *payload = malloc(WS_MESSAGE_MAX + 1);
	if (!payload)
		abort();
	memset(payload, 'm', WS_MESSAGE_MAX + 1);
	struct wire w = {0};
	struct seen s;

	w.n = 0;
	put_frame(&w, TEXT(FIN), payload, max);
	for (size_t i = 0; i < NSTEPS; i++) {
		run(&w, steps[i], max, &s);
		CHECK(s.n == 1 && s.r[0].type == WS_EV_TEXT && s.r[0].len == max);
		seen_free(&s);
	}
	/* one over, in one frame: only the header is sent */
	w.n = 0;
	put_head(&w, TEXT(FIN), 1, max + 1, 0);
	for (size_t i = 0; i < NSTEPS; i++) {
		struct ws_parser p;
		ws_parser_init(&p, max);
		memset(&s, 0, sizeof s);
		feed(&p, w.b, w.n, steps[i], &s);
		CHECK(s.n == 1 && s.r[0].type == WS_EV_ERROR && s.r[0].code == WS_CLOSE_TOO_BIG);
		CHECK(s.held_max == 0 && p.msg.ptr == NULL);
		seen_free(&s);
		ws_parser_free(&p);
	}
	/* across fragments: 600 + 400 is fine, 600 + 401 fails at the second header */
	w.n = 0;
	put_frame(&w, BIN(0), payload, 600);
	put_frame(&w, CONT(FIN), payload, 400);
	for (size_t i = 0; i < NSTEPS; i++) {
		run(&w, steps[i], max, &s);
		CHECK(s.n == 1 && s.r[0].type == WS_EV_BINARY && s.r[0].len == max);
		seen_free(&s);
	}
	w.n = 0;
	put_frame(&w, BIN(0), payload, 600);
	put_head(&w, CONT(FIN), 1, 401, 0);
	EXPECT_ERROR_MAX(&w, WS_CLOSE_TOO_BIG, max);
	/* control frames between fragments do not count */
	w.n = 0;
	put_frame(&w, BIN(0), payload, 600);
	put_frame(&w, PING, payload, 125);
	put_frame(&w, CONT(FIN), payload, 400);
	for (size_t i = 0; i < NSTEPS; i++) {
		run(&w, steps[i], max, &s);
		CHECK(s.n == 2 && s.r[0].type == WS_EV_PING && s.r[1].type == WS_EV_BINARY &&
		      s.r[1].len == max);
		seen_free(&s);
	}

	/* the default limit, 1 MiB, with the 64-bit length form */
	w.n = 0;
	put_frame(&w, BIN(FIN), payload, WS_MESSAGE_MAX);
	static const size_t big_steps[] = {0, 1, 4096};
	for (size_t i = 0; i < 3; i++) {
		run(&w, big_steps[i], 0, &s);
		CHECK(s.n == 1 && s.r[0].type == WS_EV_BINARY && s.r[0].len == WS_MESSAGE_MAX &&
		      memcmp(s.r[0].data, payload, WS_MESSAGE_MAX) == 0);
		/* grown as the bytes came, never past the limit */
		CHECK(s.held_max <= WS_MESSAGE_MAX + 1);
		seen_free(&s);
	}
	w.n = 0;
	put_head(&w, BIN(FIN), 1, WS_MESSAGE_MAX + 1, 0);
	EXPECT_ERROR(&w, WS_CLOSE_TOO_BIG);
	/* a client that announces a large frame and sends one byte costs a small buffer */
	w.n = 0;
	put_frame(&w, BIN(FIN), payload, WS_MESSAGE_MAX);
	struct ws_parser p;
	ws_parser_init(&p, 0);
	memset(&s, 0, sizeof s);
	feed(&p, w.b, 2 + 8 + 4 + 1, 0, &s);
	CHECK(s.n == 0 && p.msg.cap > 0 && p.msg.cap <= 64);
	ws_parser_free(&p);
	free(w.b);
	free(payload);
}

/* Fragments with pings and pongs between them, fed whole and at every step size. */
static void test_fragments(void)
{
	struct wire w = {0};
	put_frame(&w, TEXT(0), "Hel", 3);
	put_frame(&w, PING, "p1", 2);
	put_frame(&w, CONT(0), "lo", 2);
	put_frame(&w, PONG, "", 0);
	put_frame(&w, CONT(0), "", 0);
	put_frame(&w, PING, "", 0);
	put_frame(&w, CONT(FIN), " world", 6);
	put_frame(&w, BIN(FIN), "\x01", 1);
	put_frame(&w, CLOSE,
	          "\x03\xe8"
	          "bye",
	          5);
	for (size_t step = 0; step <= w.n; step++) {
		struct seen s;
		run(&w, step, 0, &s);
		CHECK(s.n == 6);
		if (s.n == 6) {
			CHECK(s.r[0].type == WS_EV_PING);
			CHECK_STR(s.r[0].data, "p1");
			CHECK(s.r[1].type == WS_EV_PONG && s.r[1].len == 0);
			CHECK(s.r[2].type == WS_EV_PING && s.r[2].len == 0);
			CHECK(s.r[3].type == WS_EV_TEXT);
			CHECK_STR(s.r[3].data, "Hello world");
			CHECK(s.r[4].type == WS_EV_BINARY && s.r[4].len == 1 &&
			      s.r[4].data[0] == 1);
			CHECK(s.r[5].type == WS_EV_CLOSE && s.r[5].code == 1000);
			CHECK_STR(s.r[5].data, "bye");
		}
		seen_free(&s);
	}
	/* a message of empty fragments only */
	w.n = 0;
	put_frame(&w, TEXT(0), "", 0);
	put_frame(&w, CONT(0), "", 0);
	put_frame(&w, CONT(FIN), "", 0);
	EXPECT_TEXT(&w, "", 0);
	free(w.b);
}

/* Text that is valid UTF-8 at the edges, and every way of not being it. */
static void test_utf8(void)
{
	static const char *const good[] = {
	    "plain ASCII",
	    "\xc2\xa2",                                     /* U+00A2, two bytes */
	    "\xe2\x82\xac",                                 /* U+20AC */
	    "\xed\x9f\xbf",                                 /* U+D7FF, just below the surrogates */
	    "\xee\x80\x80",                                 /* U+E000, just above them */
	    "\xef\xbf\xbf",                                 /* U+FFFF */
	    "\xf0\x90\x80\x80",                             /* U+10000 */
	    "\xf4\x8f\xbf\xbf",                             /* U+10FFFF, the last code point */
	    "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5", /* "kosme" in Greek */
	};
	struct wire w = {0};
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		w.n = 0;
		put_frame(&w, TEXT(FIN), good[i], strlen(good[i]));
		EXPECT_TEXT(&w, good[i], strlen(good[i]));
	}
	w.n = 0;
	put_frame(&w, TEXT(FIN), "a\0b", 3); /* NUL is a character like any other */
	EXPECT_TEXT(&w, "a\0b", 3);

	static const char *const bad[] = {
	    "\x80",                     /* a continuation byte first */
	    "a\xbf",                    /* the last continuation byte alone */
	    "\xc0\xaf",                 /* overlong '/' */
	    "\xc1\xbf",                 /* overlong, two bytes */
	    "\xe0\x80\xaf",             /* overlong, three bytes */
	    "\xe0\x9f\xbf",             /* overlong U+07FF */
	    "\xf0\x80\x80\xaf",         /* overlong, four bytes */
	    "\xf0\x8f\xbf\xbf",         /* overlong U+FFFF */
	    "\xed\xa0\x80",             /* U+D800, a surrogate */
	    "\xed\xbf\xbf",             /* U+DFFF */
	    "\xed\xa0\x80\xed\xb0\x80", /* a surrogate pair spelled out */
	    "\xf4\x90\x80\x80",         /* U+110000 */
	    "\xf5\x80\x80\x80",         /* past any code point */
	    "\xfe",
	    "\xff",
	    "\xc2", /* the message ends inside a character */
	    "\xe2\x82",
	    "\xf0\x90\x80",
	    "\xc2\x41", /* a lead byte followed by ASCII */
	    "\xe2\x28\xa1",
	    "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80\x65\x64\x69\x74\x65\x64",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		w.n = 0;
		put_frame(&w, TEXT(FIN), bad[i], strlen(bad[i]));
		EXPECT_ERROR(&w, WS_CLOSE_BAD_DATA);
		/* binary messages are bytes: the same payload passes */
		w.n = 0;
		put_frame(&w, BIN(FIN), bad[i], strlen(bad[i]));
		EXPECT_BINARY(&w, bad[i], strlen(bad[i]));
	}

	/* a character split across fragments, with a ping in the middle of it */
	w.n = 0;
	put_frame(&w, TEXT(0), "\xe2", 1);
	put_frame(&w, PING, "", 0);
	put_frame(&w, CONT(0), "\x82", 1);
	put_frame(&w, CONT(FIN), "\xac!", 2);
	for (size_t step = 0; step <= w.n; step++) {
		struct seen s;
		run(&w, step, 0, &s);
		CHECK(s.n == 2 && s.r[0].type == WS_EV_PING && s.r[1].type == WS_EV_TEXT);
		CHECK(s.n == 2 && strcmp(s.r[1].data, "\xe2\x82\xac!") == 0);
		seen_free(&s);
	}
	/* bad bytes in an early fragment fail at once, before the message ends */
	w.n = 0;
	put_frame(&w, TEXT(0), "ok\xed\xa0", 4);
	EXPECT_ERROR(&w, WS_CLOSE_BAD_DATA);
	/* a message whose last fragment ends inside a character */
	w.n = 0;
	put_frame(&w, TEXT(0), "ok", 2);
	put_frame(&w, CONT(FIN), "\xe2\x82", 2);
	EXPECT_ERROR(&w, WS_CLOSE_BAD_DATA);
	/* the state starts over with each message */
	w.n = 0;
	put_frame(&w, BIN(FIN), "\xe2", 1);
	put_frame(&w, TEXT(FIN), "\x82\xac", 2);
	for (size_t i = 0; i < NSTEPS; i++) {
		struct seen s;
		run(&w, steps[i], 0, &s);
		CHECK(s.n == 2 && s.r[0].type == WS_EV_BINARY && s.r[1].type == WS_EV_ERROR &&
		      s.r[1].code == WS_CLOSE_BAD_DATA);
		seen_free(&s);
	}
	free(w.b);
}

static void test_close(void)
{
	struct wire w = {0};
	struct seen s;
	/* empty: no status */
	put_frame(&w, CLOSE, "", 0);
	for (size_t i = 0; i < NSTEPS; i++) {
		run(&w, steps[i], 0, &s);
		CHECK(s.n == 1 && s.r[0].type == WS_EV_CLOSE && s.r[0].code == WS_CLOSE_NO_STATUS &&
		      s.r[0].len == 0);
		seen_free(&s);
	}
	/* one byte cannot hold a code */
	w.n = 0;
	put_frame(&w, CLOSE, "\x03", 1);
	EXPECT_ERROR(&w, WS_CLOSE_PROTOCOL);

	static const int valid[] = {1000, 1001, 1002, 1003, 1007, 1008, 1009,
	                            1010, 1011, 3000, 3999, 4000, 4999};
	for (size_t i = 0; i < sizeof valid / sizeof valid[0]; i++) {
		uint8_t pl[WS_CONTROL_MAX];
		size_t n = ws_close_payload(pl, valid[i], "why \xe2\x82\xac", 7);
		CHECK(n == 9);
		w.n = 0;
		put_frame(&w, CLOSE, pl, n);
		for (size_t k = 0; k < NSTEPS; k++) {
			run(&w, steps[k], 0, &s);
			CHECK(s.n == 1 && s.r[0].type == WS_EV_CLOSE && s.r[0].code == valid[i]);
			CHECK(s.n == 1 && strcmp(s.r[0].data, "why \xe2\x82\xac") == 0);
			seen_free(&s);
		}
		CHECK(ws_close_code_valid(valid[i]));
	}
	static const int invalid[] = {0,    1,    999,  1004, 1005, 1006, 1012, 1014,
	                              1015, 1016, 1100, 2000, 2999, 5000, 65535};
	for (size_t i = 0; i < sizeof invalid / sizeof invalid[0]; i++) {
		uint8_t pl[2] = {(uint8_t)(invalid[i] >> 8), (uint8_t)invalid[i]};
		w.n = 0;
		put_frame(&w, CLOSE, pl, 2);
		EXPECT_ERROR(&w, WS_CLOSE_PROTOCOL);
		CHECK(!ws_close_code_valid(invalid[i]));
	}
	/* the reason must be UTF-8 */
	w.n = 0;
	put_frame(&w, CLOSE, "\x03\xe8\xed\xa0\x80", 5);
	EXPECT_ERROR(&w, WS_CLOSE_PROTOCOL);
	w.n = 0;
	put_frame(&w, CLOSE, "\x03\xe8ok\xe2\x82", 6);
	EXPECT_ERROR(&w, WS_CLOSE_PROTOCOL);
	/* the longest close: a code and 123 bytes of reason */
	static char reason[124];
	memset(reason, 'r', 123);
	uint8_t pl[WS_CONTROL_MAX];
	CHECK(ws_close_payload(pl, 1000, reason, 123) == 125);
	w.n = 0;
	put_frame(&w, CLOSE, pl, 125);
	for (size_t i = 0; i < NSTEPS; i++) {
		run(&w, steps[i], 0, &s);
		CHECK(s.n == 1 && s.r[0].type == WS_EV_CLOSE && s.r[0].len == 123);
		seen_free(&s);
	}

	/* after a Close nothing more is read, not even a broken frame */
	w.n = 0;
	put_frame(&w, CLOSE, "\x03\xe8", 2);
	put_frame(&w, TEXT(FIN), "late", 4);
	put_head(&w, TEXT(FIN), 0, 3, 0);
	for (size_t i = 0; i < NSTEPS; i++) {
		run(&w, steps[i], 0, &s);
		CHECK(s.n == 1 && s.r[0].type == WS_EV_CLOSE && s.r[0].code == 1000);
		seen_free(&s);
	}
	/* a Close in the middle of a fragmented message ends it too, and frees its buffer */
	w.n = 0;
	put_frame(&w, TEXT(0), "part", 4);
	put_frame(&w, CLOSE, "\x03\xe9", 2);
	put_frame(&w, CONT(FIN), "rest", 4);
	struct ws_parser p;
	ws_parser_init(&p, 0);
	memset(&s, 0, sizeof s);
	feed(&p, w.b, w.n, 1, &s);
	CHECK(s.n == 1 && s.r[0].type == WS_EV_CLOSE && s.r[0].code == 1001);
	CHECK(p.msg.ptr == NULL && p.ctl == NULL);
	seen_free(&s);
	ws_parser_free(&p);
	free(w.b);
}

/* After an error the parser ignores everything and holds nothing. */
static void test_after_error(void)
{
	struct wire w = {0};
	put_frame(&w, TEXT(0), "held", 4);
	put_frame(&w, (uint8_t)(FIN | 3), "", 0);
	put_frame(&w, TEXT(FIN), "more", 4);
	struct ws_parser p;
	ws_parser_init(&p, 0);
	struct seen s = {0};
	feed(&p, w.b, w.n, 0, &s);
	CHECK(s.n == 1 && s.r[0].type == WS_EV_ERROR && s.r[0].code == WS_CLOSE_PROTOCOL);
	CHECK(p.msg.ptr == NULL && p.ctl == NULL);
	uint8_t more[8] = {0x81, 0x82, 1, 2, 3, 4, 5, 6};
	struct ws_event ev;
	CHECK(ws_parse(&p, more, sizeof more, &ev) == sizeof more && ev.type == WS_EV_NONE);
	seen_free(&s);
	ws_parser_free(&p);
	free(w.b);
}

/* An idle parser holds no heap memory: buffers exist only while something is in flight. */
static void test_memory(void)
{
	struct wire w = {0};
	struct ws_parser p;
	struct ws_event ev;
	ws_parser_init(&p, 0);

	/* a fragmented message holds a buffer between its frames */
	put_frame(&w, TEXT(0), "frag", 4);
	CHECK(ws_parse(&p, w.b, w.n, &ev) == w.n && ev.type == WS_EV_NONE);
	CHECK(p.msg.ptr != NULL);
	/* a ping split across inputs holds 125 bytes until it is whole */
	w.n = 0;
	put_frame(&w, PING, "ping!", 5);
	CHECK(ws_parse(&p, w.b, w.n - 2, &ev) == w.n - 2 && ev.type == WS_EV_NONE);
	CHECK(p.ctl != NULL);
	CHECK(ws_parse(&p, w.b + w.n - 2, 2, &ev) == 2 && ev.type == WS_EV_PING);
	CHECK(ev.len == 5 && memcmp(ev.data, "ping!", 5) == 0);
	CHECK(ws_parse(&p, w.b + w.n, 0, &ev) == 0 && ev.type == WS_EV_NONE);
	CHECK(p.ctl == NULL && p.msg.ptr != NULL);
	/* the end of the message: delivered from the buffer, which the next call releases */
	w.n = 0;
	put_frame(&w, CONT(FIN), "ment", 4);
	CHECK(ws_parse(&p, w.b, w.n, &ev) == w.n && ev.type == WS_EV_TEXT);
	CHECK(ev.len == 8 && memcmp(ev.data, "fragment", 8) == 0 && ev.data == p.msg.ptr);
	CHECK(ws_parse(&p, w.b + w.n, 0, &ev) == 0 && ev.type == WS_EV_NONE);
	CHECK(p.msg.ptr == NULL && p.msg.cap == 0 && p.ctl == NULL);

	/* a one-frame message cut in two is buffered, then released the same way */
	w.n = 0;
	put_frame(&w, BIN(FIN), "abcdef", 6);
	CHECK(ws_parse(&p, w.b, w.n - 3, &ev) == w.n - 3 && ev.type == WS_EV_NONE);
	CHECK(p.msg.ptr != NULL);
	CHECK(ws_parse(&p, w.b + w.n - 3, 3, &ev) == 3 && ev.type == WS_EV_BINARY);
	CHECK(ev.len == 6 && memcmp(ev.data, "abcdef", 6) == 0);
	CHECK(ws_parse(&p, w.b + w.n, 0, &ev) == 0 && ev.type == WS_EV_NONE);
	CHECK(p.msg.ptr == NULL && p.ctl == NULL);

	/* take: the assembled buffer changes hands without a copy */
	w.n = 0;
	put_frame(&w, TEXT(0), "ta", 2);
	put_frame(&w, CONT(FIN), "ke", 2);
	size_t used = ws_parse(&p, w.b, w.n, &ev);
	CHECK(used == w.n && ev.type == WS_EV_TEXT);
	const char *was = ev.data;
	size_t len = 0;
	char *mine = ws_parser_take(&p, &ev, &len);
	CHECK(mine == was && len == 4 && strcmp(mine, "take") == 0);
	CHECK(p.msg.ptr == NULL);
	free(mine);
	/* ... and a message read in place is copied */
	w.n = 0;
	put_frame(&w, TEXT(FIN), "copy", 4);
	CHECK(ws_parse(&p, w.b, w.n, &ev) == w.n && ev.type == WS_EV_TEXT);
	mine = ws_parser_take(&p, &ev, &len);
	CHECK(mine && mine != ev.data && len == 4 && strcmp(mine, "copy") == 0);
	free(mine);
	CHECK(ws_parse(&p, w.b + w.n, 0, &ev) == 0 && ev.type == WS_EV_NONE);
	CHECK(p.msg.ptr == NULL && p.ctl == NULL);
	ws_parser_free(&p);
	free(w.b);
}

/* ---- the encoder, and its frames read back ---- */

static void test_encoder(void)
{
	uint8_t h[WS_FRAME_HEAD_MAX];
	CHECK(ws_frame_head(h, WS_OP_TEXT, 5) == 2 && h[0] == 0x81 && h[1] == 0x05);
	CHECK(ws_frame_head(h, WS_OP_BINARY, 125) == 2 && h[0] == 0x82 && h[1] == 125);
	CHECK(ws_frame_head(h, WS_OP_BINARY, 126) == 4 && h[1] == 126 && h[2] == 0 && h[3] == 126);
	CHECK(ws_frame_head(h, WS_OP_TEXT, 65535) == 4 && h[1] == 126 && h[2] == 0xFF &&
	      h[3] == 0xFF);
	CHECK(ws_frame_head(h, WS_OP_TEXT, 65536) == 10 && h[1] == 127);
	CHECK(memcmp(h + 2, "\0\0\0\0\0\x01\0\0", 8) == 0);
	CHECK(ws_frame_head(h, WS_OP_PING, 125) == 2 && h[0] == 0x89);
	CHECK(ws_frame_head(h, WS_OP_PONG, 0) == 2 && h[0] == 0x8A && h[1] == 0);
	CHECK(ws_frame_head(h, WS_OP_CLOSE, 2) == 2 && h[0] == 0x88);
	/* control frames stay small; other opcodes are not ours to send */
	CHECK(ws_frame_head(h, WS_OP_PING, 126) == 0);
	CHECK(ws_frame_head(h, WS_OP_CLOSE, 126) == 0);
	CHECK(ws_frame_head(h, WS_OP_CONT, 1) == 0);
	CHECK(ws_frame_head(h, 3, 1) == 0);
	CHECK(ws_frame_head(h, 0x1F, 1) == 0);

	/* close payloads */
	uint8_t pl[WS_CONTROL_MAX];
	CHECK(ws_close_payload(pl, 1000, "bye", 3) == 5 && memcmp(pl,
	                                                          "\x03\xe8"
	                                                          "bye",
	                                                          5) == 0);
	CHECK(ws_close_payload(pl, 1009, NULL, 0) == 2 && pl[0] == 0x03 && pl[1] == 0xf1);
	CHECK(ws_close_payload(pl, WS_CLOSE_NO_STATUS, "x", 1) == 0);
	CHECK(ws_close_payload(pl, 1006, "x", 1) == 0);
	static char longer[300];
	memset(longer, 'a', sizeof longer);
	CHECK(ws_close_payload(pl, 1000, longer, sizeof longer) == 125);
	/* two-byte characters: 123 would cut the 62nd, so 61 of them stay */
	for (size_t i = 0; i + 1 < sizeof longer; i += 2)
		memcpy(longer + i, "\xc3\xa9", 2);
	CHECK(ws_close_payload(pl, 1000, longer, sizeof longer) == 2 + 122);
	/* three-byte characters: 41 fit exactly */
	for (size_t i = 0; i + 2 < sizeof longer; i += 3)
		memcpy(longer + i, "\xe2\x82\xac", 3);
	CHECK(ws_close_payload(pl, 1000, longer, 297) == 2 + 123);
	/* a four-byte character straddling the limit is left out whole */
	memset(longer, 'a', 121);
	memcpy(longer + 121, "\xf0\x9f\x98\x80", 4);
	CHECK(ws_close_payload(pl, 1000, longer, 125) == 2 + 121);

	/* a server frame, masked the way a client would send it, reads back as it was */
	static const size_t sizes[] = {0, 5, 125, 126, 65535, 65536, 100000};
	uint8_t *payload = malloc(100000);
	if (!payload)
		abort();
	for (size_t i = 0; i < 100000; i++)
		payload[i] = (uint8_t)('a' + i % 26);
	struct wire w = {0};
	for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
		size_t hn = ws_frame_head(h, WS_OP_TEXT, sizes[k]);
		CHECK(hn == (sizes[k] <= 125 ? 2u : sizes[k] <= 65535 ? 4u : 10u));
		w.n = 0;
		put(&w, h, hn);
		w.b[1] |= 0x80;
		put(&w, mask_key, 4);
		size_t at = w.n;
		put(&w, payload, sizes[k]);
		for (size_t i = 0; i < sizes[k]; i++)
			w.b[at + i] ^= mask_key[i % 4];
		EXPECT_TEXT(&w, payload, sizes[k]);
	}
	/* and a close payload from the encoder is read back to its code and reason */
	size_t n = ws_close_payload(pl, 4001, "gone \xc3\xa9", 7);
	size_t hn = ws_frame_head(h, WS_OP_CLOSE, n);
	w.n = 0;
	put(&w, h, hn);
	w.b[1] |= 0x80;
	put(&w, mask_key, 4);
	size_t at = w.n;
	put(&w, pl, n);
	for (size_t i = 0; i < n; i++)
		w.b[at + i] ^= mask_key[i % 4];
	struct seen s;
	run(&w, 1, 0, &s);
	CHECK(s.n == 1 && s.r[0].type == WS_EV_CLOSE && s.r[0].code == 4001);
	CHECK(s.n == 1 && strcmp(s.r[0].data, "gone \xc3\xa9") == 0);
	seen_free(&s);
	free(w.b);
	free(payload);
}

/* ---- random streams ---- */

static uint64_t rng = 0x9E3779B97F4A7C15ull;

static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 32);
}

static int same(const struct seen *a, const struct seen *b)
{
	if (a->n != b->n)
		return 0;
	for (int i = 0; i < a->n; i++)
		if (a->r[i].type != b->r[i].type || a->r[i].code != b->r[i].code ||
		    a->r[i].len != b->r[i].len ||
		    memcmp(a->r[i].data, b->r[i].data, a->r[i].len) != 0)
			return 0;
	return 1;
}

/* Streams of random valid frames read the same whole and cut at random places; with one bit
 * flipped, whatever the parser says, an error or a close is its last word (and the sanitizer
 * build watches for overruns and leaks). */
static void test_random(void)
{
	struct wire w = {0};
	uint8_t payload[300];
	for (int round = 0; round < 400; round++) {
		w.n = 0;
		int open = 0;
		int frames = 1 + (int)(rnd() % 8);
		for (int f = 0; f < frames; f++) {
			size_t n = rnd() % sizeof payload;
			int kind = (int)(rnd() % 4);
			/* printable ASCII, except in a binary message of one frame */
			int any = kind == 2 && !open;
			for (size_t i = 0; i < n; i++)
				payload[i] = any ? (uint8_t)rnd() : (uint8_t)(' ' + rnd() % 95);
			switch (kind) {
			case 0: put_frame(&w, PING, payload, n % 126); break;
			case 1:
				put_frame(&w, open ? CONT(0) : TEXT(0), payload, n);
				open = 1;
				break;
			case 2:
				put_frame(&w, open ? CONT(FIN) : BIN(FIN), payload, n);
				open = 0;
				break;
			default: put_frame(&w, PONG, payload, n % 126); break;
			}
		}
		if (open)
			put_frame(&w, CONT(FIN), "", 0);

		struct seen whole, cut;
		run(&w, 0, 0, &whole);
		CHECK(whole.n > 0 && whole.r[whole.n - 1].type != WS_EV_ERROR);
		struct ws_parser p;
		ws_parser_init(&p, 0);
		memset(&cut, 0, sizeof cut);
		for (size_t off = 0, piece; off < w.n; off += piece) {
			piece = 1 + rnd() % 40;
			if (piece > w.n - off)
				piece = w.n - off;
			feed(&p, w.b + off, piece, 0, &cut);
		}
		CHECK(p.msg.ptr == NULL && p.ctl == NULL);
		ws_parser_free(&p);
		CHECK(same(&whole, &cut));
		seen_free(&whole);
		seen_free(&cut);

		w.b[rnd() % w.n] ^= (uint8_t)(1u << (rnd() % 8));
		struct seen bad;
		run(&w, 1 + rnd() % 7, 200, &bad);
		for (int i = 0; i + 1 < bad.n; i++)
			CHECK(bad.r[i].type != WS_EV_ERROR && bad.r[i].type != WS_EV_CLOSE);
		seen_free(&bad);
	}
	free(w.b);
}

int main(void)
{
	test_accept_key();
	test_handshake();
	test_bearer();
	test_size();
	test_rfc_hello();
	test_header_rules();
	test_lengths();
	test_limit();
	test_fragments();
	test_utf8();
	test_close();
	test_after_error();
	test_memory();
	test_encoder();
	test_random();
	return check_done("wsproto");
}
