/*
 * eml.c - the text rules of folder files, and the envelope of a pickup
 * file. The header fields are split here (RFC 5322 2.2: a name of ftext, a
 * colon, and continuation lines that start with white space); address lists
 * are read by src/mime, as sterna sendmail reads them (GMime: groups,
 * comments, quoted display names and encoded words are its trade, not
 * ours). Pure: bytes in, bytes and addresses out.
 */
#include "drop/eml.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mime/mime.h"
#include "util/ascii.h"
#include "util/xalloc.h"

/* ---- text ---- */

void
eml_text_init(struct eml_text *t, size_t max_line_bytes)
{
	memset(t, 0, sizeof(*t));
	t->max_line_bytes = max_line_bytes;
	t->line_no = 1;
}

static int
text_fail(struct eml_text *t, const char *why)
{
	t->is_bad = 1;
	snprintf(t->err, sizeof(t->err), "line %zu: %s", t->line_no, why);
	return -1;
}

/* Ends the line being read: one CRLF. */
static int
line_end(struct eml_text *t, struct buf *out)
{
	if (buf_append(out, "\r\n", 2) == -1)
		return text_fail(t, "over the size limit");
	t->line_bytes = 0;
	t->line_no++;
	return 0;
}

/* CRs that no LF followed: each ended a line. */
static int
flush_crs(struct eml_text *t, struct buf *out)
{
	for (; t->crs > 0; t->crs--)
		if (line_end(t, out) == -1)
			return -1;
	return 0;
}

int
eml_text_feed(struct eml_text *t, const uint8_t *in, size_t len, struct buf *out)
{
	size_t i = 0;

	if (t->is_bad)
		return -1;
	while (i < len) {
		size_t run = i;

		if (in[i] == '\r') {
			t->crs++;
			i++;
			continue;
		}
		if (in[i] == '\n') {
			/* LF, CRLF, CR..CRLF: one line end */
			t->crs = 0;
			if (line_end(t, out) == -1)
				return -1;
			i++;
			continue;
		}
		if (flush_crs(t, out) == -1)
			return -1;
		/* a run of ordinary bytes, appended at once */
		while (run < len && in[run] != '\r' && in[run] != '\n') {
			if (in[run] == '\0')
				return text_fail(t, "NUL byte");
			if (in[run] >= 0x80)
				t->is_8bit = 1;
			run++;
		}
		/* RFC 5321 4.5.3.1.6 counts the CRLF */
		if (t->line_bytes + (run - i) + 2 > t->max_line_bytes) {
			char why[64];

			snprintf(why, sizeof(why), "longer than %zu bytes", t->max_line_bytes);
			return text_fail(t, why);
		}
		if (buf_append(out, in + i, run - i) == -1)
			return text_fail(t, "over the size limit");
		t->line_bytes += run - i;
		i = run;
	}
	return 0;
}

int
eml_text_end(struct eml_text *t, struct buf *out)
{
	if (t->is_bad)
		return -1;
	if (flush_crs(t, out) == -1)
		return -1;
	/* the queue holds whole lines: a last line without its end gets one */
	if (t->line_bytes > 0 && line_end(t, out) == -1)
		return -1;
	return 0;
}

/* ---- the header of a pickup file ---- */

/* ftext (RFC 5322 3.6.8): printable ASCII except ':' */
static int
is_ftext(uint8_t c)
{
	return c >= 33 && c <= 126 && c != ':';
}

struct field {
	size_t start, end;		/* the whole field, its last CRLF included */
	size_t name_len, value;	/* the value starts after the colon */
};

/*
 * The field at p[off..len), CRLF text: 1 with *f, or 0 when the line there
 * is no field (the empty line that ends the header section, or a body
 * line of a message without a header section).
 */
static int
next_field(const uint8_t *p, size_t len, size_t off, struct field *f)
{
	size_t i = off;

	while (i < len && is_ftext(p[i]))
		i++;
	if (i == off || i >= len || p[i] != ':')
		return 0;
	f->start = off;
	f->name_len = i - off;
	f->value = i + 1;
	for (;;) {
		const uint8_t *lf = memchr(p + i, '\n', len - i);

		i = lf == NULL ? len : (size_t)(lf - p) + 1;
		/* a continuation line starts with white space (RFC 5322 2.2.3) */
		if (i >= len || (p[i] != ' ' && p[i] != '\t'))
			break;
	}
	f->end = i;
	return 1;
}

