/* media/serve.c: GET /media/{id} (and /media/ab/cd/<sha> for older clients) the way a CDN
 * would: strong ETag from the hash, 304, single ranges, long cache lifetimes for public
 * bytes; and DELETE. Must never let a browser run what it serves (nosniff, attachment and a
 * sandbox for markup) and must answer 404, never 403, for what the caller may not see. */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "media/internal.h"

/* 1: serve bytes [*from, *to]; 0: no usable Range header (serve everything);
 * -1: no byte of it exists (416). Several ranges are answered whole, as RFC 9110 allows. */
static int parse_range(const char *h, long long size, long long *from, long long *to)
{
	if (!h || strncasecmp(h, "bytes=", 6) != 0 || strchr(h, ','))
		return 0;
	const char *p = h + 6;
	long long a = -1, b = -1;
	char *end;
	if (*p >= '0' && *p <= '9') {
		a = strtoll(p, &end, 10);
		p = end;
	}
	if (*p++ != '-')
		return 0;
	if (*p >= '0' && *p <= '9') {
		b = strtoll(p, &end, 10);
		p = end;
	}
	if (*p || (a < 0 && b < 0) || a == LLONG_MAX || b == LLONG_MAX)
		return 0;
	if (a < 0) { /* the last b bytes */
		if (b == 0 || size == 0)
			return -1;
		*from = b >= size ? 0 : size - b;
		*to = size - 1;
		return 1;
	}
	if (b >= 0 && b < a)
		return 0;
	if (a >= size)
		return -1;
	*from = a;
	*to = b < 0 || b >= size ? size - 1 : b;
	return 1;
}

/* Content-Disposition with the stored name, ASCII-safe plus its RFC 8187 form. */
static void disposition(struct req *r, const struct media *m)
{
	bool attach = media_risky(m->content_type);
	const char *name = *m->original_name ? m->original_name : m->sha256;
	struct buf v = BUF_INIT(4096);
	int rc = buf_printf(&v, "%s; filename=\"", attach ? "attachment" : "inline");
	for (const unsigned char *p = (const unsigned char *)name; *p && !rc; p++)
		if ((*p & 0xc0) != 0x80) /* one _ per non-ASCII character, not per byte */
			rc = buf_addc(&v, *p < 0x80 && *p != '"' && *p != '\\' ? (char)*p : '_');
	rc = rc ? rc : buf_adds(&v, "\"; filename*=UTF-8''");
	for (const unsigned char *p = (const unsigned char *)name; *p && !rc; p++)
		rc = strchr("!#$&+-.^_`|~", *p) || (*p >= '0' && *p <= '9') || ((*p | 32) >= 'a' && (*p | 32) <= 'z')
		         ? buf_addc(&v, (char)*p)
		         : buf_printf(&v, "%%%02X", *p);
	if (!rc)
		res_header(r, "Content-Disposition", buf_str(&v));
	buf_free(&v);
}

/* Answers with m's bytes, honouring If-None-Match, Range and If-Range. Caching headers go
 * only on answers about the bytes, never on an error. */
static int send_media(struct req *r, const struct media *m)
{
	char etag[70], cr[96];
	snprintf(etag, sizeof etag, "\"%s\"", m->sha256);
	const char *if_range = req_header(r, "If-Range");
	long long from = 0, to = m->size - 1;
	int ranged = if_range && strcmp(if_range, etag) != 0 ? 0 : parse_range(req_header(r, "Range"), m->size, &from, &to);
	bool not_modified = req_etag_match(r, etag);
	if (ranged < 0 && !not_modified) {
		snprintf(cr, sizeof cr, "bytes */%lld", m->size);
		res_header(r, "Content-Range", cr);
		return http_error(r, E_RANGE_NOT_SATISFIABLE, "the range is outside the file", NULL);
	}
	size_t mark = r->headers.len; /* what serve() set (CORS) stays on an error */
	res_header(r, "ETag", etag);
	res_header(r, "Cache-Control", strcmp(m->visibility, "public") == 0
	                                   ? "public, max-age=31536000, immutable"
	                                   : "private, no-cache");
	if (not_modified) {
		r->status = 304;
		return 0;
	}
	res_header(r, "Accept-Ranges", "bytes");
	res_header(r, "Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; sandbox");
	disposition(r, m);
	if (ranged) {
		snprintf(cr, sizeof cr, "bytes %lld-%lld/%lld", from, to, m->size);
		res_header(r, "Content-Range", cr);
	}
	char *path = media_path(&r->arena, m->sha256);
	int rc = path ? res_file(r, ranged ? 206 : 200, m->content_type, path, from, ranged ? to - from + 1 : m->size)
	              : ERR_NOMEM;
	if (rc != ERR_NOTFOUND)
		return rc;
	buf_truncate(&r->headers, mark);
	return http_error(r, E_NOT_FOUND, "the file of this media is missing", NULL);
}

int media_get(struct req *r)
{
	struct media m;
	int rc = media_readable(&r->arena, req_param(r, "id"), r->user_id, &m);
	if (rc == ERR_NOTFOUND)
		return http_error(r, E_NOT_FOUND, "no such media", NULL);
	return rc ? rc : send_media(r, &m);
}

static bool hex_lower(const char *s, size_t n)
{
	if (strlen(s) != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

/* /media/ab/cd/<sha>: the relative path older clients stored. */
int media_get_path(struct req *r)
{
	const char *a = req_param(r, "a"), *b = req_param(r, "b"), *sha = req_param(r, "sha");
	struct media m;
	int rc = hex_lower(a, 2) && hex_lower(b, 2) && hex_lower(sha, 64) && strncmp(sha, a, 2) == 0 &&
	                 strncmp(sha + 2, b, 2) == 0
	             ? media_readable_sha(&r->arena, sha, r->user_id, &m)
	             : ERR_NOTFOUND;
	if (rc == ERR_NOTFOUND)
		return http_error(r, E_NOT_FOUND, "no such media", NULL);
	return rc ? rc : send_media(r, &m);
}

int media_delete(struct req *r)
{
	bool admin = strcmp(r->user_role, "admin") == 0;
	int rc = media_remove(&r->arena, req_param(r, "id"), r->user_id, admin);
	if (rc == ERR_NOTFOUND)
		return http_error(r, E_NOT_FOUND, "no such media", NULL);
	if (rc == 0)
		r->status = 204;
	return rc;
}
