/* Unit tests for store/db.c's writer and statement cache: many threads writing at once all
 * get their turn in order, each acknowledged write is kept and each rolled-back one is gone,
 * several transactions share a commit (group commit), savepoints nest, a lone write is its
 * own transaction while a write that bypasses the writer is refused, and a statement being
 * stepped survives hundreds of others prepared. After-commit callbacks run once their batch
 * committed, in commit order, batch after batch, and only rolled-back work's are dropped. */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "store/db.h"

#define THREADS 8
#define ROUNDS 150

static const char sql_insert[] = "INSERT INTO t(who, n) VALUES(?1, ?2)";
static const char sql_count_who[] = "SELECT count(*) FROM t WHERE who = ?1";
static const char sql_count_n[] = "SELECT count(*) FROM t WHERE n = ?1";
static const char sql_all[] = "SELECT n FROM t ORDER BY n";

static int insert(int who, int n)
{
	db_stmt *st = db_prep(sql_insert);
	if (!st)
		return ERR_DB;
	db_bind_int(st, 1, who);
	db_bind_int(st, 2, n);
	int rc = db_step(st, "test insert");
	db_done(st);
	return rc < 0 ? rc : 0;
}

static long long count(const char *sql, long long v)
{
	db_stmt *st = db_prep(sql);
	long long n = -1;
	if (st) {
		db_bind_int(st, 1, v);
		if (db_step(st, "test count") == DB_ROW)
			n = db_col_int(st, 0);
		db_done(st);
	}
	return n;
}

struct worker {
	int who;
	int acked;
	int failed;
};

static void *work(void *arg)
{
	struct worker *wk = arg;
	for (int i = 0; i < ROUNDS; i++) {
		if (db_begin()) {
			wk->failed++;
			continue;
		}
		int rc = insert(wk->who, i);
		usleep(100); /* hold the turn a little, so others queue behind it */
		if (rc || i % 10 == 7) {
			db_rollback(); /* undoes this transaction only */
			continue;
		}
		if (db_commit() == 0)
			wk->acked++;
		else
			wk->failed++;
	}
	db_thread_done();
	return NULL;
}


/* ---- after-commit callbacks ----------------------------------------------------------- */

/* One registered callback's fate. ticket is given out holding the writer's turn, so tickets
 * are registration order. */
struct note {
	int ticket;
	int ran, dropped;
	uint64_t batch; /* db_batches() when it ran: the batch's number */
};

/* Read and written only by holders of the writer's turn (registration and callbacks). */
static int next_ticket, last_run = -1;
static uint64_t last_batch;
static int order_errors, unseen;

static void note_run(void *arg)
{
	struct note *n = arg;
	n->ran++;
	n->batch = db_batches();
	if (n->ticket <= last_run || n->batch < last_batch)
		order_errors++; /* out of registration order, or an earlier batch's after a later one */
	last_run = n->ticket;
	last_batch = n->batch;
	if (count(sql_count_n, 100000 + n->ticket) != 1)
		unseen++; /* run before the commit: a reader does not see the row yet */
}

static void note_drop(void *arg)
{
	struct note *n = arg;
	n->dropped++;
}

/* Inside a transaction: a row tagged with a new ticket, and a callback for it. */
static int note_write(struct note *n, int who)
{
	n->ticket = next_ticket++;
	int rc = insert(who, 100000 + n->ticket);
	return rc ? rc : db_after_commit(note_run, note_drop, n);
}

struct hook_worker {
	int who;
	bool queued; /* through db_write (the writer thread), else db_begin..db_commit */
	struct note notes[ROUNDS];
	int acked, bad;
};

struct job_arg {
	struct note *n;
	int who, i;
};

static int job_write(void *ctx)
{
	struct job_arg *j = ctx;
	int rc = note_write(j->n, j->who);
	return rc ? rc : j->i % 10 == 7 ? ERR_INVAL : 0;
}

static void *hook_work(void *arg)
{
	struct hook_worker *wk = arg;
	for (int i = 0; i < ROUNDS; i++) {
		struct note *n = &wk->notes[i];
		bool keep = i % 10 != 7;
		int rc;
		if (wk->queued) {
			struct job_arg j = {n, wk->who, i};
			rc = db_write(job_write, &j);
		} else if ((rc = db_begin()) == 0) {
			rc = note_write(n, wk->who);
			usleep(50); /* hold the turn a little, so others queue behind it */
			if (rc || !keep) {
				db_rollback();
				rc = rc ? rc : ERR_INVAL;
			} else {
				rc = db_commit();
			}
		}
		/* each callback met its fate before the caller heard the outcome */
		if (rc == 0 && n->ran == 1 && n->dropped == 0)
			wk->acked++;
		else if (!(rc != 0 && !keep && n->ran == 0 && n->dropped == 1))
			wk->bad++;
	}
	db_thread_done();
	return NULL;
}

