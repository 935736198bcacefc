/* hub/retention.c: the job that prunes events older than EVENTS_RETENTION, a bounded batch
 * per transaction so that writers wait for it only briefly. Must never lower a floor or
 * delete an event above one (a replay either has every event after since, or says resync). */
#include <pthread.h>
#include <stdio.h>
#include <time.h>

#include "core/config.h"
#include "core/log.h"
#include "core/time.h"
#include "hub/hub.h"
#include "hub/internal.h"
#include "store/db.h" /* db_thread_done */

#define PRUNE_BATCH   500 /* events per transaction: a few milliseconds of the writer */
#define PRUNE_EVERY_S 60  /* an indexed probe when there is nothing to prune */

static pthread_t worker;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static bool running, stopping; /* under lock */

static bool should_stop(void)
{
	pthread_mutex_lock(&lock);
	bool s = stopping;
	pthread_mutex_unlock(&lock);
	return s;
}

int hub_prune(int64_t before_us, long *pruned)
{
	char before[TIME_RFC3339_LEN];
	time_rfc3339(before_us, before);
	*pruned = 0;
	bool full = true;
	int rc = 0;
	while (!rc && full && !should_stop()) {
		long rows = 0;
		rc = hub_store_prune(before, PRUNE_BATCH, &rows, &full);
		*pruned += rows;
	}
	return rc;
}

static void *worker_main(void *arg)
{
	(void)arg;
	int64_t keep_us = config_int("EVENTS_RETENTION") * 1000000LL;
	pthread_mutex_lock(&lock);
	while (!stopping) {
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += PRUNE_EVERY_S;
		while (!stopping && pthread_cond_timedwait(&wake, &lock, &until) == 0)
			; /* woken without stopping: keep waiting out the interval */
		if (stopping)
			break;
		pthread_mutex_unlock(&lock);
		long pruned = 0;
		int rc = hub_prune(time_now_us() - keep_us, &pruned);
		char n[24];
		snprintf(n, sizeof n, "%ld", pruned);
		if (rc)
			log_error("pruning old events failed", "pruned", n, "reason", err_str(rc),
			          NULL);
		else if (pruned > 0)
			log_info("pruned old events", "events", n, NULL);
		pthread_mutex_lock(&lock);
	}
	pthread_mutex_unlock(&lock);
	db_thread_done();
	return NULL;
}

int hub_start(void)
{
	pthread_mutex_lock(&lock);
	stopping = false;
	running = pthread_create(&worker, NULL, worker_main, NULL) == 0;
	pthread_mutex_unlock(&lock);
	return running ? 0 : ERR_NOMEM;
}

void hub_stop(void)
{
	pthread_mutex_lock(&lock);
	if (!running) {
		pthread_mutex_unlock(&lock);
		return;
	}
	stopping = true;
	pthread_cond_signal(&wake);
	pthread_mutex_unlock(&lock);
	pthread_join(worker, NULL);
	pthread_mutex_lock(&lock);
	running = stopping = false; /* hub_prune called by hand prunes again */
	pthread_mutex_unlock(&lock);
}
