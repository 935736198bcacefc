/* http/ratelimit.h: token buckets per key (an IP, an account), in memory, bounded in size.
 * One limiter per policy. Fails closed: when memory is short a key is refused, because the
 * doors behind these limits take secrets. */
#ifndef HTTP_RATELIMIT_H
#define HTTP_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

struct ratelimit;

/* per_second: refill rate; burst: bucket size; max_keys: the most keys kept (the least
 * recently used one is forgotten to make room). NULL when memory is short. */
struct ratelimit *ratelimit_new(const char *name, double per_second, double burst, size_t max_keys);
/* The same from a rate setting (core/config.h: COUNT/UNIT[:BURST] or off); "off" gives a
 * limiter that allows everything. */
struct ratelimit *ratelimit_setting(const char *name, const char *setting, size_t max_keys);
void ratelimit_free(struct ratelimit *rl);
/* Takes one token for key at now_us (monotonic). 0 when allowed; ERR_BUSY when not, with
 * *retry_after_s (>= 1) the whole seconds until a token is back. */
int ratelimit_take(struct ratelimit *rl, const char *key, size_t key_len, int64_t now_us, int *retry_after_s);
/* Forgets a key (e.g. after a successful sign-in). */
void ratelimit_reset(struct ratelimit *rl, const char *key, size_t key_len);
/* Keys held now (for tests). */
size_t ratelimit_size(struct ratelimit *rl);

#endif
