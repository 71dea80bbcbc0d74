/*
 * ucl_lex.c - the bytes of a UCL file into tokens: blanks and comments,
 * quoted strings with their escapes, bare words, and what a word is (a
 * boolean, a number with its unit suffix, or a string). Every error names
 * the file and line.
 */
#include "config/ucl_parse.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/ascii.h"
#include "util/xalloc.h"

int
ucl_perr(struct parser *ps, const struct src *s, unsigned line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)cfg_verror(ps->err, ps->errsize, s->name, line, NULL, fmt, ap);
	va_end(ap);
	return -1;
}

/* The next byte for a message: "'x'", "a newline", "byte 0x01", "the end of the file". */
const char *
ucl_show_next(const struct src *s, char out[24])
{
	static const char hex[] = "0123456789ABCDEF";
	uint8_t c;

	if (s->p >= s->end)
		return "the end of the file";
	c = *s->p;
	if (c == '\n')
		return "a newline";
	if (c == '\'')
		return "\"'\"";
	if (ascii_isgraph(c)) {
		out[0] = '\'';
		out[1] = (char)c;
		out[2] = '\'';
		out[3] = '\0';
		return out;
	}
	memcpy(out, "byte 0x", 7);
	out[7] = hex[c >> 4];
	out[8] = hex[c & 15];
	out[9] = '\0';
	return out;
}

int
ucl_is_key_char(uint8_t c)
{
	return ascii_isalnum(c) || c == '_' || c == '-';
}

int
ucl_is_word_char(uint8_t c)
{
	return ascii_isalnum(c) || (c != 0 && strchr("_-./:@+*", c) != NULL);
}

int
ucl_is_valid_key(const char *k, size_t len)
{
	if (len == 0)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!ucl_is_key_char((uint8_t)k[i]))
			return 0;
	return 1;
}

static int
at(const struct src *s, size_t i, uint8_t c)
{
	return (size_t)(s->end - s->p) > i && s->p[i] == c;
}

/*
 * Skips blanks and comments, and newlines too when nl is set. *crossed_out
 * (may be NULL) is set when a newline was passed, also inside a comment.
 */
int
ucl_skip(struct parser *ps, struct src *s, int nl, int *crossed_out)
{
	while (s->p < s->end) {
		uint8_t c = *s->p;

		if (c == ' ' || c == '\t' || c == '\r') {
			s->p++;
		} else if (c == '\n') {
			if (!nl)
				return 0;
			s->line++;
			s->p++;
			if (crossed_out != NULL)
				*crossed_out = 1;
		} else if (c == '#' || (c == '/' && at(s, 1, '/'))) {
			while (s->p < s->end && *s->p != '\n')
				s->p++;
		} else if (c == '/' && at(s, 1, '*')) {
			/* UCL lets comments nest, so commenting out a block that has one works */
			unsigned start = s->line;
			size_t depth = 0;

			for (;;) {
				if (s->p >= s->end)
					return ucl_perr(ps, s, start,
					    "unterminated comment: '/*' has no matching '*/'");
				if (*s->p == '/' && at(s, 1, '*')) {
					depth++;
					s->p += 2;
				} else if (*s->p == '*' && at(s, 1, '/')) {
					s->p += 2;
					if (--depth == 0)
						break;
				} else {
					if (*s->p == '\n') {
						s->line++;
						if (crossed_out != NULL)
							*crossed_out = 1;
					}
					s->p++;
				}
			}
		} else {
			return 0;
		}
	}
	return 0;
}

static int
tok_add(struct parser *ps, const struct src *s, unsigned line, const void *p, size_t n)
{
	if (buf_append(&ps->tok, p, n) == -1)
		return ucl_perr(ps, s, line, "string longer than 64 KiB");
	return 0;
}

static int
hexval(uint8_t c)
{
	return ascii_isdigit(c) ? c - '0' : (ascii_tolower(c) - 'a' + 10);
}

