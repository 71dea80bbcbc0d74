/*
 * attach.c - attachments and inline parts: their base64 read strictly
 * (RFC 4648 4), encoded again once in the form a message carries (RFC 2045
 * 6.8: lines of 76), so that a batch of a thousand messages encodes each
 * attachment once; the content type, file name and Content-ID checked.
 */
#include "compose/compose_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gmime/gmime.h>

#include "util/ascii.h"
#include "util/xalloc.h"

/* ---- base64 ---- */

/* The value of a base64 character, or -1. */
static int
b64_value(uint8_t c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int
compose_b64_decode(const char *in, size_t len, struct buf *out)
{
	uint32_t quad = 0;
	unsigned n = 0, pad = 0;

	for (size_t i = 0; i < len; i++) {
		uint8_t c = (uint8_t)in[i], bytes[3];
		int v;

		/* base64 as tools wrap it (76 per line) is still base64 */
		if (c == '\r' || c == '\n' || c == ' ' || c == '\t')
			continue;
		if (c == '=') {
			/* padding fills the third or fourth place of the last quantum only */
			if (n + pad < 2 || pad == 4)
				return -1;
			pad++;
		} else {
			if (pad > 0 || (v = b64_value(c)) < 0)
				return -1;
			quad = quad << 6 | (uint32_t)v;
			n++;
		}
		if (n + pad < 4)
			continue;
		quad <<= 6 * pad;
		bytes[0] = (uint8_t)(quad >> 16);
		bytes[1] = (uint8_t)(quad >> 8);
		bytes[2] = (uint8_t)quad;
		if (buf_append(out, bytes, 3 - pad) == -1)
			return -2;
		quad = 0;
		/* after padding the text is over: "QQ==QQ==" is no base64 */
		n = pad > 0 ? 4 : 0;
		if (pad > 0)
			pad = 4;
	}
	/* whole quanta only; pad 4 marks a text that ended with its padding */
	return n == 0 || (n == 4 && pad == 4) ? 0 : -1;
}

/* ---- the fields of one attachment ---- */

/* RFC 2045 5.1 token: printable ASCII but space and tspecials. */
static int
is_token_char(uint8_t c)
{
	return c > 0x20 && c < 0x7f && strchr("()<>@,;:\\\"/[]?=", c) == NULL;
}

/* type "/" subtype, then parameters if any; not multipart or message. */
static int
content_type_ok(const char *s, size_t len, const char **why)
{
	size_t i = 0, t;

	for (; i < len && is_token_char((uint8_t)s[i]); i++)
		;
	t = i;
	if (t == 0 || i >= len || s[i] != '/') {
		*why = "must be type/subtype, e.g. application/pdf";
		return 0;
	}
	for (i++; i < len && is_token_char((uint8_t)s[i]); i++)
		;
	if (i == t + 1 || (i < len && s[i] != ';' && s[i] != ' ')) {
		*why = "must be type/subtype, e.g. application/pdf";
		return 0;
	}
	/*
	 * A part of these types holds parts or a message of its own, which
	 * base64 may not carry (RFC 2046 5.1.1, 5.2.1) and which sterna does
	 * not build from bytes it cannot see into.
	 */
	if ((t == 9 && ascii_casen_eq(s, "multipart", 9)) ||
	    (t == 7 && ascii_casen_eq(s, "message", 7))) {
		*why = "multipart and message types cannot be attached as bytes";
		return 0;
	}
	return 1;
}

/* RFC 5322 3.2.3 atext, and '.' and '@': the msg-id forms a cid: URL names (RFC 2392). */
static int
is_cid_char(uint8_t c)
{
	return ascii_isalnum(c) || strchr("!#$%&'*+-/=?^_`{|}~.@", c) != NULL;
}

static void
att_clear(struct compose_att *a)
{
	free(a->filename);
	free(a->content_type);
	free(a->content_id);
	if (a->b64 != NULL)
		g_byte_array_unref(a->b64);
	memset(a, 0, sizeof(*a));
}

static int
att_content(const json_t *v, const char *path, const struct compose_limits *lim,
    struct compose_att *a, struct compose_err *err)
{
	struct buf raw;
	const char *s;
	size_t len;
	int state = 0;
	guint32 save = 0;
	size_t n;

	if (compose_string(v, path, SIZE_MAX, 0, &s, &len, err) == -1)
		return -1;
	/* the decoded bytes are at most 3/4 of the text: no larger buffer than the message's */
	buf_init(&raw, lim->max_message_bytes);
	switch (compose_b64_decode(s, len, &raw)) {
	case 0:
		break;
	case -1:
		buf_clear(&raw);
		return compose_bad(err, path, "is not base64");
	default:
		buf_clear(&raw);
		return compose_fail(err, 413, "body_too_large", path,
		    "larger than a message may be (%llu bytes)",
		    (unsigned long long)lim->max_message_bytes);
	}
	/* a GByteArray counts in guint: a limit past 3 GiB must not wrap it */
	if (GMIME_BASE64_ENCODE_LEN(raw.len) > G_MAXUINT) {
		buf_clear(&raw);
		return compose_fail(err, 413, "body_too_large", path, "too large to encode");
	}
	a->b64 = g_byte_array_sized_new((guint)GMIME_BASE64_ENCODE_LEN(raw.len));
	n = g_mime_encoding_base64_encode_close(raw.data != NULL ? raw.data : (const uint8_t *)"",
	    raw.len, a->b64->data, &state, &save);
	g_byte_array_set_size(a->b64, (guint)n);
	buf_clear(&raw);
	return 0;
}

static int
att_read(const json_t *v, const char *path, const struct compose_limits *lim,
    struct compose_att *a, struct compose_err *err)
{
	static const char *const known[] = { "filename", "content", "content_type", "content_id",
		NULL };
	const json_t *fv, *cv, *tv, *iv;
	const char *s, *why = "is not a MIME type";
	size_t len;
	char p[128];

	if (!json_is_object(v))
		return compose_bad(err, path, "must be an object with filename, content_type and "
		    "content");
	if (compose_known_keys(v, path, known, err) == -1)
		return -1;
	fv = json_object_get(v, "filename");
	cv = json_object_get(v, "content");
	tv = json_object_get(v, "content_type");
	iv = json_object_get(v, "content_id");
	compose_path(p, sizeof(p), path, "filename", 0);
	if (fv == NULL)
		return compose_bad(err, p, "is missing");
	if (compose_string(fv, p, 255, CF_NONEMPTY | CF_NO_CTL, &s, &len, err) == -1)
		return -1;
	a->filename = xstrndup(s, len);
	compose_path(p, sizeof(p), path, "content_type", 0);
	if (tv == NULL || json_is_null(tv)) {
		a->content_type = xstrdup("application/octet-stream");
	} else {
		if (compose_string(tv, p, 255, CF_NONEMPTY | CF_NO_CTL, &s, &len, err) == -1)
			return -1;
		if (ascii_has_8bit(s, len) || !content_type_ok(s, len, &why))
			return compose_bad(err, p, "%s", ascii_has_8bit(s, len) ?
			    "must be ASCII" : why);
		a->content_type = xstrndup(s, len);
	}
	if (iv != NULL && !json_is_null(iv)) {
		compose_path(p, sizeof(p), path, "content_id", 0);
		if (compose_string(iv, p, 250, CF_NONEMPTY | CF_NO_CTL, &s, &len, err) == -1)
			return -1;
		/* "<logo@x>" and "logo@x" alike: the brackets are the header field's, not the id's */
		if (len >= 2 && s[0] == '<' && s[len - 1] == '>') {
			s++;
			len -= 2;
		}
		for (size_t i = 0; i < len; i++)
			if (!is_cid_char((uint8_t)s[i]))
				return compose_bad(err, p, "may hold letters, digits, '@', '.' and "
				    "the symbols of RFC 5322 atext only");
		if (len == 0)
			return compose_bad(err, p, "must not be empty");
		a->content_id = xstrndup(s, len);
	}
	compose_path(p, sizeof(p), path, "content", 0);
	if (cv == NULL)
		return compose_bad(err, p, "is missing");
	return att_content(cv, p, lim, a, err);
}

int
compose_attachments_read(const json_t *req, const struct compose_limits *lim,
    struct compose_tpl *t, struct compose_err *err)
{
	const json_t *v = json_object_get(req, "attachments");
	size_t n;

	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_array(v))
		return compose_bad(err, "attachments", "must be a list");
	if ((n = json_array_size(v)) > COMPOSE_MAX_ATTACHMENTS)
		return compose_bad(err, "attachments", "more than %d attachments",
		    COMPOSE_MAX_ATTACHMENTS);
	t->atts = xcalloc(n > 0 ? n : 1, sizeof(*t->atts));
	for (size_t i = 0; i < n; i++) {
		struct compose_att *a = &t->atts[i];
		char p[128];

		compose_path(p, sizeof(p), "attachments", NULL, i);
		if (att_read(json_array_get(v, i), p, lim, a, err) == -1) {
			att_clear(a);
			return -1;
		}
		t->natts++;
		for (size_t k = 0; a->content_id != NULL && k < i; k++)
			if (t->atts[k].content_id != NULL &&
			    strcmp(t->atts[k].content_id, a->content_id) == 0) {
				char pc[128];

				compose_path(pc, sizeof(pc), p, "content_id", 0);
				return compose_bad(err, pc, "names the same part as attachments[%zu]",
				    k);
			}
		/* the encoded text, and the part's header fields (a generous bound) */
		t->fixed_bytes += a->b64->len + 512 + strlen(a->filename) * 6;
		if (t->fixed_bytes > lim->max_message_bytes)
			return compose_fail(err, 413, "body_too_large", "attachments",
			    "the attachments are larger than a message may be (%llu bytes)",
			    (unsigned long long)lim->max_message_bytes);
	}
	return 0;
}

void
compose_tpl_atts_clear(struct compose_tpl *t)
{
	for (size_t i = 0; i < t->natts; i++)
		att_clear(&t->atts[i]);
	free(t->atts);
	t->atts = NULL;
	t->natts = 0;
}
