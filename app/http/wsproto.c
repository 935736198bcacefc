/* http/wsproto.c: RFC 6455 for the server side, as pure functions over bytes. The parser must
 * never trust a length before checking it against the limit, never allocate for a message
 * larger than the limit, and never keep memory once nothing is in flight. */
#include "http/wsproto.h"

#include <mbedtls/sha1.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/crypto.h"

/* section 1.3: the GUID every server appends to the client's key */
static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

#define KEY_LEN    24 /* base64 of 16 bytes: 22 symbols and "==" */
#define SHA1_LEN   20
#define REASON_MAX (WS_CONTROL_MAX - 2)

static bool is_ows(char c)
{
	return c == ' ' || c == '\t';
}

/* Shrinks [*s, *s + *n) to drop spaces and tabs at both ends. */
static void trim(const char **s, size_t *n)
{
	while (*n && is_ows(**s)) {
		(*s)++;
		(*n)--;
	}
	while (*n && is_ows((*s)[*n - 1]))
		(*n)--;
}

/* Calls each(entry, len, ctx) for the trimmed entries of a comma-separated list (empty entries
 * included) until it answers non-zero, and returns that answer (0 at the end of the list). */
static int each_entry(const char *list, int (*each)(const char *, size_t, void *), void *ctx)
{
	for (const char *p = list;;) {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);
		const char *e = p;
		trim(&e, &n);
		int rc = each(e, n, ctx);
		if (rc || !comma)
			return rc;
		p = comma + 1;
	}
}

static int is_token(const char *e, size_t n, void *token)
{
	return n == strlen(token) && strncasecmp(e, token, n) == 0;
}

/* Whether the list (RFC 9110's #token) names token, compared without regard to case. */
static bool has_token(const char *list, const char *token)
{
	return list && each_entry(list, is_token, (void *)token);
}

int ws_accept_key(const char *client_key, char out[WS_ACCEPT_SIZE])
{
	int rc = 0;
	struct buf raw = BUF_INIT(16), enc = BUF_INIT(WS_ACCEPT_SIZE - 1);
	out[0] = '\0';
	const char *key = client_key ? client_key : "";
	size_t n = strlen(key);
	trim(&key, &n);
	/* the strict decoder refuses every other spelling of the 16 bytes; 17 or 18 bytes hit
	 * the buffer's limit */
	if (n != KEY_LEN || crypto_b64_decode(&raw, key, n) != 0 || raw.len != 16) {
		rc = ERR_INVAL;
		goto fail;
	}
	/* section 4.2.2: the key as sent (not its bytes), then the GUID. The software SHA-1 of
	 * mbedTLS cannot fail; the return values only matter for "_ALT" builds. */
	unsigned char digest[SHA1_LEN];
	mbedtls_sha1_context sha;
	mbedtls_sha1_init(&sha);
	(void)mbedtls_sha1_starts_ret(&sha);
	(void)mbedtls_sha1_update_ret(&sha, (const unsigned char *)key, n);
	(void)mbedtls_sha1_update_ret(&sha, (const unsigned char *)guid, sizeof guid - 1);
	(void)mbedtls_sha1_finish_ret(&sha, digest);
	mbedtls_sha1_free(&sha);
	rc = crypto_b64_encode(&enc, digest, sizeof digest);
	if (rc)
		goto fail;
	memcpy(out, enc.ptr, enc.len + 1);
fail:
	buf_free(&raw);
	buf_free(&enc);
	return rc;
}

/* "1.1" or "HTTP/1.1": 1 for HTTP/1.1 and later, else 0. */
static bool version_ok(const char *v)
{
	if (!v)
		return false;
	if (strncmp(v, "HTTP/", 5) == 0)
		v += 5;
	unsigned major = 0, minor = 0;
	if (*v < '0' || *v > '9')
		return false;
	for (; *v >= '0' && *v <= '9'; v++)
		major = major < 100 ? major * 10 + (unsigned)(*v - '0') : major;
	if (*v == '.') {
		v++;
		if (*v < '0' || *v > '9')
			return false;
		for (; *v >= '0' && *v <= '9'; v++)
			minor = minor < 100 ? minor * 10 + (unsigned)(*v - '0') : minor;
	}
	if (*v)
		return false;
	return major > 1 || (major == 1 && minor >= 1);
}

