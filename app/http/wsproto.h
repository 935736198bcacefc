/* http/wsproto.h: the server side of the WebSocket protocol (RFC 6455) as a codec: the opening
 * handshake's checks, an incremental frame parser and the frame encoder. Bytes in, events and
 * bytes out: no sockets, no threads, no civetweb, and no heap while no message is in flight. */
#ifndef HTTP_WSPROTO_H
#define HTTP_WSPROTO_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"

/* Opcodes (RFC 6455 section 5.2). */
enum {
	WS_OP_CONT = 0x0,
	WS_OP_TEXT = 0x1,
	WS_OP_BINARY = 0x2,
	WS_OP_CLOSE = 0x8,
	WS_OP_PING = 0x9,
	WS_OP_PONG = 0xA,
};

/* Close codes this server sends or reads (section 7.4.1). */
enum {
	WS_CLOSE_NORMAL = 1000,
	WS_CLOSE_GOING_AWAY = 1001,
	WS_CLOSE_PROTOCOL = 1002,
	WS_CLOSE_NO_STATUS = 1005, /* the peer's Close had no code; never sent */
	WS_CLOSE_BAD_DATA = 1007,  /* a text message (not a close reason) that is not UTF-8 */
	WS_CLOSE_POLICY = 1008,
	WS_CLOSE_TOO_BIG = 1009,
	WS_CLOSE_INTERNAL = 1011,
	WS_CLOSE_REPLACED = 4409, /* a newer connection claims the same relay device */
};

#define WS_CONTROL_MAX    125           /* payload bytes of a ping, pong or close */
#define WS_MESSAGE_MAX    (1024 * 1024) /* reassembled message limit unless told otherwise */
#define WS_ACCEPT_SIZE    29            /* Sec-WebSocket-Accept: 28 characters and a NUL */
#define WS_FRAME_HEAD_MAX 10            /* a server frame's header: never masked */
#define WS_BEARER         "bearer"      /* the subprotocol that carries an access token */

/* ---- opening handshake (sections 4.2.1 and 4.2.2) ---- */

/* Sec-WebSocket-Accept for a Sec-WebSocket-Key: base64(SHA-1(key + the RFC's GUID)), into out
 * as a C string. Leading and trailing spaces and tabs of client_key are ignored. 0; ERR_INVAL
 * when the key is not the canonical base64 of exactly 16 bytes; ERR_NOMEM. On failure out is "". */
WUR int ws_accept_key(const char *client_key, char out[WS_ACCEPT_SIZE]);

/* Why an upgrade request was refused, with the HTTP status to answer: one table. 426 means the
 * response must carry "Upgrade: websocket" (and "Sec-WebSocket-Version: 13" for a bad version). */
#define WS_REFUSALS(X)                                                                             \
	X(WS_REFUSE_NONE, 0, "a valid upgrade")                                                    \
	X(WS_REFUSE_METHOD, 405, "the method is not GET")                                          \
	X(WS_REFUSE_HTTP_VERSION, 400, "HTTP/1.1 or later is required")                            \
	X(WS_REFUSE_HOST, 400, "the Host header is missing")                                       \
	X(WS_REFUSE_UPGRADE, 426, "Upgrade does not name websocket")                               \
	X(WS_REFUSE_CONNECTION, 400, "Connection does not name upgrade")                           \
	X(WS_REFUSE_VERSION, 426, "Sec-WebSocket-Version is not 13")                               \
	X(WS_REFUSE_KEY, 400, "Sec-WebSocket-Key is not the base64 of 16 bytes")

#define WS_REFUSAL_ENUM(name, status, text) name,
enum ws_refusal { WS_REFUSALS(WS_REFUSAL_ENUM) };
#undef WS_REFUSAL_ENUM

/* The value of the request header name (any case), or NULL when absent. Where a header came
 * more than once, the caller joins the values with ", " (RFC 9110 section 5.3). */
typedef const char *(*ws_header_fn)(void *ctx, const char *name);

/* Whether a request is a valid WebSocket upgrade. method as sent ("GET"); http_version as
 * "1.1" or "HTTP/1.1". 0 with accept filled in (the Sec-WebSocket-Accept to answer); ERR_INVAL
 * with *why set; ERR_NOMEM. *why is always set (WS_REFUSE_NONE on success). Subprotocols and
 * Origin are the caller's business. */
WUR int ws_handshake_check(const char *method, const char *http_version, ws_header_fn header,
                           void *ctx, enum ws_refusal *why, char accept[WS_ACCEPT_SIZE]);
int ws_refusal_status(enum ws_refusal why);
const char *ws_refusal_str(enum ws_refusal why);

/* The access token in "Sec-WebSocket-Protocol: bearer, <token>": the list entry right after an
 * entry that is exactly "bearer" (case-sensitive, since the server answers with the client's
 * spelling: "Sec-WebSocket-Protocol: bearer"). 0 with *token and *len pointing into protocols
 * (not NUL-terminated there); ERR_NOTFOUND when protocols is NULL or has no bearer entry;
 * ERR_INVAL when nothing, or an empty entry, follows it. */
