/*
 * maildrop.h - the file that `sterna sendmail` leaves in the spool's
 * maildrop/ folder for the daemon to queue, as pure encode/decode.
 *
 * sterna sendmail needs no running daemon: it writes one file per message
 * into <spool.dir>/maildrop/, durably, and exits; the daemon takes the
 * file (at once when running, at start otherwise), checks it as untrusted
 * input and queues it through the submission core (msg.h).
 *
 * The file uses the record framing of queue files (spool/record.h):
 *
 *   "STERNAD1" (8 bytes), then records:
 *   M  key/value: "fullname" (sendmail -F, optional; may be empty)
 *   S  key/value: "addr" = the envelope sender, formatted, "" for <>
 *   R  key/value: "addr" = one recipient, qualified (local part@domain),
 *      one record per recipient, at least one
 *   C  message bytes: CRLF line ends, not dot-stuffed, any number of
 *      records of at most REC_MAX_PAYLOAD bytes
 *   E  the end record (count and CRC of the records before it)
 *
 * The writer creates ".tmp.<name>" in maildrop/ (O_EXCL, O_NOFOLLOW),
 * writes and fsyncs it, renames it to "<name>" (no leading dot; unique:
 * seconds.microseconds.pid.random), and fsyncs the folder; only then does
 * it exit 0. The daemon ignores names that start with a dot.
 *
 * Who sent it is not written in the file: the daemon takes the owner of
 * the file (fstat) as the local user, since anything inside the file is
 * the user's word.
 */
#ifndef STERNA_MSG_MAILDROP_H
#define STERNA_MSG_MAILDROP_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

#define MAILDROP_MAGIC "STERNAD1"
#define MAILDROP_DIR "maildrop"
/* Bounds of what a file may say; the encoder and the decoder share them. */
#define MAILDROP_MAX_RCPTS 10000
#define MAILDROP_FULLNAME_MAX 256	/* bytes; no control bytes */

/* What a maildrop file says, decoded; strings owned, NUL-terminated. */
struct maildrop_msg {
	char *fullname;		/* NULL when absent */
	char *sender;		/* "" for the null sender */
	char **rcpts;
	size_t nrcpts;
	/* where the message bytes are: offsets of C payloads in the decoded input */
	struct maildrop_chunk {
		size_t off, len;
	} *chunks;
	size_t nchunks;
	uint64_t content_bytes;
};

/*
 * Appends a whole maildrop file to out: magic, M, S, R for each of
 * rcpts[0..nrcpts), C records holding content[0..len), E. fullname may be
 * NULL. Returns 0, or -1 (out as it was) when out is full or the file
 * would be one maildrop_decode() refuses: no recipient or more than
 * MAILDROP_MAX_RCPTS, an address that is not a mailbox with a domain (the
 * sender may be ""), a full name too long or holding control bytes.
 */
int maildrop_encode(struct buf *out, const char *fullname, const char *sender,
    const char *const *rcpts, size_t nrcpts, const void *content, size_t len);

/*
 * Decodes a whole maildrop file in[0..len) (untrusted). Returns 0 with
 * *out filled (free with maildrop_msg_clear), or -1 with why in err: bad
 * magic, a bad or torn record, records out of order, no E, no sender
 * record, no recipient, a NUL or an over-long address, an address that
 * smtp_addr_parse() refuses or that has no domain, more than
 * MAILDROP_MAX_RCPTS recipients, bytes after E. The C payloads are not
 * copied: out->chunks point into in, which must outlive their use.
 */
int maildrop_decode(const uint8_t *in, size_t len, struct maildrop_msg *out, char *err,
    size_t errsize);
void maildrop_msg_clear(struct maildrop_msg *m);

#endif
