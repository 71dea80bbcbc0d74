/*
 * test_cmd.c - the command line parser (src/smtp/cmd.c).
 * One table spells out the bytes of every case: each verb, verb case, the
 * MAIL/RCPT grammar (paths, quoted '>', parameters), framing errors (bare
 * CR, bare LF, NUL), 8-bit verbs and arguments, and line lengths at the
 * limit. Every case is parsed whole, then again with the input cut at each
 * byte boundary, from exact-size heap copies so that AddressSanitizer sees
 * any read past the bytes given. A stream model (the way conn.c drives the
 * parser) checks that pipelined input gives the same commands however it is
 * cut into reads.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smtp/smtp.h"

#define IN(s) (const uint8_t *)(s), sizeof(s) - 1
/* the length of a spelled-out prefix, for used_out */
#define U(s) (sizeof(s) - 1)
#define ALL ((size_t)-1)	/* used_out is the whole input */
#define MAX_LINE 512		/* RFC 5321 4.5.3.1.4 */

struct cmd_case {
	const char *name;
	const uint8_t *in;
	size_t len;
	enum smtp_parse want;
	enum smtp_verb verb;
	enum smtp_cmd_err err;
	const char *arg;	/* NULL: not checked */
	const char *path;	/* NULL: empty */
	const char *params;	/* "KEY=VALUE KEY", NULL: none */
	int has_8bit;
	size_t used;		/* 0: ALL for OK/BAD/TOO_LONG, 0 for MORE */
	size_t max;		/* max_line_bytes; 0: MAX_LINE */
};

#define OK	SMTP_PARSE_OK
#define BAD	SMTP_PARSE_BAD
#define MORE	SMTP_PARSE_MORE
#define LONG	SMTP_PARSE_TOO_LONG

