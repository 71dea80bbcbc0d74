/*
 * sendmail_input.c - the message on sendmail's standard input, into CRLF
 * lines. Pure: the caller reads, this file judges the bytes.
 * Callers (cron, mailx, PHP, scripts) write LF lines, sometimes CRLF. The
 * line ends are the daemon's own for folder files (drop/eml.h): LF, CRLF
 * and a run of CRs before an LF each end one line, and a CR that no LF
 * follows ends a line of its own; so no bare CR or LF reaches the queue
 * (SECURITY.md: stray CR/LF are repaired or refused, never passed on).
 * Classic sendmail ends the input at a line holding only "." unless -i or
 * -oi is given, and never undoes dot-stuffing in this mode; so neither do
 * we. A first line "From " is an mbox separator, not a header field, and is
 * dropped. What other MTAs, or the daemon taking the file, would refuse is
 * refused here instead (EX_DATAERR): lines over 998 octets (RFC 5322
 * 2.1.1; fewer when smtp.max_text_line_bytes says so), NUL bytes, more
 * than smtp.max_message_bytes.
 */
#include "main/sendmail.h"

#include <stdio.h>
#include <string.h>

void
sm_input_init(struct sm_input *in, uint64_t max_bytes, size_t max_line, int is_dot_end)
{
	memset(in, 0, sizeof(*in));
	/* the message can never pass max_bytes, so neither can its buffer */
	buf_init(&in->msg, max_bytes < SIZE_MAX - 2 ? (size_t)max_bytes + 2 : SIZE_MAX);
	in->max_line = max_line;
	buf_init(&in->line, max_line + 1);
	in->max_bytes = max_bytes;
	in->is_dot_end = is_dot_end != 0;
	in->is_first_line = 1;
}

void
sm_input_clear(struct sm_input *in)
{
	buf_clear(&in->msg);
	buf_clear(&in->line);
}

/* A whole line, without its end: 1 if it ends the message, 0, or -1. */
static int
line_done(struct sm_input *in)
{
	struct slice l = buf_slice(&in->line);

	in->lineno++;
	if (in->is_first_line) {
		in->is_first_line = 0;
		if (l.len >= 5 && memcmp(l.p, "From ", 5) == 0) {
			buf_reset(&in->line);
			return 0;
		}
	}
	if (in->is_dot_end && l.len == 1 && l.p[0] == '.') {
		buf_reset(&in->line);
		in->is_done = 1;
		return 1;
	}
	if ((uint64_t)in->msg.len + l.len + 2 > in->max_bytes) {
		snprintf(in->err, sizeof(in->err),
		    "message is larger than smtp.max_message_bytes (%llu bytes)",
		    (unsigned long long)in->max_bytes);
		return -1;
	}
	/* cannot fail: msg may hold max_bytes and the sum was checked above */
	if (buf_append(&in->msg, l.p, l.len) == -1 || buf_append(&in->msg, "\r\n", 2) == -1) {
		snprintf(in->err, sizeof(in->err), "out of memory for the message");
		return -1;
	}
	buf_reset(&in->line);
	return 0;
}

/* The CRs held back end lines of their own (classic Mac text): 1, 0 or -1 as line_done. */
static int
flush_crs(struct sm_input *in)
{
	int r = 0;

	for (; in->crs > 0 && r == 0; in->crs--)
		r = line_done(in);
	return r;
}

int
sm_input_feed(struct sm_input *in, const uint8_t *p, size_t n)
{
	if (in->is_done)
		return 1;
	for (size_t i = 0; i < n; i++) {
		uint8_t c = p[i];
		int r;

		if (c == '\r') {
			/* held: a run of CRs before an LF is one line end ("\r\r\n") */
			in->crs++;
			continue;
		}
		if (c == '\n') {
			in->crs = 0;
			if ((r = line_done(in)) != 0)
				return r;
			continue;
		}
		if (in->crs > 0 && (r = flush_crs(in)) != 0)
			return r;
		if (c == '\0') {
			snprintf(in->err, sizeof(in->err), "line %lu holds a NUL byte",
			    in->lineno + 1);
			return -1;
		}
		if (in->line.len == in->max_line) {
			snprintf(in->err, sizeof(in->err),
			    "line %lu is longer than %zu octets; other mail servers would refuse it",
			    in->lineno + 1, in->max_line);
			return -1;
		}
		/* cannot fail: line holds max_line + 1 */
		(void)buf_append_byte(&in->line, c);
	}
	return 0;
}

int
sm_input_eof(struct sm_input *in)
{
	int r;

	if (in->is_done)
		return 0;
	if ((r = flush_crs(in)) == -1)
		return -1;
	if (r == 0 && in->line.len > 0 && line_done(in) == -1)
		return -1;
	in->is_done = 1;
	return 0;
}
