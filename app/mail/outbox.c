/* mail/outbox.c: queueing, the delivery thread and its retry schedule. Must never send one
 * message twice: a row is claimed ('sending') in a committed transaction before any byte
 * leaves, and a row found claimed after a crash is not retried automatically. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/config.h"
#include "core/log.h"
#include "core/time.h"
#include "core/uuid.h"
#include "mail/mail.h"
#include "mail/send.h"
#include "store/db.h"

#define MAX_ATTEMPTS 8
#define MAX_FIELD 998 /* RFC 5322 line limit for a recipient or subject */

static pthread_t worker;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static bool running, stopping, poked;
static atomic_llong depth; /* queued rows, refreshed by the worker */

static const char sql_insert[] =
	"INSERT INTO outbox(id, channel, recipient, subject, body, secret, next_attempt_at, created_at)"
	" VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)";
static const char sql_recover[] =
	"UPDATE outbox SET state = 'unknown',"
	" last_error = 'interrupted while sending: not retried, to never send twice'"
	" WHERE state = 'sending'";
static const char sql_next[] =
	"SELECT id, channel, recipient, subject, body, attempts FROM outbox"
	" WHERE state = 'queued' AND next_attempt_at <= ?1 AND channel IN (?2, ?3)"
	" ORDER BY next_attempt_at, id LIMIT 1";
static const char sql_claim[] =
	"UPDATE outbox SET state = 'sending', attempts = attempts + 1 WHERE id = ?1 AND state = 'queued'";
static const char sql_sent[] = "UPDATE outbox SET state = 'sent', sent_at = ?2, last_error = NULL WHERE id = ?1";
static const char sql_retry[] =
	"UPDATE outbox SET state = ?2, next_attempt_at = ?3, last_error = ?4 WHERE id = ?1";
static const char sql_depth[] = "SELECT count(*) FROM outbox WHERE state = 'queued'";

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

/* The body as it may be shown: the secret replaced unless in dev mode. */
static char *shown_body(const char *body, const char *secret)
{
	struct buf b = BUF_INIT(1 << 20);
	const char *p = body, *hit;
	int rc = 0;
	size_t n = secret ? strlen(secret) : 0;
	while (!rc && n && !config_dev() && (hit = strstr(p, secret)) != NULL) {
		rc = buf_add(&b, p, (size_t)(hit - p));
		rc = rc ? rc : buf_adds(&b, "[redacted]");
		p = hit + n;
	}
	rc = rc ? rc : buf_adds(&b, p);
	if (rc) {
		buf_free(&b);
		return NULL;
	}
	return buf_take(&b, NULL);
}

static int queue(const char *channel, const char *to, const char *subject, const char *body,
                 const char *secret)
{
	if (!one_line(to) || !one_line(subject) || !body)
		return ERR_INVAL;
	char id[UUID_STR_LEN], now[TIME_RFC3339_LEN];
	if (uuid7(id))
		return ERR_CRYPTO;
	time_rfc3339(time_now_us(), now);
	sqlite3_stmt *st = db_prep(sql_insert);
	if (!st)
		return ERR_DB;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, channel, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, to, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, subject, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, body, -1, SQLITE_STATIC);
	if (secret)
		sqlite3_bind_text(st, 6, secret, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, now, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : db_fail("outbox insert");
	db_done(st);
	if (rc)
		return rc;
	bool can = strcmp(channel, "email") == 0 ? mail_can_email() : mail_can_sms();
	if (!can) {
		/* nowhere to send it: say so, with the secret only in dev mode */
		char *shown = shown_body(body, secret);
		log_info(strcmp(channel, "email") == 0 ? "mail queued; no SMTP_URL, so it waits in the outbox"
		                                       : "sms queued; no SMS_URL, so it waits in the outbox",
		         "id", id, "to", to, "subject", subject, "body", shown ? shown : "", NULL);
		free(shown);
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
	sqlite3_stmt *st = db_prep(sql_recover);
	if (!st)
		return ERR_DB;
	int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : db_fail("outbox recover");
	int n = sqlite3_changes(db_conn());
	db_done(st);
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
	sqlite3_stmt *st = db_prep(sql_depth);
	if (st && sqlite3_step(st) == SQLITE_ROW)
		atomic_store(&depth, sqlite3_column_int64(st, 0));
	db_done(st);
}

/* One step of SQL in its own statement; true when it changed a row. */
static bool update(const char *sql, const char *id, const char *a, const char *b, const char *c)
{
	sqlite3_stmt *st = db_prep(sql);
	if (!st)
		return false;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	if (a)
		sqlite3_bind_text(st, 2, a, -1, SQLITE_STATIC);
	if (b)
		sqlite3_bind_text(st, 3, b, -1, SQLITE_STATIC);
	if (c)
		sqlite3_bind_text(st, 4, c, -1, SQLITE_STATIC);
	bool ok = sqlite3_step(st) == SQLITE_DONE && sqlite3_changes(db_conn()) == 1;
	if (!ok)
		db_fail("outbox update");
	db_done(st);
	return ok;
}

struct message {
	char id[UUID_STR_LEN];
	char channel[8];
	char *to, *subject, *body;
	int attempts;
};

/* Takes the next due message and claims it; false when there is none. The claim is one
 * guarded UPDATE, atomic on its own, so the idle poll never takes the write lock. */
static bool claim(struct message *m)
{
	char now[TIME_RFC3339_LEN];
	time_rfc3339(time_now_us(), now);
	bool found = false;
	sqlite3_stmt *st = db_prep(sql_next);
	if (!st)
		return false;
	sqlite3_bind_text(st, 1, now, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, mail_can_email() ? "email" : "-", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, mail_can_sms() ? "sms" : "-", -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		snprintf(m->id, sizeof m->id, "%s", (const char *)sqlite3_column_text(st, 0));
		snprintf(m->channel, sizeof m->channel, "%s", (const char *)sqlite3_column_text(st, 1));
		m->to = strdup((const char *)sqlite3_column_text(st, 2));
		m->subject = strdup((const char *)sqlite3_column_text(st, 3));
		m->body = strdup((const char *)sqlite3_column_text(st, 4));
		m->attempts = sqlite3_column_int(st, 5) + 1;
		found = m->to && m->subject && m->body;
	}
	db_done(st);
	if (found && update(sql_claim, m->id, NULL, NULL, NULL))
		return true;
	free(m->to);
	free(m->subject);
	free(m->body);
	return false;
}

static void deliver(struct message *m)
{
	struct buf err = BUF_INIT(512);
	int rc = strcmp(m->channel, "email") == 0 ? send_email(m->id, m->to, m->subject, m->body, &err)
	                                          : send_sms(m->to, m->body, &err);
	char now[TIME_RFC3339_LEN];
	int64_t now_us = time_now_us();
	time_rfc3339(now_us, now);
	if (rc == 0) {
		update(sql_sent, m->id, now, NULL, NULL);
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
		update(sql_retry, m->id, give_up ? "failed" : "queued", next, buf_str(&err));
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
		struct message m;
		memset(&m, 0, sizeof m);
		while (!stopping && claim(&m)) {
			deliver(&m);
			free(m.to);
			free(m.subject);
			free(m.body);
			memset(&m, 0, sizeof m);
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
