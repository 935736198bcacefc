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
#include <time.h>

#include "core/time.h"
#include "core/uuid.h" /* ids and times made by the app's own code, as the app makes them */
#include "rawdb.h"

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

static char users[2 * PAIRS][UUID_STR_LEN]; /* recipients first, then their senders */

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
	sqlite3 *db;
	long secs;
	int open_rc = rawdb_open("bench-relayraw", argc, argv, &db, &secs);
	if (open_rc)
		return open_rc;
	sqlite3_stmt *queue = NULL, *ack = NULL, *left = NULL;
	int status = 1;
	char id[UUID_STR_LEN], now[TIME_RFC3339_LEN];
	unsigned char content[CONTENT_LEN];
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
		rawdb_record(done - t);
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
	       (long long)rawdb_percentile(msgs, 0.50), (long long)rawdb_percentile(msgs, 0.99), argv[3],
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
