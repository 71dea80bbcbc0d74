/*
 * header_list.c - the header section as a list of fields, and the changes
 * content filters make to it (header_list.h). RFC 5322 2.2 (fields,
 * folding), 3.6.8 (field names); the change operations are the milter's
 * (sendmail's smfi_addheader, smfi_insheader, smfi_chgheader).
 * Fields live in one arena that only grows: a change points a slot at new
 * bytes and leaves the old ones, so the list's memory is bounded by what
 * came plus what filters wrote, both under HEADER_LIST_MAX.
 */
#include "msg/header_list.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/ascii.h"
#include "util/xalloc.h"

#define FIELD_NAME_MAX 128	/* longer names are not ones anybody writes */
#define LINE_MAX_BYTES 998	/* RFC 5322 2.1.1 */

void
header_list_init(struct header_list *l)
{
	memset(l, 0, sizeof(*l));
	/* what came and what filters wrote: each part is bounded by HEADER_LIST_MAX */
	buf_init(&l->arena, 2 * HEADER_LIST_MAX);
}

void
header_list_clear(struct header_list *l)
{
	free(l->fields);
	buf_clear(&l->arena);
	memset(l, 0, sizeof(*l));
}

/* Puts raw (copied into the arena) at index, shifting what follows. */
static int
put(struct header_list *l, size_t index, const uint8_t *raw, size_t len, size_t name_len)
{
	size_t off = l->arena.len;

	if (l->bytes + len > HEADER_LIST_MAX || buf_append(&l->arena, raw, len) == -1)
		return -1;
	if (l->nfields == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 32;
		l->fields = xrealloc(l->fields, l->cap * sizeof(*l->fields));
	}
	memmove(&l->fields[index + 1], &l->fields[index],
	    (l->nfields - index) * sizeof(*l->fields));
	/* raw is an offset until fix_pointers: the arena may move as it grows */
	l->fields[index] = (struct header_field){ (const uint8_t *)(uintptr_t)off, len, name_len };
	l->nfields++;
	l->bytes += len;
	return 0;
}

/*
 * Slots hold arena offsets while the list is built; the pointers handed
 * out are made from them at each read, so the arena may move.
 */
static const struct header_field *
field_at(const struct header_list *l, size_t i, struct header_field *out)
{
	*out = l->fields[i];
	out->raw = l->arena.data + (uintptr_t)l->fields[i].raw;
	return out;
}

int
header_list_append_raw(struct header_list *l, const uint8_t *raw, size_t len)
{
	size_t n = 0;

	while (n < len && raw[n] != ':')
		n++;
	if (n == len)
		return -1;
	return put(l, l->nfields, raw, len, n);
}

size_t
header_list_count(const struct header_list *l)
{
	return l->nfields;
}

struct header_field
header_list_get(const struct header_list *l, size_t i)
{
	struct header_field f;

	ASSERT(i < l->nfields);
	return *field_at(l, i, &f);
}

int
header_field_is(const struct header_field *f, const char *name)
{
	size_t n = strlen(name);

	return n == f->name_len && ascii_casen_eq(f->raw, name, n);
}

struct slice
header_field_value(const struct header_field *f)
{
	size_t end = f->len;

	if (end >= 2 && f->raw[end - 2] == '\r' && f->raw[end - 1] == '\n')
		end -= 2;
	else if (end >= 1 && f->raw[end - 1] == '\n')
		end -= 1;
	return (struct slice){ f->raw + f->name_len + 1, end - f->name_len - 1 };
}

static int
bad(char *err, size_t errsize, const char *why)
{
	snprintf(err, errsize, "%s", why);
	return -1;
}

/*
 * Builds "name: value\r\n" into out, checking both: a name of ftext, a
 * value whose line breaks are folds (LF or CRLF before a space or tab),
 * no NUL or bare CR, no line past 998 bytes.
 */
