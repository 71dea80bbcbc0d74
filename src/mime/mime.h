/*
 * mime.h - the address lists of message header fields (RFC 5322 3.4), read
 * with GMime, for the entrances that take ready-made messages: the pickup
 * folder (src/drop/eml.c) and sterna sendmail (src/main/sendmail_*.c).
 * Every mailbox comes out as the SMTP server takes it from RCPT TO
 * (smtp_addr_parse, then smtp_addr_format), so that no entrance has an
 * idea of its own of what an address is, and a list that cannot be read
 * whole is refused whole: a recipient is never dropped without a word.
 * No I/O; any thread may call these (GMime is set up once, on first use).
 */
#ifndef STERNA_MIME_MIME_H
#define STERNA_MIME_MIME_H

#include <stddef.h>

#include "smtp/smtp.h"

/*
 * Sets GMime up, once per process whichever thread comes first (the
 * daemon reads pickup files on a worker thread). Every function here calls
 * it; callers that use GMime themselves (sendmail's header section) call
 * it first too.
 */
void mime_init(void);
/*
 * Gives back what GMime holds, so that a leak checker sees nothing left
 * behind. Only at the end of a process, with no other thread in GMime:
 * nothing here can be used after it.
 */
void mime_shutdown(void);

/* Formatted mailboxes (smtp_addr_format), owned, in the order read, at most max. */
struct mime_addrs {
	char **v;
	size_t n, cap, max;
};

void mime_addrs_init(struct mime_addrs *a, size_t max);
/* Frees the strings and empties a; max is kept. */
void mime_addrs_clear(struct mime_addrs *a);

enum mime_addr_err {
	MIME_ADDR_OK,
	MIME_ADDR_BAD,		/* the list, or a mailbox in it, cannot be read */
	MIME_ADDR_TOO_MANY,	/* more than a->max mailboxes */
};

/*
 * Reads text (one header field's value, unfolded, or an argument written
 * like one) as an RFC 5322 address list: display names, comments, quoted
 * local parts, groups (their members count, the group is not an address),
 * encoded words. Each mailbox is appended to a in its IDN form (a domain
 * in U-labels becomes A-labels, RFC 5890) and formatted; duplicates are
 * kept (the queue's envelope merges copies). A mailbox without a domain
 * ("root") gets "@" domain; with domain NULL it is refused instead.
 * White space and commas alone are an empty list. Borrows everything.
 * Returns MIME_ADDR_OK; or, with a as it was and why in err:
 * MIME_ADDR_BAD when GMime reads no list from text that has content, when
 * it skipped a part it could not read, when the text holds a form no
 * strict reading takes (an unterminated comment or quote, stray angle
 * brackets, an address as a display name), or when a mailbox is no
 * RFC 5321 mailbox (a source route, an empty one, a bad name);
 * MIME_ADDR_TOO_MANY past a->max. a's array may have grown either way:
 * mime_addrs_clear() it as always.
 */
enum mime_addr_err mime_addr_list(const char *text, const char *domain, struct mime_addrs *a,
    char *err, size_t errsize);

/*
 * local@domain into out, formatted (the local part quoted when it needs to
 * be, the domain lowercased): 0, or -1 if no RFC 5321 mailbox fits.
 */
int mime_addr_make(const char *local, const char *domain, char out[SMTP_ADDR_FMT_MAX]);

#endif
