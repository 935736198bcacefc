/* core/ticker.c: one thread per periodic job, woken early only to stop. */
#include "core/ticker.h"

#include <time.h>

static void *ticker_main(void *arg)
{
	struct ticker *t = arg;
	pthread_mutex_lock(&t->lock);
	while (!t->stopping) {
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += t->interval_s;
		while (!t->stopping && pthread_cond_timedwait(&t->wake, &t->lock, &until) == 0)
			; /* woken without stopping: keep waiting out the interval */
		if (t->stopping)
			break;
		pthread_mutex_unlock(&t->lock);
		t->run();
		pthread_mutex_lock(&t->lock);
	}
	pthread_mutex_unlock(&t->lock);
	if (t->done)
		t->done();
	return NULL;
}

int ticker_start(struct ticker *t, long long interval_s, void (*run)(void), void (*done)(void))
{
	pthread_mutex_lock(&t->lock);
	t->stopping = false;
	t->interval_s = interval_s;
	t->run = run;
	t->done = done;
	t->running = pthread_create(&t->thread, NULL, ticker_main, t) == 0;
	bool ok = t->running;
	pthread_mutex_unlock(&t->lock);
	return ok ? 0 : ERR_NOMEM;
}

void ticker_stop(struct ticker *t)
{
	pthread_mutex_lock(&t->lock);
	if (!t->running) {
		pthread_mutex_unlock(&t->lock);
		return;
	}
	t->stopping = true;
	pthread_cond_signal(&t->wake);
	pthread_mutex_unlock(&t->lock);
	pthread_join(t->thread, NULL);
	pthread_mutex_lock(&t->lock);
	t->running = t->stopping = false; /* the job may be run by hand again */
	pthread_mutex_unlock(&t->lock);
}

bool ticker_stopping(struct ticker *t)
{
	pthread_mutex_lock(&t->lock);
	bool s = t->stopping;
	pthread_mutex_unlock(&t->lock);
	return s;
}
