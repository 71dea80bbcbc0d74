/*
 * dsn.c - building delivery status notifications: RFC 3464 (the
 * message/delivery-status fields), RFC 6522 (multipart/report), RFC 3834
 * (Auto-Submitted), and the text/rfc822-headers part with the original
 * header section so the sender can tell which message it was.
 */
#include "deliver/dsn.h"

#include <string.h>

#include "util/ascii.h"
#include "util/clock.h"

size_t
dsn_header_len(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i + 1 < n; i++)
		if (p[i] == '\n' && (p[i + 1] == '\n' ||
		    (p[i + 1] == '\r' && i + 2 < n && p[i + 2] == '\n')))
			return i + (p[i + 1] == '\n' ? 2 : 3);
	return n;	/* no body: it is all header */
}

/* Appends at most max bytes of the header section, cut at a line end. */
static int
add_headers(struct buf *out, const uint8_t *p, size_t n)
{
	size_t len = dsn_header_len(p, n);

	if (len > DSN_MAX_HEADERS) {
		len = DSN_MAX_HEADERS;
		while (len > 0 && p[len - 1] != '\n')
			len--;
	}
	/* the blank line that ends a header section is the part's end, not its content */
	while (len > 0 && (p[len - 1] == '\n' || p[len - 1] == '\r'))
		len--;
	if (buf_append(out, p, len) == -1)
		return -1;
	return buf_append_str(out, "\r\n");
}

int
dsn_build(const struct dsn_msg *m, struct buf *out)
{
	char date[64], arrival[64], until[64];
	int rc = 0;

	if (clock_rfc5322(m->now_s, date, sizeof(date)) == -1 ||
	    clock_rfc5322(m->arrival_s, arrival, sizeof(arrival)) == -1 ||
	    clock_rfc5322(m->retry_until_s, until, sizeof(until)) == -1)
		return -1;
	rc |= buf_printf(out,
	    "From: Mail Delivery System <MAILER-DAEMON@%s>\r\n"
	    "To: <%s>\r\n"
	    "Subject: %s\r\n"
	    "Date: %s\r\n"
	    "Message-ID: <%s.dsn@%s>\r\n"
	    "Auto-Submitted: auto-replied\r\n"
	    "MIME-Version: 1.0\r\n"
	    "Content-Type: multipart/report; report-type=delivery-status;\r\n"
	    "\tboundary=\"%s/%s\"\r\n"
	    "\r\n"
	    "This is a MIME-encapsulated message.\r\n"
	    "\r\n"
	    "--%s/%s\r\n"
	    "Content-Type: text/plain; charset=us-ascii\r\n"
	    "Content-Description: Notification\r\n"
	    "\r\n"
	    "This is the mail system at host %s.\r\n"
	    "\r\n",
	    m->hostname, m->to,
	    m->is_delay ? "Delayed Mail (still being retried)" : "Undelivered Mail Returned to Sender",
	    date, m->bounce_qid, m->hostname, m->qid, m->hostname, m->qid, m->hostname, m->hostname);
	if (m->is_delay)
		rc |= buf_printf(out,
		    "Your message (queue id %s) could not be delivered yet to the recipients\r\n"
		    "below. It will be retried until %s; you need not send it again.\r\n\r\n",
		    m->qid, until);
	else
		rc |= buf_printf(out,
		    "Your message (queue id %s) could not be delivered to the recipients\r\n"
		    "below. This is a permanent error; it has been returned to you.\r\n\r\n",
		    m->qid);
	for (size_t i = 0; i < m->nrcpts; i++) {
		const struct dsn_rcpt *r = &m->rcpts[i];

		rc |= buf_printf(out, "<%s>", r->final);
		/* an alias's target: the sender knows the message by the address it wrote */
		if (r->orig != NULL && r->orig[0] != '\0' && (strlen(r->orig) != strlen(r->final) ||
		    !ascii_casen_eq(r->orig, r->final, strlen(r->final))))
			rc |= buf_printf(out, " (expanded from <%s>)", r->orig);
		rc |= buf_append_str(out, ": ");
		if (r->remote_mta != NULL)
			rc |= buf_printf(out, "host %s said: ", r->remote_mta);
		if (r->code != 0)
			rc |= buf_printf(out, "%d ", r->code);
		rc |= buf_printf(out, "%s\r\n", r->diag);
	}
	rc |= buf_printf(out,
	    "\r\n--%s/%s\r\n"
	    "Content-Type: message/delivery-status\r\n"
	    "Content-Description: Delivery report\r\n"
	    "\r\n"
	    "Reporting-MTA: dns; %s\r\n"
	    "X-Queue-ID: %s\r\n"
	    "Arrival-Date: %s\r\n",
	    m->qid, m->hostname, m->hostname, m->qid, arrival);
	for (size_t i = 0; i < m->nrcpts; i++) {
		const struct dsn_rcpt *r = &m->rcpts[i];

		rc |= buf_append_str(out, "\r\n");
		/* RFC 3464 2.3.1: the address as the client gave it, when we know it */
		if (r->orig != NULL && r->orig[0] != '\0')
			rc |= buf_printf(out, "Original-Recipient: rfc822; %s\r\n", r->orig);
		rc |= buf_printf(out, "Final-Recipient: rfc822; %s\r\nAction: %s\r\nStatus: %s\r\n",
		    r->final, m->is_delay ? "delayed" : "failed", r->status);
		if (r->remote_mta != NULL)
			rc |= buf_printf(out, "Remote-MTA: dns; %s\r\n", r->remote_mta);
		if (r->code != 0)
			rc |= buf_printf(out, "Diagnostic-Code: smtp; %d %s %s\r\n", r->code,
			    r->status, r->diag);
		else
			rc |= buf_printf(out, "Diagnostic-Code: x-unix; %s\r\n", r->diag);
		rc |= buf_printf(out, "Last-Attempt-Date: %s\r\n", date);
		if (m->is_delay)
			rc |= buf_printf(out, "Will-Retry-Until: %s\r\n", until);
	}
	rc |= buf_printf(out,
	    "\r\n--%s/%s\r\n"
	    "Content-Type: text/rfc822-headers\r\n"
	    "Content-Description: Undelivered Message Headers\r\n"
	    "\r\n", m->qid, m->hostname);
	if (rc == 0)
		rc = add_headers(out, m->headers, m->headers_len);
	if (rc == 0)
		rc = buf_printf(out, "\r\n--%s/%s--\r\n", m->qid, m->hostname);
	return rc == 0 ? 0 : -1;
}
