/* http/server.c: civetweb glue. Every request runs through serve() on a civetweb worker
 * thread and leaves through send_response(); nothing else writes to a connection unless a
 * handler takes it over (r->written). Must never read a body past its route's limit. */
#include "http/server.h"

#include <arpa/inet.h>
#include <civetweb.h>
#include <mbedtls/ssl.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"
#include "core/time.h"
#include "core/rand.h"
#include "http/head.h"
#include "http/live.h"
#include "http/loop.h"
#include "http/metrics.h"
#include "http/router.h"
#include "http/static.h"

#define ARENA_MAX (16u << 20) /* per-request memory budget */
#define ARENA_FIRST 8192
#define OUT_MAX (64u << 20)   /* largest response built in memory */
#define INLINE_BODY_MAX 16384 /* bodies up to this go out in the same write as the head */
/* whole heads waiting for a free worker inside civetweb; more wait in the loop, which lets
 * light requests go first */
#define SOCKET_QUEUE 32
#define WORKER_NICE 5        /* workers' nice value over the loop's (see on_init_thread) */
#define PARK_GRACE_MS 20      /* how long a worker waits for a kept-alive client's next request */
#define IDLE_TIMEOUT_MS 65000 /* an idle kept-alive connection, held by the loop */

int (*server_authenticate)(struct req *r, enum route_access need);

static struct mg_context *ctx;
static char url[128];
static atomic_int inflight;
static atomic_bool draining;
static char *cors; /* ",origin1,origin2," for whole-item search */
static void (*worker_exit)(void); /* set by server_start, read by worker threads after */
static unsigned long long request_prefix;
static atomic_ullong request_seq;
static bool cors_any;
static long long body_max; /* the largest declared body any route takes */
/* REQUEST_TIMEOUT_MS, also the longest a file send waits for the peer */
static int request_timeout_ms = 30000;

static const char *reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 206: return "Partial Content";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 413: return "Payload Too Large";
	case 416: return "Range Not Satisfiable";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 507: return "Insufficient Storage";
	}
	return "Status";
}

static bool is_loopback(const char *ip)
{
	return strncmp(ip, "127.", 4) == 0 || strcmp(ip, "::1") == 0 ||
	       strncmp(ip, "::ffff:127.", 11) == 0;
}

/* TRUSTED_PROXIES: addresses and CIDR ranges, as IPv6 (IPv4 mapped) with a prefix length. */
struct net {
	uint8_t a[16];
	int bits;
};
static struct net *trusted;
static size_t ntrusted;

/* An address as 16 bytes, IPv4 mapped into IPv6; false when it is not an address. */
static bool addr16(const char *s, size_t n, uint8_t out[16])
{
	char tmp[INET6_ADDRSTRLEN];
	if (n == 0 || n >= sizeof tmp)
		return false;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	if (inet_pton(AF_INET6, tmp, out) == 1)
		return true;
	memset(out, 0, 10);
	out[10] = out[11] = 0xff;
	return inet_pton(AF_INET, tmp, out + 12) == 1;
}

static bool is_trusted(const char *ip, size_t n)
{
	uint8_t a[16];
	if (!ntrusted || !addr16(ip, n, a))
		return false;
	for (size_t i = 0; i < ntrusted; i++) {
		int bits = trusted[i].bits, whole = bits / 8, rest = bits % 8;
		if (memcmp(a, trusted[i].a, (size_t)whole) == 0 &&
		    (!rest || ((a[whole] ^ trusted[i].a[whole]) & (0xff << (8 - rest))) == 0))
			return true;
	}
	return false;
}

/* Parsed at start (the setting was checked by then: a bad entry is skipped with a warning). */
static void set_trusted(const char *list)
{
	free(trusted);
	trusted = NULL;
	ntrusted = 0;
	for (const char *p = list ? list : ""; *p;) {
		p += strspn(p, ", ");
		size_t n = strcspn(p, ", ");
		if (!n)
			break;
		const char *slash = memchr(p, '/', n);
		struct net net;
		size_t an = slash ? (size_t)(slash - p) : n;
		bool v4 = memchr(p, ':', an) == NULL;
		net.bits = slash ? atoi(slash + 1) + (v4 ? 96 : 0) : 128;
		struct net *grown = realloc(trusted, (ntrusted + 1) * sizeof *trusted);
		if (grown)
			trusted = grown;
		if (grown && addr16(p, an, net.a) && net.bits >= 0 && net.bits <= 128)
			trusted[ntrusted++] = net;
		else
			log_warn("TRUSTED_PROXIES: an entry is not an address or range; skipped", NULL);
		p += n;
	}
}

