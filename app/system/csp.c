/* system/csp.c: POST /api/v1/csp-report. Browsers send these without credentials, so the
 * body is untrusted and the log is rate limited; the URLs in a report are never logged
 * (their query strings can carry tokens). */
#include <stdatomic.h>
#include <string.h>

#include "core/log.h"
#include "core/time.h"
#include "http/metrics.h"
#include "system/handlers.h"
#include "system/system.h"

static atomic_ullong reports;
static atomic_llong last_logged_s;

static double reports_read(void)
{
	return (double)atomic_load(&reports);
}

int system_metrics(void)
{
	return metrics_gauge("csp_reports_total", "Content-Security-Policy violation reports received.",
	                     reports_read);
}

/* The directive a report names, in either report format. */
static const char *directive_of(const struct json *doc)
{
	const struct json *rep = json_get(doc, "csp-report");
	if (doc->type == JSON_ARRAY && doc->child)
		rep = json_get(doc->child, "body");
	const struct json *d = json_get(rep, "violated-directive");
	if (!d)
		d = json_get(rep, "effectiveDirective");
	return d && d->type == JSON_STRING && d->len < 100 ? d->str : "unknown";
}

int csp_report_post(struct req *r)
{
	struct json *doc;
	int rc = req_json(r, &doc);
	if (rc < 0)
		return rc;
	if (doc->type != JSON_OBJECT && doc->type != JSON_ARRAY)
		return http_error(r, E_INVALID_INPUT, "a report is a JSON object or array", NULL);
	atomic_fetch_add(&reports, 1);
	long long now = time_mono_us() / 1000000;
	long long last = atomic_load(&last_logged_s);
	if (now != last && atomic_compare_exchange_strong(&last_logged_s, &last, now))
		log_warn("content security policy violation", "directive", directive_of(doc), NULL);
	r->status = 204;
	return 0;
}
