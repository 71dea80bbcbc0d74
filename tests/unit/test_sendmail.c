/*
 * test_sendmail.c - the pure parts of sterna sendmail (src/main/sendmail_*.c):
 * standard input into CRLF lines (the dot, the mbox line, the limits), the
 * header section (Bcc removed, From added, the empty line, -t recipients
 * through GMime), and addresses as callers write them (the lists
 * themselves are tests/unit/test_mime.c's). Input cases run whole and
 * split at every byte, which must give the same message.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gmime/gmime.h>

#include "main/sendmail.h"
#include "mime/mime.h"

#define IN(s) (const uint8_t *)(s), sizeof(s) - 1
#define DOM "example.test"

/* ---- standard input ---- */

static const struct {
	const uint8_t *in;
	size_t len;
	int is_dot_end;
	const char *want;	/* the message, or NULL when refused */
	const char *why;	/* part of the reason when refused */
} input_cases[] = {
	{ IN("a\nb\n"),			1, "a\r\nb\r\n", NULL },
	{ IN("a\r\nb\r\n"),		1, "a\r\nb\r\n", NULL },
	{ IN("a\rb\r"),			1, "a\r\nb\r\n", NULL },	/* a lone CR ends a line too */
	{ IN("a\r\r\nb"),		1, "a\r\nb\r\n", NULL },	/* CRs before LF: one end */
	{ IN("a\r\rb\r\r"),		1, "a\r\n\r\nb\r\n\r\n", NULL },
	{ IN("a\n\r\nb\n\n"),		1, "a\r\n\r\nb\r\n\r\n", NULL },
	{ IN("no end"),			1, "no end\r\n", NULL },	/* the last line is kept */
	{ IN(""),			1, "", NULL },
	{ IN("\n"),			1, "\r\n", NULL },
	/* classic sendmail: "." alone ends the input, unless -i; no unstuffing */
	{ IN("a\n.\nafter\n"),		1, "a\r\n", NULL },
	{ IN("a\r\n.\r\nafter\r\n"),	1, "a\r\n", NULL },
	{ IN("a\n.\nafter\n"),		0, "a\r\n.\r\nafter\r\n", NULL },
	{ IN(".\n"),			1, "", NULL },
	{ IN("."),			1, "", NULL },		/* at EOF without its LF */
	{ IN("a\n..\n. \n.x\n"),	1, "a\r\n..\r\n. \r\n.x\r\n", NULL },
	/* the mbox separator, and only on the first line */
	{ IN("From a@b Mon Jan  1 00:00:00 2024\nSubject: x\n\nFrom here\n"), 1,
	    "Subject: x\r\n\r\nFrom here\r\n", NULL },
	{ IN("Subject: x\nFrom a@b\n"),	1, "Subject: x\r\nFrom a@b\r\n", NULL },
	{ IN("From: a@b\n"),		1, "From: a@b\r\n", NULL },	/* a field, not a separator */
	{ IN(">From a\n"),		1, ">From a\r\n", NULL },
	{ IN("\xff\xfe 8 bit\n"),	1, "\xff\xfe 8 bit\r\n", NULL },
	/* refused */
	{ IN("a\0b\n"),			1, NULL, "NUL" },
	{ IN("ok\nok\n\0"),		1, NULL, "line 3" },
};

/* Runs the input through in pieces of at most step bytes (0: whole). */
static int
run_input(const uint8_t *p, size_t len, int is_dot_end, uint64_t max, size_t step,
    struct sm_input *in)
{
	int r = 0;

	sm_input_init(in, max, SM_LINE_MAX, is_dot_end);
	for (size_t off = 0; off < len && r == 0;) {
		size_t n = step == 0 || len - off < step ? len - off : step;

		r = sm_input_feed(in, p + off, n);
		off += n;
	}
	if (r == 0)
		r = sm_input_eof(in);
	return r;
}

static void
test_input_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(input_cases) / sizeof(input_cases[0]); i++)
		for (size_t step = 0; step <= input_cases[i].len; step++) {
			struct sm_input in;
			int r = run_input(input_cases[i].in, input_cases[i].len,
			    input_cases[i].is_dot_end, 1 << 20, step, &in);

			if (input_cases[i].want == NULL) {
				if (r != -1)
					fail_msg("case %zu step %zu: accepted", i, step);
				if (strstr(in.err, input_cases[i].why) == NULL)
					fail_msg("case %zu: reason \"%s\"", i, in.err);
			} else {
				if (r == -1)
					fail_msg("case %zu step %zu: %s", i, step, in.err);
				/* an empty message has no bytes at all (data NULL): no memcmp then */
				if (in.msg.len != strlen(input_cases[i].want) || (in.msg.len > 0 &&
				    memcmp(in.msg.data, input_cases[i].want, in.msg.len) != 0))
					fail_msg("case %zu step %zu: got \"%.*s\"", i, step,
					    (int)in.msg.len, in.msg.data);
			}
			sm_input_clear(&in);
		}
}