static const struct cmd_case cases[] = {
	/* ---- every verb ---- */
	{ "helo", IN("HELO client.test\r\n"), OK, .verb = SMTP_CMD_HELO, .arg = "client.test" },
	{ "ehlo", IN("EHLO client.test\r\n"), OK, .verb = SMTP_CMD_EHLO, .arg = "client.test" },
	{ "mail", IN("MAIL FROM:<a@b.test>\r\n"), OK, .verb = SMTP_CMD_MAIL,
	  .arg = "FROM:<a@b.test>", .path = "a@b.test" },
	{ "rcpt", IN("RCPT TO:<c@d.test>\r\n"), OK, .verb = SMTP_CMD_RCPT,
	  .arg = "TO:<c@d.test>", .path = "c@d.test" },
	{ "data", IN("DATA\r\n"), OK, .verb = SMTP_CMD_DATA, .arg = "" },
	{ "rset", IN("RSET\r\n"), OK, .verb = SMTP_CMD_RSET, .arg = "" },
	{ "noop", IN("NOOP\r\n"), OK, .verb = SMTP_CMD_NOOP, .arg = "" },
	{ "quit", IN("QUIT\r\n"), OK, .verb = SMTP_CMD_QUIT, .arg = "" },
	{ "help", IN("HELP\r\n"), OK, .verb = SMTP_CMD_HELP, .arg = "" },
	{ "help arg", IN("HELP MAIL\r\n"), OK, .verb = SMTP_CMD_HELP, .arg = "MAIL" },
	{ "vrfy", IN("VRFY user\r\n"), OK, .verb = SMTP_CMD_VRFY, .arg = "user" },
	{ "expn", IN("EXPN list\r\n"), OK, .verb = SMTP_CMD_EXPN, .arg = "list" },
	{ "turn", IN("TURN\r\n"), OK, .verb = SMTP_CMD_TURN, .arg = "" },
	{ "starttls", IN("STARTTLS\r\n"), OK, .verb = SMTP_CMD_STARTTLS, .arg = "" },
	{ "auth", IN("AUTH PLAIN AGEAYg==\r\n"), OK, .verb = SMTP_CMD_AUTH, .arg = "PLAIN AGEAYg==" },
	{ "bdat", IN("BDAT 100 LAST\r\n"), OK, .verb = SMTP_CMD_BDAT, .arg = "100 LAST" },

	/* ---- RFC 5321 2.4: verbs and keywords in any case ---- */
	{ "ehlo lower", IN("ehlo client.test\r\n"), OK, .verb = SMTP_CMD_EHLO, .arg = "client.test" },
	{ "mail mixed", IN("MaIl fRoM:<a@b.test>\r\n"), OK, .verb = SMTP_CMD_MAIL,
	  .path = "a@b.test" },
	{ "rcpt lower", IN("rcpt to:<c@d.test>\r\n"), OK, .verb = SMTP_CMD_RCPT, .path = "c@d.test" },
	{ "starttls lower", IN("starttls\r\n"), OK, .verb = SMTP_CMD_STARTTLS },
	{ "quit mixed", IN("qUiT\r\n"), OK, .verb = SMTP_CMD_QUIT },

	/* ---- the verb ends at SP or the line end ---- */
	{ "verb prefix", IN("MAILX FROM:<a@b.test>\r\n"), OK, .verb = SMTP_CMD_UNKNOWN,
	  .arg = "FROM:<a@b.test>" },
	{ "verb longer", IN("QUITX\r\n"), OK, .verb = SMTP_CMD_UNKNOWN, .arg = "" },
	{ "verb shorter", IN("QUI\r\n"), OK, .verb = SMTP_CMD_UNKNOWN },
	{ "unknown verb", IN("XYZZY plugh\r\n"), OK, .verb = SMTP_CMD_UNKNOWN, .arg = "plugh" },
	{ "tab is not SP", IN("NOOP\tx\r\n"), OK, .verb = SMTP_CMD_UNKNOWN, .arg = "" },
	{ "empty line", IN("\r\n"), OK, .verb = SMTP_CMD_UNKNOWN, .arg = "" },
	{ "only SP", IN(" \r\n"), OK, .verb = SMTP_CMD_UNKNOWN, .arg = "" },
	{ "SP then nothing", IN("DATA \r\n"), OK, .verb = SMTP_CMD_DATA, .arg = "" },
	{ "arg kept as sent", IN("NOOP  a b  \r\n"), OK, .verb = SMTP_CMD_NOOP, .arg = " a b  " },
	{ "one line of two", IN("NOOP\r\nQUIT\r\n"), OK, .verb = SMTP_CMD_NOOP, .arg = "",
	  .used = U("NOOP\r\n") },

	/* ---- MAIL and RCPT paths (RFC 5321 4.1.1.2, 4.1.1.3, 4.1.2) ---- */
	{ "space after colon", IN("MAIL FROM: <a@b.test>\r\n"), OK, .verb = SMTP_CMD_MAIL,
	  .path = "a@b.test" },
	{ "spaces after colon", IN("RCPT TO:   <c@d.test>\r\n"), OK, .verb = SMTP_CMD_RCPT,
	  .path = "c@d.test" },
	{ "null path", IN("MAIL FROM:<>\r\n"), OK, .verb = SMTP_CMD_MAIL, .path = "" },
	{ "postmaster", IN("RCPT TO:<Postmaster>\r\n"), OK, .verb = SMTP_CMD_RCPT,
	  .path = "Postmaster" },
	{ "route", IN("RCPT TO:<@a.test,@b.test:c@d.test>\r\n"), OK, .verb = SMTP_CMD_RCPT,
	  .path = "@a.test,@b.test:c@d.test" },
	{ "trailing SP", IN("MAIL FROM:<a@b.test>   \r\n"), OK, .verb = SMTP_CMD_MAIL,
	  .path = "a@b.test" },
	{ "trailing SP HTAB", IN("MAIL FROM:<a@b.test> \t\r\n"), OK, .verb = SMTP_CMD_MAIL,
	  .path = "a@b.test" },
	{ "quoted >", IN("MAIL FROM:<\"a>b\"@x.test>\r\n"), OK, .verb = SMTP_CMD_MAIL,
	  .path = "\"a>b\"@x.test" },
	{ "quoted SP and >", IN("MAIL FROM:<\"a b> c\"@x.test> SIZE=1\r\n"), OK, .verb = SMTP_CMD_MAIL,
	  .path = "\"a b> c\"@x.test", .params = "SIZE=1" },
	{ "escaped >", IN("MAIL FROM:<a\\>b@x.test>\r\n"), OK, .verb = SMTP_CMD_MAIL,
	  .path = "a\\>b@x.test" },
	{ "escaped quote in quotes", IN("MAIL FROM:<\"a\\\"> b\"@x.test>\r\n"), OK, .verb = SMTP_CMD_MAIL,
	  .path = "\"a\\\"> b\"@x.test" },
	{ "unterminated quote", IN("MAIL FROM:<\"a>\r\n"), BAD, .verb = SMTP_CMD_MAIL, .err = SMTP_ERR_SYNTAX },
	{ "backslash at end", IN("MAIL FROM:<a\\>\r\n"), BAD, .verb = SMTP_CMD_MAIL, .err = SMTP_ERR_SYNTAX },
	{ "no brackets", IN("MAIL FROM:a@b.test\r\n"), BAD, .verb = SMTP_CMD_MAIL, .err = SMTP_ERR_SYNTAX,
	  .arg = "FROM:a@b.test" },
	{ "no >", IN("MAIL FROM:<a@b.test\r\n"), BAD, .verb = SMTP_CMD_MAIL, .err = SMTP_ERR_SYNTAX },
	{ "no colon", IN("MAIL FROM<a@b.test>\r\n"), BAD, .verb = SMTP_CMD_MAIL, .err = SMTP_ERR_SYNTAX },
	{ "SP before colon", IN("MAIL FROM :<a@b.test>\r\n"), BAD, .verb = SMTP_CMD_MAIL, .err = SMTP_ERR_SYNTAX },
	{ "MAIL TO", IN("MAIL TO:<a@b.test>\r\n"), BAD, .verb = SMTP_CMD_MAIL, .err = SMTP_ERR_SYNTAX },
	{ "RCPT FROM", IN("RCPT FROM:<a@b.test>\r\n"), BAD, .verb = SMTP_CMD_RCPT, .err = SMTP_ERR_SYNTAX },
	{ "MAIL alone", IN("MAIL\r\n"), BAD, .verb = SMTP_CMD_MAIL, .err = SMTP_ERR_SYNTAX, .arg = "" },
	{ "MAIL SP", IN("MAIL \r\n"), BAD, .verb = SMTP_CMD_MAIL, .err = SMTP_ERR_SYNTAX },
	{ "RCPT TO: only", IN("RCPT TO:\r\n"), BAD, .verb = SMTP_CMD_RCPT, .err = SMTP_ERR_SYNTAX },
	{ "two SP after verb", IN("MAIL  FROM:<a@b.test>\r\n"), BAD, .verb = SMTP_CMD_MAIL, .err = SMTP_ERR_SYNTAX },
	{ "garbage after >", IN("MAIL FROM:<a@b.test>x\r\n"), BAD, .verb = SMTP_CMD_MAIL, .err = SMTP_ERR_SYNTAX },
	{ "two paths", IN("MAIL FROM:<a@b.test><c@d.test>\r\n"), BAD, .verb = SMTP_CMD_MAIL,
	  .err = SMTP_ERR_SYNTAX },
	{ "HTAB separator", IN("MAIL FROM:<a@b.test>\tSIZE=1\r\n"), BAD, .verb = SMTP_CMD_MAIL,
	  .err = SMTP_ERR_SYNTAX },

	/* ---- ESMTP parameters (RFC 5321 4.1.2 esmtp-param, RFC 6531 3.3) ---- */
	{ "SIZE", IN("MAIL FROM:<a@b.test> SIZE=123\r\n"), OK, .verb = SMTP_CMD_MAIL,
	  .path = "a@b.test", .params = "SIZE=123" },
	{ "BODY SMTPUTF8", IN("MAIL FROM:<a@b.test> BODY=8BITMIME SMTPUTF8\r\n"), OK, .verb = SMTP_CMD_MAIL, .path = "a@b.test", .params = "BODY=8BITMIME SMTPUTF8" },
	{ "many SP", IN("MAIL FROM:<a@b.test>  SIZE=1   body=7BIT  \r\n"), OK, .verb = SMTP_CMD_MAIL,
	  .path = "a@b.test", .params = "SIZE=1 body=7BIT" },
	{ "huge SIZE kept as text", IN("MAIL FROM:<a@b.test> SIZE=99999999999999999999\r\n"), OK, .verb = SMTP_CMD_MAIL, .path = "a@b.test", .params = "SIZE=99999999999999999999" },
	{ "keyword with -", IN("MAIL FROM:<> X-F00-1=a+b/c<d\r\n"), OK, .verb = SMTP_CMD_MAIL,
	  .path = "", .params = "X-F00-1=a+b/c<d" },
	{ "rcpt params", IN("RCPT TO:<c@d.test> NOTIFY=NEVER ORCPT=rfc822;c@d.test\r\n"), OK, .verb = SMTP_CMD_RCPT, .path = "c@d.test", .params = "NOTIFY=NEVER ORCPT=rfc822;c@d.test" },
	{ "8-bit value", IN("MAIL FROM:<a@b.test> ENVID=\xc3\xa9t\xc3\xa9\r\n"), OK, .verb = SMTP_CMD_MAIL,
	  .path = "a@b.test", .params = "ENVID=\xc3\xa9t\xc3\xa9", .has_8bit = 1 },
	{ "8-bit path", IN("MAIL FROM:<\xc3\xa9@b.test> SMTPUTF8\r\n"), OK, .verb = SMTP_CMD_MAIL,
	  .path = "\xc3\xa9@b.test", .params = "SMTPUTF8", .has_8bit = 1 },
	{ "8 params", IN("MAIL FROM:<> A B C D E F G H=8\r\n"), OK, .verb = SMTP_CMD_MAIL,
	  .path = "", .params = "A B C D E F G H=8" },
	{ "9 params", IN("MAIL FROM:<> A B C D E F G H I\r\n"), BAD, .verb = SMTP_CMD_MAIL,
	  .err = SMTP_ERR_TOO_MANY_PARAMS },
	{ "9 params, one bad", IN("MAIL FROM:<> A B C D E F G H I =\r\n"), BAD, .verb = SMTP_CMD_MAIL,
	  .err = SMTP_ERR_SYNTAX },
	{ "empty value", IN("MAIL FROM:<a@b.test> SIZE=\r\n"), BAD, .verb = SMTP_CMD_MAIL, .err = SMTP_ERR_SYNTAX },
	{ "no keyword", IN("MAIL FROM:<a@b.test> =1\r\n"), BAD, .verb = SMTP_CMD_MAIL, .err = SMTP_ERR_SYNTAX },
	{ "keyword starts with -", IN("MAIL FROM:<a@b.test> -X=1\r\n"), BAD, .verb = SMTP_CMD_MAIL,
	  .err = SMTP_ERR_SYNTAX },
	{ "keyword with _", IN("MAIL FROM:<a@b.test> SI_ZE=1\r\n"), BAD, .verb = SMTP_CMD_MAIL,
	  .err = SMTP_ERR_SYNTAX },
	{ "= in value", IN("MAIL FROM:<a@b.test> SIZE=1=2\r\n"), BAD, .verb = SMTP_CMD_MAIL,
	  .err = SMTP_ERR_SYNTAX },
	{ "== ", IN("MAIL FROM:<a@b.test> SIZE==1\r\n"), BAD, .verb = SMTP_CMD_MAIL, .err = SMTP_ERR_SYNTAX },
	{ "DEL in value", IN("MAIL FROM:<a@b.test> SIZE=1\x7f\r\n"), BAD, .verb = SMTP_CMD_MAIL,
	  .err = SMTP_ERR_SYNTAX },
	{ "control in value", IN("MAIL FROM:<a@b.test> SIZE=\x01\r\n"), BAD, .verb = SMTP_CMD_MAIL,
	  .err = SMTP_ERR_SYNTAX },
	{ "8-bit keyword", IN("MAIL FROM:<a@b.test> \xc3\xa9=1\r\n"), BAD, .verb = SMTP_CMD_MAIL,
	  .err = SMTP_ERR_SYNTAX, .has_8bit = 1 },

	/* ---- framing (RFC 5321 2.3.8): never interpreted ---- */
	{ "bare CR", IN("NOOP\rQUIT\r\n"), BAD, .err = SMTP_ERR_BARE_CR },
	{ "CR CR LF", IN("NOOP\r\r\n"), BAD, .err = SMTP_ERR_BARE_CR },
	{ "bare CR in path", IN("MAIL FROM:<a@b.test>\rRCPT TO:<c@d.test>\r\n"), BAD,
	  .err = SMTP_ERR_BARE_CR },
	{ "bare LF", IN("NOOP\n"), BAD, .err = SMTP_ERR_BARE_LF },
	{ "LF alone", IN("\n"), BAD, .err = SMTP_ERR_BARE_LF },
	{ "bare LF then command", IN("MAIL FROM:<a@b.test>\nRCPT TO:<c@d.test>\r\n"), BAD,
	  .err = SMTP_ERR_BARE_LF, .used = U("MAIL FROM:<a@b.test>\n") },
	{ "LF CR LF", IN("NOOP\n\r\n"), BAD, .err = SMTP_ERR_BARE_LF, .used = U("NOOP\n") },
	{ "NUL", IN("NOOP\0x\r\n"), BAD, .err = SMTP_ERR_NUL },
	{ "NUL alone", IN("\0\r\n"), BAD, .err = SMTP_ERR_NUL },
	{ "NUL in path", IN("MAIL FROM:<a\0@b.test>\r\n"), BAD, .err = SMTP_ERR_NUL },
	{ "NUL then bare LF", IN("NOOP\0\n"), BAD, .err = SMTP_ERR_BARE_LF },
	{ "NUL before bare CR", IN("NO\0P\rX\r\n"), BAD, .err = SMTP_ERR_NUL },
	{ "8-bit verb", IN("NO\xc3\x96P\r\n"), BAD, .err = SMTP_ERR_8BIT_VERB },
	{ "8-bit byte alone", IN("\x80\r\n"), BAD, .err = SMTP_ERR_8BIT_VERB },
	{ "8-bit verb, args", IN("MAIL\xff FROM:<a@b.test>\r\n"), BAD, .err = SMTP_ERR_8BIT_VERB },
	{ "8-bit arg", IN("NOOP \xc3\xa9\r\n"), OK, .verb = SMTP_CMD_NOOP, .arg = "\xc3\xa9", .has_8bit = 1 },
	{ "8-bit helo", IN("HELO \xff\xfe\r\n"), OK, .verb = SMTP_CMD_HELO, .arg = "\xff\xfe", .has_8bit = 1 },
	{ "8-bit unknown", IN("X \x80\r\n"), OK, .verb = SMTP_CMD_UNKNOWN, .arg = "\x80", .has_8bit = 1 },

	/* ---- incomplete ---- */
	{ "no line end", IN("NOOP"), .want = MORE },
	{ "CR at the end", IN("NOOP\r"), .want = MORE },
	{ "one byte", IN("N"), .want = MORE },

	/* ---- RFC 5321 4.5.3.1.4: line length, CRLF included ---- */
	{ "exactly the limit", IN("NOOP 123456789\r\n"), OK, .verb = SMTP_CMD_NOOP, .arg = "123456789",
	  .max = 16 },
	{ "one over", IN("NOOP 1234567890\r\n"), LONG, .used = 16, .max = 16 },
	{ "over, no LF", IN("NOOP 1234567890\r"), LONG, .max = 16 },
	{ "over, no CR", IN("NOOP 12345678901"), LONG, .max = 16 },
	{ "far over", IN("NOOP 1234567890123456789\r\n"), LONG,
	  .used = U("NOOP 1234567890123456789\r"), .max = 16 },
	{ "under, waiting", IN("NOOP 123456789"), MORE, .max = 16 },
	{ "under, CR waiting", IN("NOOP 123456789\r"), MORE, .max = 16 },
	{ "bare LF at the limit", IN("NOOP 1234567890\n"), BAD, .err = SMTP_ERR_BARE_LF,
	  .max = 16 },
	{ "too long then command", IN("NOOP 1234567890\r\nQUIT\r\n"), LONG, .used = 16,
	  .max = 16 },
	{ "MAIL at the limit", IN("MAIL FROM:<a@b.test> SIZE=12\r\n"), OK, .verb = SMTP_CMD_MAIL,
	  .path = "a@b.test", .params = "SIZE=12", .max = 30 },
	{ "MAIL one over", IN("MAIL FROM:<a@b.test> SIZE=123\r\n"), LONG, .used = 30, .max = 30 },
};

