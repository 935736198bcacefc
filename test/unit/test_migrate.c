/* Unit tests for store/db.c's migrations: fresh database, re-run, a failing migration
 * rolled back whole, a renamed migration and a newer database refused. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "store/db.h"

static int count_rows(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;
	int n = -1;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return n;
}

int main(void)
{
	char dir[] = "/tmp/app-migrate-XXXXXX";
	CHECK(mkdtemp(dir) != NULL);
	char path[64];
	snprintf(path, sizeof path, "%s/app.db", dir);
	struct buf msg = BUF_INIT(4096);
	sqlite3 *db = NULL;
	CHECK(db_open(path, &db, &msg) == 0);
	CHECK(count_rows(db, "SELECT count(*) FROM pragma_journal_mode WHERE journal_mode='wal'") == 1);
	CHECK(count_rows(db, "PRAGMA foreign_keys") == 1);

	const struct migration v1[] = {
		{1, "0001_a.sql", "CREATE TABLE a(x INTEGER);"},
		{2, "0002_b.sql", "CREATE TABLE b(y INTEGER); INSERT INTO b VALUES (1);"},
	};
	int applied = -1;
	CHECK(db_migrate(db, v1, 2, &applied, &msg) == 0 && applied == 2);
	CHECK(count_rows(db, "SELECT count(*) FROM schema_migrations") == 2);
	/* re-run: nothing new */
	CHECK(db_migrate(db, v1, 2, &applied, &msg) == 0 && applied == 0);
	CHECK(count_rows(db, "SELECT count(*) FROM b") == 1);

	/* a failing migration leaves nothing behind, and the ones before it stay */
	const struct migration v2[] = {
		v1[0], v1[1],
		{3, "0003_c.sql", "CREATE TABLE c(z INTEGER); INSERT INTO nowhere VALUES (1);"},
	};
	buf_reset(&msg);
	CHECK(db_migrate(db, v2, 3, &applied, &msg) == ERR_DB);
	CHECK(strstr(buf_str(&msg), "0003_c.sql") != NULL);
	CHECK(count_rows(db, "SELECT count(*) FROM sqlite_master WHERE name='c'") == 0);
	CHECK(count_rows(db, "SELECT max(version) FROM schema_migrations") == 2);

	/* the same version under another name is refused */
	const struct migration renamed[] = {v1[0], {2, "0002_other.sql", "SELECT 1;"}};
	buf_reset(&msg);
	CHECK(db_migrate(db, renamed, 2, &applied, &msg) == ERR_INVAL);
	CHECK(strstr(buf_str(&msg), "0002_b.sql") != NULL);

	/* a binary that knows less than the database refuses it */
	buf_reset(&msg);
	CHECK(db_migrate(db, v1, 1, &applied, &msg) == ERR_INVAL);
	CHECK(strstr(buf_str(&msg), "newer") != NULL);

	/* the embedded schema applies to a fresh database */
	sqlite3_close_v2(db);
	unlink(path);
	CHECK(db_open(path, &db, &msg) == 0);
	size_t n;
	const struct migration *m = db_schema(&n);
	CHECK(n >= 1 && m[0].version == 1 && strcmp(m[0].name, "0001_init.sql") == 0);
	CHECK(db_migrate(db, m, n, &applied, &msg) == 0 && applied == (int)n);
	CHECK(count_rows(db, "SELECT count(*) FROM sqlite_master WHERE name='instance'") == 1);
	sqlite3_close_v2(db);

	buf_free(&msg);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	CHECK(system(cmd) == 0);
	return check_done("migrate");
}
