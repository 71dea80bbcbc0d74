/*
 * test_reply.c - the reply writer: RFC 5321 4.2 lines, RFC 2034 status on
 * every line, no CR or LF from the text except as line ends.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "smtp/smtp.h"

struct reply_case {
	int code;
	const char *status;
	const char *text;	/* passed through "%s" */
	const char *want;
};

static const struct reply_case cases[] = {
	{ 250, "2.0.0", "Ok", "250 2.0.0 Ok\r\n" },
	/* the greeting and HELO/EHLO carry no enhanced status (RFC 2034 3) */
	{ 220, NULL, "mx.example ESMTP sterna", "220 mx.example ESMTP sterna\r\n" },
	{ 250, NULL, "mx.example\nPIPELINING\nSIZE 10240000\n8BITMIME",
	  "250-mx.example\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250 8BITMIME\r\n" },
	/* RFC 2034 3: the enhanced code is repeated on each line */
	{ 550, "5.7.1", "first\nsecond", "550-5.7.1 first\r\n550 5.7.1 second\r\n" },
	/* a CR never reaches the wire; CRLF in the text is one line break */
	{ 250, "2.0.0", "a\rb", "250 2.0.0 ab\r\n" },
	{ 250, "2.0.0", "a\r\nb", "250-2.0.0 a\r\n250 2.0.0 b\r\n" },
	{ 250, "2.0.0", "\r", "250 2.0.0\r\n" },
	/* a final newline ends the last line, it does not open an empty one */
	{ 250, "2.0.0", "Ok\n", "250 2.0.0 Ok\r\n" },
	{ 250, "2.0.0", "Ok\r\n", "250 2.0.0 Ok\r\n" },
	/* nothing but the code: "Reply-code [ SP textstring ] CRLF" */
	{ 250, NULL, "", "250\r\n" },
	{ 250, "2.0.0", "", "250 2.0.0\r\n" },
	/* an empty line in the middle stays a line */
	{ 214, NULL, "a\n\nb", "214-a\r\n214-\r\n214 b\r\n" },
	{ 214, "2.0.0", "a\n\nb", "214-2.0.0 a\r\n214-2.0.0\r\n214 2.0.0 b\r\n" },
};

static void
test_table(void **state)
{
	struct buf b;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct reply_case *c = &cases[i];

		print_message("case %zu\n", i);
		buf_init(&b, 4096);
		assert_int_equal(smtp_reply(&b, c->code, c->status, "%s", c->text), 0);
		assert_int_equal(b.len, strlen(c->want));
		assert_memory_equal(b.data, c->want, b.len);
		buf_clear(&b);
	}
}

static void
test_format(void **state)
{
	static const char want[] = "250 2.0.0 Ok: queued as 7Q3F9K2M1A\r\n";
	struct buf b;

	(void)state;
	buf_init(&b, 4096);
	assert_int_equal(smtp_reply(&b, 250, "2.0.0", "Ok: queued as %s", "7Q3F9K2M1A"), 0);
	assert_int_equal(b.len, sizeof(want) - 1);
	assert_memory_equal(b.data, want, b.len);
	/* replies append: pipelined answers go out in one write */
	assert_int_equal(smtp_reply(&b, 221, "2.0.0", "Bye"), 0);
	assert_int_equal(b.len, sizeof(want) - 1 + strlen("221 2.0.0 Bye\r\n"));
	assert_memory_equal(b.data + sizeof(want) - 1, "221 2.0.0 Bye\r\n", 15);
	buf_clear(&b);
}

/* Text longer than the writer's stack buffer takes the heap path. */
static void
test_long_text(void **state)
{
	char text[2000];
	struct buf b;

	(void)state;
	memset(text, 'x', sizeof(text) - 1);
	text[sizeof(text) - 1] = '\0';
	text[700] = '\n';
	buf_init(&b, 8192);
	assert_int_equal(smtp_reply(&b, 554, "5.5.0", "%s", text), 0);
	assert_int_equal(b.len, (4 + 6 + 700 + 2) + (4 + 6 + 1298 + 2));
	assert_memory_equal(b.data, "554-5.5.0 xxx", 13);
	assert_memory_equal(b.data + 712, "554 5.5.0 xxx", 13);
	assert_memory_equal(b.data + b.len - 3, "x\r\n", 3);
	buf_clear(&b);
}

/* A reply that does not fit leaves the buffer exactly as it was. */
static void
test_full(void **state)
{
	static const char first[] = "250 2.1.0 Ok\r\n";
	static const char two[] = "250-2.0.0 a\r\n250 2.0.0 b\r\n";
	struct buf b;
	size_t max;

	(void)state;
	for (max = sizeof(first) - 1; max < sizeof(first) - 1 + sizeof(two) - 1; max++) {
		buf_init(&b, max);
		assert_int_equal(smtp_reply(&b, 250, "2.1.0", "Ok"), 0);
		/* fails on the second line too, not only on the first */
		assert_int_equal(smtp_reply(&b, 250, "2.0.0", "a\nb"), -1);
		assert_int_equal(b.len, sizeof(first) - 1);
		assert_memory_equal(b.data, first, b.len);
		buf_clear(&b);
	}
	buf_init(&b, sizeof(first) - 1 + sizeof(two) - 1);
	assert_int_equal(smtp_reply(&b, 250, "2.1.0", "Ok"), 0);
	assert_int_equal(smtp_reply(&b, 250, "2.0.0", "a\nb"), 0);
	assert_memory_equal(b.data + sizeof(first) - 1, two, sizeof(two) - 1);
	buf_clear(&b);

	buf_init(&b, 4);
	assert_int_equal(smtp_reply(&b, 250, NULL, "%s", ""), -1);
	assert_int_equal(b.len, 0);
	buf_clear(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_long_text),
		cmocka_unit_test(test_full),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
