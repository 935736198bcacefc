/* core/uuid.c: UUIDv7 with a per-process monotonic counter. Must never hand out the same
 * id twice or an id smaller than the previous one, even when the clock steps back. */
#include "core/uuid.h"

#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "core/rand.h"
#include "core/time.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t last_ms;
static uint32_t counter; /* 12 bits used */

int uuid7(char *out)
{
	unsigned char b[16];
	if (rand_bytes(b, sizeof b) != 0)
		return ERR_CRYPTO;
	uint64_t now = (uint64_t)(time_now_us() / 1000);
	pthread_mutex_lock(&lock);
	if (now > last_ms) {
		last_ms = now;
		counter = (uint32_t)(b[6] & 0x01) << 8 | b[7]; /* random start, room to count up */
	} else if (++counter > 0xfff) {
		last_ms++; /* borrow from the future rather than repeat */
		counter = 0;
	}
	uint64_t ms = last_ms;
	uint32_t seq = counter;
	pthread_mutex_unlock(&lock);
	for (int i = 0; i < 6; i++)
		b[i] = (unsigned char)(ms >> (40 - 8 * i));
	b[6] = (unsigned char)(0x70 | (seq >> 8));
	b[7] = (unsigned char)seq;
	b[8] = (unsigned char)(0x80 | (b[8] & 0x3f));
	static const char hex[] = "0123456789abcdef";
	char *p = out;
	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			*p++ = '-';
		*p++ = hex[b[i] >> 4];
		*p++ = hex[b[i] & 15];
	}
	*p = '\0';
	return 0;
}

int uuid_check(const char *s)
{
	for (int i = 0; i < 36; i++) {
		char c = s[i];
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (c != '-')
				return ERR_INVAL;
		} else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
			return ERR_INVAL;
		}
	}
	return s[36] == '\0' ? 0 : ERR_INVAL;
}
