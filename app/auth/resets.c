/* auth/resets.c: the forgot-password queue and the thread that works it off. A request only
 * queues the address and answers 202, so its answer and its timing are the same whether or
 * not an account has that address. Must never grow without bound nor lose a queued request
 * at a clean shutdown; a crash may lose queued ones (the person asks again). */
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "auth/auth.h"
#include "auth/internal.h"
#include "store/db.h" /* db_thread_done */

#define QUEUE_MAX   256 /* addresses waiting; the rate limits keep it far from full */
#define EMAIL_MAX   254 /* what forgot_post accepts */
#define WAIT_FULL_S 5   /* how long a request waits for room before 503 */
/* The work for an existing account (a link written and fsynced, the outbox woken) starts
 * this long after the request was answered, never while it is still being answered: on a
 * busy machine it would otherwise compete with that answer and still show in its timing. */
#define DELAY_MS 100

/* The ring, its thread and its state: all under lock. */
static struct pending {
	char email[EMAIL_MAX + 1];
	struct timespec due; /* CLOCK_REALTIME, as pthread_cond_timedwait wants */
} queue[QUEUE_MAX];
static size_t head, count;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t filled = PTHREAD_COND_INITIALIZER, drained = PTHREAD_COND_INITIALIZER;
static pthread_t worker;
static bool running, stopping;

int resets_enqueue(struct req *r, const char *email)
{
	size_t n = strlen(email);
	if (n > EMAIL_MAX)
		return http_error(r, E_INVALID_INPUT, "that is not an email address", "email");
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += WAIT_FULL_S;
	pthread_mutex_lock(&lock);
	while (running && !stopping && count == QUEUE_MAX)
		if (pthread_cond_timedwait(&drained, &lock, &until) != 0)
			break;
	bool ok = running && !stopping && count < QUEUE_MAX;
	if (ok) {
		struct pending *p = &queue[(head + count) % QUEUE_MAX];
		memcpy(p->email, email, n + 1);
		clock_gettime(CLOCK_REALTIME, &p->due);
		p->due.tv_nsec += DELAY_MS * 1000000L;
		if (p->due.tv_nsec >= 1000000000L) {
			p->due.tv_sec++;
			p->due.tv_nsec -= 1000000000L;
		}
		count++;
		pthread_cond_signal(&filled);
	}
	pthread_mutex_unlock(&lock);
	if (ok)
		return 0;
	res_header(r, "Retry-After", "5");
	return http_error(r, E_UNAVAILABLE, "too many password resets at once; try again shortly",
	                  NULL);
}

static void *worker_main(void *arg)
{
	(void)arg;
	char email[EMAIL_MAX + 1];
	pthread_mutex_lock(&lock);
	for (;;) {
		while (count == 0 && !stopping)
			pthread_cond_wait(&filled, &lock);
		if (count == 0)
			break; /* stopping, and everything queued is done */
		/* not before it is due (at shutdown at once); a signal for a later entry or a
		 * spurious wake-up just waits again */
		while (!stopping && pthread_cond_timedwait(&filled, &lock, &queue[head].due) == 0)
			;
		memcpy(email, queue[head].email, sizeof email);
		head = (head + 1) % QUEUE_MAX;
		count--;
		pthread_cond_signal(&drained);
		pthread_mutex_unlock(&lock);
		auth_reset_mail(email);
		memset(email, 0, sizeof email);
		pthread_mutex_lock(&lock);
	}
	pthread_mutex_unlock(&lock);
	db_thread_done();
	return NULL;
}

int auth_start(void)
{
	pthread_mutex_lock(&lock);
	stopping = false;
	head = count = 0;
	running = pthread_create(&worker, NULL, worker_main, NULL) == 0;
	pthread_mutex_unlock(&lock);
	return running ? 0 : ERR_NOMEM;
}

void auth_stop(void)
{
	pthread_mutex_lock(&lock);
	if (!running) {
		pthread_mutex_unlock(&lock);
		return;
	}
	stopping = true; /* new requests get 503; what is queued is still mailed */
	pthread_cond_broadcast(&filled);
	pthread_cond_broadcast(&drained);
	pthread_mutex_unlock(&lock);
	pthread_join(worker, NULL);
	pthread_mutex_lock(&lock);
	running = false;
	pthread_mutex_unlock(&lock);
}
