/* system/routes.c: the system domain's route table and nothing else. */
#include "system/handlers.h"
#include "system/system.h"

static const char health_schema[] =
	"{\"type\":\"object\",\"required\":[\"status\",\"db\",\"version\"],\"properties\":{"
	"\"status\":{\"enum\":[\"ok\",\"degraded\"]},\"db\":{\"enum\":[\"ok\",\"error\"]},"
	"\"version\":{\"type\":\"string\"},\"instance_id\":{\"type\":\"string\",\"format\":\"uuid\"}}}";
static const char countries_schema[] =
	"{\"type\":\"array\",\"items\":{\"type\":\"object\",\"required\":[\"code\",\"name\",\"dial_code\"],"
	"\"properties\":{\"code\":{\"type\":\"string\",\"pattern\":\"^[A-Z]{2}$\"},"
	"\"name\":{\"type\":\"string\"},\"dial_code\":{\"type\":\"string\",\"pattern\":\"^\\\\+[0-9]{1,4}$\"}}}}";
static const char csp_schema[] =
	"{\"oneOf\":[{\"type\":\"object\",\"description\":\"application/csp-report: "
	"{\\\"csp-report\\\":{...}}\"},{\"type\":\"array\",\"description\":\"application/reports+json\"}]}";

static const struct route routes[] = {
	{"GET", "/health", health_get, ACCESS_PUBLIC, 0,
	 "Liveness and database status (503 when the database fails)", NULL, health_schema, 200, NULL},
	{"GET", "/metrics", metrics_get, ACCESS_LOOPBACK, 0,
	 "Prometheus metrics (from this machine, or with an admin token)", NULL, NULL, 200,
	 "text/plain; version=0.0.4"},
	{"GET", "/api/v1/countries", countries_get, ACCESS_PUBLIC, 0,
	 "Every ISO 3166-1 country with its calling code", NULL, countries_schema, 200, NULL},
	{"GET", "/api/v1/openapi.json", openapi_get, ACCESS_PUBLIC, 0,
	 "This API, as an OpenAPI 3.1 document generated from the route tables", NULL, NULL, 200,
	 NULL},
	{"POST", "/api/v1/csp-report", csp_report_post, ACCESS_PUBLIC, 64 * 1024,
	 "Content-Security-Policy violation reports sent by browsers", csp_schema, NULL, 204, NULL},
};

const struct route_table system_routes = ROUTE_TABLE("system", routes,
						   "Health, metrics, countries, this document and the web app");

/* The Gin backend's country list, for its clients. */
static const struct route compat[] = {
	{"GET", "/countries", countries_get, ACCESS_PUBLIC, 0, "Compatibility (Gin backend): as GET /api/v1/countries",
	 NULL, countries_schema, 200, NULL},
};

const struct route_table system_compat_routes =
	ROUTE_TABLE("compat", compat, "Drop-in routes for the clients of the five original backends");
