/*
 * rfc3339.c - date-time = full-date "T" full-time (RFC 3339 5.6), read
 * strictly: fixed digit counts, field ranges checked (the day against its
 * month and leap years), a zone always given.
 */
#include "util/rfc3339.h"

#include <stdio.h>
#include <time.h>

static int
digits(const char *s, size_t n, int *out)
{
	int v = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

static int
is_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Days from 1970-01-01 to y-m-d (the civil calendar). */
static int64_t
days_from_civil(int y, int m, int d)
{
	static const int before[] = { 0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334 };
	int64_t days = 0;

	for (int k = 1970; k < y; k++)
		days += is_leap(k) ? 366 : 365;
	days += before[m - 1] + (m > 2 && is_leap(y)) + d - 1;
	return days;
}

int
rfc3339_parse(const char *s, size_t len, int64_t *t_out)
{
	static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int y, mo, d, h, mi, sec, oh = 0, om = 0, sign = 0;
	size_t i = 19;

	if (len < 20 || digits(s, 4, &y) == -1 || s[4] != '-' || digits(s + 5, 2, &mo) == -1 ||
	    s[7] != '-' || digits(s + 8, 2, &d) == -1 || (s[10] != 'T' && s[10] != 't') ||
	    digits(s + 11, 2, &h) == -1 || s[13] != ':' || digits(s + 14, 2, &mi) == -1 ||
	    s[16] != ':' || digits(s + 17, 2, &sec) == -1)
		return -1;
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 ||
	    d > mdays[mo - 1] + (mo == 2 && is_leap(y)) || h > 23 || mi > 59 || sec > 60)
		return -1;
	if (s[i] == '.') {
		size_t start = ++i;

		while (i < len && s[i] >= '0' && s[i] <= '9')
			i++;
		if (i == start)
			return -1;
	}
	if (i < len && (s[i] == 'Z' || s[i] == 'z') && i + 1 == len) {
		sign = 0;
	} else if (i + 6 == len && (s[i] == '+' || s[i] == '-') &&
	    digits(s + i + 1, 2, &oh) == 0 && s[i + 3] == ':' && digits(s + i + 4, 2, &om) == 0 &&
	    oh <= 23 && om <= 59) {
		sign = s[i] == '+' ? 1 : -1;
	} else {
		return -1;
	}
	if (sec == 60)
		sec = 59;	/* a leap second: the second before it, as POSIX time has none */
	*t_out = ((days_from_civil(y, mo, d) * 24 + h) * 60 + mi) * 60 + sec -
	    sign * (oh * 3600 + om * 60);
	return 0;
}

void
rfc3339_format(int64_t t, char out[32])
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL || strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		out[0] = '\0';
}

void
rfc3339_format_ms(uint64_t us, char out[32])
{
	time_t tt = (time_t)(us / 1000000u);
	struct tm tm;
	size_t n;

	if (gmtime_r(&tt, &tm) == NULL || (n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm)) == 0) {
		out[0] = '\0';
		return;
	}
	(void)snprintf(out + n, 32 - n, ".%03uZ", (unsigned)(us / 1000u % 1000u));
}

int
rfc3339_parse_us(const char *s, size_t len, uint64_t *us_out)
{
	int64_t t;
	uint64_t frac = 0, scale = 1000000u;

	if (rfc3339_parse(s, len, &t) == -1)
		return -1;
	/* "YYYY-MM-DDThh:mm:ss" is 19 bytes; the fraction's first digits are the microseconds */
	if (len > 19 && s[19] == '.')
		for (size_t i = 20; i < len && s[i] >= '0' && s[i] <= '9'; i++)
			if (scale > 1) {
				scale /= 10;
				frac += (uint64_t)(s[i] - '0') * scale;
			}
	*us_out = (uint64_t)t * 1000000u + frac;
	return 0;
}
