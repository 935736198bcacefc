/* http/static.c: serves the files embedgen compiled in, straight from memory. Pages name
 * their scripts and styles under /assets/<hash of all web files>/, which may be cached for a
 * year: a new build has a new hash. Pages themselves are revalidated (ETag, 304).
 * Must never serve a path outside the table (no filesystem access at all). */
#include "http/static.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/crypto.h"
#include "core/embed.h"

const char static_csp[] = "default-src 'self'; script-src 'self'; style-src 'self'; "
                          "img-src 'self' data: blob:; connect-src 'self'; object-src 'none'; "
                          "base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

static const struct {
	const char *ext, *type;
} types[] = {
	{".html", "text/html; charset=utf-8"},  {".css", "text/css; charset=utf-8"},
	{".js", "text/javascript; charset=utf-8"}, {".json", "application/json"},
	{".svg", "image/svg+xml"},              {".png", "image/png"},
	{".ico", "image/x-icon"},               {".txt", "text/plain; charset=utf-8"},
	{".woff2", "font/woff2"},               {".webmanifest", "application/manifest+json"},
};

static const char *type_of(const char *name)
{
	const char *dot = strrchr(name, '.');
	for (size_t i = 0; dot && i < sizeof types / sizeof types[0]; i++)
		if (strcmp(dot, types[i].ext) == 0)
			return types[i].type;
	return "application/octet-stream";
}

static const struct embed_file *find(const char *path)
{
	if (strcmp(path, "/") == 0)
		path = "/index.html";
	else if (strcmp(path, "/docs") == 0)
		path = "/docs.html";
	if (path[0] != '/')
		return NULL;
	/* the table is sorted by name */
	unsigned long lo = 0, hi = embed_web_count;
	while (lo < hi) {
		unsigned long mid = (lo + hi) / 2;
		int c = strcmp(embed_web[mid].name, path + 1);
		if (c == 0)
			return &embed_web[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

#define BUNDLE_LEN 16
static char bundle[BUNDLE_LEN + 1];
/* The HTML pages with their /js/ and /css/ references moved under /assets/<bundle>/. */
static struct embed_file *pages;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void prepare(void)
{
	struct crypto_sha256 h;
	unsigned char d[CRYPTO_SHA256_LEN];
	crypto_sha256_begin(&h);
	for (unsigned long i = 0; i < embed_web_count; i++) {
		crypto_sha256_add(&h, embed_web[i].name, strlen(embed_web[i].name) + 1);
		crypto_sha256_add(&h, embed_web[i].etag, strlen(embed_web[i].etag) + 1);
	}
	crypto_sha256_end(&h, d);
	for (int i = 0; i < BUNDLE_LEN / 2; i++)
		snprintf(bundle + 2 * i, 3, "%02x", d[i]);
	pages = calloc(embed_web_count, sizeof *pages);
	for (unsigned long i = 0; pages && i < embed_web_count; i++) {
		const struct embed_file *f = &embed_web[i];
		size_t n = strlen(f->name);
		if (n < 5 || strcmp(f->name + n - 5, ".html") != 0)
			continue;
		struct buf b = BUF_INIT((size_t)f->size * 2 + 4096);
		int rc = 0;
		for (const char *p = (const char *)f->data, *end = p + f->size; p < end && !rc;) {
			const char *js = strstr(p, "\"/js/"), *css = strstr(p, "\"/css/");
			const char *hit = js && (!css || js < css) ? js : css;
			if (!hit || hit >= end) {
				rc = buf_add(&b, p, (size_t)(end - p));
				break;
			}
			rc = buf_add(&b, p, (size_t)(hit - p + 1)) || buf_printf(&b, "/assets/%s", bundle);
			p = hit + 1;
		}
		char *etag = malloc(BUNDLE_LEN + 3);
		size_t len = b.len;
		char *data = rc || !etag ? NULL : buf_take(&b, &len);
		buf_free(&b);
		if (!data) {
			free(etag);
			continue; /* out of memory: this page keeps its plain references */
		}
		snprintf(etag, BUNDLE_LEN + 3, "\"%s\"", bundle);
		pages[i] = (struct embed_file){f->name, (const unsigned char *)data, (long)len, etag};
	}
}

int static_serve(struct req *r)
{
	pthread_once(&once, prepare);
	const char *path = r->path;
	bool immutable = false;
	if (strncmp(path, "/assets/", 8) == 0 && strchr(path + 8, '/')) {
		const char *rest = strchr(path + 8, '/');
		/* another build's hash still gets the file, but not to keep */
		immutable = rest - (path + 8) == BUNDLE_LEN && strncmp(path + 8, bundle, BUNDLE_LEN) == 0;
		path = rest;
	}
	const struct embed_file *f = find(path);
	/* the web app's own pages (/signin, /chats/…, the mailed /verify-email?token=…) are
	 * one HTML shell: a browser asking for a page that is not a file gets it */
	const char *accept = req_header(r, "Accept"), *last = strrchr(r->path, '/');
	if (!f && accept && strstr(accept, "text/html") && strncmp(r->path, "/api/", 5) != 0 && !strchr(last, '.'))
		f = find("/index.html");
	if (!f)
		return ERR_NOTFOUND;
	if (pages && pages[f - embed_web].data)
		f = &pages[f - embed_web];
	const char *type = type_of(f->name);
	res_header(r, "ETag", f->etag);
	res_header(r, "Cache-Control", immutable ? "public, max-age=31536000, immutable" : "no-cache");
	if (strncmp(type, "text/html", 9) == 0) {
		res_header(r, "Content-Security-Policy", static_csp);
		res_header(r, "X-Frame-Options", "DENY");
		res_header(r, "Referrer-Policy", "no-referrer");
	}
	if (req_etag_match(r, f->etag)) {
		r->status = 304;
		r->content_type = NULL;
		return 0;
	}
	return res_body(r, 200, type, f->data, (size_t)f->size);
}
