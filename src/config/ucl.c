/*
 * ucl.c - a parser for the subset of UCL (libucl's nginx-like, JSON-friendly
 * syntax) that sterna's configuration uses; libucl itself is not packaged in
 * Debian 12. It builds a tree in which every key and value keeps its file
 * and line, so that load.c can point at the exact line of a semantic error.
 * The parser is total: any bytes give a tree or exactly one error, within
 * the limits of ucl_int.h; it is fuzzed by tests/fuzz/fuzz_config.c.
 * What the subset holds is in docs/configuration.md; what it leaves out
 * (variables, macros other than .include, heredocs, fractions) is an error.
 */
#include "config/ucl_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/ascii.h"
#include "util/buf.h"
#include "util/xalloc.h"

/* One file being read; parent is the file that included it. */
struct src {
	const uint8_t *p, *end;
	const char *name;
	unsigned line;
	uint64_t id[2];
	const struct src *parent;
	unsigned include_depth;
};

struct parser {
	struct ucl_doc *doc;
	const struct ucl_reader *rd;
	char *err;
	size_t errsize;
	size_t total_bytes;	/* every file read so far, includes counted each time */
	struct buf path;	/* dotted path of the object being filled, for messages */
	struct buf tok;		/* the string being decoded */
};

/* Appends to err at *off: 0, or -1 when the text did not fit (err stays a string). */
static int
err_vappend(char *err, size_t errsize, size_t *off, const char *fmt, va_list ap)
	__attribute__((format(printf, 4, 0)));

static int
err_vappend(char *err, size_t errsize, size_t *off, const char *fmt, va_list ap)
{
	int n = vsnprintf(err + *off, errsize - *off, fmt, ap);

	if (n < 0) {
		err[*off] = '\0';
		return -1;
	}
	if ((size_t)n >= errsize - *off) {
		*off = errsize - 1;
		return -1;
	}
	*off += (size_t)n;
	return 0;
}

static int
err_append(char *err, size_t errsize, size_t *off, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int
err_append(char *err, size_t errsize, size_t *off, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = err_vappend(err, errsize, off, fmt, ap);
	va_end(ap);
	return rc;
}

int
cfg_verror(char *err, size_t errsize, const char *file, unsigned line, const char *key,
    const char *fmt, va_list ap)
{
	size_t off = 0;
	int rc = 0;

	if (errsize == 0)
		return -1;
	err[0] = '\0';
	if (file != NULL && line > 0)
		rc = err_append(err, errsize, &off, "%s:%u: ", file, line);
	else if (file != NULL)
		rc = err_append(err, errsize, &off, "%s: ", file);
	if (rc == 0 && key != NULL)
		rc = err_append(err, errsize, &off, "%s: ", key);
	if (rc == 0)
		rc = err_vappend(err, errsize, &off, fmt, ap);
	if (rc == -1 && errsize > 4)
		memcpy(err + errsize - 4, "...", 4);	/* say that it was cut */
	return -1;
}

int
cfg_error(char *err, size_t errsize, const char *file, unsigned line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)cfg_verror(err, errsize, file, line, NULL, fmt, ap);
	va_end(ap);
	return -1;
}

const char *
cfg_shorten(const char *s, char *out)
{
	size_t n = strlen(s);

	if (n <= 60) {
		memcpy(out, s, n + 1);
		return out;
	}
	n = 57;
	/* cut between UTF-8 characters, never inside one */
	while (n > 0 && ((uint8_t)s[n] & 0xC0) == 0x80)
		n--;
	memcpy(out, s, n);
	memcpy(out + n, "...", 4);
	return out;
}

static int
perr(struct parser *ps, const struct src *s, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int
perr(struct parser *ps, const struct src *s, unsigned line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)cfg_verror(ps->err, ps->errsize, s->name, line, NULL, fmt, ap);
	va_end(ap);
	return -1;
}

/* The next byte for a message: "'x'", "a newline", "byte 0x01", "the end of the file". */
static const char *
show_next(const struct src *s, char out[24])
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

static int
is_key_char(uint8_t c)
{
	return ascii_isalnum(c) || c == '_' || c == '-';
}

static int
is_word_char(uint8_t c)
{
	return ascii_isalnum(c) || (c != 0 && strchr("_-./:@+*", c) != NULL);
}

static int
is_valid_key(const char *k, size_t len)
{
	if (len == 0)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!is_key_char((uint8_t)k[i]))
			return 0;
	return 1;
}

/* ---- the tree ---- */

static struct ucl_node *
node_new(enum ucl_type type, char *key, const struct src *s, unsigned line)
{
	struct ucl_node *n = xcalloc(1, sizeof(*n));

	n->type = type;
	n->key = key;
	n->file = s->name;
	n->line = line;
	n->vline = line;
	return n;
}

