/*
 * reply.c - write SMTP replies: "CODE SP STATUS SP TEXT CRLF".
 * Multi-line replies follow RFC 5321 4.2.1: every line but the last has
 * "CODE-", the last "CODE SP". The enhanced status code (RFC 3463) is
 * repeated on every line, as RFC 2034 section 3 asks. Text may come from
 * configuration or carry peer data through the format, so a CR in it is
 * dropped and an LF only ever splits lines: no bare CR or LF reaches the
 * wire, and nobody can forge a reply line of their own.
 * Choosing the code and the status is the session's job, not this file's.
 */
#include "smtp/smtp.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

/* RFC 5321 4.5.3.1.5 caps a reply line at 512 bytes; most texts fit here */
#define REPLY_TEXT_STACK 512

/* Appends n bytes for which put_reply() reserved room, so it cannot fail. */
static void
put(struct buf *out, const void *p, size_t n)
{
	int r = buf_append(out, p, n);

	ASSERT(r == 0);
}

/* Bytes of text[0..n) other than CR. */
static size_t
count_non_cr(const char *text, size_t n)
{
	size_t i, k = 0;

	for (i = 0; i < n; i++)
		k += text[i] != '\r';
	return k;
}

/* Appends text[0..n) to out without its CRs. */
static void
append_non_cr(struct buf *out, const char *text, size_t n)
{
	const char *p = text, *end = text + n, *cr;

	while (p < end) {
		cr = memchr(p, '\r', (size_t)(end - p));
		if (cr == NULL)
			cr = end;
		put(out, p, (size_t)(cr - p));
		p = cr < end ? cr + 1 : end;
	}
}

/*
 * One reply line: "CODE-", or on the last line "CODE SP", then the status
 * and the text separated by SP. A last line with neither is "CODE" alone,
 * as the grammar of RFC 5321 4.2 has it (Reply-code [ SP textstring ]).
 * Returns its length when out is NULL, else appends it (room reserved).
 */
static size_t
put_line(struct buf *out, const char code[3], const char *status, size_t status_len,
    const char *text, size_t text_len, int is_last)
{
	size_t words = count_non_cr(text, text_len), n;
	char sep = is_last ? ' ' : '-';

	n = 3;
	if (!is_last || status != NULL || words > 0)
		n++;
	if (status != NULL)
		n += status_len + (words > 0);
	n += words + 2;
	if (out == NULL)
		return n;
	put(out, code, 3);
	if (!is_last || status != NULL || words > 0)
		put(out, &sep, 1);
	if (status != NULL) {
		put(out, status, status_len);
		if (words > 0)
			put(out, " ", 1);
	}
	append_non_cr(out, text, text_len);
	put(out, "\r\n", 2);
	return n;
}

/*
 * Walks the lines of text[0..n), measuring them (out NULL) or writing them.
 * A final LF ends the last line rather than opening an empty one, so "a\n"
 * is one line. Returns the total length, or SIZE_MAX if it overflows.
 */
static size_t
put_reply(struct buf *out, const char code[3], const char *status, size_t status_len,
    const char *text, size_t n)
{
	const char *p = text, *end = text + n, *lf;
	size_t total = 0, k;

	if (n > 0 && text[n - 1] == '\n')
		end--;
	do {
		lf = memchr(p, '\n', (size_t)(end - p));
		k = put_line(out, code, status, status_len, p,
		    (size_t)((lf != NULL ? lf : end) - p), lf == NULL);
		if (k > SIZE_MAX - total)
			return SIZE_MAX;
		total += k;
		p = lf != NULL ? lf + 1 : end;
	} while (lf != NULL);
	return total;
}

int
smtp_reply(struct buf *out, int code, const char *status, const char *fmt, ...)
{
	char stack[REPLY_TEXT_STACK], *text = stack, digits[3];
	size_t status_len = 0, total, size;
	va_list ap;
	int n, ret = -1;

	/* RFC 5321 4.2.1: three digits, the first from 2 to 5 */
	ASSERT(code >= 200 && code <= 599);
	digits[0] = (char)('0' + code / 100);
	digits[1] = (char)('0' + code / 10 % 10);
	digits[2] = (char)('0' + code % 10);
	if (status != NULL) {
		/* a status is a constant of ours, never text to split or clean */
		status_len = strlen(status);
		ASSERT(memchr(status, '\r', status_len) == NULL);
		ASSERT(memchr(status, '\n', status_len) == NULL);
	}

	va_start(ap, fmt);
	n = vsnprintf(stack, sizeof(stack), fmt, ap);
	va_end(ap);
	if (n < 0)
		return -1;
	if ((size_t)n >= sizeof(stack)) {
		size = (size_t)n + 1;
		text = xmalloc(size);
		va_start(ap, fmt);
		n = vsnprintf(text, size, fmt, ap);
		va_end(ap);
		if (n < 0 || (size_t)n >= size)
			goto out;
	}

	/* measure first, so that out is left as it was when the reply does not fit */
	total = put_reply(NULL, digits, status, status_len, text, (size_t)n);
	if (total == SIZE_MAX || buf_reserve(out, total) == -1)
		goto out;
	(void)put_reply(out, digits, status, status_len, text, (size_t)n);
	ret = 0;
out:
	if (text != stack)
		free(text);
	return ret;
}