WUR int ws_bearer_token(const char *protocols, const char **token, size_t *len);

/* ---- frames from the client (section 5) ---- */

enum ws_event_type {
	WS_EV_NONE = 0, /* all input used and no event: read more */
	WS_EV_TEXT,     /* a whole message, valid UTF-8 */
	WS_EV_BINARY,   /* a whole message */
	WS_EV_PING,     /* answer with a pong carrying the same payload */
	WS_EV_PONG,
	WS_EV_CLOSE, /* code: the peer's (WS_CLOSE_NO_STATUS when none); data: the reason */
	WS_EV_ERROR, /* code: the close code to send; data: a short reason, fit for the close */
};

/* One event. data is borrowed: it stays valid until the next ws_parse or ws_parser_free on the
 * same parser (and, for a message that came in one piece, while the caller's input bytes do);
 * ws_parser_take keeps it longer. data is never NULL and need not be NUL-terminated: len is the
 * truth. */
struct ws_event {
	int type; /* enum ws_event_type */
	int code;
	const char *data;
	size_t len;
};

/* The reading half of one connection. Owner: the connection. Kept small because an event loop
 * holds one per open socket (10,000 of them): 40 bytes plus the buffer struct, 72 in all on
 * 64-bit (the unit test holds it to at most 64 plus the buffer struct). Holds no heap memory while
 * no message or control frame is partly received: the message buffer exists only while a message is
 * being assembled and is released by the next ws_parse after the message was delivered. */
struct ws_parser {
	struct buf msg;    /* the message being assembled; max is the message limit */
	uint8_t *ctl;      /* a control frame's payload split across inputs; NULL otherwise */
	uint64_t left;     /* payload bytes of the current frame still to come */
	uint8_t head[14];  /* the current frame's header as read so far (at most 2 + 8 + 4) */
	uint8_t head_len;  /* bytes in head; the header is complete when it equals head_need */
	uint8_t head_need; /* 2 until the second byte tells the real size */
	uint8_t opcode;    /* the current frame's */
	uint8_t fin;       /* the current frame's */
	uint8_t msg_op;    /* TEXT or BINARY while a message is being received, else 0 */
	uint8_t ctl_len;   /* the current control frame's payload length */
	uint8_t utf8;      /* UTF-8 decoder state across the text message's bytes so far */
	uint8_t mask_at;   /* position in the masking key of the next payload byte (0..3) */
	uint16_t done;     /* 0 while open; the close or error code once the stream has ended */
};

/* max_message: the largest reassembled message accepted (larger: WS_CLOSE_TOO_BIG, noticed from
 * the frame headers before any of it is buffered); 0 means WS_MESSAGE_MAX. */
void ws_parser_init(struct ws_parser *p, size_t max_message);
/* Releases what the parser holds; it may be initialised again afterwards. */
void ws_parser_free(struct ws_parser *p);

/* Reads frames from in[0..n) and stops after the first event. Returns the bytes used and sets
 * *ev (WS_EV_NONE when all n bytes were used without completing an event). Call it again with
 * the rest until it answers WS_EV_NONE; that call also releases the previous event's memory.
 * Masked payload bytes are unmasked IN PLACE in in[], so that a message that arrives whole is
 * handed over without a copy. Input may come in pieces of any size, one byte at a time too.
 * After a CLOSE or an ERROR event the stream is over: later input is used up and ignored
 * (RFC 6455 section 5.5.1), and the caller sends its close frame and closes the socket. */
size_t ws_parse(struct ws_parser *p, uint8_t *in, size_t n, struct ws_event *ev);

/* Hands the data of ev, the event ws_parse just gave, to the caller: without a copy when it is
 * the assembled message buffer, else copied. free() the result; *len gets its length (the bytes
 * are NUL-terminated too). NULL when memory is short. */
char *ws_parser_take(struct ws_parser *p, const struct ws_event *ev, size_t *len);

/* ---- frames to the client ---- */

/* Writes the header of a final, unmasked frame (servers never mask) into out. Returns its length
 * (2, 4 or 10), or 0 when opcode is not one of WS_OP_* or a control payload exceeds 125 bytes. */
size_t ws_frame_head(uint8_t out[WS_FRAME_HEAD_MAX], int opcode, size_t payload_len);

/* Whether a peer may put code in a Close frame: 1000-1003, 1007-1011, 3000-4999. */
int ws_close_code_valid(int code);
/* Builds a Close payload: the code, then as much of reason as fits in 123 bytes, cut at a
 * character boundary (reason must be UTF-8; may be NULL when reason_len is 0). Returns its
 * length; 0 (an empty Close) when code may not be sent, WS_CLOSE_NO_STATUS among them, so that
 * echoing a peer's empty Close gives an empty one. */
size_t ws_close_payload(uint8_t out[WS_CONTROL_MAX], int code, const char *reason,
                        size_t reason_len);

#endif