static void
node_free(struct ucl_node *n)
{
	if (n == NULL)
		return;
	for (size_t i = 0; i < n->nkids; i++)
		node_free(n->kids[i]);
	free(n->kids);
	free(n->index);
	free(n->key);
	free(n->str);
	free(n);
}

static uint32_t
key_hash(const char *k)
{
	uint32_t h = 2166136261u;	/* FNV-1a */

	for (; *k; k++)
		h = (h ^ (uint8_t)*k) * 16777619u;
	return h;
}

static void
index_put(struct ucl_node *obj, size_t pos)
{
	size_t mask = obj->index_cap - 1;
	size_t i = key_hash(obj->kids[pos]->key) & mask;

	while (obj->index[i] != 0)
		i = (i + 1) & mask;
	obj->index[i] = (uint32_t)(pos + 1);
}

/*
 * Objects are small in practice, but a hostile file may hold a million
 * keys in one: past 16 members the duplicate check goes through a hash so
 * that it stays linear (a quadratic scan would stall the fuzzer and start-up).
 */
static void
obj_append(struct ucl_node *obj, struct ucl_node *kid)
{
	if (obj->nkids == obj->capkids) {
		obj->capkids = obj->capkids ? obj->capkids * 2 : 8;
		obj->kids = xrealloc(obj->kids, obj->capkids * sizeof(*obj->kids));
	}
	obj->kids[obj->nkids++] = kid;
	if (obj->type != UCL_OBJECT || obj->nkids < 16)
		return;
	if (obj->index == NULL || obj->nkids * 2 > obj->index_cap) {
		size_t cap = 64;

		while (cap < obj->nkids * 4)
			cap *= 2;
		free(obj->index);
		obj->index = xcalloc(cap, sizeof(*obj->index));
		obj->index_cap = cap;
		for (size_t i = 0; i < obj->nkids; i++)
			index_put(obj, i);
	} else {
		index_put(obj, obj->nkids - 1);
	}
}

static struct ucl_node *
obj_find(const struct ucl_node *obj, const char *key)
{
	if (obj->index != NULL) {
		size_t mask = obj->index_cap - 1;

		for (size_t i = key_hash(key) & mask; obj->index[i] != 0; i = (i + 1) & mask) {
			struct ucl_node *k = obj->kids[obj->index[i] - 1];

			if (strcmp(k->key, key) == 0)
				return k;
		}
		return NULL;
	}
	for (size_t i = 0; i < obj->nkids; i++)
		if (strcmp(obj->kids[i]->key, key) == 0)
			return obj->kids[i];
	return NULL;
}

const struct ucl_node *
ucl_get(const struct ucl_node *obj, const char *key)
{
	if (obj == NULL || obj->type != UCL_OBJECT)
		return NULL;
	return obj_find(obj, key);
}

/* Appends ".key" (or "key" at the top) to the path; returns the old length. */
static size_t
path_push(struct parser *ps, const char *key)
{
	size_t old = ps->path.len;

	/* the path only feeds messages, so a cut one is harmless */
	if (old > 0)
		(void)buf_append_byte(&ps->path, '.');
	(void)buf_append_str(&ps->path, key);
	return old;
}

static void
path_pop(struct parser *ps, size_t old)
{
	ps->path.len = old;
}

/*
 * Adds kid (taken over) to obj. A key may be set once per object, except
 * that two objects under one key merge: that is how several
 * listen "NAME" { } sections build one listen object.
 */
static int
obj_add(struct parser *ps, struct ucl_node *obj, struct ucl_node *kid)
{
	struct ucl_node *old = obj_find(obj, kid->key);
	size_t saved;
	int ret = 0;

	if (old == NULL) {
		obj_append(obj, kid);
		return 0;
	}
	saved = path_push(ps, kid->key);
	if (old->type != UCL_OBJECT || kid->type != UCL_OBJECT) {
		ret = cfg_error(ps->err, ps->errsize, kid->file, kid->line,
		    "key '%s' already set at %s:%u", buf_cstr(&ps->path), old->file, old->line);
		goto out;
	}
	for (size_t i = 0; i < kid->nkids && ret == 0; i++) {
		struct ucl_node *k = kid->kids[i];

		kid->kids[i] = NULL;
		ret = obj_add(ps, old, k);
	}
out:
	path_pop(ps, saved);
	node_free(kid);
	return ret;
}

/* ---- bytes ---- */

static int
at(const struct src *s, size_t i, uint8_t c)
{
	return (size_t)(s->end - s->p) > i && s->p[i] == c;
}

