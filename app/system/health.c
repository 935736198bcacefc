/* system/health.c: GET /health, GET /metrics and the instance row. Health must stay cheap
 * (one cached statement): load balancers call it every few seconds. */
#include <string.h>

#include "core/log.h"
#include "core/time.h"
#include "core/uuid.h"
#include "http/metrics.h"
#include "store/db.h"
#include "system/handlers.h"
#include "system/system.h"

static const char sql_instance[] = "SELECT instance_id FROM instance WHERE id = 1";
static const char sql_create[] =
	"INSERT INTO instance(id, instance_id, created_at) VALUES(1, ?1, ?2) ON CONFLICT DO NOTHING";
static const char sql_boot[] = "UPDATE instance SET boot_count = boot_count + 1 WHERE id = 1";

int system_boot(struct buf *msg)
{
	char id[UUID_STR_LEN], now[TIME_RFC3339_LEN];
	if (uuid7(id))
		return ERR_CRYPTO;
	time_rfc3339(time_now_us(), now);
	if (db_begin())
		goto fail;
	sqlite3_stmt *st = db_prep(sql_create);
	if (!st)
		goto fail;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, now, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	db_done(st);
	if (rc != SQLITE_DONE)
		goto fail;
	st = db_prep(sql_boot);
	if (!st)
		goto fail;
	rc = sqlite3_step(st);
	db_done(st);
	if (rc != SQLITE_DONE || db_commit())
		goto fail;
	return 0;
fail:
	db_rollback();
	buf_note(msg, "cannot record this boot: %s", sqlite3_errmsg(db_conn()));
	return ERR_DB;
}

int health_get(struct req *r)
{
	struct jw w;
	sqlite3_stmt *st = db_prep(sql_instance);
	int rc = st ? sqlite3_step(st) : SQLITE_ERROR;
	bool ok = rc == SQLITE_ROW;
	res_json(r, ok ? 200 : 503, &w);
	jw_obj(&w);
	jw_kstr(&w, "status", ok ? "ok" : "degraded");
	jw_kstr(&w, "db", ok ? "ok" : "error");
	jw_kstr(&w, "version", APP_VERSION);
	if (ok)
		jw_kstr(&w, "instance_id", (const char *)sqlite3_column_text(st, 0));
	jw_obj_end(&w);
	db_done(st);
	if (!ok)
		db_fail("health");
	return res_end(r, &w);
}

int metrics_get(struct req *r)
{
	r->status = 200;
	r->content_type = "text/plain; version=0.0.4; charset=utf-8";
	if (metrics_render(&r->out))
		return http_error(r, 500, "internal", "metrics could not be rendered", NULL);
	return 0;
}
