/*
 * frame.c - where each request starts and ends, judged before evhttp reads
 * a byte of it (RFC 9112). evhttp is lenient where a server in front of
 * mail must not be, and answers its own refusals in HTML: so every head is
 * read here first, whole, and only a good one is passed on; bodies are
 * followed byte for byte to their end. What evhttp could read another way
 * than this file does is refused here (the ground of request smuggling):
 *   - lines end in CRLF only; a bare CR or LF, a NUL, a control byte, a
 *     folded header line (obs-fold) or an empty line before the request
 *     line is 400;
 *   - Content-Length is digits only, once; Transfer-Encoding is "chunked"
 *     only, once, and never with Content-Length (400; another coding 501);
 *   - chunk sizes are hex digits and CRLF (no extensions), the CRLF after
 *     each chunk is there, and there are no trailer fields;
 *   - HEAD has no body (evhttp would read one as the next request).
 * Bounds: the head's bytes and header fields (431), the body (413, at the
 * head when Content-Length says so, else when the chunks pass it).
 * Pure: tests/unit/test_http.c feeds it every case split at every byte.
 */
#include "http/http_int.h"

#include <string.h>

#include "util/ascii.h"
#include "util/xalloc.h"

static const char *const method_names[HTTP_NMETHODS] = {
	[HTTP_M_GET] = "GET", [HTTP_M_HEAD] = "HEAD", [HTTP_M_POST] = "POST",
	[HTTP_M_PUT] = "PUT", [HTTP_M_PATCH] = "PATCH", [HTTP_M_DELETE] = "DELETE",
	[HTTP_M_OPTIONS] = "OPTIONS",
};

const char *
http_method_name(enum http_method m)
{
	return (unsigned)m < HTTP_NMETHODS ? method_names[m] : "?";
}

int
http_method_parse(const char *name, size_t len, enum http_method *out)
{
	for (unsigned i = 0; i < HTTP_NMETHODS; i++)
		if (strlen(method_names[i]) == len && memcmp(name, method_names[i], len) == 0) {
			*out = (enum http_method)i;
			return 0;
		}
	return -1;
}

void
http_frame_init(struct http_frame *f, const struct http_frame_limits *lim)
{
	memset(f, 0, sizeof(*f));
	f->lim = *lim;
	f->state = HTTP_FR_HEAD;
}

void
http_frame_next_request(struct http_frame *f)
{
	struct http_frame_limits lim = f->lim;

	http_frame_init(f, &lim);
}

static enum http_frame_step
bad(enum http_err e, const char *why, enum http_err *err_out, const char **why_out)
{
	*err_out = e;
	*why_out = why;
	return HTTP_FRAME_BAD;
}

