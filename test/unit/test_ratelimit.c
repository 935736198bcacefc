/* Unit tests for http/ratelimit.c: burst then refusal with the right Retry-After, refill,
 * independent keys, reset, a hard bound on keys with LRU eviction, long keys, and many
 * threads at once. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "core/rand.h"
#include "http/ratelimit.h"

#define S 1000000LL /* one second in microseconds */

static struct ratelimit *shared;

static void *hammer(void *arg)
{
	long id = (long)arg;
	char key[32];
	int retry;
	for (int i = 0; i < 100000; i++) {
		int n = snprintf(key, sizeof key, "k%d", (int)((i + id) % 300));
		(void)ratelimit_take(shared, key, (size_t)n, (int64_t)i * 10, &retry);
		if (i % 1000 == 0)
			ratelimit_reset(shared, key, (size_t)n);
	}
	return NULL;
}

int main(void)
{
	int retry = 0;
	/* 1 per second, burst 3 */
	struct ratelimit *rl = ratelimit_new("test", 1.0, 3, 100);
	CHECK(rl != NULL);
	for (int i = 0; i < 3; i++)
		CHECK(ratelimit_take(rl, "ip", 2, 0, &retry) == 0);
	CHECK(ratelimit_take(rl, "ip", 2, 0, &retry) == ERR_BUSY);
	CHECK(retry == 1);
	/* other keys are untouched */
	CHECK(ratelimit_take(rl, "other", 5, 0, &retry) == 0);
	/* half a second later: still refused; a second later: one more */
	CHECK(ratelimit_take(rl, "ip", 2, S / 2, &retry) == ERR_BUSY && retry == 1);
	CHECK(ratelimit_take(rl, "ip", 2, S + S / 2, &retry) == 0);
	CHECK(ratelimit_take(rl, "ip", 2, S + S / 2, &retry) == ERR_BUSY);
	/* a long quiet spell refills to the burst, never beyond */
	for (int i = 0; i < 3; i++)
		CHECK(ratelimit_take(rl, "ip", 2, 100 * S, &retry) == 0);
	CHECK(ratelimit_take(rl, "ip", 2, 100 * S, &retry) == ERR_BUSY);
	/* reset forgets the key */
	ratelimit_reset(rl, "ip", 2);
	CHECK(ratelimit_take(rl, "ip", 2, 100 * S, &retry) == 0);
	ratelimit_free(rl);

	/* slow rates give long waits: 3 per hour, burst 1 -> 1200 s */
	rl = ratelimit_new("slow", 3.0 / 3600, 1, 10);
	CHECK(ratelimit_take(rl, "a", 1, 0, &retry) == 0);
	CHECK(ratelimit_take(rl, "a", 1, 0, &retry) == ERR_BUSY && retry == 1200);
	ratelimit_free(rl);

	/* bounded: 100,000 keys through a limiter of 1,000 */
	rl = ratelimit_new("bounded", 1.0, 1, 1000);
	char key[300];
	for (int i = 0; i < 100000; i++) {
		int n = snprintf(key, sizeof key, "key-%d", i);
		(void)ratelimit_take(rl, key, (size_t)n, i, &retry);
	}
	CHECK(ratelimit_size(rl) == 1000);
	/* the most recent keys are still remembered (spent), the oldest were forgotten */
	CHECK(ratelimit_take(rl, "key-99999", 9, 100000, &retry) == ERR_BUSY);
	CHECK(ratelimit_take(rl, "key-0", 5, 100000, &retry) == 0);
	/* long keys: a shared 200-byte prefix does not make two keys one */
	memset(key, 'x', 250);
	key[250] = 'A';
	CHECK(ratelimit_take(rl, key, 251, 200000, &retry) == 0);
	CHECK(ratelimit_take(rl, key, 251, 200000, &retry) == ERR_BUSY);
	key[250] = 'B';
	CHECK(ratelimit_take(rl, key, 251, 200000, &retry) == 0);
	ratelimit_free(rl);

	/* many threads, overlapping keys: no crash, no lost structure */
	shared = ratelimit_new("threads", 1000.0, 10, 200);
	pthread_t t[4];
	for (long i = 0; i < 4; i++)
		CHECK(pthread_create(&t[i], NULL, hammer, (void *)i) == 0);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	CHECK(ratelimit_size(shared) <= 200);
	ratelimit_free(shared);
	rand_shutdown();
	return check_done("ratelimit");
}
