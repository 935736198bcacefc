/* system/health.c: GET /health, GET /metrics and the instance row. Health must stay cheap:
 * the database is probed at most every PROBE_US and the answer shared, so a flood of health
 * checks never becomes a flood of database reads; a failure still shows within PROBE_US. */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "core/log.h"
#include "core/time.h"
#include "core/uuid.h"
#include "http/metrics.h"
#include "system/handlers.h"
#include "system/internal.h"
#include "system/system.h"

#define PROBE_US 250000

static pthread_mutex_t probe_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_llong probed_at = -PROBE_US; /* monotonic time of the last probe */
static atomic_bool db_ok;
static char instance_id[UUID_STR_LEN]; /* set once by system_boot, read-only after */

int system_boot(struct buf *msg)
{
	char id[UUID_STR_LEN], now[TIME_RFC3339_LEN];
	if (uuid7(id))
		return ERR_CRYPTO;
	time_rfc3339(time_now_us(), now);
	if (system_instance_boot(id, now, instance_id, sizeof instance_id)) {
		buf_note(msg, "cannot record this boot (the database error is logged above)");
		return ERR_DB;
	}
	/* the boot just read and wrote the database: that is the first probe */
	atomic_store(&db_ok, true);
	atomic_store(&probed_at, time_mono_us());
	return 0;
}

/* Reads the instance row on this thread's connection: proof the database answers. */
static void probe(void)
{
	atomic_store(&db_ok, system_db_ping() == 0);
}

int health_get(struct req *r)
{
	int64_t now = time_mono_us();
	if (now - atomic_load(&probed_at) >= PROBE_US && pthread_mutex_trylock(&probe_lock) == 0) {
		/* one thread probes; the others answer with the last result meanwhile */
		if (now - atomic_load(&probed_at) >= PROBE_US) {
			probe();
			atomic_store(&probed_at, time_mono_us());
		}
		pthread_mutex_unlock(&probe_lock);
	}
	bool ok = atomic_load(&db_ok);
	struct jw w;
	res_json(r, ok ? 200 : 503, &w);
	jw_obj(&w);
	jw_kstr(&w, "status", ok ? "ok" : "degraded");
	jw_kstr(&w, "db", ok ? "ok" : "error");
	jw_kstr(&w, "version", APP_VERSION);
	if (ok)
		jw_kstr(&w, "instance_id", instance_id);
	jw_obj_end(&w);
	return res_end(r, &w);
}

int metrics_get(struct req *r)
{
	r->status = 200;
	r->content_type = "text/plain; version=0.0.4; charset=utf-8";
	if (metrics_render(&r->out))
		return http_error(r, E_INTERNAL, "metrics could not be rendered", NULL);
	return 0;
}
