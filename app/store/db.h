/* store/db.h: SQLite for the whole binary. Each thread gets its own connection to the one
 * database file (WAL: readers never block the writer), with a cache of prepared statements
 * keyed by the SQL text's address, so SQL lives as static const char strings beside its code.
 * Nothing outside store/ opens the database. */
#ifndef STORE_DB_H
#define STORE_DB_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

struct migration {
	int version;      /* from the file name: 0001_init.sql is 1 */
	const char *name; /* the file name */
	const char *sql;
};

/* Opens (creating) path with the project's pragmas: WAL, foreign keys, busy timeout,
 * DB_SYNCHRONOUS, defensive mode. *out is closed with sqlite3_close_v2. */
WUR int db_open(const char *path, sqlite3 **out, struct buf *msg);
/* Applies, in order and each in its own transaction, the migrations not yet recorded in
 * schema_migrations. Refuses a database that knows a version newer than the last one
 * given, or that recorded a version under another name. *applied counts new ones. */
WUR int db_migrate(sqlite3 *db, const struct migration *m, size_t n, int *applied, struct buf *msg);
/* The migrations embedded from schema/ at build time. */
const struct migration *db_schema(size_t *n);

/* ---- per-thread connections (after db_pool_init) ---------------------------------- */
WUR int db_pool_init(const char *path);
/* This thread's connection, opened on first use; NULL (logged) when it cannot be opened. */
sqlite3 *db_conn(void);
/* Runs fn(ctx) as one transaction: on the writer thread, under its own savepoint in a batch
 * with the other queued ones, committed with them by one fsync; returns fn's result (non-zero:
 * this transaction alone is rolled back), or ERR_DB when the commit failed (nothing of it
 * kept). fn runs on another thread: it uses the store API and the memory ctx points at, and
 * nothing of the caller's thread (its locks, thread-locals). Inside a transaction, or with
 * no writer thread (commands), it runs right here. db_run and db_row hand a lone write to
 * it by themselves. */
WUR int db_write(int (*fn)(void *ctx), void *ctx);
/* The writer thread: started once migrations ran, stopped by db_pool_close. */
WUR int db_writer_start(void);
void db_writer_stop(void);
/* Applies migrations on the writer connection, before any request. */
WUR int db_pool_migrate(const struct migration *m, size_t n, int *applied, struct buf *msg);
/* Beside a running server (which owns migrations): 0 when the database is exactly at the
 * schema of m; ERR_BUSY (with a message) when migrations are pending or it is newer. */
WUR int db_schema_check(const struct migration *m, size_t n, struct buf *msg);
/* How many batch transactions the writer has committed (group commit: fewer than writes). */
uint64_t db_batches(void);
/* Closes this thread's connection (called as a worker thread ends). */
void db_thread_done(void);
/* Closes every connection: only once no other thread uses the database. A final
 * checkpoint folds the WAL back into the database file. */
void db_pool_close(void);

/* A cached prepared statement on this thread's connection, reset and unbound, or NULL
 * (logged). sql must be a string with static storage. Call db_done when finished with it,
 * before preparing the same SQL again. Outside db_begin/db_commit the connection is
 * read-only: a statement that writes fails there (use db_run, db_row or db_write). */
sqlite3_stmt *db_prep(const char *sql);
void db_done(sqlite3_stmt *st);
/* Runs a statement that returns no rows, its parameters ?1..?n bound to texts (NULL binds
 * NULL). 0, or ERR_DB (logged with context). A write outside a transaction is one of its
 * own, through db_write (so is db_row's). */
WUR int db_run(const char *sql, const char *context, int n, const char *const *texts);
/* Runs a one-row query with ?1..?nparams bound to texts and copies its first ncols columns
 * into *cols[i] (in a; NULL for SQL NULL; a NULL cols[i] skips that column). 0,
 * ERR_NOTFOUND (no row), ERR_NOMEM or ERR_DB (logged with context). */
struct arena;
int db_row(struct arena *a, const char *sql, const char *context, int nparams, const char *const *params,
           const char **cols[], int ncols);
/* Column i of the current row as a NUL-terminated copy in a, or NULL (SQL NULL or no
 * memory). */
char *db_text(struct arena *a, sqlite3_stmt *st, int i);
/* ---- the statement API that domain store.c files use (engine-neutral) ---------------- */
/* store.c files use only these (and db_prep/db_done/db_run/db_row/db_text above), never the
 * engine's own calls, so that a second engine implements this list and nothing else. SQL
 * uses ?1..?n parameters and the subset both engines read alike. */
typedef sqlite3_stmt db_stmt;
enum { DB_DONE = 0, DB_ROW = 1 };
/* i is 1-based. A NULL text binds SQL NULL. Bytes are not copied: they must live until
 * db_done. */
