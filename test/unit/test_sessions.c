/* Unit tests for auth/sessions.c's revoked set, which every authenticated request asks: ids
 * are refused until their time, others never; the table grows, purges what expired, and
 * refuses to hold more than its bound (the caller then signs the person out everywhere). */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "auth/internal.h"
#include "check.h"

#define MAX 65536 /* REVOKED_MAX */

/* A 36-character id, distinct per n and tag. */
static const char *sid(char out[37], char tag, long n)
{
	snprintf(out, 37, "%c%07lx-0000-7000-8000-%012lx", tag, n & 0xfffffff, n);
	return out;
}

int main(void)
{
	char id[37];
	int64_t now = time(NULL);
	CHECK(!revoked_has(sid(id, 'a', 1), now));

	for (long n = 0; n < 1000; n++)
		CHECK(revoked_add(sid(id, 'a', n), now + 100) == 0);
	int found = 0, stray = 0;
	for (long n = 0; n < 1000; n++) {
		found += revoked_has(sid(id, 'a', n), now);
		stray += revoked_has(sid(id, 'b', n), now);
	}
	CHECK(found == 1000);
	CHECK(stray == 0);
	/* refused until its time, not after */
	CHECK(revoked_has(sid(id, 'a', 7), now + 99));
	CHECK(!revoked_has(sid(id, 'a', 7), now + 100));
	/* adding again never shortens a refusal */
	CHECK(revoked_add(sid(id, 'a', 7), now + 10) == 0);
	CHECK(revoked_has(sid(id, 'a', 7), now + 50));
	CHECK(revoked_add(sid(id, 'a', 7), now + 500) == 0);
	CHECK(revoked_has(sid(id, 'a', 7), now + 400));
	/* ids we never issue (not 36 characters) are never held */
	CHECK(revoked_add("short", now + 100) == 0);
	CHECK(!revoked_has("short", now));
	revoked_free();
	CHECK(!revoked_has(sid(id, 'a', 1), now));

	/* expired entries make room: far more than the bound come and go */
	for (long n = 0; n < 3 * MAX; n++)
		if (revoked_add(sid(id, 'c', n), now - 1) != 0) {
			CHECK(!"an expired entry kept a live one out");
			break;
		}
	CHECK(revoked_add(sid(id, 'd', 1), now + 100) == 0);
	CHECK(revoked_has(sid(id, 'd', 1), now));
	CHECK(!revoked_has(sid(id, 'c', 5), now));
	revoked_free();

	/* live ones up to the bound, then a clear refusal; those held stay held */
	long held = 0;
	for (long n = 0; n < MAX + 10; n++) {
		int rc = revoked_add(sid(id, 'e', n), now + 100);
		if (rc) {
			CHECK(rc == ERR_TOOBIG);
			break;
		}
		held++;
	}
	CHECK(held == MAX);
	CHECK(revoked_has(sid(id, 'e', 0), now) && revoked_has(sid(id, 'e', MAX - 1), now));
	CHECK(!revoked_has(sid(id, 'e', MAX), now));
	revoked_free();
	return check_done("sessions");
}