/* A transaction started (holding the turn) before the others queue behind it. */
struct racer {
	struct note n;
	bool keep;
	int rc;
	pthread_t th;
};

static void *race(void *arg)
{
	struct racer *r = arg;
	if (db_begin() == 0) {
		if (note_write(&r->n, 900) || !r->keep)
			db_rollback();
		else
			r->rc = db_commit();
	}
	db_thread_done();
	return NULL;
}

/* What a callback that tries to write gets. */
static int in_run_begin, in_run_write, in_run_hook, in_run_dropped;

static int nothing(void *ctx)
{
	(void)ctx;
	return 0;
}

static void count_drop(void *arg)
{
	(void)arg;
	in_run_dropped++;
}

static void greedy_run(void *arg)
{
	(void)arg;
	in_run_begin = db_begin();
	in_run_write = db_write(nothing, NULL);
	in_run_hook = db_after_commit(note_run, count_drop, NULL);
}

static void test_after_commit(void)
{
	CHECK(db_writer_start() == 0);

	/* 8 threads, half through the writer thread, half taking the turn themselves */
	pthread_t th[THREADS];
	static struct hook_worker wk[THREADS];
	uint64_t batches0 = db_batches();
	for (int i = 0; i < THREADS; i++) {
		wk[i] = (struct hook_worker){.who = 200 + i, .queued = i % 2 == 0};
		CHECK(pthread_create(&th[i], NULL, hook_work, &wk[i]) == 0);
	}
	int acked = 0;
	for (int i = 0; i < THREADS; i++) {
		pthread_join(th[i], NULL);
		CHECK(wk[i].bad == 0);
		acked += wk[i].acked;
	}
	CHECK(acked == THREADS * (ROUNDS - ROUNDS / 10));
	CHECK(order_errors == 0);
	CHECK(unseen == 0);
	uint64_t batches = db_batches() - batches0;
	fprintf(stderr, "db: %d callbacks run in %llu batches\n", acked, (unsigned long long)batches);
	CHECK(batches < (uint64_t)acked); /* several transactions' callbacks shared a commit */

	/* nested savepoints: a callback belongs to the innermost open one */
	struct note a = {0}, b = {0}, c = {0}, d = {0};
	CHECK(db_begin() == 0);
	CHECK(note_write(&a, 300) == 0);
	CHECK(db_begin() == 0);
	CHECK(note_write(&b, 300) == 0);
	db_rollback(); /* drops b at once, keeps a */
	CHECK(b.dropped == 1 && a.dropped == 0 && a.ran == 0);
	CHECK(db_begin() == 0);
	CHECK(note_write(&c, 300) == 0);
	CHECK(db_commit() == 0); /* c now belongs to the outer transaction: nothing runs yet */
	CHECK(c.ran == 0 && c.dropped == 0);
	CHECK(note_write(&d, 300) == 0);
	CHECK(db_commit() == 0);
	CHECK(a.ran == 1 && c.ran == 1 && d.ran == 1 && b.ran == 0);
	CHECK(a.batch == c.batch && c.batch == d.batch);
	CHECK(order_errors == 0); /* a, c, d in that order */

	/* a released inner savepoint goes with the outer rollback */
	struct note e = {0}, f = {0};
	CHECK(db_begin() == 0);
	CHECK(note_write(&e, 301) == 0);
	CHECK(db_begin() == 0);
	CHECK(note_write(&f, 301) == 0);
	CHECK(db_commit() == 0);
	db_rollback();
	CHECK(e.dropped == 1 && f.dropped == 1 && e.ran == 0 && f.ran == 0);

	/* one caller's rollback in a shared batch drops its callbacks only: the others queue
	 * while the first holds the turn (retried until they did share one) */
	int shared = 0;
	for (int attempt = 0; attempt < 20 && !shared; attempt++) {
		struct racer first = {.keep = true}, rest[2] = {{.keep = false}, {.keep = true}};
		CHECK(db_begin() == 0);
		CHECK(note_write(&first.n, 900) == 0);
		for (int i = 0; i < 2; i++)
			CHECK(pthread_create(&rest[i].th, NULL, race, &rest[i]) == 0);
		usleep(20000); /* both now wait for the turn */
		CHECK(db_commit() == 0);
		for (int i = 0; i < 2; i++)
			pthread_join(rest[i].th, NULL);
		CHECK(rest[1].rc == 0);
		CHECK(first.n.ran == 1 && rest[1].n.ran == 1 && rest[0].n.dropped == 1);
		CHECK(first.n.dropped + rest[1].n.dropped + rest[0].n.ran == 0);
		shared = first.n.batch == rest[1].n.batch;
	}
	CHECK(shared);

	/* the batch's COMMIT fails (a deferred foreign key): nothing of it is kept, its callbacks
	 * are dropped */
	struct note g = {0};
	CHECK(db_begin() == 0);
	CHECK(note_write(&g, 302) == 0);
	CHECK(db_run("INSERT INTO child(parent) VALUES(999)", "test child", 0, NULL) == 0);
	CHECK(db_commit() == ERR_DB);
	CHECK(g.dropped == 1 && g.ran == 0);
	CHECK(count(sql_count_n, 100000 + g.ticket) == 0);

	/* outside a transaction: refused, and drop runs at once */
	struct note h = {0};
	CHECK(db_after_commit(note_run, note_drop, &h) == ERR_INVAL && h.dropped == 1 && h.ran == 0);

	/* a callback cannot write (it would wait for the turn it holds) */
	CHECK(db_begin() == 0);
	CHECK(db_after_commit(greedy_run, NULL, NULL) == 0);
	CHECK(db_commit() == 0);
	CHECK(in_run_begin == ERR_INVAL && in_run_write == ERR_INVAL && in_run_hook == ERR_INVAL);
	CHECK(in_run_dropped == 1);
	CHECK(!db_writing());
}