/* The client's address: the peer's, or, when the peer is a trusted proxy, the nearest address
 * in X-Forwarded-For that is not a trusted proxy (X-Real-IP when that is all there is). */
static const char *client_addr(struct req *r, const char *peer)
{
	if (!is_trusted(peer, strlen(peer)))
		return peer;
	const char *xff = req_header(r, "X-Forwarded-For");
	if (!xff) {
		const char *real = req_header(r, "X-Real-IP");
		uint8_t a[16];
		return real && addr16(real, strlen(real), a) ? real : peer;
	}
	const char *found = peer;
	size_t end = strlen(xff);
	while (end > 0) {
		size_t start = end;
		while (start > 0 && xff[start - 1] != ',')
			start--;
		size_t s = start, e = end;
		while (s < e && xff[s] == ' ')
			s++;
		while (e > s && xff[e - 1] == ' ')
			e--;
		uint8_t a[16];
		if (!addr16(xff + s, e - s, a))
			break; /* garbage: believe nothing further left */
		char *ip = arena_alloc(&r->arena, e - s + 1);
		if (!ip)
			break;
		memcpy(ip, xff + s, e - s);
		ip[e - s] = '\0';
		found = ip;
		if (!is_trusted(ip, e - s))
			break;
		end = start ? start - 1 : 0;
	}
	return found;
}

/* A client's X-Request-Id is kept when it is short and plain, so ids can follow a request
 * through proxies; anything else is replaced. */
static void set_request_id(struct req *r)
{
	const char *given = req_header(r, "X-Request-Id");
	size_t n = given ? strlen(given) : 0;
	bool ok = n > 0 && n < sizeof r->request_id;
	for (size_t i = 0; ok && i < n; i++) {
		char c = given[i];
		ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		     c == '-' || c == '_' || c == '.';
	}
	if (ok) {
		memcpy(r->request_id, given, n + 1);
		return;
	}
	/* ids must be unique, not secret: a random per-process prefix and a counter, so the
	 * request path never waits on the shared random generator */
	unsigned long long seq = atomic_fetch_add_explicit(&request_seq, 1, memory_order_relaxed);
	snprintf(r->request_id, sizeof r->request_id, "%016llx-%012llx", request_prefix, seq);
}

