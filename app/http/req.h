/* http/req.h: the one request type every handler gets: int handler(struct req *r).
 * A handler reads top to bottom: parse, validate, one transaction, respond. It returns 0
 * after building a response, or the negative value of http_error(). Everything a handler
 * allocates comes from r->arena and is released when the response is done. */
#ifndef HTTP_REQ_H
#define HTTP_REQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/json.h"
#include "core/page.h"
#include "http/errors.h"
#include "http/route.h"

struct mg_connection;

#define REQ_MAX_PARAMS 8

struct req {
	struct mg_connection *conn;
	const struct route *route; /* NULL when no route matched */
	int route_index;           /* its index in the router, -1 when none */
	struct arena arena;
	const char *method;
	const char *path;          /* decoded path, without the query */
	const char *query;         /* raw query string or NULL */
	const char *remote_ip;
	bool loopback;             /* the peer is 127.0.0.0/8 or ::1 */
	const char *param_names[REQ_MAX_PARAMS];
	const char *param_values[REQ_MAX_PARAMS];
	int nparams;
	const char *body;          /* the request body, NUL-terminated (route->body_max > 0) */
	size_t body_len;
	char request_id[65];       /* a client's id (<= 64 plain bytes) or ours */
	/* the caller, once server_authenticate accepted a token (NULL otherwise) */
	const char *user_id;
	const char *user_role; /* "user", "agent" or "admin" */
	const void *user;      /* the caller's record as the accounts domain loaded it (its type is
	                        * that domain's), so a handler need not read it again */
	int64_t token_exp;     /* when the caller's access token expires, unix seconds */
	bool token_in_protocol; /* it came as Sec-WebSocket-Protocol: bearer, <token> */
	int64_t start_us;

	/* the response being built */
	int status;
	const char *content_type;
	struct buf out;            /* response body */
	struct buf headers;        /* extra header lines, each ending in \r\n */
	bool written;              /* the handler wrote the response itself (files, streams) */
	size_t bytes_sent;
	const char *error_code;    /* set by http_error, for logs and metrics */
	bool broken;               /* the response could not be built: answer 500 instead */
};

/* Path parameter {name} of the matched pattern, or NULL. */
const char *req_param(const struct req *r, const char *name);
/* Decoded query parameter (first occurrence) from r->arena, or NULL. */
const char *req_query(struct req *r, const char *name);
/* Request header, or NULL. */
const char *req_header(const struct req *r, const char *name);
/* Parses the body as JSON into r->arena. On failure answers 400 invalid_json itself and
 * returns its negative value, so a handler can simply return it. */
int req_json(struct req *r, struct json **out);

/* The body as a JSON object (400 invalid_json / invalid_input otherwise, already answered). */
int req_object(struct req *r, struct json **out);
/* A string member of obj: *out is NULL when absent and not required. Wrong type, missing
 * when required, longer than max bytes (or, with nonempty, empty) answer 400 invalid_input
 * naming the field, and return its negative value. */
int req_str(struct req *r, const struct json *obj, const char *name, bool required, size_t max,
            const char **out);
/* An optional boolean or integer member; *present tells whether it was there. */
int req_bool(struct req *r, const struct json *obj, const char *name, bool *present, bool *out);
int req_int(struct req *r, const struct json *obj, const char *name, int64_t min, int64_t max,
            bool *present, int64_t *out);
/* ?limit= (default 50, 1..200) and ?cursor= (opaque, may be NULL). */
int req_page(struct req *r, int *limit, const char **cursor);
/* The same into a struct page for a store function. */
int req_page_of(struct req *r, struct page *pg);
/* Answers 200 {"items":[...],"next_cursor"} from a store function's page of structs: item()
 * writes one (p points at an element of size bytes). */
int res_page(struct req *r, const struct page_out *out, size_t size, void (*item)(struct jw *w, const void *p));

/* True when the request's If-None-Match names etag (weak comparison) or is "*". */
bool req_etag_match(const struct req *r, const char *etag);

/* Starts a JSON response with the given status; write the body through w, then
 * `return res_end(r, &w);` which turns a writer error into 500 internal. */
struct jw *res_json(struct req *r, int status, struct jw *w);
int res_end(struct req *r, struct jw *w);
/* Any other body (copied). */
int res_body(struct req *r, int status, const char *content_type, const void *data, size_t n);
/* Adds a response header; name and value must not contain CR or LF. */
void res_header(struct req *r, const char *name, const char *value);

/* For routes with body_max 0 that stream their body themselves (uploads): up to n bytes,
 * 0 at the end, negative on error; and the declared length (-1 when chunked). */
int req_read(struct req *r, void *buf, size_t n);
long long req_content_length(const struct req *r);
/* Answers with length bytes of the file at path from offset, streamed (never held in
 * memory; a whole file goes by sendfile); status and r->headers as usual. ERR_NOTFOUND,
 * with nothing sent, when the file cannot be opened. After the head is sent errors can only
 * cut the body short. */
int res_file(struct req *r, int status, const char *content_type, const char *path,
             long long offset, long long length);

/* A response written while it is produced (Server-Sent Events): chunked, no length.
 * start sends the head (status, content type, r->headers); each write is one chunk; end
 * closes the body. They return 0, or ERR_IO once the client is gone. */
int res_stream_start(struct req *r, int status, const char *content_type);
int res_stream_write(struct req *r, const void *data, size_t n);
void res_stream_end(struct req *r);

/* Records the error response {"error":{"code","message","field"}} of e (its status and code
 * from the one table, http/errors.h) and returns a negative value for the handler to return.
 * message NULL says the table's meaning; field may be NULL. */
int http_error(struct req *r, enum http_err e, const char *message, const char *field);
/* The same with more members of the error object, written by more(w, ctx) after "message"
 * (the lists of a mismatched_devices error). */
struct jw;
int http_error_more(struct req *r, enum http_err e, const char *message, const char *field,
                    void (*more)(struct jw *w, const void *ctx), const void *ctx);

#endif
