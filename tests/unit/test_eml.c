/*
 * test_eml.c - the text rules of folder files (line ends, NUL, long lines),
 * fed whole, split at each byte, and one byte at a time; and the envelope
 * of pickup files: X-Sender/X-Receiver at the top, else From/Sender and
 * To/Cc/Bcc, what is removed, and what is refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drop/eml.h"

#define IN(s) (const uint8_t *)(s), sizeof(s) - 1
#define S(s) s, sizeof(s) - 1
#define DOM "local.example"	/* qualifies names without a domain */

/* ---- text ---- */

static const struct {
	const char *name;
	const uint8_t *in;
	size_t len;
	const char *want;	/* NULL: refused */
	size_t want_len;
	int is_8bit;
} texts[] = {
	{ "crlf kept", IN("a\r\nb\r\n"), S("a\r\nb\r\n"), 0 },
	{ "lf", IN("a\nb\n"), S("a\r\nb\r\n"), 0 },
	{ "mixed", IN("a\nb\r\nc\n"), S("a\r\nb\r\nc\r\n"), 0 },
	/* a text-mode conversion done twice: one line end, not an empty line between */
	{ "cr cr lf", IN("a\r\r\nb\r\n"), S("a\r\nb\r\n"), 0 },
	/* classic Mac text: each CR ends a line, so an empty line stays one */
	{ "bare cr", IN("a\rb\r\rc"), S("a\r\nb\r\n\r\nc\r\n"), 0 },
	{ "cr at end", IN("a\r"), S("a\r\n"), 0 },
	{ "no last line end", IN("a\r\nb"), S("a\r\nb\r\n"), 0 },
	{ "empty", IN(""), S(""), 0 },
	{ "empty lines", IN("\n\n"), S("\r\n\r\n"), 0 },
	{ "8bit", IN("\xc3\xa4\n"), S("\xc3\xa4\r\n"), 1 },
	{ "nul", IN("a\nb\0c\n"), NULL, 0, 0 },
	/* max 10 bytes with the CRLF: 8 fit, 9 do not, whatever the line end was */
	{ "line at max", IN("12345678\n"), S("12345678\r\n"), 0 },
	{ "line over max", IN("123456789\n"), NULL, 0, 0 },
	{ "line over max, crlf", IN("123456789\r\n"), NULL, 0, 0 },
	{ "line over max, last", IN("123456789"), NULL, 0, 0 },
	{ "long line split by cr", IN("12345678\r12345678\n"), S("12345678\r\n12345678\r\n"), 0 },
};

static void
run_text(size_t i, const size_t *cuts, size_t ncuts)
{
	struct eml_text t;
	struct buf out;
	size_t prev = 0;
	int r = 0;

	buf_init(&out, 1024);
	eml_text_init(&t, 10);
	for (size_t k = 0; k <= ncuts && r == 0; k++) {
		size_t to = k < ncuts ? cuts[k] : texts[i].len;

		r = eml_text_feed(&t, texts[i].in + prev, to - prev, &out);
		prev = to;
	}
	if (r == 0)
		r = eml_text_end(&t, &out);
	if (texts[i].want == NULL) {
		if (r != -1 || t.err[0] == '\0')
			fail_msg("%s: accepted", texts[i].name);
	} else if (r != 0 || out.len != texts[i].want_len ||
	    (out.len > 0 && memcmp(out.data, texts[i].want, out.len) != 0) ||
	    t.is_8bit != texts[i].is_8bit) {
		fail_msg("%s: r=%d err=%s out=%.*s", texts[i].name, r, t.err, (int)out.len,
		    out.data ? (const char *)out.data : "");
	}
	buf_clear(&out);
}

static void
test_text(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		size_t cut, ones[64];

		run_text(i, NULL, 0);
		for (cut = 0; cut <= texts[i].len; cut++)
			run_text(i, &cut, 1);
		assert_true(texts[i].len < 64);
		for (size_t k = 0; k < texts[i].len; k++)
			ones[k] = k;
		run_text(i, ones, texts[i].len);
	}
}

