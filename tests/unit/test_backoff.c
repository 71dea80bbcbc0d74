/*
 * test_backoff.c - retry maths (src/sched/backoff.c): min_s doubling from
 * the first failed attempt, capped at max_s, with no overflow for any
 * attempt count or bound.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>

#include "sched/backoff.h"

static const struct {
	unsigned attempts, min_s, max_s, want;
} cases[] = {
	{ 1, 300, 3600, 300 },
	{ 2, 300, 3600, 600 },
	{ 3, 300, 3600, 1200 },
	{ 4, 300, 3600, 2400 },
	{ 5, 300, 3600, 3600 },		/* 4800 capped */
	{ 6, 300, 3600, 3600 },
	{ 1000, 300, 3600, 3600 },
	{ UINT_MAX, 300, 3600, 3600 },
	/* attempts 0 is read as the first */
	{ 0, 300, 3600, 300 },
	/* min >= max: max */
	{ 1, 3600, 3600, 3600 },
	{ 5, 3600, 3600, 3600 },
	{ 1, 7200, 3600, 3600 },
	{ 0, 7200, 3600, 3600 },
	{ 3, 0, 0, 0 },
	/* exact powers of two up to the ceiling */
	{ 10, 1, 1024, 512 },
	{ 11, 1, 1024, 1024 },
	{ 12, 1, 1024, 1024 },
	/* doubling near the top of unsigned must not wrap */
	{ 2, UINT_MAX / 2 + 1, UINT_MAX, UINT_MAX },
	{ 2, UINT_MAX - 1, UINT_MAX, UINT_MAX },
	{ 32, 1, UINT_MAX, 1u << 31 },
	{ 33, 1, UINT_MAX, UINT_MAX },	/* 2^32 capped */
	{ UINT_MAX, 1, UINT_MAX, UINT_MAX },
	{ 40, 3, UINT_MAX - 5, UINT_MAX - 5 },
};

static void
test_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		unsigned got = backoff_delay_s(cases[i].attempts, cases[i].min_s, cases[i].max_s);

		if (got != cases[i].want)
			fail_msg("backoff_delay_s(%u, %u, %u) = %u, want %u", cases[i].attempts,
			    cases[i].min_s, cases[i].max_s, got, cases[i].want);
	}
}

/* Never below min (when min < max), never above max, never shrinking. */
static void
test_monotonic(void **state)
{
	static const unsigned mins[] = { 1, 7, 60, 300, 1000 };

	(void)state;
	for (size_t m = 0; m < sizeof(mins) / sizeof(mins[0]); m++) {
		unsigned prev = 0;

		for (unsigned a = 1; a < 200; a++) {
			unsigned d = backoff_delay_s(a, mins[m], 86400);

			assert_true(d >= mins[m] && d <= 86400);
			assert_true(d >= prev);
			prev = d;
		}
		assert_int_equal(prev, 86400);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_monotonic),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
