/*
 * ascii.c - ASCII comparisons and number parsing for protocol text.
 */
#include "ascii.h"

#include <string.h>

int
ascii_casen_eq(const void *a, const void *b, size_t n)
{
	const uint8_t *x = a, *y = b;

	for (size_t i = 0; i < n; i++)
		if (ascii_tolower(x[i]) != ascii_tolower(y[i]))
			return 0;
	return 1;
}

int
slice_caseeq(struct slice s, const char *kw)
{
	size_t n = strlen(kw);

	return s.len == n && ascii_casen_eq(s.p, kw, n);
}

int
ascii_has_8bit(const void *p, size_t n)
{
	const uint8_t *s = p;

	for (size_t i = 0; i < n; i++)
		if (s[i] >= 0x80)
			return 1;
	return 0;
}

void
ascii_lower(char *s)
{
	for (; *s; s++)
		*s = (char)ascii_tolower((uint8_t)*s);
}

int
ascii_parse_u64(struct slice s, uint64_t *out)
{
	uint64_t v = 0;

	if (s.len == 0)
		return -1;
	for (size_t i = 0; i < s.len; i++) {
		uint8_t c = s.p[i];

		if (!ascii_isdigit(c))
			return -1;
		/* SIZE=99999999999999999999 must not wrap */
		if (v > (UINT64_MAX - (uint64_t)(c - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(c - '0');
	}
	*out = v;
	return 0;
}