/* ---- helpers ---- */

static uint8_t *
copy_exact(const uint8_t *in, size_t len)
{
	/* malloc(0) may return NULL; one spare byte is never handed over */
	uint8_t *p = malloc(len ? len : 1);

	assert_non_null(p);
	if (len)
		memcpy(p, in, len);
	return p;
}

static size_t
max_of(const struct cmd_case *c)
{
	return c->max ? c->max : MAX_LINE;
}

static size_t
want_used(const struct cmd_case *c)
{
	if (c->want == SMTP_PARSE_MORE)
		return 0;
	return c->used ? c->used : c->len;
}

static int
slice_is(struct slice s, const char *want)
{
	size_t n = strlen(want);

	return s.len == n && (n == 0 || memcmp(s.p, want, n) == 0);
}

/* Renders the parameters as "KEY=VALUE KEY" into out. */
static void
render_params(const struct smtp_cmd *cmd, char *out, size_t size)
{
	struct buf b;
	const char *s;

	buf_init(&b, size - 1);
	for (size_t i = 0; i < cmd->nparams; i++) {
		const struct smtp_param *pm = &cmd->params[i];

		if (i > 0)
			assert_int_equal(buf_append_byte(&b, ' '), 0);
		assert_int_equal(buf_append(&b, pm->key.p, pm->key.len), 0);
		if (pm->has_value) {
			assert_int_equal(buf_append_byte(&b, '='), 0);
			assert_int_equal(buf_append(&b, pm->value.p, pm->value.len), 0);
		} else
			assert_int_equal(pm->value.len, 0);
	}
	s = buf_cstr(&b);
	assert_true(strlen(s) < size);
	memcpy(out, s, strlen(s) + 1);
	buf_clear(&b);
}