/* RFC 5322 2.1.1: 998 octets and the CRLF, and not one more. */
static void
test_input_line_limit(void **state)
{
	char line[SM_LINE_MAX + 3];
	struct sm_input in;

	(void)state;
	memset(line, 'x', sizeof(line));
	line[SM_LINE_MAX] = '\n';
	assert_int_equal(run_input((uint8_t *)line, SM_LINE_MAX + 1, 1, 1 << 20, 0, &in), 0);
	assert_int_equal(in.msg.len, SM_LINE_MAX + 2);
	sm_input_clear(&in);
	/* the same line without its LF, at the end of input */
	assert_int_equal(run_input((uint8_t *)line, SM_LINE_MAX, 1, 1 << 20, 0, &in), 0);
	sm_input_clear(&in);

	line[SM_LINE_MAX] = 'x';
	line[SM_LINE_MAX + 1] = '\n';
	assert_int_equal(run_input((uint8_t *)line, SM_LINE_MAX + 2, 1, 1 << 20, 0, &in), -1);
	assert_non_null(strstr(in.err, "longer than 998 octets"));
	sm_input_clear(&in);
	/* a smaller limit (smtp.max_text_line_bytes) holds the same way */
	sm_input_init(&in, 1 << 20, 10, 1);
	assert_int_equal(sm_input_feed(&in, IN("0123456789\n")), 0);
	assert_int_equal(sm_input_feed(&in, IN("0123456789A")), -1);
	sm_input_clear(&in);
}

/* smtp.max_message_bytes counts the stored message, CRLF line ends included. */
static void
test_input_size_limit(void **state)
{
	struct sm_input in;

	(void)state;
	/* "abc\r\n" twice is 10 bytes */
	assert_int_equal(run_input(IN("abc\nabc\n"), 1, 10, 0, &in), 0);
	assert_int_equal(in.msg.len, 10);
	sm_input_clear(&in);
	assert_int_equal(run_input(IN("abc\nabc\n"), 1, 9, 0, &in), -1);
	assert_non_null(strstr(in.err, "max_message_bytes"));
	sm_input_clear(&in);
	assert_int_equal(run_input(IN("abc\nabcd"), 1, 10, 3, &in), -1);
	sm_input_clear(&in);
}

/* ---- the header section ---- */

#define FROM "root@example.test"