static int hex_digit(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* civetweb is told not to decode paths (decode_url=no), so that this can refuse what
 * decoding would hide: an encoded NUL cuts a C string short. NULL for a bad path. */
static const char *decode_path(struct arena *a, const char *raw)
{
	size_t n = strlen(raw);
	char *out = arena_alloc(a, n + 1), *o = out;
	if (!out)
		return NULL;
	for (const char *p = raw; *p; p++) {
		if (*p != '%') {
			*o++ = *p;
			continue;
		}
		int hi = hex_digit(p[1]), lo = hi < 0 ? -1 : hex_digit(p[2]);
		if (lo < 0 || (hi == 0 && lo == 0))
			return NULL;
		*o++ = (char)(hi * 16 + lo);
		p += 2;
	}
	*o = '\0';
	return out;
}

static const char *allowed_origin(struct req *r)
{
	const char *origin = req_header(r, "Origin");
	if (!origin || (!cors_any && !cors))
		return NULL;
	if (cors_any)
		return origin;
	size_t n = strlen(origin);
	for (const char *p = strstr(cors, origin); p; p = strstr(p + 1, origin))
		if (p[-1] == ',' && p[n] == ',')
			return origin;
	return NULL;
}

/* Reads the whole body into the arena, refusing more than the route allows: a declared
 * length is checked before reading; a chunked body is read until it passes the limit. */
static int read_body(struct req *r, const struct mg_request_info *ri)
{
	size_t max = r->route->body_max, len = 0, cap;
	bool known = ri->content_length >= 0;
	if (known && (unsigned long long)ri->content_length > max)
		return http_error(r, E_PAYLOAD_TOO_LARGE, "the request body is too large", NULL);
	cap = known ? (size_t)ri->content_length : (max < 4096 ? max : 4096);
	char *body = arena_alloc(&r->arena, cap + 1);
	for (;;) {
		if (!body)
			return http_error(r, E_INTERNAL, "out of memory for the request body", NULL);
		if (len == cap) {
			if (known)
				break;
			if (cap == max) {
				char probe;
				if (mg_read(r->conn, &probe, 1) > 0)
					return http_error(r, E_PAYLOAD_TOO_LARGE,
					                  "the request body is too large", NULL);
				break;
			}
			size_t ncap = cap * 2 > max ? max : cap * 2;
			char *grown = arena_alloc(&r->arena, ncap + 1);
			if (grown)
				memcpy(grown, body, len);
			body = grown;
			cap = ncap;
			continue;
		}
		int got = mg_read(r->conn, body + len, cap - len);
		if (got <= 0) {
			if (known || got < 0)
				return http_error(r, E_INVALID_INPUT, "the request body ended early", NULL);
			break;
		}
		len += (size_t)got;
	}
	body[len] = '\0';
	r->body = body;
	r->body_len = len;
	return 0;
}

static void cors_headers(struct req *r, const char *origin)
{
	if (!origin)
		return;
	res_header(r, "Access-Control-Allow-Origin", origin);
	res_header(r, "Access-Control-Expose-Headers", "X-Request-Id, Retry-After, ETag");
}

static int preflight(struct req *r, const char *origin, const char *allow)
{
	r->status = 204;
	if (origin) {
		res_header(r, "Access-Control-Allow-Methods", allow);
		res_header(r, "Access-Control-Allow-Headers",
		           "Authorization, Content-Type, X-Request-Id, X-Widget-Token, If-None-Match");
		res_header(r, "Access-Control-Max-Age", "600");
	}
	return 0;
}

/* Everything between "a request arrived" and "its response is ready". */
static void serve(struct req *r, const struct mg_request_info *ri)
{
	struct buf allow = BUF_INIT(256);
	const char *origin = allowed_origin(r);
	if (req_header(r, "Origin"))
		res_header(r, "Vary", "Origin");
	cors_headers(r, origin);

	if (atomic_load(&draining)) {
		res_header(r, "Retry-After", "5");
		http_error(r, E_UNAVAILABLE, "the server is shutting down", NULL);
		goto out;
	}
	if (!r->path) {
		http_error(r, E_INVALID_INPUT, "the path has a bad %-escape or an encoded NUL", NULL);
		goto out;
	}
	r->route = router_match(r, &allow);
	if (strcmp(r->method, "OPTIONS") == 0) {
		if (!r->route && !allow.len) {
			http_error(r, E_NOT_FOUND, "no such resource", NULL);
		} else {
			/* the route matched nothing for OPTIONS itself: allow holds every method */
			const char *methods = buf_str(&allow);
			res_header(r, "Allow", methods);
			if (req_header(r, "Access-Control-Request-Method"))
				preflight(r, origin, methods);
			else
				r->status = 204;
		}
		goto out;
	}
	if (!r->route) {
		if (allow.len) {
			res_header(r, "Allow", buf_str(&allow));
			http_error(r, E_METHOD_NOT_ALLOWED, "this resource does not answer that method",
			           NULL);
		} else if ((strcmp(r->method, "GET") != 0 && strcmp(r->method, "HEAD") != 0) ||
		           static_serve(r) == ERR_NOTFOUND) {
			http_error(r, E_NOT_FOUND, "no such resource", NULL);
		}
		goto out;
	}
	if (r->route->access == ACCESS_LOOPBACK && !r->loopback) {
		if (!server_authenticate || server_authenticate(r, ACCESS_ADMIN) < 0)
			http_error(r, E_FORBIDDEN, "only from this machine or with an admin token",
			           NULL);
		if (r->error_code)
			goto out;
	} else if (r->route->access == ACCESS_OPTIONAL &&
	           (req_header(r, "Authorization") || (route_query_token(r->route) && req_query(r, "access_token")))) {
		if (!server_authenticate || server_authenticate(r, ACCESS_USER) < 0) {
			if (!r->error_code)
				http_error(r, E_UNAUTHORIZED, "the access token is not valid", NULL);
			goto out;
		}
	} else if (r->route->access >= ACCESS_USER) {
		if (!server_authenticate) {
			http_error(r, E_UNAUTHORIZED, "sign in first", NULL);
			goto out;
		}
		if (server_authenticate(r, r->route->access) < 0)
			goto out;
	}
	if (r->route->body_max && r->route->body_max != BODY_STREAM && read_body(r, ri) < 0)
		goto out;
	int rc = r->route->handler(r);
	if (rc < 0 && !r->error_code)
		http_error(r, E_INTERNAL, "something went wrong on our side", NULL);
	else if (rc >= 0 && !r->status && !r->written)
		http_error(r, E_INTERNAL, "the handler gave no response", NULL);
out:
	buf_free(&allow);
}

/* The status line and headers of r's response, for a body of length bytes (negative: a
 * chunked body of unknown length). */
static int head_into(struct req *r, struct buf *h, long long length)
{
	bool no_body = r->status == 204 || r->status == 304;
	char code[4] = {(char)('0' + r->status / 100 % 10), (char)('0' + r->status / 10 % 10),
	                (char)('0' + r->status % 10), '\0'};
	int rc = buf_adds(h, "HTTP/1.1 ");
	rc = rc ? rc : buf_adds(h, code);
	rc = rc ? rc : buf_addc(h, ' ');
	rc = rc ? rc : buf_adds(h, reason(r->status));
	rc = rc ? rc : buf_adds(h, "\r\nX-Request-Id: ");
	rc = rc ? rc : buf_adds(h, r->request_id);
	rc = rc ? rc : buf_adds(h, "\r\n");
	if (!rc && !no_body)
		rc = buf_printf(h, "Content-Type: %s\r\n", r->content_type ? r->content_type : "application/octet-stream");
	if (!rc && !no_body)
		rc = length < 0 ? buf_adds(h, "Transfer-Encoding: chunked\r\n")
		                : buf_printf(h, "Content-Length: %lld\r\n", length);
	if (!rc && !strstr(buf_str(&r->headers), "Cache-Control:"))
		rc = buf_adds(h, "Cache-Control: no-store\r\n");
	if (!rc)
		rc = buf_adds(h, "X-Content-Type-Options: nosniff\r\n");
	if (!rc && atomic_load(&draining))
		rc = buf_adds(h, "Connection: close\r\n");
	if (!rc)
		rc = buf_add(h, r->headers.ptr ? r->headers.ptr : "", r->headers.len);
	return rc ? rc : buf_adds(h, "\r\n");
}

static void send_response(struct req *r)
{
	if (r->written)
		return;
	if (r->broken) {
		buf_reset(&r->headers);
		r->broken = false;
		http_error(r, E_INTERNAL, "the response could not be built", NULL);
	}
	bool head = strcmp(r->method, "HEAD") == 0;
	bool no_body = r->status == 204 || r->status == 304;
	/* a small body rides in the head's segment (one write, one copy of a few KiB); a larger
	 * one is written from where the handler built it, never copied: its full segments leave
	 * at once, so Nagle has nothing small to hold back */
	bool body = !head && !no_body && r->out.len > 0;
	bool inline_body = body && r->out.len <= INLINE_BODY_MAX;
	struct buf h = BUF_INIT(OUT_MAX + 65536); /* a cap, not an allocation */
	int rc = buf_reserve(&h, 512 + r->headers.len + (inline_body ? r->out.len : 0));
	rc = rc ? rc : head_into(r, &h, (long long)r->out.len);
	if (!rc && inline_body)
		rc = buf_add(&h, r->out.ptr, r->out.len);
	if (rc) {
		buf_reset(&h);
		rc = buf_printf(&h, "HTTP/1.1 500 Internal Server Error\r\nX-Request-Id: %s\r\n"
		                    "Content-Length: 0\r\nConnection: close\r\n\r\n",
		                r->request_id);
		r->status = 500;
	}
	if (!rc && mg_write(r->conn, h.ptr, h.len) > 0) {
		r->bytes_sent = h.len;
		if (body && !inline_body && mg_write(r->conn, r->out.ptr, r->out.len) > 0)
			r->bytes_sent += r->out.len;
	}
	buf_free(&h);
}

/* The connection's plain-TCP socket, or -1 under TLS (the bytes must pass through it). */
static int conn_socket(struct req *r)
{
	void *ssl;
	int fd = mg_handoff_socket(r->conn, &ssl);
	return ssl ? -1 : fd;
}

/* Head and body straight to the socket: the head corked (MSG_MORE) so it leaves with the
 * first pages, the pages by sendfile(2) with the exact length (a longer count makes the
 * kernel hold the last segment back, waiting for more). False when nothing could be sent. */
static bool send_direct(struct req *r, int sock, const struct buf *head, int fd, long long offset, long long length)
{
	size_t off = 0;
	int64_t deadline = time_mono_us() + (int64_t)request_timeout_ms * 1000;
	while (off < head->len) {
		ssize_t n = send(sock, head->ptr + off, head->len - off, MSG_MORE | MSG_NOSIGNAL);
		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		struct pollfd p = {.fd = sock, .events = POLLOUT};
		if (n == 0 || (errno != EAGAIN && errno != EINTR) || time_mono_us() > deadline || poll(&p, 1, 1000) < 0)
			return off > 0;
	}
	r->bytes_sent = head->len;
	while (length > 0) {
		off_t at = (off_t)offset;
		ssize_t n = sendfile(sock, fd, &at, (size_t)(length < (1LL << 30) ? length : (1LL << 30)));
		if (n > 0) {
			offset += n;
			length -= n;
			r->bytes_sent += (size_t)n;
			continue;
		}
		struct pollfd p = {.fd = sock, .events = POLLOUT};
		if (n == 0 || (errno != EAGAIN && errno != EINTR) || time_mono_us() > deadline || poll(&p, 1, 1000) < 0)
			break; /* the peer left or stalled, or the file shrank: the response is short */
	}
	return true;
}

int res_file(struct req *r, int status, const char *content_type, const char *path,
             long long offset, long long length)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return ERR_NOTFOUND;
	r->status = status;
	r->content_type = content_type;
	struct buf h = BUF_INIT(65536 + 1024);
	if (head_into(r, &h, length)) {
		buf_free(&h);
		close(fd);
		return http_error(r, E_INTERNAL, "the response could not be built", NULL);
	}
	/* from here on the response is ours: no error body can follow a sent head */
	r->written = true;
	bool body = strcmp(r->method, "HEAD") != 0 && status != 304 && length > 0;
	int sock = body ? conn_socket(r) : -1;
	if ((sock < 0 || !send_direct(r, sock, &h, fd, offset, length)) && mg_write(r->conn, h.ptr, h.len) > 0) {
		r->bytes_sent = h.len;
		char chunk[64 * 1024];
		while (body && length > 0) { /* TLS: the bytes must pass through it */
			size_t want = length < (long long)sizeof chunk ? (size_t)length : sizeof chunk;
			ssize_t got = pread(fd, chunk, want, offset);
			if (got <= 0 || mg_write(r->conn, chunk, (size_t)got) <= 0)
				break;
			offset += got;
			length -= got;
			r->bytes_sent += (size_t)got;
		}
	}
	buf_free(&h);
	close(fd);
	return 0;
}

