/* system/openapi.c: GET /api/v1/openapi.json, generated once from the registered route
 * tables, so the document cannot drift from the code. Must never list a route that is not
 * registered, nor miss one. */
#include <ctype.h>
#include <pthread.h>
#include <string.h>

#include "http/router.h"
#include "system/handlers.h"

/* a string literal as raw JSON */
#define JW_LIT(w, lit) jw_raw((w), (lit), sizeof(lit) - 1)

static struct buf doc = BUF_INIT(4 << 20);
static int doc_rc = ERR_INVAL;
static pthread_once_t once = PTHREAD_ONCE_INIT;

/* The error body's schema: its code is one of the error table's (http/errors.h). */
static void error_schema(struct jw *w)
{
	jw_obj(w);
	jw_kstr(w, "type", "object");
	jw_key(w, "required");
	JW_LIT(w, "[\"error\"]");
	jw_key(w, "properties");
	jw_obj(w);
	jw_key(w, "error");
	jw_obj(w);
	jw_kstr(w, "type", "object");
	jw_key(w, "required");
	JW_LIT(w, "[\"code\",\"message\"]");
	jw_key(w, "properties");
	jw_obj(w);
	jw_key(w, "code");
	jw_obj(w);
	jw_kstr(w, "type", "string");
	jw_key(w, "enum");
	jw_arr(w);
	for (int e = 0; e < HTTP_ERR_COUNT; e++)
		jw_str(w, http_err_info(e)->code);
	jw_arr_end(w);
	jw_obj_end(w);
	jw_key(w, "message");
	JW_LIT(w, "{\"type\":\"string\"}");
	jw_key(w, "field");
	JW_LIT(w, "{\"type\":\"string\"}");
	jw_obj_end(w);
	jw_obj_end(w);
	jw_obj_end(w);
	jw_obj_end(w);
}

/* x-error-codes: the whole table, for the docs page. */
static void error_table(struct jw *w)
{
	jw_key(w, "x-error-codes");
	jw_arr(w);
	for (int e = 0; e < HTTP_ERR_COUNT; e++) {
		const struct http_err_info *info = http_err_info(e);
		jw_obj(w);
		jw_kstr(w, "code", info->code);
		jw_kint(w, "status", info->status);
		jw_kstr(w, "meaning", info->meaning);
		jw_obj_end(w);
	}
	jw_arr_end(w);
}

static void error_response(struct jw *w, const char *status, const char *description)
{
	jw_key(w, status);
	jw_obj(w);
	jw_kstr(w, "description", description);
	jw_key(w, "content");
	jw_obj(w);
	jw_key(w, "application/json");
	jw_obj(w);
	jw_key(w, "schema");
	jw_obj(w);
	jw_kstr(w, "$ref", "#/components/schemas/Error");
	jw_obj_end(w);
	jw_obj_end(w);
	jw_obj_end(w);
	jw_obj_end(w);
}

static void operation_id(struct buf *b, const struct route *rt)
{
	int rc = 0;
	for (const char *m = rt->method; *m && !rc; m++)
		rc = buf_addc(b, (char)tolower((unsigned char)*m));
	for (const char *p = rt->pattern; *p && !rc; p++)
		rc = buf_addc(b, isalnum((unsigned char)*p) ? *p : '_');
	(void)rc;
}

