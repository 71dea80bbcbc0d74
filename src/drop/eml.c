/*
 * eml.c - the text rules of folder files, and the envelope of a pickup
 * file. The header fields are split here (RFC 5322 2.2: a name of ftext, a
 * colon, and continuation lines that start with white space); address lists
 * are GMime's to parse (groups, comments, quoted display names and encoded
 * words are its trade, not ours). Pure: bytes in, bytes and addresses out.
 */
#include "drop/eml.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gmime/gmime.h>

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

/* ---- addresses (GMime) ---- */

static pthread_once_t gmime_once = PTHREAD_ONCE_INIT;

static void
gmime_init_once(void)
{
	g_mime_init();
}

static int
add_list(InternetAddressList *list, size_t max, char ***v, size_t *n)
{
	int count = internet_address_list_length(list);

	for (int i = 0; i < count; i++) {
		InternetAddress *ia = internet_address_list_get_address(list, i);

		if (INTERNET_ADDRESS_IS_GROUP(ia)) {
			InternetAddressList *members =
			    internet_address_group_get_members(INTERNET_ADDRESS_GROUP(ia));

			if (members != NULL && add_list(members, max, v, n) == -1)
				return -1;
		} else if (INTERNET_ADDRESS_IS_MAILBOX(ia)) {
			const char *a = internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(ia));

			if (a == NULL || a[0] == '\0')
				continue;
			if (*n >= max)
				return -1;
			*v = xrealloc(*v, (*n + 1) * sizeof(**v));	/* n <= max: no overflow */
			(*v)[(*n)++] = xstrdup(a);
		}
	}
	return 0;
}

int
eml_addr_list(const char *value, size_t max, char ***v, size_t *n)
{
	InternetAddressList *list;
	int r = 0;

	pthread_once(&gmime_once, gmime_init_once);
	if ((list = internet_address_list_parse(NULL, value)) == NULL)
		return 0;	/* nothing that reads as an address */
	r = add_list(list, max, v, n);
	g_object_unref(list);
	return r;
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

/* The one address of a field that must hold one: a new string, or NULL. */
static char *
single_addr(const char *value)
{
	char **v = NULL, *a = NULL;
	size_t n = 0;

	/* asked for at most one: a second one fails the parse, and there is no guessing which */
	if (eml_addr_list(value, 1, &v, &n) == 0 && n == 1)
		a = v[0];
	else if (n == 1)
		free(v[0]);
	free(v);
	return a;
}

int
eml_parse(const uint8_t *in, size_t len, size_t max_line_bytes, size_t max_rcpts,
    struct eml_env *env, struct buf *content, char *err, size_t errsize)
{
	struct eml_text t;
	struct field f;
	size_t start = content->len, off, w;
	char *from = NULL, *sender_field = NULL;
	char **hdr_rcpts = NULL;
	size_t nhdr_rcpts = 0;
	int is_top = 1, is_too_many = 0, is_hdr_too_many = 0, ret = -1;
	uint8_t *p;

	memset(env, 0, sizeof(*env));
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

			free(env->sender);
			env->sender = is_null_path(v) ? xstrdup("") : single_addr(v);
			free(v);
			if (env->sender == NULL) {
				parse_fail(err, errsize, "X-Sender: not one address");
				goto out;
			}
			is_removed = 1;
		} else if (is_top && name_is(p, &f, "X-Receiver")) {
			char *v = field_value(p, &f);

			env->is_from_x_lines = 1;
			is_too_many |= eml_addr_list(v, max_rcpts, &env->rcpts, &env->nrcpts) == -1;
			free(v);
			is_removed = 1;
		} else {
			/* the envelope lines count only before every other field */
			is_top = 0;
			if (name_is(p, &f, "To") || name_is(p, &f, "Cc") || name_is(p, &f, "Bcc")) {
				char *v = field_value(p, &f);

				is_hdr_too_many |=
				    eml_addr_list(v, max_rcpts, &hdr_rcpts, &nhdr_rcpts) == -1;
				free(v);
				is_removed = name_is(p, &f, "Bcc");
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

	/* the header's lists count only when they are the envelope */
	if (!env->is_from_x_lines) {
		is_too_many = is_hdr_too_many;
		env->rcpts = hdr_rcpts;
		env->nrcpts = nhdr_rcpts;
		hdr_rcpts = NULL;
		nhdr_rcpts = 0;
	}
	if (is_too_many) {
		snprintf(err, errsize, "more than %zu recipients", max_rcpts);
		goto out;
	}
	if (env->sender == NULL) {
		/* RFC 5322 3.6.2: Sender names the agent when it is not the author */
		if (sender_field != NULL)
			env->sender = single_addr(sender_field);
		if (env->sender == NULL && from != NULL) {
			char **v = NULL;
			size_t n = 0;

			(void)eml_addr_list(from, 64, &v, &n);
			if (n > 0) {
				env->sender = v[0];
				v[0] = NULL;
			}
			for (size_t i = 0; i < n; i++)
				free(v[i]);
			free(v);
		}
		if (env->sender == NULL) {
			parse_fail(err, errsize, "no sender: no X-Sender, Sender or From address");
			goto out;
		}
	}
	if (env->nrcpts == 0) {
		parse_fail(err, errsize, env->is_from_x_lines ? "no recipient in X-Receiver" :
		    "no recipient: no X-Receiver, To, Cc or Bcc address");
		goto out;
	}
	ret = 0;
out:
	for (size_t i = 0; i < nhdr_rcpts; i++)
		free(hdr_rcpts[i]);
	free(hdr_rcpts);
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
