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
#include <sys/stat.h>
#include <time.h>

#include "core/time.h"
#include "core/uuid.h" /* ids and times made by the app's own code, as the app makes them */

#define SCHEMA_MAX (1024 * 1024) /* bytes of one schema file */
#define FINE_US    10000         /* commit times below 10 ms: 1 us buckets */
#define COARSE_MS  10000         /* up to 10 s: 1 ms buckets; slower ones land in the last */

/* The statement app/chat/store.c runs for POST /api/v1/chats, word for word. */
static const char sql_create[] =
    "INSERT INTO chats(id, owner_id, title, model, system_prompt, created_at, updated_at)"
    " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?6)";
/* The account the chats belong to: only the columns the schema requires. */
static const char sql_user[] =
    "INSERT INTO users(id, email, name, created_at, updated_at) VALUES(?1, ?2, 'bench', ?3, ?3)";
static const char sql_count[] = "SELECT count(*) FROM chats";

static uint32_t fine[FINE_US], coarse[COARSE_MS];

static long number(const char *s, long lo, long hi)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return -1;
	return v;
}

static void record(int64_t us)
{
	if (us < FINE_US)
		fine[us < 0 ? 0 : us]++;
	else
		coarse[us / 1000 < COARSE_MS ? us / 1000 : COARSE_MS - 1]++;
}

/* The commit time under which a share P of all commits fell, in microseconds. */
static int64_t percentile(uint64_t total, double p)
{
	uint64_t want = (uint64_t)((double)total * p), seen = 0;
	for (int i = 0; i < FINE_US; i++)
		if ((seen += fine[i]) > want)
			return i;
	for (int i = FINE_US / 1000; i < COARSE_MS; i++)
		if ((seen += coarse[i]) > want)
			return (int64_t)i * 1000;
	return (int64_t)COARSE_MS * 1000;
}

/* A whole schema file run as one script; the caller holds the transaction. */
static int run_schema(sqlite3 *db, const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "bench-rawinsert: cannot open %s: %s\n", path, strerror(errno));
		return -1;
	}
	char *text = malloc(SCHEMA_MAX + 1);
	size_t n = text ? fread(text, 1, SCHEMA_MAX + 1, f) : 0;
	int bad = !text || ferror(f) || n > SCHEMA_MAX;
	fclose(f);
	if (bad) {
		fprintf(stderr, "bench-rawinsert: cannot read %s (or larger than %d bytes)\n", path,
		        SCHEMA_MAX);
		free(text);
		return -1;
	}
	text[n] = '\0';
	char *err = NULL;
	int rc = sqlite3_exec(db, text, NULL, NULL, &err);
	free(text);
	if (rc != SQLITE_OK) {
		fprintf(stderr, "bench-rawinsert: %s: %s\n", path, err ? err : sqlite3_errstr(rc));
		sqlite3_free(err);
		return -1;
	}
	return 0;
}

/* The connection as app/store/db.c opens its own: same flags, limits and pragmas. */
static sqlite3 *open_db(const char *path, const char *sync)
{
	sqlite3 *db = NULL;
	int rc = sqlite3_open_v2(
	    path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK)
		goto fail;
	sqlite3_extended_result_codes(db, 1);
	sqlite3_busy_timeout(db, 5000);
	sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	sqlite3_db_config(db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
	sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0, NULL);
	char pragmas[256];
	snprintf(pragmas, sizeof pragmas,
	         "PRAGMA journal_mode=WAL; PRAGMA foreign_keys=ON; PRAGMA cache_size=-2048;"
	         " PRAGMA temp_store=MEMORY; PRAGMA synchronous=%s;",
	         strcmp(sync, "normal") == 0 ? "NORMAL" : "FULL");
	rc = sqlite3_exec(db, pragmas, NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		goto fail;
	/* journal_mode answers with the mode it got, which is not always the one asked for */
	sqlite3_stmt *st = NULL;
	rc = sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL);
	if (rc == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW &&
	    strcmp((const char *)sqlite3_column_text(st, 0), "wal") != 0) {
		fprintf(stderr, "bench-rawinsert: journal_mode is %s, not wal\n",
		        (const char *)sqlite3_column_text(st, 0));
		rc = SQLITE_ERROR;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_OK)
		goto fail;
	return db;
fail:
	fprintf(stderr, "bench-rawinsert: cannot open %s: %s\n", path,
	        db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
	sqlite3_close_v2(db);
	return NULL;
}

int main(int argc, char **argv)
{
	long secs = argc >= 5 ? number(argv[2], 1, 3600) : -1;
	if (secs < 0 || (strcmp(argv[3], "full") != 0 && strcmp(argv[3], "normal") != 0)) {
		fprintf(stderr, "usage: bench-rawinsert DB SECONDS full|normal SCHEMA.sql...\n");
		return 2;
	}
	struct stat sb;
	if (stat(argv[1], &sb) == 0) {
		fprintf(stderr,
		        "bench-rawinsert: %s exists; the baseline starts from a fresh file\n",
		        argv[1]);
		return 2;
	}
	/* process-wide settings app/store/db.c makes before its first connection */
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	sqlite3_config(SQLITE_CONFIG_PAGECACHE, NULL, 0, 0);
	sqlite3_config(SQLITE_CONFIG_LOOKASIDE, 256, 64);

	sqlite3 *db = open_db(argv[1], argv[3]);
	if (!db)
		return 1;
	sqlite3_stmt *user = NULL, *ins = NULL, *count = NULL;
	int status = 1;
	char owner[UUID_STR_LEN], id[UUID_STR_LEN], now[TIME_RFC3339_LEN];
	if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		goto db_fail;
	for (int i = 4; i < argc; i++)
		if (run_schema(db, argv[i]))
			goto out;
	if (uuid7(owner))
		goto rand_fail;
	time_rfc3339(time_now_us(), now);
	if (sqlite3_prepare_v2(db, sql_user, -1, &user, NULL) != SQLITE_OK)
		goto db_fail;
	sqlite3_bind_text(user, 1, owner, -1, SQLITE_STATIC);
	sqlite3_bind_text(user, 2, "bench@example.test", -1, SQLITE_STATIC);
	sqlite3_bind_text(user, 3, now, -1, SQLITE_STATIC);
	if (sqlite3_step(user) != SQLITE_DONE ||
	    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
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
		record(done - t);
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
	       (long long)percentile(rows, 0.50), (long long)percentile(rows, 0.99), argv[3],
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
