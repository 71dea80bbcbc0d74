/*
 * raw.c - POST /v1/messages/raw: an envelope and a message the client
 * built. The message is kept as given, but for its line ends, made CRLF by
 * the pickup folder's rules (drop/eml.h: no lone CR or LF reaches the
 * queue, SECURITY.md rule 1); it is refused for a NUL, a line over 998
 * bytes (RFC 5322 2.1.1), no header section opening it, no From field
 * (RFC 5322 3.6), or its size. Bcc fields are the client's business here.
 */
#include "compose/compose_int.h"

#include <stdlib.h>
#include <string.h>

#include "drop/eml.h"
#include "mime/mime.h"
#include "util/ascii.h"
#include "util/xalloc.h"

#define RAW_LINE_BYTES 1000	/* 998 and the CRLF, as SMTP takes lines (RFC 5321 4.5.3.1.6) */

/* ftext (RFC 5322 3.6.8) */
static int
is_ftext(uint8_t c)
{
	return c >= 33 && c <= 126 && c != ':';
}

/*
 * The header section of p[0..len) (CRLF lines): every line up to the
 * first empty one (or the end) a field or the continuation of one, a From
 * field among them. 0 with *is_8bit_out (UTF-8 in the header section,
 * RFC 6532), or -1 with why.
 */
static int
header_check(const uint8_t *p, size_t len, int *is_8bit_out, const char **why)
{
	size_t i = 0, nfields = 0;
	int has_from = 0;

	*is_8bit_out = 0;
	while (i < len) {
		const uint8_t *lf = memchr(p + i, '\n', len - i);
		size_t end = lf != NULL ? (size_t)(lf - p) + 1 : len, n = 0;

		if (end - i <= 2)
			break;	/* the empty line: the body follows */
		if (p[i] == ' ' || p[i] == '\t') {
			if (nfields == 0) {
				*why = "starts with white space, not a header field";
				return -1;
			}
		} else {
			while (i + n < end && is_ftext(p[i + n]))
				n++;
			if (n == 0 || i + n >= end || p[i + n] != ':') {
				*why = nfields == 0 ? "has no header section (it must start with "
				    "header fields such as From:)" :
				    "has a line in its header section that is no header field";
				return -1;
			}
			nfields++;
			has_from |= n == 4 && ascii_casen_eq(p + i, "From", 4);
		}
		*is_8bit_out |= ascii_has_8bit(p + i, end - i);
		i = end;
	}
	if (nfields == 0) {
		*why = "has no header section";
		return -1;
	}
	if (!has_from) {
		*why = "has no From field";
		return -1;
	}
	return 0;
}

/* The message's bytes (string or base64) into *raw, checked for size and NUL. */
static int
raw_bytes(const json_t *req, const struct compose_limits *lim, struct buf *raw,
    const char **field_out, struct compose_err *err)
{
	const json_t *mv = json_object_get(req, "message"), *bv = json_object_get(req, "message_base64");
	const char *s;
	size_t len;

	if ((mv == NULL) == (bv == NULL))
		return compose_bad(err, "message", "give message or message_base64, one of them");
	*field_out = mv != NULL ? "message" : "message_base64";
	if (!json_is_string(mv != NULL ? mv : bv))
		return compose_bad(err, *field_out, "must be a string");
	if (mv != NULL) {
		if (json_string_length(mv) > lim->max_message_bytes)
			goto too_large;
		if (compose_string(mv, "message", lim->max_message_bytes, CF_NONEMPTY, &s, &len,
		    err) == -1)
			return -1;
		if (buf_append(raw, s, len) == -1)
			goto too_large;
		return 0;
	}
	s = json_string_value(bv);
	switch (compose_b64_decode(s, json_string_length(bv), raw)) {
	case 0:
		break;
	case -1:
		return compose_bad(err, "message_base64", "is not base64");
	default:
		goto too_large;
	}
	if (raw->len == 0)
		return compose_bad(err, "message_base64", "must not be empty");
	if (memchr(raw->data, '\0', raw->len) != NULL)
		return compose_bad(err, "message_base64", "holds a NUL byte");
	return 0;
too_large:
	return compose_fail(err, 413, "body_too_large", *field_out, "the message is over the "
	    "limit of %llu bytes", (unsigned long long)lim->max_message_bytes);
}

int
compose_raw(const json_t *req, const struct compose_limits *lim, int64_t now_s,
    struct compose_result *out, struct compose_err *err)
{
	static const char *const known[] = { "from", "to", "message", "message_base64",
		"send_at", "tags", "metadata", NULL };
	struct compose_tpl t;
	struct eml_text et;
	struct buf raw;
	const char *field = "message", *why;
	size_t entries = 0;
	int is_utf8, is_8bit_head, r = -1;

	mime_init();
	memset(out, 0, sizeof(*out));
	compose_tpl_init(&t);
	t.now_s = now_s;
	buf_init(&raw, lim->max_message_bytes);
	/* CRLF for LF at most doubles the text: the bound is checked after */
	buf_init(&out->message, 2 * lim->max_message_bytes + 2);
	if (!json_is_object(req)) {
		compose_fail(err, 400, "invalid_request", "", "the body must be a JSON object");
		goto done;
	}
	if (compose_known_keys(req, "", known, err) == -1)
		goto done;
	if (json_object_get(req, "from") == NULL) {
		compose_bad(err, "from", "is missing");
		goto done;
	}
	if (compose_addr_read(json_object_get(req, "from"), "from", &t.from, &is_utf8, err) == -1)
		goto done;
	t.is_smtputf8 |= is_utf8;
	if (compose_addr_list(req, "to", lim, &t, NULL, NULL, &entries, err) == -1)
		goto done;
	if (t.nrcpts == 0) {
		compose_bad(err, "to", "no recipient");
		goto done;
	}
	if (compose_tags_read(req, &t, err) == -1 || compose_send_at_read(req, lim, &t, err) == -1 ||
	    raw_bytes(req, lim, &raw, &field, err) == -1)
		goto done;
	eml_text_init(&et, RAW_LINE_BYTES);
	if (eml_text_feed(&et, raw.data, raw.len, &out->message) == -1 ||
	    eml_text_end(&et, &out->message) == -1) {
		compose_bad(err, field, "%s", et.err);
		goto done;
	}
	if (out->message.len > lim->max_message_bytes) {
		compose_fail(err, 413, "body_too_large", field, "the message is over the limit of "
		    "%llu bytes with CRLF line ends", (unsigned long long)lim->max_message_bytes);
		goto done;
	}
	if (header_check(out->message.data, out->message.len, &is_8bit_head, &why) == -1) {
		compose_bad(err, field, "%s", why);
		goto done;
	}
	out->sender = xstrdup(t.from.email);
	out->rcpts = t.rcpts;
	out->nrcpts = t.nrcpts;
	t.rcpts = NULL;
	t.nrcpts = 0;
	out->is_8bitmime = et.is_8bit;
	out->is_smtputf8 = t.is_smtputf8 || is_8bit_head;
	out->send_at_s = t.send_at_s;
	out->tags = t.tags;
	out->metadata = t.metadata;
	t.tags = t.metadata = NULL;
	r = 0;
done:
	if (r == -1)
		compose_result_clear(out);
	buf_clear(&raw);
	compose_tpl_clear(&t);
	return r;
}