static int
name_is(const uint8_t *p, const struct field *f, const char *name)
{
	return f->name_len == strlen(name) && ascii_casen_eq(p + f->start, name, f->name_len);
}

/* The field's value, unfolded (CRLFs dropped), as a new string. */
static char *
field_value(const uint8_t *p, const struct field *f)
{
	char *s = xmalloc(f->end - f->value + 1);
	size_t n = 0;

	for (size_t i = f->value; i < f->end; i++)
		if (p[i] != '\r' && p[i] != '\n')
			s[n++] = (char)p[i];
	s[n] = '\0';
	return s;
}

static int
parse_fail(char *err, size_t errsize, const char *why)
{
	snprintf(err, errsize, "%s", why);
	return -1;
}

/* "<>" alone (spaces around allowed): the null sender. */
static int
is_null_path(const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	if (s[0] != '<' || s[1] != '>')
		return 0;
	for (s += 2; *s == ' ' || *s == '\t'; s++)
		;
	return *s == '\0';
}

/* Authors in a From field read for the sender: a bound on the work, not a rule of RFC 5322. */
#define EML_FROM_MAX 64

/*
 * The one address of a field that must hold one (its unfolded value) into
 * *out, a new string: 0, or -1 with why in err, the field named.
 */
static int
single_addr(const char *name, const char *value, const char *domain, char **out, char *err,
    size_t errsize)
{
	struct mime_addrs a;
	char why[200] = "";

	/* asked for at most one: a second one fails the parse, and there is no guessing which */
	*out = NULL;
	mime_addrs_init(&a, 1);
	if (mime_addr_list(value, domain, &a, why, sizeof(why)) == MIME_ADDR_BAD)
		snprintf(err, errsize, "%s: %s", name, why);
	else if (a.n != 1)
		snprintf(err, errsize, "%s: not one address", name);
	else
		*out = xstrdup(a.v[0]);
	mime_addrs_clear(&a);
	return *out != NULL ? 0 : -1;
}

/*
 * The addresses of a list field (its unfolded value) appended to a. A bad
 * list is remembered in err (the first only, the field named) and returns
 * -1; too many returns -2. a is left as it was either way.
 */
static int
list_addrs(const char *name, const char *value, const char *domain, struct mime_addrs *a,
    char *err, size_t errsize)
{
	char why[200] = "";

	switch (mime_addr_list(value, domain, a, why, sizeof(why))) {
	case MIME_ADDR_OK:
		return 0;
	case MIME_ADDR_TOO_MANY:
		return -2;
	case MIME_ADDR_BAD:
	default:
		if (err[0] == '\0')
			snprintf(err, errsize, "%s: %s", name, why);
		return -1;
	}
}

