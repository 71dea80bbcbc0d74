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
#include "config/ucl_parse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/ascii.h"
#include "util/buf.h"
#include "util/xalloc.h"

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
	struct ucl_node *old = ucl_obj_find(obj, kid->key);
	size_t saved;
	int ret = 0;

	if (old == NULL) {
		ucl_obj_append(obj, kid);
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
	ucl_node_free(kid);
	return ret;
}


static int parse_members(struct parser *ps, struct src *s, struct ucl_node *obj, int is_braced,
    unsigned open_line, unsigned depth);

static int
deeper(struct parser *ps, const struct src *s, unsigned depth)
{
	if (depth > UCL_MAX_DEPTH)
		return ucl_perr(ps, s, s->line, "nesting deeper than %d levels", UCL_MAX_DEPTH);
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

		if (ucl_skip(ps, s, 1, NULL) == -1)
			return -1;
		if (s->p >= s->end)
			return ucl_perr(ps, s, open_line, "unterminated array: '[' has no matching ']'");
		if (*s->p == ']') {
			s->p++;
			return 0;
		}
		if (*s->p == '}')
			return ucl_perr(ps, s, s->line,
			    "expected a value or ']', found '}' (the '[' at line %u is not closed)",
			    open_line);
		el = ucl_node_new(UCL_STRING, NULL, s, s->line);
		ucl_obj_append(n, el);
		k = snprintf(idx, sizeof(idx), "[%zu]", i);
		if (k < 0 || (size_t)k >= sizeof(idx))
			idx[0] = '\0';
		saved = ps->path.len;
		(void)buf_append_str(&ps->path, idx);
		rc = parse_value(ps, s, el, depth);
		path_pop(ps, saved);
		/* a newline separates elements too, and a comma may start the next line */
		if (rc == -1 || ucl_skip(ps, s, 1, &crossed) == -1)
			return -1;
		if (s->p >= s->end)
			return ucl_perr(ps, s, open_line, "unterminated array: '[' has no matching ']'");
		if (*s->p == ',') {
			s->p++;
		} else if (*s->p == ']') {
			s->p++;
			return 0;
		} else if (!crossed) {
			return ucl_perr(ps, s, s->line, "expected ',' or ']' after an array element, found %s",
			    ucl_show_next(s, shown));
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
		return ucl_perr(ps, s, s->line, "expected a value, found the end of the file");
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
		if (ucl_read_quoted(ps, s) == -1)
			return -1;
		n->type = UCL_STRING;
		n->is_quoted = 1;
		n->len = ps->tok.len;
		n->str = xstrndup(ps->tok.data ? (const char *)ps->tok.data : "", ps->tok.len);
		return 0;
	default:
		if (!ucl_is_word_char(*s->p))
			return ucl_perr(ps, s, s->line, "expected a value, found %s", ucl_show_next(s, shown));
		if (ucl_read_word(ps, s) == -1)
			return -1;
		return ucl_classify_word(ps, s, n);
	}
}

/* After a scalar member: ';', ',', a newline, '}' or the end of the file. */
static int
end_scalar(struct parser *ps, struct src *s, const char *key)
{
	char shown[24];
	int crossed = 0;

	if (ucl_skip(ps, s, 0, &crossed) == -1)
		return -1;
	if (s->p >= s->end || crossed || *s->p == '\n' || *s->p == '}')
		return 0;
	if (*s->p == ';' || *s->p == ',') {
		s->p++;
		return 0;
	}
	return ucl_perr(ps, s, s->line, "expected ';', ',' or a newline after the value of '%s', found %s",
	    key, ucl_show_next(s, shown));
}