int res_stream_start(struct req *r, int status, const char *content_type)
{
	r->status = status;
	r->content_type = content_type;
	struct buf h = BUF_INIT(65536 + 1024);
	int rc = head_into(r, &h, -1);
	if (rc) {
		buf_free(&h);
		return http_error(r, E_INTERNAL, "the response could not be built", NULL);
	}
	r->written = true;
	rc = mg_write(r->conn, h.ptr, h.len) > 0 ? 0 : ERR_IO;
	r->bytes_sent = rc ? 0 : h.len;
	buf_free(&h);
	return rc;
}

int res_stream_write(struct req *r, const void *data, size_t n)
{
	if (n == 0)
		return 0;
	/* one chunk, one write: size line, data, CRLF */
	struct buf c = BUF_INIT(n + 32);
	int rc = buf_printf(&c, "%zx\r\n", n) || buf_add(&c, data, n) || buf_adds(&c, "\r\n") ? ERR_NOMEM : 0;
	if (!rc)
		rc = mg_write(r->conn, c.ptr, c.len) > 0 ? 0 : ERR_IO;
	if (!rc)
		r->bytes_sent += c.len;
	buf_free(&c);
	return rc;
}

void res_stream_end(struct req *r)
{
	if (mg_write(r->conn, "0\r\n\r\n", 5) > 0)
		r->bytes_sent += 5;
}