static const struct {
	const char *name;
	const char *msg;
	int is_extract;
	const char *want;
	const char *rcpts;	/* with -t: the recipients, space-separated */
} header_cases[] = {
	{ "From added at the end of the header section",
	    "Subject: x\r\n\r\nbody\r\n", 0,
	    "Subject: x\r\nFrom: " FROM "\r\n\r\nbody\r\n", "" },
	{ "From kept",
	    "from: Someone <s@x.example>\r\nSubject: x\r\n\r\nbody\r\n", 0,
	    "from: Someone <s@x.example>\r\nSubject: x\r\n\r\nbody\r\n", "" },
	{ "Bcc removed, folded lines with it, and read with -t",
	    "To: a@x.example\r\nBcc: b@x.example,\r\n\tc@x.example\r\nSubject: s\r\n\r\nb\r\n", 1,
	    "To: a@x.example\r\nSubject: s\r\nFrom: " FROM "\r\n\r\nb\r\n",
	    "a@x.example b@x.example c@x.example" },
	{ "Bcc removed without -t too, nobody added",
	    "Bcc: b@x.example\r\nFrom: f@x.example\r\n\r\nb\r\n", 0,
	    "From: f@x.example\r\n\r\nb\r\n", "" },
	{ "BCC and Resent-Bcc, any case; Bcc as the last field",
	    "Resent-Bcc: r@x.example\r\nFrom: f@x.example\r\nBCC: b@x.example\r\n\r\nBcc: body\r\n",
	    0, "From: f@x.example\r\n\r\nBcc: body\r\n", "" },
	{ "a line that is no field goes with the Bcc before it",
	    "Bcc: a@x.example\r\nb@y.example\r\nSubject: s\r\n\r\nx\r\n", 0,
	    "Subject: s\r\nFrom: " FROM "\r\n\r\nx\r\n", "" },
	{ "no header section: From and the empty line go first",
	    "hello world\r\nsecond line\r\n", 0,
	    "From: " FROM "\r\n\r\nhello world\r\nsecond line\r\n", "" },
	{ "an empty message",
	    "", 0, "From: " FROM "\r\n\r\n", "" },
	{ "an empty header section",
	    "\r\nbody\r\n", 0, "From: " FROM "\r\n\r\nbody\r\n", "" },
	{ "fields, then the body without the empty line",
	    "Subject: x\r\nX-A: 1\r\n 2\r\nhello world\r\nTo: not@header.example\r\n", 1,
	    "Subject: x\r\nX-A: 1\r\n 2\r\nFrom: " FROM "\r\n\r\nhello world\r\n"
	    "To: not@header.example\r\n", "" },
	{ "only fields",
	    "Subject: x\r\n", 0, "Subject: x\r\nFrom: " FROM "\r\n\r\n", "" },
	{ "groups, comments, encoded words, bare names",
	    "To: undisclosed-recipients:;\r\n"
	    "Cc: grp: a@x.example, (c) b@x.example;, =?utf-8?q?J=C3=B6rg?= <j@x.example>,\r\n"
	    " root\r\nFrom: f@x.example\r\n\r\n", 1,
	    "To: undisclosed-recipients:;\r\n"
	    "Cc: grp: a@x.example, (c) b@x.example;, =?utf-8?q?J=C3=B6rg?= <j@x.example>,\r\n"
	    " root\r\nFrom: f@x.example\r\n\r\n",
	    "a@x.example b@x.example j@x.example root@example.test" },
	{ "a bare name before a display name is two recipients",
	    "To: alice, Bob <bob@x.example>\r\nFrom: f@x.example\r\n\r\n", 1,
	    "To: alice, Bob <bob@x.example>\r\nFrom: f@x.example\r\n\r\n",
	    "alice@example.test bob@x.example" },
	{ "duplicates once, quoted local parts, IDN domains in A-labels",
	    "To: a@x.example, A <a@x.example>\r\nCc: \"john smith\"@x.example\r\n"
	    "Bcc: u@b\xc3\xbc" "cher.example\r\nFrom: f@x.example\r\n\r\n", 1,
	    "To: a@x.example, A <a@x.example>\r\nCc: \"john smith\"@x.example\r\n"
	    "From: f@x.example\r\n\r\n",
	    "a@x.example \"john smith\"@x.example u@xn--bcher-kva.example" },
	{ "only To, Cc and Bcc: not Reply-To, not the body",
	    "Reply-To: r@x.example\r\nTo: t@x.example\r\nFrom: f@x.example\r\n\r\n"
	    "Cc: body@x.example\r\n", 1,
	    "Reply-To: r@x.example\r\nTo: t@x.example\r\nFrom: f@x.example\r\n\r\n"
	    "Cc: body@x.example\r\n", "t@x.example" },
	{ "the body byte for byte",
	    "Subject: b\r\n\r\n\xff\x80 8 bit\r\n..\r\n\r\n", 0,
	    "Subject: b\r\nFrom: " FROM "\r\n\r\n\xff\x80 8 bit\r\n..\r\n\r\n", "" },
};

/* The recipients as one space-separated string. */
static void
join(const struct sm_rcpts *r, char *out, size_t size)
{
	size_t n = 0;

	out[0] = '\0';
	for (size_t i = 0; i < r->n; i++) {
		int w = snprintf(out + n, size - n, "%s%s", i ? " " : "", r->v[i]);

		assert_true(w > 0 && (size_t)w < size - n);
		n += (size_t)w;
	}
}

static void
test_header_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(header_cases) / sizeof(header_cases[0]); i++) {
		struct sm_header_opts o = { header_cases[i].is_extract, FROM, DOM };
		struct sm_rcpts r = { 0 };
		struct buf out;
		char err[256] = "", got[1024];
		size_t len = strlen(header_cases[i].msg);
		/* an exact-size copy: ASan sees any read past the message */
		uint8_t *copy = malloc(len ? len : 1);

		memcpy(copy, header_cases[i].msg, len);
		buf_init(&out, 1 << 20);
		if (sm_header_edit(copy, len, &o, &out, &r, err, sizeof(err)) != 0)
			fail_msg("%s: %s", header_cases[i].name, err);
		if (out.len != strlen(header_cases[i].want) ||
		    memcmp(out.data, header_cases[i].want, out.len) != 0)
			fail_msg("%s: got\n%.*s", header_cases[i].name, (int)out.len, out.data);
		join(&r, got, sizeof(got));
		if (strcmp(got, header_cases[i].rcpts) != 0)
			fail_msg("%s: recipients \"%s\"", header_cases[i].name, got);
		sm_rcpts_clear(&r);
		buf_clear(&out);
		free(copy);
	}
}

