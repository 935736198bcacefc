/* mail/outbox.c: queueing, the delivery thread and its retry schedule. Must never send one
 * message twice: a row is claimed ('sending') in a committed transaction before any byte
 * leaves, and a row found claimed after a crash is not retried automatically. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/config.h"
#include "core/log.h"
#include "core/time.h"
#include "core/uuid.h"
#include "mail/internal.h"
#include "mail/mail.h"
#include "mail/send.h"
#include "store/db.h" /* db_thread_done */

#define MAX_ATTEMPTS  8
#define MAX_FIELD     998            /* RFC 5322 line limit for a recipient or subject */
#define MAX_BODY      (1 << 20)      /* a message's body */
#define MESSAGE_ARENA (4 * MAX_BODY) /* one message as the worker holds it */

static pthread_t worker;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static bool running, stopping, poked;
static atomic_llong depth; /* queued rows, refreshed by the worker */

bool mail_can_email(void)
{
	return *config_str("SMTP_URL") != '\0';
}

bool mail_can_sms(void)
{
	return *config_str("SMS_URL") != '\0';
}

static bool one_line(const char *s)
{
	return s && !strpbrk(s, "\r\n") && strlen(s) <= MAX_FIELD;
}

const char *outbox_redact(struct arena *a, const char *body, const char *secret)
{
	size_t n = secret ? strlen(secret) : 0, hits = 0;
	for (const char *p = body; n && (p = strstr(p, secret)) != NULL; p += n)
		hits++;
	if (!hits)
		return body;
	static const char mark[] = "[redacted]";
	size_t len = strlen(body) - hits * n + hits * (sizeof mark - 1);
	char *out = arena_alloc(a, len + 1), *o = out;
	if (!out)
		return NULL;
	for (const char *p = body, *hit; *p; p = hit + n) {
		hit = strstr(p, secret);
		if (!hit) {
			memcpy(o, p, strlen(p));
			o += strlen(p);
			break;
		}
		memcpy(o, p, (size_t)(hit - p));
		o += hit - p;
		memcpy(o, mark, sizeof mark - 1);
		o += sizeof mark - 1;
	}
	*o = '\0';
	return out;
}

static int queue(const char *channel, const char *to, const char *subject, const char *body,
                 const char *secret)
{
	if (!one_line(to) || !one_line(subject) || !body)
		return ERR_INVAL;
	if (strlen(body) > MAX_BODY)
		return ERR_TOOBIG;
	char id[UUID_STR_LEN], now[TIME_RFC3339_LEN];
	if (uuid7(id))
		return ERR_CRYPTO;
	time_rfc3339(time_now_us(), now);
	int rc = outbox_insert(id, channel, to, subject, body, secret, now);
	if (rc)
		return rc;
	bool can = strcmp(channel, "email") == 0 ? mail_can_email() : mail_can_sms();
	if (!can) {
		/* nowhere to send it: say so, with the secret only in dev mode */
		struct arena a;
		arena_init(&a, MESSAGE_ARENA, NULL, 0);
		const char *shown = config_dev() ? body : outbox_redact(&a, body, secret);
		log_info(strcmp(channel, "email") == 0 ? "mail queued; no SMTP_URL, so it waits in the outbox"
		                                       : "sms queued; no SMS_URL, so it waits in the outbox",
		         "id", id, "to", to, "subject", subject, "body", shown ? shown : "", NULL);
		arena_free(&a);
	}
	return 0;
}

int mail_queue_email(const char *to, const char *subject, const char *body, const char *secret)
{
	return queue("email", to, subject, body, secret);
}

int mail_queue_sms(const char *to, const char *body, const char *secret)
{
	return queue("sms", to, "", body, secret);
}

void mail_wake(void)
{
	pthread_mutex_lock(&lock);
	poked = true;
	pthread_cond_signal(&wake);
	pthread_mutex_unlock(&lock);
}

int mail_recover(void)
{
	int n;
	int rc = outbox_recover(&n);
	if (n > 0) {
		char count[16];
		snprintf(count, sizeof count, "%d", n);
		log_warn("messages interrupted mid-send by a crash are marked unknown, not resent",
		         "count", count, NULL);
	}
	return rc;
}

double mail_outbox_depth(void)
{
	return (double)atomic_load(&depth);
}

static void refresh_depth(void)
{
	long long n;
	if (outbox_depth(&n) == 0)
		atomic_store(&depth, n);
}

/* Takes the next due message into a and claims it; false when there is none. Only a due
 * message costs a write: the claim, committed before any byte of it leaves. */
static bool claim(struct arena *a, struct outbox_row *m)
{
	char now[TIME_RFC3339_LEN];
	time_rfc3339(time_now_us(), now);
	if (outbox_next(a, now, mail_can_email(), mail_can_sms(), m) != 0 ||
	    outbox_claim(m->id) != 0)
		return false;
	m->attempts++;
	return true;
}

static void deliver(const struct outbox_row *m)
{
	struct buf err = BUF_INIT(512);
	int rc = strcmp(m->channel, "email") == 0 ? send_email(m->id, m->recipient, m->subject, m->body, &err)
	                                          : send_sms(m->recipient, m->body, &err);
	char now[TIME_RFC3339_LEN];
	int64_t now_us = time_now_us();
	time_rfc3339(now_us, now);
	if (rc == 0) {
		/* a row gone meanwhile belonged to a deleted account: nothing to record */
		(void)outbox_sent(m->id, now);
		log_info("message sent", "id", m->id, "channel", m->channel, NULL);
	} else {
		/* exponential backoff from MAIL_RETRY_MS, capped at an hour */
		int64_t delay_ms = config_int("MAIL_RETRY_MS");
		for (int i = 1; i < m->attempts && delay_ms < 3600000; i++)
			delay_ms *= 2;
		if (delay_ms > 3600000)
			delay_ms = 3600000;
		char next[TIME_RFC3339_LEN];
		time_rfc3339(now_us + delay_ms * 1000, next);
		bool give_up = m->attempts >= MAX_ATTEMPTS;
		(void)outbox_retry(m->id, give_up ? "failed" : "queued", next, buf_str(&err));
		log_warn(give_up ? "message failed for good" : "message not sent; will retry", "id", m->id,
		         "channel", m->channel, "reason", buf_str(&err), NULL);
	}
	buf_free(&err);
}

static void *worker_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&lock);
	while (!stopping) {
		pthread_mutex_unlock(&lock);
		bool more = true;
		while (more && !stopping) {
			struct arena a;
			struct outbox_row m;
			arena_init(&a, MESSAGE_ARENA, NULL, 0);
			more = claim(&a, &m);
			if (more)
				deliver(&m);
			arena_free(&a);
		}
		refresh_depth();
		pthread_mutex_lock(&lock);
		if (stopping)
			break;
		if (!poked) {
			struct timespec until;
			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_sec += 1; /* due retries are found within a second */
			pthread_cond_timedwait(&wake, &lock, &until);
		}
		poked = false;
	}
	pthread_mutex_unlock(&lock);
	db_thread_done();
	return NULL;
}

int mail_start(void)
{
	stopping = false;
	if (pthread_create(&worker, NULL, worker_main, NULL) != 0)
		return ERR_NOMEM;
	running = true;
	return 0;
}

void mail_stop(void)
{
	if (!running)
		return;
	pthread_mutex_lock(&lock);
	stopping = true;
	pthread_cond_signal(&wake);
	pthread_mutex_unlock(&lock);
	pthread_join(worker, NULL);
	running = false;
}