/* \uXXXX after the backslash and the u: the code point as UTF-8 into tok. */
static int
read_uescape(struct parser *ps, struct src *s, unsigned line)
{
	uint8_t u[3];
	unsigned cp = 0;
	size_t n;

	for (int i = 0; i < 4; i++) {
		if (s->p >= s->end || !ascii_isxdigit(*s->p))
			return ucl_perr(ps, s, line, "\\u needs four hex digits");
		cp = cp * 16 + (unsigned)hexval(*s->p++);
	}
	if (cp == 0)
		return ucl_perr(ps, s, line, "\\u0000 is not allowed in a string");
	if (cp >= 0xD800 && cp <= 0xDFFF)
		return ucl_perr(ps, s, line, "\\u%04X is a UTF-16 surrogate, not a character", cp);
	if (cp < 0x80) {
		u[0] = (uint8_t)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (uint8_t)(0xC0 | (cp >> 6));
		u[1] = (uint8_t)(0x80 | (cp & 0x3F));
		n = 2;
	} else {
		u[0] = (uint8_t)(0xE0 | (cp >> 12));
		u[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
		u[2] = (uint8_t)(0x80 | (cp & 0x3F));
		n = 3;
	}
	return tok_add(ps, s, line, u, n);
}

/*
 * A quoted string, "..." with escapes or '...' with only \' and \\, into
 * ps->tok. A string ends on its own line: a missing quote is then reported
 * where the string starts, not at the end of the file.
 */
int
ucl_read_quoted(struct parser *ps, struct src *s)
{
	uint8_t q = *s->p++;
	unsigned line = s->line;

	buf_reset(&ps->tok);
	for (;;) {
		uint8_t c;

		if (s->p >= s->end || *s->p == '\n')
			return ucl_perr(ps, s, line, "unterminated string: no closing %c on the line where "
			    "it starts", q);
		c = *s->p++;
		if (c == q)
			return 0;
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return ucl_perr(ps, s, line, "control character (byte 0x%02X) in a string", c);
		if (c != '\\') {
			if (tok_add(ps, s, line, &c, 1) == -1)
				return -1;
			continue;
		}
		if (s->p >= s->end || *s->p == '\n')
			continue;	/* reported as unterminated on the next turn */
		c = *s->p;
		if (q == '\'') {
			/* single quotes keep every other backslash as written */
			if (c == '\'' || c == '\\')
				s->p++;
			else
				c = '\\';
			if (tok_add(ps, s, line, &c, 1) == -1)
				return -1;
			continue;
		}
		s->p++;
		switch (c) {
		case 'n': c = '\n'; break;
		case 't': c = '\t'; break;
		case 'r': c = '\r'; break;
		case '\\': case '"': break;
		case 'u':
			if (read_uescape(ps, s, line) == -1)
				return -1;
			continue;
		default:
			if (ascii_isgraph(c))
				return ucl_perr(ps, s, line, "unknown escape '\\%c' in a string", c);
			return ucl_perr(ps, s, line, "unknown escape (backslash and byte 0x%02X) in a string",
			    c);
		}
		if (tok_add(ps, s, line, &c, 1) == -1)
			return -1;
	}
}

/*
 * A bare word into ps->tok. It ends at a blank, ';', ',', '}', ']' or '{'
 * (the brace of a named section); any other byte that is not a word byte is
 * an error, so that a value that needs quotes gets them.
 */
int
ucl_read_word(struct parser *ps, struct src *s)
{
	const uint8_t *start = s->p;
	char shown[24];

	while (s->p < s->end && ucl_is_word_char(*s->p))
		s->p++;
	if ((size_t)(s->p - start) > UCL_MAX_STRING_BYTES)
		return ucl_perr(ps, s, s->line, "string longer than 64 KiB");
	buf_reset(&ps->tok);
	if (tok_add(ps, s, s->line, start, (size_t)(s->p - start)) == -1)
		return -1;
	if (s->p < s->end && strchr(" \t\r\n;,}]{", *s->p) == NULL)
		return ucl_perr(ps, s, s->line, "unexpected %s in the value '%s' (quote values that hold it)",
		    ucl_show_next(s, shown), cfg_shorten(buf_cstr(&ps->tok), (char[64]){ 0 }));
	return 0;
}

struct suffix {
	const char *name;
	enum ucl_unit unit;
	uint64_t mult;
};

/* UCL's suffixes; "m" is a million as in libucl, minutes are "min". */
static const struct suffix suffixes[] = {
	{ "", UCL_UNIT_NONE, 1 },
	{ "k", UCL_UNIT_MULT, 1000 },
	{ "m", UCL_UNIT_MULT, 1000 * 1000 },
	{ "g", UCL_UNIT_MULT, 1000 * 1000 * 1000 },
	{ "kb", UCL_UNIT_BYTES, 1024 },
	{ "mb", UCL_UNIT_BYTES, 1024 * 1024 },
	{ "gb", UCL_UNIT_BYTES, 1024 * 1024 * 1024 },
	{ "ms", UCL_UNIT_TIME, 1 },
	{ "s", UCL_UNIT_TIME, 1000 },
	{ "min", UCL_UNIT_TIME, 60 * 1000 },
	{ "h", UCL_UNIT_TIME, 3600 * 1000 },
	{ "d", UCL_UNIT_TIME, 86400 * 1000 },
	{ "w", UCL_UNIT_TIME, 7 * 86400 * 1000 },
	{ "y", UCL_UNIT_TIME, (uint64_t)365 * 86400 * 1000 },
};

int
config_parse_duration_ms(const char *s, uint64_t *ms_out)
{
	struct slice w = slice_str(s);
	size_t ndig;
	uint64_t v;

	for (ndig = 0; ndig < w.len && ascii_isdigit(w.p[ndig]); ndig++)
		;
	if (ndig == 0 || ascii_parse_u64((struct slice){ w.p, ndig }, &v) == -1)
		return -1;
	for (size_t k = 0; k < NELEM(suffixes); k++) {
		if (suffixes[k].unit != UCL_UNIT_TIME ||
		    !slice_caseeq((struct slice){ w.p + ndig, w.len - ndig }, suffixes[k].name))
			continue;
		if (v > UINT64_MAX / suffixes[k].mult)
			return -1;
		*ms_out = v * suffixes[k].mult;
		return 0;
	}
	return -1;
}

/*
 * Gives the word in ps->tok its type: a boolean, a number (-? digits
 * suffix?) or else a string. A number too large for 64 bits is an error,
 * never a wrapped value.
 */
int
ucl_classify_word(struct parser *ps, const struct src *s, struct ucl_node *n)
{
	static const char *const yes[] = { "true", "yes", "on" };
	static const char *const no[] = { "false", "no", "off" };
	struct slice w = buf_slice(&ps->tok);
	size_t i = 0, ndig;
	uint64_t v;

	n->str = xstrndup(w.p, w.len);
	n->len = w.len;
	n->type = UCL_STRING;
	for (size_t k = 0; k < NELEM(yes); k++) {
		if (slice_caseeq(w, yes[k]) || slice_caseeq(w, no[k])) {
			n->type = UCL_BOOLEAN;
			n->boolean = slice_caseeq(w, yes[k]);
			return 0;
		}
	}
	if (w.len > 0 && w.p[0] == '-')
		i = 1;
	for (ndig = 0; i + ndig < w.len && ascii_isdigit(w.p[i + ndig]); ndig++)
		;
	if (ndig == 0)
		return 0;
	for (size_t k = 0; k < NELEM(suffixes); k++) {
		struct slice suf = { w.p + i + ndig, w.len - i - ndig };

		if (!slice_caseeq(suf, suffixes[k].name))
			continue;
		if (ascii_parse_u64((struct slice){ w.p + i, ndig }, &v) == -1 ||
		    v > UINT64_MAX / suffixes[k].mult)
			return ucl_perr(ps, s, n->vline, "number too large: '%s'",
			    cfg_shorten(n->str, (char[64]){ 0 }));
		n->type = UCL_NUMBER;
		n->num = v * suffixes[k].mult;
		n->is_negative = i == 1 && n->num != 0;
		n->unit = suffixes[k].unit;
		return 0;
	}
	return 0;	/* digits and something else: a string such as "10x" or "1.5" */
}
