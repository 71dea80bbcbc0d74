/*
 * build.c - one message from a checked request, written by GMime:
 *
 *	mixed                      when there are attachments
 *	  alternative              when there are text and html (RFC 2046 5.1.4)
 *	    text/plain
 *	    related; type=text/html  when html names inline parts (RFC 2387)
 *	      text/html
 *	      inline parts (Content-ID)
 *	  attachments
 *
 * so that a reader showing text never sees the inline images. Text parts
 * are UTF-8 in canonical CRLF form, each in 7bit, quoted-printable or
 * base64 as GMime finds best under a 7-bit constraint (its "best encoding"
 * also picks quoted-printable for a line over 998 bytes); attachments are
 * base64, encoded once per request (attach.c). Header text and display
 * names go out as RFC 2047 encoded words, file names as RFC 2231
 * parameters. The extra header fields (already folded, field.c) go last
 * in the header section, where GMime has nothing to say about them.
 */
#include "compose/compose_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gmime/gmime.h>

#include "mime/mime.h"
#include "util/clock.h"
#include "util/xalloc.h"

#define LINE_MAX_BYTES 998	/* RFC 5322 2.1.1, CRLF not counted */

static void
add_addr(GMimeMessage *m, GMimeAddressType type, const struct compose_addr *a)
{
	InternetAddress *ia = internet_address_mailbox_new(a->name, a->email);

	/* UTF-8 for the encoded words of a name, rather than the "best" of GMime's guesses */
	internet_address_set_charset(ia, "utf-8");
	internet_address_list_add(g_mime_message_get_addresses(m, type), ia);
	g_object_unref(ia);
}

static GMimeObject *
text_part(const char *subtype, struct slice s)
{
	GMimeTextPart *tp = g_mime_text_part_new_with_subtype(subtype);
	GMimeStream *st = g_mime_stream_mem_new_with_buffer(s.len > 0 ? (const char *)s.p : "",
	    s.len);
	GMimeDataWrapper *w = g_mime_data_wrapper_new_with_stream(st, GMIME_CONTENT_ENCODING_DEFAULT);
	GMimePart *part = GMIME_PART(tp);

	g_mime_part_set_content(part, w);
	g_object_unref(w);
	g_object_unref(st);
	g_mime_text_part_set_charset(tp, "utf-8");
	g_mime_part_set_content_encoding(part,
	    g_mime_part_get_best_content_encoding(part, GMIME_ENCODING_CONSTRAINT_7BIT));
	return GMIME_OBJECT(tp);
}

static GMimeObject *
att_part(const struct compose_att *a, int is_inline)
{
	GMimeContentType *ct = g_mime_content_type_parse(NULL, a->content_type);
	GMimePart *part = g_mime_part_new();
	GMimeStream *st = g_mime_stream_mem_new_with_byte_array(a->b64);
	GMimeDataWrapper *w;

	g_mime_object_set_content_type(GMIME_OBJECT(part), ct);
	g_object_unref(ct);
	/* the batch's bytes, borrowed: this stream has its own position and frees nothing */
	g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(st), FALSE);
	/* already base64, as the part says: GMime copies it out without encoding it again */
	w = g_mime_data_wrapper_new_with_stream(st, GMIME_CONTENT_ENCODING_BASE64);
	g_mime_part_set_content(part, w);
	g_object_unref(w);
	g_object_unref(st);
	g_mime_part_set_content_encoding(part, GMIME_CONTENT_ENCODING_BASE64);
	g_mime_object_set_disposition(GMIME_OBJECT(part), is_inline ? "inline" : "attachment");
	g_mime_part_set_filename(part, a->filename);
	if (a->content_id != NULL)
		g_mime_part_set_content_id(part, a->content_id);
	return GMIME_OBJECT(part);
}

/* Adds child to mp, which takes its own reference. */
static void
multipart_add(GMimeMultipart *mp, GMimeObject *child)
{
	g_mime_multipart_add(mp, child);
	g_object_unref(child);
}

/* The MIME tree of the comment at the top. */
static GMimeObject *
body_tree(const struct compose_tpl *t, const struct compose_parts *p)
{
	GMimeObject *html = NULL, *text = NULL, *body;
	size_t ninline = 0, nmixed;

	for (size_t i = 0; i < t->natts; i++)
		ninline += t->atts[i].content_id != NULL;
	if (p->html.p != NULL) {
		html = text_part("html", p->html);
		if (ninline > 0) {
			GMimeMultipart *rel = g_mime_multipart_new_with_subtype("related");

			/* RFC 2387 3.1: the type of the root part, which comes first */
			g_mime_object_set_content_type_parameter(GMIME_OBJECT(rel), "type",
			    "text/html");
			multipart_add(rel, html);
			for (size_t i = 0; i < t->natts; i++)
				if (t->atts[i].content_id != NULL)
					multipart_add(rel, att_part(&t->atts[i], 1));
			html = GMIME_OBJECT(rel);
		}
	}
	if (p->text.p != NULL)
		text = text_part("plain", p->text);
	if (text != NULL && html != NULL) {
		GMimeMultipart *alt = g_mime_multipart_new_with_subtype("alternative");

		/* RFC 2046 5.1.4: the plainest first, the richest last */
		multipart_add(alt, text);
		multipart_add(alt, html);
		body = GMIME_OBJECT(alt);
	} else {
		body = text != NULL ? text : html;
	}
	/* without html no part refers to an inline one: it goes with the attachments */
	nmixed = t->natts - (html != NULL ? ninline : 0);
	if (nmixed > 0) {
		GMimeMultipart *mixed = g_mime_multipart_new_with_subtype("mixed");

		multipart_add(mixed, body);
		for (size_t i = 0; i < t->natts; i++)
			if (t->atts[i].content_id == NULL || html == NULL)
				multipart_add(mixed, att_part(&t->atts[i],
				    t->atts[i].content_id != NULL));
		body = GMIME_OBJECT(mixed);
	}
	return body;
}