/* Whether a header's value, trimmed, is exactly want. */
static bool value_is(const char *value, const char *want)
{
	if (!value)
		return false;
	size_t n = strlen(value);
	trim(&value, &n);
	return n == strlen(want) && memcmp(value, want, n) == 0;
}

int ws_handshake_check(const char *method, const char *http_version, ws_header_fn header, void *ctx,
                       enum ws_refusal *why, char accept[WS_ACCEPT_SIZE])
{
	accept[0] = '\0';
	*why = WS_REFUSE_NONE;
	if (!method || strcmp(method, "GET") != 0)
		*why = WS_REFUSE_METHOD;
	else if (!version_ok(http_version))
		*why = WS_REFUSE_HTTP_VERSION;
	else if (!header(ctx, "Host"))
		*why = WS_REFUSE_HOST;
	else if (!has_token(header(ctx, "Upgrade"), "websocket"))
		*why = WS_REFUSE_UPGRADE;
	else if (!has_token(header(ctx, "Connection"), "upgrade"))
		*why = WS_REFUSE_CONNECTION;
	else if (!value_is(header(ctx, "Sec-WebSocket-Version"), "13"))
		*why = WS_REFUSE_VERSION;
	if (*why != WS_REFUSE_NONE)
		return ERR_INVAL;
	int rc = ws_accept_key(header(ctx, "Sec-WebSocket-Key"), accept);
	if (rc == ERR_INVAL)
		*why = WS_REFUSE_KEY;
	return rc;
}

#define WS_REFUSAL_STATUS(name, status, text) [name] = status,
#define WS_REFUSAL_TEXT(name, status, text)   [name] = text,
static const int refusal_status[] = {WS_REFUSALS(WS_REFUSAL_STATUS)};
static const char *const refusal_text[] = {WS_REFUSALS(WS_REFUSAL_TEXT)};

int ws_refusal_status(enum ws_refusal why)
{
	if ((size_t)why >= sizeof refusal_status / sizeof refusal_status[0])
		return 400;
	return refusal_status[why];
}

const char *ws_refusal_str(enum ws_refusal why)
{
	if ((size_t)why >= sizeof refusal_text / sizeof refusal_text[0])
		return "unknown refusal";
	return refusal_text[why];
}

struct bearer_scan {
	bool after_bearer; /* the previous entry was "bearer" */
	const char *token;
	size_t len;
};

static int bearer_entry(const char *e, size_t n, void *ctx)
{
	struct bearer_scan *s = ctx;
	if (s->after_bearer) {
		s->token = e;
		s->len = n;
		return 1;
	}
	s->after_bearer = n == sizeof WS_BEARER - 1 && memcmp(e, WS_BEARER, n) == 0;
	return 0;
}

int ws_bearer_token(const char *protocols, const char **token, size_t *len)
{
	*token = NULL;
	*len = 0;
	struct bearer_scan s = {false, NULL, 0};
	if (!protocols)
		return ERR_NOTFOUND;
	if (!each_entry(protocols, bearer_entry, &s))
		return s.after_bearer ? ERR_INVAL : ERR_NOTFOUND;
	if (s.len == 0)
		return ERR_INVAL;
	*token = s.token;
	*len = s.len;
	return 0;
}

/* ---- UTF-8 (RFC 3629), checked as bytes arrive ----
 * A state says what the next byte must be: 0 a character's first byte; 1-3 that many
 * continuation bytes 80..BF; 4-7 a second byte from a narrower range (which rules out
 * overlong forms, surrogates and code points above U+10FFFF), then 1 or 2 continuations. */
enum { U8_ACCEPT = 0, U8_REJECT = 8 };
static const uint8_t u8_lo[8] = {0, 0x80, 0x80, 0x80, 0xA0, 0x80, 0x90, 0x80};
static const uint8_t u8_hi[8] = {0, 0xBF, 0xBF, 0xBF, 0xBF, 0x9F, 0xBF, 0x8F};
static const uint8_t u8_next[8] = {0, 0, 1, 2, 1, 1, 2, 2};

