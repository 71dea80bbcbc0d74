/*
 * canon.c - DKIM's "relaxed" canonicalization (RFC 6376 3.4.2 for header
 * fields, 3.4.4 for the body). The body is canonicalized as it streams, a
 * byte at a time into a SHA-256, never held: only what the rules may still
 * drop is held back as counts (white space before a line end, empty lines
 * at the end of the body). A lone CR or LF is content, not a line end: only
 * CRLF ends a line, as on the wire.
 */
#include "dkim/dkim.h"

#include <string.h>

#include "util/ascii.h"
#include "util/xalloc.h"

void
dkim_body_init(struct dkim_body *b)
{
	memset(b, 0, sizeof(*b));
	b->md = EVP_MD_CTX_new();
	ASSERT(b->md != NULL && EVP_DigestInit_ex(b->md, EVP_sha256(), NULL) == 1);
}

void
dkim_body_clear(struct dkim_body *b)
{
	EVP_MD_CTX_free(b->md);
	b->md = NULL;
}

static void
flush(struct dkim_body *b)
{
	ASSERT(EVP_DigestUpdate(b->md, b->out, b->nout) == 1);
	b->nout = 0;
}

/* The canonical form comes in short pieces: it is hashed a block at a time. */
static void
put(struct dkim_body *b, const void *p, size_t n)
{
	if (b->nout + n > sizeof(b->out))
		flush(b);
	if (n > sizeof(b->out)) {
		ASSERT(EVP_DigestUpdate(b->md, p, n) == 1);
		return;
	}
	memcpy(b->out + b->nout, p, n);
	b->nout += n;
}

/* Content (no white space, no CR): what was held back goes first. */
static void
content(struct dkim_body *b, const uint8_t *p, size_t n)
{
	/* empty lines before content are kept: only those at the very end go */
	for (; b->crlfs > 0; b->crlfs--)
		put(b, "\r\n", 2);
	if (b->has_wsp)
		put(b, " ", 1);		/* a run of WSP is one SP, even at a line's start */
	b->has_wsp = 0;
	put(b, p, n);
	b->has_any = 1;
}

static void
line_end(struct dkim_body *b)
{
	b->has_wsp = 0;		/* white space at a line's end is dropped */
	b->crlfs++;
}

void
dkim_body_feed(struct dkim_body *b, const uint8_t *p, size_t n)
{
	size_t i = 0;

	while (i < n) {
		uint8_t c = p[i];
		size_t j;

		if (b->has_cr) {
			b->has_cr = 0;
			if (c == '\n') {
				line_end(b);
				i++;
				continue;
			}
			content(b, (const uint8_t *)"\r", 1);
		}
		if (c == '\r' || c == ' ' || c == '\t') {
			if (c == '\r')
				b->has_cr = 1;
			else
				b->has_wsp = 1;
			i++;
			continue;
		}
		/* a run of content goes on as it is */
		for (j = i + 1; j < n && p[j] != '\r' && p[j] != ' ' && p[j] != '\t'; j++)
			;
		content(b, p + i, j - i);
		i = j;
	}
}

void
dkim_body_final(struct dkim_body *b, uint8_t out[32])
{
	unsigned len = 32;

	if (b->has_cr)
		content(b, (const uint8_t *)"\r", 1);
	/* a body with content ends with one CRLF; an empty one stays empty (relaxed) */
	if (b->has_any)
		put(b, "\r\n", 2);
	flush(b);
	ASSERT(EVP_DigestFinal_ex(b->md, out, &len) == 1 && len == 32);
	dkim_body_clear(b);
}

static int
is_wsp(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

int
dkim_canon_header(const uint8_t *raw, size_t len, int with_crlf, struct buf *out)
{
	const uint8_t *colon = memchr(raw, ':', len);
	size_t name_end, i;
	int has_wsp = 0, has_value = 0;

	if (colon == NULL)
		return -1;
	name_end = (size_t)(colon - raw);
	while (name_end > 0 && is_wsp(raw[name_end - 1]))
		name_end--;
	for (i = 0; i < name_end; i++)
		if (buf_append_byte(out, ascii_tolower(raw[i])) == -1)
			return -1;
	if (buf_append_byte(out, ':') == -1)
		return -1;
	/* the value: folds undone (CR and LF dropped), runs of WSP one SP, none at either end */
	for (i = (size_t)(colon - raw) + 1; i < len; i++) {
		uint8_t c = raw[i];

		if (c == '\r' || c == '\n')
			continue;
		if (c == ' ' || c == '\t') {
			has_wsp = has_value;
			continue;
		}
		if (has_wsp && buf_append_byte(out, ' ') == -1)
			return -1;
		has_wsp = 0;
		has_value = 1;
		if (buf_append_byte(out, c) == -1)
			return -1;
	}
	return with_crlf ? buf_append(out, "\r\n", 2) : 0;
}