static void operation(struct jw *w, const struct route *rt, const char *domain)
{
	char method[8];
	size_t i;
	for (i = 0; rt->method[i] && i < sizeof method - 1; i++)
		method[i] = (char)tolower((unsigned char)rt->method[i]);
	method[i] = '\0';
	jw_key(w, method);
	jw_obj(w);
	struct buf id = BUF_INIT(512);
	operation_id(&id, rt);
	jw_kstr(w, "operationId", buf_str(&id));
	buf_free(&id);
	jw_kstr(w, "summary", rt->summary);
	jw_key(w, "tags");
	jw_arr(w);
	jw_str(w, domain);
	jw_arr_end(w);
	/* {params} of the pattern */
	bool any = false;
	for (const char *p = strchr(rt->pattern, '{'); p; p = strchr(p + 1, '{')) {
		const char *end = strchr(p, '}');
		if (!end)
			break;
		if (!any) {
			jw_key(w, "parameters");
			jw_arr(w);
			any = true;
		}
		jw_obj(w);
		jw_key(w, "name");
		jw_strn(w, p + 1, (size_t)(end - p - 1));
		jw_kstr(w, "in", "path");
		jw_kbool(w, "required", true);
		jw_key(w, "schema");
		JW_LIT(w, "{\"type\":\"string\"}");
		jw_obj_end(w);
	}
	if (any)
		jw_arr_end(w);
	if (rt->body_max) {
		jw_key(w, "requestBody");
		jw_obj(w);
		jw_kbool(w, "required", true);
		bool form = rt->body_max == BODY_STREAM;
		jw_kstr(w, "description", form ? "multipart/form-data, streamed" : "JSON body");
		jw_key(w, "content");
		jw_obj(w);
		jw_key(w, form ? "multipart/form-data" : "application/json");
		jw_obj(w);
		jw_key(w, "schema");
		if (rt->request_schema)
			jw_raw(w, rt->request_schema, strlen(rt->request_schema));
		else
			JW_LIT(w, "{\"type\":\"object\"}");
		jw_obj_end(w);
		jw_obj_end(w);
		jw_obj_end(w);
	}
	jw_key(w, "security");
	if (rt->access == ACCESS_OPTIONAL)
		JW_LIT(w, "[{},{\"bearer\":[]}]");
	else if (rt->access >= ACCESS_USER)
		JW_LIT(w, "[{\"bearer\":[]}]");
	else
		JW_LIT(w, "[]"); /* public, or loopback (an admin token also passes: see 403) */
	jw_key(w, "responses");
	jw_obj(w);
	char status[8];
	int st = rt->status ? rt->status : 200;
	status[0] = (char)('0' + st / 100);
	status[1] = (char)('0' + st / 10 % 10);
	status[2] = (char)('0' + st % 10);
	status[3] = '\0';
	jw_key(w, status);
	jw_obj(w);
	jw_kstr(w, "description", st == 204 ? "Done, no content" : "Success");
	if (st != 204) {
		jw_key(w, "content");
		jw_obj(w);
		jw_key(w, rt->produces ? rt->produces : "application/json");
		jw_obj(w);
		if (rt->response_schema) {
			jw_key(w, "schema");
			jw_raw(w, rt->response_schema, strlen(rt->response_schema));
		}
		jw_obj_end(w);
		jw_obj_end(w);
	}
	jw_obj_end(w);
	if (rt->body_max) {
		error_response(w, "400", "Invalid JSON or input");
		error_response(w, "413", "Body larger than the route accepts");
	}
	if (rt->access >= ACCESS_USER || rt->access == ACCESS_OPTIONAL)
		error_response(w, "401", "Missing, expired or invalid access token");
	if (rt->access == ACCESS_LOOPBACK || rt->access >= ACCESS_AGENT)
		error_response(w, "403", "Not allowed for this caller");
	if (strchr(rt->pattern, '{'))
		error_response(w, "404", "No such object (or not yours)");
	if (!rt->body_max && rt->access < ACCESS_USER && rt->access != ACCESS_OPTIONAL &&
	    rt->access != ACCESS_LOOPBACK && !strchr(rt->pattern, '{'))
		error_response(w, "4XX", "A malformed request (see x-error-codes)");
	jw_obj_end(w);
	jw_obj_end(w);
}

static void build(void)
{
	struct jw w;
	jw_init(&w, &doc);
	jw_obj(&w);
	jw_kstr(&w, "openapi", "3.1.0");
	jw_key(&w, "info");
	jw_obj(&w);
	jw_kstr(&w, "title", "app");
	jw_kstr(&w, "version", APP_VERSION);
	jw_key(&w, "license");
	JW_LIT(&w, "{\"name\":\"MIT\",\"identifier\":\"MIT\"}");
	jw_kstr(&w, "description",
	        "Accounts, media and galleries, an LLM chat assistant and a financial copilot in one "
	        "self-hosted binary; this document lists exactly the routes this build answers. "
	        "Errors are {\"error\":{\"code\",\"message\",\"field\"}} with a code from "
	        "x-error-codes; every response carries X-Request-Id.");
	jw_obj_end(&w);
	error_table(&w);
	jw_key(&w, "servers");
	JW_LIT(&w, "[{\"url\":\"/\"}]");
	jw_key(&w, "tags");
	jw_arr(&w);
	const char *domain;
	for (size_t i = 0; i < router_count(); i++) {
		router_at(i, &domain);
		bool seen = false;
		for (size_t k = 0; k < i && !seen; k++) {
			const char *other;
			router_at(k, &other);
			seen = strcmp(other, domain) == 0;
		}
		if (seen)
			continue;
		jw_obj(&w);
		jw_kstr(&w, "name", domain);
		jw_kstr(&w, "description", router_tag_description(domain));
		jw_obj_end(&w);
	}
	jw_arr_end(&w);
	jw_key(&w, "paths");
	jw_obj(&w);
	for (size_t i = 0; i < router_count(); i++) {
		const struct route *rt = router_at(i, NULL);
		bool seen = false;
		for (size_t k = 0; k < i && !seen; k++)
			seen = strcmp(router_at(k, NULL)->pattern, rt->pattern) == 0;
		if (seen)
			continue; /* its path item was written with the first route of this pattern */
		jw_key(&w, rt->pattern);
		jw_obj(&w);
		for (size_t k = i; k < router_count(); k++) {
			const struct route *other = router_at(k, &domain);
			if (strcmp(other->pattern, rt->pattern) == 0)
				operation(&w, other, domain);
		}
		jw_obj_end(&w);
	}
	jw_obj_end(&w);
	jw_key(&w, "components");
	jw_obj(&w);
	jw_key(&w, "securitySchemes");
	JW_LIT(&w, "{\"bearer\":{\"type\":\"http\",\"scheme\":\"bearer\",\"bearerFormat\":\"JWT\"}}");
	jw_key(&w, "schemas");
	jw_obj(&w);
	jw_key(&w, "Error");
	error_schema(&w);
	jw_obj_end(&w);
	jw_obj_end(&w);
	jw_obj_end(&w);
	doc_rc = jw_finish(&w);
}

int openapi_get(struct req *r)
{
	pthread_once(&once, build);
	if (doc_rc)
		return http_error(r, E_INTERNAL, "the API document could not be built", NULL);
	res_header(r, "Cache-Control", "no-cache");
	return res_body(r, 200, "application/json", doc.ptr, doc.len);
}
