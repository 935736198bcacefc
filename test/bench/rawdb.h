/* test/bench/rawdb.h: what the bare SQLite baselines (rawinsert.c, relayraw.c) share: their
 * command line, a fresh database opened and migrated as app/store/db.c does it, and a
 * histogram of per-operation times. Nothing here may batch, thread or cache what the app does
 * not, or the ratios stop measuring the app. */
#ifndef BENCH_RAWDB_H
#define BENCH_RAWDB_H

#include <sqlite3.h>
#include <stdint.h>

/* From argv (NAME DB SECONDS full|normal SCHEMA.sql..., DB must not exist): the process-wide
 * settings the app makes, the connection opened as the app opens its own, the schema run in
 * one transaction. *db and *seconds on success; otherwise the reason is printed and the
 * exit status returned (2: usage, 1: failure). name prefixes messages. */
int rawdb_open(const char *name, int argc, char **argv, sqlite3 **db, long *seconds);

/* The time of one operation, in microseconds; the time under which a share p of them fell. */
void rawdb_record(int64_t us);
int64_t rawdb_percentile(uint64_t total, double p);

#endif
