/*
 * test_mime.c - address lists of header fields (src/mime): what GMime
 * reads of each RFC 5322 form, as the SMTP server would format it; names
 * without a domain; the lists GMime can read only in part, refused whole;
 * the forms refused before GMime sees them; the bound. Each case is added
 * after an address already there, which a refused list must leave alone.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mime/mime.h"

#define DOM "example.test"
#define BEFORE "before@x.example"

static const struct {
	const char *name, *text;
	const char *domain;	/* NULL: names without a domain are refused */
	size_t max;		/* of the list's own addresses (BEFORE comes on top) */
	enum mime_addr_err want;
	const char *addrs;	/* space-separated, when MIME_ADDR_OK */
	const char *why;	/* part of err, when refused */
} cases[] = {
	{ "one", "a@x.example", DOM, 8, MIME_ADDR_OK, "a@x.example", NULL },
	{ "names and brackets", "Ann <a@x.example>, \"Last, First\" <b@x.example>", DOM, 8,
	  MIME_ADDR_OK, "a@x.example b@x.example", NULL },
	{ "domain lowercased, local part kept", "ROOT@Example.TEST", DOM, 8, MIME_ADDR_OK,
	  "ROOT@example.test", NULL },
	{ "comments", "(boss) a@x.example (f@x), b@x.example (in [c@x])", DOM, 8, MIME_ADDR_OK,
	  "a@x.example b@x.example", NULL },
	/* an '@' quoted, in a comment or in a literal is no address of its own */
	{ "at in a quoted name", "\"at@home\" <e@x.example> (f@x)", DOM, 8, MIME_ADDR_OK,
	  "e@x.example", NULL },
	{ "quoted local part", "\"john doe\"@x.example, \"a@b\"@x.example", DOM, 8, MIME_ADDR_OK,
	  "\"john doe\"@x.example \"a@b\"@x.example", NULL },
	{ "address literal", "a@[192.0.2.1]", DOM, 8, MIME_ADDR_OK, "a@[192.0.2.1]", NULL },
	{ "groups walked into", "friends: a@x.example, B <b@x.example>;, c@x.example", DOM, 8,
	  MIME_ADDR_OK, "a@x.example b@x.example c@x.example", NULL },
	{ "empty group", "undisclosed-recipients:;", DOM, 8, MIME_ADDR_OK, "", NULL },
	{ "duplicates kept", "a@x.example, A <a@x.example>", DOM, 8, MIME_ADDR_OK,
	  "a@x.example a@x.example", NULL },
	{ "encoded display name", "=?utf-8?q?J=C3=B6rg?= <j@x.example>", DOM, 8, MIME_ADDR_OK,
	  "j@x.example", NULL },
	/* the IDN form: the domain in A-labels, the local part as it is (SMTPUTF8) */
	{ "idn", "\xc3\xb8@b\xc3\xa6r.example", DOM, 8, MIME_ADDR_OK,
	  "\xc3\xb8@xn--br-1ia.example", NULL },
	{ "idn in brackets", "B <b@b\xc3\xbc" "cher.example>", DOM, 8, MIME_ADDR_OK,
	  "b@xn--bcher-kva.example", NULL },
	{ "empty", "", DOM, 8, MIME_ADDR_OK, "", NULL },
	{ "white space and commas", " \t, ,\t", DOM, 8, MIME_ADDR_OK, "", NULL },

	/* names without a domain: qualified, or refused when the caller gives no domain */
	{ "bare names", "root, Bob <bob>, a@x.example", DOM, 8, MIME_ADDR_OK,
	  "root@" DOM " bob@" DOM " a@x.example", NULL },
	{ "bare postmaster", "postmaster", DOM, 8, MIME_ADDR_OK, "postmaster@" DOM, NULL },
	{ "bare name refused", "a@x.example, root", NULL, 8, MIME_ADDR_BAD, NULL,
	  "bad address: root (no domain)" },
	{ "bare postmaster refused", "postmaster", NULL, 8, MIME_ADDR_BAD, NULL, "postmaster" },
	{ "bare name that makes no mailbox", "\"a b\" <c d>", DOM, 8, MIME_ADDR_BAD, NULL,
	  "bad address" },

	/* GMime skips what it cannot read: the list is refused, not shortened */
	{ "skipped address", "a@x.test, <b@y.test", DOM, 8, MIME_ADDR_BAD, NULL,
	  "cannot be read" },
	{ "skipped first", "<b@y.test, a@x.test", DOM, 8, MIME_ADDR_BAD, NULL, "" },
	{ "no domain after at", "c@x.example, d@", DOM, 8, MIME_ADDR_BAD, NULL, "" },
	{ "two ats", "a@@x.example", DOM, 8, MIME_ADDR_BAD, NULL, "" },
	{ "nothing readable", "<<<", DOM, 8, MIME_ADDR_BAD, NULL, "bad address list" },
	{ "source route", "@a.example:b@c.example", DOM, 8, MIME_ADDR_BAD, NULL, "" },
	{ "empty brackets", "<>", DOM, 8, MIME_ADDR_BAD, NULL, "" },

	/*
	 * "leaky": forms GMime (before 3.2.15) leaks memory on when it refuses
	 * them; refused before it sees them, so the sanitizer build's leak
	 * check stays quiet. Found by fuzz_eml ("e@x.ex <>").
	 */
	{ "leaky: addr-spec then empty brackets", "e@x.example <>", DOM, 8, MIME_ADDR_BAD, NULL,
	  "cannot be read" },
	{ "leaky: address as display name", "b@x.example <b@x.example>", DOM, 8, MIME_ADDR_BAD,
	  NULL, "cannot be read" },
	{ "leaky: in a later element", "a@x.example, b@x.example (c) <c@x.example>", DOM, 8,
	  MIME_ADDR_BAD, NULL, "cannot be read" },
	{ "leaky: stray closing bracket", "a@x.example>", DOM, 8, MIME_ADDR_BAD, NULL,
	  "cannot be read" },
	{ "leaky: bare name, stray bracket", "root>", DOM, 8, MIME_ADDR_BAD, NULL,
	  "cannot be read" },
	{ "leaky: unterminated comment", "a@x.example (open", DOM, 8, MIME_ADDR_BAD, NULL,
	  "cannot be read" },
	{ "leaky: bare name, unterminated comment", "root (open", DOM, 8, MIME_ADDR_BAD, NULL,
	  "cannot be read" },
	{ "unterminated quote", "\"open <a@x.example>", DOM, 8, MIME_ADDR_BAD, NULL,
	  "cannot be read" },
	{ "nested brackets", "<<a@x.example>>", DOM, 8, MIME_ADDR_BAD, NULL, "cannot be read" },
	/* GMime resumes at the comma inside the brackets and trips on "b>" */
	{ "leaky: comma in brackets", "<a,b>", DOM, 8, MIME_ADDR_BAD, NULL, "cannot be read" },
	/* what the scan must not refuse: brackets after an element ends, '@' where it may be */
	{ "brackets after a group", "g: a@x.example;, Bob <b@x.example>", DOM, 8, MIME_ADDR_OK,
	  "a@x.example b@x.example", NULL },
	{ "route in brackets", "<@r.example:a@x.example>", DOM, 8, MIME_ADDR_BAD, NULL,
	  "bad address" },
	{ "brackets in quotes and comments", "\"<x>\" <a@x.example> (<y> @)", DOM, 8,
	  MIME_ADDR_OK, "a@x.example", NULL },

	/* the bound counts mailboxes, group members included */
	{ "at max", "a@x.example, b@x.example", DOM, 2, MIME_ADDR_OK,
	  "a@x.example b@x.example", NULL },
	{ "past max", "a@x.example, b@x.example, c@x.example", DOM, 2, MIME_ADDR_TOO_MANY, NULL,
	  "more than 3 addresses" },
	{ "past max in a group", "g: a@x.example, b@x.example;", DOM, 1, MIME_ADDR_TOO_MANY,
	  NULL, "more than" },
};

