/* media/upload.c: POST /media. The file part is streamed to DIR/media/tmp/<uuid>.part while
 * its SHA-256 is computed, then moved to its content address. Must never hold a file in
 * memory, trust the client's content type, or leave a temporary file behind on any error. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "core/config.h"
#include "core/crypto.h"
#include "core/log.h"
#include "core/time.h"
#include "media/internal.h"
#include "media/media.h"

/* Multipart framing and small fields beyond the file itself. */

#define SNIFF_BYTES 512

struct upload {
	struct req *r;
	struct mp *mp;
	char *tmp; /* the temporary file's path */
	int fd;
	long long size, max;
	struct crypto_sha256 sha;
	unsigned char head[SNIFF_BYTES];
	size_t headn;
	bool have_file;
	char visibility[16];
	char name[256];
};

/* What remains of a client's file name when it is only shown: the last path segment,
 * without control characters, valid UTF-8, at most 255 bytes. */
static void clean_name(const char *in, char *out, size_t cap)
{
	const char *base = in;
	for (const char *p = in; *p; p++)
		if (*p == '/' || *p == '\\')
			base = p + 1;
	size_t o = 0;
	for (const unsigned char *p = (const unsigned char *)base; *p && o + 1 < cap; p++)
		if (*p >= 0x20 && *p != 0x7f)
			out[o++] = (char)*p;
	out[o] = '\0';
	while (o > 0 && utf8_check(out, o) != 0)
		out[--o] = '\0'; /* invalid or cut multi-byte sequences: shorten until valid */
	if (strcmp(out, ".") == 0 || strcmp(out, "..") == 0)
		out[0] = '\0';
}

