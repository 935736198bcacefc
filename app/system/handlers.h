/* system/handlers.h: the system domain's handlers, private to system/. */
#ifndef SYSTEM_HANDLERS_H
#define SYSTEM_HANDLERS_H

#include "http/req.h"

int health_get(struct req *r);
int metrics_get(struct req *r);
int countries_get(struct req *r);
int openapi_get(struct req *r);
int csp_report_post(struct req *r);

#endif
