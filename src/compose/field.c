/*
 * field.c - the fields of a sending request, read from JSON and checked:
 * strings (no NUL, bounded), addresses (the SMTP server's parser judges
 * them, RFC 5321 4.1.2; U-label domains go out as A-labels, RFC 5890),
 * the envelope's recipients (deduplicated, bounded), extra header fields
 * (RFC 5322 2.2, 3.6.8: names of ftext, values folded; the fields sterna
 * writes itself are refused), tags, metadata and send_at. Each refusal
 * names the field. No I/O.
 */
#include "compose/compose_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gmime/gmime.h>

#include "mime/mime.h"
#include "smtp/smtp.h"
#include "util/ascii.h"
#include "util/rfc3339.h"
#include "util/xalloc.h"

/* ---- refusals ---- */

static int
fail_v(struct compose_err *err, int http_status, const char *code, const char *field,
    const char *fmt, va_list ap)
{
	err->http_status = http_status;
	err->code = code;
	snprintf(err->field, sizeof(err->field), "%s", field != NULL ? field : "");
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	return -1;
}

int
compose_fail(struct compose_err *err, int http_status, const char *code, const char *field,
    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fail_v(err, http_status, code, field, fmt, ap);
	va_end(ap);
	return -1;
}

int
compose_bad(struct compose_err *err, const char *field, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fail_v(err, 422, "invalid_field", field, fmt, ap);
	va_end(ap);
	return -1;
}

void
compose_path(char *out, size_t size, const char *prefix, const char *key, size_t i)
{
	size_t n;
	int w;

	if (key == NULL) {
		w = snprintf(out, size, "%s[%zu]", prefix, i);
		if (w < 0 || (size_t)w >= size)
			out[0] = '\0';
		return;
	}
	w = snprintf(out, size, "%s%s", prefix, prefix[0] != '\0' ? "." : "");
	if (w < 0 || (size_t)w >= size) {
		out[0] = '\0';
		return;
	}
	/* a key is the client's text: it is named, but no control byte reaches a reply or log */
	n = (size_t)w;
	for (; *key != '\0' && n + 1 < size; key++)
		out[n++] = (uint8_t)*key < 0x20 || *key == 0x7f ? '?' : *key;
	out[n] = '\0';
}

/* ---- strings ---- */

static int
is_ctl(uint8_t c)
{
	return (c < 0x20 && c != '\t') || c == 0x7f;
}

int
compose_string(const json_t *v, const char *path, size_t max, unsigned flags,
    const char **s_out, size_t *len_out, struct compose_err *err)
{
	const char *s;
	size_t len;

	if (!json_is_string(v))
		return compose_bad(err, path, "must be a string");
	s = json_string_value(v);
	len = json_string_length(v);
	/* jansson keeps a \u0000 when asked to: a NUL would cut the text short further on */
	if (memchr(s, '\0', len) != NULL)
		return compose_bad(err, path, "holds a NUL character");
	if (len > max)
		return compose_bad(err, path, "longer than %zu bytes", max);
	if ((flags & CF_NONEMPTY) && len == 0)
		return compose_bad(err, path, "must not be empty");
	if (flags & CF_NO_CTL)
		for (size_t i = 0; i < len; i++)
			if (is_ctl((uint8_t)s[i]))
				return compose_bad(err, path, "holds a control character");
	*s_out = s;
	*len_out = len;
	return 0;
}

int
compose_known_keys(const json_t *obj, const char *path, const char *const *known,
    struct compose_err *err)
{
	const char *key;
	json_t *v;

	json_object_foreach((json_t *)obj, key, v) {
		size_t i;

		for (i = 0; known[i] != NULL && strcmp(known[i], key) != 0; i++)
			;
		if (known[i] == NULL) {
			char p[128];

			/* a typo ("attachements") must not send a message without what it meant */
			compose_path(p, sizeof(p), path, key, 0);
			return compose_bad(err, p, "is not a field of this request");
		}
	}
	return 0;
}

/* ---- addresses ---- */

void
compose_addr_clear(struct compose_addr *a)
{
	free(a->email);
	free(a->name);
	a->email = a->name = NULL;
}

static const char *
addr_why(enum smtp_addr_err e)
{
	switch (e) {
	case SMTP_ADDR_TOO_LONG:
		return "too long";
	case SMTP_ADDR_BAD_UTF8:
		return "bad UTF-8";
	case SMTP_ADDR_UNSAFE_UTF8:
		return "unsafe characters";
	default:
		return "bad syntax";
	}
}

