/*
 * rfc3339.c - send_at: an RFC 3339 date-time (5.6) into seconds since the
 * epoch, by arithmetic alone: no time zone database, no locale, no libc
 * time functions whose answers depend on the machine.
 */
#include "compose/compose.h"

#include "util/ascii.h"

/* n digits at s into *out. */
static int
digits(const char *s, size_t n, int *out)
{
	int v = 0;

	for (size_t i = 0; i < n; i++) {
		if (!ascii_isdigit((uint8_t)s[i]))
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

/* Days from 1970-01-01 to y-m-d, proleptic Gregorian (H. Hinnant's days_from_civil). */
static int64_t
days_from_civil(int y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

int
compose_rfc3339(const char *s, size_t len, int64_t *t_out)
{
	static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int y, mo, d, h, mi, sec, oh = 0, om = 0, sign = 0;
	size_t i = 19;

	/* full-date "T" partial-time: 2026-12-24T09:00:00 */
	if (len < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') ||
	    s[13] != ':' || s[16] != ':')
		return -1;
	if (digits(s, 4, &y) == -1 || digits(s + 5, 2, &mo) == -1 || digits(s + 8, 2, &d) == -1 ||
	    digits(s + 11, 2, &h) == -1 || digits(s + 14, 2, &mi) == -1 ||
	    digits(s + 17, 2, &sec) == -1)
		return -1;
	if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] + (mo == 2 && is_leap(y)) ||
	    h > 23 || mi > 59 || sec > 60)
		return -1;
	/* time-secfrac: at least one digit; what is below the second does not matter here */
	if (s[i] == '.') {
		size_t start = ++i;

		while (i < len && ascii_isdigit((uint8_t)s[i]))
			i++;
		if (i == start)
			return -1;
	}
	/* time-offset: Z or +hh:mm / -hh:mm; without one the time means nothing definite */
	if (i < len && (s[i] == 'Z' || s[i] == 'z')) {
		i++;
	} else if (i + 6 <= len && (s[i] == '+' || s[i] == '-') && s[i + 3] == ':') {
		sign = s[i] == '+' ? 1 : -1;
		if (digits(s + i + 1, 2, &oh) == -1 || digits(s + i + 4, 2, &om) == -1 ||
		    oh > 23 || om > 59)
			return -1;
		i += 6;
	} else {
		return -1;
	}
	if (i != len)
		return -1;
	if (sec == 60)
		sec = 59;	/* a leap second: POSIX time has none */
	*t_out = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec -
	    sign * (oh * 3600 + om * 60);
	return 0;
}
