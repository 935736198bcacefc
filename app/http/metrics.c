/* http/metrics.c: per-route request counts by status and latency histograms, kept in
 * arrays sized at boot. Must never allocate or lock on the request path. */
#include "http/metrics.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "http/errors.h"
#include "http/router.h"

#define NSTATUS 12
#define NGAUGES 32

/* upper bounds in microseconds; the last bucket is +Inf */
static const int64_t bounds_us[] = {500, 1000, 2500, 5000, 10000, 25000, 50000,
                                    100000, 250000, 500000, 1000000, 2500000, 10000000};
#define NBUCKETS (sizeof bounds_us / sizeof bounds_us[0])

struct status_count {
	atomic_int status; /* 0: slot free */
	atomic_ullong count;
};

struct route_stats {
	struct status_count by_status[NSTATUS];
	atomic_ullong buckets[NBUCKETS + 1];
	atomic_ullong sum_us;
	atomic_ullong count;
};

struct gauge {
	const char *name, *help;
	double (*read)(void);
};

static struct route_stats *stats; /* router_count() + 1; the last is "no route" */
static size_t nstats;
static atomic_llong open_connections;
static atomic_ullong errors[HTTP_ERR_COUNT]; /* answers by error code, in the table's order */
static struct gauge gauges[NGAUGES];
static size_t ngauges;

int metrics_init(void)
{
	nstats = router_count() + 1;
	stats = calloc(nstats, sizeof *stats);
	return stats ? 0 : ERR_NOMEM;
}

void metrics_free(void)
{
	free(stats);
	stats = NULL;
	nstats = 0;
	ngauges = 0;
}

void metrics_request(int route_index, int status, int64_t micros)
{
	if (!stats)
		return;
	struct route_stats *s = &stats[route_index >= 0 && (size_t)route_index < nstats - 1
	                                       ? (size_t)route_index
	                                       : nstats - 1];
	for (int i = 0; i < NSTATUS; i++) {
		struct status_count *c = &s->by_status[i];
		int seen = atomic_load_explicit(&c->status, memory_order_relaxed);
		if (seen == 0) {
			int expected = 0;
			if (!atomic_compare_exchange_strong(&c->status, &expected, status))
				seen = expected;
			else
				seen = status;
		}
		if (seen == status || i == NSTATUS - 1) { /* the last slot takes any overflow */
			atomic_fetch_add_explicit(&c->count, 1, memory_order_relaxed);
			break;
		}
	}
	size_t b = 0;
	while (b < NBUCKETS && micros > bounds_us[b])
		b++;
	atomic_fetch_add_explicit(&s->buckets[b], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&s->sum_us, (unsigned long long)(micros > 0 ? micros : 0),
	                          memory_order_relaxed);
	atomic_fetch_add_explicit(&s->count, 1, memory_order_relaxed);
}

void metrics_error(const char *code)
{
	for (int e = 0; e < HTTP_ERR_COUNT; e++) {
		if (http_err_info(e)->code == code || strcmp(http_err_info(e)->code, code) == 0) {
			atomic_fetch_add_explicit(&errors[e], 1, memory_order_relaxed);
			return;
		}
	}
}

void metrics_connections(int delta)
{
	atomic_fetch_add_explicit(&open_connections, delta, memory_order_relaxed);
}

int metrics_gauge(const char *name, const char *help, double (*read)(void))
{
	if (ngauges == NGAUGES)
		return ERR_TOOBIG;
	gauges[ngauges++] = (struct gauge){name, help, read};
	return 0;
}

static long resident_bytes(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	long pages_total = 0, pages_rss = 0;
	if (!f)
		return 0;
	if (fscanf(f, "%ld %ld", &pages_total, &pages_rss) != 2)
		pages_rss = 0;
	fclose(f);
	return pages_rss * sysconf(_SC_PAGESIZE);
}

static void labels(struct buf *out, size_t i, int *rc)
{
	const char *domain;
	const struct route *rt = i < nstats - 1 ? router_at(i, &domain) : NULL;
	/* route patterns are ours, never user input, so they need no escaping */
	if (!*rc)
		*rc = buf_printf(out, "route=\"%s\",method=\"%s\"", rt ? rt->pattern : "(none)",
		                 rt ? rt->method : "any");
}

int metrics_render(struct buf *out)
{
	int rc = buf_adds(out, "# HELP http_requests_total Requests answered, by route and status.\n"
	                       "# TYPE http_requests_total counter\n");
	for (size_t i = 0; i < nstats && !rc; i++) {
		for (int k = 0; k < NSTATUS && !rc; k++) {
			struct status_count *c = &stats[i].by_status[k];
			int st = atomic_load(&c->status);
			if (!st)
				break;
			rc = buf_adds(out, "http_requests_total{");
			labels(out, i, &rc);
			rc = rc ? rc : buf_printf(out, ",status=\"%d\"} %llu\n", st, atomic_load(&c->count));
		}
	}
	rc = rc ? rc : buf_adds(out, "# HELP http_request_duration_seconds Time to answer, by route.\n"
	                             "# TYPE http_request_duration_seconds histogram\n");
	for (size_t i = 0; i < nstats && !rc; i++) {
		struct route_stats *s = &stats[i];
		unsigned long long total = atomic_load(&s->count), cum = 0;
		if (!total)
			continue;
		for (size_t b = 0; b <= NBUCKETS && !rc; b++) {
			cum += atomic_load(&s->buckets[b]);
			rc = buf_adds(out, "http_request_duration_seconds_bucket{");
			labels(out, i, &rc);
			if (b < NBUCKETS)
				rc = rc ? rc : buf_printf(out, ",le=\"%g\"} %llu\n", bounds_us[b] / 1e6, cum);
			else
				rc = rc ? rc : buf_printf(out, ",le=\"+Inf\"} %llu\n", cum);
		}
		rc = rc ? rc : buf_adds(out, "http_request_duration_seconds_sum{");
		labels(out, i, &rc);
		rc = rc ? rc : buf_printf(out, "} %.6f\n", atomic_load(&s->sum_us) / 1e6);
		rc = rc ? rc : buf_adds(out, "http_request_duration_seconds_count{");
		labels(out, i, &rc);
		rc = rc ? rc : buf_printf(out, "} %llu\n", total);
	}
	rc = rc ? rc : buf_printf(out,
	                          "# HELP http_open_connections Client connections open now.\n"
	                          "# TYPE http_open_connections gauge\nhttp_open_connections %lld\n"
	                          "# HELP process_resident_memory_bytes Resident memory.\n"
	                          "# TYPE process_resident_memory_bytes gauge\n"
	                          "process_resident_memory_bytes %ld\n",
	                          (long long)atomic_load(&open_connections), resident_bytes());
	rc = rc ? rc : buf_adds(out, "# HELP http_errors_total Error answers, by code (the whole error table).\n"
	                             "# TYPE http_errors_total counter\n");
	for (int e = 0; e < HTTP_ERR_COUNT && !rc; e++)
		rc = buf_printf(out, "http_errors_total{code=\"%s\",status=\"%d\"} %llu\n", http_err_info(e)->code,
		                http_err_info(e)->status, atomic_load(&errors[e]));
	for (size_t g = 0; g < ngauges && !rc; g++)
		rc = buf_printf(out, "# HELP %s %s\n# TYPE %s gauge\n%s %g\n", gauges[g].name,
		                gauges[g].help, gauges[g].name, gauges[g].name, gauges[g].read());
	return rc;
}
