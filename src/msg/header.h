/*
 * header.h - the header stage of the submission core, as pure functions:
 * a scanner of the message's header section (RFC 5322 2.2, 3.6), and the
 * header fields the core puts before the message (Received, RFC 5321 4.4;
 * Message-ID and Date for a submission, RFC 6409 8.2, 8.3). No I/O; the
 * unit tests and fuzzers link it without libevent.
 */
#ifndef STERNA_MSG_HEADER_H
#define STERNA_MSG_HEADER_H

#include <stddef.h>
#include <stdint.h>

#include "spool/spool.h"
#include "util/buf.h"

#define HDRSCAN_MAX_BYTES (256 * 1024)	/* a longer header section is judged unseen */

enum {
	HDRSCAN_MESSAGE_ID = 1 << 0,	/* a Message-ID: field (any case) */
	HDRSCAN_DATE = 1 << 1,		/* a Date: field */
};

/* How the scan of the header section stopped. */
enum hdrscan_end {
	HDRSCAN_END_NONE,	/* not yet (or the message ended inside its header section) */
	HDRSCAN_END_EMPTY_LINE,	/* at the empty line that ends it (RFC 5322 2.1) */
	HDRSCAN_END_NOT_FIELD,	/* at a line that is no header field: the body starts there */
	HDRSCAN_END_BOUND,	/* after HDRSCAN_MAX_BYTES: seen and counts are incomplete */
};

struct hdrscan {
	int state;		/* private */
	char name[16];		/* private: the field name so far, lowercased */
	size_t name_len;	/* private */
	uint64_t bytes;		/* bytes seen */
	unsigned seen;		/* HDRSCAN_* found so far */
	unsigned nfields;	/* header fields found so far */
	unsigned nreceived;	/* Received: fields among them (RFC 5321 6.3 counts hops) */
	enum hdrscan_end end;
	int is_done;		/* the header section is over (or the bound was hit) */
	int is_truncated;	/* it stopped at HDRSCAN_MAX_BYTES */
};

void hdrscan_init(struct hdrscan *h);
/*
 * Reads the next len message bytes (unstuffed, CRLF lines) and notes the
 * fields found. Returns 1 once the header section has ended (an empty
 * line, a line that is no header field, or HDRSCAN_MAX_BYTES); later calls
 * change nothing. Pieces may split the input anywhere.
 */
int hdrscan_feed(struct hdrscan *h, const uint8_t *p, size_t len);
/*
 * 1 once the scan knows whether the message opens with a header field:
 * enough to place the added fields (msg_header_needs_separator).
 */
int hdrscan_knows_first_line(const struct hdrscan *h);
/*
 * 1 if the message has no header section but a body that starts at once
 * (its first line is text, not a field and not the empty line): fields
 * put before it must be followed by an empty line, or a reader takes the
 * text for header fields. An empty first line already is that empty line.
 */
int hdrscan_needs_separator(const struct hdrscan *h);

/*
 * 1 if Message-ID and Date are added when missing: a submission (an
 * authenticated SMTP client, sendmail, pickup, a notice of ours), not mail
 * relayed from another MTA, which must arrive as it was sent.
 */
int msg_header_is_submission(const struct spool_msg *env);
/*
 * Appends the Received field for env, folded, CRLF-terminated, by
 * hostname, at now (seconds since the epoch): "from HELO (NAME [IP])" and
 * "with PROTO" for SMTP, "(sterna, from userid UID (USER))" for sendmail,
 * "(sterna, from pickup)" for the pickup folder. It names the recipient
 * only when there is exactly one (more would tell each who else got it).
 * 0, or -1 if out is full.
 */
int msg_header_received(const struct spool_msg *env, const char *hostname, int64_t now,
    struct buf *out);
/*
 * Appends "Message-ID: <QID@HOSTNAME>" and "Date: ..." for those not in
 * seen (HDRSCAN_*), when msg_header_is_submission(env); nothing otherwise.
 * 0, or -1 if out is full.
 */
int msg_header_added(const struct spool_msg *env, const char *hostname, int64_t now,
    unsigned seen, struct buf *out);

#endif
