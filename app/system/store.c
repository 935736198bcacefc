/* system/store.c: every SQL statement on the instance row, through store/db.h's
 * engine-neutral calls only. Must never write outside system_instance_boot: the health probe
 * is a read, so a flood of health checks never queues behind writers. */
#include <string.h>

#include "store/db.h"
#include "system/internal.h"

static const char sql_instance[] = "SELECT instance_id FROM instance WHERE id = 1";
static const char sql_create[] =
	"INSERT INTO instance(id, instance_id, created_at) VALUES(1, ?1, ?2) ON CONFLICT DO NOTHING";
static const char sql_boot[] = "UPDATE instance SET boot_count = boot_count + 1 WHERE id = 1";

/* Reads the installation's id into out; inside or outside a transaction. */
static int instance_id(char *out, size_t cap)
{
	db_stmt *st = db_prep(sql_instance);
	if (!st)
		return ERR_DB;
	int rc = db_step(st, "instance");
	const char *id = rc == DB_ROW ? db_col(st, 0) : NULL;
	size_t n = id ? strlen(id) : 0;
	if (n > 0 && n < cap)
		memcpy(out, id, n + 1);
	db_done(st);
	return n > 0 && n < cap ? 0 : rc < 0 ? rc : ERR_DB;
}

int system_instance_boot(const char *new_id, const char *now, char *out, size_t cap)
{
	const char *v[] = {new_id, now};
	int rc = db_begin();
	if (rc)
		return rc;
	rc = db_run(sql_create, "instance create", 2, v);
	if (!rc)
		rc = db_run(sql_boot, "instance boot", 0, NULL);
	/* read inside the transaction: it sees the row just created */
	if (!rc)
		rc = instance_id(out, cap);
	if (!rc)
		rc = db_commit();
	if (rc)
		db_rollback();
	return rc;
}

int system_db_ping(void)
{
	db_stmt *st = db_prep(sql_instance);
	if (!st)
		return ERR_DB;
	int rc = db_step(st, "health");
	db_done(st);
	return rc == DB_ROW ? 0 : rc < 0 ? rc : ERR_DB;
}
