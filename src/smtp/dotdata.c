/*
 * dotdata.c - find the end of DATA and undo dot-stuffing.
 * Only CRLF "." CRLF ends a message (RFC 5321 4.1.1.4), the start of DATA
 * counting as just after a CRLF; a lone CR or LF is never a line end, so a
 * peer cannot smuggle a second message past us or past the next hop
 * (CVE-2023-51764, -51765, -51766). A leading dot is removed from every line
 * (RFC 5321 4.5.2). Bare CR/LF, NUL, 8-bit bytes and long lines are only
 * reported in flags: deciding to refuse the message is the session's job,
 * after it has read the message to its real end.
 * No I/O: callers pass bytes in and get body bytes and a verdict back.
 *
 * A line, here, is what lies between two CRLFs: a bare CR or LF does not
 * end one, for line length as for the end of data. Its length is counted
 * after unstuffing, CRLF included (RFC 5321 4.5.3.1.6).
 */
#include "smtp/smtp.h"

#include <string.h>

#include "util/xalloc.h"

enum {
	DD_BOL,		/* at the start of a line: after CRLF, or at the start of DATA */
	DD_TEXT,	/* inside a line, the previous byte not a CR */
	DD_CR,		/* inside a line, the previous byte a CR (already written out) */
	DD_DOT,		/* a leading dot was read (and dropped) */
	DD_DOT_CR,	/* leading dot, then a CR that is held back */
	DD_END,		/* CRLF "." CRLF was read; nothing more is consumed */
};

void
dotdata_init(struct dotdata *d, size_t max_line_bytes)
{
	d->state = DD_BOL;
	d->line_bytes = 0;
	d->max_line_bytes = max_line_bytes;
	d->flags = 0;
	d->body_bytes = 0;
}

/*
 * Counts n more bytes of the current line. line_bytes saturates at the
 * limit, so a line of any length cannot wrap the counter.
 */
static inline void
line_add(struct dotdata *d, size_t n)
{
	if (n > d->max_line_bytes - d->line_bytes) {
		d->flags |= DOTDATA_LONG_LINE;
		d->line_bytes = d->max_line_bytes;
	} else
		d->line_bytes += n;
}

#define ONES	UINT64_C(0x0101010101010101)
#define HIGHS	UINT64_C(0x8080808080808080)

/*
 * Returns DOTDATA_NUL and DOTDATA_8BIT for the n bytes at p, eight at a
 * time: (v - ONES) & ~v & HIGHS is non-zero exactly when v holds a zero
 * byte, and v & HIGHS when it holds a byte >= 0x80.
 */
static unsigned
scan_nul_8bit(const uint8_t *p, size_t n)
{
	uint64_t v, zero = 0, high = 0;
	unsigned f = 0;
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		memcpy(&v, p + i, 8);
		zero |= (v - ONES) & ~v & HIGHS;
		high |= v;
	}
	for (; i < n; i++) {
		zero |= p[i] == 0;
		high |= p[i];
	}
	if (zero != 0)
		f |= DOTDATA_NUL;
	if ((high & HIGHS) != 0)
		f |= DOTDATA_8BIT;
	return f;
}

/* Writes n body bytes that hold no CR and no line end to o. */
static inline uint8_t *
emit_run(struct dotdata *d, uint8_t *o, const uint8_t *p, size_t n)
{
	if ((d->flags & (DOTDATA_NUL | DOTDATA_8BIT)) != (DOTDATA_NUL | DOTDATA_8BIT))
		d->flags |= scan_nul_8bit(p, n);
	line_add(d, n);
	memcpy(o, p, n);
	return o + n;
}

size_t
dotdata_feed(struct dotdata *d, const uint8_t *in, size_t len,
    uint8_t *out, size_t *out_len, int *is_end)
{
	const uint8_t *p = in, *end = in + len, *cr, *lf, *stop;
	uint8_t *o = out;

	*is_end = 0;
	if (d->state == DD_END) {
		/* the message is over: what follows is the next command */
		*out_len = 0;
		*is_end = 1;
		return 0;
	}
	while (p < end) {
		switch (d->state) {
		case DD_BOL:
			if (*p == '.') {
				/* RFC 5321 4.5.2: the first dot of a line is not text */
				d->state = DD_DOT;
				p++;
			} else
				d->state = DD_TEXT;
			break;
		case DD_DOT:
			if (*p == '\r') {
				/* "." CR: the end if LF follows, else a bare CR */
				d->state = DD_DOT_CR;
				p++;
			} else {
				/* ".." gives "." and ".x" gives "x"; "." LF is a bare LF */
				d->state = DD_TEXT;
			}
			break;
		case DD_DOT_CR:
			if (*p == '\n') {
				/* CRLF "." CRLF: RFC 5321 4.1.1.4, the only end of data */
				d->state = DD_END;
				p++;
				*is_end = 1;
				goto out;
			}
			/*
			 * "\r\n.\rx" is not an end: the held CR is body, and bare
			 * (the smuggling rows of test_dotdata.c's table)
			 */
			d->flags |= DOTDATA_BARE_CR;
			*o++ = '\r';
			line_add(d, 1);
			d->state = DD_TEXT;
			break;
		case DD_CR:
			if (*p == '\n') {
				*o++ = '\n';
				line_add(d, 1);
				d->line_bytes = 0;
				d->state = DD_BOL;
				p++;
			} else {
				/* the CR already written out was bare; p is read as text */
				d->flags |= DOTDATA_BARE_CR;
				d->state = DD_TEXT;
			}
			break;
		case DD_TEXT:
			/*
			 * The hot path: everything up to the next CR is body,
			 * except that an LF in it is a bare LF. Once one has been
			 * seen, an LF changes nothing more and need not be sought.
			 */
			cr = memchr(p, '\r', (size_t)(end - p));
			stop = cr != NULL ? cr : end;
			if ((d->flags & DOTDATA_BARE_LF) == 0 &&
			    (lf = memchr(p, '\n', (size_t)(stop - p))) != NULL) {
				/*
				 * "\n.\n" and "\n.\r\n" smuggling: an LF alone ends
				 * nothing (test_dotdata.c, the smuggling rows)
				 */
				d->flags |= DOTDATA_BARE_LF;
				stop = lf + 1;
			}
			o = emit_run(d, o, p, (size_t)(stop - p));
			p = stop;
			if (p < end && *p == '\r') {
				/*
				 * The CR is body whether or not LF follows, so it goes
				 * out now; DD_CR only remembers it for the LF.
				 */
				*o++ = '\r';
				line_add(d, 1);
				d->state = DD_CR;
				p++;
			}
			break;
		default:
			ASSERT(!"dotdata state");
		}
	}
out:
	*out_len = (size_t)(o - out);
	d->body_bytes += *out_len;
	return (size_t)(p - in);
}