void db_bind_text(db_stmt *st, int i, const char *s);
void db_bind_int(db_stmt *st, int i, int64_t v);
void db_bind_null(db_stmt *st, int i);
void db_bind_blob(db_stmt *st, int i, const void *p, size_t n);
/* DB_ROW, DB_DONE, ERR_EXISTS (a UNIQUE or PRIMARY KEY constraint failed: not logged), or
 * ERR_DB (logged with context). */
int db_step(db_stmt *st, const char *context);
/* Steps st (bound), a statement that returns no rows, and finishes with it: 0, ERR_EXISTS or
 * ERR_DB (logged with context). */
int db_exec(db_stmt *st, const char *context);
/* Column i of the current row: text (NULL for SQL NULL; valid until the next step or done),
 * integer, NULL test, blob (*n its length). */
const char *db_col(db_stmt *st, int i);
int64_t db_col_int(db_stmt *st, int i);
bool db_col_null(db_stmt *st, int i);
const void *db_col_blob(db_stmt *st, int i, size_t *n);
/* Rows changed by the last write on this thread's current connection. */
int db_changes(void);
/* A page of rows: st is bound and selects up to pg->limit + 1 rows whose column 0 is the
 * page cursor; row() fills each of the first pg->limit items (size bytes each, allocated in
 * a). st is done afterwards. 0, ERR_NOMEM or ERR_DB. */
struct page;
struct page_out;
int db_page(struct arena *a, db_stmt *st, const struct page *pg, size_t size,
            int (*row)(struct arena *a, db_stmt *st, void *item), struct page_out *out, const char *context);

/* One row: steps st (bound) and has row() fill item from it, as db_page does for each row.
 * 0, ERR_NOTFOUND (no row), or row()'s or the step's error; st is done afterwards. */
int db_one(struct arena *a, db_stmt *st, int (*row)(struct arena *a, db_stmt *st, void *item), void *item,
           const char *context);
/* Walks st (bound) whose rows are parents joined with their children, ordered by parent:
 * column 0 is the parent's key, child_col the first column of the child (NULL when the
 * parent has none). parent() runs once per parent, child() once per child, with the row
 * as the statement holds it (nothing copied: an export of years of rows stays small). The
 * first non-zero return stops the walk and is returned; st is done afterwards. */
int db_groups(db_stmt *st, int child_col, int (*parent)(void *ctx, db_stmt *st),
              int (*child)(void *ctx, db_stmt *st), void *ctx, const char *context);

/* ---- transactions ------------------------------------------------------------------- */
/* Every write runs between db_begin and db_commit, or in db_write (db_run and db_row hand a
 * lone write to it).
 * Writes are serialised: one writer at a time on one connection (db_write: in arrival order on
 * the writer thread; db_begin: the caller takes the turn); several
 * callers' transactions may be committed by one fsync (group commit). db_commit returns only
 * after the commit that holds this caller's work is durable: 0, or ERR_DB when it (or the
 * batch it was part of) failed and nothing of it was kept. db_rollback undoes only this
 * caller's work. Nested db_begin is a savepoint. Reads outside a write see committed data. */
WUR int db_begin(void);
WUR int db_commit(void);
void db_rollback(void);
/* True between db_begin and db_commit/db_rollback, and inside db_write's fn: this thread
 * holds an open write transaction. */
bool db_writing(void);

/* ---- after commit ------------------------------------------------------------------- */
#define DB_AFTER_COMMIT_MAX (1u << 20) /* callbacks one batch may hold */
/* Inside an open write transaction (db_begin..db_commit, or db_write's fn): run(arg) is
 * called once the batch that holds this transaction has COMMITted, or drop(arg) (may be
 * NULL) when its work is not kept: the transaction rolls back, or the batch's COMMIT fails.
 * Each arg gets exactly one of the two, also when this call fails: then drop(arg) has
 * already run and the result is ERR_INVAL (no write transaction, or inside a callback),
 * ERR_NOMEM, or ERR_TOOBIG (more than DB_AFTER_COMMIT_MAX in the batch); else 0.
 * Nested savepoints: a callback belongs to the innermost db_begin open when it was
 * registered; rolling that one back drops it (the enclosing work goes on), committing it
 * hands it to the enclosing level; only the outermost decides, then the batch.
 * run is called on the thread that commits the batch (the writer thread, or any request
 * thread in db_commit), holding the writer's turn: for the whole batch in registration
 * order (which is commit order), before the turn passes on, so two batches' callbacks
 * never interleave, and before db_commit or db_write return 0 to the callers in it. So run
 * and drop must be short, must not block, and must not write to the database: db_begin
 * and db_write (db_run and db_row of a write too) are refused in them with ERR_INVAL,
 * because the turn they would wait for is the one being held. Reads are allowed. */
int db_after_commit(void (*run)(void *arg), void (*drop)(void *arg), void *arg);

/* Logs the connection's last error with a context word; returns ERR_DB. */
int db_fail(const char *context);

/* Copies the live database at src into dst (written to dst.tmp, then renamed), as one
 * consistent snapshot, while other processes keep writing. */
WUR int db_backup(const char *src, const char *dst, struct buf *msg);

#endif
