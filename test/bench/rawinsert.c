/* test/bench/rawinsert.c: baseline for the write figures: one thread, one SQLite connection
 * set up as the app sets up its own, inserting the row POST /api/v1/chats inserts, one commit
 * per row. Must stay bare: no HTTP, no threads, no batching of rows into one transaction, or
 * the ratio app/raw stops measuring what the app's write path costs.
 * Usage: bench-rawinsert DB SECONDS full|normal SCHEMA.sql...   (DB must not exist yet) */
#include <errno.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/time.h"
#include "core/uuid.h" /* ids and times made by the app's own code, as the app makes them */
#include "rawdb.h"

/* The statement app/chat/store.c runs for POST /api/v1/chats, word for word. */
static const char sql_create[] =
    "INSERT INTO chats(id, owner_id, title, model, system_prompt, created_at, updated_at)"
    " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?6)";
/* The account the chats belong to: only the columns the schema requires. */
static const char sql_user[] =
    "INSERT INTO users(id, email, name, created_at, updated_at) VALUES(?1, ?2, 'bench', ?3, ?3)";
static const char sql_count[] = "SELECT count(*) FROM chats";

int main(int argc, char **argv)
{
	sqlite3 *db;
	long secs;
	int open_rc = rawdb_open("bench-rawinsert", argc, argv, &db, &secs);
	if (open_rc)
		return open_rc;
	sqlite3_stmt *user = NULL, *ins = NULL, *count = NULL;
	int status = 1;
	char owner[UUID_STR_LEN], id[UUID_STR_LEN], now[TIME_RFC3339_LEN];
	if (uuid7(owner))
		goto rand_fail;
	time_rfc3339(time_now_us(), now);
	if (sqlite3_prepare_v2(db, sql_user, -1, &user, NULL) != SQLITE_OK)
		goto db_fail;
	sqlite3_bind_text(user, 1, owner, -1, SQLITE_STATIC);
	sqlite3_bind_text(user, 2, "bench@example.test", -1, SQLITE_STATIC);
	sqlite3_bind_text(user, 3, now, -1, SQLITE_STATIC);
	if (sqlite3_step(user) != SQLITE_DONE)
		goto db_fail;

	/* prepared once and reset after each row, as the app's statement cache does */
	if (sqlite3_prepare_v3(db, sql_create, -1, SQLITE_PREPARE_PERSISTENT, &ins, NULL) !=
	    SQLITE_OK)
		goto db_fail;
	uint64_t rows = 0;
	int64_t start = time_mono_us(), end = start + secs * 1000000, t = start;
	while (t < end) {
		if (uuid7(id))
			goto rand_fail;
		time_rfc3339(time_now_us(), now);
		/* ?4 model and ?5 system_prompt stay NULL, as for a body of {"title":"bench"} */
		sqlite3_bind_text(ins, 1, id, -1, SQLITE_STATIC);
		sqlite3_bind_text(ins, 2, owner, -1, SQLITE_STATIC);
		sqlite3_bind_text(ins, 3, "bench", -1, SQLITE_STATIC);
		sqlite3_bind_text(ins, 6, now, -1, SQLITE_STATIC);
		int rc = sqlite3_step(ins);
		sqlite3_reset(ins);
		sqlite3_clear_bindings(ins);
		if (rc != SQLITE_DONE)
			goto db_fail;
		int64_t done = time_mono_us();
		rawdb_record(done - t);
		t = done;
		rows++;
	}
	double elapsed = (double)(t - start) / 1e6;

	/* the rows claimed must be the rows stored */
	if (sqlite3_prepare_v2(db, sql_count, -1, &count, NULL) != SQLITE_OK ||
	    sqlite3_step(count) != SQLITE_ROW)
		goto db_fail;
	if ((uint64_t)sqlite3_column_int64(count, 0) != rows) {
		fprintf(stderr, "bench-rawinsert: inserted %llu rows, the table holds %lld\n",
		        (unsigned long long)rows, (long long)sqlite3_column_int64(count, 0));
		goto out;
	}
	printf("rows %llu seconds %.3f rows_per_s %.1f commit_p50_us %lld commit_p99_us %lld "
	       "synchronous %s sqlite %s\n",
	       (unsigned long long)rows, elapsed, (double)rows / elapsed,
	       (long long)rawdb_percentile(rows, 0.50), (long long)rawdb_percentile(rows, 0.99), argv[3],
	       sqlite3_libversion());
	status = 0;
	goto out;
rand_fail:
	fprintf(stderr, "bench-rawinsert: getrandom failed: %s\n", strerror(errno));
	goto out;
db_fail:
	fprintf(stderr, "bench-rawinsert: %s\n", sqlite3_errmsg(db));
out:
	sqlite3_finalize(user);
	sqlite3_finalize(ins);
	sqlite3_finalize(count);
	if (sqlite3_close(db) != SQLITE_OK)
		status = 1;
	return status;
}