int req_read(struct req *r, void *buf, size_t n)
{
	return mg_read(r->conn, buf, n);
}

long long req_content_length(const struct req *r)
{
	return mg_get_request_info(r->conn)->content_length;
}

static int on_begin_request(struct mg_connection *conn)
{
	const struct mg_request_info *ri = mg_get_request_info(conn);
	atomic_fetch_add(&inflight, 1);
	char first[ARENA_FIRST];
	struct req r;
	memset(&r, 0, sizeof r);
	r.conn = conn;
	r.route_index = -1;
	r.start_us = time_mono_us();
	arena_init(&r.arena, ARENA_MAX, first, sizeof first);
	buf_init(&r.out, OUT_MAX);
	buf_init(&r.headers, 65536);
	r.method = ri->request_method;
	r.path = decode_path(&r.arena, ri->local_uri ? ri->local_uri : "/");
	r.query = ri->query_string;
	r.remote_ip = client_addr(&r, ri->remote_addr);
	r.loopback = is_loopback(r.remote_ip);
	set_request_id(&r);

	serve(&r, ri);
	send_response(&r);

	int64_t us = time_mono_us() - r.start_us;
	metrics_request(r.route ? r.route_index : -1, r.status, us);
	if (r.error_code)
		metrics_error(r.error_code);
	log_request(r.request_id, r.method, r.path ? r.path : "(bad path)", r.status, r.bytes_sent, us,
	            r.error_code);
	int status = r.status ? r.status : 500;
	buf_free(&r.out);
	buf_free(&r.headers);
	arena_free(&r.arena);
	atomic_fetch_sub(&inflight, 1);
	return status;
}

