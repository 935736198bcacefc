/* http/router.h: the registered route tables and matching (method + path -> route). Tables
 * are registered at boot, before the server starts; after that the router is read-only. */
#ifndef HTTP_ROUTER_H
#define HTTP_ROUTER_H

#include <stddef.h>

#include "core/buf.h"
#include "http/req.h"
#include "http/route.h"

#define ROUTER_MAX 512

WUR int router_add(const struct route_table *t);
/* The route for r->method and r->path, with r's path parameters filled from r->arena
 * and r->route_index set to its registration index.
 * NULL when none: then *allow holds the methods the path does answer ("GET, HEAD"),
 * empty when the path is unknown. */
const struct route *router_match(struct req *r, struct buf *allow);
size_t router_count(void);
/* The i-th route in registration order, and its table's domain. */
const struct route *router_at(size_t i, const char **domain);
/* The description of the first registered table of that domain (several tables may share a
 * domain: the compat routes of every domain form one tag), or NULL. */
const char *router_tag_description(const char *domain);
void router_reset(void);

#endif
