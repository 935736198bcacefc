/* core/ticker.h: a thread that runs one job every interval until it is stopped (the media
 * collector, the pruning of old events). The job checks ticker_stopping to end a long run
 * early. Must never run the job twice at once or after ticker_stop returned. */
#ifndef CORE_TICKER_H
#define CORE_TICKER_H

#include <pthread.h>
#include <stdbool.h>

#include "core/err.h"

/* Owner: the module whose job it runs (a static). */
struct ticker {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	bool running, stopping; /* under lock */
	long long interval_s;
	void (*run)(void);
	void (*done)(void); /* on the ticker's thread as it ends (per-thread state), or NULL */
};

#define TICKER_INIT {.lock = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER}

/* Starts the thread: run() once every interval_s seconds, the first after one interval. */
WUR int ticker_start(struct ticker *t, long long interval_s, void (*run)(void), void (*done)(void));
/* Wakes the thread, waits for a run in progress to end, joins it. Safe when not running. */
void ticker_stop(struct ticker *t);
/* True from ticker_stop until it returned (for a long job to end early). */
bool ticker_stopping(struct ticker *t);

#endif