static uint8_t utf8_first(uint8_t c)
{
	if (c < 0x80)
		return U8_ACCEPT;
	if (c >= 0xC2 && c <= 0xDF)
		return 1;
	if (c == 0xE0)
		return 4; /* A0..BF: below is overlong */
	if (c == 0xED)
		return 5; /* 80..9F: above are the surrogates D800..DFFF */
	if (c >= 0xE1 && c <= 0xEF)
		return 2;
	if (c == 0xF0)
		return 6; /* 90..BF: below is overlong */
	if (c >= 0xF1 && c <= 0xF3)
		return 3;
	if (c == 0xF4)
		return 7; /* 80..8F: above is past U+10FFFF */
	return U8_REJECT; /* 80..C1 (stray continuation, overlong) and F5..FF */
}

/* Advances *state over p[0..n); false (state U8_REJECT) on the first invalid byte. */
static bool utf8_step(uint8_t *state, const uint8_t *p, size_t n)
{
	uint8_t s = *state;
	for (size_t i = 0; i < n; i++) {
		uint8_t c = p[i];
		if (s == U8_ACCEPT)
			s = utf8_first(c);
		else if (c >= u8_lo[s] && c <= u8_hi[s])
			s = u8_next[s];
		else
			s = U8_REJECT;
		if (s == U8_REJECT)
			break;
	}
	*state = s;
	return s != U8_REJECT;
}

static bool utf8_valid(const uint8_t *p, size_t n)
{
	uint8_t s = U8_ACCEPT;
	return utf8_step(&s, p, n) && s == U8_ACCEPT;
}

/* ---- the parser ---- */

void ws_parser_init(struct ws_parser *p, size_t max_message)
{
	memset(p, 0, sizeof *p);
	buf_init(&p->msg, max_message ? max_message : WS_MESSAGE_MAX);
	p->head_need = 2;
}

void ws_parser_free(struct ws_parser *p)
{
	buf_free(&p->msg);
	free(p->ctl);
	p->ctl = NULL;
}

static bool in_payload(const struct ws_parser *p)
{
	return p->head_len != 0 && p->head_len == p->head_need;
}

/* Frees what the state no longer needs: the previous event's message or control payload. */
static void release(struct ws_parser *p)
{
	if (p->done || !p->msg_op)
		buf_free(&p->msg);
	if (p->done || !(in_payload(p) && p->opcode >= WS_OP_CLOSE)) {
		free(p->ctl);
		p->ctl = NULL;
	}
}

/* Ends the stream with an error event; everything held goes at once. */
static size_t fail(struct ws_parser *p, struct ws_event *ev, int code, const char *why, size_t used)
{
	buf_free(&p->msg);
	free(p->ctl);
	p->ctl = NULL;
	p->msg_op = 0;
	p->done = (uint16_t)code;
	ev->type = WS_EV_ERROR;
	ev->code = code;
	ev->data = why;
	ev->len = strlen(why);
	return used;
}

/* Checks the first two bytes of a header; NULL when they are fine, else why not (1002). */
static const char *check_start(struct ws_parser *p)
{
	uint8_t b0 = p->head[0], b1 = p->head[1], len7 = b1 & 0x7F;
	p->fin = b0 >> 7;
	p->opcode = b0 & 0x0F;
	if (b0 & 0x70)
		return "reserved bits set";
	switch (p->opcode) {
	case WS_OP_CONT:
	case WS_OP_TEXT:
	case WS_OP_BINARY:
	case WS_OP_CLOSE:
	case WS_OP_PING:
	case WS_OP_PONG: break;
	default: return "unknown opcode";
	}
	if (!(b1 & 0x80))
		return "frame not masked";
	if (p->opcode >= WS_OP_CLOSE) {
		if (!p->fin)
			return "fragmented control frame";
		if (len7 > WS_CONTROL_MAX)
			return "control frame over 125 bytes";
	} else if (p->opcode == WS_OP_CONT && !p->msg_op) {
		return "continuation without a message";
	} else if (p->opcode != WS_OP_CONT && p->msg_op) {
		return "new message inside a fragmented one";
	}
	p->head_need = (uint8_t)(2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0) + 4);
	return NULL;
}

