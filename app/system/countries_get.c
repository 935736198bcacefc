/* system/countries_get.c: GET /api/v1/countries. The table never changes while the binary
 * runs, so its JSON is built once and served with a long cache lifetime. */
#include <pthread.h>

#include "system/countries.h"
#include "system/handlers.h"

static struct buf body = BUF_INIT(1 << 20);
static int build_rc = ERR_INVAL;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void build(void)
{
	struct jw w;
	jw_init(&w, &body);
	jw_arr(&w);
	for (size_t i = 0; i < countries_count; i++) {
		jw_obj(&w);
		jw_kstr(&w, "code", countries[i].code);
		jw_kstr(&w, "name", countries[i].name);
		jw_kstr(&w, "dial_code", countries[i].dial_code);
		jw_obj_end(&w);
	}
	jw_arr_end(&w);
	build_rc = jw_finish(&w);
}

int countries_get(struct req *r)
{
	pthread_once(&once, build);
	if (build_rc)
		return http_error(r, E_INTERNAL, "the country list could not be built", NULL);
	res_header(r, "Cache-Control", "public, max-age=86400");
	return res_body(r, 200, "application/json", body.ptr, body.len);
}
