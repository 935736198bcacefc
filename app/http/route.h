/* http/route.h: a domain's routes are data (like Redis's command table): one table per
 * domain, in that domain's routes.c, registered by main.c. The OpenAPI document is
 * generated from these tables, so a route that is not here does not exist. */
#ifndef HTTP_ROUTE_H
#define HTTP_ROUTE_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

struct req;

/* Who may call a route. The router checks it before the handler runs. */
enum route_access {
	ACCESS_PUBLIC,   /* anyone */
	ACCESS_OPTIONAL, /* anyone; a token, when sent, must be valid and names the caller */
	ACCESS_LOOPBACK, /* only from 127.0.0.0/8 or ::1 (or an admin, once accounts exist) */
	ACCESS_USER,     /* a valid access token */
	ACCESS_AGENT,    /* role agent or admin */
	ACCESS_ADMIN,    /* role admin */
};

struct route {
	const char *method;  /* "GET", "POST", ... (GET routes also answer HEAD) */
	const char *pattern; /* "/api/v1/things/{id}": literal segments and {params} */
	int (*handler)(struct req *r);
	enum route_access access;
	size_t body_max;     /* largest request body accepted; 0: the route takes no body;
	                      * BODY_STREAM: the handler reads the body itself (req_read) */
	const char *summary; /* one line for the OpenAPI document */
	/* OpenAPI fragments (JSON text) or NULL: the request body schema and the schema of
	 * the success response; status is the success status (0 means 200). */
	const char *request_schema;
	const char *response_schema;
	int status;
	const char *produces; /* success content type; NULL means application/json */
};

/* The access token may come as ?access_token= (RFC 6750) only where a client cannot send a
 * header: routes for EventSource (they produce text/event-stream) and WebSocket upgrades.
 * Everywhere else a query token is ignored. */
static inline bool route_query_token(const struct route *rt)
{
	return rt && rt->produces &&
	       (strcmp(rt->produces, "text/event-stream") == 0 || strcmp(rt->produces, "websocket") == 0);
}

#define BODY_STREAM ((size_t)-1)

struct route_table {
	const char *domain; /* also the OpenAPI tag */
	const struct route *routes;
	size_t count;
	const char *description; /* the tag's description */
};

#define ROUTE_TABLE(name, arr, description) {(name), (arr), sizeof(arr) / sizeof((arr)[0]), (description)}

#endif
