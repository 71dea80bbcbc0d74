/*
 * sendmail.h - the parts of `sterna sendmail`, shared by its files in
 * src/main only (sendmail_*.c).
 *
 *   sendmail.c        options, configuration, who the user is, exit codes
 *   sendmail_input.c  the message from standard input: line ends, the dot,
 *                     the mbox "From " line, line and size limits (pure)
 *   sendmail_header.c the header section: -t recipients, Bcc removed, From
 *                     added (pure; GMime parses the fields)
 *   sendmail_addr.c   recipients without duplicates, -f, the From value
 *                     (pure; the lists are read by src/mime, mime.h)
 *   sendmail_drop.c   the maildrop file, written durably
 *   sendmail_bs.c     -bs: the SMTP session on standard input and output
 *
 * The pure parts take bytes and return bytes or a reason, so that the unit
 * tests (tests/unit/test_sendmail.c) run them without a spool or a terminal.
 */
#ifndef STERNA_MAIN_SENDMAIL_H
#define STERNA_MAIN_SENDMAIL_H

#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "smtp/smtp.h"
#include "util/buf.h"

/* RFC 5322 2.1.1: a line is at most 998 characters, CRLF excluded. */
#define SM_LINE_MAX 998

/* ---- recipients (sendmail_addr.c) ---- */

/* Formatted mailboxes (smtp_addr_format), owned, without duplicates. */
struct sm_rcpts {
	char **v;
	size_t n, cap;
};

void sm_rcpts_clear(struct sm_rcpts *r);
/* Adds the formatted mailbox addr (copied) unless it is there already. */
void sm_rcpts_add(struct sm_rcpts *r, const char *addr);

/*
 * Reads text as an RFC 5322 address list (mime_addr_list(): mailboxes,
 * groups, comments, encoded words, display names) and adds every mailbox
 * to r, formatted; a mailbox without a domain is qualified with domain.
 * An empty list adds nothing. Returns 0, or -1 with the offending address
 * in err (and r as it was) when one is not a valid RFC 5321 mailbox, or
 * when GMime skipped a part it could not read.
 */
int sm_addr_list_add(struct sm_rcpts *r, const char *text, const char *domain, char *err,
    size_t errsize);
/*
 * The envelope sender for -f: "", "<>" and "< >" give the null sender (""
 * in out); anything else must be one mailbox, qualified with domain when it
 * has none. Returns 0, or -1 with why in err.
 */
int sm_addr_sender(const char *text, const char *domain, char out[SMTP_ADDR_FMT_MAX], char *err,
    size_t errsize);
/*
 * The value of a From field for addr: "addr", or with a full name
 * "Full Name <addr>", the name quoted (RFC 5322 3.2.4) or encoded
 * (RFC 2047) when it needs to be, folded (CRLF and a tab) where a long
 * name needs it. Returns a new string, without a final CRLF.
 */
char *sm_from_value(const char *fullname, const char *addr);

/* ---- the message from standard input (sendmail_input.c) ---- */

struct sm_input {
	struct buf msg;		/* the message so far: CRLF line ends */
	struct buf line;	/* the line being read, without its end */
	uint64_t max_bytes;	/* smtp.max_message_bytes */
	size_t max_line;	/* octets of a line, its end not counted */
	size_t crs;		/* CRs held back: an LF next makes them one line end */
	unsigned is_dot_end : 1;	/* without -i: a line holding only "." ends the input */
	unsigned is_first_line : 1;
	unsigned is_done : 1;
	unsigned long lineno;
	char err[160];
};

/* max_line: the longest line, its CRLF not counted (at most SM_LINE_MAX). */
void sm_input_init(struct sm_input *in, uint64_t max_bytes, size_t max_line, int is_dot_end);
void sm_input_clear(struct sm_input *in);
/*
 * Reads n bytes of standard input. Returns 1 when the message ended (a lone
 * "." line without -i; the rest of the input is not the message), 0 when
 * more may come, -1 with in->err set (EX_DATAERR): a NUL byte, a line over
 * max_line octets, or more than max_bytes in all.
 * LF, CRLF, CRs before an LF, and a CR without an LF each end a line, and
 * every line is stored with CRLF. A first line starting "From " (an mbox
 * separator) is dropped.
 */
int sm_input_feed(struct sm_input *in, const uint8_t *p, size_t n);
/* The input ended (EOF): a last line without its end is kept. 0, or -1 as above. */
int sm_input_eof(struct sm_input *in);

/* ---- the header section (sendmail_header.c) ---- */

struct sm_header_opts {
	int is_extract;		/* -t: add the To, Cc and Bcc mailboxes to rcpts */
	const char *from_value;	/* the value of a From field to add when there is none */
	const char *domain;	/* qualifies names without a domain */
};

/*
 * Writes msg[0..len) (CRLF lines, as sm_input made them) to out with its
 * header section edited: every Bcc field removed; a From field added (at
 * the end of the header section) when none is there; an empty line put
 * after the header section when the body followed it without one; with a
 * message that has no header section, the added From and an empty line go
 * first. The body is copied byte for byte. With o->is_extract, the
 * mailboxes of the To, Cc and Bcc fields (unfolded, groups included) are
 * added to rcpts. Returns 0, or -1 with why in err: out is full, or a
 * field holds an address that is not a valid mailbox.
 */
int sm_header_edit(const uint8_t *msg, size_t len, const struct sm_header_opts *o,
    struct buf *out, struct sm_rcpts *rcpts, char *err, size_t errsize);

/* ---- the maildrop file (sendmail_drop.c) ---- */

enum sm_drop_err {
	SM_DROP_OK,
	SM_DROP_NOPERM,		/* EX_NOPERM: not allowed to write the folder */
	SM_DROP_CANTCREAT,	/* EX_CANTCREAT: no folder, or a file cannot be made there */
	SM_DROP_TEMPFAIL,	/* EX_TEMPFAIL: no space, quota, too many files */
	SM_DROP_IOERR,		/* EX_IOERR: the disk said no */
	SM_DROP_DATAERR,	/* EX_DATAERR: no file can say this (an address, the size) */
};

/*
 * Writes one maildrop file into <spool_dir>/maildrop/ for sender (formatted,
 * "" for <>), rcpts and the message bytes: ".tmp.NAME" made with O_EXCL and
 * O_NOFOLLOW, mode 0644, written and fsynced, renamed to NAME, and the
 * folder flushed. Only a return of SM_DROP_OK means the message is durable;
 * on failure the temporary file is removed and err says why. name_out (may
 * be NULL) receives the file's name.
 */
enum sm_drop_err sm_drop_write(const char *spool_dir, const char *fullname, const char *sender,
    const struct sm_rcpts *rcpts, const void *msg, size_t len, char *name_out,
    size_t name_size, char *err, size_t errsize);
/* The sysexits.h code for e. */
int sm_drop_exit_code(enum sm_drop_err e);

/* ---- -bs (sendmail_bs.c) ---- */

/*
 * Runs an SMTP session on fds in and out for a trusted local client until
 * QUIT or the end of input; each accepted message is written with
 * sm_drop_write() before its 250. Returns a sysexits.h code.
 */
int sm_bs_run(const struct config *cfg, int in, int out, int is_verbose);

#endif