/* The whole header is in: takes the length (checked against the limits) and starts the
 * payload. 0, or the close code to fail with (*why says why). */
static int start_payload(struct ws_parser *p, const char **why)
{
	uint8_t len7 = p->head[1] & 0x7F;
	uint64_t len = len7;
	if (len7 >= 126) {
		len = 0;
		for (int i = 0; i < (len7 == 126 ? 2 : 8); i++)
			len = len << 8 | p->head[2 + i];
		if (len >> 63) {
			*why = "64-bit length with the top bit set";
			return WS_CLOSE_PROTOCOL;
		}
	}
	if (p->opcode >= WS_OP_CLOSE) {
		p->ctl_len = (uint8_t)len;
	} else {
		/* msg.len never exceeds msg.max; nothing of this frame is buffered yet */
		if (len > p->msg.max - p->msg.len) {
			*why = "message too big";
			return WS_CLOSE_TOO_BIG;
		}
		if (p->opcode != WS_OP_CONT) {
			p->msg_op = p->opcode;
			p->utf8 = U8_ACCEPT;
		}
	}
	p->left = len;
	p->mask_at = 0;
	return 0;
}

static void unmask(struct ws_parser *p, uint8_t *b, size_t n)
{
	const uint8_t *key = p->head + p->head_need - 4;
	unsigned at = p->mask_at;
	for (size_t i = 0; i < n; i++) {
		b[i] ^= key[at];
		at = (at + 1) & 3;
	}
	p->mask_at = (uint8_t)at;
}

static void end_frame(struct ws_parser *p)
{
	p->head_len = 0;
	p->head_need = 2;
}

/* A whole control frame's payload is in: the event, or an error for a bad Close. */
static size_t control_event(struct ws_parser *p, const uint8_t *data, size_t len,
                            struct ws_event *ev, size_t used)
{
	ev->data = (const char *)data;
	ev->len = len;
	if (p->opcode == WS_OP_PING) {
		ev->type = WS_EV_PING;
		return used;
	}
	if (p->opcode == WS_OP_PONG) {
		ev->type = WS_EV_PONG;
		return used;
	}
	/* section 5.5.1: empty, or a code and then a UTF-8 reason */
	int code = WS_CLOSE_NO_STATUS;
	if (len == 1)
		return fail(p, ev, WS_CLOSE_PROTOCOL, "close payload of one byte", used);
	if (len >= 2) {
		code = data[0] << 8 | data[1];
		if (!ws_close_code_valid(code))
			return fail(p, ev, WS_CLOSE_PROTOCOL, "invalid close code", used);
		if (!utf8_valid(data + 2, len - 2))
			return fail(p, ev, WS_CLOSE_PROTOCOL, "close reason not UTF-8", used);
		ev->data += 2;
		ev->len -= 2;
	}
	ev->type = WS_EV_CLOSE;
	ev->code = code;
	p->done = (uint16_t)code;
	return used;
}