/* A bad address in a field read for -t refuses the message and names the field. */
static void
test_header_bad_address(void **state)
{
	static const char *const bad[] = {
		"To: a@@x.example\r\n\r\n",
		"Cc: ok@x.example, <b@x.example\r\n\r\n",
		"Bcc: x@[300.1.1.1]\r\n\r\n",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct sm_header_opts o = { 1, FROM, DOM };
		struct sm_rcpts r = { 0 };
		struct buf out;
		char err[256] = "";

		buf_init(&out, 1 << 20);
		assert_int_equal(buf_append(&out, "keep", 4), 0);
		if (sm_header_edit((const uint8_t *)bad[i], strlen(bad[i]), &o, &out, &r, err,
		    sizeof(err)) != -1)
			fail_msg("case %zu accepted", i);
		assert_non_null(strstr(err, "field"));
		assert_int_equal(out.len, 4);	/* left as it was */
		sm_rcpts_clear(&r);
		buf_clear(&out);
	}
}

/* ---- addresses ---- */

static void
test_addr_sender(void **state)
{
	static const struct {
		const char *in, *want;	/* want NULL: refused */
	} cases[] = {
		{ "", "" }, { "<>", "" }, { " < > ", "" },
		{ "alice", "alice@" DOM },
		{ "a@B.Example", "a@b.example" },
		{ "<a@b.example>", "a@b.example" },
		{ "Ann <a@b.example>", "a@b.example" },
		{ "postmaster", "postmaster@" DOM },
		{ "a@b.example, c@d.example", NULL },
		{ "a@@b.example", NULL },
		{ "<a@b.example", NULL },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char out[SMTP_ADDR_FMT_MAX] = "unset", err[256] = "";
		int r = sm_addr_sender(cases[i].in, DOM, out, err, sizeof(err));

		if (cases[i].want == NULL) {
			if (r != -1)
				fail_msg("\"%s\": accepted as \"%s\"", cases[i].in, out);
			assert_true(err[0] != '\0');
		} else {
			if (r != 0)
				fail_msg("\"%s\": %s", cases[i].in, err);
			assert_string_equal(out, cases[i].want);
		}
	}
}

/* Arguments as mailx and scripts give them: lists, names, bare names. */
static void
test_addr_list(void **state)
{
	struct sm_rcpts r = { 0 };
	char err[256], got[1024];

	(void)state;
	assert_int_equal(sm_addr_list_add(&r, "root", DOM, err, sizeof(err)), 0);
	assert_int_equal(sm_addr_list_add(&r, "a@x.example, Bee <b@x.example>", DOM, err,
	    sizeof(err)), 0);
	assert_int_equal(sm_addr_list_add(&r, "ROOT@Example.Test", DOM, err, sizeof(err)), 0);
	assert_int_equal(sm_addr_list_add(&r, "", DOM, err, sizeof(err)), 0);
	assert_int_equal(sm_addr_list_add(&r, " , ", DOM, err, sizeof(err)), 0);
	join(&r, got, sizeof(got));
	/* the domain is lowercased, the local part kept: ROOT is another mailbox */
	assert_string_equal(got, "root@" DOM " a@x.example b@x.example ROOT@" DOM);
	assert_int_equal(sm_addr_list_add(&r, "a@@x", DOM, err, sizeof(err)), -1);
	assert_int_equal(sm_addr_list_add(&r, "@a.example:b@c.example", DOM, err, sizeof(err)),
	    -1);
	/* GMime skips what it cannot read; a skipped recipient must not go unnoticed */
	assert_int_equal(sm_addr_list_add(&r, "c@x.example, <d@x.example", DOM, err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "cannot be read"));
	assert_int_equal(sm_addr_list_add(&r, "c@x.example, d@", DOM, err, sizeof(err)), -1);
	assert_int_equal(r.n, 4);
	/* an '@' quoted, in a comment or in a literal is no address of its own */
	assert_int_equal(sm_addr_list_add(&r, "\"at@home\" <e@x.example> (f@x)", DOM, err,
	    sizeof(err)), 0);
	assert_int_equal(r.n, 5);
	r.n--;	/* the failed lists added nothing */
	free(r.v[r.n]);
	assert_int_equal(r.n, 4);
	sm_rcpts_clear(&r);
	assert_int_equal(r.n, 0);
}