/* The list's addresses after BEFORE, space-separated. */
static void
join(const struct mime_addrs *a, char *out, size_t size)
{
	size_t n = 0;

	out[0] = '\0';
	for (size_t i = 1; i < a->n; i++) {
		int w = snprintf(out + n, size - n, "%s%s", i > 1 ? " " : "", a->v[i]);

		assert_true(w > 0 && (size_t)w < size - n);
		n += (size_t)w;
	}
}

static void
test_lists(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct mime_addrs a;
		char err[256] = "", got[1024];
		enum mime_addr_err e;

		mime_addrs_init(&a, cases[i].max + 1);
		assert_int_equal(mime_addr_list(BEFORE, NULL, &a, err, sizeof(err)), MIME_ADDR_OK);
		e = mime_addr_list(cases[i].text, cases[i].domain, &a, err, sizeof(err));
		if (e != cases[i].want)
			fail_msg("%s: got %d, err \"%s\"", cases[i].name, (int)e, err);
		if (e == MIME_ADDR_OK) {
			join(&a, got, sizeof(got));
			if (strcmp(got, cases[i].addrs) != 0)
				fail_msg("%s: got \"%s\"", cases[i].name, got);
		} else {
			if (err[0] == '\0' || strstr(err, cases[i].why) == NULL)
				fail_msg("%s: err \"%s\"", cases[i].name, err);
			/* all or nothing: what was there stays, nothing of the list is added */
			if (a.n != 1 || strcmp(a.v[0], BEFORE) != 0)
				fail_msg("%s: %zu addresses left", cases[i].name, a.n);
		}
		mime_addrs_clear(&a);
		assert_int_equal(a.n, 0);
		assert_int_equal(a.max, cases[i].max + 1);
	}
}

