/* core/time.c: clocks and RFC 3339. Must never depend on the process's time zone:
 * everything is computed in UTC by hand. */
#include "core/time.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

int64_t time_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t time_mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

void time_rfc3339(int64_t unix_us, char *out)
{
	int64_t ms = unix_us >= 0 ? unix_us / 1000 : -((-unix_us + 999) / 1000);
	int64_t secs = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
	int64_t days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
	int64_t rem = secs - days * 86400;
	int64_t y;
	int m, d;
	civil_from_days(days, &y, &m, &d);
	if (y < 0 || y > 9999)
		y = y < 0 ? 0 : 9999;
	/* plain digits: this runs for every log line, printf would dominate it */
	int fields[] = {(int)y, m, d, (int)(rem / 3600), (int)(rem / 60 % 60), (int)(rem % 60),
	                (int)(ms - secs * 1000)};
	static const int widths[] = {4, 2, 2, 2, 2, 2, 3};
	static const char seps[] = "--T::.Z";
	char *p = out;
	for (int f = 0; f < 7; f++) {
		for (int k = widths[f] - 1, v = fields[f]; k >= 0; k--, v /= 10)
			p[k] = (char)('0' + v % 10);
		p += widths[f];
		*p++ = seps[f];
	}
	*p = '\0';
}

static int digits(const char **s, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		char c = (*s)[i];
		if (c < '0' || c > '9')
			return ERR_INVAL;
		v = v * 10 + (c - '0');
	}
	*s += n;
	*out = v;
	return 0;
}

static int expect(const char **s, const char *set)
{
	if (**s && strchr(set, **s)) {
		(*s)++;
		return 0;
	}
	return ERR_INVAL;
}

int time_parse(const char *s, int64_t *unix_us)
{
	int y, mo, d, h, mi, se, frac_us = 0;
	if (digits(&s, 4, &y) || expect(&s, "-") || digits(&s, 2, &mo) || expect(&s, "-") ||
	    digits(&s, 2, &d) || expect(&s, "Tt ") || digits(&s, 2, &h) || expect(&s, ":") ||
	    digits(&s, 2, &mi) || expect(&s, ":") || digits(&s, 2, &se))
		return ERR_INVAL;
	static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || (mo == 2 && d == 29 && !leap) ||
	    h > 23 || mi > 59 || se > 60)
		return ERR_INVAL;
	if (*s == '.') {
		s++;
		int n = 0;
		while (*s >= '0' && *s <= '9') {
			if (n < 6)
				frac_us = frac_us * 10 + (*s - '0');
			n++;
			s++;
		}
		if (n == 0)
			return ERR_INVAL;
		for (; n < 6; n++)
			frac_us *= 10;
	}
	int offset_min = 0;
	if (*s == 'Z' || *s == 'z') {
		s++;
	} else if (*s == '+' || *s == '-') {
		int sign = *s == '-' ? -1 : 1, oh, om;
		s++;
		if (digits(&s, 2, &oh) || expect(&s, ":") || digits(&s, 2, &om) || oh > 23 || om > 59)
			return ERR_INVAL;
		offset_min = sign * (oh * 60 + om);
	} else {
		return ERR_INVAL;
	}
	if (*s)
		return ERR_INVAL;
	if (se == 60)
		se = 59; /* a leap second is read as the second before it */
	int64_t secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se - offset_min * 60;
	*unix_us = secs * 1000000 + frac_us;
	return 0;
}
