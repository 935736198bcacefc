/* http/req.c: what handlers use to read a request and build a response. Must never let a
 * header carry CR/LF from a caller, and never hand out memory that outlives the request. */
#include "http/req.h"

#include <civetweb.h>
#include <string.h>

const char *req_param(const struct req *r, const char *name)
{
	for (int i = 0; i < r->nparams; i++)
		if (strcmp(r->param_names[i], name) == 0)
			return r->param_values[i];
	return NULL;
}

const char *req_query(struct req *r, const char *name)
{
	if (!r->query)
		return NULL;
	size_t qlen = strlen(r->query);
	char *out = arena_alloc(&r->arena, qlen + 1);
	if (!out)
		return NULL;
	int n = mg_get_var(r->query, qlen, name, out, qlen + 1);
	return n >= 0 ? out : NULL;
}

const char *req_header(const struct req *r, const char *name)
{
	return r->conn ? mg_get_header(r->conn, name) : NULL;
}

int req_json(struct req *r, struct json **out)
{
	struct json_error err = {0, NULL};
	struct json_limits lim = {32, 100000};
	int rc = json_parse(&r->arena, r->body ? r->body : "", r->body_len, &lim, out, &err);
	if (rc == 0)
		return 0;
	if (rc == ERR_NOMEM)
		return http_error(r, 413, "payload_too_large", "the request body is too complex", NULL);
	const char *why = rc == ERR_TOOBIG ? "nested too deeply or too many values"
	                                   : (err.message ? err.message : "malformed");
	char *msg = arena_printf(&r->arena, "the body is not valid JSON: %s (at byte %zu)", why,
	                         err.offset);
	return http_error(r, 400, "invalid_json", msg ? msg : "the body is not valid JSON", NULL);
}

struct jw *res_json(struct req *r, int status, struct jw *w)
{
	r->status = status;
	r->content_type = "application/json";
	buf_reset(&r->out);
	if (buf_reserve(&r->out, 256) != 0)
		r->broken = true;
	jw_init(w, &r->out);
	return w;
}

int res_end(struct req *r, struct jw *w)
{
	if (jw_finish(w) != 0)
		return http_error(r, 500, "internal", "the response could not be built", NULL);
	return 0;
}

int res_body(struct req *r, int status, const char *content_type, const void *data, size_t n)
{
	r->status = status;
	r->content_type = content_type;
	buf_reset(&r->out);
	if (buf_add(&r->out, data, n))
		return http_error(r, 500, "internal", "response too large", NULL);
	return 0;
}

static bool header_safe(const char *s)
{
	return !strpbrk(s, "\r\n");
}

void res_header(struct req *r, const char *name, const char *value)
{
	if (!header_safe(name) || !header_safe(value))
		return;
	if (buf_printf(&r->headers, "%s: %s\r\n", name, value) != 0)
		r->broken = true;
}

int http_error(struct req *r, int status, const char *code, const char *message,
               const char *field)
{
	struct jw w;
	res_json(r, status, &w);
	jw_obj(&w);
	jw_key(&w, "error");
	jw_obj(&w);
	jw_kstr(&w, "code", code);
	jw_kstr(&w, "message", message);
	if (field)
		jw_kstr(&w, "field", field);
	jw_obj_end(&w);
	jw_obj_end(&w);
	if (jw_finish(&w) != 0)
		r->broken = true;
	r->error_code = code;
	return -status;
}
