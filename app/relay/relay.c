/* relay/relay.c: what the relay runs beside its routes: the rate limits of sends and key
 * fetches, the job that drops messages nobody acknowledged within RELAY_RETENTION, and its
 * part in an account's deletion and export. */
#include <stdio.h>
#include <string.h>

#include "core/config.h"
#include "core/log.h"
#include "core/ticker.h"
#include "core/time.h"
#include "http/ratelimit.h"
#include "relay/internal.h"
#include "relay/relay.h"
#include "store/db.h" /* db_thread_done */

#define PRUNE_BATCH   500
#define PRUNE_EVERY_S 60
#define LIMIT_KEYS    100000 /* accounts a limiter remembers */

static struct ticker pruner = TICKER_INIT;
static struct ratelimit *rl_send, *rl_keys;

static int take(struct ratelimit *rl, const char *user, int *retry_after)
{
	*retry_after = 0;
	return rl ? ratelimit_take(rl, user, strlen(user), time_mono_us(), retry_after) : 0;
}

int relay_limit_send(const char *user, int *retry_after)
{
	return take(rl_send, user, retry_after);
}

int relay_limit_keys(const char *user, int *retry_after)
{
	return take(rl_keys, user, retry_after);
}

static void prune_old(void)
{
	char before[TIME_RFC3339_LEN];
	time_rfc3339(time_now_us() - config_int("RELAY_RETENTION") * 1000000LL, before);
	long total = 0, rows = PRUNE_BATCH;
	int rc = 0;
	while (!rc && rows == PRUNE_BATCH && !ticker_stopping(&pruner)) {
		rc = relay_store_prune(before, PRUNE_BATCH, &rows);
		total += rows;
	}
	char n[24];
	snprintf(n, sizeof n, "%ld", total);
	if (rc)
		log_error("dropping old relay messages failed", "dropped", n, "reason", err_str(rc), NULL);
	else if (total > 0)
		log_info("dropped relay messages nobody acknowledged in time", "messages", n, NULL);
}

int relay_start(void)
{
	rl_send = ratelimit_setting("relay send", "RATE_RELAY_SEND", LIMIT_KEYS);
	rl_keys = ratelimit_setting("key fetch", "RATE_KEYS_FETCH", LIMIT_KEYS);
	if (!rl_send || !rl_keys) {
		relay_stop();
		return ERR_NOMEM;
	}
	return ticker_start(&pruner, PRUNE_EVERY_S, prune_old, db_thread_done);
}

void relay_stop(void)
{
	ticker_stop(&pruner);
	ratelimit_free(rl_send);
	ratelimit_free(rl_keys);
	rl_send = rl_keys = NULL;
}

int relay_user_deleted(const char *user_id)
{
	return relay_store_forget(user_id);
}

int relay_user_export(struct arena *a, struct jw *w, const char *user_id)
{
	struct relay_device devs[RELAY_DEVICES_MAX];
	int n = 0;
	int rc = relay_store_devices(a, user_id, devs, &n);
	if (rc)
		return rc;
	jw_key(w, "relay");
	jw_obj(w);
	jw_key(w, "devices");
	jw_arr(w);
	for (int i = 0; i < n; i++) {
		jw_obj(w);
		jw_kint(w, "device_id", devs[i].id);
		jw_kstr(w, "name", devs[i].name);
		jw_kstr(w, "created_at", devs[i].created_at);
		jw_kstr(w, "last_seen_at", devs[i].last_seen_at);
		jw_obj_end(w);
	}
	jw_arr_end(w);
	jw_obj_end(w);
	return 0;
}