/*
 * 1 if GMime writes the domain of addr (formatted, A-labels) as it is. It
 * reads an A-label into Unicode and writes the IDN form back; a label that
 * is no valid Punycode ("xn--excmple") does not come back and would be
 * written as raw UTF-8, a header the envelope's SMTPUTF8 flag knows
 * nothing of (fuzz_compose found it).
 */
static int
idn_round_trips(const char *addr)
{
	InternetAddress *ia = internet_address_mailbox_new(NULL, addr);
	const char *idn = internet_address_mailbox_get_idn_addr(INTERNET_ADDRESS_MAILBOX(ia));
	const char *at = strrchr(addr, '@'), *idn_at = idn != NULL ? strrchr(idn, '@') : NULL;
	int ok = at != NULL && idn_at != NULL && strcmp(at, idn_at) == 0;

	g_object_unref(ia);
	return ok;
}

/* email (NUL-free) checked and formatted into out. 0, or -1 with err. */
static int
addr_format(const char *email, const char *path, char out[SMTP_ADDR_FMT_MAX],
    int *is_utf8_out, struct compose_err *err)
{
	struct smtp_addr a;
	enum smtp_addr_err e;
	int r;

	e = smtp_addr_parse(slice_str(email), 1, &a);
	if (e != SMTP_ADDR_OK)
		return compose_bad(err, path, "is not an email address (%s)", addr_why(e));
	/* a mailbox someone can be written to: a domain, no route, not the null path */
	if (a.is_null || a.has_route || a.is_bare_postmaster)
		return compose_bad(err, path, "is not an email address with a domain");
	if (a.has_utf8 && !a.is_literal && ascii_has_8bit(a.domain, a.domain_len)) {
		/* the IDN form, as src/mime writes header addresses: the next hop needs no SMTPUTF8 */
		gchar *ace = g_hostname_to_ascii(a.domain);

		r = ace != NULL ? mime_addr_make(a.local, ace, out) : -1;
		g_free(ace);
	} else {
		r = smtp_addr_format(&a, out, SMTP_ADDR_FMT_MAX);
	}
	if (r == -1 || (!a.is_literal && !idn_round_trips(out)))
		return compose_bad(err, path, "is not an email address (bad domain)");
	*is_utf8_out = ascii_has_8bit(out, strlen(out));
	return 0;
}

int
compose_addr_read(const json_t *v, const char *path, struct compose_addr *out,
    int *is_utf8_out, struct compose_err *err)
{
	static const char *const known[] = { "email", "name", NULL };
	char fmt[SMTP_ADDR_FMT_MAX], p[128];
	const json_t *ev = v, *nv = NULL;
	const char *email, *name = NULL;
	size_t len, nlen = 0;

	memset(out, 0, sizeof(*out));
	if (json_is_object(v)) {
		if (compose_known_keys(v, path, known, err) == -1)
			return -1;
		ev = json_object_get(v, "email");
		nv = json_object_get(v, "name");
		compose_path(p, sizeof(p), path, "email", 0);
		if (ev == NULL)
			return compose_bad(err, p, "is missing");
	} else if (json_is_string(v)) {
		snprintf(p, sizeof(p), "%s", path);
	} else {
		return compose_bad(err, path, "must be an address: a string or {\"email\", \"name\"}");
	}
	if (compose_string(ev, p, SMTP_ADDR_FMT_MAX, CF_NONEMPTY | CF_NO_CTL, &email, &len,
	    err) == -1 || addr_format(email, p, fmt, is_utf8_out, err) == -1)
		return -1;
	if (nv != NULL && !json_is_null(nv)) {
		compose_path(p, sizeof(p), path, "name", 0);
		if (compose_string(nv, p, COMPOSE_MAX_NAME, CF_NO_CTL, &name, &nlen, err) == -1)
			return -1;
	}
	out->email = xstrdup(fmt);
	out->name = nlen > 0 ? xstrndup(name, nlen) : NULL;
	return 0;
}

int
compose_rcpt_add(struct compose_tpl *t, const char *email)
{
	size_t len = strlen(email);

	/* as the spool's envelope merges copies (spool_msg_add_rcpt): ASCII case ignored */
	for (size_t i = 0; i < t->nrcpts; i++)
		if (strlen(t->rcpts[i]) == len && ascii_casen_eq(t->rcpts[i], email, len))
			return 0;
	/* no overflow: the count is bounded by max_rcpts or max_batch */
	t->rcpts = xrealloc(t->rcpts, (t->nrcpts + 1) * sizeof(*t->rcpts));
	t->rcpts[t->nrcpts++] = xstrdup(email);
	return 1;
}

