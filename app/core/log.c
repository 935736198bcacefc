/* core/log.c: formats a whole line in memory and hands it to one write(2), so lines from
 * many threads never interleave. Must never block on a lock or grow without bound. */
#include "core/log.h"

#include <stdarg.h>
#include <string.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/json.h"
#include "core/time.h"

#define LINE_MAX_BYTES 8192

static bool as_json;
static enum log_level min_level = LOG_INFO;
static const char *const level_names[] = {"debug", "info", "warn", "error"};
static const char *const level_upper[] = {"DEBUG", "INFO", "WARN", "ERROR"};

void log_setup(bool json, enum log_level min)
{
	as_json = json;
	min_level = min;
}

/* A text value stays bare when it is simple, otherwise it is quoted like a JSON string. */
static int add_value(struct buf *b, const char *v)
{
	if (!v)
		v = "";
	bool bare = *v != '\0';
	for (const char *p = v; *p && bare; p++)
		if ((unsigned char)*p <= ' ' || *p == '"' || *p == '=' || (unsigned char)*p >= 0x7f)
			bare = false;
	return bare ? buf_adds(b, v) : json_quote(b, v, strlen(v));
}

static void line_start(struct buf *b, enum log_level level, const char *msg)
{
	char ts[TIME_RFC3339_LEN];
	time_rfc3339(time_now_us(), ts);
	int rc;
	if (as_json) {
		rc = buf_printf(b, "{\"ts\":\"%s\",\"level\":\"%s\",\"msg\":", ts, level_names[level]);
		rc = rc ? rc : json_quote(b, msg, strlen(msg));
	} else {
		rc = buf_printf(b, "%s %s %s", ts, level_upper[level], msg);
	}
	(void)rc; /* a line that hits the limit is cut; log_flush marks it */
}

static void line_kv(struct buf *b, const char *key, const char *value)
{
	int rc;
	if (as_json) {
		rc = buf_addc(b, ',');
		rc = rc ? rc : json_quote(b, key, strlen(key));
		rc = rc ? rc : buf_addc(b, ':');
		rc = rc ? rc : json_quote(b, value ? value : "", value ? strlen(value) : 0);
	} else {
		rc = buf_printf(b, " %s=", key);
		rc = rc ? rc : add_value(b, value);
	}
	(void)rc;
}

static void line_flush(struct buf *b)
{
	int rc = buf_adds(b, as_json ? "}\n" : "\n");
	if (rc) {
		/* too long: cut it, but keep JSON lines parseable */
		b->len = 0;
		rc = buf_adds(b, as_json ? "{\"level\":\"error\",\"msg\":\"log line too long\"}\n"
		                         : "ERROR log line too long\n");
	}
	const char *p = buf_str(b);
	size_t n = b->len;
	while (n > 0) {
		ssize_t w = write(2, p, n);
		if (w <= 0)
			break;
		p += w;
		n -= (size_t)w;
	}
	buf_free(b);
}

void log_write(enum log_level level, const char *msg, ...)
{
	if (level < min_level)
		return;
	struct buf b = BUF_INIT(LINE_MAX_BYTES);
	line_start(&b, level, msg);
	va_list ap;
	va_start(ap, msg);
	const char *key;
	while ((key = va_arg(ap, const char *)) != NULL)
		line_kv(&b, key, va_arg(ap, const char *));
	va_end(ap);
	line_flush(&b);
}

void log_request(const char *request_id, const char *method, const char *path, int status,
                 size_t bytes, int64_t micros, const char *error_code)
{
	if (LOG_INFO < min_level)
		return;
	struct buf b = BUF_INIT(LINE_MAX_BYTES);
	line_start(&b, LOG_INFO, "request");
	line_kv(&b, "request_id", request_id);
	line_kv(&b, "method", method);
	line_kv(&b, "path", path);
	int rc = buf_printf(&b, as_json ? ",\"status\":%d,\"bytes\":%zu,\"us\":%lld"
	                                : " status=%d bytes=%zu us=%lld",
	                    status, bytes, (long long)micros);
	(void)rc;
	if (error_code)
		line_kv(&b, "error", error_code);
	line_flush(&b);
}