static int write_all(int fd, const unsigned char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return ERR_IO;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* The answer to a body the reader stopped on: too large, or malformed / cut short. */
static int body_error(struct upload *u, int rc, const char *field)
{
	return rc == ERR_TOOBIG ? http_error(u->r, E_PAYLOAD_TOO_LARGE, "the upload is larger than MEDIA_MAX_BYTES", NULL)
	                        : http_error(u->r, E_INVALID_INPUT, "the multipart body is malformed or cut short", field);
}

/* Streams the file part to the temporary file. */
static int take_file(struct upload *u)
{
	struct req *r = u->r;
	if (u->have_file)
		return http_error(r, E_INVALID_INPUT, "send one file per upload", "file");
	u->have_file = true;
	const unsigned char *p;
	int n;
	while ((n = mp_read(u->mp, &p)) > 0) {
		u->size += n;
		if (u->size > u->max)
			return http_error(r, E_PAYLOAD_TOO_LARGE, "the file is larger than MEDIA_MAX_BYTES", "file");
		if (u->headn < SNIFF_BYTES) {
			size_t k = (size_t)n < SNIFF_BYTES - u->headn ? (size_t)n : SNIFF_BYTES - u->headn;
			memcpy(u->head + u->headn, p, k);
			u->headn += k;
		}
		crypto_sha256_add(&u->sha, p, (size_t)n);
		if (write_all(u->fd, p, (size_t)n) != 0) {
			log_error("upload could not be written", "detail", strerror(errno), NULL);
			return http_error(r, E_INSUFFICIENT_STORAGE, "the upload could not be stored", NULL);
		}
	}
	return n < 0 ? body_error(u, n, "file") : 0;
}

/* A small text field into out (at most cap - 1 bytes). */
static int take_field(struct upload *u, const char *field, char *out, size_t cap)
{
	const unsigned char *p;
	size_t len = 0;
	int n;
	while ((n = mp_read(u->mp, &p)) > 0) {
		if (len + (size_t)n >= cap)
			return http_error(u->r, E_INVALID_INPUT, "this field is too long", field);
		memcpy(out + len, p, (size_t)n);
		len += (size_t)n;
	}
	out[len] = '\0';
	return n < 0 ? body_error(u, n, field) : 0;
}

/* Reads every part: the file, visibility, and (skipped) anything else. */
static int read_form(struct upload *u)
{
	struct mp_part part;
	int rc;
	while ((rc = mp_next(u->mp, &part)) == 1) {
		if (strcmp(part.name, "file") == 0 && part.has_filename) {
			clean_name(part.filename, u->name, sizeof u->name);
			rc = take_file(u);
		} else if (strcmp(part.name, "visibility") == 0) {
			rc = take_field(u, "visibility", u->visibility, sizeof u->visibility);
		} else if (strcmp(part.name, "file") == 0) {
			rc = http_error(u->r, E_INVALID_INPUT, "file must be a file part (with a filename)", "file");
		}
		if (rc < 0)
			return rc;
	}
	if (rc < 0)
		return body_error(u, rc, NULL);
	if (!u->have_file)
		return http_error(u->r, E_INVALID_INPUT, "a file part named \"file\" is required", "file");
	if (strcmp(u->visibility, "private") != 0 && strcmp(u->visibility, "public") != 0)
		return http_error(u->r, E_INVALID_INPUT, "visibility must be private or public", "visibility");
	return 0;
}

int media_upload(struct req *r)
{
	struct upload u = {.r = r, .fd = -1, .max = config_int("MEDIA_MAX_BYTES"), .visibility = "private"};
	long long declared = req_content_length(r);
	if (declared > u.max + MEDIA_FORM_OVERHEAD)
		return http_error(r, E_PAYLOAD_TOO_LARGE, "the upload is larger than MEDIA_MAX_BYTES", NULL);
	int rc;
	u.mp = mp_open(r, req_header(r, "Content-Type"), u.max + MEDIA_FORM_OVERHEAD, &rc);
	if (!u.mp)
		return rc == ERR_INVAL ? http_error(r, E_INVALID_INPUT,
		                                    "send multipart/form-data with a boundary", NULL)
		                       : rc;
	char id[UUID_STR_LEN];
	if (uuid7(id) != 0 || !(u.tmp = arena_printf(&r->arena, "%s/tmp/%s.part", media_root, id))) {
		mp_close(u.mp);
		return ERR_NOMEM;
	}
	u.fd = open(u.tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (u.fd < 0) {
		mp_close(u.mp);
		log_error("upload file could not be created", "detail", strerror(errno), NULL);
		return http_error(r, E_INSUFFICIENT_STORAGE, "the upload could not be stored", NULL);
	}
	crypto_sha256_begin(&u.sha);
	rc = read_form(&u);
	unsigned char digest[CRYPTO_SHA256_LEN];
	crypto_sha256_end(&u.sha, digest);
	mp_close(u.mp);
	/* the bytes reach the disk before the row that acknowledges them */
	if (rc == 0 && fsync(u.fd) != 0)
		rc = http_error(r, E_INSUFFICIENT_STORAGE, "the upload could not be stored", NULL);
	close(u.fd);
	struct buf hex = BUF_INIT(2 * CRYPTO_SHA256_LEN + 1);
	char now[TIME_RFC3339_LEN];
	time_rfc3339(time_now_us(), now);
	struct media m = {.id = id, .owner_id = r->user_id, .size = u.size, .original_name = u.name,
	                  .visibility = u.visibility, .created_at = now,
	                  .content_type = media_sniff(u.head, u.headn)};
	if (rc == 0 && crypto_hex(&hex, digest, sizeof digest) != 0)
		rc = ERR_NOMEM;
	m.sha256 = buf_str(&hex);
	if (rc == 0)
		rc = media_store(&r->arena, u.tmp, &m);
	if (rc != 0) {
		unlink(u.tmp); /* gone already when stored; on any failure nothing stays */
		buf_free(&hex);
		return rc;
	}
	struct jw w;
	res_json(r, 201, &w);
	media_json(&w, &m);
	rc = res_end(r, &w);
	buf_free(&hex);
	return rc;
}
