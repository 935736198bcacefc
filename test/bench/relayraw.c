/* test/bench/relayraw.c: baseline for the relay throughput figure: one thread, one SQLite
 * connection set up as the app sets up its own, storing the relay_queue row a 1 KiB message
 * to an online device costs and deleting it as its ack does, each in its own commit. Must stay
 * bare: no HTTP, no threads, no batching of rows into one transaction, or the ratio app/raw
 * stops measuring what the app's relay path costs.
 * Usage: bench-relayraw DB SECONDS full|normal SCHEMA.sql...   (DB must not exist yet) */
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

#define SCHEMA_MAX  (1024 * 1024) /* bytes of one schema file */
#define FINE_US     10000         /* message times below 10 ms: 1 us buckets */
#define COARSE_MS   10000         /* up to 10 s: 1 ms buckets; slower ones land in the last */
#define PAIRS       500           /* senders and recipients, as many as the app's figure has */
#define CONTENT_LEN 1024          /* one envelope's decoded bytes */

/* The statements app/relay/store.c runs for each recipient device of an accepted message
 * (sql_enqueue) and for the device's ack (sql_ack), word for word. The app's transactions do
 * more (the device check and queue depth before, the delivered event after): that is the
 * app's cost, measured by the ratio, not part of the baseline. */
static const char sql_queue[] = "INSERT INTO relay_queue(user_id, device_id, message_id, "
                                "sender_id, sender_device, envelope_type, content,"
                                " created_at) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) RETURNING seq";
static const char sql_ack[] =
    "DELETE FROM relay_queue WHERE user_id = ?1 AND device_id = ?2 AND message_id = ?3"
    " RETURNING sender_id";
static const char sql_left[] = "SELECT count(*), (SELECT seq FROM sqlite_sequence"
                               " WHERE name = 'relay_queue') FROM relay_queue";

static uint32_t fine[FINE_US], coarse[COARSE_MS];
static char users[2 * PAIRS][UUID_STR_LEN]; /* recipients first, then their senders */

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

/* The time under which a share P of all messages fell, in microseconds. */
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
		fprintf(stderr, "bench-relayraw: cannot open %s: %s\n", path, strerror(errno));
		return -1;
	}
	char *text = malloc(SCHEMA_MAX + 1);
	size_t n = text ? fread(text, 1, SCHEMA_MAX + 1, f) : 0;
	int bad = !text || ferror(f) || n > SCHEMA_MAX;
	fclose(f);
	if (bad) {
		fprintf(stderr, "bench-relayraw: cannot read %s (or larger than %d bytes)\n", path,
		        SCHEMA_MAX);
		free(text);
		return -1;
	}
	text[n] = '\0';
	char *err = NULL;
	int rc = sqlite3_exec(db, text, NULL, NULL, &err);
	free(text);
	if (rc != SQLITE_OK) {
		fprintf(stderr, "bench-relayraw: %s: %s\n", path, err ? err : sqlite3_errstr(rc));
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
		fprintf(stderr, "bench-relayraw: journal_mode is %s, not wal\n",
		        (const char *)sqlite3_column_text(st, 0));
		rc = SQLITE_ERROR;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_OK)
		goto fail;
	return db;
fail:
	fprintf(stderr, "bench-relayraw: cannot open %s: %s\n", path,
	        db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
	sqlite3_close_v2(db);
	return NULL;
}

/* One statement run to its end in autocommit (its own transaction, its own commit): the
 * rows it returned, or -1. */
static int step_all(sqlite3_stmt *st)
{
	int rc, rows = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		rows++;
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_DONE ? rows : -1;
}

