/* media/multipart.c: multipart/form-data (RFC 7578, RFC 2046 section 5.1) read as a stream
 * through one fixed buffer, so an upload of any size costs the same memory. Must never
 * hand out bytes that could still be the start of a delimiter. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "media/internal.h"

#define MP_BUF (64 * 1024)
#define MP_HEADERS_MAX (8 * 1024)
#define BOUNDARY_MAX 70

struct mp {
	struct req *r;
	char delim[4 + BOUNDARY_MAX + 1]; /* CRLF "--" boundary */
	size_t dlen;
	size_t pos, end; /* unread bytes are buf[pos..end) */
	bool in_body;    /* inside a part (or the preamble): the next delimiter ends it */
	bool done;       /* the close delimiter was read */
	long long consumed, limit;
	unsigned char buf[MP_BUF];
};

/* The boundary parameter of a Content-Type value, quoted or not, into out. */
static int boundary_of(const char *ct, char *out)
{
	if (!ct || strncasecmp(ct, "multipart/form-data", 19) != 0 || (ct[19] && ct[19] != ';' && ct[19] != ' '))
		return ERR_INVAL;
	for (const char *p = ct + 19; (p = strchr(p, ';')) != NULL;) {
		p++;
		while (*p == ' ' || *p == '\t')
			p++;
		if (strncasecmp(p, "boundary=", 9) != 0)
			continue;
		p += 9;
		bool quoted = *p == '"';
		p += quoted;
		size_t n = quoted ? strcspn(p, "\"") : strcspn(p, "; \t");
		if (n == 0 || n > BOUNDARY_MAX || (quoted && p[n] != '"'))
			return ERR_INVAL;
		memcpy(out, p, n);
		out[n] = '\0';
		return 0;
	}
	return ERR_INVAL;
}

struct mp *mp_open(struct req *r, const char *content_type, long long limit, int *rc)
{
	char boundary[BOUNDARY_MAX + 1];
	if ((*rc = boundary_of(content_type, boundary)) != 0)
		return NULL;
	struct mp *m = malloc(sizeof *m);
	if (!m) {
		*rc = ERR_NOMEM;
		return NULL;
	}
	m->r = r;
	m->dlen = (size_t)snprintf(m->delim, sizeof m->delim, "\r\n--%s", boundary);
	/* a CRLF in front lets the first delimiter match like every later one */
	memcpy(m->buf, "\r\n", 2);
	m->pos = 0;
	m->end = 2;
	m->in_body = true;
	m->done = false;
	m->consumed = 0;
	m->limit = limit;
	return m;
}

void mp_close(struct mp *m)
{
	free(m);
}

/* Moves the unread bytes to the front and reads more: > 0 bytes added, 0 at the end of
 * the body (or when the buffer is full), ERR_TOOBIG past the limit, < 0 on a read error. */
static int fill(struct mp *m)
{
	if (m->pos > 0) {
		memmove(m->buf, m->buf + m->pos, m->end - m->pos);
		m->end -= m->pos;
		m->pos = 0;
	}
	if (m->end == sizeof m->buf)
		return 0;
	int got = req_read(m->r, m->buf + m->end, sizeof m->buf - m->end);
	if (got > 0) {
		m->end += (size_t)got;
		m->consumed += got;
	}
	return m->consumed > m->limit ? ERR_TOOBIG : got;
}

/* Index of the delimiter in buf[pos..end), or end when it is not there whole. */
static size_t find_delim(const struct mp *m)
{
	for (size_t i = m->pos; i + m->dlen <= m->end; i++) {
		const unsigned char *p = memchr(m->buf + i, '\r', m->end - i);
		if (!p)
			break;
		i = (size_t)(p - m->buf);
		if (i + m->dlen <= m->end && memcmp(p, m->delim, m->dlen) == 0)
			return i;
	}
	return m->end;
}

int mp_read(struct mp *m, const unsigned char **data)
{
	if (!m->in_body)
		return 0;
	for (;;) {
		size_t at = find_delim(m);
		if (at == m->pos && at < m->end) { /* the part ends here */
			m->pos += m->dlen;
			m->in_body = false;
			return 0;
		}
		/* bytes that cannot begin a delimiter are safe to hand out */
		size_t safe = at < m->end ? at : (m->end - m->pos >= m->dlen ? m->end - m->dlen + 1 : m->pos);
		if (safe > m->pos) {
			*data = m->buf + m->pos;
			int n = (int)(safe - m->pos);
			m->pos = safe;
			return n;
		}
		int got = fill(m);
		if (got <= 0)
			return got == ERR_TOOBIG ? got : ERR_INVAL; /* or the body ended inside a part */
	}
}