int
compose_addr_list(const json_t *req, const char *key, const struct compose_limits *lim,
    struct compose_tpl *t, struct compose_addr **hdr, size_t *nhdr, size_t *entries,
    struct compose_err *err)
{
	const json_t *v = json_object_get(req, key);
	size_t n;

	if (v == NULL || json_is_null(v))
		return 0;
	/* one address is a list of one: what clients of the relay services send */
	n = json_is_array(v) ? json_array_size(v) : 1;
	/* counted as given, before copies merge: the work stays bounded by what is refused */
	if (*entries + n > lim->max_rcpts)
		return compose_fail(err, 422, "too_many_recipients", key,
		    "more than %zu recipients (to, cc and bcc together)", lim->max_rcpts);
	*entries += n;
	for (size_t i = 0; i < n; i++) {
		const json_t *e = json_is_array(v) ? json_array_get(v, i) : v;
		struct compose_addr a;
		char p[128];
		int is_utf8;

		if (json_is_array(v))
			compose_path(p, sizeof(p), key, NULL, i);
		else
			snprintf(p, sizeof(p), "%s", key);
		if (compose_addr_read(e, p, &a, &is_utf8, err) == -1)
			return -1;
		t->is_smtputf8 |= is_utf8;
		compose_rcpt_add(t, a.email);
		if (hdr == NULL) {
			compose_addr_clear(&a);
			continue;
		}
		*hdr = xrealloc(*hdr, (*nhdr + 1) * sizeof(**hdr));
		(*hdr)[(*nhdr)++] = a;
	}
	return 0;
}

/* ---- extra header fields ---- */

/*
 * What sterna writes itself, or what a receiver trusts as written by a
 * server on the way (trace fields, verdicts, signatures): a client may set
 * none of them. A "*" ends a prefix.
 */
static const char *const reserved[] = {
	"From", "To", "Cc", "Bcc", "Reply-To", "Subject", "Sender", "Date", "Message-ID",
	"MIME-Version", "Content-*", "Received", "Return-Path", "Delivered-To", "Resent-*",
	"DKIM-Signature", "ARC-*", "Authentication-Results", "Received-SPF", NULL,
};

static int
is_reserved(const char *name, size_t len)
{
	for (size_t i = 0; reserved[i] != NULL; i++) {
		size_t rl = strlen(reserved[i]);

		if (reserved[i][rl - 1] == '*') {
			if (len >= rl - 1 && ascii_casen_eq(name, reserved[i], rl - 1))
				return 1;
		} else if (len == rl && ascii_casen_eq(name, reserved[i], rl)) {
			return 1;
		}
	}
	return 0;
}

int
compose_fold(struct buf *out, const char *name, const char *value)
{
	size_t line = strlen(name) + 1, i = 0, vlen = strlen(value);

	if (buf_append_str(out, name) == -1 || buf_append_byte(out, ':') == -1)
		return -1;
	while (i < vlen) {
		/* the next word with the white space before it (RFC 5322 3.2.2: fold before WSP) */
		size_t j = i, ws;

		while (j < vlen && (value[j] == ' ' || value[j] == '\t'))
			j++;
		ws = j - i;
		while (j < vlen && value[j] != ' ' && value[j] != '\t')
			j++;
		if (i == 0 && ws == 0) {
			/* the value starts at once: a space after the colon, as readers expect */
			if (buf_append_byte(out, ' ') == -1)
				return -1;
			line++;
		} else if (i > 0 && ws > 0 && j - i > ws && line + (j - i) > 78) {
			/* never before white space alone: a line of nothing but WSP is no fold */
			if (buf_append(out, "\r\n", 2) == -1)
				return -1;
			line = 0;
		}
		if (line + (j - i) > 998)
			return -1;
		if (buf_append(out, value + i, j - i) == -1)
			return -1;
		line += j - i;
		i = j;
	}
	return buf_append(out, "\r\n", 2);
}

