/* http/ratelimit.c: a hash table of token buckets with an LRU list threaded through it,
 * all behind one mutex per limiter; every operation is O(1) expected. Keys are hashed with
 * a random per-process seed so nobody can choose colliding keys; a key longer than
 * KEY_MAX is stored as its first bytes plus a hash of the whole, so two long keys never
 * share a bucket by their common prefix alone. */
#include "http/ratelimit.h"

#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/rand.h"

#define KEY_MAX 128

struct bucket {
	struct bucket *next_hash;        /* chain in the slot */
	struct bucket *lru_prev, *lru_next; /* most recent at the head */
	uint64_t hash;
	double tokens;
	int64_t updated_us;
	size_t key_len;
	char key[KEY_MAX];
};

struct ratelimit {
	pthread_mutex_t lock;
	double per_us, burst;
	size_t max_keys, count, nslots;
	uint64_t seed;
	struct bucket **slots;
	struct bucket *lru_head, *lru_tail;
	bool off; /* the setting said off: everything passes */
};

static uint64_t hash(uint64_t seed, const char *p, size_t n)
{
	/* FNV-1a over a secret seed, then a final mix */
	uint64_t h = 1469598103934665603ull ^ seed;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)p[i]) * 1099511628211ull;
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	return h;
}

struct ratelimit *ratelimit_new(const char *name, double per_second, double burst, size_t max_keys)
{
	(void)name;
	struct ratelimit *rl = calloc(1, sizeof *rl);
	if (!rl)
		return NULL;
	rl->nslots = 64;
	while (rl->nslots < max_keys)
		rl->nslots *= 2;
	rl->slots = calloc(rl->nslots, sizeof *rl->slots);
	if (!rl->slots || rand_bytes(&rl->seed, sizeof rl->seed) != 0) {
		free(rl->slots);
		free(rl);
		return NULL;
	}
	pthread_mutex_init(&rl->lock, NULL);
	rl->per_us = per_second / 1e6;
	rl->burst = burst;
	rl->max_keys = max_keys ? max_keys : 1;
	return rl;
}

struct ratelimit *ratelimit_setting(const char *name, const char *setting, size_t max_keys)
{
	double per_second, burst;
	if (config_rate(setting, &per_second, &burst))
		return NULL;
	struct ratelimit *rl = ratelimit_new(name, per_second, burst, max_keys);
	if (rl)
		rl->off = burst == 0;
	return rl;
}

void ratelimit_free(struct ratelimit *rl)
{
	if (!rl)
		return;
	for (struct bucket *b = rl->lru_head; b;) {
		struct bucket *next = b->lru_next;
		free(b);
		b = next;
	}
	pthread_mutex_destroy(&rl->lock);
	free(rl->slots);
	free(rl);
}

/* The stored form of a key: itself, or its head plus 16 hex of a hash of the whole. */
static size_t stored_key(struct ratelimit *rl, const char *key, size_t n, char out[KEY_MAX])
{
	if (n <= KEY_MAX) {
		memcpy(out, key, n);
		return n;
	}
	static const char hex[] = "0123456789abcdef";
	uint64_t h = hash(~rl->seed, key, n);
	memcpy(out, key, KEY_MAX - 16);
	for (int i = 0; i < 16; i++)
		out[KEY_MAX - 16 + i] = hex[(h >> (60 - 4 * i)) & 15];
	return KEY_MAX;
}

static void lru_unlink(struct ratelimit *rl, struct bucket *b)
{
	if (b->lru_prev)
		b->lru_prev->lru_next = b->lru_next;
	else
		rl->lru_head = b->lru_next;
	if (b->lru_next)
		b->lru_next->lru_prev = b->lru_prev;
	else
		rl->lru_tail = b->lru_prev;
	b->lru_prev = b->lru_next = NULL;
}

static void lru_front(struct ratelimit *rl, struct bucket *b)
{
	b->lru_next = rl->lru_head;
	b->lru_prev = NULL;
	if (rl->lru_head)
		rl->lru_head->lru_prev = b;
	rl->lru_head = b;
	if (!rl->lru_tail)
		rl->lru_tail = b;
}

static struct bucket **find(struct ratelimit *rl, uint64_t h, const char *k, size_t n)
{
	struct bucket **p = &rl->slots[h & (rl->nslots - 1)];
	while (*p && !((*p)->hash == h && (*p)->key_len == n && memcmp((*p)->key, k, n) == 0))
		p = &(*p)->next_hash;
	return p;
}

static void drop(struct ratelimit *rl, struct bucket *b)
{
	struct bucket **p = find(rl, b->hash, b->key, b->key_len);
	if (*p == b)
		*p = b->next_hash;
	lru_unlink(rl, b);
	rl->count--;
	free(b);
}

int ratelimit_take(struct ratelimit *rl, const char *key, size_t key_len, int64_t now_us, int *retry_after_s)
{
	if (rl->off)
		return 0;
	char k[KEY_MAX];
	size_t n = stored_key(rl, key, key_len, k);
	uint64_t h = hash(rl->seed, k, n);
	int rc = 0;
	pthread_mutex_lock(&rl->lock);
	struct bucket **slot = find(rl, h, k, n), *b = *slot;
	if (!b) {
		if (rl->count >= rl->max_keys && rl->lru_tail)
			drop(rl, rl->lru_tail);
		b = calloc(1, sizeof *b);
		if (!b) {
			*retry_after_s = 1;
			rc = ERR_BUSY; /* fail closed */
			goto out;
		}
		b->hash = h;
		b->key_len = n;
		memcpy(b->key, k, n);
		b->tokens = rl->burst;
		b->updated_us = now_us;
		slot = find(rl, h, k, n); /* the eviction may have changed the chain */
		b->next_hash = *slot;
		*slot = b;
		rl->count++;
	} else {
		lru_unlink(rl, b);
		int64_t dt = now_us - b->updated_us;
		if (dt > 0) {
			b->tokens = fmin(rl->burst, b->tokens + (double)dt * rl->per_us);
			b->updated_us = now_us;
		}
	}
	lru_front(rl, b);
	if (b->tokens >= 1.0) {
		b->tokens -= 1.0;
	} else {
		double wait_us = (1.0 - b->tokens) / rl->per_us;
		double secs = ceil(wait_us / 1e6);
		*retry_after_s = secs < 1 ? 1 : secs > 86400 ? 86400 : (int)secs;
		rc = ERR_BUSY;
	}
out:
	pthread_mutex_unlock(&rl->lock);
	return rc;
}

void ratelimit_reset(struct ratelimit *rl, const char *key, size_t key_len)
{
	char k[KEY_MAX];
	size_t n = stored_key(rl, key, key_len, k);
	uint64_t h = hash(rl->seed, k, n);
	pthread_mutex_lock(&rl->lock);
	struct bucket *b = *find(rl, h, k, n);
	if (b)
		drop(rl, b);
	pthread_mutex_unlock(&rl->lock);
}

size_t ratelimit_size(struct ratelimit *rl)
{
	pthread_mutex_lock(&rl->lock);
	size_t n = rl->count;
	pthread_mutex_unlock(&rl->lock);
	return n;
}
