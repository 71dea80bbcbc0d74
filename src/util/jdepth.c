/*
 * jdepth.c - the nesting of JSON text, counted without parsing it: one
 * pass, a counter and the state of a string (inside it, after a backslash).
 */
#include "util/jdepth.h"

int
jdepth_ok(const uint8_t *p, size_t n, unsigned max)
{
	unsigned depth = 0;
	int is_str = 0, is_esc = 0;

	for (size_t i = 0; i < n; i++) {
		uint8_t c = p[i];

		if (is_str) {
			if (is_esc)
				is_esc = 0;
			else if (c == '\\')
				is_esc = 1;
			else if (c == '"')
				is_str = 0;
		} else if (c == '"') {
			is_str = 1;
		} else if (c == '[' || c == '{') {
			if (++depth > max)
				return 0;
		} else if ((c == ']' || c == '}') && depth > 0) {
			depth--;
		}
	}
	return 1;
}
