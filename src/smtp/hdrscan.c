/*
 * hdrscan.c - which header fields the header section of a message holds
 * (RFC 5322 2.2, 3.6): enough to tell whether a submitted message lacks
 * Message-ID or Date (RFC 6409 8.2, 8.3). Fed the unstuffed body bytes in
 * pieces of any size; stops at the empty line that ends the header
 * section, at a line that cannot be a header field (a message without
 * one), or after HDRSCAN_MAX_BYTES. No allocation, no I/O.
 */
#include "smtp.h"

#include <string.h>

#include "util/ascii.h"

enum { HS_LINE_START, HS_NAME, HS_REST, HS_CR_AT_START };

/* ftext (RFC 5322 3.6.8): printable ASCII except ':' */
static int
is_ftext(uint8_t c)
{
	return c >= 33 && c <= 126 && c != ':';
}

void
hdrscan_init(struct hdrscan *h)
{
	memset(h, 0, sizeof(*h));
	h->state = HS_LINE_START;
}

static void
name_done(struct hdrscan *h)
{
	/* a name too long for name[] is none of the ones looked for */
	if (h->name_len == 10 && memcmp(h->name, "message-id", 10) == 0)
		h->seen |= HDRSCAN_MESSAGE_ID;
	else if (h->name_len == 4 && memcmp(h->name, "date", 4) == 0)
		h->seen |= HDRSCAN_DATE;
}

int
hdrscan_feed(struct hdrscan *h, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len && !h->is_done; i++) {
		uint8_t c = p[i];

		if (++h->bytes > HDRSCAN_MAX_BYTES) {
			h->is_done = h->is_truncated = 1;
			break;
		}
		switch (h->state) {
		case HS_LINE_START:
			if (c == '\r') {
				h->state = HS_CR_AT_START;
			} else if (c == ' ' || c == '\t') {
				h->state = HS_REST;	/* a folded line continues the field */
			} else if (is_ftext(c)) {
				h->name_len = 0;
				h->name[h->name_len++] = (char)ascii_tolower(c);
				h->state = HS_NAME;
			} else {
				h->is_done = 1;		/* not a header field: the body starts here */
			}
			break;
		case HS_NAME:
			if (c == ':') {
				name_done(h);
				h->state = HS_REST;
			} else if (is_ftext(c)) {
				if (h->name_len < sizeof(h->name))
					h->name[h->name_len] = (char)ascii_tolower(c);
				if (h->name_len < SIZE_MAX)
					h->name_len++;
			} else {
				h->is_done = 1;		/* "From x" or a bare word: no field */
			}
			break;
		case HS_REST:
			if (c == '\n')
				h->state = HS_LINE_START;
			break;
		case HS_CR_AT_START:
		default:
			/* CRLF alone: the empty line that ends the header section */
			h->is_done = 1;
			break;
		}
	}
	return h->is_done;
}