static int on_log_message(const struct mg_connection *conn, const char *message)
{
	(void)conn;
	log_warn("http server", "detail", message, NULL);
	return 1;
}

int server_refusal(struct buf *out, enum http_err e, const char *why)
{
	const struct http_err_info *info = http_err_info(e);
	char id[48];
	unsigned long long seq = atomic_fetch_add_explicit(&request_seq, 1, memory_order_relaxed);
	snprintf(id, sizeof id, "%016llx-%012llx", request_prefix, seq);
	struct buf body = BUF_INIT(1024);
	int rc = buf_printf(&body, "{\"error\":{\"code\":\"%s\",\"message\":\"%s\"}}\n", info->code,
	                    why ? why : info->meaning);
	rc = rc ? rc : buf_printf(out, "HTTP/1.1 %d %s\r\nX-Request-Id: %s\r\nContent-Type: application/json\r\n"
	                               "Content-Length: %zu\r\nCache-Control: no-store\r\n%sConnection: close\r\n\r\n%s",
	                          info->status, reason(info->status), id, body.len,
	                          info->status == 503 ? "Retry-After: 5\r\n" : "", buf_str(&body));
	buf_free(&body);
	if (!rc)
		metrics_error(info->code);
	return rc;
}

enum http_err server_head_error(const struct head_check *hc)
{
	switch (hc->status) {
	case 413: return E_PAYLOAD_TOO_LARGE;
	case 431: return E_HEADERS_TOO_LARGE;
	case 505: return E_HTTP_VERSION;
	}
	return E_MALFORMED_REQUEST;
}

/* Every head a worker reads itself (the next request on a kept-alive connection) passes the
 * same strict check as the heads the loop reads. */