static int
within(struct slice s, const uint8_t *lo, const uint8_t *hi)
{
	return s.len == 0 || (s.p >= lo && s.p + s.len <= hi);
}

/* What every result must satisfy, whatever the input. */
static void
check_invariants(const char *name, const uint8_t *in, size_t len, size_t max,
    enum smtp_parse r, const struct smtp_cmd *cmd, size_t used)
{
	const uint8_t *end = in + (used >= 2 ? used - 2 : 0);

	if (used > len)
		fail_msg("%s: used %zu > len %zu", name, used, len);
	switch (r) {
	case SMTP_PARSE_MORE:
		if (used != 0 || len >= max)
			fail_msg("%s: MORE with used %zu, len %zu", name, used, len);
		break;
	case SMTP_PARSE_TOO_LONG:
		if (len < max || used > len || (used < len && in[used] != '\n'))
			fail_msg("%s: TOO_LONG with used %zu, len %zu", name, used, len);
		break;
	case SMTP_PARSE_OK:
	case SMTP_PARSE_BAD:
		if (used == 0 || used > max || in[used - 1] != '\n' ||
		    memchr(in, '\n', used - 1) != NULL)
			fail_msg("%s: line of %zu bytes is not one line", name, used);
		if (r == SMTP_PARSE_OK && (used < 2 || in[used - 2] != '\r' ||
		    cmd->err != SMTP_ERR_NONE))
			fail_msg("%s: OK without CRLF or with an error", name);
		if (r == SMTP_PARSE_BAD && cmd->err == SMTP_ERR_NONE)
			fail_msg("%s: BAD without a reason", name);
		if (!within(cmd->verb_text, in, end) || !within(cmd->arg, in, end) ||
		    !within(cmd->path, in, end))
			fail_msg("%s: a slice points outside the line", name);
		if (cmd->nparams > SMTP_MAX_PARAMS)
			fail_msg("%s: %zu params", name, cmd->nparams);
		for (size_t i = 0; i < cmd->nparams; i++)
			if (!within(cmd->params[i].key, in, end) ||
			    !within(cmd->params[i].value, in, end) || cmd->params[i].key.len == 0)
				fail_msg("%s: param %zu outside the line", name, i);
		if ((cmd->path.len > 0 || cmd->nparams > 0) && r == SMTP_PARSE_OK &&
		    cmd->verb != SMTP_CMD_MAIL && cmd->verb != SMTP_CMD_RCPT)
			fail_msg("%s: a path or params on %s", name, smtp_verb_name(cmd->verb));
		break;
	default:
		fail_msg("%s: result %d", name, (int)r);
	}
}

