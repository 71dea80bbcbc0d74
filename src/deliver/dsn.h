/*
 * dsn.h - delivery status notifications (bounces and delay notices), pure:
 * the bytes of one RFC 3464 multipart/report (RFC 6522) from the failed
 * recipients of one message. The scheduler queues them as a new message
 * with the null sender (RFC 5321 4.5.5), to the original sender.
 */
#ifndef STERNA_DELIVER_DSN_H
#define STERNA_DELIVER_DSN_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

#define DSN_MAX_HEADERS (64 * 1024)	/* original header bytes returned, at most */

struct dsn_rcpt {
	const char *orig;	/* as given in RCPT TO, or NULL when not known */
	const char *final;	/* the address delivery was attempted to */
	const char *status;	/* enhanced status: "5.1.1" */
	const char *remote_mta;	/* the host that answered, or NULL */
	int code;		/* the SMTP reply code, 0 when the failure was ours */
	const char *diag;	/* the reply's text, or our reason */
};

struct dsn_msg {
	const char *hostname;	/* the Reporting-MTA and the From: domain */
	const char *qid;	/* the original message's */
	const char *bounce_qid;	/* the notice's own, for its Message-ID */
	const char *to;		/* the original sender: the notice's recipient */
	int64_t arrival_s;
	int64_t now_s;
	int is_delay;		/* Action: delayed, not failed */
	int64_t retry_until_s;	/* with is_delay: when we give up */
	const struct dsn_rcpt *rcpts;
	size_t nrcpts;
	const uint8_t *headers;	/* the original header section (borrowed), CRLF line ends */
	size_t headers_len;
};

/*
 * Appends the notice (header and body, CRLF line ends) to out. Text that
 * came from a remote server is put in as it is in the dsn_rcpt (the caller
 * passes printable ASCII). 0, or -1 past out's max.
 */
int dsn_build(const struct dsn_msg *m, struct buf *out);

/* The length of the header section at the start of p (n bytes): up to and with the blank line. */
size_t dsn_header_len(const uint8_t *p, size_t n);

#endif
