/* Unit tests for core/uuid.c and core/time.c: UUIDv7 shape and ordering, RFC 3339. */
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "core/rand.h"
#include "core/time.h"
#include "core/uuid.h"

static void test_uuid(void)
{
	char prev[UUID_STR_LEN] = "", id[UUID_STR_LEN];
	int ordered = 1, wellformed = 1;
	/* many ids within the same milliseconds: the counter keeps them strictly increasing */
	for (int i = 0; i < 100000; i++) {
		if (uuid7(id) != 0) {
			wellformed = 0;
			break;
		}
		if (uuid_check(id) != 0 || id[14] != '7' || !strchr("89ab", id[19]))
			wellformed = 0;
		if (prev[0] && strcmp(prev, id) >= 0)
			ordered = 0;
		memcpy(prev, id, sizeof id);
	}
	CHECK(wellformed);
	CHECK(ordered);
	/* the timestamp is the current time in milliseconds */
	uint64_t ms = 0;
	for (int i = 0, k = 0; k < 12; i++) {
		if (id[i] == '-')
			continue;
		char c = id[i];
		ms = ms * 16 + (uint64_t)(c <= '9' ? c - '0' : c - 'a' + 10);
		k++;
	}
	int64_t now = time_now_us() / 1000;
	CHECK(ms <= (uint64_t)now + 1000 && ms + 60000 > (uint64_t)now);
	CHECK(uuid_check("0190b6d4-8f2a-7c3e-9a1b-2c3d4e5f6a7b") == 0);
	CHECK(uuid_check("0190b6d4-8f2a-7c3e-9a1b-2c3d4e5f6a7") != 0);
	CHECK(uuid_check("0190b6d4x8f2a-7c3e-9a1b-2c3d4e5f6a7b") != 0);
	CHECK(uuid_check("0190b6d4-8f2a-7c3e-9a1b-2c3d4e5f6a7bb") != 0);
}

static void test_time(void)
{
	char s[TIME_RFC3339_LEN];
	time_rfc3339(0, s);
	CHECK_STR(s, "1970-01-01T00:00:00.000Z");
	time_rfc3339(1764000000123456LL, s);
	CHECK_STR(s, "2025-11-24T16:00:00.123Z");
	time_rfc3339(951782400000000LL, s); /* leap day 2000 */
	CHECK_STR(s, "2000-02-29T00:00:00.000Z");
	int64_t us = 0;
	CHECK(time_parse("2025-11-24T16:00:00.123456Z", &us) == 0 && us == 1764000000123456LL);
	CHECK(time_parse("2025-11-24T18:00:00+02:00", &us) == 0 && us == 1764000000000000LL);
	CHECK(time_parse("2025-11-24T11:30:00-04:30", &us) == 0 && us == 1764000000000000LL);
	CHECK(time_parse("2000-02-29T00:00:00Z", &us) == 0 && us == 951782400000000LL);
	CHECK(time_parse("2001-02-29T00:00:00Z", &us) != 0);
	CHECK(time_parse("2025-13-01T00:00:00Z", &us) != 0);
	CHECK(time_parse("2025-11-24T16:00:00", &us) != 0); /* no offset */
	CHECK(time_parse("2025-11-24T16:00:00Zjunk", &us) != 0);
	CHECK(time_parse("2025-11-24T16:00:00.Z", &us) != 0);
	CHECK(time_parse("", &us) != 0);
	/* round trip */
	int64_t now = time_now_us() / 1000 * 1000;
	time_rfc3339(now, s);
	CHECK(time_parse(s, &us) == 0 && us == now);
}

int main(void)
{
	test_uuid();
	test_time();
	rand_shutdown();
	return check_done("uuid");
}