/* Checks one parse of the whole case against the table row. */
static void
check_case(const struct cmd_case *c, enum smtp_parse r, const struct smtp_cmd *cmd,
    size_t used)
{
	char params[256];

	if (r != c->want)
		fail_msg("%s: result %d, want %d", c->name, (int)r, (int)c->want);
	if (used != want_used(c))
		fail_msg("%s: used %zu, want %zu", c->name, used, want_used(c));
	if (r != SMTP_PARSE_OK && r != SMTP_PARSE_BAD)
		return;
	if (cmd->verb != c->verb)
		fail_msg("%s: verb %s, want %s", c->name, smtp_verb_name(cmd->verb),
		    smtp_verb_name(c->verb));
	if (cmd->err != c->err)
		fail_msg("%s: err %d, want %d", c->name, (int)cmd->err, (int)c->err);
	if (cmd->has_8bit != c->has_8bit)
		fail_msg("%s: has_8bit %d", c->name, cmd->has_8bit);
	if (c->arg != NULL && !slice_is(cmd->arg, c->arg))
		fail_msg("%s: arg '%.*s', want '%s'", c->name, (int)cmd->arg.len,
		    (const char *)cmd->arg.p, c->arg);
	if (!slice_is(cmd->path, c->path ? c->path : ""))
		fail_msg("%s: path '%.*s'", c->name, (int)cmd->path.len,
		    (const char *)cmd->path.p);
	render_params(cmd, params, sizeof(params));
	if (strcmp(params, c->params ? c->params : "") != 0)
		fail_msg("%s: params '%s'", c->name, params);
}