static int on_check_request(struct mg_connection *conn, const char *head, int len)
{
	struct head_check hc;
	if (head_check(head, (size_t)len, body_max, &hc) >= 0)
		return 0;
	struct buf out = BUF_INIT(4096);
	if (server_refusal(&out, server_head_error(&hc), hc.why) == 0)
		mg_write(conn, out.ptr, out.len);
	buf_free(&out);
	return 1;
}

/* Between two requests: a client that sends its next one within a moment keeps this worker
 * (measured: parking after every request cost 0.57x throughput); otherwise the connection
 * waits in the loop, which holds it for a few hundred bytes instead of a thread. The first
 * bytes are read here, into civetweb's own buffer (no more system calls than civetweb would
 * make): a whole head goes on in this worker, a part of one goes to the loop with the
 * connection, so a slow head never holds a worker. */
static int on_keep_alive_idle(struct mg_connection *conn)
{
	void *ssl;
	int fd = mg_handoff_socket(conn, &ssl);
	int *len, size;
	char *buf = mg_handoff_buffer(conn, &len, &size);
	if (fd < 0 || !buf || atomic_load(&draining))
		return 0;
	struct pollfd p = {.fd = fd, .events = POLLIN};
	bool pending = ssl && mbedtls_ssl_get_bytes_avail(ssl) > 0;
	if (pending || poll(&p, 1, PARK_GRACE_MS) > 0) {
		ssize_t n;
		if (ssl) {
			int r = mbedtls_ssl_read(ssl, (unsigned char *)buf, (size_t)size);
			n = r > 0 ? r : r == MBEDTLS_ERR_SSL_WANT_READ || r == MBEDTLS_ERR_SSL_WANT_WRITE ? 0 : -1;
		} else {
			n = recv(fd, buf, (size_t)size, MSG_DONTWAIT);
			if (n < 0 && (errno == EAGAIN || errno == EINTR))
				n = 0;
		}
		if (n < 0 || (n == 0 && !ssl))
			return 0; /* closed or failed: civetweb finds out and closes it */
		*len = (int)n;
		if (n > 0 && head_end(buf, (size_t)n) > 0)
			return 0;
	}
	struct mg_handoff h;
	if (mg_handoff_take(conn, &h) != 0)
		return 0;
	loop_park(&h);
	return 1;
}

static void on_connection_close(const struct mg_connection *conn)
{
	loop_closed(mg_handoff_socket(conn, NULL));
}

/* Workers yield to the loop: with more runnable workers than cores, the scheduler would give
 * the loop (which accepts, reads heads and feeds every stream) one share in fifty. A higher
 * nice value needs no privilege and only matters when the cores are contended. */
static void *on_init_thread(const struct mg_context *c, int type)
{
	(void)c;
	if (type == 1)
		(void)setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), WORKER_NICE);
	return NULL;
}

static void on_exit_thread(const struct mg_context *c, int type, void *user)
{
	(void)c;
	(void)user;
	if (type == 1 && worker_exit) /* a worker: its per-thread state (a database connection) goes with it */
		worker_exit();
}

static void set_cors(const char *origins)
{
	free(cors);
	cors = NULL;
	cors_any = false;
	if (!origins || !*origins)
		return;
	struct buf b = BUF_INIT(65536);
	int rc = buf_addc(&b, ',');
	for (const char *p = origins; *p && !rc;) {
		while (*p == ' ' || *p == ',')
			p++;
		size_t n = strcspn(p, ", ");
		if (n == 1 && *p == '*')
			cors_any = true;
		else if (n)
			rc = buf_add(&b, p, n) || buf_addc(&b, ',');
		p += n;
	}
	cors = rc ? NULL : buf_take(&b, NULL);
	buf_free(&b);
}