/* The From field's value: the phrase quoted or encoded as RFC 5322 and 2047 say. */
static void
test_from_value(void **state)
{
	static const struct {
		const char *name, *want;
	} cases[] = {
		{ NULL, "a@x.example" },
		{ "", "a@x.example" },
		{ "Ann Example", "Ann Example <a@x.example>" },
		{ "Smith, John", "\"Smith, John\" <a@x.example>" },
		{ "Ann \"X\" Ample", "\"Ann \\\"X\\\" Ample\" <a@x.example>" },
		/* encoded in whichever charset GMime picks; read back below */
		{ "J\xc3\xb6rg", NULL },
		{ "\xe6\x97\xa5\xe6\x9c\xac \"quoted\", (comment)", NULL },
		/* the longest -F: 256 bytes, folded into lines a reader takes */
		{ "J\xc3\xb6rg J\xc3\xb6rg J\xc3\xb6rg J\xc3\xb6rg J\xc3\xb6rg J\xc3\xb6rg J\xc3\xb6rg "
		  "J\xc3\xb6rg J\xc3\xb6rg J\xc3\xb6rg J\xc3\xb6rg J\xc3\xb6rg J\xc3\xb6rg J\xc3\xb6rg "
		  "J\xc3\xb6rg J\xc3\xb6rg J\xc3\xb6rg J\xc3\xb6rg J\xc3\xb6rg J\xc3\xb6rg J\xc3\xb6rg "
		  "J\xc3\xb6rg J\xc3\xb6rg J\xc3\xb6rg J\xc3\xb6rg J\xc3\xb6rg J\xc3\xb6rg J\xc3\xb6rg "
		  "J\xc3\xb6rg J\xc3\xb6rg J\xc3\xb6rg J\xc3\xb6rg J\xc3\xb6rg J\xc3\xb6rg J\xc3\xb6rg "
		  "J\xc3\xb6rg J\xc3\xb6rg J\xc3\xb6rg J\xc3\xb6rg", NULL },
		{ "averyveryverylongwordwithoutanyspacesatallaveryveryverylongwordwithoutanyspaces"
		  "averyveryverylongwordwithoutanyspacesatallaveryveryverylongwordwithoutanyspaces", NULL },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *v = sm_from_value(cases[i].name, "a@x.example");
		InternetAddressList *l;
		InternetAddress *ia;
		char *unfolded;

		if (cases[i].want != NULL && strcmp(v, cases[i].want) != 0)
			fail_msg("\"%s\": got \"%s\"", cases[i].name ? cases[i].name : "(null)", v);
		/* whatever the spelling, a reader gets the name and the address back */
		/* folded: CRLF TAB between lines of at most 78 ("From: " comes first) */
		for (size_t k = 0, col = 6; ; k++, col++) {
			unsigned char ch = (unsigned char)v[k];

			if (ch == '\0' || ch == '\r')
				assert_true(col <= 78);
			if (ch == '\0')
				break;
			if (ch == '\r') {
				assert_true(v[k + 1] == '\n' && v[k + 2] == '\t');
				k += 2;
				col = 0;
				continue;
			}
			assert_true(ch >= 0x20 && ch < 0x7f);
		}
		unfolded = g_mime_utils_header_unfold(v);
		l = internet_address_list_parse(NULL, unfolded);
		g_free(unfolded);
		assert_non_null(l);
		assert_int_equal(internet_address_list_length(l), 1);
		ia = internet_address_list_get_address(l, 0);
		assert_string_equal(internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(ia)),
		    "a@x.example");
		/*
		 * GMime's reader decodes only the first of several encoded words
		 * in a phrase, so the long names are read back by Python's email
		 * parser instead (tests/e2e/test_sendmail.py, test_long_full_name).
		 */
		if (cases[i].name != NULL && cases[i].name[0] != '\0' && strlen(cases[i].name) < 40)
			assert_string_equal(internet_address_get_name(ia), cases[i].name);
		g_object_unref(l);
		free(v);
	}
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
		cmocka_unit_test(test_input_table),
		cmocka_unit_test(test_input_line_limit),
		cmocka_unit_test(test_input_size_limit),
		cmocka_unit_test(test_header_table),
		cmocka_unit_test(test_header_bad_address),
		cmocka_unit_test(test_addr_sender),
		cmocka_unit_test(test_addr_list),
		cmocka_unit_test(test_from_value),
	};

	return cmocka_run_group_tests(tests, NULL, teardown);
}
