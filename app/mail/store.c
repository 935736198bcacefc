/* mail/store.c: every SQL statement on the outbox, through store/db.h's engine-neutral calls
 * only. Must never build SQL from values, and must never report a claim before it is durable:
 * the promise never to send twice rests on the 'sending' row being committed first. */
#include "mail/internal.h"
#include "store/db.h"

#define OUTBOX_COLUMNS                                                                             \
	"id, channel, recipient, subject, body, secret, state, attempts, next_attempt_at, last_error," \
	" created_at, sent_at"

static const char sql_insert[] =
	"INSERT INTO outbox(id, channel, recipient, subject, body, secret, next_attempt_at, created_at)"
	" VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)";
static const char sql_recover[] =
	"UPDATE outbox SET state = 'unknown',"
	" last_error = 'interrupted while sending: not retried, to never send twice'"
	" WHERE state = 'sending'";
static const char sql_depth[] = "SELECT count(*) FROM outbox WHERE state = 'queued'";
static const char sql_next[] =
	"SELECT " OUTBOX_COLUMNS " FROM outbox"
	" WHERE state = 'queued' AND next_attempt_at <= ?1 AND channel IN (?2, ?3)"
	" ORDER BY next_attempt_at, id LIMIT 1";
static const char sql_claim[] =
	"UPDATE outbox SET state = 'sending', attempts = attempts + 1 WHERE id = ?1 AND state = 'queued'";
static const char sql_sent[] =
	"UPDATE outbox SET state = 'sent', sent_at = ?2, last_error = NULL WHERE id = ?1";
static const char sql_retry[] =
	"UPDATE outbox SET state = ?2, next_attempt_at = ?3, last_error = ?4 WHERE id = ?1";
static const char sql_list[] =
	"SELECT " OUTBOX_COLUMNS " FROM outbox"
	" WHERE (?1 IS NULL OR id < ?1) AND (?2 IS NULL OR state = ?2) ORDER BY id DESC LIMIT ?3";
/* the outbox keeps addresses, not accounts: a person's rows are those sent to their address */
static const char sql_to[] =
	"SELECT " OUTBOX_COLUMNS " FROM outbox WHERE lower(recipient) = lower(?1) OR recipient = ?2"
	" ORDER BY id";
static const char sql_delete_to[] =
	"DELETE FROM outbox WHERE lower(recipient) = lower(?1) OR recipient = ?2";

/* Column i copied into a (or, when a is NULL, the statement's own text, valid until the next
 * step); ERR_NOMEM only when a non-NULL value could not be copied. */
static int text(struct arena *a, db_stmt *st, int i, const char **out)
{
	*out = a ? db_text(a, st, i) : db_col(st, i);
	return *out || db_col_null(st, i) ? 0 : ERR_NOMEM;
}

/* A row from OUTBOX_COLUMNS (see text()). */
static int row_read(struct arena *a, db_stmt *st, struct outbox_row *m)
{
	const char **before[] = {&m->id,   &m->channel, &m->recipient, &m->subject,
	                         &m->body, &m->secret,  &m->state};
	const char **after[] = {&m->next_attempt_at, &m->last_error, &m->created_at, &m->sent_at};
	int rc = 0;
	for (int i = 0; i < 7 && !rc; i++)
		rc = text(a, st, i, before[i]);
	m->attempts = db_col_int(st, 7);
	for (int i = 0; i < 4 && !rc; i++)
		rc = text(a, st, 8 + i, after[i]);
	return rc;
}

/* Runs the write sql (?1..?n bound to texts) in its own transaction and commits: 0 once it is
 * durable, ERR_NOTFOUND when it changed no row (nothing is kept then), or ERR_DB. */
static int write_one(const char *sql, const char *context, int n, const char *const *texts)
{
	int rc = db_begin();
	if (rc)
		return rc;
	db_stmt *st = db_prep(sql);
	if (!st) {
		db_rollback();
		return ERR_DB;
	}
	for (int i = 0; i < n; i++)
		db_bind_text(st, i + 1, texts[i]);
	rc = db_step(st, context);
	db_done(st);
	rc = rc == DB_DONE ? 0 : rc < 0 ? rc : ERR_DB;
	if (!rc && db_changes() != 1)
		rc = ERR_NOTFOUND;
	if (!rc)
		rc = db_commit();
	if (rc)
		db_rollback();
	return rc;
}