/* Copies a header parameter's value (quoted-string or token) into out; false if absent. */
static bool param(const char *h, size_t n, const char *key, char *out, size_t cap)
{
	size_t klen = strlen(key);
	for (size_t i = 0; i + klen < n; i++) {
		if (h[i] != ';')
			continue;
		size_t j = i + 1;
		while (j < n && (h[j] == ' ' || h[j] == '\t'))
			j++;
		if (j + klen >= n || strncasecmp(h + j, key, klen) != 0 || h[j + klen] != '=')
			continue;
		j += klen + 1;
		size_t o = 0;
		if (j < n && h[j] == '"') {
			for (j++; j < n && h[j] != '"'; j++) {
				/* \" and \\ as curl sends them; any other backslash is a character, as
				 * browsers send Windows paths */
				if (h[j] == '\\' && j + 1 < n && (h[j + 1] == '"' || h[j + 1] == '\\'))
					j++;
				if (o + 1 < cap)
					out[o++] = h[j];
			}
		} else {
			for (; j < n && h[j] != ';' && h[j] != ' ' && h[j] != '\t'; j++)
				if (o + 1 < cap)
					out[o++] = h[j];
		}
		out[o] = '\0';
		return true;
	}
	return false;
}

/* Fills p from a part's header lines h[0..n), each ending in CRLF. */
static int parse_headers(const char *h, size_t n, struct mp_part *p)
{
	memset(p, 0, sizeof *p);
	bool disposition = false;
	for (size_t i = 0; i < n;) {
		const char *eol = memchr(h + i, '\r', n - i);
		size_t len = eol ? (size_t)(eol - (h + i)) : n - i;
		const char *line = h + i;
		if (len > 20 && strncasecmp(line, "content-disposition:", 20) == 0) {
			size_t k = 20;
			while (k < len && (line[k] == ' ' || line[k] == '\t'))
				k++;
			if (len - k < 9 || strncasecmp(line + k, "form-data", 9) != 0)
				return ERR_INVAL;
			disposition = param(line + k, len - k, "name", p->name, sizeof p->name);
			p->has_filename = param(line + k, len - k, "filename", p->filename, sizeof p->filename);
		}
		i += len + 2;
	}
	return disposition ? 0 : ERR_INVAL;
}

int mp_next(struct mp *m, struct mp_part *p)
{
	const unsigned char *skip;
	int rc;
	while ((rc = mp_read(m, &skip)) > 0)
		;
	if (rc < 0 || m->done)
		return rc < 0 ? rc : 0;
	/* after a delimiter: "--" closes the body; else optional blanks, CRLF, headers */
	for (;;) {
		size_t avail = m->end - m->pos;
		if (avail >= 2 && memcmp(m->buf + m->pos, "--", 2) == 0) {
			m->done = true;
			return 0;
		}
		const unsigned char *hdr = m->buf + m->pos;
		const unsigned char *end = NULL;
		for (size_t i = 0; i + 3 < avail && !end; i++)
			if (memcmp(hdr + i, "\r\n\r\n", 4) == 0)
				end = hdr + i;
		if (end) {
			const unsigned char *first = memchr(hdr, '\n', (size_t)(end - hdr) + 2);
			for (const unsigned char *q = hdr; q + 1 < first; q++)
				if (*q != ' ' && *q != '\t')
					return ERR_INVAL; /* junk after the boundary */
			const char *h = (const char *)first + 1;
			size_t n = (size_t)((const char *)end + 2 - h);
			if (parse_headers(h, n, p) != 0)
				return ERR_INVAL;
			m->pos = (size_t)(end + 4 - m->buf);
			m->in_body = true;
			return 1;
		}
		if (avail > MP_HEADERS_MAX)
			return ERR_INVAL;
		int got = fill(m);
		if (got <= 0)
			return got == ERR_TOOBIG ? got : ERR_INVAL;
	}
}
