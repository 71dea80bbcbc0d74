/*
 * eml.h - what a file in a folder entrance holds, as pure parsing: the text
 * rules every folder file obeys (line ends, NUL, line length), and the
 * envelope of a pickup file (.eml, as application servers write them).
 * No I/O and no libevent: the folder code (folder.c) runs these on a worker
 * thread over the bytes it read, and the unit tests feed them bytes.
 */
#ifndef STERNA_DROP_EML_H
#define STERNA_DROP_EML_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

/*
 * Message text to CRLF, fed in pieces of any size (a maildrop file's
 * content comes in several records). Line ends: LF, CR LF, and a run of CRs
 * directly before an LF ("\r\r\n", the mark of a text-mode conversion done
 * twice) each end one line; a CR that no LF follows ends a line of its own
 * (classic Mac text). Either way, no lone CR or LF reaches the queue.
 * A NUL byte and a line longer than max_line_bytes (CRLF counted) fail the
 * text, as they fail a message over SMTP (docs/smtp.md, 550 5.6.0).
 */
struct eml_text {
	size_t max_line_bytes;
	size_t line_bytes;	/* of the line being read, its end not counted */
	size_t line_no;		/* 1-based, for the reason */
	unsigned crs;		/* CRs seen and not yet written */
	int is_8bit;		/* a byte >= 0x80 was seen */
	int is_bad;		/* failed; why is in err */
	char err[96];
};

void eml_text_init(struct eml_text *t, size_t max_line_bytes);
/* Appends the CRLF form of in[0..len) to out: 0, or -1 (bad text, or out full: t->err). */
int eml_text_feed(struct eml_text *t, const uint8_t *in, size_t len, struct buf *out);
/* The end of the text: writes the CRs still held: 0, or -1 (out full). */
int eml_text_end(struct eml_text *t, struct buf *out);

/* The envelope a pickup file gives. Strings owned, NUL-terminated. */
struct eml_env {
	char *sender;		/* "" for the null sender (X-Sender: <>) */
	char **rcpts;		/* formatted as RCPT TO takes them (mime.h); the core resolves them */
	size_t nrcpts;
	int is_from_x_lines;	/* X-Receiver lines gave the recipients */
	int is_8bit;		/* the text holds bytes >= 0x80 */
};

/*
 * Parses a pickup file in[0..len): drops a leading mbox "From " line, makes
 * the text CRLF (eml_text rules), takes the envelope from X-Sender: and
 * X-Receiver: fields at the very top of the header (one address each; they
 * are removed) or else from the header: the sender from Sender: or the
 * first address of From:, the recipients from To:, Cc: and Bcc:. A Bcc:
 * field is removed either way (RFC 5322 3.6.3: blind copies stay blind).
 * Address lists are read by mime_addr_list(), as sterna sendmail reads
 * them: a name without a domain ("root") gets "@" domain (the daemon's
 * config_default_domain(); NULL refuses such names), and a list of the
 * envelope that cannot be read whole fails the file rather than losing
 * the part GMime skipped. The lists of a header that is not the envelope
 * (To beside X-Receiver) are the message's own business and fail nothing.
 * Appends the message as it is to be queued to content. At most max_rcpts
 * recipients. Returns 0 with *env filled (eml_env_clear frees it), or -1
 * with why in err: bad text, no sender, a bad address or list (the field
 * named), no recipient, too many, content full.
 */
int eml_parse(const uint8_t *in, size_t len, size_t max_line_bytes, size_t max_rcpts,
    const char *domain, struct eml_env *env, struct buf *content, char *err, size_t errsize);
void eml_env_clear(struct eml_env *env);

#endif