/* 1 if two results of the same bytes (at in_a and in_b) are the same. */
static int
cmd_same(const uint8_t *in_a, const struct smtp_cmd *a, const uint8_t *in_b,
    const struct smtp_cmd *b)
{
#define SAME_SLICE(x, y) ((x).len == (y).len && \
	((x).len == 0 || (x).p - in_a == (y).p - in_b))
	if (a->verb != b->verb || a->err != b->err || a->has_8bit != b->has_8bit ||
	    a->nparams != b->nparams)
		return 0;
	if (!SAME_SLICE(a->verb_text, b->verb_text) || !SAME_SLICE(a->arg, b->arg) ||
	    !SAME_SLICE(a->path, b->path))
		return 0;
	for (size_t i = 0; i < a->nparams; i++)
		if (!SAME_SLICE(a->params[i].key, b->params[i].key) ||
		    !SAME_SLICE(a->params[i].value, b->params[i].value) ||
		    a->params[i].has_value != b->params[i].has_value)
			return 0;
	return 1;
#undef SAME_SLICE
}

/* ---- the stream model: how conn.c drives the parser ---- */

struct ev {
	enum smtp_parse r;
	size_t off;		/* where the line starts in the stream */
	size_t used;		/* 0 for TOO_LONG: it depends on what had arrived */
	struct smtp_cmd cmd;
	const uint8_t *base;	/* the copy cmd's slices point into, at offset 0 */
};

struct stream {
	struct ev ev[64];
	size_t nev;
	size_t start;		/* first byte not consumed */
	int is_skipping;	/* after TOO_LONG: dropping input through the next LF */
	uint8_t *copies[64];
	size_t ncopies;
};

/*
 * Feeds what has arrived so far, in[0..avail), from a new exact-size copy:
 * parses every complete line, skips overlong ones through their LF, and
 * stops at MORE.
 */
static void
stream_feed(struct stream *s, const uint8_t *in, size_t avail, size_t max)
{
	uint8_t *copy = copy_exact(in, avail);

	assert_true(s->ncopies < 64);
	s->copies[s->ncopies++] = copy;
	for (;;) {
		struct smtp_cmd cmd;
		enum smtp_parse r;
		size_t used;

		if (s->is_skipping) {
			const uint8_t *lf = avail > s->start ?
			    memchr(copy + s->start, '\n', avail - s->start) : NULL;

			if (lf == NULL) {
				s->start = avail;
				return;
			}
			s->start = (size_t)(lf - copy) + 1;
			s->is_skipping = 0;
		}
		r = smtp_cmd_parse(copy + s->start, avail - s->start, max, &cmd, &used);
		check_invariants("stream", copy + s->start, avail - s->start, max, r, &cmd, used);
		if (r == SMTP_PARSE_MORE)
			return;
		assert_true(s->nev < 64);
		s->ev[s->nev] = (struct ev){ r, s->start, r == SMTP_PARSE_TOO_LONG ? 0 : used,
		    cmd, copy };
		s->nev++;
		s->start += used;
		if (r == SMTP_PARSE_TOO_LONG)
			s->is_skipping = 1;
	}
}

static void
stream_free(struct stream *s)
{
	for (size_t i = 0; i < s->ncopies; i++)
		free(s->copies[i]);
	s->ncopies = 0;
}