int server_start(const struct server_opts *o, struct buf *msg)
{
	char threads[16], timeout[16], queue[16], head[16];
	snprintf(threads, sizeof threads, "%d", o->threads);
	snprintf(timeout, sizeof timeout, "%d", o->request_timeout_ms);
	snprintf(queue, sizeof queue, "%d", SOCKET_QUEUE);
	snprintf(head, sizeof head, "%d", HEAD_MAX);
	request_timeout_ms = o->request_timeout_ms;
	body_max = o->body_max;
	set_cors(o->cors_origins);
	set_trusted(o->trusted_proxies);
	worker_exit = o->worker_exit;
	if (rand_bytes(&request_prefix, sizeof request_prefix) != 0)
		return ERR_CRYPTO;
	/* the loop listens and does TLS; civetweb only runs requests handed to its workers */
	struct loop_opts lo = {
		.listen = o->listen,
		.tls_pem = o->tls_pem,
		.conn_max = o->conn_max,
		.conn_per_address = o->conn_per_address,
		.head_timeout_ms = o->head_timeout_ms,
		.idle_timeout_ms = IDLE_TIMEOUT_MS,
		.body_max = o->body_max,
		.send_queue_max = o->send_queue_max,
		.thread_exit = o->worker_exit,
	};
	int port = 0;
	int rc = loop_open(&lo, &port, msg);
	if (rc)
		return rc;
	const char *options[] = {
		"listening_ports", "",
		"num_threads", threads,
		"connection_queue", queue,
		"max_request_size", head,
		"request_timeout_ms", timeout,
		"enable_keep_alive", "yes",
		"keep_alive_timeout_ms", "5000",
		"decode_url", "no",
		NULL,
	};
	struct mg_callbacks cb;
	memset(&cb, 0, sizeof cb);
	cb.begin_request = on_begin_request;
	cb.log_message = on_log_message;
	cb.connection_close = on_connection_close;
	cb.init_thread = on_init_thread;
	cb.exit_thread = on_exit_thread;
	cb.check_request = on_check_request;
	cb.keep_alive_idle = on_keep_alive_idle;
	mg_init_library(0);
	struct mg_init_data init = {&cb, NULL, options};
	struct mg_error_data err;
	char errtext[256] = "";
	memset(&err, 0, sizeof err);
	err.text = errtext;
	err.text_buffer_size = sizeof errtext;
	ctx = mg_start2(&init, &err);
	if (!ctx) {
		buf_note(msg, "cannot start the HTTP server: %s", errtext[0] ? errtext : "unknown error");
		loop_stop();
		mg_exit_library();
		return ERR_IO;
	}
	if (loop_start(ctx) != 0) {
		buf_note(msg, "cannot start the connection loop: %s", strerror(errno));
		server_stop();
		return ERR_IO;
	}
	/* the host part as given (numeric), with the port that was really bound */
	const char *colon = strrchr(o->listen, ':');
	int hostlen = colon ? (int)(colon - o->listen) : 0;
	snprintf(url, sizeof url, "%s://%.*s:%d", o->tls_pem ? "https" : "http", hostlen, o->listen,
	         port);
	return 0;
}

static double ws_open(void)
{
	return (double)live_open_count(LIVE_WS);
}

static double sse_open(void)
{
	return (double)live_open_count(LIVE_SSE);
}

static double events_published(void)
{
	return (double)live_published();
}

static double events_dropped(void)
{
	return (double)live_dropped();
}

static double refused(void)
{
	return (double)loop_refused();
}

int server_metrics(void)
{
	return metrics_gauge("ws_open", "Open WebSocket connections.", ws_open) ||
	       metrics_gauge("sse_open", "Open Server-Sent Events streams.", sse_open) ||
	       metrics_gauge("events_published_total", "Frames published to live connections.", events_published) ||
	       metrics_gauge("events_dropped_total", "Frames not delivered: the client did not read, or memory ran out.", events_dropped) ||
	       metrics_gauge("connections_refused_total", "Connections refused: a limit, a malformed head, a timeout.", refused);
}

const char *server_url(void)
{
	return url;
}

bool server_drain(int grace_ms)
{
	atomic_store(&draining, true);
	int64_t deadline = time_mono_us() + (int64_t)grace_ms * 1000;
	/* a streamed reply runs on the loop after its handler returned: it is in flight too */
	while (atomic_load(&inflight) > 0 || live_open_count(LIVE_STREAM) > 0) {
		if (time_mono_us() > deadline)
			return false;
		usleep(10000);
	}
	return true;
}

void server_stop(void)
{
	loop_stop(); /* nothing new reaches the workers, and no waiting connection stays open */
	if (ctx)
		mg_stop(ctx);
	ctx = NULL;
	mg_exit_library();
	free(cors);
	cors = NULL;
	set_trusted(NULL);
}
