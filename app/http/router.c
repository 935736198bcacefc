/* http/router.c: patterns are split into segments once, at registration; matching walks
 * the request path's segments against each route. Must never match a route whose method
 * differs (except HEAD on GET) and never leave a parameter empty. */
#include "http/router.h"

#include <stdbool.h>
#include <string.h>

#define MAX_SEGS 16

struct seg {
	const char *s; /* literal text, or the parameter's name */
	size_t len;
	bool param;
};

struct compiled {
	const struct route *route;
	const struct route_table *table;
	int nseg;
	struct seg segs[MAX_SEGS];
};

static struct compiled routes[ROUTER_MAX];
static size_t nroutes;

static int split(const char *path, struct seg *segs, int max)
{
	int n = 0;
	if (path[0] != '/')
		return -1;
	const char *p = path + 1;
	if (*p == '\0')
		return 0; /* "/" has no segments */
	for (;;) {
		const char *end = strchr(p, '/');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		if (n == max)
			return -1;
		segs[n].s = p;
		segs[n].len = len;
		segs[n].param = false;
		n++;
		if (!end)
			return n;
		p = end + 1;
	}
}

int router_add(const struct route_table *t)
{
	for (size_t i = 0; i < t->count; i++) {
		if (nroutes == ROUTER_MAX)
			return ERR_TOOBIG;
		struct compiled *c = &routes[nroutes];
		c->route = &t->routes[i];
		c->table = t;
		c->nseg = split(c->route->pattern, c->segs, MAX_SEGS);
		if (c->nseg < 0)
			return ERR_INVAL;
		for (int k = 0; k < c->nseg; k++) {
			struct seg *s = &c->segs[k];
			if (s->len >= 2 && s->s[0] == '{' && s->s[s->len - 1] == '}') {
				s->param = true;
				s->s++;
				s->len -= 2;
			} else if (s->len == 0 || memchr(s->s, '{', s->len)) {
				return ERR_INVAL;
			}
		}
		nroutes++;
	}
	return 0;
}

static bool method_ok(const char *route_method, const char *method)
{
	return strcmp(route_method, method) == 0 ||
	       (strcmp(method, "HEAD") == 0 && strcmp(route_method, "GET") == 0);
}

static bool segs_match(const struct compiled *c, const struct seg *req, int n)
{
	if (c->nseg != n)
		return false;
	for (int k = 0; k < n; k++) {
		const struct seg *s = &c->segs[k];
		if (s->param) {
			if (req[k].len == 0)
				return false;
		} else if (s->len != req[k].len || memcmp(s->s, req[k].s, s->len) != 0) {
			return false;
		}
	}
	return true;
}

const struct route *router_match(struct req *r, struct buf *allow)
{
	struct seg req[MAX_SEGS];
	int n = split(r->path, req, MAX_SEGS);
	buf_reset(allow);
	if (n < 0)
		return NULL;
	for (size_t i = 0; i < nroutes; i++) {
		const struct compiled *c = &routes[i];
		if (!segs_match(c, req, n))
			continue;
		if (!method_ok(c->route->method, r->method)) {
			/* remember it for a 405's Allow header */
			const char *m = c->route->method;
			if (!strstr(buf_str(allow), m) &&
			    buf_printf(allow, "%s%s%s", allow->len ? ", " : "", m,
			               strcmp(m, "GET") == 0 ? ", HEAD" : "") != 0)
				buf_reset(allow); /* cannot happen with sane tables; better no Allow than half */
			continue;
		}
		r->route_index = (int)i;
		r->nparams = 0;
		for (int k = 0; k < n && r->nparams < REQ_MAX_PARAMS; k++) {
			if (!c->segs[k].param)
				continue;
			r->param_names[r->nparams] = arena_strndup(&r->arena, c->segs[k].s, c->segs[k].len);
			r->param_values[r->nparams] = arena_strndup(&r->arena, req[k].s, req[k].len);
			if (!r->param_names[r->nparams] || !r->param_values[r->nparams])
				return NULL;
			r->nparams++;
		}
		return c->route;
	}
	return NULL;
}

size_t router_count(void)
{
	return nroutes;
}

const struct route *router_at(size_t i, const char **domain)
{
	if (i >= nroutes)
		return NULL;
	if (domain)
		*domain = routes[i].table->domain;
	return routes[i].route;
}

const char *router_tag_description(const char *domain)
{
	for (size_t i = 0; i < nroutes; i++)
		if (strcmp(routes[i].table->domain, domain) == 0 && routes[i].table->description)
			return routes[i].table->description;
	return NULL;
}

void router_reset(void)
{
	nroutes = 0;
}
