/*
 * test_health.c - a destination's up and down state: down at the first
 * failure for min_s, doubling with each failed probe up to max_s, the
 * failures of connections opened together counted once, no connection
 * while down, one probe after, all of them again once one works.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "sched/health.h"

static void
test_down_probe_up(void **state)
{
	struct dest_health h;
	unsigned for_s = 0;

	(void)state;
	memset(&h, 0, sizeof(h));
	assert_int_equal(health_conns_allowed(&h, 1000, 10), 10);
	/* the first failure puts it down, for min_s */
	assert_int_equal(health_failed(&h, 1000, 30, 600, &for_s), 1);
	assert_int_equal(for_s, 30);
	assert_int_equal(health_conns_allowed(&h, 1000, 10), 0);
	assert_int_equal(health_conns_allowed(&h, 1029, 10), 0);
	/* nine more opened with it, failing at once: the same failure */
	for (int i = 0; i < 9; i++) {
		assert_int_equal(health_failed(&h, 1001, 30, 600, &for_s), 0);
		assert_int_equal(for_s, 29);
	}
	/* time's up: one probe */
	assert_int_equal(health_conns_allowed(&h, 1030, 10), 1);
	/* the probe fails: down again, twice as long */
	assert_int_equal(health_failed(&h, 1031, 30, 600, &for_s), 0);
	assert_int_equal(for_s, 60);
	assert_int_equal(health_conns_allowed(&h, 1090, 10), 0);
	assert_int_equal(health_conns_allowed(&h, 1091, 10), 1);
	/* capped */
	for (uint64_t t = 2000; t < 100000; t += 1000)
		(void)health_failed(&h, t, 30, 600, &for_s);
	assert_int_equal(for_s, 600);
	/* the probe works: up, every connection allowed, and the next fall starts short */
	assert_int_equal(health_ok(&h), 1);
	assert_int_equal(health_conns_allowed(&h, 100000, 10), 10);
	assert_int_equal(health_ok(&h), 0);
	assert_int_equal(health_failed(&h, 200000, 30, 600, &for_s), 1);
	assert_int_equal(for_s, 30);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_down_probe_up),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
