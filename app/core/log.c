/* core/log.c: formats a whole line in memory, so lines from many threads never interleave.
 * Access lines are batched by a logger thread (one write(2) per batch, not per request);
 * every other line flushes the batch and is written at once, so order is kept. A request
 * thread never waits on the log's file descriptor: when the batch is full (the reader of
 * stderr is stuck or slow) access lines are dropped and counted, not queued without bound. */
#include "core/log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/json.h"
#include "core/time.h"

#define LINE_MAX_BYTES 8192

#define BATCH_BYTES (1024 * 1024)
#define BATCH_MS 20

static bool as_json;
/* the batch: lines not yet written; guarded by lock */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static char *batch, *spare;
static size_t batch_len;
static bool running, stopping;
static pthread_t writer;
static unsigned long long dropped; /* access lines lost to a full batch, not yet reported */
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
		rc = buf_addc(b, ' ');
		rc = rc ? rc : buf_adds(b, key);
		rc = rc ? rc : buf_addc(b, '=');
		rc = rc ? rc : add_value(b, value);
	}
	(void)rc;
}

static void write_all(const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(2, p, n);
		if (w <= 0)
			break;
		p += w;
		n -= (size_t)w;
	}
}

/* With lock held: writes out the batch. */
static void flush_locked(void)
{
	if (batch_len) {
		write_all(batch, batch_len);
		batch_len = 0;
	}
}

static void *writer_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&lock);
	while (!stopping) {
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += BATCH_MS * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		if (batch_len < BATCH_BYTES / 2)
			pthread_cond_timedwait(&wake, &lock, &until);
		if (!batch_len || !spare)
			continue;
		/* swap, then write without the lock so request threads keep appending */
		char *full = batch;
		size_t n = batch_len;
		batch = spare;
		batch_len = 0;
		spare = NULL;
		pthread_mutex_unlock(&lock);
		write_all(full, n);
		pthread_mutex_lock(&lock);
		spare = full;
		if (dropped) {
			char note[128];
			int len = snprintf(note, sizeof note,
			                   as_json ? "{\"level\":\"warn\",\"msg\":\"access log lines dropped\",\"count\":%llu}\n"
			                           : "WARN access log lines dropped count=%llu\n",
			                   dropped);
			dropped = 0;
			pthread_mutex_unlock(&lock);
			write_all(note, (size_t)len);
			pthread_mutex_lock(&lock);
		}
	}
	flush_locked();
	pthread_mutex_unlock(&lock);
	return NULL;
}

int log_start(void)
{
	batch = malloc(BATCH_BYTES);
	spare = malloc(BATCH_BYTES);
	if (!batch || !spare || pthread_create(&writer, NULL, writer_main, NULL) != 0) {
		free(batch);
		free(spare);
		batch = spare = NULL;
		return ERR_NOMEM;
	}
	running = true;
	return 0;
}

void log_stop(void)
{
	if (!running)
		return;
	pthread_mutex_lock(&lock);
	stopping = true;
	pthread_cond_signal(&wake);
	pthread_mutex_unlock(&lock);
	pthread_join(writer, NULL);
	running = stopping = false;
	free(batch);
	free(spare);
	batch = spare = NULL;
}

static void emit(const char *p, size_t n, bool batched)
{
	pthread_mutex_lock(&lock);
	if (!running || !batched || !batch || n > BATCH_BYTES) {
		flush_locked();
		write_all(p, n);
	} else if (batch_len + n > BATCH_BYTES) {
		dropped++;
	} else {
		memcpy(batch + batch_len, p, n);
		batch_len += n;
		if (batch_len >= BATCH_BYTES / 2)
			pthread_cond_signal(&wake);
	}
	pthread_mutex_unlock(&lock);
}

static void line_flush(struct buf *b, bool batched)
{
	int rc = buf_adds(b, as_json ? "}\n" : "\n");
	if (rc) {
		/* too long: cut it, but keep JSON lines parseable */
		b->len = 0;
		rc = buf_adds(b, as_json ? "{\"level\":\"error\",\"msg\":\"log line too long\"}\n"
		                         : "ERROR log line too long\n");
	}
	emit(buf_str(b), b->len, batched);
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
	line_flush(&b, false);
}

void log_request(const char *request_id, const char *method, const char *path, int status,
                 size_t bytes, int64_t micros, const char *error_code)
{
	if (LOG_INFO < min_level)
		return;
	struct buf b = BUF_INIT(LINE_MAX_BYTES);
	if (buf_reserve(&b, 256) != 0)
		return;
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
	line_flush(&b, true);
}
