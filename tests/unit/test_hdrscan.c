/*
 * test_hdrscan.c - the header-section scanner: which of Message-ID and Date
 * a message has, where the header section ends, and that every case gives
 * the same answer when fed whole, split at each byte, and one byte at a time.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "smtp/smtp.h"

#define IN(s) (const uint8_t *)(s), sizeof(s) - 1
#define MID HDRSCAN_MESSAGE_ID
#define DATE HDRSCAN_DATE

static const struct {
	const char *name;
	const uint8_t *in;
	size_t len;
	unsigned seen;
	int is_done;
} cases[] = {
	{ "both", IN("Message-ID: <a@b>\r\nDate: Mon, 1 Jan 2024 00:00:00 +0000\r\n\r\nbody\r\n"),
	    MID | DATE, 1 },
	{ "neither", IN("Subject: hi\r\nFrom: a@b\r\n\r\nbody\r\n"), 0, 1 },
	{ "any case", IN("MESSAGE-id: <a@b>\r\ndAtE: x\r\n\r\n"), MID | DATE, 1 },
	{ "no space after colon", IN("Date:x\r\n\r\n"), DATE, 1 },
	{ "only date", IN("Subject: x\r\nDate: x\r\n\r\n"), DATE, 1 },
	/* in the body, a Date: line is text */
	{ "date in body", IN("Subject: x\r\n\r\nDate: x\r\nMessage-ID: <x>\r\n"), 0, 1 },
	/* a folded field: the continuation is not a new field */
	{ "folded", IN("Subject: a\r\n Date: no\r\n\tMessage-ID: no\r\n\r\n"), 0, 1 },
	{ "folded then field", IN("Subject: a\r\n b\r\nDate: x\r\n\r\n"), DATE, 1 },
	/* names that only start or end like the ones looked for */
	{ "prefixes", IN("Dates: x\r\nX-Date: x\r\nMessage-IDs: x\r\nResent-Message-ID: x\r\n\r\n"),
	    0, 1 },
	{ "long name", IN("X-A-Very-Long-Header-Name-Indeed: x\r\nDate: y\r\n\r\n"), DATE, 1 },
	/* a message with no header section at all: the first line is no field */
	{ "no headers", IN("hello world\r\nDate: x\r\n"), 0, 1 },
	{ "space before colon", IN("Date : x\r\n\r\n"), 0, 1 },	/* obsolete syntax: not counted */
	{ "empty message", IN(""), 0, 0 },
	{ "blank first", IN("\r\nDate: x\r\n"), 0, 1 },
	{ "headers without end", IN("Date: x\r\nMessage-ID: y\r\n"), MID | DATE, 0 },
	{ "unfinished name", IN("Message-I"), 0, 0 },
	{ "8bit name", IN("D\xc3\xa4te: x\r\nDate: y\r\n\r\n"), 0, 1 },
};

static void
check(size_t i, const struct hdrscan *h)
{
	if (h->seen != cases[i].seen || h->is_done != cases[i].is_done)
		fail_msg("%s: seen %u done %d, want %u %d", cases[i].name, h->seen, h->is_done,
		    cases[i].seen, cases[i].is_done);
}

static void
test_cases(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct hdrscan h;

		hdrscan_init(&h);
		(void)hdrscan_feed(&h, cases[i].in, cases[i].len);
		check(i, &h);
		for (size_t cut = 0; cut <= cases[i].len; cut++) {
			hdrscan_init(&h);
			(void)hdrscan_feed(&h, cases[i].in, cut);
			(void)hdrscan_feed(&h, cases[i].in + cut, cases[i].len - cut);
			check(i, &h);
		}
		hdrscan_init(&h);
		for (size_t k = 0; k < cases[i].len; k++)
			(void)hdrscan_feed(&h, cases[i].in + k, 1);
		check(i, &h);
	}
}

/* Past the bound the scan stops, and says its answer is incomplete. */
static void
test_bound(void **state)
{
	size_t n = HDRSCAN_MAX_BYTES + 100;
	uint8_t *big = malloc(n);
	struct hdrscan h;

	(void)state;
	assert_non_null(big);
	memcpy(big, "X-Big: ", 7);
	memset(big + 7, 'a', n - 7);
	hdrscan_init(&h);
	assert_int_equal(hdrscan_feed(&h, big, n), 1);
	assert_true(h.is_truncated);
	assert_int_equal(h.seen, 0);
	/* after the end nothing changes */
	assert_int_equal(hdrscan_feed(&h, IN("\r\nDate: x\r\n\r\n")), 1);
	assert_int_equal(h.seen, 0);
	free(big);

	hdrscan_init(&h);
	assert_int_equal(hdrscan_feed(&h, IN("Date: x\r\n\r\n")), 1);
	assert_false(h.is_truncated);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cases),
		cmocka_unit_test(test_bound),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
