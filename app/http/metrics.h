/* http/metrics.h: counters for GET /metrics (Prometheus text format 0.0.4). Lock-free:
 * recording is a few atomic adds on the request path. */
#ifndef HTTP_METRICS_H
#define HTTP_METRICS_H

#include <stdint.h>

#include "core/buf.h"

/* After every route table is registered. */
WUR int metrics_init(void);
void metrics_free(void);
/* route_index from the router, -1 for requests that matched no route. */
void metrics_request(int route_index, int status, int64_t micros);
/* Counts an error answer by its code (one of the error table's). */
void metrics_error(const char *code);
void metrics_connections(int delta);
/* A gauge whose value is read when /metrics is rendered (e.g. the outbox depth). */
WUR int metrics_gauge(const char *name, const char *help, double (*read)(void));
WUR int metrics_render(struct buf *out);

#endif
