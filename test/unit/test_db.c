/* Unit tests for store/db.c's writer and statement cache: many threads writing at once all
 * get their turn in order, each acknowledged write is kept and each rolled-back one is gone,
 * several transactions share a commit (group commit), savepoints nest, a lone write is its
 * own transaction while a write that bypasses the writer is refused, and a statement being stepped survives hundreds of others prepared. */
#include <pthread.h>
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

int main(void)
{
	char dir[] = "/tmp/app-db-XXXXXX";
	CHECK(mkdtemp(dir) != NULL);
	char path[64];
	snprintf(path, sizeof path, "%s/app.db", dir);
	struct buf msg = BUF_INIT(4096);
	const struct migration m[] = {{1, "0001_t.sql", "CREATE TABLE t(id INTEGER PRIMARY KEY, who INTEGER, n INTEGER);"}};
	int applied = 0;
	CHECK(db_pool_init(path) == 0);
	CHECK(db_pool_migrate(m, 1, &applied, &msg) == 0 && applied == 1);

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
