/* http/req.c: what handlers use to read a request and build a response. Must never let a
 * header carry CR/LF from a caller, and never hand out memory that outlives the request. */
#include "http/req.h"

#include <civetweb.h>
#include <stdlib.h>
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
		return http_error(r, E_PAYLOAD_TOO_LARGE, "the request body is too complex", NULL);
	const char *why = rc == ERR_TOOBIG ? "nested too deeply or too many values"
	                                   : (err.message ? err.message : "malformed");
	char *msg = arena_printf(&r->arena, "the body is not valid JSON: %s (at byte %zu)", why,
	                         err.offset);
	return http_error(r, E_INVALID_JSON, msg ? msg : "the body is not valid JSON", NULL);
}

int req_object(struct req *r, struct json **out)
{
	int rc = req_json(r, out);
	if (rc < 0)
		return rc;
	if ((*out)->type != JSON_OBJECT)
		return http_error(r, E_INVALID_INPUT, "the body must be a JSON object", NULL);
	return 0;
}

static int field_error(struct req *r, const char *name, const char *what)
{
	char *msg = arena_printf(&r->arena, "%s %s", name, what);
	return http_error(r, E_INVALID_INPUT, msg ? msg : "invalid field", name);
}

int req_str(struct req *r, const struct json *obj, const char *name, bool required, size_t max,
            const char **out)
{
	const struct json *v = json_get(obj, name);
	*out = NULL;
	if (!v || v->type == JSON_NULL)
		return required ? field_error(r, name, "is required") : 0;
	if (v->type != JSON_STRING)
		return field_error(r, name, "must be a string");
	if (v->len > max) {
		char *what = arena_printf(&r->arena, "must be at most %zu bytes", max);
		return field_error(r, name, what ? what : "is too long");
	}
	if (required && v->len == 0)
		return field_error(r, name, "must not be empty");
	*out = v->str;
	return 0;
}

int req_bool(struct req *r, const struct json *obj, const char *name, bool *present, bool *out)
{
	const struct json *v = json_get(obj, name);
	*present = v != NULL;
	if (!v)
		return 0;
	if (v->type != JSON_BOOL)
		return field_error(r, name, "must be true or false");
	*out = v->boolean;
	return 0;
}

int req_int(struct req *r, const struct json *obj, const char *name, int64_t min, int64_t max,
            bool *present, int64_t *out)
{
	const struct json *v = json_get(obj, name);
	*present = v != NULL && v->type != JSON_NULL;
	if (!*present)
		return 0;
	if (v->type != JSON_NUMBER || !v->is_int || v->integer < min || v->integer > max) {
		char *what = arena_printf(&r->arena, "must be a whole number from %lld to %lld",
		                          (long long)min, (long long)max);
		return field_error(r, name, what ? what : "is out of range");
	}
	*out = v->integer;
	return 0;
}

int req_page(struct req *r, int *limit, const char **cursor)
{
	const char *l = req_query(r, "limit");
	*limit = 50;
	if (l) {
		char *end;
		long n = strtol(l, &end, 10);
		if (!*l || *end || n < 1 || n > 200)
			return http_error(r, E_INVALID_INPUT, "limit must be from 1 to 200", "limit");
		*limit = (int)n;
	}
	*cursor = req_query(r, "cursor");
	if (*cursor && (!**cursor || strlen(*cursor) > 128))
		return http_error(r, E_INVALID_INPUT, "cursor is not valid", "cursor");
	return 0;
}

int req_page_of(struct req *r, struct page *pg)
{
	return req_page(r, &pg->limit, &pg->cursor);
}

int res_page(struct req *r, const struct page_out *out, size_t size, void (*item)(struct jw *w, const void *p))
{
	struct jw w;
	res_json(r, 200, &w);
	jw_obj(&w);
	jw_key(&w, "items");
	jw_arr(&w);
	for (size_t i = 0; i < out->n; i++)
		item(&w, (const char *)out->items + i * size);
	jw_arr_end(&w);
	jw_kstr(&w, "next_cursor", out->next_cursor);
	jw_obj_end(&w);
	return res_end(r, &w);
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
		return http_error(r, E_INTERNAL, "the response could not be built", NULL);
	return 0;
}

int res_body(struct req *r, int status, const char *content_type, const void *data, size_t n)
{
	r->status = status;
	r->content_type = content_type;
	buf_reset(&r->out);
	if (buf_add(&r->out, data, n))
		return http_error(r, E_INTERNAL, "response too large", NULL);
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

static const struct http_err_info err_table[] = {
#define HTTP_ERR_ROW(e, status, code, meaning) [e] = {status, code, meaning},
	HTTP_ERRORS(HTTP_ERR_ROW)
#undef HTTP_ERR_ROW
};

const struct http_err_info *http_err_info(enum http_err e)
{
	return (unsigned)e < HTTP_ERR_COUNT ? &err_table[e] : &err_table[E_INTERNAL];
}

int http_error(struct req *r, enum http_err e, const char *message, const char *field)
{
	return http_error_more(r, e, message, field, NULL, NULL);
}

int http_error_more(struct req *r, enum http_err e, const char *message, const char *field,
                    void (*more)(struct jw *w, const void *ctx), const void *ctx)
{
	const struct http_err_info *info = http_err_info(e);
	const char *code = info->code;
	int status = info->status;
	if (!message)
		message = info->meaning;
	struct jw w;
	res_json(r, status, &w);
	jw_obj(&w);
	jw_key(&w, "error");
	jw_obj(&w);
	jw_kstr(&w, "code", code);
	jw_kstr(&w, "message", message);
	if (field)
		jw_kstr(&w, "field", field);
	if (more)
		more(&w, ctx);
	jw_obj_end(&w);
	jw_obj_end(&w);
	if (jw_finish(&w) != 0)
		r->broken = true;
	r->error_code = code;
	return -status;
}

bool req_etag_match(const struct req *r, const char *etag)
{
	size_t n = strlen(etag);
	for (const char *p = req_header(r, "If-None-Match"); p && *p;) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (*p == '*')
			return true;
		if (strncmp(p, "W/", 2) == 0)
			p += 2;
		if (strncmp(p, etag, n) == 0 && (p[n] == '\0' || p[n] == ',' || p[n] == ' '))
			return true;
		p = strchr(p, ',');
	}
	return false;
}