/* RFC 9110 5.6.2 */
static int
is_tchar(uint8_t c)
{
	return ascii_isalnum(c) || (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* A field value's byte: visible, blank, or 8-bit (obs-text); never a control byte. */
static int
is_value_char(uint8_t c)
{
	return c == '\t' || (c >= 0x20 && c != 0x7f);
}

/* p[0..n) with blanks cut at both ends (optional whitespace, RFC 9110 5.6.3). */
static void
trim(const uint8_t **p, size_t *n)
{
	while (*n > 0 && ((*p)[0] == ' ' || (*p)[0] == '\t'))
		(*p)++, (*n)--;
	while (*n > 0 && ((*p)[*n - 1] == ' ' || (*p)[*n - 1] == '\t'))
		(*n)--;
}

static int
is_name(const uint8_t *p, size_t n, const char *name)
{
	return n == strlen(name) && ascii_casen_eq(p, name, n);
}

/* What the header fields say about the body. */
struct head_facts {
	int has_length, is_chunked, is_http10;
	uint64_t length;
};

/* The request line p[0..n) (no CRLF). */
static enum http_frame_step
request_line(struct http_frame *f, const uint8_t *p, size_t n, struct head_facts *h,
    enum http_err *err_out, const char **why_out)
{
	const uint8_t *sp1 = memchr(p, ' ', n), *sp2;
	size_t mlen, tlen;

	if (n == 0)
		return bad(HTTP_ERR_INVALID_REQUEST, "an empty line before the request line",
		    err_out, why_out);
	if (sp1 == NULL || (sp2 = memchr(sp1 + 1, ' ', n - (size_t)(sp1 + 1 - p))) == NULL)
		return bad(HTTP_ERR_INVALID_REQUEST, "the request line is METHOD TARGET HTTP/1.1",
		    err_out, why_out);
	mlen = (size_t)(sp1 - p);
	tlen = (size_t)(sp2 - sp1 - 1);
	for (size_t i = 0; i < mlen; i++)
		if (!is_tchar(p[i]))
			return bad(HTTP_ERR_INVALID_REQUEST, "the method is not a token", err_out,
			    why_out);
	if (mlen == 0 || tlen == 0 || sp1[1] != '/')
		return bad(HTTP_ERR_INVALID_REQUEST, "the target is a path starting with /",
		    err_out, why_out);
	for (size_t i = 0; i < tlen; i++)
		if (!ascii_isgraph(sp1[1 + i]))
			return bad(HTTP_ERR_INVALID_REQUEST, "the target holds a byte it may not",
			    err_out, why_out);
	if (n - (size_t)(sp2 + 1 - p) != 8 || (memcmp(sp2 + 1, "HTTP/1.1", 8) != 0 &&
	    memcmp(sp2 + 1, "HTTP/1.0", 8) != 0))
		return bad(HTTP_ERR_INVALID_REQUEST, "HTTP/1.1 and HTTP/1.0 only", err_out,
		    why_out);
	h->is_http10 = sp2[8] == '0';
	if (http_method_parse((const char *)p, mlen, &f->method) == -1)
		return bad(HTTP_ERR_NOT_IMPLEMENTED,
		    "methods: GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS", err_out, why_out);
	return HTTP_FRAME_MORE;
}

/* One header field line p[0..n) (no CRLF). */
static enum http_frame_step
field_line(struct http_frame *f, const uint8_t *p, size_t n, struct head_facts *h,
    enum http_err *err_out, const char **why_out)
{
	const uint8_t *colon = memchr(p, ':', n), *v;
	size_t nlen, vlen;

	if (n > 0 && (p[0] == ' ' || p[0] == '\t'))
		return bad(HTTP_ERR_INVALID_REQUEST, "a folded header line (obs-fold)", err_out,
		    why_out);
	if (colon == NULL || colon == p)
		return bad(HTTP_ERR_INVALID_REQUEST, "a header line is NAME: VALUE", err_out, why_out);
	nlen = (size_t)(colon - p);
	for (size_t i = 0; i < nlen; i++)
		if (!is_tchar(p[i]))
			return bad(HTTP_ERR_INVALID_REQUEST, "a header name is a token (no blank "
			    "before the colon)", err_out, why_out);
	v = colon + 1;
	vlen = n - nlen - 1;
	for (size_t i = 0; i < vlen; i++)
		if (!is_value_char(v[i]))
			return bad(HTTP_ERR_INVALID_REQUEST, "a header value holds a control byte",
			    err_out, why_out);
	trim(&v, &vlen);
	if (is_name(p, nlen, "content-length")) {
		uint64_t len = 0;

		if (h->has_length)
			return bad(HTTP_ERR_INVALID_REQUEST, "Content-Length twice", err_out, why_out);
		if (vlen == 0 || vlen > 19)
			return bad(HTTP_ERR_INVALID_REQUEST, "Content-Length is a number", err_out,
			    why_out);
		for (size_t i = 0; i < vlen; i++) {
			if (!ascii_isdigit(v[i]))
				return bad(HTTP_ERR_INVALID_REQUEST, "Content-Length is a number",
				    err_out, why_out);
			len = len * 10 + (uint64_t)(v[i] - '0');
		}
		/* 19 digits fit in 64 bits; evhttp reads a signed 64-bit number */
		if (len > INT64_MAX)
			len = INT64_MAX;
		h->has_length = 1;
		h->length = len;
	} else if (is_name(p, nlen, "transfer-encoding")) {
		if (h->is_chunked)
			return bad(HTTP_ERR_INVALID_REQUEST, "Transfer-Encoding twice", err_out,
			    why_out);
		if (!is_name(v, vlen, "chunked"))
			return bad(HTTP_ERR_NOT_IMPLEMENTED, "Transfer-Encoding: chunked only", err_out,
			    why_out);
		h->is_chunked = 1;
	} else if (is_name(p, nlen, "expect")) {
		if (!is_name(v, vlen, "100-continue"))
			return bad(HTTP_ERR_EXPECTATION_FAILED, "Expect: 100-continue only", err_out,
			    why_out);
		f->is_expect_continue = 1;
	}
	return HTTP_FRAME_MORE;
}

/* The whole head p[0..n), its final CRLF CRLF included; the bytes' kinds are checked already. */
static enum http_frame_step
judge_head(struct http_frame *f, const uint8_t *p, size_t n, enum http_err *err_out,
    const char **why_out)
{
	struct head_facts h = { 0 };
	unsigned nfields = 0;
	size_t pos = 0;
	enum http_frame_step st;

	for (int is_first = 1; pos < n - 2; is_first = 0) {
		const uint8_t *crlf = memchr(p + pos, '\r', n - pos);
		size_t len = (size_t)(crlf - (p + pos));

		if (is_first)
			st = request_line(f, p + pos, len, &h, err_out, why_out);
		else if (++nfields > f->lim.max_headers)
			return bad(HTTP_ERR_HEADERS_TOO_LARGE, "too many header fields", err_out,
			    why_out);
		else
			st = field_line(f, p + pos, len, &h, err_out, why_out);
		if (st == HTTP_FRAME_BAD)
			return st;
		pos += len + 2;
	}
	if (h.has_length && h.is_chunked)
		return bad(HTTP_ERR_INVALID_REQUEST, "Content-Length and Transfer-Encoding together",
		    err_out, why_out);
	if (h.is_chunked && h.is_http10)
		return bad(HTTP_ERR_INVALID_REQUEST, "Transfer-Encoding in HTTP/1.0", err_out,
		    why_out);
	if (f->method == HTTP_M_HEAD && (h.is_chunked || (h.has_length && h.length > 0)))
		return bad(HTTP_ERR_INVALID_REQUEST, "HEAD with a body", err_out, why_out);
	if (h.has_length && h.length > f->lim.max_body_bytes)
		return bad(HTTP_ERR_BODY_TOO_LARGE, "the body is larger than http.max_body", err_out,
		    why_out);
	if (h.is_chunked) {
		f->state = HTTP_FR_CHUNK_SIZE;
		return HTTP_FRAME_HEAD;
	}
	if (h.has_length && h.length > 0) {
		f->state = HTTP_FR_BODY;
		f->left = f->body_bytes = h.length;
		return HTTP_FRAME_HEAD;
	}
	/* no Content-Length and no Transfer-Encoding: a request has no body (RFC 9112 6.3) */
	f->state = HTTP_FR_DONE;
	return HTTP_FRAME_END;
}

static enum http_frame_step
feed_head(struct http_frame *f, const uint8_t *in, size_t n, size_t *used_out,
    enum http_err *err_out, const char **why_out)
{
	size_t lim = n < f->lim.max_head_bytes ? n : f->lim.max_head_bytes;
	size_t i;

	/* each byte is looked at once, however slowly the head comes */
	for (i = f->scanned; i < lim; i++) {
		uint8_t c = in[i];

		if (c == '\n')
			return bad(HTTP_ERR_INVALID_REQUEST, "a line ends in LF without CR", err_out,
			    why_out);
		if (c == 0)
			return bad(HTTP_ERR_INVALID_REQUEST, "a NUL in the head", err_out, why_out);
		if (c != '\r')
			continue;
		if (i + 1 >= lim)
			break;		/* what follows the CR is not here yet */
		if (in[i + 1] != '\n')
			return bad(HTTP_ERR_INVALID_REQUEST, "a CR without LF", err_out, why_out);
		if (i >= 2 && in[i - 2] == '\r' && in[i - 1] == '\n') {
			*used_out = i + 2;
			return judge_head(f, in, i + 2, err_out, why_out);
		}
		i++;		/* the LF is judged with its CR */
	}
	f->scanned = i;
	if (n >= f->lim.max_head_bytes)
		return bad(HTTP_ERR_HEADERS_TOO_LARGE, "the head is larger than http.max_header_bytes",
		    err_out, why_out);
	*used_out = 0;
	return HTTP_FRAME_MORE;
}

/* One byte of a CRLF: 1 when it is whole, 0 when half, -1 when c is no part of one. */
static int
crlf_byte(struct http_frame *f, uint8_t c)
{
	if (f->crlf == 0 && c == '\r') {
		f->crlf = 1;
		return 0;
	}
	if (f->crlf == 1 && c == '\n') {
		f->crlf = 0;
		return 1;
	}
	return -1;
}

static int
hex_digit(uint8_t c)
{
	if (ascii_isdigit(c))
		return c - '0';
	c = ascii_tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static enum http_frame_step
feed_body(struct http_frame *f, const uint8_t *in, size_t n, size_t *used_out,
    enum http_err *err_out, const char **why_out)
{
	size_t i = 0;

	while (i < n) {
		uint8_t c = in[i];
		int d, r;

		switch (f->state) {
		case HTTP_FR_BODY:
		case HTTP_FR_CHUNK_DATA: {
			size_t take = n - i < f->left ? n - i : (size_t)f->left;

			i += take;
			f->left -= take;
			if (f->left > 0)
				break;
			if (f->state == HTTP_FR_BODY) {
				f->state = HTTP_FR_DONE;
				*used_out = i;
				return HTTP_FRAME_END;
			}
			f->state = HTTP_FR_CHUNK_CRLF;
			break;
		}
		case HTTP_FR_CHUNK_SIZE:
			if (f->crlf == 0 && (d = hex_digit(c)) >= 0) {
				if (++f->digits > 16)
					return bad(HTTP_ERR_INVALID_REQUEST, "a chunk size of more than 16 "
					    "digits", err_out, why_out);
				f->chunk = f->chunk << 4 | (uint64_t)d;
				i++;
				break;
			}
			if (f->digits == 0 || (r = crlf_byte(f, c)) == -1)
				return bad(HTTP_ERR_INVALID_REQUEST, "a chunk size is hex digits and "
				    "CRLF (no extensions)", err_out, why_out);
			i++;
			if (r == 0)
				break;
			if (f->chunk == 0) {
				f->state = HTTP_FR_LAST_CRLF;
				break;
			}
			if (f->chunk > f->lim.max_body_bytes - f->body_bytes)
				return bad(HTTP_ERR_BODY_TOO_LARGE, "the body is larger than "
				    "http.max_body", err_out, why_out);
			f->body_bytes += f->chunk;
			f->left = f->chunk;
			f->chunk = 0;
			f->digits = 0;
			f->state = HTTP_FR_CHUNK_DATA;
			break;
		case HTTP_FR_CHUNK_CRLF:
		case HTTP_FR_LAST_CRLF:
			if ((r = crlf_byte(f, c)) == -1)
				return bad(HTTP_ERR_INVALID_REQUEST, f->state == HTTP_FR_CHUNK_CRLF ?
				    "a chunk's data is not followed by CRLF" :
				    "trailer fields are not accepted", err_out, why_out);
			i++;
			if (r == 0)
				break;
			if (f->state == HTTP_FR_LAST_CRLF) {
				f->state = HTTP_FR_DONE;
				*used_out = i;
				return HTTP_FRAME_END;
			}
			f->state = HTTP_FR_CHUNK_SIZE;
			break;
		default:
			ASSERT(!"a body state");
		}
	}
	*used_out = i;
	return HTTP_FRAME_BODY;
}

enum http_frame_step
http_frame_feed(struct http_frame *f, const uint8_t *in, size_t n, size_t *used_out,
    enum http_err *err_out, const char **why_out)
{
	*used_out = 0;
	switch (f->state) {
	case HTTP_FR_HEAD:
		return feed_head(f, in, n, used_out, err_out, why_out);
	case HTTP_FR_DONE:
		return HTTP_FRAME_END;
	default:
		return feed_body(f, in, n, used_out, err_out, why_out);
	}
}