int outbox_insert(const char *id, const char *channel, const char *to, const char *subject,
                  const char *body, const char *secret, const char *now)
{
	db_stmt *st = db_prep(sql_insert);
	if (!st)
		return ERR_DB;
	const char *v[] = {id, channel, to, subject, body, secret, now};
	for (int i = 0; i < 7; i++)
		db_bind_text(st, i + 1, v[i]);
	return db_exec(st, "outbox insert");
}

int outbox_recover(int *n)
{
	*n = 0;
	int rc = db_begin();
	if (rc)
		return rc;
	db_stmt *st = db_prep(sql_recover);
	rc = st ? db_step(st, "outbox recover") : ERR_DB;
	db_done(st);
	rc = rc == DB_DONE ? 0 : rc < 0 ? rc : ERR_DB;
	if (!rc)
		*n = db_changes();
	if (!rc)
		rc = db_commit();
	if (rc) {
		db_rollback();
		*n = 0;
	}
	return rc;
}

int outbox_depth(long long *n)
{
	db_stmt *st = db_prep(sql_depth);
	if (!st)
		return ERR_DB;
	int rc = db_step(st, "outbox depth");
	if (rc == DB_ROW)
		*n = db_col_int(st, 0);
	db_done(st);
	return rc == DB_ROW ? 0 : rc < 0 ? rc : ERR_DB;
}

int outbox_next(struct arena *a, const char *now, bool email, bool sms, struct outbox_row *m)
{
	db_stmt *st = db_prep(sql_next);
	if (!st)
		return ERR_DB;
	db_bind_text(st, 1, now);
	db_bind_text(st, 2, email ? "email" : "-");
	db_bind_text(st, 3, sms ? "sms" : "-");
	int rc = db_step(st, "outbox next");
	rc = rc == DB_ROW ? row_read(a, st, m) : rc == DB_DONE ? ERR_NOTFOUND : rc;
	db_done(st);
	return rc;
}

int outbox_claim(const char *id)
{
	const char *v[] = {id};
	return write_one(sql_claim, "outbox claim", 1, v);
}

int outbox_sent(const char *id, const char *now)
{
	const char *v[] = {id, now};
	return write_one(sql_sent, "outbox sent", 2, v);
}

int outbox_retry(const char *id, const char *state, const char *next, const char *error)
{
	const char *v[] = {id, state, next, error};
	return write_one(sql_retry, "outbox retry", 4, v);
}

static int list_item(struct arena *a, db_stmt *st, void *item)
{
	return row_read(a, st, item);
}

int outbox_list(struct arena *a, const char *state, const struct page *pg, struct page_out *out)
{
	db_stmt *st = db_prep(sql_list);
	if (!st)
		return ERR_DB;
	db_bind_text(st, 1, pg->cursor);
	db_bind_text(st, 2, state);
	db_bind_int(st, 3, pg->limit + 1);
	return db_page(a, st, pg, sizeof(struct outbox_row), list_item, out, "outbox list");
}

int outbox_each_to(const char *email, const char *phone,
                   int (*fn)(void *ctx, const struct outbox_row *m), void *ctx)
{
	db_stmt *st = db_prep(sql_to);
	if (!st)
		return ERR_DB;
	db_bind_text(st, 1, email);
	db_bind_text(st, 2, phone);
	int step = DB_DONE, rc = 0;
	while (!rc && (step = db_step(st, "outbox of a person")) == DB_ROW) {
		struct outbox_row m;
		rc = row_read(NULL, st, &m);
		if (!rc)
			rc = fn(ctx, &m);
	}
	if (!rc && step < 0)
		rc = step;
	db_done(st);
	return rc;
}

int outbox_delete_to(const char *email, const char *phone)
{
	db_stmt *st = db_prep(sql_delete_to);
	if (!st)
		return ERR_DB;
	db_bind_text(st, 1, email);
	db_bind_text(st, 2, phone);
	return db_exec(st, "outbox delete of a person");
}
