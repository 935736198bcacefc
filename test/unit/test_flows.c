/* Unit tests for auth/flows.c's auth_public_url: the base of mailed links, asked for by many
 * threads at once (request threads, the resets thread). It used to fill a static buffer on
 * first use without a lock, so a thread could read it half-written (or two could write it at
 * once). Each trial is a fresh process, so each races on a first use: against the old code 4
 * to 13 of 1500 trials showed a torn URL in five runs (and ThreadSanitizer flags every one). */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "auth/internal.h"
#include "check.h"
#include "core/config.h"

#define TRIALS  1500
#define THREADS 8

static pthread_barrier_t start;
static const char *seen[THREADS];
static char copies[THREADS][128];

static void *ask(void *arg)
{
	long i = (long)arg;
	pthread_barrier_wait(&start);
	seen[i] = auth_public_url();
	snprintf(copies[i], sizeof copies[i], "%s", seen[i]);
	return NULL;
}

/* One first use raced by THREADS threads: 0 when every one saw the whole URL, the same
 * buffer. */
static int trial(void)
{
	pthread_t t[THREADS];
	pthread_barrier_init(&start, NULL, THREADS);
	for (long i = 0; i < THREADS; i++)
		if (pthread_create(&t[i], NULL, ask, (void *)i) != 0)
			return 2;
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < THREADS; i++)
		if (strcmp(copies[i], "http://127.0.0.1:8080") != 0 || seen[i] != seen[0])
			return 1;
	return 0;
}

int main(void)
{
	/* no PUBLIC_URL and no server: the fallback, http://APP_LISTEN (its default) */
	int torn = 0, broken = 0;
	for (int n = 0; n < TRIALS; n++) {
		fflush(NULL);
		pid_t p = fork();
		if (p == 0)
			_exit(trial());
		int st = 0;
		if (p < 0 || waitpid(p, &st, 0) != p || !WIFEXITED(st) || WEXITSTATUS(st) > 1)
			broken++;
		else
			torn += WEXITSTATUS(st);
	}
	if (torn)
		fprintf(stderr, "%d of %d first uses showed a torn or second URL\n", torn, TRIALS);
	CHECK(broken == 0);
	CHECK(torn == 0);
	/* and in this process: the same answer every time */
	CHECK_STR(auth_public_url(), "http://127.0.0.1:8080");
	CHECK(auth_public_url() == auth_public_url());
	/* PUBLIC_URL wins when set */
	config_flag("PUBLIC_URL", "https://app.example.test");
	CHECK_STR(auth_public_url(), "https://app.example.test");
	config_free();
	return check_done("flows");
}