/*
 * Skips blanks and comments, and newlines too when nl is set. *crossed_out
 * (may be NULL) is set when a newline was passed, also inside a comment.
 */
static int
skip(struct parser *ps, struct src *s, int nl, int *crossed_out)
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
					return perr(ps, s, start,
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
		return perr(ps, s, line, "string longer than 64 KiB");
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
			return perr(ps, s, line, "\\u needs four hex digits");
		cp = cp * 16 + (unsigned)hexval(*s->p++);
	}
	if (cp == 0)
		return perr(ps, s, line, "\\u0000 is not allowed in a string");
	if (cp >= 0xD800 && cp <= 0xDFFF)
		return perr(ps, s, line, "\\u%04X is a UTF-16 surrogate, not a character", cp);
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
static int
read_quoted(struct parser *ps, struct src *s)
{
	uint8_t q = *s->p++;
	unsigned line = s->line;

	buf_reset(&ps->tok);
	for (;;) {
		uint8_t c;

		if (s->p >= s->end || *s->p == '\n')
			return perr(ps, s, line, "unterminated string: no closing %c on the line where "
			    "it starts", q);
		c = *s->p++;
		if (c == q)
			return 0;
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return perr(ps, s, line, "control character (byte 0x%02X) in a string", c);
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
				return perr(ps, s, line, "unknown escape '\\%c' in a string", c);
			return perr(ps, s, line, "unknown escape (backslash and byte 0x%02X) in a string",
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
static int
read_word(struct parser *ps, struct src *s)
{
	const uint8_t *start = s->p;
	char shown[24];

	while (s->p < s->end && is_word_char(*s->p))
		s->p++;
	if ((size_t)(s->p - start) > UCL_MAX_STRING_BYTES)
		return perr(ps, s, s->line, "string longer than 64 KiB");
	buf_reset(&ps->tok);
	if (tok_add(ps, s, s->line, start, (size_t)(s->p - start)) == -1)
		return -1;
	if (s->p < s->end && strchr(" \t\r\n;,}]{", *s->p) == NULL)
		return perr(ps, s, s->line, "unexpected %s in the value '%s' (quote values that hold it)",
		    show_next(s, shown), cfg_shorten(buf_cstr(&ps->tok), (char[64]){ 0 }));
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
static int
classify_word(struct parser *ps, const struct src *s, struct ucl_node *n)
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
			return perr(ps, s, n->vline, "number too large: '%s'",
			    cfg_shorten(n->str, (char[64]){ 0 }));
		n->type = UCL_NUMBER;
		n->num = v * suffixes[k].mult;
		n->is_negative = i == 1 && n->num != 0;
		n->unit = suffixes[k].unit;
		return 0;
	}
	return 0;	/* digits and something else: a string such as "10x" or "1.5" */
}

static int parse_members(struct parser *ps, struct src *s, struct ucl_node *obj, int is_braced,
    unsigned open_line, unsigned depth);

static int
deeper(struct parser *ps, const struct src *s, unsigned depth)
{
	if (depth > UCL_MAX_DEPTH)
		return perr(ps, s, s->line, "nesting deeper than %d levels", UCL_MAX_DEPTH);
	return 0;
}

static int parse_value(struct parser *ps, struct src *s, struct ucl_node *n, unsigned depth);

static int
parse_array(struct parser *ps, struct src *s, struct ucl_node *n, unsigned depth)
{
	unsigned open_line = s->line;
	char shown[24], idx[32];

	n->type = UCL_ARRAY;
	s->p++;
	for (size_t i = 0;; i++) {
		struct ucl_node *el;
		size_t saved;
		int crossed = 0, rc, k;

		if (skip(ps, s, 1, NULL) == -1)
			return -1;
		if (s->p >= s->end)
			return perr(ps, s, open_line, "unterminated array: '[' has no matching ']'");
		if (*s->p == ']') {
			s->p++;
			return 0;
		}
		if (*s->p == '}')
			return perr(ps, s, s->line,
			    "expected a value or ']', found '}' (the '[' at line %u is not closed)",
			    open_line);
		el = node_new(UCL_STRING, NULL, s, s->line);
		obj_append(n, el);
		k = snprintf(idx, sizeof(idx), "[%zu]", i);
		if (k < 0 || (size_t)k >= sizeof(idx))
			idx[0] = '\0';
		saved = ps->path.len;
		(void)buf_append_str(&ps->path, idx);
		rc = parse_value(ps, s, el, depth);
		path_pop(ps, saved);
		/* a newline separates elements too, and a comma may start the next line */
		if (rc == -1 || skip(ps, s, 1, &crossed) == -1)
			return -1;
		if (s->p >= s->end)
			return perr(ps, s, open_line, "unterminated array: '[' has no matching ']'");
		if (*s->p == ',') {
			s->p++;
		} else if (*s->p == ']') {
			s->p++;
			return 0;
		} else if (!crossed) {
			return perr(ps, s, s->line, "expected ',' or ']' after an array element, found %s",
			    show_next(s, shown));
		}
	}
}

/* A value at the cursor into n, which sits in a container at depth. */
static int
parse_value(struct parser *ps, struct src *s, struct ucl_node *n, unsigned depth)
{
	char shown[24];

	n->vline = s->line;
	if (s->p >= s->end)
		return perr(ps, s, s->line, "expected a value, found the end of the file");
	switch (*s->p) {
	case '{': {
		unsigned open_line = s->line;

		if (deeper(ps, s, depth + 1) == -1)
			return -1;
		n->type = UCL_OBJECT;
		s->p++;
		return parse_members(ps, s, n, 1, open_line, depth + 1);
	}
	case '[':
		if (deeper(ps, s, depth + 1) == -1)
			return -1;
		return parse_array(ps, s, n, depth + 1);
	case '"':
	case '\'':
		if (read_quoted(ps, s) == -1)
			return -1;
		n->type = UCL_STRING;
		n->is_quoted = 1;
		n->len = ps->tok.len;
		n->str = xstrndup(ps->tok.data ? (const char *)ps->tok.data : "", ps->tok.len);
		return 0;
	default:
		if (!is_word_char(*s->p))
			return perr(ps, s, s->line, "expected a value, found %s", show_next(s, shown));
		if (read_word(ps, s) == -1)
			return -1;
		return classify_word(ps, s, n);
	}
}

/* After a scalar member: ';', ',', a newline, '}' or the end of the file. */
static int
end_scalar(struct parser *ps, struct src *s, const char *key)
{
	char shown[24];
	int crossed = 0;

	if (skip(ps, s, 0, &crossed) == -1)
		return -1;
	if (s->p >= s->end || crossed || *s->p == '\n' || *s->p == '}')
		return 0;
	if (*s->p == ';' || *s->p == ',') {
		s->p++;
		return 0;
	}
	return perr(ps, s, s->line, "expected ';', ',' or a newline after the value of '%s', found %s",
	    key, show_next(s, shown));
}

/* After an object or array member: an optional ';' or ','. */
static int
end_container(struct parser *ps, struct src *s)
{
	if (skip(ps, s, 0, NULL) == -1)
		return -1;
	if (s->p < s->end && (*s->p == ';' || *s->p == ','))
		s->p++;
	return 0;
}

/* A string or a bare word: into ps->tok; *is_quoted_out tells which. */
static int
read_token(struct parser *ps, struct src *s, int *is_quoted_out)
{
	*is_quoted_out = *s->p == '"' || *s->p == '\'';
	return *is_quoted_out ? read_quoted(ps, s) : read_word(ps, s);
}

/*
 * key "name" ... { }: a named section, which means key { name { ... } }.
 * n (the key's node) becomes an object holding one object per name.
 */
static int
parse_section(struct parser *ps, struct src *s, struct ucl_node *n, char **names,
    unsigned *lines, size_t nnames, unsigned depth)
{
	struct ucl_node *cur = n;
	size_t saved = ps->path.len;
	int rc;

	n->type = UCL_OBJECT;
	for (size_t i = 0; i < nnames; i++) {
		struct ucl_node *sub;

		if (!is_valid_key(names[i], strlen(names[i]))) {
			rc = perr(ps, s, lines[i], "invalid section name '%s' (names are letters, "
			    "digits, '_' and '-')", cfg_shorten(names[i], (char[64]){ 0 }));
			goto out;
		}
		sub = node_new(UCL_OBJECT, names[i], s, lines[i]);
		names[i] = NULL;
		obj_append(cur, sub);
		cur = sub;
		(void)path_push(ps, sub->key);
	}
	rc = deeper(ps, s, depth + 1 + (unsigned)nnames);
	if (rc == 0) {
		cur->vline = s->line;
		s->p++;
		rc = parse_members(ps, s, cur, 1, cur->vline, depth + 1 + (unsigned)nnames);
	}
out:
	path_pop(ps, saved);
	return rc;
}

#define MAX_SECTION_NAMES 8

/*
 * What follows a key written without '=' or ':': a value (key value;), an
 * object or array (key { }, key [ ]) or section names (key "name" { }).
 */
static int
parse_unseparated(struct parser *ps, struct src *s, struct ucl_node *n, unsigned depth)
{
	char *names[MAX_SECTION_NAMES] = { 0 };
	unsigned lines[MAX_SECTION_NAMES];
	size_t nnames = 0;
	int is_quoted = 0, rc = -1, is_section = 0;

	for (;;) {
		const uint8_t *save_p;
		unsigned save_line;
		int crossed = 0;

		if (nnames == MAX_SECTION_NAMES) {
			rc = perr(ps, s, s->line, "more than %d section names", MAX_SECTION_NAMES);
			goto out;
		}
		lines[nnames] = s->line;
		if (read_token(ps, s, &is_quoted) == -1)
			goto out;
		names[nnames++] = xstrndup(ps->tok.data ? (const char *)ps->tok.data : "",
		    ps->tok.len);
		save_p = s->p;
		save_line = s->line;
		if (skip(ps, s, 0, &crossed) == -1)
			goto out;
		if (s->p < s->end && (*s->p == '\n' || crossed)) {
			/* the brace of a section may be on the next line */
			if (skip(ps, s, 1, NULL) == -1)
				goto out;
			if (s->p < s->end && *s->p == '{') {
				is_section = 1;
				break;
			}
			s->p = save_p;
			s->line = save_line;
			break;
		}
		if (s->p < s->end && *s->p == '{') {
			is_section = 1;
			break;
		}
		if (s->p >= s->end || !(*s->p == '"' || *s->p == '\'' || is_word_char(*s->p))) {
			s->p = save_p;
			s->line = save_line;
			break;
		}
	}
	if (is_section) {
		rc = parse_section(ps, s, n, names, lines, nnames, depth);
		if (rc == 0)
			rc = end_container(ps, s);
		goto out;
	}
	if (nnames > 1) {
		rc = perr(ps, s, lines[1], "expected ';', ',' or a newline after the value of '%s', "
		    "found a second value", n->key);
		goto out;
	}
	/* one token and no brace: an ordinary value */
	n->vline = lines[0];
	if (is_quoted) {
		n->type = UCL_STRING;
		n->is_quoted = 1;
		n->str = names[0];
		n->len = ps->tok.len;
		names[0] = NULL;
		rc = 0;
	} else {
		rc = classify_word(ps, s, n);
	}
	if (rc == 0)
		rc = end_scalar(ps, s, n->key);
out:
	for (size_t i = 0; i < nnames; i++)
		free(names[i]);
	return rc;
}

/* The value part of "key ...", for n (whose key is read); then its terminator. */
static int
parse_member_value(struct parser *ps, struct src *s, struct ucl_node *n, unsigned depth)
{
	char shown[24];
	int crossed = 0;

	if (skip(ps, s, 0, &crossed) == -1)
		return -1;
	if (s->p < s->end && (*s->p == '\n' || crossed)) {
		/* only an object's brace may wait for the next line */
		if (skip(ps, s, 1, NULL) == -1)
			return -1;
		if (s->p < s->end && *s->p == '{')
			goto container;
		return perr(ps, s, n->line, "key '%s' has no value", n->key);
	}
	if (s->p >= s->end || strchr(";,}]", *s->p) != NULL)
		return perr(ps, s, n->line, "key '%s' has no value", n->key);
	if (*s->p == '=' || *s->p == ':') {
		s->p++;
		if (skip(ps, s, 1, NULL) == -1)
			return -1;
		if (s->p >= s->end || strchr(";,}]=:", *s->p) != NULL)
			return perr(ps, s, n->line, "key '%s' has no value", n->key);
		if (*s->p == '{' || *s->p == '[')
			goto container;
		if (parse_value(ps, s, n, depth) == -1)
			return -1;
		return end_scalar(ps, s, n->key);
	}
	if (*s->p == '{' || *s->p == '[')
		goto container;
	if (*s->p != '"' && *s->p != '\'' && !is_word_char(*s->p))
		return perr(ps, s, s->line, "expected '=', ':', '{' or a value after key '%s', found %s",
		    n->key, show_next(s, shown));
	return parse_unseparated(ps, s, n, depth);
container:
	if (parse_value(ps, s, n, depth) == -1)
		return -1;
	return end_container(ps, s);
}

static int include_file(struct parser *ps, struct src *s, struct ucl_node *obj, const char *path,
    unsigned line, unsigned depth);

/* ".include PATH" with the cursor on the dot. */
static int
parse_directive(struct parser *ps, struct src *s, struct ucl_node *obj, unsigned depth)
{
	unsigned line = s->line;
	const uint8_t *w = ++s->p;
	int is_quoted;
	char *path;
	char shown[24];
	int rc;

	while (s->p < s->end && ascii_isalpha(*s->p))
		s->p++;
	if ((size_t)(s->p - w) != 7 || memcmp(w, "include", 7) != 0) {
		char name[64];
		size_t n = (size_t)(s->p - w) < 40 ? (size_t)(s->p - w) : 40;

		memcpy(name, w, n);
		name[n] = '\0';
		return perr(ps, s, line, "unknown directive '.%s' (only .include is supported)", name);
	}
	if (s->p < s->end && *s->p == '(')
		return perr(ps, s, line, ".include takes no parameters here");
	if (skip(ps, s, 0, NULL) == -1)
		return -1;
	if (s->p >= s->end || !(*s->p == '"' || *s->p == '\'' || is_word_char(*s->p)))
		return perr(ps, s, line, ".include needs a file name, found %s", show_next(s, shown));
	if (read_token(ps, s, &is_quoted) == -1)
		return -1;
	path = xstrndup(ps->tok.data ? (const char *)ps->tok.data : "", ps->tok.len);
	rc = end_scalar(ps, s, ".include");
	if (rc == 0)
		rc = include_file(ps, s, obj, path, line, depth);
	free(path);
	return rc;
}

/* A key at the cursor: a bare [A-Za-z0-9_-]+ or a quoted one. */
static int
read_key(struct parser *ps, struct src *s, char **key_out)
{
	const uint8_t *start = s->p;
	char shown[24];
	int is_quoted;

	if (*s->p == '"' || *s->p == '\'') {
		if (read_token(ps, s, &is_quoted) == -1)
			return -1;
		if (!is_valid_key((const char *)ps->tok.data, ps->tok.len))
			return perr(ps, s, s->line, "invalid key \"%s\" (keys are letters, digits, "
			    "'_' and '-')", cfg_shorten(buf_cstr(&ps->tok), (char[64]){ 0 }));
		*key_out = xstrndup(ps->tok.data, ps->tok.len);
		return 0;
	}
	while (s->p < s->end && is_key_char(*s->p))
		s->p++;
	if (s->p == start)
		return perr(ps, s, s->line, "expected a key, found %s", show_next(s, shown));
	if ((size_t)(s->p - start) > UCL_MAX_STRING_BYTES)
		return perr(ps, s, s->line, "key longer than 64 KiB");
	*key_out = xstrndup(start, (size_t)(s->p - start));
	if (s->p >= s->end || strchr(" \t\r\n=:{[\"'#/;,}", *s->p) != NULL)
		return 0;
	if (*s->p == '.' && (size_t)(s->end - s->p) > 1 && is_key_char(s->p[1])) {
		/* smtp.max_line_bytes = 512 is a common guess; say what to write instead */
		const uint8_t *q = s->p;
		char *full;
		int rc;

		while (q < s->end && (is_key_char(*q) || *q == '.'))
			q++;
		full = xstrndup(start, (size_t)(q - start));
		rc = perr(ps, s, s->line, "dotted key '%s' is not supported: write %s { ... } instead",
		    cfg_shorten(full, (char[64]){ 0 }), cfg_shorten(*key_out, (char[64]){ 0 }));
		free(full);
		return rc;
	}
	return perr(ps, s, s->line, "invalid character %s in key '%s' (keys are letters, digits, "
	    "'_' and '-')", show_next(s, shown), cfg_shorten(*key_out, (char[64]){ 0 }));
}

/*
 * The members of obj up to its '}' (is_braced) or to the end of the file
 * (the implicit top-level object, or an included file).
 */
static int
parse_members(struct parser *ps, struct src *s, struct ucl_node *obj, int is_braced,
    unsigned open_line, unsigned depth)
{
	for (;;) {
		struct ucl_node *n;
		char *key = NULL;
		size_t saved;
		unsigned line;
		int rc;

		if (skip(ps, s, 1, NULL) == -1)
			return -1;
		if (s->p >= s->end) {
			if (is_braced)
				return perr(ps, s, open_line,
				    "unterminated object: '{' has no matching '}'");
			return 0;
		}
		if (*s->p == '}') {
			if (!is_braced)
				return perr(ps, s, s->line, "unexpected '}' (no '{' to close)");
			s->p++;
			return 0;
		}
		if (*s->p == '.') {
			if (parse_directive(ps, s, obj, depth) == -1)
				return -1;
			continue;
		}
		line = s->line;
		if (read_key(ps, s, &key) == -1) {
			free(key);
			return -1;
		}
		n = node_new(UCL_STRING, key, s, line);
		saved = path_push(ps, key);
		rc = parse_member_value(ps, s, n, depth);
		path_pop(ps, saved);
		if (rc == -1) {
			node_free(n);
			return -1;
		}
		if (obj_add(ps, obj, n) == -1)
			return -1;
	}
}

/* One whole file into obj: members, or one {...} as JSON writes it. */
static int
parse_source(struct parser *ps, struct src *s, struct ucl_node *obj, unsigned depth)
{
	/* an empty buffer may come as NULL, which memchr must not see */
	const uint8_t *nul = s->p == s->end ? NULL : memchr(s->p, '\0', (size_t)(s->end - s->p));
	char shown[24];

	if (nul != NULL) {
		/* a NUL would cut every string that a C caller makes of a value */
		unsigned line = 1;

		for (const uint8_t *q = s->p; q < nul; q++)
			line += *q == '\n';
		return perr(ps, s, line, "NUL byte in the file");
	}
	if (skip(ps, s, 1, NULL) == -1)
		return -1;
	if (s->p < s->end && *s->p == '{') {
		unsigned open_line = s->line;

		s->p++;
		if (parse_members(ps, s, obj, 1, open_line, depth) == -1 ||
		    skip(ps, s, 1, NULL) == -1)
			return -1;
		if (s->p < s->end)
			return perr(ps, s, s->line, "unexpected %s after the closing '}'",
			    show_next(s, shown));
		return 0;
	}
	return parse_members(ps, s, obj, 0, 0, depth);
}

static const char *
doc_add_file(struct ucl_doc *d, const char *name)
{
	d->files = xrealloc(d->files, (d->nfiles + 1) * sizeof(*d->files));
	d->files[d->nfiles] = xstrdup(name);
	return d->files[d->nfiles++];
}

/* The include cycle that reaching name from s closes, as "a -> b -> a". */
static int
cycle_error(struct parser *ps, const struct src *s, const struct src *first, const char *name,
    unsigned line)
{
	const struct src *chain[UCL_MAX_INCLUDE_DEPTH + 2];
	struct buf b;
	size_t n = 0;
	int rc;

	for (const struct src *a = s; a != NULL && n < NELEM(chain); a = a->parent) {
		chain[n++] = a;
		if (a == first)
			break;
	}
	buf_init(&b, 4096);
	while (n > 0) {
		(void)buf_append_str(&b, chain[--n]->name);
		(void)buf_append_str(&b, " -> ");
	}
	(void)buf_append_str(&b, name);
	rc = perr(ps, s, line, "include cycle: %s", buf_cstr(&b));
	buf_clear(&b);
	return rc;
}

static int
include_file(struct parser *ps, struct src *s, struct ucl_node *obj, const char *path,
    unsigned line, unsigned depth)
{
	const char *slash = strrchr(s->name, '/');
	struct src inc = { 0 };
	uint8_t *data = NULL;
	size_t len = 0;
	char why[256] = "";
	struct buf name;
	int rc = -1;

	if (ps->rd == NULL)
		return perr(ps, s, line, ".include is not allowed here");
	if (path[0] == '\0')
		return perr(ps, s, line, ".include needs a file name");
	if (s->include_depth + 1 > UCL_MAX_INCLUDE_DEPTH)
		return perr(ps, s, line, "includes nested more than %d deep", UCL_MAX_INCLUDE_DEPTH);
	/* relative to the directory of the including file, not to ours */
	buf_init(&name, 4096);
	if (path[0] != '/' && slash != NULL &&
	    buf_append(&name, s->name, (size_t)(slash - s->name) + 1) == -1)
		goto too_long;
	if (buf_append_str(&name, path) == -1)
		goto too_long;
	if (ps->rd->read(ps->rd->ctx, buf_cstr(&name), UCL_MAX_FILE_BYTES, &data, &len, inc.id,
	    why, sizeof(why)) == -1) {
		if (len > UCL_MAX_FILE_BYTES)
			rc = perr(ps, s, line, "cannot include '%s': larger than 1 MiB",
			    buf_cstr(&name));
		else
			rc = perr(ps, s, line, "cannot include '%s': %s", buf_cstr(&name), why);
		goto out;
	}
	for (const struct src *a = s; a != NULL; a = a->parent) {
		if (a->id[0] == inc.id[0] && a->id[1] == inc.id[1]) {
			rc = cycle_error(ps, s, a, buf_cstr(&name), line);
			goto out;
		}
	}
	/* counting every read bounds a file that includes a big one many times */
	if (len > UCL_MAX_TOTAL_BYTES - ps->total_bytes) {
		rc = perr(ps, s, line, "configuration too large: more than 4 MiB read with includes");
		goto out;
	}
	ps->total_bytes += len;
	inc.p = data;
	inc.end = data + len;
	inc.name = doc_add_file(ps->doc, buf_cstr(&name));
	inc.line = 1;
	inc.parent = s;
	inc.include_depth = s->include_depth + 1;
	rc = parse_source(ps, &inc, obj, depth);
	goto out;
too_long:
	rc = perr(ps, s, line, ".include: file name too long");
out:
	free(data);
	buf_clear(&name);
	return rc;
}

/* ---- entry points ---- */

static struct ucl_doc *
parse_root(const uint8_t *p, size_t len, const char *name, const uint64_t id[2],
    const struct ucl_reader *rd, char *err, size_t errsize)
{
	struct parser ps = { 0 };
	struct src s = { 0 };
	struct ucl_doc *d = xcalloc(1, sizeof(*d));
	int rc;

	ps.doc = d;
	ps.rd = rd;
	ps.err = err;
	ps.errsize = errsize;
	ps.total_bytes = len;
	buf_init(&ps.path, 4096);
	buf_init(&ps.tok, UCL_MAX_STRING_BYTES);
	s.name = doc_add_file(d, name);
	s.p = p;
	s.end = p + len;
	s.line = 1;
	if (id != NULL) {
		s.id[0] = id[0];
		s.id[1] = id[1];
	}
	d->root = node_new(UCL_OBJECT, NULL, &s, 1);
	if (len > UCL_MAX_FILE_BYTES)
		rc = cfg_error(err, errsize, name, 0, "larger than 1 MiB");
	else
		rc = parse_source(&ps, &s, d->root, 0);
	buf_clear(&ps.path);
	buf_clear(&ps.tok);
	if (rc == -1)
		ucl_doc_free(&d);
	return d;
}

struct ucl_doc *
ucl_parse_mem(const uint8_t *p, size_t len, const char *name, const uint64_t id[2],
    const struct ucl_reader *rd, char *err, size_t errsize)
{
	return parse_root(p, len, name, id, rd, err, errsize);
}

struct ucl_doc *
ucl_parse_file(const char *path, char *err, size_t errsize)
{
	struct ucl_doc *d;
	uint8_t *data = NULL;
	size_t len = 0;
	uint64_t id[2];
	char why[256] = "";

	if (ucl_disk_reader.read(NULL, path, UCL_MAX_FILE_BYTES, &data, &len, id, why,
	    sizeof(why)) == -1) {
		if (len > UCL_MAX_FILE_BYTES)
			cfg_error(err, errsize, path, 0, "larger than 1 MiB");
		else
			cfg_error(err, errsize, path, 0, "cannot read: %s", why);
		free(data);
		return NULL;
	}
	d = parse_root(data, len, path, id, &ucl_disk_reader, err, errsize);
	free(data);
	return d;
}

void
ucl_doc_free(struct ucl_doc **dp)
{
	struct ucl_doc *d = *dp;

	if (d == NULL)
		return;
	node_free(d->root);
	for (size_t i = 0; i < d->nfiles; i++)
		free(d->files[i]);
	free(d->files);
	free(d);
	*dp = NULL;
}

/* Copies as much of text as fits into why; returns -1 for the caller to pass on. */
static int
set_why(char *why, size_t whysize, const char *text)
{
	size_t n = strlen(text);

	if (whysize == 0)
		return -1;
	if (n >= whysize)
		n = whysize - 1;
	memcpy(why, text, n);
	why[n] = '\0';
	return -1;
}

static int
disk_read(void *ctx, const char *name, size_t max, uint8_t **data_out, size_t *len_out,
    uint64_t id_out[2], char *why, size_t whysize)
{
	struct stat st;
	uint8_t *data = NULL;
	size_t len = 0, cap;
	int fd, ret = -1;

	(void)ctx;
	*data_out = NULL;
	*len_out = 0;
	/* O_NONBLOCK: opening a FIFO by mistake must not hang start-up */
	if ((fd = open(name, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)) == -1)
		return set_why(why, whysize, strerror(errno));
	if (fstat(fd, &st) == -1) {
		set_why(why, whysize, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		set_why(why, whysize, "not a regular file");
		goto out;
	}
	/* read one byte more than allowed, so that a file that grew is caught too */
	cap = st.st_size < 0 || (uint64_t)st.st_size > max ? max + 1 : (size_t)st.st_size + 1;
	data = xmalloc(cap);
	for (;;) {
		ssize_t n;

		if (len == cap) {
			if (cap > max)
				break;
			cap = cap > max / 2 ? max + 1 : cap * 2;
			data = xrealloc(data, cap);
		}
		n = read(fd, data + len, cap - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			set_why(why, whysize, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > max) {
		*len_out = max + 1;
		set_why(why, whysize, "too large");
		goto out;
	}
	id_out[0] = (uint64_t)st.st_dev;
	id_out[1] = (uint64_t)st.st_ino;
	*data_out = data;
	*len_out = len;
	data = NULL;
	ret = 0;
out:
	free(data);
	close(fd);
	return ret;
}

const struct ucl_reader ucl_disk_reader = { disk_read, NULL };