/* Many lists into one: the bound is on the whole, as a message's recipients are. */
static void
test_bound_across_lists(void **state)
{
	struct mime_addrs a;
	char err[256];

	(void)state;
	mime_addrs_init(&a, 3);
	assert_int_equal(mime_addr_list("a@x.example, b@x.example", DOM, &a, err, sizeof(err)),
	    MIME_ADDR_OK);
	assert_int_equal(mime_addr_list("c@x.example, d@x.example", DOM, &a, err, sizeof(err)),
	    MIME_ADDR_TOO_MANY);
	assert_int_equal(a.n, 2);
	assert_int_equal(mime_addr_list("c@x.example", DOM, &a, err, sizeof(err)), MIME_ADDR_OK);
	assert_int_equal(a.n, 3);
	mime_addrs_clear(&a);
	/* a list with nothing in it fits even a full one */
	mime_addrs_init(&a, 0);
	assert_int_equal(mime_addr_list(" , ", DOM, &a, err, sizeof(err)), MIME_ADDR_OK);
	assert_int_equal(mime_addr_list("a@x.example", DOM, &a, err, sizeof(err)),
	    MIME_ADDR_TOO_MANY);
	mime_addrs_clear(&a);
}

static void
test_addr_make(void **state)
{
	char out[SMTP_ADDR_FMT_MAX], local[SMTP_LOCAL_MAX + 2];

	(void)state;
	assert_int_equal(mime_addr_make("alice", DOM, out), 0);
	assert_string_equal(out, "alice@" DOM);
	assert_int_equal(mime_addr_make("john doe", "Example.Test", out), 0);
	assert_string_equal(out, "\"john doe\"@" DOM);
	assert_int_equal(mime_addr_make("", DOM, out), -1);
	memset(local, 'a', sizeof(local) - 1);
	local[sizeof(local) - 1] = '\0';
	assert_int_equal(mime_addr_make(local, DOM, out), -1);	/* 65 octets */
	local[SMTP_LOCAL_MAX] = '\0';
	assert_int_equal(mime_addr_make(local, DOM, out), 0);
}

static int
teardown(void **state)
{
	(void)state;
	mime_shutdown();
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lists),
		cmocka_unit_test(test_bound_across_lists),
		cmocka_unit_test(test_addr_make),
	};

	return cmocka_run_group_tests(tests, NULL, teardown);
}
