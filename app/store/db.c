/* store/db.c: connections, pragmas, the statement cache, the writer (group commit and
 * after-commit callbacks), migrations and backups. Must never build SQL from values: every
 * value is bound; never share one connection between threads. */
#include "store/db.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
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
#define GROUP_MAX 64 /* transactions one COMMIT may hold at most */
#define HOOKS_KEEP 1024 /* after-commit slots kept allocated between batches */

struct cached {
	const char *sql; /* the key: a static string's address */
	sqlite3_stmt *st;
};

/* One per reader thread, plus the writer's; owned by the pool list. */
struct conn {
	sqlite3 *db;
	struct cached *cache; /* open addressing, cap a power of two, grown at 3/4 */
	size_t cap, used;
	struct conn *next;
};

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static char *pool_path;
static struct conn *pool;
static _Thread_local struct conn *reader; /* this thread's read-only connection */
static _Thread_local struct conn *mine;   /* the one in use: reader, or the writer's in a turn */
static _Thread_local int depth;           /* savepoints this thread holds on the writer */
static _Thread_local bool in_hooks;       /* running after-commit callbacks: no writes here */

/* A caller waiting for the batch that holds its work to commit; lives on its stack. */
struct member {
	struct member *next;
	int rc;
	sem_t done; /* posted once rc is final */
};

/* A transaction handed to the writer thread (db_write); lives on the caller's stack. */
struct job {
	struct job *next;
	int (*fn)(void *ctx);
	void *ctx;
	int rc;
	sem_t done; /* posted once rc is final: each caller wakes alone, no herd on a shared lock */
};

/* A callback waiting for the open batch to commit (db_after_commit). depth: the savepoint
 * level it belongs to (the innermost one open when it was registered), 0 once its caller's
 * transaction was kept and only the batch's COMMIT is awaited. */
struct hook {
	void (*run)(void *arg);
	void (*drop)(void *arg);
	void *arg;
	int depth;
};

/* The writer connection. conn, open and the hooks belong to whoever holds the turn; the rest
 * is read and written with lock held. The turn is a mutex: a request thread in
 * db_begin..db_commit, or the writer thread running a run of queued jobs back to back (no
 * hand-over between them). */
static struct {
	pthread_mutex_t lock;
	pthread_mutex_t turn; /* held by the writer in turn */
	atomic_int queued;    /* threads waiting for the turn */
	uint64_t batches;
	struct member *members; /* of the open batch */
	int nmembers;
	bool open; /* a batch transaction is open on conn */
	struct conn *conn;
	struct hook *hooks; /* the open batch's, in registration order; depths never decrease */
	size_t nhooks, caphooks;
} w = {.lock = PTHREAD_MUTEX_INITIALIZER, .turn = PTHREAD_MUTEX_INITIALIZER};

/* The writer thread's queue (db_write), in arrival order (FIFO). */
static struct {
	pthread_mutex_t lock;
	pthread_cond_t work;
	struct job *head, **tail;
	pthread_t thread;
	atomic_bool running; /* it takes jobs (false once it ended: callers then write themselves) */
	bool started, stop;
} jq = {.lock = PTHREAD_MUTEX_INITIALIZER, .work = PTHREAD_COND_INITIALIZER, .tail = &jq.head};

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

/* A lone write (outside any transaction) handed to the writer thread: db_run or db_row
 * again, there, inside the job's savepoint. */
struct lone {
	struct arena *a;
	const char *sql, *context;
	int nparams, ncols;
	const char *const *params;
	const char **(*cols);
};

static int lone_run(void *ctx)
{
	const struct lone *x = ctx;
	return db_run(x->sql, x->context, x->nparams, x->params);
}

static int lone_row(void *ctx)
{
	const struct lone *x = ctx;
	return db_row(x->a, x->sql, x->context, x->nparams, x->params, x->cols, x->ncols);
}

/* True when st writes and this thread holds no transaction: it must run in one of its own. */
static bool lone_write(sqlite3_stmt *st)
{
	return depth == 0 && !sqlite3_stmt_readonly(st);
}