static void
test_text_full(void **state)
{
	struct eml_text t;
	struct buf out;

	(void)state;
	buf_init(&out, 4);
	eml_text_init(&t, 1000);
	assert_int_equal(eml_text_feed(&t, IN("abc\n"), &out), -1);
	assert_non_null(strstr(t.err, "over the size limit"));
	buf_clear(&out);
}

/* ---- pickup files ---- */

static const struct {
	const char *name;
	const uint8_t *in;
	size_t len;
	const char *sender;	/* NULL: refused, and err holds reason */
	const char *rcpts;	/* space-separated */
	const char *content;
	const char *reason;
} files[] = {
	{ "x lines", IN("X-Sender: a@example.org\nX-Receiver: b@example.net\n"
	    "X-Receiver: <c@example.net>\nFrom: z@example.org\nTo: d@example.net\n\nhi\n"),
	    "a@example.org", "b@example.net c@example.net",
	    "From: z@example.org\r\nTo: d@example.net\r\n\r\nhi\r\n", NULL },
	{ "x lines any case", IN("x-sender: a@example.org\r\nX-RECEIVER: b@example.net\r\n"
	    "Subject: s\r\n\r\nhi\r\n"), "a@example.org", "b@example.net",
	    "Subject: s\r\n\r\nhi\r\n", NULL },
	/* below another field, X-Receiver is an ordinary field: kept, and no envelope */
	{ "x lines not at top", IN("Subject: s\nX-Receiver: b@example.net\nFrom: a@example.org\n"
	    "To: c@example.net\n\nhi\n"), "a@example.org", "c@example.net",
	    "Subject: s\r\nX-Receiver: b@example.net\r\nFrom: a@example.org\r\n"
	    "To: c@example.net\r\n\r\nhi\r\n", NULL },
	{ "x sender only", IN("X-Sender: a@example.org\nTo: b@example.net\n\nhi\n"),
	    "a@example.org", "b@example.net", "To: b@example.net\r\n\r\nhi\r\n", NULL },
	{ "x receiver only", IN("X-Receiver: b@example.net\nFrom: A <a@example.org>\n\nhi\n"),
	    "a@example.org", "b@example.net", "From: A <a@example.org>\r\n\r\nhi\r\n", NULL },
	{ "null sender", IN("X-Sender: <>\nX-Receiver: b@example.net\n\nhi\n"), "",
	    "b@example.net", "\r\nhi\r\n", NULL },
	{ "header envelope", IN("From: \"Last, First\" <a@example.org>\nTo: b@example.net, "
	    "C <c@example.net>\nCc: (comment) d@example.net\nBcc: e@example.net\nSubject: s\n\nhi\n"),
	    "a@example.org", "b@example.net c@example.net d@example.net e@example.net",
	    "From: \"Last, First\" <a@example.org>\r\nTo: b@example.net, C <c@example.net>\r\n"
	    "Cc: (comment) d@example.net\r\nSubject: s\r\n\r\nhi\r\n", NULL },
	{ "sender field wins", IN("From: a@example.org, b@example.org\nSender: s@example.org\n"
	    "To: c@example.net\n\n"), "s@example.org", "c@example.net",
	    "From: a@example.org, b@example.org\r\nSender: s@example.org\r\nTo: c@example.net\r\n"
	    "\r\n", NULL },
	{ "folded and group", IN("From: a@example.org\nTo: friends: b@example.net,\n"
	    "  c@example.net;, d@example.net\nBcc:\n e@example.net\n\nbody\n"),
	    "a@example.org", "b@example.net c@example.net d@example.net e@example.net",
	    "From: a@example.org\r\nTo: friends: b@example.net,\r\n  c@example.net;, "
	    "d@example.net\r\n\r\nbody\r\n", NULL },
	/* Bcc goes even when X-Receiver gives the recipients: blind copies stay blind */
	{ "bcc removed with x lines", IN("X-Receiver: b@example.net\nFrom: a@example.org\n"
	    "Bcc: secret@example.net\nSubject: s\n\nhi\n"), "a@example.org", "b@example.net",
	    "From: a@example.org\r\nSubject: s\r\n\r\nhi\r\n", NULL },
	{ "mbox from line", IN("From a@example.org Mon Jan  1 00:00:00 2024\nFrom: a@example.org\n"
	    "To: b@example.net\n\nhi\n"), "a@example.org", "b@example.net",
	    "From: a@example.org\r\nTo: b@example.net\r\n\r\nhi\r\n", NULL },
	/* only X lines: what is left has no header section; the core adds the empty line */
	{ "no header section", IN("X-Sender: a@example.org\nX-Receiver: b@example.net\n"
	    "just a body\nline 2\n"), "a@example.org", "b@example.net",
	    "just a body\r\nline 2\r\n", NULL },
	{ "body lines are not fields", IN("From: a@example.org\nTo: b@example.net\n\n"
	    "To: c@example.net\nBcc: d@example.net\n"), "a@example.org", "b@example.net",
	    "From: a@example.org\r\nTo: b@example.net\r\n\r\nTo: c@example.net\r\n"
	    "Bcc: d@example.net\r\n", NULL },
	/* the envelope gets the IDN form (A-labels), as sendmail gives it; the header is kept */
	{ "utf8", IN("From: a@example.org\nTo: \xc3\xb8@b\xc3\xa6r.example\n\nhi\n"),
	    "a@example.org", "\xc3\xb8@xn--br-1ia.example",
	    "From: a@example.org\r\nTo: \xc3\xb8@b\xc3\xa6r.example\r\n\r\nhi\r\n", NULL },
	/* names without a domain get the daemon's (the first local domain), as in sendmail */
	{ "bare names", IN("From: app\nTo: root, Bob <bob>\nCc: postmaster\n\n"),
	    "app@" DOM, "root@" DOM " bob@" DOM " postmaster@" DOM,
	    "From: app\r\nTo: root, Bob <bob>\r\nCc: postmaster\r\n\r\n", NULL },
	{ "bare x lines", IN("X-Sender: app\nX-Receiver: root\n\n"), "app@" DOM, "root@" DOM,
	    "\r\n", NULL },
	/* a list GMime reads only in part fails the file: the rest would be lost unseen */
	{ "unreadable to", IN("From: a@example.org\nTo: b@example.net, <c@example.net\n\n"),
	    NULL, NULL, NULL, "To: bad address list (an address in it cannot be read)" },
	{ "unreadable bcc", IN("From: a@example.org\nTo: b@example.net\n"
	    "bcc: <c@example.net\n\n"), NULL, NULL, NULL, "Bcc: bad address list" },
	{ "bad address in cc", IN("From: a@example.org\nTo: b@example.net\n"
	    "Cc: c@@example.net\n\n"), NULL, NULL, NULL, "Cc: bad address" },
	{ "unreadable x receiver", IN("X-Receiver: b@example.net, <c@example.net\n"
	    "From: a@example.org\n\n"), NULL, NULL, NULL, "X-Receiver: bad address list" },
	/* beside X-Receiver, To is the message's own business: it fails nothing */
	{ "unreadable to with x lines", IN("X-Receiver: b@example.net\nFrom: a@example.org\n"
	    "To: b@example.net, <c@example.net\n\n"), "a@example.org", "b@example.net",
	    "From: a@example.org\r\nTo: b@example.net, <c@example.net\r\n\r\n", NULL },
	{ "bad x sender", IN("X-Sender: a@@example.org\nX-Receiver: b@example.net\n\n"), NULL,
	    NULL, NULL, "X-Sender: bad address" },
	/* a Sender that cannot be read is not replaced by From unseen */
	{ "unreadable sender", IN("From: a@example.org\nSender: <s@example.org\n"
	    "To: b@example.net\n\n"), NULL, NULL, NULL, "Sender: bad address list" },
	{ "two senders", IN("From: a@example.org\nSender: s@example.org, t@example.org\n"
	    "To: b@example.net\n\n"), NULL, NULL, NULL, "Sender: not one address" },
	{ "unreadable from", IN("From: a@example.org, <z@example.org\nTo: b@example.net\n\n"),
	    NULL, NULL, NULL, "From: bad address list" },
	/* an unreadable From does not matter when X-Sender names the sender */
	{ "unreadable from with x sender", IN("X-Sender: s@example.org\n"
	    "From: a@example.org, <z@example.org\nTo: b@example.net\n\n"), "s@example.org",
	    "b@example.net", "From: a@example.org, <z@example.org\r\nTo: b@example.net\r\n\r\n",
	    NULL },
	{ "no recipient", IN("From: a@example.org\nSubject: s\n\nhi\n"), NULL, NULL, NULL,
	    "no recipient" },
	{ "empty group only", IN("From: a@example.org\nTo: undisclosed-recipients:;\n\nhi\n"),
	    NULL, NULL, NULL, "no recipient" },
	{ "no sender", IN("To: b@example.net\n\nhi\n"), NULL, NULL, NULL, "no sender" },
	{ "two x senders in one", IN("X-Sender: a@example.org, b@example.org\n"
	    "X-Receiver: c@example.net\n\n"), NULL, NULL, NULL, "X-Sender" },
	{ "empty file", IN(""), NULL, NULL, NULL, "no sender" },
	{ "not a message", IN("\x7f" "ELF\x02\x01\x01\0\0\0"), NULL, NULL, NULL, "NUL" },
	/* found by fuzz_eml: the lines before a bad one must not stay in content */
	{ "nul on line 2", IN("From: a@example.org\nTo: b@example.net\0\n\n"), NULL, NULL, NULL,
	    "line 2: NUL" },
	/* with X-Receiver, a long To list is the header's business, not the envelope's */
	{ "long to with x lines", IN("X-Receiver: b@example.net\nFrom: a@example.org\nTo: 1@x.example, "
	    "2@x.example, 3@x.example, 4@x.example, 5@x.example\n\n"), "a@example.org", "b@example.net",
	    "From: a@example.org\r\nTo: 1@x.example, 2@x.example, 3@x.example, 4@x.example, "
	    "5@x.example\r\n\r\n", NULL },
	{ "too many", IN("From: a@example.org\nTo: 1@x.example, 2@x.example, 3@x.example, "
	    "4@x.example, 5@x.example\n\n"), NULL, NULL, NULL, "more than 4 recipients" },
};

