/* test/unit/check.c: counters and summary for check.h, and the temporary database of the
 * tests of store functions. */
#include "check.h"

#include <stdlib.h>

#include "core/buf.h"
#include "core/config.h"
#include "store/db.h"

static char dir[64];

int check_failures;
int check_count;

int check_done(const char *name)
{
	printf("%s: %d checks, %d failed\n", name, check_count, check_failures);
	return check_failures ? 1 : 0;
}

void check_db_open(const char *name, bool writer)
{
	snprintf(dir, sizeof dir, "/tmp/app-%s-XXXXXX", name);
	CHECK(mkdtemp(dir) != NULL);
	char path[96];
	snprintf(path, sizeof path, "%s/app.db", dir);
	struct buf msg = BUF_INIT(4096);
	size_t n;
	int applied;
	const struct migration *m = db_schema(&n);
	CHECK(db_pool_init(path) == 0);
	CHECK(db_pool_migrate(m, n, &applied, &msg) == 0);
	if (writer)
		CHECK(db_writer_start() == 0);
	buf_free(&msg);
}

void check_db_close(void)
{
	db_pool_close();
	config_free();
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	CHECK(system(cmd) == 0);
}

long long check_db_count(const char *sql, const char *param)
{
	db_stmt *st = db_prep(sql);
	long long n = -1;
	if (st) {
		db_bind_text(st, 1, param);
		if (db_step(st, "count") == DB_ROW)
			n = db_col_int(st, 0);
		db_done(st);
	}
	return n;
}