int db_run(const char *sql, const char *context, int n, const char *const *texts)
{
	sqlite3_stmt *st = db_prep(sql);
	if (!st)
		return ERR_DB;
	if (lone_write(st)) {
		struct lone x = {.sql = sql, .context = context, .nparams = n, .params = texts};
		return db_write(lone_run, &x);
	}
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
	if (lone_write(st)) {
		struct lone x = {a, sql, context, nparams, ncols, params, cols};
		return db_write(lone_row, &x);
	}
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

/* Opens a connection and puts it on the pool list. query_only for readers: a write that
 * bypasses the writer fails loudly instead of waiting in SQLite's busy handler. */
static struct conn *conn_new(bool reader)
{
	struct conn *c = calloc(1, sizeof *c);
	struct buf msg = BUF_INIT(1024);
	if (!c || !pool_path || db_open(pool_path, &c->db, &msg) ||
	    (reader && sqlite3_exec(c->db, "PRAGMA query_only=1", NULL, NULL, NULL) != SQLITE_OK)) {
		log_error("cannot open database connection", "reason", c && c->db ? sqlite3_errmsg(c->db) : buf_str(&msg),
		          NULL);
		buf_free(&msg);
		if (c)
			sqlite3_close_v2(c->db);
		free(c);
		return NULL;
	}
	buf_free(&msg);
	pthread_mutex_lock(&pool_lock);
	c->next = pool;
	pool = c;
	pthread_mutex_unlock(&pool_lock);
	return c;
}

sqlite3 *db_conn(void)
{
	if (!mine && !(mine = reader = conn_new(true)))
		return NULL;
	return mine->db;
}

static void cache_free(struct conn *c)
{
	for (size_t i = 0; i < c->cap; i++)
		sqlite3_finalize(c->cache[i].st);
	free(c->cache);
	c->cache = NULL;
	c->cap = c->used = 0;
}

static void conn_close(struct conn *c)
{
	cache_free(c);
	sqlite3_close_v2(c->db);
	free(c);
}

static void pool_remove(struct conn *c)
{
	pthread_mutex_lock(&pool_lock);
	for (struct conn **p = &pool; *p; p = &(*p)->next) {
		if (*p == c) {
			*p = c->next;
			break;
		}
	}
	pthread_mutex_unlock(&pool_lock);
}

void db_thread_done(void)
{
	struct conn *c = reader;
	if (!c)
		return;
	mine = reader = NULL;
	pool_remove(c);
	conn_close(c);
}

void db_pool_close(void)
{
	db_writer_stop();
	pthread_mutex_lock(&pool_lock);
	struct conn *c = pool;
	pool = NULL;
	pthread_mutex_unlock(&pool_lock);
	sqlite3 *last = w.conn ? w.conn->db : c ? c->db : NULL;
	if (last && sqlite3_exec(last, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL) != SQLITE_OK)
		log_warn("final checkpoint failed", "reason", sqlite3_errmsg(last), NULL);
	while (c) {
		struct conn *next = c->next;
		conn_close(c);
		c = next;
	}
	mine = reader = NULL;
	w.conn = NULL;
	free(w.hooks);
	w.hooks = NULL;
	w.nhooks = w.caphooks = 0;
	free(pool_path);
	pool_path = NULL;
}

/* ---- statements ---------------------------------------------------------------------- */

static size_t slot_of(const char *sql, size_t cap)
{
	uintptr_t h = (uintptr_t)sql;
	return (size_t)((h >> 4) ^ (h >> 12) ^ (h >> 20)) & (cap - 1);
}

/* The cache grows instead of evicting: the binary has a fixed, finite set of SQL strings,
 * and evicting could finalize a statement a caller is still stepping. */
static int cache_grow(struct conn *c)
{
	size_t cap = c->cap ? c->cap * 2 : 64;
	struct cached *t = calloc(cap, sizeof *t);
	if (!t)
		return ERR_NOMEM;
	for (size_t i = 0; i < c->cap; i++) {
		if (!c->cache[i].sql)
			continue;
		size_t k = slot_of(c->cache[i].sql, cap);
		while (t[k].sql)
			k = (k + 1) & (cap - 1);
		t[k] = c->cache[i];
	}
	free(c->cache);
	c->cache = t;
	c->cap = cap;
	return 0;
}

static sqlite3_stmt *prep_on(struct conn *c, const char *sql);
static int fail_on(sqlite3 *db, const char *context);

sqlite3_stmt *db_prep(const char *sql)
{
	return db_conn() ? prep_on(mine, sql) : NULL;
}

static sqlite3_stmt *prep_on(struct conn *c, const char *sql)
{
	if ((c->used + 1) * 4 > c->cap * 3 && cache_grow(c)) {
		log_error("statement cache: out of memory", NULL);
		return NULL;
	}
	size_t k = slot_of(sql, c->cap);
	while (c->cache[k].sql && c->cache[k].sql != sql)
		k = (k + 1) & (c->cap - 1);
	struct cached *e = &c->cache[k];
	if (e->sql)
		return e->st;
	if (sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &e->st, NULL) != SQLITE_OK) {
		fail_on(c->db, "prepare");
		e->st = NULL;
		return NULL;
	}
	e->sql = sql;
	c->used++;
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

int db_exec(db_stmt *st, const char *context)
{
	int rc = db_step(st, context);
	db_done(st);
	return rc == DB_DONE ? 0 : rc < 0 ? rc : ERR_DB;
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

int db_one(struct arena *a, db_stmt *st, int (*row)(struct arena *a, db_stmt *st, void *item), void *item,
           const char *context)
{
	int rc = db_step(st, context);
	if (rc == DB_ROW)
		rc = row(a, st, item);
	else if (rc == DB_DONE)
		rc = ERR_NOTFOUND;
	db_done(st);
	return rc;
}

int db_groups(db_stmt *st, int child_col, int (*parent)(void *ctx, db_stmt *st),
              int (*child)(void *ctx, db_stmt *st), void *ctx, const char *context)
{
	char *current = NULL; /* the parent whose children are being visited */
	int step = DB_DONE, rc = 0;
	while (!rc && (step = db_step(st, context)) == DB_ROW) {
		const char *key = db_col(st, 0);
		if (!key) {
			rc = ERR_NOMEM;
		} else if (!current || strcmp(current, key) != 0) {
			free(current);
			current = strdup(key);
			rc = current ? parent(ctx, st) : ERR_NOMEM;
		}
		if (!rc && !db_col_null(st, child_col))
			rc = child(ctx, st);
	}
	free(current);
	if (!rc && step < 0)
		rc = step;
	db_done(st);
	return rc;
}

/* Logs db's last error with a context word; returns ERR_DB. */
static int fail_on(sqlite3 *db, const char *context)
{
	char code[16];
	snprintf(code, sizeof code, "%d", db ? sqlite3_extended_errcode(db) : -1);
	log_error("database error", "context", context, "code", code, "reason",
	          db ? sqlite3_errmsg(db) : "no connection", NULL);
	return ERR_DB;
}

int db_fail(const char *context)
{
	return fail_on(mine ? mine->db : NULL, context);
}

bool db_writing(void)
{
	return depth > 0;
}

/* ---- the writer: one at a time, group commit ------------------------------------------ */
/* One connection writes, and one holder of the turn uses it at a time, always inside a batch
 * transaction and under its own savepoint (so a failure undoes only its own work):
 * - the writer thread runs the queued db_write jobs (lone writes among them) in arrival
 *   order, back to back in one turn, and commits them together;
 * - a caller of db_begin takes the turn itself (a mutex); at db_commit it releases its
 *   savepoint and joins the batch: if others wait for the turn (and the batch is not full)
 *   it passes the turn on and sleeps until a later holder commits, else it commits.
 * One fsync serves everyone in a batch, and nobody is told "done" before the COMMIT that
 * holds their work. No writer ever waits in SQLite's busy handler (only another process,
 * such as `app admin create`, can make the writer wait there). */

/* The writer's transaction statements, prepared once (parsing BEGIN, SAVEPOINT, RELEASE and
 * COMMIT on every request costs more than running them). */
static const char sql_begin[] = "BEGIN IMMEDIATE", sql_commit[] = "COMMIT", sql_rollback[] = "ROLLBACK",
		  sql_savepoint[] = "SAVEPOINT s1", sql_release[] = "RELEASE s1", sql_rollback_to[] = "ROLLBACK TO s1";

static int turn_take(void);
static void batch_lost(void);

/* ---- after commit: callbacks that wait for the batch's COMMIT ---------------------- */
/* A transaction's callbacks sit at the tail of w.hooks while it holds the turn (nobody
 * else can register meanwhile), so a savepoint's are the tail entries of its depth or
 * deeper: its rollback drops them, its release hands them to the level above. */

int db_after_commit(void (*run)(void *arg), void (*drop)(void *arg), void *arg)
{
	int rc = 0;
	if (depth == 0 || in_hooks) {
		log_error("db_after_commit outside a write transaction, or inside a callback", NULL);
		rc = ERR_INVAL;
	} else if (w.nhooks == w.caphooks) {
		size_t cap = w.caphooks ? w.caphooks * 2 : 64;
		struct hook *h = cap <= DB_AFTER_COMMIT_MAX ? realloc(w.hooks, cap * sizeof *h) : NULL;
		if (h) {
			w.hooks = h;
			w.caphooks = cap;
		} else {
			rc = cap <= DB_AFTER_COMMIT_MAX ? ERR_NOMEM : ERR_TOOBIG;
		}
	}
	if (rc) {
		if (drop)
			drop(arg);
		return rc;
	}
	w.hooks[w.nhooks++] = (struct hook){run, drop, arg, depth};
	return 0;
}

/* The savepoint at level d ended: its callbacks (and those of deeper ones left open) move
 * to level d - 1 when it was kept, else they are dropped, in registration order. */
static void hooks_end(int d, bool keep)
{
	size_t first = w.nhooks;
	while (first > 0 && w.hooks[first - 1].depth >= d)
		first--;
	in_hooks = true;
	for (size_t i = first; i < w.nhooks; i++) {
		if (keep)
			w.hooks[i].depth = d - 1;
		else if (w.hooks[i].drop)
			w.hooks[i].drop(w.hooks[i].arg);
	}
	in_hooks = false;
	if (!keep)
		w.nhooks = first;
}

/* The batch ended: every callback runs (committed) or is dropped (not kept), in order.
 * Called holding the turn, after the COMMIT and before anyone is told or the turn passes. */
static void hooks_finish(bool committed)
{
	in_hooks = true;
	for (size_t i = 0; i < w.nhooks; i++) {
		struct hook *h = &w.hooks[i];
		if (committed)
			h->run(h->arg);
		else if (h->drop)
			h->drop(h->arg);
	}
	in_hooks = false;
	w.nhooks = 0;
	if (w.caphooks > HOOKS_KEEP) { /* one huge transaction does not pin its memory */
		free(w.hooks);
		w.hooks = NULL;
		w.caphooks = 0;
	}
}

/* Runs one statement on the writer connection: a cached one for the static strings above,
 * sqlite3_exec for the rare nested savepoints (their text is built). */
static int writer_exec(const char *sql)
{
	if (sql == sql_begin || sql == sql_commit || sql == sql_rollback || sql == sql_savepoint ||
	    sql == sql_release || sql == sql_rollback_to) {
		sqlite3_stmt *st = prep_on(w.conn, sql);
		if (!st)
			return ERR_DB;
		int rc = sqlite3_step(st);
		sqlite3_reset(st);
		return rc == SQLITE_DONE ? 0 : fail_on(w.conn->db, sql);
	}
	return sqlite3_exec(w.conn->db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : fail_on(w.conn->db, sql);
}

/* Tells each member of a finished batch its result. A member lives on its owner's stack and
 * may be gone once posted. */
static void members_done(struct member *m, int rc)
{
	while (m) {
		struct member *next = m->next;
		m->rc = rc;
		sem_post(&m->done);
		m = next;
	}
}

/* Commits the open batch (one fsync for all in it) and tells its members. Called holding the
 * turn, not lock: others keep queueing for the next batch meanwhile. */
static int batch_commit(void)
{
	int rc = writer_exec(sql_commit);
	if (rc && !sqlite3_get_autocommit(w.conn->db))
		writer_exec(sql_rollback);
	pthread_mutex_lock(&w.lock);
	struct member *m = w.members;
	w.members = NULL;
	w.nmembers = 0;
	w.open = false;
	w.batches++;
	pthread_mutex_unlock(&w.lock);
	hooks_finish(rc == 0);
	members_done(m, rc);
	return rc;
}

/* Ends this thread's turn. Called with the batch in a consistent state (no open savepoint
 * of ours). me: our membership, or NULL when our work was rolled back. */
static void turn_end(struct member *me)
{
	pthread_mutex_lock(&w.lock);
	if (me) {
		me->next = w.members;
		w.members = me;
		w.nmembers++;
	}
	bool waiting = atomic_load(&w.queued) > 0;
	bool commit = w.open && w.nmembers > 0 && (!waiting || w.nmembers >= GROUP_MAX);
	bool discard = w.open && w.nmembers == 0 && !waiting;
	pthread_mutex_unlock(&w.lock);
	if (commit) {
		batch_commit();
	} else if (discard) {
		/* only rolled-back work in this batch: nothing to make durable */
		writer_exec(sql_rollback);
		w.open = false;
		hooks_finish(false);
	}
	pthread_mutex_unlock(&w.turn);
	if (me)
		while (sem_wait(&me->done) != 0 && errno == EINTR)
			;
}

/* The batch transaction died under us (an I/O error, a full disk: SQLite rolled it back
 * itself): everyone in it fails, none of it is acknowledged. Called holding the turn. */
static void batch_lost(void)
{
	pthread_mutex_lock(&w.lock);
	struct member *m = w.members;
	w.members = NULL;
	w.nmembers = 0;
	w.open = false;
	pthread_mutex_unlock(&w.lock);
	hooks_finish(false);
	members_done(m, ERR_DB);
}

int db_begin(void)
{
	if (in_hooks) {
		log_error("a write inside an after-commit callback", NULL);
		return ERR_INVAL;
	}
	if (depth > 0) {
		char sp[32];
		snprintf(sp, sizeof sp, "SAVEPOINT s%d", depth + 1);
		int rc = writer_exec(sp);
		if (!rc)
			depth++;
		return rc;
	}
	if (!db_conn() || turn_take())
		return ERR_DB;
	/* our turn: the writer connection is ours until turn_end */
	if (writer_exec(sql_savepoint)) {
		turn_end(NULL);
		return ERR_DB;
	}
	depth = 1;
	mine = w.conn;
	return 0;
}

/* Ends the outermost savepoint: kept (released) when rc is 0, else rolled back. Returns rc,
 * or ERR_DB when keeping failed (then it was rolled back). */
static int savepoint_end(int rc)
{
	if (!rc && writer_exec(sql_release))
		rc = ERR_DB;
	if (rc && !sqlite3_get_autocommit(w.conn->db) && writer_exec(sql_rollback_to) == 0)
		(void)writer_exec(sql_release);
	hooks_end(1, rc == 0);
	return rc;
}

/* Leaves the writer after our outermost savepoint was released (kept) or rolled back. */
static int leave(bool keep)
{
	depth = 0;
	mine = reader;
	if (!w.open || sqlite3_get_autocommit(w.conn->db)) {
		batch_lost();
		turn_end(NULL);
		return ERR_DB;
	}
	if (!keep) {
		turn_end(NULL);
		return 0;
	}
	struct member me = {0};
	sem_init(&me.done, 0, 0); /* cannot fail for a private semaphore starting at 0 */
	turn_end(&me);
	sem_destroy(&me.done);
	return me.rc;
}

int db_commit(void)
{
	if (depth == 0)
		return ERR_DB;
	char sp[32];
	snprintf(sp, sizeof sp, "RELEASE s%d", depth);
	if (depth > 1) {
		int rc = writer_exec(sp);
		if (rc) {
			db_rollback();
		} else {
			hooks_end(depth, true);
			depth--;
		}
		return rc;
	}
	if (savepoint_end(0)) {
		(void)leave(false);
		return ERR_DB;
	}
	return leave(true);
}

void db_rollback(void)
{
	if (depth == 0)
		return;
	if (depth > 1) {
		char sp[64];
		snprintf(sp, sizeof sp, "ROLLBACK TO s%d; RELEASE s%d", depth, depth);
		if (!sqlite3_get_autocommit(w.conn->db))
			sqlite3_exec(w.conn->db, sp, NULL, NULL, NULL);
		hooks_end(depth, false);
		depth--;
		return;
	}
	(void)savepoint_end(ERR_DB);
	(void)leave(false);
}

/* ---- the writer thread: transactions handed over as functions (db_write) ------------- */

/* Takes the turn and opens the batch; ERR_DB (turn released) when it cannot. */
static int turn_take(void)
{
	atomic_fetch_add(&w.queued, 1);
	pthread_mutex_lock(&w.turn);
	atomic_fetch_sub(&w.queued, 1);
	if ((!w.conn && !(w.conn = conn_new(false))) || (!w.open && writer_exec(sql_begin))) {
		pthread_mutex_unlock(&w.turn);
		return ERR_DB;
	}
	w.open = true;
	return 0;
}

/* One run: every queued job, each under its own savepoint, then one commit for all. */
static void run_jobs(struct job *run)
{
	if (turn_take()) {
		for (struct job *j = run; j; j = j->next)
			j->rc = ERR_DB;
		return;
	}
	mine = w.conn;
	bool lost = false;
	for (struct job *j = run; j; j = j->next) {
		if (lost || writer_exec(sql_savepoint)) {
			j->rc = ERR_DB;
			continue;
		}
		depth = 1;
		int rc = j->fn(j->ctx);
		depth = 0;
		j->rc = savepoint_end(rc);
		if (sqlite3_get_autocommit(w.conn->db))
			lost = true; /* the batch died under a job: nothing of this run is kept */
	}
	mine = reader;
	int rc = lost ? ERR_DB : 0;
	if (lost) {
		batch_lost();
	} else if (batch_commit()) {
		rc = ERR_DB;
	}
	pthread_mutex_unlock(&w.turn);
	if (rc)
		for (struct job *j = run; j; j = j->next)
			j->rc = ERR_DB;
}

static void *writer_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&jq.lock);
	for (;;) {
		while (!jq.head && !jq.stop)
			pthread_cond_wait(&jq.work, &jq.lock);
		if (!jq.head) {
			atomic_store(&jq.running, false); /* under the lock: no job can slip in after */
			break;
		}
		struct job *run = jq.head;
		jq.head = NULL;
		jq.tail = &jq.head;
		pthread_mutex_unlock(&jq.lock);
		run_jobs(run);
		for (struct job *j = run, *next; j; j = next) {
			next = j->next; /* j lives on its caller's stack: gone once posted */
			sem_post(&j->done);
		}
		pthread_mutex_lock(&jq.lock);
	}
	pthread_mutex_unlock(&jq.lock);
	db_thread_done();
	return NULL;
}

/* The transaction on this thread: inside a transaction already (a savepoint of it), or with
 * no writer thread (commands, shutdown). */
static int write_here(int (*fn)(void *ctx), void *ctx)
{
	int rc = db_begin();
	if (rc || (rc = fn(ctx))) {
		db_rollback();
		return rc;
	}
	return db_commit();
}

int db_write(int (*fn)(void *ctx), void *ctx)
{
	if (in_hooks) {
		log_error("a write inside an after-commit callback", NULL);
		return ERR_INVAL;
	}
	if (depth > 0 || !atomic_load(&jq.running))
		return write_here(fn, ctx);
	struct job j = {.fn = fn, .ctx = ctx};
	sem_init(&j.done, 0, 0); /* cannot fail for a private semaphore starting at 0 */
	pthread_mutex_lock(&jq.lock);
	if (!atomic_load(&jq.running)) { /* the writer thread ended meanwhile */
		pthread_mutex_unlock(&jq.lock);
		sem_destroy(&j.done);
		return write_here(fn, ctx);
	}
	*jq.tail = &j;
	jq.tail = &j.next;
	pthread_cond_signal(&jq.work);
	pthread_mutex_unlock(&jq.lock);
	while (sem_wait(&j.done) != 0 && errno == EINTR)
		;
	sem_destroy(&j.done);
	return j.rc;
}

int db_writer_start(void)
{
	atomic_store(&jq.running, true);
	if (pthread_create(&jq.thread, NULL, writer_main, NULL) != 0) {
		atomic_store(&jq.running, false);
		return ERR_NOMEM;
	}
	jq.started = true;
	return 0;
}

void db_writer_stop(void)
{
	if (!jq.started)
		return;
	pthread_mutex_lock(&jq.lock);
	jq.stop = true;
	pthread_cond_signal(&jq.work);
	pthread_mutex_unlock(&jq.lock);
	pthread_join(jq.thread, NULL);
	jq.started = jq.stop = false;
}

int db_pool_migrate(const struct migration *m, size_t n, int *applied, struct buf *msg)
{
	/* migrations run before any request, on the writer connection, outside any batch */
	if (!w.conn && !(w.conn = conn_new(false)))
		return ERR_DB;
	return db_migrate(w.conn->db, m, n, applied, msg);
}

int db_schema_check(const struct migration *m, size_t n, struct buf *msg)
{
	sqlite3_stmt *st = db_prep(sql_max_version);
	if (!st)
		return ERR_DB;
	int have = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : -1;
	db_done(st);
	int newest = n ? m[n - 1].version : 0;
	if (have == newest)
		return 0;
	buf_note(msg, "a server is running on this data directory with schema version %d and this binary has %d: "
	              "stop the server to migrate",
	         have, newest);
	return ERR_BUSY;
}

uint64_t db_batches(void)
{
	pthread_mutex_lock(&w.lock);
	uint64_t n = w.batches;
	pthread_mutex_unlock(&w.lock);
	return n;
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
