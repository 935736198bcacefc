/* Unit tests for http/router.c: literal and {param} segments, HEAD on GET, 405's Allow. */
#include <string.h>

#include "check.h"
#include "http/router.h"

static int h(struct req *r)
{
	(void)r;
	return 0;
}

static const struct route routes[] = {
	{"GET", "/health", h, ACCESS_PUBLIC, 0, "", NULL, NULL, 0, NULL},
	{"GET", "/api/v1/things", h, ACCESS_PUBLIC, 0, "", NULL, NULL, 0, NULL},
	{"POST", "/api/v1/things", h, ACCESS_PUBLIC, 1024, "", NULL, NULL, 0, NULL},
	{"GET", "/api/v1/things/{id}", h, ACCESS_PUBLIC, 0, "", NULL, NULL, 0, NULL},
	{"DELETE", "/api/v1/things/{id}", h, ACCESS_PUBLIC, 0, "", NULL, NULL, 0, NULL},
	{"GET", "/api/v1/things/{id}/parts/{part}", h, ACCESS_PUBLIC, 0, "", NULL, NULL, 0, NULL},
	{"GET", "/", h, ACCESS_PUBLIC, 0, "", NULL, NULL, 0, NULL},
};
static const struct route_table table = ROUTE_TABLE("test", routes, NULL);

static const struct route *match(struct req *r, const char *method, const char *path,
                                 struct buf *allow)
{
	r->method = method;
	r->path = path;
	r->nparams = 0;
	r->route_index = -1;
	return router_match(r, allow);
}

int main(void)
{
	struct req r;
	memset(&r, 0, sizeof r);
	arena_init(&r.arena, 1 << 20, NULL, 0);
	struct buf allow = BUF_INIT(256);
	CHECK(router_add(&table) == 0);
	CHECK(router_count() == 7);

	CHECK(match(&r, "GET", "/health", &allow) == &routes[0]);
	CHECK(r.route_index == 0);
	CHECK(match(&r, "HEAD", "/health", &allow) == &routes[0]);
	CHECK(match(&r, "GET", "/", &allow) == &routes[6]);
	CHECK(match(&r, "POST", "/api/v1/things", &allow) == &routes[2]);
	CHECK(match(&r, "GET", "/api/v1/things/abc", &allow) == &routes[3]);
	CHECK_STR(req_param(&r, "id"), "abc");
	CHECK(req_param(&r, "nope") == NULL);
	CHECK(match(&r, "GET", "/api/v1/things/7/parts/9", &allow) == &routes[5]);
	CHECK_STR(req_param(&r, "id"), "7");
	CHECK_STR(req_param(&r, "part"), "9");
	CHECK(r.route_index == 5);

	/* unknown paths: no route, empty Allow */
	CHECK(match(&r, "GET", "/nope", &allow) == NULL && allow.len == 0);
	CHECK(match(&r, "GET", "/health/", &allow) == NULL && allow.len == 0);
	CHECK(match(&r, "GET", "/api/v1/things//parts/9", &allow) == NULL);
	CHECK(match(&r, "GET", "/api/v1/things/", &allow) == NULL); /* empty {id} */
	CHECK(match(&r, "GET", "health", &allow) == NULL);

	/* known path, other method: Allow lists what it answers */
	CHECK(match(&r, "POST", "/health", &allow) == NULL);
	CHECK_STR(buf_str(&allow), "GET, HEAD");
	CHECK(match(&r, "PUT", "/api/v1/things/1", &allow) == NULL);
	CHECK_STR(buf_str(&allow), "GET, HEAD, DELETE");
	CHECK(match(&r, "PATCH", "/api/v1/things", &allow) == NULL);
	CHECK_STR(buf_str(&allow), "GET, HEAD, POST");

	/* bad patterns are refused at registration */
	static const struct route bad[] = {{"GET", "/a/{x", h, ACCESS_PUBLIC, 0, "", NULL, NULL, 0, NULL}};
	static const struct route_table bad_table = ROUTE_TABLE("bad", bad, NULL);
	CHECK(router_add(&bad_table) == ERR_INVAL);
	static const struct route bad2[] = {{"GET", "no-slash", h, ACCESS_PUBLIC, 0, "", NULL, NULL, 0, NULL}};
	static const struct route_table bad_table2 = ROUTE_TABLE("bad", bad2, NULL);
	CHECK(router_add(&bad_table2) == ERR_INVAL);

	buf_free(&allow);
	arena_free(&r.arena);
	return check_done("router");
}