static int
build(const char *name, const char *value, struct buf *out, char *err, size_t errsize)
{
	size_t nlen = strlen(name), line = 0;

	if (nlen == 0 || nlen > FIELD_NAME_MAX)
		return bad(err, errsize, "bad header field name");
	for (size_t i = 0; i < nlen; i++) {
		uint8_t c = (uint8_t)name[i];

		if (c < 33 || c > 126 || c == ':')
			return bad(err, errsize, "bad header field name");
	}
	if (buf_append(out, name, nlen) == -1 || buf_append_byte(out, ':') == -1)
		return bad(err, errsize, "header section too large");
	line = nlen + 1;
	if (value[0] != ' ' && value[0] != '\t') {
		if (buf_append_byte(out, ' ') == -1)
			return bad(err, errsize, "header section too large");
		line++;
	}
	for (const char *p = value; *p != '\0'; p++) {
		uint8_t c = (uint8_t)*p;

		if (c == '\r' && p[1] == '\n')
			continue;	/* the LF that follows writes the line end */
		if (c == '\r')
			return bad(err, errsize, "bare CR in header field value");
		if (c == '\n') {
			/* RFC 5322 2.2.3: a line break inside a field is a fold, nothing else */
			if (p[1] != ' ' && p[1] != '\t')
				return bad(err, errsize, "line break in header field value is no fold");
			if (buf_append(out, "\r\n", 2) == -1)
				return bad(err, errsize, "header section too large");
			line = 0;
			continue;
		}
		if (++line > LINE_MAX_BYTES)
			return bad(err, errsize, "header field line longer than 998 bytes");
		if (buf_append_byte(out, c) == -1)
			return bad(err, errsize, "header section too large");
	}
	if (buf_append(out, "\r\n", 2) == -1)
		return bad(err, errsize, "header section too large");
	return 0;
}

static int
put_built(struct header_list *l, size_t index, const char *name, const char *value, char *err,
    size_t errsize)
{
	struct buf b;
	int r = -1;

	buf_init(&b, HEADER_LIST_MAX);
	if (build(name, value, &b, err, errsize) == 0) {
		if (put(l, index, b.data, b.len, strlen(name)) == 0) {
			l->is_changed = 1;
			r = 0;
		} else {
			(void)bad(err, errsize, "header section too large");
		}
	}
	buf_clear(&b);
	return r;
}

int
header_list_add(struct header_list *l, const char *name, const char *value, char *err,
    size_t errsize)
{
	return put_built(l, l->nfields, name, value, err, errsize);
}

int
header_list_insert(struct header_list *l, size_t index, const char *name, const char *value,
    char *err, size_t errsize)
{
	return put_built(l, index < l->nfields ? index : l->nfields, name, value, err, errsize);
}

int
header_list_change(struct header_list *l, const char *name, unsigned nth, const char *value,
    char *err, size_t errsize)
{
	struct header_field f;
	unsigned seen = 0;
	size_t i;

	if (nth == 0)
		return bad(err, errsize, "header field index starts at 1");
	for (i = 0; i < l->nfields; i++)
		if (header_field_is(field_at(l, i, &f), name) && ++seen == nth)
			break;
	if (i == l->nfields) {
		/* smfi_chgheader: past the last one, a value is added and a deletion is nothing */
		if (value == NULL || value[0] == '\0')
			return 0;
		return header_list_add(l, name, value, err, errsize);
	}
	if (value == NULL || value[0] == '\0') {
		l->bytes -= l->fields[i].len;
		memmove(&l->fields[i], &l->fields[i + 1], (l->nfields - i - 1) * sizeof(*l->fields));
		l->nfields--;
		l->is_changed = 1;
		return 0;
	}
	/* the new field takes the old one's place: put it after, then drop the old */
	if (put_built(l, i + 1, name, value, err, errsize) == -1)
		return -1;
	l->bytes -= l->fields[i].len;
	memmove(&l->fields[i], &l->fields[i + 1], (l->nfields - i - 1) * sizeof(*l->fields));
	l->nfields--;
	return 0;
}

int
header_list_write(const struct header_list *l, struct buf *out)
{
	struct header_field f;

	for (size_t i = 0; i < l->nfields; i++) {
		field_at(l, i, &f);
		if (buf_append(out, f.raw, f.len) == -1)
			return -1;
	}
	return 0;
}
