/* store/db.h: SQLite for the whole binary. Each thread gets its own connection to the one
 * database file (WAL: readers never block the writer), with a cache of prepared statements
 * keyed by the SQL text's address, so SQL lives as static const char strings beside its code.
 * Nothing outside store/ opens the database. */
#ifndef STORE_DB_H
#define STORE_DB_H

#include <sqlite3.h>
#include <stddef.h>

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
/* Closes this thread's connection (called as a worker thread ends). */
void db_thread_done(void);
/* Closes every connection: only once no other thread uses the database. A final
 * checkpoint folds the WAL back into the database file. */
void db_pool_close(void);

/* A cached prepared statement on this thread's connection, reset and unbound, or NULL
 * (logged). sql must be a string with static storage. Call db_done when finished with it,
 * before preparing the same SQL again. */
sqlite3_stmt *db_prep(const char *sql);
void db_done(sqlite3_stmt *st);
/* Runs a statement that returns no rows, its parameters ?1..?n bound to texts (NULL binds
 * NULL). 0, or ERR_DB (logged with context). */
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
/* BEGIN IMMEDIATE / COMMIT / ROLLBACK on this thread's connection. */
WUR int db_begin(void);
WUR int db_commit(void);
void db_rollback(void);
/* Logs the connection's last error with a context word; returns ERR_DB. */
int db_fail(const char *context);

/* Copies the live database at src into dst (written to dst.tmp, then renamed), as one
 * consistent snapshot, while other processes keep writing. */
WUR int db_backup(const char *src, const char *dst, struct buf *msg);

#endif