/* Runs in[0..len) through the model, arriving in pieces ending at cuts[]. */
static void
stream_run(struct stream *s, const uint8_t *in, size_t len, size_t max,
    const size_t *cuts, size_t ncuts)
{
	memset(s, 0, sizeof(*s));
	for (size_t i = 0; i < ncuts; i++)
		stream_feed(s, in, cuts[i], max);
	stream_feed(s, in, len, max);
}

static void
stream_expect_same(const char *name, const struct stream *a, const struct stream *b)
{
	if (a->nev != b->nev || a->start != b->start || a->is_skipping != b->is_skipping)
		fail_msg("%s: %zu events ending at %zu, then %zu ending at %zu", name,
		    a->nev, a->start, b->nev, b->start);
	for (size_t i = 0; i < a->nev; i++) {
		const struct ev *x = &a->ev[i], *y = &b->ev[i];

		if (x->r != y->r || x->off != y->off || x->used != y->used ||
		    !cmd_same(x->base + x->off, &x->cmd, y->base + y->off, &y->cmd))
			fail_msg("%s: event %zu differs", name, i);
	}
}

/* ---- tests ---- */

static void
test_table_whole(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct cmd_case *c = &cases[i];
		uint8_t *in = copy_exact(c->in, c->len);
		struct smtp_cmd cmd;
		size_t used;
		enum smtp_parse r = smtp_cmd_parse(in, c->len, max_of(c), &cmd, &used);

		check_invariants(c->name, in, c->len, max_of(c), r, &cmd, used);
		check_case(c, r, &cmd, used);
		free(in);
	}
}

/*
 * Each case cut at every byte boundary: the first part gives MORE unless it
 * already holds a complete line (then the same result as whole) or is
 * already too long; fed the rest, the stream gives what the whole gave.
 */
static void
test_table_split(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct cmd_case *c = &cases[i];
		size_t max = max_of(c);
		struct smtp_cmd whole_cmd;
		size_t whole_used;
		uint8_t *whole = copy_exact(c->in, c->len);
		enum smtp_parse whole_r = smtp_cmd_parse(whole, c->len, max, &whole_cmd, &whole_used);
		struct stream ref, cut;

		stream_run(&ref, c->in, c->len, max, NULL, 0);
		for (size_t k = 1; k < c->len; k++) {
			uint8_t *part = copy_exact(c->in, k);
			size_t scan = k < max ? k : max, used;
			struct smtp_cmd cmd;
			enum smtp_parse r = smtp_cmd_parse(part, k, max, &cmd, &used);

			check_invariants(c->name, part, k, max, r, &cmd, used);
			if (memchr(c->in, '\n', scan) != NULL) {
				if (r != whole_r || used != whole_used ||
				    !cmd_same(whole, &whole_cmd, part, &cmd))
					fail_msg("%s: cut at %zu: not the whole result", c->name, k);
			} else if (k >= max) {
				if (r != SMTP_PARSE_TOO_LONG)
					fail_msg("%s: cut at %zu: %d, want TOO_LONG", c->name, k, (int)r);
			} else if (r != SMTP_PARSE_MORE) {
				fail_msg("%s: cut at %zu: %d, want MORE", c->name, k, (int)r);
			}
			free(part);

			stream_run(&cut, c->in, c->len, max, &k, 1);
			stream_expect_same(c->name, &ref, &cut);
			stream_free(&cut);
		}
		stream_free(&ref);
		free(whole);
	}
}

static const uint8_t pipelined[] =
    "EHLO client.test\r\n"
    "MAIL FROM:<\"a> b\"@x.test> SIZE=123 BODY=8BITMIME\r\n"
    "RCPT TO:<c@d.test>\r\n"
    "RCPT TO:<e@f.test> NOTIFY=NEVER\r\n"
    "DATA\r\n";

/* RFC 2920: a whole group in one read, then the same cut at every pair of points. */
static void
test_pipelined(void **state)
{
	static const enum smtp_verb want[] = {
		SMTP_CMD_EHLO, SMTP_CMD_MAIL, SMTP_CMD_RCPT, SMTP_CMD_RCPT, SMTP_CMD_DATA,
	};
	size_t len = sizeof(pipelined) - 1, off = 0, n = 0;
	struct stream ref, cut;

	(void)state;
	while (off < len) {
		struct smtp_cmd cmd;
		size_t used;

		assert_int_equal(smtp_cmd_parse(pipelined + off, len - off, MAX_LINE, &cmd, &used),
		    SMTP_PARSE_OK);
		assert_true(n < sizeof(want) / sizeof(want[0]));
		assert_int_equal(cmd.verb, want[n]);
		if (n == 1) {
			assert_true(slice_is(cmd.path, "\"a> b\"@x.test"));
			assert_int_equal(cmd.nparams, 2);
		}
		off += used;
		n++;
	}
	assert_int_equal(n, 5);

	stream_run(&ref, pipelined, len, MAX_LINE, NULL, 0);
	assert_int_equal(ref.nev, 5);
	for (size_t a = 1; a < len; a++) {
		for (size_t b = a; b < len; b++) {
			size_t cuts[2] = { a, b };

			stream_run(&cut, pipelined, len, MAX_LINE, cuts, 2);
			stream_expect_same("pipelined", &ref, &cut);
			stream_free(&cut);
		}
	}
	stream_free(&ref);
}

