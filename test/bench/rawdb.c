/* test/bench/rawdb.c: the baselines' shared setup and histogram (see rawdb.h). */
#include "rawdb.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define SCHEMA_MAX (1024 * 1024) /* bytes of one schema file */
#define FINE_US    10000         /* times below 10 ms: 1 us buckets */
#define COARSE_MS  10000         /* up to 10 s: 1 ms buckets; slower ones land in the last */

static uint32_t fine[FINE_US], coarse[COARSE_MS];
static const char *who = "bench";

void rawdb_record(int64_t us)
{
	if (us < FINE_US)
		fine[us < 0 ? 0 : us]++;
	else
		coarse[us / 1000 < COARSE_MS ? us / 1000 : COARSE_MS - 1]++;
}

int64_t rawdb_percentile(uint64_t total, double p)
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

static long number(const char *s, long lo, long hi)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return -1;
	return v;
}

/* A whole schema file run as one script; the caller holds the transaction. */
static int run_schema(sqlite3 *db, const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "%s: cannot open %s: %s\n", who, path, strerror(errno));
		return -1;
	}
	char *text = malloc(SCHEMA_MAX + 1);
	size_t n = text ? fread(text, 1, SCHEMA_MAX + 1, f) : 0;
	int bad = !text || ferror(f) || n > SCHEMA_MAX;
	fclose(f);
	if (bad) {
		fprintf(stderr, "%s: cannot read %s (or larger than %d bytes)\n", who, path, SCHEMA_MAX);
		free(text);
		return -1;
	}
	text[n] = '\0';
	char *err = NULL;
	int rc = sqlite3_exec(db, text, NULL, NULL, &err);
	free(text);
	if (rc != SQLITE_OK) {
		fprintf(stderr, "%s: %s: %s\n", who, path, err ? err : sqlite3_errstr(rc));
		sqlite3_free(err);
		return -1;
	}
	return 0;
}

/* The connection as app/store/db.c opens its own: same flags, limits and pragmas. */
static sqlite3 *open_db(const char *path, const char *sync)
{
	sqlite3 *db = NULL;
	int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
	                         NULL);
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
		fprintf(stderr, "%s: journal_mode is %s, not wal\n", who, (const char *)sqlite3_column_text(st, 0));
		rc = SQLITE_ERROR;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_OK)
		goto fail;
	return db;
fail:
	fprintf(stderr, "%s: cannot open %s: %s\n", who, path, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
	sqlite3_close_v2(db);
	return NULL;
}

int rawdb_open(const char *name, int argc, char **argv, sqlite3 **out, long *seconds)
{
	who = name;
	long secs = argc >= 5 ? number(argv[2], 1, 3600) : -1;
	if (secs < 0 || (strcmp(argv[3], "full") != 0 && strcmp(argv[3], "normal") != 0)) {
		fprintf(stderr, "usage: %s DB SECONDS full|normal SCHEMA.sql...\n", name);
		return 2;
	}
	struct stat sb;
	if (stat(argv[1], &sb) == 0) {
		fprintf(stderr, "%s: %s exists; the baseline starts from a fresh file\n", name, argv[1]);
		return 2;
	}
	/* process-wide settings app/store/db.c makes before its first connection */
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	sqlite3_config(SQLITE_CONFIG_PAGECACHE, NULL, 0, 0);
	sqlite3_config(SQLITE_CONFIG_LOOKASIDE, 256, 64);
	sqlite3 *db = open_db(argv[1], argv[3]);
	if (!db)
		return 1;
	int bad = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK;
	for (int i = 4; !bad && i < argc; i++)
		bad = run_schema(db, argv[i]) != 0;
	if (!bad && sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		fprintf(stderr, "%s: %s\n", name, sqlite3_errmsg(db));
		bad = 1;
	}
	if (bad) {
		sqlite3_close_v2(db);
		return 1;
	}
	*out = db;
	*seconds = secs;
	return 0;
}