static void
test_files(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		struct eml_env env;
		struct buf content, rcpts;
		char err[128] = "";
		int r;

		buf_init(&content, 4096);
		buf_init(&rcpts, 4096);
		/* something before: the parse appends, and on failure leaves it as it was */
		assert_int_equal(buf_append(&content, "X", 1), 0);
		r = eml_parse(files[i].in, files[i].len, 1000, 4, DOM, &env, &content, err,
		    sizeof(err));
		if (files[i].sender == NULL) {
			if (r != -1 || strstr(err, files[i].reason) == NULL || content.len != 1)
				fail_msg("%s: r=%d err=%s", files[i].name, r, err);
		} else {
			for (size_t k = 0; r == 0 && k < env.nrcpts; k++)
				assert_int_equal(buf_printf(&rcpts, "%s%s", k ? " " : "", env.rcpts[k]), 0);
			if (r != 0 || strcmp(env.sender, files[i].sender) != 0 ||
			    strcmp(buf_cstr(&rcpts), files[i].rcpts) != 0 ||
			    content.len != 1 + strlen(files[i].content) ||
			    memcmp(content.data + 1, files[i].content, content.len - 1) != 0)
				fail_msg("%s: r=%d err=%s sender=%s rcpts=%s content=%.*s", files[i].name,
				    r, err, r == 0 ? env.sender : "-", buf_cstr(&rcpts),
				    (int)content.len, (const char *)content.data);
		}
		eml_env_clear(&env);
		buf_clear(&content);
		buf_clear(&rcpts);
	}
}

static void
test_eight_bit_flag(void **state)
{
	struct eml_env env;
	struct buf content;
	char err[128];

	(void)state;
	buf_init(&content, 4096);
	assert_int_equal(eml_parse(IN("From: a@example.org\nTo: b@example.net\n\n\xe2\x82\xac\n"),
	    1000, 10, DOM, &env, &content, err, sizeof(err)), 0);
	assert_true(env.is_8bit);
	assert_false(env.is_from_x_lines);
	eml_env_clear(&env);
	buf_clear(&content);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_text),
		cmocka_unit_test(test_text_full),
		cmocka_unit_test(test_files),
		cmocka_unit_test(test_eight_bit_flag),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