/*
 * An overlong line, then a command in the same read: the command survives
 * because the parser stops before the LF the caller skips through.
 */
static void
test_too_long_then_command(void **state)
{
	static const uint8_t in[] = "NOOP 1234567890\r\nNOOP 123\nQUIT\r\n";
	struct stream s;

	(void)state;
	stream_run(&s, in, sizeof(in) - 1, 16, NULL, 0);
	assert_int_equal(s.nev, 3);
	assert_int_equal(s.ev[0].r, SMTP_PARSE_TOO_LONG);
	assert_int_equal(s.ev[1].r, SMTP_PARSE_BAD);
	assert_int_equal(s.ev[1].cmd.err, SMTP_ERR_BARE_LF);
	assert_int_equal(s.ev[2].r, SMTP_PARSE_OK);
	assert_int_equal(s.ev[2].cmd.verb, SMTP_CMD_QUIT);
	assert_int_equal(s.start, sizeof(in) - 1);
	stream_free(&s);
}

/* The real limit, 512 with CRLF (RFC 5321 4.5.3.1.4), with lines built here. */
static void
test_limit_512(void **state)
{
	uint8_t *line = malloc(MAX_LINE + 1);
	struct smtp_cmd cmd;
	size_t used;

	(void)state;
	assert_non_null(line);
	/* "NOOP " then x up to 510 bytes, then CRLF: 512 in all */
	memcpy(line, "NOOP ", 5);
	memset(line + 5, 'x', MAX_LINE - 7);
	memcpy(line + MAX_LINE - 2, "\r\n", 2);
	assert_int_equal(smtp_cmd_parse(line, MAX_LINE, MAX_LINE, &cmd, &used), SMTP_PARSE_OK);
	assert_int_equal(used, MAX_LINE);
	assert_int_equal(cmd.arg.len, MAX_LINE - 7);
	/* without the LF yet: 511 bytes wait for more */
	assert_int_equal(smtp_cmd_parse(line, MAX_LINE - 1, MAX_LINE, &cmd, &used), SMTP_PARSE_MORE);
	assert_int_equal(used, 0);

	/* one more x: 513 with CRLF */
	memset(line + 5, 'x', MAX_LINE - 6);
	memcpy(line + MAX_LINE - 1, "\r\n", 2);
	assert_int_equal(smtp_cmd_parse(line, MAX_LINE + 1, MAX_LINE, &cmd, &used),
	    SMTP_PARSE_TOO_LONG);
	assert_int_equal(used, MAX_LINE);
	assert_int_equal(line[used], '\n');
	/* the first 512 alone (no LF in them) are already too long */
	assert_int_equal(smtp_cmd_parse(line, MAX_LINE, MAX_LINE, &cmd, &used),
	    SMTP_PARSE_TOO_LONG);
	assert_int_equal(used, MAX_LINE);
	free(line);
}

static void
test_empty_input(void **state)
{
	struct smtp_cmd cmd;
	size_t used = 99;

	(void)state;
	assert_int_equal(smtp_cmd_parse((const uint8_t *)"", 0, MAX_LINE, &cmd, &used),
	    SMTP_PARSE_MORE);
	assert_int_equal(used, 0);
}

static void
test_verb_names(void **state)
{
	static const struct { enum smtp_verb v; const char *name; } names[] = {
		{ SMTP_CMD_UNKNOWN, "UNKNOWN" }, { SMTP_CMD_HELO, "HELO" },
		{ SMTP_CMD_EHLO, "EHLO" }, { SMTP_CMD_MAIL, "MAIL" }, { SMTP_CMD_RCPT, "RCPT" },
		{ SMTP_CMD_DATA, "DATA" }, { SMTP_CMD_RSET, "RSET" }, { SMTP_CMD_NOOP, "NOOP" },
		{ SMTP_CMD_QUIT, "QUIT" }, { SMTP_CMD_HELP, "HELP" }, { SMTP_CMD_VRFY, "VRFY" },
		{ SMTP_CMD_EXPN, "EXPN" }, { SMTP_CMD_TURN, "TURN" },
		{ SMTP_CMD_STARTTLS, "STARTTLS" }, { SMTP_CMD_AUTH, "AUTH" },
		{ SMTP_CMD_BDAT, "BDAT" }, { (enum smtp_verb)999, "UNKNOWN" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		assert_string_equal(smtp_verb_name(names[i].v), names[i].name);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table_whole),
		cmocka_unit_test(test_table_split),
		cmocka_unit_test(test_pipelined),
		cmocka_unit_test(test_too_long_then_command),
		cmocka_unit_test(test_limit_512),
		cmocka_unit_test(test_empty_input),
		cmocka_unit_test(test_verb_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