static GMimeMessage *
message_new(const struct compose_tpl *t, const struct compose_parts *p, const char *id_left,
    const char *hostname)
{
	GMimeMessage *m = g_mime_message_new(TRUE);
	GMimeObject *body;
	char date[64], *s;

	add_addr(m, GMIME_ADDRESS_TYPE_FROM, &t->from);
	if (t->reply_to.email != NULL)
		add_addr(m, GMIME_ADDRESS_TYPE_REPLY_TO, &t->reply_to);
	if (p->to != NULL) {
		add_addr(m, GMIME_ADDRESS_TYPE_TO, p->to);
	} else {
		for (size_t i = 0; i < t->nto; i++)
			add_addr(m, GMIME_ADDRESS_TYPE_TO, &t->to[i]);
		for (size_t i = 0; i < t->ncc; i++)
			add_addr(m, GMIME_ADDRESS_TYPE_CC, &t->cc[i]);
		/* bcc only: no one is named, and saying so is the custom (RFC 5322 A.1.3) */
		if (t->nto == 0 && t->ncc == 0) {
			InternetAddress *g = internet_address_group_new("undisclosed-recipients");

			internet_address_list_add(g_mime_message_get_addresses(m,
			    GMIME_ADDRESS_TYPE_TO), g);
			g_object_unref(g);
		}
	}
	if (p->subject.p != NULL) {
		s = xstrndup(p->subject.p, p->subject.len);
		g_mime_message_set_subject(m, s, "utf-8");
		free(s);
	}
	/* local time, as the submission core dates messages (msg/header.c) */
	if (clock_rfc5322(t->now_s, date, sizeof(date)) == 0)
		g_mime_object_set_header(GMIME_OBJECT(m), "Date", date, NULL);
	if (asprintf(&s, "%s@%s", id_left, hostname) < 0)
		abort();
	g_mime_message_set_message_id(m, s);
	free(s);
	body = body_tree(t, p);
	g_mime_message_set_mime_part(m, body);
	g_object_unref(body);
	return m;
}

/* 1 if every line of p[0..len) ends in CRLF, has no lone CR or LF, and keeps to 998 bytes. */
static int
lines_ok(const uint8_t *p, size_t len)
{
	size_t start = 0;

	while (start < len) {
		const uint8_t *lf = memchr(p + start, '\n', len - start);
		size_t end = lf != NULL ? (size_t)(lf - p) : len;

		if (lf == NULL || end == start || p[end - 1] != '\r' ||
		    end - 1 - start > LINE_MAX_BYTES ||
		    memchr(p + start, '\r', end - 1 - start) != NULL)
			return 0;
		start = end + 1;
	}
	return 1;
}

int
compose_build(const struct compose_tpl *t, const struct compose_parts *p, const char *id_left,
    const char *hostname, struct buf *out, struct compose_err *err)
{
	GMimeFormatOptions *fo;
	GMimeMessage *m;
	GMimeStream *ms;
	GByteArray *ba;
	const uint8_t *end;
	size_t head;
	int r = -1, w;

	ASSERT(id_left != NULL && hostname != NULL);
	mime_init();
	m = message_new(t, p, id_left, hostname);
	fo = g_mime_format_options_new();
	/* CRLF everywhere, as the queue holds messages (RFC 5322 2.1) */
	g_mime_format_options_set_newline_format(fo, GMIME_NEWLINE_FORMAT_DOS);
	ms = g_mime_stream_mem_new();
	w = g_mime_object_write_to_stream(GMIME_OBJECT(m), fo, ms);
	/* a memory stream fails only when memory does, which aborts */
	ASSERT(w != -1);
	ba = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(ms));
	/* GMime's header section ends at the first empty line: the extra fields go before it */
	end = memmem(ba->data, ba->len, "\r\n\r\n", 4);
	ASSERT(end != NULL);
	head = (size_t)(end - ba->data) + 2;
	if (buf_reserve(out, ba->len + t->extra.len + 2) == -1) {
		compose_fail(err, 413, "body_too_large", "", "the message would be %zu bytes, "
		    "over the limit of %zu", ba->len + t->extra.len, out->max);
		goto done;
	}
	buf_append(out, ba->data, head);
	buf_append(out, t->extra.data != NULL ? t->extra.data : (const uint8_t *)"",
	    t->extra.len);
	buf_append(out, ba->data + head, ba->len - head);
	/* the queue holds whole lines */
	if (out->len < 2 || memcmp(out->data + out->len - 2, "\r\n", 2) != 0)
		buf_append(out, "\r\n", 2);
	/*
	 * GMime folds and encodes to keep within the bounds; this is the proof,
	 * so that no request can make a message the next hop must refuse.
	 */
	if (!lines_ok(out->data, out->len)) {
		compose_fail(err, 422, "invalid_field", "", "the message would hold a line over %d "
		    "bytes", LINE_MAX_BYTES);
		goto done;
	}
	r = 0;
done:
	if (r == -1)
		buf_reset(out);
	g_object_unref(ms);
	g_mime_format_options_free(fo);
	g_object_unref(m);
	return r;
}