int main(int argc, char **argv)
{
	long secs = argc >= 5 ? number(argv[2], 1, 3600) : -1;
	if (secs < 0 || (strcmp(argv[3], "full") != 0 && strcmp(argv[3], "normal") != 0)) {
		fprintf(stderr, "usage: bench-relayraw DB SECONDS full|normal SCHEMA.sql...\n");
		return 2;
	}
	struct stat sb;
	if (stat(argv[1], &sb) == 0) {
		fprintf(stderr,
		        "bench-relayraw: %s exists; the baseline starts from a fresh file\n",
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
	sqlite3_stmt *queue = NULL, *ack = NULL, *left = NULL;
	int status = 1;
	char id[UUID_STR_LEN], now[TIME_RFC3339_LEN];
	unsigned char content[CONTENT_LEN];
	if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		goto db_fail;
	for (int i = 4; i < argc; i++)
		if (run_schema(db, argv[i]))
			goto out;
	if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		goto db_fail;
	/* relay_queue has no foreign key: its user ids need no users rows */
	for (int i = 0; i < 2 * PAIRS; i++)
		if (uuid7(users[i]))
			goto rand_fail;
	/* opaque bytes, as an encrypted envelope is to the server */
	for (int i = 0; i < CONTENT_LEN; i++)
		content[i] = (unsigned char)(i * 131 + 7);

	/* prepared once and reset after each row, as the app's statement cache does */
	if (sqlite3_prepare_v3(db, sql_queue, -1, SQLITE_PREPARE_PERSISTENT, &queue, NULL) !=
	        SQLITE_OK ||
	    sqlite3_prepare_v3(db, sql_ack, -1, SQLITE_PREPARE_PERSISTENT, &ack, NULL) != SQLITE_OK)
		goto db_fail;
	uint64_t msgs = 0;
	int64_t start = time_mono_us(), end = start + secs * 1000000, t = start;
	while (t < end) {
		const char *to = users[msgs % PAIRS], *from = users[PAIRS + msgs % PAIRS];
		if (uuid7(id))
			goto rand_fail;
		time_rfc3339(time_now_us(), now);
		content[0] = (unsigned char)msgs; /* no two envelopes alike */
		sqlite3_bind_text(queue, 1, to, -1, SQLITE_STATIC);
		sqlite3_bind_int(queue, 2, 1);
		sqlite3_bind_text(queue, 3, id, -1, SQLITE_STATIC);
		sqlite3_bind_text(queue, 4, from, -1, SQLITE_STATIC);
		sqlite3_bind_int(queue, 5, 1);
		sqlite3_bind_int(queue, 6, 1);
		sqlite3_bind_blob(queue, 7, content, CONTENT_LEN, SQLITE_STATIC);
		sqlite3_bind_text(queue, 8, now, -1, SQLITE_STATIC);
		if (step_all(queue) != 1)
			goto db_fail;
		sqlite3_bind_text(ack, 1, to, -1, SQLITE_STATIC);
		sqlite3_bind_int(ack, 2, 1);
		sqlite3_bind_text(ack, 3, id, -1, SQLITE_STATIC);
		int acked = step_all(ack);
		if (acked < 0)
			goto db_fail;
		if (acked != 1) {
			fprintf(stderr, "bench-relayraw: the ack of %s deleted %d rows\n", id,
			        acked);
			goto out;
		}
		int64_t done = time_mono_us();
		record(done - t);
		t = done;
		msgs++;
	}
	double elapsed = (double)(t - start) / 1e6;

	/* every message stored was deleted, and as many were stored as claimed */
	if (sqlite3_prepare_v2(db, sql_left, -1, &left, NULL) != SQLITE_OK ||
	    sqlite3_step(left) != SQLITE_ROW)
		goto db_fail;
	if (sqlite3_column_int64(left, 0) != 0 || (uint64_t)sqlite3_column_int64(left, 1) != msgs) {
		fprintf(stderr, "bench-relayraw: %llu messages, %lld rows left, last seq %lld\n",
		        (unsigned long long)msgs, (long long)sqlite3_column_int64(left, 0),
		        (long long)sqlite3_column_int64(left, 1));
		goto out;
	}
	printf("messages %llu seconds %.3f messages_per_s %.1f message_p50_us %lld "
	       "message_p99_us %lld synchronous %s sqlite %s\n",
	       (unsigned long long)msgs, elapsed, (double)msgs / elapsed,
	       (long long)percentile(msgs, 0.50), (long long)percentile(msgs, 0.99), argv[3],
	       sqlite3_libversion());
	status = 0;
	goto out;
rand_fail:
	fprintf(stderr, "bench-relayraw: getrandom failed: %s\n", strerror(errno));
	goto out;
db_fail:
	fprintf(stderr, "bench-relayraw: %s\n", sqlite3_errmsg(db));
out:
	sqlite3_finalize(queue);
	sqlite3_finalize(ack);
	sqlite3_finalize(left);
	if (sqlite3_close(db) != SQLITE_OK)
		status = 1;
	return status;
}