/* After an object or array member: an optional ';' or ','. */
static int
end_container(struct parser *ps, struct src *s)
{
	if (ucl_skip(ps, s, 0, NULL) == -1)
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
	return *is_quoted_out ? ucl_read_quoted(ps, s) : ucl_read_word(ps, s);
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

		if (!ucl_is_valid_key(names[i], strlen(names[i]))) {
			rc = ucl_perr(ps, s, lines[i], "invalid section name '%s' (names are letters, "
			    "digits, '_' and '-')", cfg_shorten(names[i], (char[64]){ 0 }));
			goto out;
		}
		sub = ucl_node_new(UCL_OBJECT, names[i], s, lines[i]);
		names[i] = NULL;
		ucl_obj_append(cur, sub);
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
			rc = ucl_perr(ps, s, s->line, "more than %d section names", MAX_SECTION_NAMES);
			goto out;
		}
		lines[nnames] = s->line;
		if (read_token(ps, s, &is_quoted) == -1)
			goto out;
		names[nnames++] = xstrndup(ps->tok.data ? (const char *)ps->tok.data : "",
		    ps->tok.len);
		save_p = s->p;
		save_line = s->line;
		if (ucl_skip(ps, s, 0, &crossed) == -1)
			goto out;
		if (s->p < s->end && (*s->p == '\n' || crossed)) {
			/* the brace of a section may be on the next line */
			if (ucl_skip(ps, s, 1, NULL) == -1)
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
		if (s->p >= s->end || !(*s->p == '"' || *s->p == '\'' || ucl_is_word_char(*s->p))) {
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
		rc = ucl_perr(ps, s, lines[1], "expected ';', ',' or a newline after the value of '%s', "
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
		rc = ucl_classify_word(ps, s, n);
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

	if (ucl_skip(ps, s, 0, &crossed) == -1)
		return -1;
	if (s->p < s->end && (*s->p == '\n' || crossed)) {
		/* only an object's brace may wait for the next line */
		if (ucl_skip(ps, s, 1, NULL) == -1)
			return -1;
		if (s->p < s->end && *s->p == '{')
			goto container;
		return ucl_perr(ps, s, n->line, "key '%s' has no value", n->key);
	}
	if (s->p >= s->end || strchr(";,}]", *s->p) != NULL)
		return ucl_perr(ps, s, n->line, "key '%s' has no value", n->key);
	if (*s->p == '=' || *s->p == ':') {
		s->p++;
		if (ucl_skip(ps, s, 1, NULL) == -1)
			return -1;
		if (s->p >= s->end || strchr(";,}]=:", *s->p) != NULL)
			return ucl_perr(ps, s, n->line, "key '%s' has no value", n->key);
		if (*s->p == '{' || *s->p == '[')
			goto container;
		if (parse_value(ps, s, n, depth) == -1)
			return -1;
		return end_scalar(ps, s, n->key);
	}
	if (*s->p == '{' || *s->p == '[')
		goto container;
	if (*s->p != '"' && *s->p != '\'' && !ucl_is_word_char(*s->p))
		return ucl_perr(ps, s, s->line, "expected '=', ':', '{' or a value after key '%s', found %s",
		    n->key, ucl_show_next(s, shown));
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
		return ucl_perr(ps, s, line, "unknown directive '.%s' (only .include is supported)", name);
	}
	if (s->p < s->end && *s->p == '(')
		return ucl_perr(ps, s, line, ".include takes no parameters here");
	if (ucl_skip(ps, s, 0, NULL) == -1)
		return -1;
	if (s->p >= s->end || !(*s->p == '"' || *s->p == '\'' || ucl_is_word_char(*s->p)))
		return ucl_perr(ps, s, line, ".include needs a file name, found %s", ucl_show_next(s, shown));
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
		if (!ucl_is_valid_key((const char *)ps->tok.data, ps->tok.len))
			return ucl_perr(ps, s, s->line, "invalid key \"%s\" (keys are letters, digits, "
			    "'_' and '-')", cfg_shorten(buf_cstr(&ps->tok), (char[64]){ 0 }));
		*key_out = xstrndup(ps->tok.data, ps->tok.len);
		return 0;
	}
	while (s->p < s->end && ucl_is_key_char(*s->p))
		s->p++;
	if (s->p == start)
		return ucl_perr(ps, s, s->line, "expected a key, found %s", ucl_show_next(s, shown));
	if ((size_t)(s->p - start) > UCL_MAX_STRING_BYTES)
		return ucl_perr(ps, s, s->line, "key longer than 64 KiB");
	*key_out = xstrndup(start, (size_t)(s->p - start));
	if (s->p >= s->end || strchr(" \t\r\n=:{[\"'#/;,}", *s->p) != NULL)
		return 0;
	if (*s->p == '.' && (size_t)(s->end - s->p) > 1 && ucl_is_key_char(s->p[1])) {
		/* smtp.max_line_bytes = 512 is a common guess; say what to write instead */
		const uint8_t *q = s->p;
		char *full;
		int rc;

		while (q < s->end && (ucl_is_key_char(*q) || *q == '.'))
			q++;
		full = xstrndup(start, (size_t)(q - start));
		rc = ucl_perr(ps, s, s->line, "dotted key '%s' is not supported: write %s { ... } instead",
		    cfg_shorten(full, (char[64]){ 0 }), cfg_shorten(*key_out, (char[64]){ 0 }));
		free(full);
		return rc;
	}
	return ucl_perr(ps, s, s->line, "invalid character %s in key '%s' (keys are letters, digits, "
	    "'_' and '-')", ucl_show_next(s, shown), cfg_shorten(*key_out, (char[64]){ 0 }));
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

		if (ucl_skip(ps, s, 1, NULL) == -1)
			return -1;
		if (s->p >= s->end) {
			if (is_braced)
				return ucl_perr(ps, s, open_line,
				    "unterminated object: '{' has no matching '}'");
			return 0;
		}
		if (*s->p == '}') {
			if (!is_braced)
				return ucl_perr(ps, s, s->line, "unexpected '}' (no '{' to close)");
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
		n = ucl_node_new(UCL_STRING, key, s, line);
		saved = path_push(ps, key);
		rc = parse_member_value(ps, s, n, depth);
		path_pop(ps, saved);
		if (rc == -1) {
			ucl_node_free(n);
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
		return ucl_perr(ps, s, line, "NUL byte in the file");
	}
	if (ucl_skip(ps, s, 1, NULL) == -1)
		return -1;
	if (s->p < s->end && *s->p == '{') {
		unsigned open_line = s->line;

		s->p++;
		if (parse_members(ps, s, obj, 1, open_line, depth) == -1 ||
		    ucl_skip(ps, s, 1, NULL) == -1)
			return -1;
		if (s->p < s->end)
			return ucl_perr(ps, s, s->line, "unexpected %s after the closing '}'",
			    ucl_show_next(s, shown));
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
	rc = ucl_perr(ps, s, line, "include cycle: %s", buf_cstr(&b));
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
		return ucl_perr(ps, s, line, ".include is not allowed here");
	if (path[0] == '\0')
		return ucl_perr(ps, s, line, ".include needs a file name");
	if (s->include_depth + 1 > UCL_MAX_INCLUDE_DEPTH)
		return ucl_perr(ps, s, line, "includes nested more than %d deep", UCL_MAX_INCLUDE_DEPTH);
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
			rc = ucl_perr(ps, s, line, "cannot include '%s': larger than 1 MiB",
			    buf_cstr(&name));
		else
			rc = ucl_perr(ps, s, line, "cannot include '%s': %s", buf_cstr(&name), why);
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
		rc = ucl_perr(ps, s, line, "configuration too large: more than 4 MiB read with includes");
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
	rc = ucl_perr(ps, s, line, ".include: file name too long");
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
	d->root = ucl_node_new(UCL_OBJECT, NULL, &s, 1);
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
