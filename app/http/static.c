/* http/static.c: serves the files embededgen compiled in, straight from read-only memory.
 * Must never serve a path outside the table (no filesystem access at all). */
#include "http/static.h"

#include <string.h>

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

int static_serve(struct req *r)
{
	const struct embed_file *f = find(r->path);
	/* the web app's own pages (/signin, /chats/…, the mailed /verify-email?token=…) are
	 * one HTML shell: a browser asking for a page that is not a file gets it */
	const char *accept = req_header(r, "Accept"), *last = strrchr(r->path, '/');
	if (!f && accept && strstr(accept, "text/html") && strncmp(r->path, "/api/", 5) != 0 && !strchr(last, '.'))
		f = find("/index.html");
	if (!f)
		return ERR_NOTFOUND;
	const char *type = type_of(f->name);
	res_header(r, "ETag", f->etag);
	/* names are not content-hashed yet, so browsers revalidate every time (cheap: 304) */
	res_header(r, "Cache-Control", "no-cache");
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
