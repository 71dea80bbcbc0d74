/*
 * template.c - the texts of a message: {{NAME}} found once per batch (the
 * texts are split into literal pieces and variables, so that each of a
 * thousand recipients costs one pass over the pieces and no search), then
 * filled per recipient; and line ends made CRLF (RFC 2046 4.1.1: the
 * canonical form of text).
 */
#include "compose/compose_int.h"

#include <stdlib.h>
#include <string.h>

#include "util/ascii.h"
#include "util/xalloc.h"

#define VAR_NAME_MAX 64

static int
is_var_char(uint8_t c)
{
	return ascii_isalnum(c) || c == '_' || c == '.' || c == '-';
}

int
compose_var_name_ok(const char *s, size_t len)
{
	if (len == 0 || len > VAR_NAME_MAX)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!is_var_char((uint8_t)s[i]))
			return 0;
	return 1;
}

/* The index of s[0..len) in vars, added if new: >= 0, or -1 when vars is full. */
static int
var_index(struct compose_vars *vars, const char *s, size_t len)
{
	for (size_t i = 0; i < vars->n; i++)
		if (strlen(vars->names[i]) == len && memcmp(vars->names[i], s, len) == 0)
			return (int)i;
	if (vars->n == COMPOSE_MAX_VARS)
		return -1;
	vars->names[vars->n] = xstrndup(s, len);
	return (int)vars->n++;
}

static void
seg_push(struct compose_text *t, size_t *cap, size_t off, size_t len, int var)
{
	if (len == 0)
		return;
	if (var < 0 && t->nsegs > 0 && t->segs[t->nsegs - 1].var < 0) {
		t->segs[t->nsegs - 1].len += len;	/* literal after literal: one piece */
		return;
	}
	if (t->nsegs == *cap) {
		*cap = *cap ? 2 * *cap : 8;
		t->segs = xrealloc(t->segs, *cap * sizeof(*t->segs));
	}
	t->segs[t->nsegs++] = (struct compose_seg){ off, len, var };
}

int
compose_text_split(struct compose_text *t, struct compose_vars *vars)
{
	size_t i = 0, lit = 0, cap = 0;
	int has_var = 0;

	while (t->is_set && i + 4 <= t->len) {
		const char *open = memmem(t->s + i, t->len - i, "{{", 2);
		size_t n = 0, start;
		int var;

		if (open == NULL)
			break;
		start = (size_t)(open - t->s);
		while (start + 2 + n < t->len && is_var_char((uint8_t)t->s[start + 2 + n]))
			n++;
		/* no name, a name too long, or no "}}" right after it: literal text, as written */
		if (n == 0 || n > VAR_NAME_MAX || start + 2 + n + 2 > t->len ||
		    memcmp(t->s + start + 2 + n, "}}", 2) != 0) {
			i = start + 1;
			continue;
		}
		if ((var = var_index(vars, t->s + start + 2, n)) == -1)
			return -1;
		seg_push(t, &cap, lit, start - lit, -1);
		seg_push(t, &cap, start, n + 4, var);
		has_var = 1;
		i = lit = start + n + 4;
	}
	if (!has_var) {
		free(t->segs);
		t->segs = NULL;
		t->nsegs = 0;
		return 0;
	}
	seg_push(t, &cap, lit, t->len - lit, -1);
	return 0;
}

size_t
compose_html_len(const char *s, size_t len)
{
	size_t n = len;

	for (size_t i = 0; i < len; i++) {
		switch (s[i]) {
		case '&':
			n += 4;	/* &amp; */
			break;
		case '<':
		case '>':
			n += 3;	/* &lt; &gt; */
			break;
		case '"':
			n += 5;	/* &quot; */
			break;
		case '\'':
			n += 4;	/* &#39; */
			break;
		}
	}
	return n;
}

/* s[0..len) escaped for HTML text and attribute values alike. */
static int
html_escape(const char *s, size_t len, struct buf *out)
{
	size_t run = 0;

	for (size_t i = 0; i < len; i++) {
		const char *e;

		switch (s[i]) {
		case '&':
			e = "&amp;";
			break;
		case '<':
			e = "&lt;";
			break;
		case '>':
			e = "&gt;";
			break;
		case '"':
			e = "&quot;";
			break;
		case '\'':
			e = "&#39;";
			break;
		default:
			continue;
		}
		if (buf_append(out, s + run, i - run) == -1 || buf_append_str(out, e) == -1)
			return -1;
		run = i + 1;
	}
	return buf_append(out, s + run, len - run);
}

int
compose_text_expand(const struct compose_text *t, const char *const *vals,
    const size_t *vlens, int is_html, struct buf *out)
{
	if (t->nsegs == 0)
		return buf_append(out, t->s, t->len);
	for (size_t i = 0; i < t->nsegs; i++) {
		const struct compose_seg *g = &t->segs[i];
		int r;

		if (g->var < 0 || vals[g->var] == NULL)
			r = buf_append(out, t->s + g->off, g->len);
		else if (is_html)
			/* values are text: markup in them must show, not act (no injection) */
			r = html_escape(vals[g->var], vlens[g->var], out);
		else
			r = buf_append(out, vals[g->var], vlens[g->var]);
		if (r == -1)
			return -1;
	}
	return 0;
}

int
compose_crlf(const char *in, size_t len, struct buf *out)
{
	size_t run = 0;

	/* an empty buffer's data is NULL, and NULL + 0 is undefined (fuzz_compose found it) */
	if (len == 0)
		return 0;

	for (size_t i = 0; i < len; i++) {
		if (in[i] != '\r' && in[i] != '\n')
			continue;
		if (buf_append(out, in + run, i - run) == -1 || buf_append(out, "\r\n", 2) == -1)
			return -1;
		if (in[i] == '\r' && i + 1 < len && in[i + 1] == '\n')
			i++;
		run = i + 1;
	}
	if (buf_append(out, in + run, len - run) == -1)
		return -1;
	/*
	 * Text ends with a line end: one is added when it is missing, so that a
	 * body reads back the same whether it is the message's only part (where
	 * the message's last CRLF belongs to it) or one of several (where the
	 * CRLF before a boundary does not, RFC 2046 5.1.1).
	 */
	if (len > 0 && in[len - 1] != '\n' && in[len - 1] != '\r')
		return buf_append(out, "\r\n", 2);
	return 0;
}
