/* hub/store.c: every SQL statement on event_streams and events, through store/db.h's
 * engine-neutral calls only. Must never build SQL from values, and never give a seq out
 * twice in one stream (one upsert in the writer's transaction hands them out). */
#include <string.h>

#include "core/arena.h"
#include "hub/internal.h"
#include "store/db.h"

/* The stream's row made or bumped, and its new head, in one statement. The SET names the
 * column qualified so that PostgreSQL reads it alike (there it would be ambiguous). */
static const char sql_next_seq[] =
	"INSERT INTO event_streams(stream, head) VALUES(?1, 1)"
	" ON CONFLICT(stream) DO UPDATE SET head = event_streams.head + 1 RETURNING head";
static const char sql_append[] =
	"INSERT INTO events(stream, seq, type, data, created_at) VALUES(?1, ?2, ?3, ?4, ?5)";
/* head and floor with the events after since, as one snapshot (one statement); no event at
 * all when since is outside [floor, head]: pruned past it, or not this stream's seq */
static const char sql_read[] =
	"SELECT s.head, s.floor, e.seq, e.type, e.data FROM event_streams s"
	" LEFT JOIN events e ON e.stream = s.stream AND e.seq > ?2 AND ?2 BETWEEN s.floor AND s.head"
	" WHERE s.stream = ?1 ORDER BY e.seq LIMIT ?3";
static const char sql_head[] = "SELECT head, floor FROM event_streams WHERE stream = ?1";
/* the oldest events first, per stream the highest seq among them: the new floor */
static const char sql_prune_pick[] =
	"SELECT stream, max(seq), count(*) FROM (SELECT stream, seq FROM events WHERE created_at < ?1"
	" ORDER BY created_at LIMIT ?2) GROUP BY stream";
static const char sql_raise_floor[] =
	"UPDATE event_streams SET floor = ?2 WHERE stream = ?1 AND floor < ?2";
/* everything up to the floor goes, so that a stream keeps exactly floor+1..head even when
 * the clock stepped back between two of its events */
static const char sql_prune[] = "DELETE FROM events WHERE stream = ?1 AND seq <= ?2";
static const char sql_forget_events[] = "DELETE FROM events WHERE stream = ?1";
static const char sql_forget_stream[] = "DELETE FROM event_streams WHERE stream = ?1";

/* A statement with a stream and a number bound, run to its end. */
static int run_stream(const char *sql, const char *stream, int64_t n, const char *context)
{
	db_stmt *st = db_prep(sql);
	if (!st)
		return ERR_DB;
	db_bind_text(st, 1, stream);
	db_bind_int(st, 2, n);
	return db_exec(st, context);
}

int hub_store_append(const char *stream, const char *type, const char *data, const char *created_at,
                     int64_t *seq)
{
	db_stmt *st = db_prep(sql_next_seq);
	if (!st)
		return ERR_DB;
	db_bind_text(st, 1, stream);
	int rc = db_step(st, "hub next seq");
	if (rc == DB_ROW)
		*seq = db_col_int(st, 0);
	db_done(st);
	if (rc != DB_ROW)
		return rc < 0 ? rc : ERR_DB;
	if (!(st = db_prep(sql_append)))
		return ERR_DB;
	db_bind_text(st, 1, stream);
	db_bind_int(st, 2, *seq);
	db_bind_text(st, 3, type);
	db_bind_text(st, 4, data);
	db_bind_text(st, 5, created_at);
	return db_exec(st, "hub append");
}

int hub_store_read(const char *stream, struct hub_read *rd)
{
	rd->head = rd->floor = 0;
	rd->rows = 0;
	db_stmt *st = db_prep(sql_read);
	if (!st)
		return ERR_DB;
	db_bind_text(st, 1, stream);
	db_bind_int(st, 2, rd->since);
	db_bind_int(st, 3, rd->max);
	int step = DB_DONE, rc = 0;
	while (!rc && (step = db_step(st, "hub read")) == DB_ROW) {
		rd->head = db_col_int(st, 0);
		rd->floor = db_col_int(st, 1);
		if (db_col_null(st, 2))
			break; /* the stream, without events to give */
		const char *type = db_col(st, 3), *data = db_col(st, 4);
		if (!type || !data) {
			rc = ERR_NOMEM;
			break;
		}
		rd->rows++;
		rc = rd->row(rd->ctx, db_col_int(st, 2), type, data, strlen(data));
	}
	if (!rc && step < 0)
		rc = step;
	db_done(st);
	return rc;
}

int hub_store_head(const char *stream, int64_t *head, int64_t *floor)
{
	*head = *floor = 0;
	db_stmt *st = db_prep(sql_head);
	if (!st)
		return ERR_DB;
	db_bind_text(st, 1, stream);
	int rc = db_step(st, "hub head");
	if (rc == DB_ROW) {
		*head = db_col_int(st, 0);
		*floor = db_col_int(st, 1);
	}
	db_done(st);
	return rc < 0 ? rc : 0;
}

struct prune {
	const char *before;
	int limit;
	long rows;
	bool full;
};

/* One stream's share of a batch: where its floor goes. */
struct pick {
	const char *stream;
	int64_t top;
};

/* On the writer: picks the batch, then raises each stream's floor and deletes up to it. */
static int prune_txn(void *ctx)
{
	struct prune *p = ctx;
	struct arena a;
	arena_init(&a, 1 << 20, NULL, 0);
	struct pick *picks = arena_alloc(&a, sizeof *picks * (size_t)p->limit);
	db_stmt *st = picks ? db_prep(sql_prune_pick) : NULL;
	int rc = picks ? (st ? 0 : ERR_DB) : ERR_NOMEM, step = DB_DONE, n = 0;
	long seen = 0;
	p->rows = 0;
	if (st) {
		db_bind_text(st, 1, p->before);
		db_bind_int(st, 2, p->limit);
		while (!rc && n < p->limit && (step = db_step(st, "hub prune pick")) == DB_ROW) {
			picks[n].stream = db_text(&a, st, 0);
			picks[n].top = db_col_int(st, 1);
			seen += db_col_int(st, 2);
			rc = picks[n++].stream ? 0 : ERR_NOMEM;
		}
		if (!rc && step < 0)
			rc = step;
		db_done(st);
	}
	for (int i = 0; i < n && !rc; i++) {
		rc = run_stream(sql_raise_floor, picks[i].stream, picks[i].top, "hub floor");
		if (!rc)
			rc = run_stream(sql_prune, picks[i].stream, picks[i].top, "hub prune");
		if (!rc)
			p->rows += db_changes();
	}
	p->full = seen >= p->limit;
	arena_free(&a);
	return rc;
}

int hub_store_prune(const char *before, int limit, long *rows, bool *full)
{
	struct prune p = {before, limit, 0, false};
	int rc = db_write(prune_txn, &p);
	*rows = rc ? 0 : p.rows;
	*full = !rc && p.full;
	return rc;
}

int hub_store_forget(const char *stream)
{
	db_stmt *st = db_prep(sql_forget_events);
	if (!st)
		return ERR_DB;
	db_bind_text(st, 1, stream);
	int rc = db_exec(st, "hub forget");
	if (rc || !(st = db_prep(sql_forget_stream)))
		return rc ? rc : ERR_DB;
	db_bind_text(st, 1, stream);
	return db_exec(st, "hub forget");
}
