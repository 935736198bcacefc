/* hub/retention.c: the job that prunes events older than EVENTS_RETENTION, a bounded batch
 * per transaction so that writers wait for it only briefly. Must never lower a floor or
 * delete an event above one (a replay either has every event after since, or says resync). */
#include <stdio.h>
#include <time.h>

#include "core/config.h"
#include "core/log.h"
#include "core/ticker.h"
#include "core/time.h"
#include "hub/hub.h"
#include "hub/internal.h"
#include "store/db.h" /* db_thread_done */

#define PRUNE_BATCH   500 /* events per transaction: a few milliseconds of the writer */
#define PRUNE_EVERY_S 60  /* an indexed probe when there is nothing to prune */

static struct ticker pruner = TICKER_INIT;

int hub_prune(int64_t before_us, long *pruned)
{
	char before[TIME_RFC3339_LEN];
	time_rfc3339(before_us, before);
	*pruned = 0;
	bool full = true;
	int rc = 0;
	while (!rc && full && !ticker_stopping(&pruner)) {
		long rows = 0;
		rc = hub_store_prune(before, PRUNE_BATCH, &rows, &full);
		*pruned += rows;
	}
	return rc;
}

static void prune_old(void)
{
	int64_t keep_us = config_int("EVENTS_RETENTION") * 1000000LL;
	long pruned = 0;
	int rc = hub_prune(time_now_us() - keep_us, &pruned);
	char n[24];
	snprintf(n, sizeof n, "%ld", pruned);
	if (rc)
		log_error("pruning old events failed", "pruned", n, "reason", err_str(rc), NULL);
	else if (pruned > 0)
		log_info("pruned old events", "events", n, NULL);
}

int hub_start(void)
{
	return ticker_start(&pruner, PRUNE_EVERY_S, prune_old, db_thread_done);
}

void hub_stop(void)
{
	ticker_stop(&pruner);
}