int main(void)
{
	char dir[] = "/tmp/app-db-XXXXXX";
	CHECK(mkdtemp(dir) != NULL);
	char path[64];
	snprintf(path, sizeof path, "%s/app.db", dir);
	struct buf msg = BUF_INIT(4096);
	const struct migration m[] = {
		{1, "0001_t.sql", "CREATE TABLE t(id INTEGER PRIMARY KEY, who INTEGER, n INTEGER);"},
		/* checked only at COMMIT: a way to make a batch's commit fail */
		{2, "0002_fk.sql", "CREATE TABLE parent(id INTEGER PRIMARY KEY);"
		                   "CREATE TABLE child(parent INTEGER REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED);"}};
	int applied = 0;
	CHECK(db_pool_init(path) == 0);
	CHECK(db_pool_migrate(m, 2, &applied, &msg) == 0 && applied == 2);

	/* many writers at once */
	uint64_t batches0 = db_batches();
	pthread_t th[THREADS];
	struct worker wk[THREADS];
	for (int i = 0; i < THREADS; i++) {
		wk[i] = (struct worker){.who = i + 1};
		CHECK(pthread_create(&th[i], NULL, work, &wk[i]) == 0);
	}
	int acked = 0;
	for (int i = 0; i < THREADS; i++) {
		pthread_join(th[i], NULL);
		CHECK(wk[i].failed == 0);
		CHECK(count(sql_count_who, wk[i].who) == wk[i].acked); /* every acknowledged write, no other */
		acked += wk[i].acked;
	}
	CHECK(acked == THREADS * (ROUNDS - ROUNDS / 10));
	CHECK(count(sql_count_n, 7) == 0); /* the rolled-back ones are gone */
	uint64_t batches = db_batches() - batches0;
	fprintf(stderr, "db: %d transactions in %llu commits\n", acked, (unsigned long long)batches);
	CHECK(batches > 0 && batches < (uint64_t)acked); /* group commit: fewer commits than writes */

	/* savepoints nest: the inner rollback keeps the outer work */
	CHECK(db_begin() == 0);
	CHECK(insert(100, 1000) == 0);
	CHECK(db_begin() == 0);
	CHECK(insert(100, 1001) == 0);
	db_rollback();
	CHECK(db_commit() == 0);
	CHECK(count(sql_count_n, 1000) == 1 && count(sql_count_n, 1001) == 0);

	/* a lone write through db_run is a transaction of its own; a statement that writes,
	 * stepped outside any transaction, is refused (readers are read-only) */
	CHECK(insert(101, 2000) == ERR_DB);
	CHECK(count(sql_count_n, 2000) == 0);
	const char *v[] = {"102", "2001"};
	CHECK(db_run(sql_insert, "test run", 2, v) == 0);
	CHECK(count(sql_count_n, 2001) == 1);

	/* a statement in the middle of its rows survives 300 other statements being prepared
	 * (the cache grows; it never finalizes a statement that may be in use) */
	db_stmt *all = db_prep(sql_all);
	CHECK(all && db_step(all, "all") == DB_ROW);
	long long first = db_col_int(all, 0);
	static char others[300][40];
	for (int i = 0; i < 300; i++) {
		snprintf(others[i], sizeof others[i], "SELECT %d + count(*) FROM t", i);
		db_stmt *st = db_prep(others[i]);
		CHECK(st && db_step(st, "other") == DB_ROW);
		db_done(st);
	}
	CHECK(db_step(all, "all") == DB_ROW && db_col_int(all, 0) >= first);
	db_done(all);

	test_after_commit();

	db_pool_close();
	char f[96];
	const char *suffix[] = {"", "-wal", "-shm"};
	for (int i = 0; i < 3; i++) {
		snprintf(f, sizeof f, "%s%s", path, suffix[i]);
		unlink(f);
	}
	rmdir(dir);
	buf_free(&msg);
	return check_done("db");
}