int
eml_parse(const uint8_t *in, size_t len, size_t max_line_bytes, size_t max_rcpts,
    const char *domain, struct eml_env *env, struct buf *content, char *err, size_t errsize)
{
	struct eml_text t;
	struct field f;
	size_t start = content->len, off, w;
	char *from = NULL, *sender_field = NULL;
	char x_err[256] = "", hdr_err[256] = "";
	struct mime_addrs x_rcpts, hdr_rcpts, *rcpts;
	int is_top = 1, is_x_too_many = 0, is_hdr_too_many = 0, is_too_many, ret = -1;
	uint8_t *p;

	memset(env, 0, sizeof(*env));
	mime_addrs_init(&x_rcpts, max_rcpts);
	mime_addrs_init(&hdr_rcpts, max_rcpts);
	/* an mbox "From " line is the separator of a mailbox file, not part of the message */
	if (len >= 5 && memcmp(in, "From ", 5) == 0) {
		const uint8_t *lf = memchr(in, '\n', len);

		off = lf == NULL ? len : (size_t)(lf - in) + 1;
		in += off;
		len -= off;
	}
	eml_text_init(&t, max_line_bytes);
	if (eml_text_feed(&t, in, len, content) == -1 || eml_text_end(&t, content) == -1) {
		content->len = start;	/* the lines before the bad one go too */
		return parse_fail(err, errsize, t.err);
	}
	env->is_8bit = t.is_8bit;

	len = content->len - start;
	/* an empty text (data may still be NULL) has no fields, and nothing moves */
	p = len > 0 ? content->data + start : NULL;
	off = w = 0;
	while (off < len && next_field(p, len, off, &f)) {
		int is_removed = 0;

		if (is_top && name_is(p, &f, "X-Sender")) {
			char *v = field_value(p, &f);
			int r = 0;

			free(env->sender);
			env->sender = NULL;
			if (is_null_path(v))
				env->sender = xstrdup("");
			else
				r = single_addr("X-Sender", v, domain, &env->sender, err, errsize);
			free(v);
			if (r == -1)
				goto out;
			is_removed = 1;
		} else if (is_top && name_is(p, &f, "X-Receiver")) {
			char *v = field_value(p, &f);

			env->is_from_x_lines = 1;
			is_x_too_many |= list_addrs("X-Receiver", v, domain, &x_rcpts, x_err,
			    sizeof(x_err)) == -2;
			free(v);
			is_removed = 1;
		} else {
			const char *list = name_is(p, &f, "To") ? "To" :
			    name_is(p, &f, "Cc") ? "Cc" : name_is(p, &f, "Bcc") ? "Bcc" : NULL;

			/* the envelope lines count only before every other field */
			is_top = 0;
			if (list != NULL) {
				char *v = field_value(p, &f);

				is_hdr_too_many |= list_addrs(list, v, domain, &hdr_rcpts, hdr_err,
				    sizeof(hdr_err)) == -2;
				free(v);
				is_removed = strcmp(list, "Bcc") == 0;
			} else if (from == NULL && name_is(p, &f, "From")) {
				from = field_value(p, &f);
			} else if (sender_field == NULL && name_is(p, &f, "Sender")) {
				sender_field = field_value(p, &f);
			}
		}
		if (!is_removed) {
			memmove(p + w, p + f.start, f.end - f.start);
			w += f.end - f.start;
		}
		off = f.end;
	}
	/* the rest (the empty line, the body) moves up over what was removed */
	if (w < off)
		memmove(p + w, p + off, len - off);
	content->len = start + w + (len - off);

	/*
	 * The header's lists count only when they are the envelope. A list of
	 * the envelope that cannot be read whole fails the file: taking the
	 * part GMime could read would drop the rest without a word.
	 */
	rcpts = env->is_from_x_lines ? &x_rcpts : &hdr_rcpts;
	is_too_many = env->is_from_x_lines ? is_x_too_many : is_hdr_too_many;
	if ((env->is_from_x_lines ? x_err : hdr_err)[0] != '\0') {
		parse_fail(err, errsize, env->is_from_x_lines ? x_err : hdr_err);
		goto out;
	}
	if (is_too_many) {
		snprintf(err, errsize, "more than %zu recipients", max_rcpts);
		goto out;
	}
	if (env->sender == NULL) {
		/*
		 * RFC 5322 3.6.2: Sender names the agent when it is not the
		 * author. One that cannot be read fails the file rather than
		 * letting From stand in for it unseen.
		 */
		if (sender_field != NULL &&
		    single_addr("Sender", sender_field, domain, &env->sender, err, errsize) == -1)
			goto out;
		if (env->sender == NULL && from != NULL) {
			/* several authors are allowed (3.6.2): the first is the sender */
			struct mime_addrs a;
			char why[200] = "";
			int is_bad;

			mime_addrs_init(&a, EML_FROM_MAX);
			is_bad = mime_addr_list(from, domain, &a, why, sizeof(why)) != MIME_ADDR_OK;
			if (is_bad)
				snprintf(err, errsize, "From: %s", why);
			else if (a.n > 0)
				env->sender = xstrdup(a.v[0]);
			mime_addrs_clear(&a);
			if (is_bad)
				goto out;
		}
		if (env->sender == NULL) {
			parse_fail(err, errsize, "no sender: no X-Sender, Sender or From address");
			goto out;
		}
	}
	if (rcpts->n == 0) {
		parse_fail(err, errsize, env->is_from_x_lines ? "no recipient in X-Receiver" :
		    "no recipient: no X-Receiver, To, Cc or Bcc address");
		goto out;
	}
	env->rcpts = rcpts->v;
	env->nrcpts = rcpts->n;
	mime_addrs_init(rcpts, max_rcpts);	/* env owns the strings now */
	ret = 0;
out:
	mime_addrs_clear(&x_rcpts);
	mime_addrs_clear(&hdr_rcpts);
	free(from);
	free(sender_field);
	if (ret == -1) {
		eml_env_clear(env);
		content->len = start;
	}
	return ret;
}

void
eml_env_clear(struct eml_env *env)
{
	free(env->sender);
	for (size_t i = 0; i < env->nrcpts; i++)
		free(env->rcpts[i]);
	free(env->rcpts);
	memset(env, 0, sizeof(*env));
}
