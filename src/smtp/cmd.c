/*
 * cmd.c - one SMTP command line from bytes: framing, verb, and the MAIL/RCPT
 * path and ESMTP parameters (RFC 5321 2.3.8, 2.4, 4.1.1, 4.1.2, 4.5.3.1.4;
 * RFC 6531 3.3 for UTF-8 in esmtp-value).
 * Framing is judged before anything else: a line ends with CRLF and holds no
 * other CR, no other LF and no NUL, and a line whose framing is wrong is not
 * interpreted at all, so a peer cannot make us see a command boundary that
 * the next hop would not see.
 * The address inside the path is left to addr.c; whether a verb or a
 * parameter is allowed now, and what its value means, is left to session.c.
 * No I/O, no allocation: every slice in struct smtp_cmd borrows the input.
 */
#include "smtp.h"

#include <string.h>

#include "util/ascii.h"
#include "util/xalloc.h"

/*
 * path_kw: MAIL and RCPT take a keyword, a path and parameters
 * (RFC 5321 4.1.1.2, 4.1.1.3); every other verb takes free text in arg.
 */
static const struct smtp_verb_def {
	const char *name;
	enum smtp_verb verb;
	const char *path_kw;
} verbs[] = {
	{ "HELO",	SMTP_CMD_HELO,		NULL },
	{ "EHLO",	SMTP_CMD_EHLO,		NULL },
	{ "MAIL",	SMTP_CMD_MAIL,		"FROM:" },
	{ "RCPT",	SMTP_CMD_RCPT,		"TO:" },
	{ "DATA",	SMTP_CMD_DATA,		NULL },
	{ "RSET",	SMTP_CMD_RSET,		NULL },
	{ "NOOP",	SMTP_CMD_NOOP,		NULL },
	{ "QUIT",	SMTP_CMD_QUIT,		NULL },
	{ "HELP",	SMTP_CMD_HELP,		NULL },
	{ "VRFY",	SMTP_CMD_VRFY,		NULL },
	{ "EXPN",	SMTP_CMD_EXPN,		NULL },
	{ "TURN",	SMTP_CMD_TURN,		NULL },
	{ "STARTTLS",	SMTP_CMD_STARTTLS,	NULL },
	{ "AUTH",	SMTP_CMD_AUTH,		NULL },
	{ "BDAT",	SMTP_CMD_BDAT,		NULL },
};

static struct slice
slice_at(const uint8_t *p, size_t len)
{
	return (struct slice){ p, len };
}

/*
 * esmtp-value = 1*(%d33-60 / %d62-126) (RFC 5321 4.1.2), extended by
 * RFC 6531 3.3 to UTF8-non-ascii. Whether the UTF-8 is well formed is the
 * session's concern for the parameters it knows; none of them takes UTF-8.
 */
static int
is_value_byte(uint8_t c)
{
	return (c >= 33 && c <= 126 && c != '=') || c >= 0x80;
}

/*
 * Finds the '>' that ends a path starting at p[i] (just after '<'). A '>'
 * inside a quoted string or after a backslash is part of the path
 * (RFC 5321 4.1.2 Quoted-string, quoted-pairSMTP): "<\"a>b\"@x>" is one path.
 * Returns the index of the '>' or n when there is none.
 */
static size_t
path_end(const uint8_t *p, size_t i, size_t n)
{
	int in_quote = 0;

	while (i < n) {
		if (p[i] == '\\') {
			/* whatever follows is literal; addr.c judges whether it may be */
			i += 2;
			continue;
		}
		if (p[i] == '"')
			in_quote = !in_quote;
		else if (p[i] == '>' && !in_quote)
			return i;
		i++;
	}
	return n;
}

/*
 * Parses "FROM:<path> params" (or "TO:") in cmd->arg into cmd->path and
 * cmd->params. Returns SMTP_ERR_NONE or why the arguments are bad.
 */
static enum smtp_cmd_err
parse_path_args(struct smtp_cmd *cmd, const char *kw, int had_sp)
{
	const uint8_t *p = cmd->arg.p;
	size_t n = cmd->arg.len, klen = strlen(kw), i, end, nparams = 0;

	/* RFC 5321 4.1.1.2: "MAIL FROM:" with one SP; keywords in any case (2.4) */
	if (!had_sp || n < klen || !ascii_casen_eq(p, kw, klen))
		return SMTP_ERR_SYNTAX;
	i = klen;
	/* XXX: RFC 5321 allows no space here, but many clients send "FROM: <a@b>" */
	while (i < n && p[i] == ' ')
		i++;
	/*
	 * Trailing whitespace is tolerated. A valid line ends with '>' or a
	 * parameter, neither of which ends in SP or HTAB, so trimming never
	 * changes the meaning of a line we accept.
	 */
	while (n > i && (p[n - 1] == ' ' || p[n - 1] == '\t'))
		n--;
	/* a path without angle brackets is refused (RFC 5321 4.1.2 Path) */
	if (i == n || p[i] != '<')
		return SMTP_ERR_SYNTAX;
	end = path_end(p, i + 1, n);
	if (end == n)
		return SMTP_ERR_SYNTAX;
	cmd->path = slice_at(p + i + 1, end - i - 1);
	i = end + 1;

	/* RFC 5321 4.1.2: Mail-parameters = esmtp-param *(SP esmtp-param) */
	while (i < n) {
		size_t key_start, value_start;
		struct slice key, value = { p + i, 0 };
		int has_value = 0;

		/* garbage right after '>' or after a parameter */
		if (p[i] != ' ')
			return SMTP_ERR_SYNTAX;
		/* XXX: more than one SP between parameters is tolerated */
		while (i < n && p[i] == ' ')
			i++;
		/* i < n: the trailing spaces were trimmed above */
		key_start = i;
		/* esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-") */
		if (!ascii_isalnum(p[i]))
			return SMTP_ERR_SYNTAX;
		i++;
		while (i < n && (ascii_isalnum(p[i]) || p[i] == '-'))
			i++;
		key = slice_at(p + key_start, i - key_start);
		if (i < n && p[i] == '=') {
			value_start = ++i;
			while (i < n && is_value_byte(p[i]))
				i++;
			/* esmtp-value is 1*: "SIZE=" is malformed */
			if (i == value_start)
				return SMTP_ERR_SYNTAX;
			value = slice_at(p + value_start, i - value_start);
			has_value = 1;
		}
		/* the whole line is checked first: a syntax error beats a count */
		if (nparams < SMTP_MAX_PARAMS) {
			cmd->params[nparams].key = key;
			cmd->params[nparams].value = value;
			cmd->params[nparams].has_value = has_value;
		}
		nparams++;
	}
	if (nparams > SMTP_MAX_PARAMS)
		return SMTP_ERR_TOO_MANY_PARAMS;
	cmd->nparams = nparams;
	return SMTP_ERR_NONE;
}

