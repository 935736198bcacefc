/* store/db.c: connections, pragmas, the statement cache, migrations and backups. Must never
 * build SQL from values: every value is bound; never share one connection between threads. */
#include "store/db.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/config.h"
#include "core/embed.h"
#include "core/log.h"
#include "core/page.h"
#include "core/time.h"

#define BUSY_TIMEOUT_MS 5000
#define STMT_CACHE 128

struct cached {
	const char *sql;
	sqlite3_stmt *st;
};

/* One per thread that touched the database; owned by the pool list. */
struct conn {
	sqlite3 *db;
	struct cached cache[STMT_CACHE];
	struct conn *next;
};

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static char *pool_path;
static struct conn *pool;
static _Thread_local struct conn *mine;

int db_open(const char *path, sqlite3 **out, struct buf *msg)
{
	sqlite3 *db = NULL;
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
	int rc = sqlite3_open_v2(path, &db, flags, NULL);
	if (rc != SQLITE_OK)
		goto fail;
	sqlite3_extended_result_codes(db, 1);
	sqlite3_busy_timeout(db, BUSY_TIMEOUT_MS);
	sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	sqlite3_db_config(db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
	sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0, NULL);
	const char *sync = strcmp(config_str("DB_SYNCHRONOUS"), "normal") == 0
	                           ? "PRAGMA synchronous=NORMAL"
	                           : "PRAGMA synchronous=FULL";
	static const char pragmas[] = "PRAGMA journal_mode=WAL; PRAGMA foreign_keys=ON;"
	                              "PRAGMA cache_size=-2048; PRAGMA temp_store=MEMORY;";
	rc = sqlite3_exec(db, pragmas, NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, sync, NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		goto fail;
	*out = db;
	return 0;
fail:
	if (msg)
		buf_note(msg, "cannot open database %s: %s", path,
		                 db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
	sqlite3_close_v2(db);
	return ERR_DB;
}

/* ---- migrations -------------------------------------------------------------------- */

static const char sql_migrations_table[] =
	"CREATE TABLE IF NOT EXISTS schema_migrations ("
	" version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)";
static const char sql_max_version[] = "SELECT max(version) FROM schema_migrations";
static const char sql_applied_name[] = "SELECT name FROM schema_migrations WHERE version = ?1";
static const char sql_record[] =
	"INSERT INTO schema_migrations(version, name, applied_at) VALUES(?1, ?2, ?3)";

/* Runs one query with one optional int parameter and copies the first text column. */
static int query_text(sqlite3 *db, const char *sql, int param, struct buf *out, int *found)
{
	sqlite3_stmt *st = NULL;
	*found = 0;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return ERR_DB;
	if (param)
		sqlite3_bind_int(st, 1, param);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) {
		*found = 1;
		const char *t = (const char *)sqlite3_column_text(st, 0);
		rc = buf_adds(out, t ? t : "") ? SQLITE_NOMEM : SQLITE_DONE;
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : ERR_DB;
}

static int apply(sqlite3 *db, const struct migration *m, int *applied, struct buf *msg)
{
	struct buf name = BUF_INIT(4096);
	sqlite3_stmt *st = NULL;
	int found, rc = ERR_DB;
	if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		goto fail;
	/* checked inside the transaction: another process may have migrated meanwhile */
	if (query_text(db, sql_applied_name, m->version, &name, &found))
		goto fail;
	if (found) {
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		if (strcmp(buf_str(&name), m->name) != 0) {
			buf_note(msg, "migration %d was applied as %s, but this binary has %s",
			                 m->version, buf_str(&name), m->name);
			rc = ERR_INVAL;
			goto out;
		}
		rc = 0;
		goto out;
	}
	if (sqlite3_exec(db, m->sql, NULL, NULL, NULL) != SQLITE_OK)
		goto fail;
	char now[TIME_RFC3339_LEN];
	time_rfc3339(time_now_us(), now);
	if (sqlite3_prepare_v2(db, sql_record, -1, &st, NULL) != SQLITE_OK)
		goto fail;
	sqlite3_bind_int(st, 1, m->version);
	sqlite3_bind_text(st, 2, m->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, now, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		goto fail;
	if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		goto fail;
	(*applied)++;
	rc = 0;
	goto out;
fail:
	buf_note(msg, "migration %s failed: %s", m->name, sqlite3_errmsg(db));
	if (!sqlite3_get_autocommit(db))
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
out:
	sqlite3_finalize(st);
	buf_free(&name);
	return rc;
}

int db_migrate(sqlite3 *db, const struct migration *m, size_t n, int *applied, struct buf *msg)
{
	struct buf max = BUF_INIT(64);
	int found, rc;
	*applied = 0;
	if (sqlite3_exec(db, sql_migrations_table, NULL, NULL, NULL) != SQLITE_OK ||
	    query_text(db, sql_max_version, 0, &max, &found)) {
		buf_note(msg, "cannot read schema_migrations: %s", sqlite3_errmsg(db));
		buf_free(&max);
		return ERR_DB;
	}
	int newest = n ? m[n - 1].version : 0;
	int have = found ? atoi(buf_str(&max)) : 0;
	buf_free(&max);
	if (have > newest) {
		buf_note(msg, "the database has schema version %d, newer than this binary "
		                      "knows (%d): run a newer app, or restore a backup",
		                 have, newest);
		return ERR_INVAL;
	}
	for (size_t i = 0; i < n; i++) {
		if (i > 0 && m[i].version <= m[i - 1].version) {
			buf_note(msg, "migrations out of order at %s", m[i].name);
			return ERR_INVAL;
		}
		rc = apply(db, &m[i], applied, msg);
		if (rc)
			return rc;
	}
	return 0;
}

static struct migration schema_list[256];
static size_t schema_count;

static void schema_build(void)
{
	for (unsigned long i = 0; i < embed_schema_count && i < 256; i++) {
		const struct embed_file *f = &embed_schema[i];
		schema_list[schema_count].version = atoi(f->name);
		schema_list[schema_count].name = f->name;
		schema_list[schema_count].sql = (const char *)f->data;
		schema_count++;
	}
}

const struct migration *db_schema(size_t *n)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, schema_build);
	*n = schema_count;
	return schema_list;
}

/* ---- per-thread connections ------------------------------------------------------- */

int db_run(const char *sql, const char *context, int n, const char *const *texts)
{
	sqlite3_stmt *st = db_prep(sql);
	if (!st)
		return ERR_DB;
	for (int i = 0; i < n; i++)
		if (texts[i])
			sqlite3_bind_text(st, i + 1, texts[i], -1, SQLITE_STATIC);
	int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : db_fail(context);
	db_done(st);
	return rc;
}

int db_row(struct arena *a, const char *sql, const char *context, int nparams, const char *const *params,
           const char **cols[], int ncols)
{
	sqlite3_stmt *st = db_prep(sql);
	if (!st)
		return ERR_DB;
	for (int i = 0; i < nparams; i++)
		if (params[i])
			sqlite3_bind_text(st, i + 1, params[i], -1, SQLITE_STATIC);
	int step = sqlite3_step(st), rc = 0;
	if (step == SQLITE_ROW) {
		for (int i = 0; i < ncols; i++) {
			if (!cols[i])
				continue;
			*cols[i] = db_text(a, st, i);
			if (!*cols[i] && sqlite3_column_type(st, i) != SQLITE_NULL)
				rc = ERR_NOMEM;
		}
	} else {
		rc = step == SQLITE_DONE ? ERR_NOTFOUND : db_fail(context);
	}
	db_done(st);
	return rc;
}

char *db_text(struct arena *a, sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	return t ? arena_strndup(a, (const char *)t, (size_t)sqlite3_column_bytes(st, i)) : NULL;
}

int db_pool_init(const char *path)
{
	/* memory statistics take a global mutex on every allocation: not worth it here */
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	/* every worker thread may hold a connection (hundreds while replies stream): no
	 * up-front page cache block per connection, and a small lookaside (16 KiB, not 120) */
	sqlite3_config(SQLITE_CONFIG_PAGECACHE, NULL, 0, 0);
	sqlite3_config(SQLITE_CONFIG_LOOKASIDE, 256, 64);
	pool_path = strdup(path);
	return pool_path ? 0 : ERR_NOMEM;
}

sqlite3 *db_conn(void)
{
	if (mine)
		return mine->db;
	struct conn *c = calloc(1, sizeof *c);
	struct buf msg = BUF_INIT(1024);
	if (!c || !pool_path || db_open(pool_path, &c->db, &msg)) {
		log_error("cannot open database connection", "reason", buf_str(&msg), NULL);
		buf_free(&msg);
		free(c);
		return NULL;
	}
	buf_free(&msg);
	pthread_mutex_lock(&pool_lock);
	c->next = pool;
	pool = c;
	pthread_mutex_unlock(&pool_lock);
	mine = c;
	return c->db;
}

static void conn_close(struct conn *c)
{
	for (int i = 0; i < STMT_CACHE; i++)
		sqlite3_finalize(c->cache[i].st);
	sqlite3_close_v2(c->db);
	free(c);
}

void db_thread_done(void)
{
	struct conn *c = mine;
	if (!c)
		return;
	mine = NULL;
	pthread_mutex_lock(&pool_lock);
	for (struct conn **p = &pool; *p; p = &(*p)->next) {
		if (*p == c) {
			*p = c->next;
			break;
		}
	}
	pthread_mutex_unlock(&pool_lock);
	conn_close(c);
}

void db_pool_close(void)
{
	pthread_mutex_lock(&pool_lock);
	struct conn *c = pool;
	pool = NULL;
	pthread_mutex_unlock(&pool_lock);
	if (c && sqlite3_exec(c->db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL) != SQLITE_OK)
		log_warn("final checkpoint failed", "reason", sqlite3_errmsg(c->db), NULL);
	while (c) {
		struct conn *next = c->next;
		conn_close(c);
		c = next;
	}
	mine = NULL;
	free(pool_path);
	pool_path = NULL;
}

/* ---- statements and transactions -------------------------------------------------- */

sqlite3_stmt *db_prep(const char *sql)
{
	if (!db_conn())
		return NULL;
	uintptr_t h = (uintptr_t)sql;
	size_t slot = (size_t)((h >> 4) ^ (h >> 12)) % STMT_CACHE;
	for (size_t i = 0; i < STMT_CACHE; i++) {
		struct cached *e = &mine->cache[(slot + i) % STMT_CACHE];
		if (e->sql == sql)
			return e->st;
		if (!e->sql) {
			if (sqlite3_prepare_v3(mine->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &e->st, NULL) !=
			    SQLITE_OK) {
				db_fail("prepare");
				e->st = NULL;
				return NULL;
			}
			e->sql = sql;
			return e->st;
		}
	}
	/* full: more distinct statements than slots; evict the home slot */
	struct cached *e = &mine->cache[slot];
	sqlite3_finalize(e->st);
	e->sql = NULL;
	if (sqlite3_prepare_v3(mine->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &e->st, NULL) != SQLITE_OK) {
		db_fail("prepare");
		e->st = NULL;
		return NULL;
	}
	e->sql = sql;
	return e->st;
}

void db_done(sqlite3_stmt *st)
{
	if (!st)
		return;
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

void db_bind_text(db_stmt *st, int i, const char *s)
{
	if (s)
		sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, i);
}

void db_bind_int(db_stmt *st, int i, int64_t v)
{
	sqlite3_bind_int64(st, i, v);
}

void db_bind_null(db_stmt *st, int i)
{
	sqlite3_bind_null(st, i);
}

void db_bind_blob(db_stmt *st, int i, const void *p, size_t n)
{
	sqlite3_bind_blob64(st, i, p, n, SQLITE_STATIC);
}

int db_step(db_stmt *st, const char *context)
{
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		return DB_ROW;
	if (rc == SQLITE_DONE)
		return DB_DONE;
	int ext = sqlite3_extended_errcode(sqlite3_db_handle(st));
	if (ext == SQLITE_CONSTRAINT_UNIQUE || ext == SQLITE_CONSTRAINT_PRIMARYKEY)
		return ERR_EXISTS;
	return db_fail(context);
}

const char *db_col(db_stmt *st, int i)
{
	return (const char *)sqlite3_column_text(st, i);
}

int64_t db_col_int(db_stmt *st, int i)
{
	return sqlite3_column_int64(st, i);
}

bool db_col_null(db_stmt *st, int i)
{
	return sqlite3_column_type(st, i) == SQLITE_NULL;
}

const void *db_col_blob(db_stmt *st, int i, size_t *n)
{
	const void *p = sqlite3_column_blob(st, i);
	*n = (size_t)sqlite3_column_bytes(st, i);
	return p;
}

int db_changes(void)
{
	sqlite3 *db = db_conn();
	return db ? sqlite3_changes(db) : 0;
}

int db_page(struct arena *a, db_stmt *st, const struct page *pg, size_t size,
            int (*row)(struct arena *a, db_stmt *st, void *item), struct page_out *out, const char *context)
{
	*out = (struct page_out){0};
	char *items = arena_alloc(a, size * (size_t)pg->limit + 1);
	int rc = items ? 0 : ERR_NOMEM, step = DB_DONE;
	const char *last = NULL;
	while (!rc && (step = db_step(st, context)) == DB_ROW) {
		if (out->n == (size_t)pg->limit) {
			out->next_cursor = last; /* a row beyond the page: the next one starts after last */
			break;
		}
		memset(items + out->n * size, 0, size);
		rc = row(a, st, items + out->n * size);
		if (!rc && !(last = db_text(a, st, 0)))
			rc = ERR_NOMEM;
		out->n++;
	}
	if (!rc && step < 0)
		rc = step;
	db_done(st);
	out->items = items;
	return rc;
}

int db_fail(const char *context)
{
	sqlite3 *db = mine ? mine->db : NULL;
	char code[16];
	snprintf(code, sizeof code, "%d", db ? sqlite3_extended_errcode(db) : -1);
	log_error("database error", "context", context, "code", code, "reason",
	          db ? sqlite3_errmsg(db) : "no connection", NULL);
	return ERR_DB;
}

static int exec_simple(const char *sql)
{
	sqlite3 *db = db_conn();
	if (!db)
		return ERR_DB;
	return sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : db_fail(sql);
}

int db_begin(void)
{
	return exec_simple("BEGIN IMMEDIATE");
}

int db_commit(void)
{
	int rc = exec_simple("COMMIT");
	if (rc)
		db_rollback();
	return rc;
}

void db_rollback(void)
{
	if (mine && !sqlite3_get_autocommit(mine->db))
		sqlite3_exec(mine->db, "ROLLBACK", NULL, NULL, NULL);
}

/* ---- backup ------------------------------------------------------------------------ */

int db_backup(const char *src, const char *dst, struct buf *msg)
{
	sqlite3 *from = NULL, *to = NULL;
	sqlite3_backup *bk = NULL;
	struct buf tmp = BUF_INIT(8192);
	int rc = ERR_DB;
	if (buf_printf(&tmp, "%s.tmp", dst)) {
		rc = ERR_TOOBIG;
		goto out;
	}
	unlink(buf_str(&tmp));
	if (sqlite3_open_v2(src, &from, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		buf_note(msg, "cannot open %s: %s", src, sqlite3_errmsg(from));
		goto out;
	}
	sqlite3_busy_timeout(from, BUSY_TIMEOUT_MS);
	if (sqlite3_open_v2(buf_str(&tmp), &to, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
	    SQLITE_OK) {
		buf_note(msg, "cannot create %s: %s", buf_str(&tmp), sqlite3_errmsg(to));
		goto out;
	}
	bk = sqlite3_backup_init(to, "main", from, "main");
	if (!bk) {
		buf_note(msg, "cannot start backup: %s", sqlite3_errmsg(to));
		goto out;
	}
	int step;
	int64_t deadline = time_mono_us() + 60 * 1000000LL;
	/* all pages in one step: one read transaction, so one consistent snapshot */
	while ((step = sqlite3_backup_step(bk, -1)) == SQLITE_BUSY || step == SQLITE_LOCKED) {
		if (time_mono_us() > deadline)
			break;
		sqlite3_sleep(50);
	}
	sqlite3_backup_finish(bk);
	bk = NULL;
	if (step != SQLITE_DONE) {
		buf_note(msg, "backup failed: %s", sqlite3_errstr(step));
		goto out;
	}
	if (sqlite3_exec(to, "PRAGMA journal_mode=DELETE", NULL, NULL, NULL) != SQLITE_OK) {
		buf_note(msg, "backup failed: %s", sqlite3_errmsg(to));
		goto out;
	}
	sqlite3_close_v2(to);
	to = NULL;
	int fd = open(buf_str(&tmp), O_RDONLY);
	if (fd < 0 || fsync(fd) != 0 || rename(buf_str(&tmp), dst) != 0) {
		buf_note(msg, "cannot write %s: %s", dst, strerror(errno));
		if (fd >= 0)
			close(fd);
		goto out;
	}
	close(fd);
	rc = 0;
out:
	if (bk)
		sqlite3_backup_finish(bk);
	sqlite3_close_v2(to);
	sqlite3_close_v2(from);
	if (rc)
		unlink(buf_str(&tmp));
	buf_free(&tmp);
	return rc;
}
