/*
 * sendmail_header.c - the header section of a message given to sendmail:
 * recipients for -t, Bcc removed, From added, the empty line ensured.
 * GMime reads the fields (RFC 5322 2.2: names, folded values, with their
 * offsets); src/mime reads the address lists in them (sm_addr_list_add).
 * The bytes are edited in place rather than written back by GMime, so that
 * everything but the removed and added fields reaches the queue byte for
 * byte.
 * Where the header section ends (RFC 5322 2.1): at the first empty line
 * when there is one; without one, after the last field of the unbroken run
 * of fields that starts the message (a caller that forgot the empty line);
 * and a message whose first line is no field has no header section at all.
 * Pure: bytes in, bytes and recipients out.
 */
#include "main/sendmail.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gmime/gmime.h>

#include "mime/mime.h"
#include "util/ascii.h"
#include "util/xalloc.h"

/* One field as GMime found it. */
struct field {
	size_t off;		/* where its name starts */
	size_t end;		/* where the next field (or the header section's end) starts */
	GMimeHeader *h;		/* borrowed from the part's header list */
};

/* The end of the line that starts at off (just after its CRLF), or len. */
static size_t
line_end(const uint8_t *p, size_t len, size_t off)
{
	const uint8_t *lf = memchr(p + off, '\n', len - off);

	return lf ? (size_t)(lf - p) + 1 : len;
}

/*
 * The end of the field that starts at off: its first line and every
 * continuation line after it (one that starts with SP or HT, RFC 5322 2.2.3).
 */
static size_t
field_end(const uint8_t *p, size_t len, size_t off)
{
	size_t e = line_end(p, len, off);

	while (e < len && (p[e] == ' ' || p[e] == '\t'))
		e = line_end(p, len, e);
	return e;
}

/* The offset of the first empty line (the CRLF of its own), or -1 without one. */
static long long
empty_line(const uint8_t *p, size_t len)
{
	const uint8_t *q;

	if (len >= 2 && p[0] == '\r' && p[1] == '\n')
		return 0;
	q = memmem(p, len, "\r\n\r\n", 4);
	return q ? (long long)(q - p) + 2 : -1;
}

static int
cmp_field(const void *a, const void *b)
{
	const struct field *x = a, *y = b;

	return x->off < y->off ? -1 : x->off > y->off;
}

/* 1 if h's name is name, ASCII case ignored. */
static int
is_named(GMimeHeader *h, const char *name)
{
	const char *n = g_mime_header_get_name(h);

	return n != NULL && strlen(n) == strlen(name) && ascii_casen_eq(n, name, strlen(name));
}

/* The mailboxes of field h added to rcpts (its value unfolded first). */
static int
field_rcpts(GMimeHeader *h, const char *domain, struct sm_rcpts *rcpts, char *err,
    size_t errsize)
{
	const char *raw = g_mime_header_get_raw_value(h);
	char *unfolded;
	int r;

	if (raw == NULL)
		return 0;
	unfolded = g_mime_utils_header_unfold(raw);
	r = sm_addr_list_add(rcpts, unfolded, domain, err, errsize);
	g_free(unfolded);
	if (r == -1) {
		/* name the field, so the user knows where to look */
		size_t n = strlen(err);

		snprintf(err + n, errsize - n, " (in the %s field)", g_mime_header_get_name(h));
	}
	return r;
}

int
sm_header_edit(const uint8_t *msg, size_t len, const struct sm_header_opts *o,
    struct buf *out, struct sm_rcpts *rcpts, char *err, size_t errsize)
{
	GMimeStream *st = NULL;
	GMimeParser *parser = NULL;
	GMimeObject *part = NULL;
	GMimeHeaderList *hl;
	struct field *f = NULL;
	size_t nf = 0, hs_end = 0, pos = 0, start = out->len;
	long long blank;
	int has_from = 0, has_blank, ret = -1;

	mime_init();
	blank = empty_line(msg, len);
	has_blank = blank >= 0;
	/*
	 * With an empty line, GMime sees only the header section and that
	 * line: the fields are all there is to read, and a large body is not
	 * parsed for nothing. Without one, it sees the whole message and the
	 * run of fields from the start is the header section.
	 */
	st = g_mime_stream_mem_new_with_buffer((const char *)msg,
	    has_blank ? (size_t)blank + 2 : len);
	parser = g_mime_parser_new_with_stream(st);
	part = g_mime_parser_construct_part(parser, NULL);
	if (part != NULL && (hl = g_mime_object_get_header_list(part)) != NULL) {
		int n = g_mime_header_list_get_count(hl);

		f = xcalloc(n > 0 ? (size_t)n : 1, sizeof(*f));
		for (int i = 0; i < n; i++) {
			GMimeHeader *h = g_mime_header_list_get_header_at(hl, i);
			gint64 off = g_mime_header_get_offset(h);

			if (off < 0 || (uint64_t)off >= len)
				continue;
			f[nf].off = (size_t)off;
			f[nf].h = h;
			nf++;
		}
		qsort(f, nf, sizeof(*f), cmp_field);
	}

	/* where the header section ends; none when the first line is no field */
	if (nf == 0 || f[0].off != 0) {
		nf = 0;
		hs_end = 0;
		/* an empty line first is an empty header section, already separated */
		has_blank = blank == 0;
	} else if (has_blank) {
		hs_end = (size_t)blank;
		while (nf > 0 && f[nf - 1].off >= hs_end)
			nf--;
	} else {
		size_t want = 0, k = 0;

		for (; k < nf && f[k].off == want; k++)
			want = field_end(msg, len, f[k].off);
		nf = k;
		hs_end = want;
	}
	/* a field runs to the next one: lines GMime skipped go with the field before them */
	for (size_t i = 0; i < nf; i++)
		f[i].end = i + 1 < nf ? f[i + 1].off : hs_end;

	for (size_t i = 0; i < nf; i++) {
		int is_bcc = is_named(f[i].h, "Bcc") || is_named(f[i].h, "Resent-Bcc");

		if (is_named(f[i].h, "From"))
			has_from = 1;
		if (o->is_extract && (is_named(f[i].h, "To") || is_named(f[i].h, "Cc") ||
		    is_named(f[i].h, "Bcc")) &&
		    field_rcpts(f[i].h, o->domain, rcpts, err, errsize) == -1)
			goto out;
		if (is_bcc) {
			/* blind copies stay blind: the field never reaches the queue */
			if (buf_append(out, msg + pos, f[i].off - pos) == -1)
				goto full;
			pos = f[i].end;
		}
	}
	if (buf_append(out, msg + pos, hs_end - pos) == -1)
		goto full;
	if (!has_from && o->from_value != NULL &&
	    (buf_append_str(out, "From: ") == -1 || buf_append_str(out, o->from_value) == -1 ||
	    buf_append(out, "\r\n", 2) == -1))
		goto full;
	/* RFC 5322 2.1: the body is separated from the header section by an empty line */
	if (!has_blank && out->len > start && buf_append(out, "\r\n", 2) == -1)
		goto full;
	if (buf_append(out, msg + hs_end, len - hs_end) == -1)
		goto full;
	ret = 0;
	goto out;
full:
	snprintf(err, errsize, "message too large with the added header fields");
out:
	if (ret == -1)
		out->len = start;
	free(f);
	if (part != NULL)
		g_object_unref(part);
	g_object_unref(parser);
	g_object_unref(st);
	return ret;
}
