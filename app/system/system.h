/* system/system.h: the appliance's own surface: health, metrics, countries, the OpenAPI
 * document and browser reports. The only header other code may include from system/. */
#ifndef SYSTEM_SYSTEM_H
#define SYSTEM_SYSTEM_H

#include "core/buf.h"
#include "http/route.h"

extern const struct route_table system_routes;
/* GET /countries of the Gin backend (domain "compat"). */
extern const struct route_table system_compat_routes;

/* Records this boot in the instance row (creating it on first boot). After migrations. */
WUR int system_boot(struct buf *msg);
/* Registers the gauges this domain reports; after metrics_init. */
WUR int system_metrics(void);

#endif