/* One extra field into t->extra. 0, or -1 with err. */
static int
header_add(struct compose_tpl *t, const char *name, const json_t *v, struct compose_err *err)
{
	size_t nlen = strlen(name), vlen;
	const char *value;
	char p[128];
	int r;

	compose_path(p, sizeof(p), "headers", name, 0);
	/* ftext (RFC 5322 3.6.8); 76 keeps "Name: " and a word on one line */
	if (nlen == 0 || nlen > 76)
		return compose_bad(err, p, "a header field name is 1 to 76 characters");
	for (size_t i = 0; i < nlen; i++)
		if ((uint8_t)name[i] < 33 || (uint8_t)name[i] > 126 || name[i] == ':')
			return compose_bad(err, p, "a header field name is printable ASCII "
			    "without ':' or spaces");
	if (is_reserved(name, nlen))
		return compose_bad(err, p, "is set by sterna or by the servers on the way, "
		    "not by a request");
	if (compose_string(v, p, COMPOSE_MAX_HEADER_VALUE, CF_NO_CTL, &value, &vlen, err) == -1)
		return -1;
	if (ascii_has_8bit(value, vlen)) {
		/* unstructured text (RFC 5322 3.2.5) in encoded words (RFC 2047) */
		char *enc = g_mime_utils_header_encode_text(NULL, value, "utf-8");

		r = compose_fold(&t->extra, name, enc);
		g_free(enc);
	} else {
		r = compose_fold(&t->extra, name, value);
	}
	if (r == -1)
		return compose_bad(err, p, "has a word too long for a line of 998 bytes");
	return 0;
}

int
compose_headers_read(const json_t *v, struct compose_tpl *t, struct compose_err *err)
{
	const char *name;
	json_t *hv;

	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_object(v))
		return compose_bad(err, "headers", "must be an object of names and values");
	if (json_object_size(v) > COMPOSE_MAX_HEADERS)
		return compose_bad(err, "headers", "more than %d fields", COMPOSE_MAX_HEADERS);
	json_object_foreach((json_t *)v, name, hv)
		if (header_add(t, name, hv, err) == -1)
			return -1;
	return 0;
}

/* ---- tags, metadata, send_at ---- */

int
compose_tags_read(const json_t *req, struct compose_tpl *t, struct compose_err *err)
{
	const json_t *tags = json_object_get(req, "tags"), *md = json_object_get(req, "metadata");
	const char *key, *s;
	json_t *v;
	size_t i, len;
	char p[128];

	if (tags != NULL && !json_is_null(tags)) {
		if (!json_is_array(tags))
			return compose_bad(err, "tags", "must be a list of strings");
		if (json_array_size(tags) > COMPOSE_MAX_TAGS)
			return compose_bad(err, "tags", "more than %d tags", COMPOSE_MAX_TAGS);
		json_array_foreach(tags, i, v) {
			compose_path(p, sizeof(p), "tags", NULL, i);
			if (compose_string(v, p, COMPOSE_MAX_TAG, CF_NONEMPTY | CF_NO_CTL, &s, &len,
			    err) == -1)
				return -1;
		}
		t->tags = json_deep_copy(tags);
	}
	if (md != NULL && !json_is_null(md)) {
		if (!json_is_object(md))
			return compose_bad(err, "metadata", "must be an object of strings");
		if (json_object_size(md) > COMPOSE_MAX_METADATA)
			return compose_bad(err, "metadata", "more than %d keys", COMPOSE_MAX_METADATA);
		json_object_foreach((json_t *)md, key, v) {
			size_t klen = strlen(key);

			compose_path(p, sizeof(p), "metadata", key, 0);
			if (klen == 0 || klen > COMPOSE_MAX_METADATA_KEY)
				return compose_bad(err, p, "a key is 1 to %d bytes",
				    COMPOSE_MAX_METADATA_KEY);
			for (size_t k = 0; k < klen; k++)
				if (is_ctl((uint8_t)key[k]))
					return compose_bad(err, p, "a key holds a control character");
			if (compose_string(v, p, COMPOSE_MAX_METADATA_VALUE, 0, &s, &len, err) == -1)
				return -1;
		}
		t->metadata = json_deep_copy(md);
	}
	return 0;
}

int
compose_send_at_read(const json_t *req, const struct compose_limits *lim,
    struct compose_tpl *t, struct compose_err *err)
{
	const json_t *v = json_object_get(req, "send_at");
	const char *s;
	size_t len;
	int64_t at;

	t->send_at_s = 0;
	if (v == NULL || json_is_null(v))
		return 0;
	if (compose_string(v, "send_at", 64, CF_NONEMPTY, &s, &len, err) == -1)
		return -1;
	if (rfc3339_parse(s, len, &at) == -1)
		return compose_bad(err, "send_at", "must be an RFC 3339 time with its offset, "
		    "e.g. 2026-12-24T09:00:00+01:00");
	if (at < t->now_s - COMPOSE_PAST_SLACK_S)
		return compose_bad(err, "send_at", "is in the past");
	if (at > t->now_s && at - t->now_s > lim->max_send_ahead_s)
		return compose_bad(err, "send_at", "is more than %lld seconds ahead",
		    (long long)lim->max_send_ahead_s);
	/* within the slack, or now: at once, not "scheduled" for a moment gone */
	t->send_at_s = at > t->now_s ? at : 0;
	return 0;
}