static enum smtp_parse
bad(struct smtp_cmd *cmd, enum smtp_cmd_err err)
{
	cmd->err = err;
	return SMTP_PARSE_BAD;
}

enum smtp_parse
smtp_cmd_parse(const uint8_t *in, size_t len, size_t max_line_bytes,
    struct smtp_cmd *cmd_out, size_t *used_out)
{
	const struct smtp_verb_def *def = NULL;
	size_t scan, line_len, n, v;
	const uint8_t *lf;
	enum smtp_cmd_err err;

	memset(cmd_out, 0, sizeof(*cmd_out));
	*used_out = 0;
	if (len == 0)
		return SMTP_PARSE_MORE;

	/*
	 * RFC 5321 4.5.3.1.4: a line of max_line_bytes with its CRLF is fine,
	 * so its LF is at most at index max_line_bytes - 1.
	 */
	scan = len < max_line_bytes ? len : max_line_bytes;
	lf = scan > 0 ? memchr(in, '\n', scan) : NULL;
	if (lf == NULL) {
		if (len < max_line_bytes)
			return SMTP_PARSE_MORE;
		/*
		 * Too long. Stop just before an LF that is already here, so that
		 * the caller's "skip through the next LF" ends this line and not
		 * the next command (test_cmd.c: too_long_then_command).
		 */
		lf = memchr(in + scan, '\n', len - scan);
		*used_out = lf != NULL ? (size_t)(lf - in) : len;
		return SMTP_PARSE_TOO_LONG;
	}
	line_len = (size_t)(lf - in) + 1;
	*used_out = line_len;

	/*
	 * RFC 5321 2.3.8: CR and LF only ever travel together as CRLF. A bare
	 * LF ending a line, or a CR or NUL inside it, is refused and the line
	 * left uninterpreted: another server might end the line elsewhere
	 * (SMTP smuggling) or cut a string at the NUL.
	 */
	if (line_len < 2 || in[line_len - 2] != '\r')
		return bad(cmd_out, SMTP_ERR_BARE_LF);
	n = line_len - 2;
	for (size_t i = 0; i < n; i++) {
		if (in[i] == '\0')
			return bad(cmd_out, SMTP_ERR_NUL);
		if (in[i] == '\r')
			return bad(cmd_out, SMTP_ERR_BARE_CR);
	}

	/* the framing is sound: an AUTH response line (RFC 4954 4) is read from here */
	cmd_out->line = slice_at(in, n);
	/* RFC 5321 4.1.1: the verb is followed by SP or the line end */
	for (v = 0; v < n && in[v] != ' '; v++)
		;
	cmd_out->verb_text = slice_at(in, v);
	if (ascii_has_8bit(in, v))
		return bad(cmd_out, SMTP_ERR_8BIT_VERB);
	for (size_t i = 0; i < NELEM(verbs); i++) {
		/* RFC 5321 2.4: verbs are not case sensitive */
		if (slice_caseeq(cmd_out->verb_text, verbs[i].name)) {
			def = &verbs[i];
			break;
		}
	}
	/*
	 * arg is everything after the verb and its one SP, trailing spaces kept
	 * as sent: the session decides what an argument of each verb may be.
	 */
	if (v < n)
		cmd_out->arg = slice_at(in + v + 1, n - v - 1);
	else
		cmd_out->arg = slice_at(in + n, 0);
	cmd_out->has_8bit = ascii_has_8bit(cmd_out->arg.p, cmd_out->arg.len);
	/* an unknown verb (an empty line too) is a parsed line; session.c says 500 */
	if (def == NULL)
		return SMTP_PARSE_OK;
	cmd_out->verb = def->verb;
	if (def->path_kw != NULL) {
		err = parse_path_args(cmd_out, def->path_kw, v < n);
		if (err != SMTP_ERR_NONE) {
			/* nothing half-parsed escapes: only verb, verb_text and arg */
			cmd_out->path = slice_at(NULL, 0);
			memset(cmd_out->params, 0, sizeof(cmd_out->params));
			cmd_out->nparams = 0;
			return bad(cmd_out, err);
		}
	}
	return SMTP_PARSE_OK;
}

const char *
smtp_verb_name(enum smtp_verb v)
{
	for (size_t i = 0; i < NELEM(verbs); i++)
		if (verbs[i].verb == v)
			return verbs[i].name;
	return "UNKNOWN";
}