size_t ws_parse(struct ws_parser *p, uint8_t *in, size_t n, struct ws_event *ev)
{
	*ev = (struct ws_event){WS_EV_NONE, 0, "", 0};
	release(p);
	if (p->done)
		return n;
	size_t used = 0;
	for (;;) {
		if (!in_payload(p)) {
			if (used == n)
				return used;
			p->head[p->head_len++] = in[used++];
			if (p->head_len == 2) {
				const char *why = check_start(p);
				if (why)
					return fail(p, ev, WS_CLOSE_PROTOCOL, why, used);
			}
			if (p->head_len < p->head_need)
				continue;
			const char *why = NULL;
			int code = start_payload(p, &why);
			if (code)
				return fail(p, ev, code, why, used);
		}

		if (used == n && p->left)
			return used;
		uint8_t *chunk = in + used;
		size_t take = n - used < p->left ? n - used : (size_t)p->left;
		bool all_here = take == p->left;
		unmask(p, chunk, take);
		used += take;
		p->left -= take;

		if (p->opcode >= WS_OP_CLOSE) {
			if (all_here && !p->ctl) {
				/* the whole payload came in this input: no copy */
				end_frame(p);
				return control_event(p, chunk, take, ev, used);
			}
			if (!p->ctl && !(p->ctl = malloc(WS_CONTROL_MAX)))
				return fail(p, ev, WS_CLOSE_INTERNAL, "out of memory", used);
			memcpy(p->ctl + (p->ctl_len - p->left - take), chunk, take);
			if (p->left)
				return used;
			end_frame(p);
			return control_event(p, p->ctl, p->ctl_len, ev, used);
		}

		if (p->msg_op == WS_OP_TEXT && !utf8_step(&p->utf8, chunk, take))
			return fail(p, ev, WS_CLOSE_BAD_DATA, "text is not UTF-8", used);
		/* a one-frame message whose payload is all in this input: no copy */
		bool direct = all_here && p->fin && p->opcode != WS_OP_CONT && p->msg.len == 0;
		if (!direct && take) {
			int rc = buf_add(&p->msg, chunk, take);
			if (rc == ERR_NOMEM)
				return fail(p, ev, WS_CLOSE_INTERNAL, "out of memory", used);
			if (rc) /* not expected: the header was checked against the same limit */
				return fail(p, ev, WS_CLOSE_TOO_BIG, "message too big", used);
		}
		if (p->left)
			return used;
		end_frame(p);
		if (!p->fin)
			continue;
		if (p->msg_op == WS_OP_TEXT && p->utf8 != U8_ACCEPT)
			return fail(p, ev, WS_CLOSE_BAD_DATA, "text ends inside a character", used);
		ev->type = p->msg_op == WS_OP_TEXT ? WS_EV_TEXT : WS_EV_BINARY;
		ev->data = direct ? (const char *)chunk : buf_str(&p->msg);
		ev->len = direct ? take : p->msg.len;
		p->msg_op = 0;
		return used;
	}
}

char *ws_parser_take(struct ws_parser *p, const struct ws_event *ev, size_t *len)
{
	if (p->msg.ptr && ev->data == p->msg.ptr && ev->len == p->msg.len)
		return buf_take(&p->msg, len);
	char *copy = malloc(ev->len + 1);
	if (!copy)
		return NULL;
	memcpy(copy, ev->data, ev->len);
	copy[ev->len] = '\0';
	*len = ev->len;
	return copy;
}

/* ---- frames to the client ---- */

size_t ws_frame_head(uint8_t out[WS_FRAME_HEAD_MAX], int opcode, size_t payload_len)
{
	switch (opcode) {
	case WS_OP_TEXT:
	case WS_OP_BINARY: break;
	case WS_OP_CLOSE:
	case WS_OP_PING:
	case WS_OP_PONG:
		if (payload_len > WS_CONTROL_MAX)
			return 0;
		break;
	default: return 0;
	}
	out[0] = (uint8_t)(0x80 | opcode);
	if (payload_len <= WS_CONTROL_MAX) {
		out[1] = (uint8_t)payload_len;
		return 2;
	}
	if (payload_len <= 0xFFFF) {
		out[1] = 126;
		out[2] = (uint8_t)(payload_len >> 8);
		out[3] = (uint8_t)payload_len;
		return 4;
	}
	out[1] = 127;
	uint64_t len = payload_len;
	for (int i = 0; i < 8; i++)
		out[2 + i] = (uint8_t)(len >> (56 - 8 * i));
	return 10;
}

int ws_close_code_valid(int code)
{
	/* 1004-1006 and 1015 are reserved and must never travel in a Close (section 7.4.1);
	 * 1012-2999 are not defined by RFC 6455; 3000-4999 belong to libraries and apps */
	return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1011) ||
	       (code >= 3000 && code <= 4999);
}

size_t ws_close_payload(uint8_t out[WS_CONTROL_MAX], int code, const char *reason,
                        size_t reason_len)
{
	if (!ws_close_code_valid(code))
		return 0;
	out[0] = (uint8_t)(code >> 8);
	out[1] = (uint8_t)code;
	size_t n = reason_len < REASON_MAX ? reason_len : REASON_MAX;
	/* a cut before a continuation byte would split a character: back up to its start */
	while (n > 0 && n < reason_len && ((uint8_t)reason[n] & 0xC0) == 0x80)
		n--;
	if (n)
		memcpy(out + 2, reason, n);
	return 2 + n;
}
