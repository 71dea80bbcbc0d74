/*
 * smtp.h - the SMTP protocol as pure functions of bytes: the command parser
 * (cmd.c), the address parser (addr.c), the DATA reader (dotdata.c) and the
 * reply writer (reply.c). The session state machine is in session.h.
 * Nothing here touches a socket, libevent or OpenSSL: that is what makes it
 * unit-testable and fuzzable.
 */
#ifndef STERNA_SMTP_SMTP_H
#define STERNA_SMTP_SMTP_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

/* ---- commands (cmd.c), RFC 5321 4.1 ---- */

enum smtp_verb {
	SMTP_CMD_UNKNOWN = 0,
	SMTP_CMD_HELO,
	SMTP_CMD_EHLO,
	SMTP_CMD_MAIL,
	SMTP_CMD_RCPT,
	SMTP_CMD_DATA,
	SMTP_CMD_RSET,
	SMTP_CMD_NOOP,
	SMTP_CMD_QUIT,
	SMTP_CMD_HELP,
	SMTP_CMD_VRFY,
	SMTP_CMD_EXPN,
	SMTP_CMD_TURN,
	SMTP_CMD_STARTTLS,
	SMTP_CMD_AUTH,
	SMTP_CMD_BDAT,
};

enum smtp_parse {
	SMTP_PARSE_OK,		/* one command line parsed */
	SMTP_PARSE_MORE,	/* no CRLF yet and under the limit: wait for more bytes */
	SMTP_PARSE_BAD,		/* one line consumed that is not a valid command: cmd->err says why */
	SMTP_PARSE_TOO_LONG,	/* no line end within the limit: *used_out bytes are to be dropped */
};

enum smtp_cmd_err {
	SMTP_ERR_NONE,
	SMTP_ERR_BARE_CR,	/* a CR not followed by LF */
	SMTP_ERR_BARE_LF,	/* a line ended by LF alone */
	SMTP_ERR_NUL,		/* a NUL byte in the line */
	SMTP_ERR_8BIT_VERB,	/* a byte >= 0x80 in the verb */
	SMTP_ERR_SYNTAX,	/* the arguments do not fit the verb's grammar */
	SMTP_ERR_TOO_MANY_PARAMS,
};

#define SMTP_MAX_PARAMS 8

/* An ESMTP parameter "KEY" or "KEY=VALUE" (RFC 5321 4.1.2 esmtp-param). */
struct smtp_param {
	struct slice key;
	struct slice value;	/* len 0 and has_value 0 for a bare keyword */
	int has_value;
};

/*
 * One parsed command line. Every slice borrows from the parser's input and
 * is valid as long as those bytes are.
 */
struct smtp_cmd {
	enum smtp_verb verb;
	struct slice verb_text;	/* the verb as sent (for unknown-command logs) */
	struct slice arg;	/* the rest of the line after the verb and its SP, without CRLF */
	struct slice line;	/* the whole line without CRLF, once CRLF, CR and NUL checks passed */
	/* MAIL and RCPT only: */
	struct slice path;	/* the bytes between '<' and '>', quoted parts kept as sent */
	struct smtp_param params[SMTP_MAX_PARAMS];
	size_t nparams;
	int has_8bit;		/* a byte >= 0x80 somewhere in the arguments */
	enum smtp_cmd_err err;	/* why, when the result is SMTP_PARSE_BAD */
};

/*
 * Finds the first command line in in[0..len) and parses it.
 * max_line_bytes is the longest line accepted, CRLF included (RFC 5321
 * 4.5.3.1.4: 512). A line ends with CRLF and nothing else.
 * - SMTP_PARSE_OK: *cmd_out is filled, *used_out is the line's length with CRLF.
 * - SMTP_PARSE_BAD: *used_out covers the bad line (through its LF), and
 *   cmd_out->err says what was wrong; cmd_out->verb is set when the verb was
 *   recognised (MAIL/RCPT with a bad path give SMTP_ERR_SYNTAX).
 * - SMTP_PARSE_MORE: no line end yet, *used_out is 0.
 * - SMTP_PARSE_TOO_LONG: len >= max_line_bytes without a line end; *used_out
 *   is len: the caller drops it and skips input through the next LF.
 * Verbs are matched without regard to ASCII case. MAIL and RCPT take
 * "FROM:" / "TO:" (any case), optional spaces, then "<path>" and SP-separated
 * parameters; a path without angle brackets is a syntax error. '>' inside a
 * quoted string or after a backslash does not end the path.
 */
enum smtp_parse smtp_cmd_parse(const uint8_t *in, size_t len, size_t max_line_bytes,
    struct smtp_cmd *cmd_out, size_t *used_out);
/* Returns the upper-case name of a verb ("MAIL"), or "UNKNOWN". */
const char *smtp_verb_name(enum smtp_verb v);

/* ---- addresses (addr.c), RFC 5321 4.1.2, RFC 6531 ---- */

#define SMTP_LOCAL_MAX 64	/* RFC 5321 4.5.3.1.1 */
#define SMTP_DOMAIN_MAX 255	/* RFC 5321 4.5.3.1.2 */
#define SMTP_PATH_MAX 256	/* RFC 5321 4.5.3.1.3, angle brackets included */

enum smtp_addr_err {
	SMTP_ADDR_OK,
	SMTP_ADDR_SYNTAX,	/* not an RFC 5321 path */
	SMTP_ADDR_TOO_LONG,	/* local part, domain or path past its limit */
	SMTP_ADDR_NEEDS_UTF8,	/* non-ASCII without SMTPUTF8 (RFC 6531 3.3) */
	SMTP_ADDR_BAD_UTF8,	/* bytes >= 0x80 that are not valid UTF-8 */
	SMTP_ADDR_UNSAFE_UTF8,	/* valid UTF-8, but C1 controls, U+2028/29 or bidi controls */
};

struct smtp_addr {
	/* the local part with quoting undone ("a b"@x gives a b); may hold '@' */
	char local[SMTP_LOCAL_MAX + 1];
	size_t local_len;
	/*
	 * The domain, ASCII letters lowercased. An address literal keeps its
	 * brackets, in canonical form: "[192.0.2.1]", "[ipv6:2001:db8::1]".
	 */
	char domain[SMTP_DOMAIN_MAX + 1];
	size_t domain_len;
	unsigned is_null : 1;		/* <> */
	unsigned is_quoted : 1;		/* the local part was a quoted string */
	unsigned has_route : 1;		/* an RFC 5321 source route (@a,@b:) was present and dropped */
	unsigned is_literal : 1;	/* the domain is an address literal */
	unsigned has_utf8 : 1;		/* non-ASCII in the local part or domain */
	unsigned is_bare_postmaster : 1; /* <postmaster> without a domain (RFC 5321 4.1.1.3) */
};

/*
 * Parses path (the bytes between '<' and '>' from smtp_cmd) into *out.
 * An empty path gives is_null. utf8_ok says whether SMTPUTF8 is in effect.
 * A domain must be dot-separated LDH labels (or U-labels with utf8_ok) or an
 * address literal; a trailing dot is a syntax error.
 */
enum smtp_addr_err smtp_addr_parse(struct slice path, int utf8_ok, struct smtp_addr *out);
/*
 * Writes a's mailbox as it goes in a path, without the angle brackets:
 * local part quoted when it needs to be, "@", domain; "" for the null path,
 * "postmaster" for a bare postmaster. Returns 0, or -1 if it does not fit.
 * smtp_addr_parse() of the result gives back an equal address.
 */
int smtp_addr_format(const struct smtp_addr *a, char *out, size_t size);
/* A formatted mailbox needs at most this many bytes with its NUL. */
#define SMTP_ADDR_FMT_MAX (2 * SMTP_LOCAL_MAX + 2 + 1 + SMTP_DOMAIN_MAX + 1)

/* ---- DATA (dotdata.c), RFC 5321 4.1.1.4 and 4.5.2 ---- */

/* What dotdata saw in the message, as bits of dotdata.flags. */
enum {
	DOTDATA_BARE_LF = 1 << 0,	/* an LF not preceded by CR */
	DOTDATA_BARE_CR = 1 << 1,	/* a CR not followed by LF */
	DOTDATA_NUL = 1 << 2,		/* a NUL byte */
	DOTDATA_LONG_LINE = 1 << 3,	/* a line longer than max_line_bytes, CRLF included */
	DOTDATA_8BIT = 1 << 4,		/* a byte >= 0x80 */
};

struct dotdata {
	int state;		/* where we are in CRLF "." CRLF; private */
	size_t line_bytes;	/* bytes of the current line so far (unstuffed); private */
	size_t max_line_bytes;
	unsigned flags;		/* DOTDATA_* seen so far */
	uint64_t body_bytes;	/* body bytes produced so far */
};

void dotdata_init(struct dotdata *d, size_t max_line_bytes);
/*
 * Reads message bytes after "354". Only CRLF "." CRLF ends the message (the
 * start of DATA counts as after a CRLF); a bare LF or bare CR never begins or
 * ends a line for this purpose, so "\n.\n", "\n.\r\n" and "\r.\r" are body
 * bytes (and set DOTDATA_BARE_*). A leading dot is removed from every line.
 * Body bytes keep their line ends; the final CRLF before "." belongs to the
 * body, the "." CRLF does not.
 * Writes body bytes to out, which must have room for len + DOTDATA_HELD_MAX
 * bytes and must not overlap in; sets *out_len and returns the number of
 * input bytes used: less than len only when the end was found, in which case
 * *is_end is 1 and the rest of the input follows the message (pipelining).
 * Bytes whose meaning depends on what comes next (a CR, a dot at the start
 * of a line, a dot then CR) are held back, at most DOTDATA_HELD_MAX of
 * them, and come out with the next call.
 */
#define DOTDATA_HELD_MAX 2
size_t dotdata_feed(struct dotdata *d, const uint8_t *in, size_t len,
    uint8_t *out, size_t *out_len, int *is_end);

/* ---- SASL (sasl.c): RFC 4954 AUTH, RFC 4616 PLAIN, the LOGIN mechanism ---- */

#define SASL_FIELD_MAX 255	/* longest user name or password we take (RFC 4616 2: 255 octets) */

/* Credentials from a client; the password is wiped by sasl_creds_wipe(). */
struct sasl_creds {
	char user[SASL_FIELD_MAX + 1];
	size_t user_len;
	char pass[SASL_FIELD_MAX + 1];
	size_t pass_len;
};

enum sasl_err {
	SASL_OK,
	SASL_BAD_BASE64,	/* not canonical base64 (RFC 4648 4): 501 5.5.2 */
	SASL_BAD_MESSAGE,	/* decodes, but is not a PLAIN message / a usable field: 501 5.5.2 */
	SASL_AUTHZID,		/* PLAIN asks to act as another identity: not supported, 535 */
};

/*
 * Decodes base64 in[0..len) into out (outsize bytes; 3 * len / 4 is enough)
 * with OpenSSL's decoder, after checking the text is canonical: a multiple
 * of 4, only the base64 alphabet, '=' only as one or two final pad bytes.
 * "=" alone is the empty response (RFC 4954 4). Sets *out_len.
 */
enum sasl_err sasl_b64_decode(const uint8_t *in, size_t len, uint8_t *out, size_t outsize,
    size_t *out_len);
/*
 * A PLAIN message (RFC 4616 2), decoded: [authzid] NUL authcid NUL passwd.
 * authzid must be empty or equal to authcid. User and password are 1 to 255
 * bytes without NUL. Fills *out.
 */
enum sasl_err sasl_plain_parse(const uint8_t *msg, size_t len, struct sasl_creds *out);
/* One LOGIN field (user name or password), decoded: 1 to 255 bytes without NUL, into out. */
enum sasl_err sasl_login_field(const uint8_t *msg, size_t len, char out[SASL_FIELD_MAX + 1],
    size_t *out_len);
/* Overwrites the whole of c, so no password lingers in memory. */
void sasl_creds_wipe(struct sasl_creds *c);

/* ---- replies (reply.c), RFC 5321 4.2, RFC 3463 ---- */

/*
 * Appends a reply: code, enhanced status (RFC 3463; NULL for none, as in the
 * greeting), then the text. Newlines in the text make a multi-line reply
 * ("250-..." lines, then "250 ..."). Returns 0, or -1 if out is full.
 */
int smtp_reply(struct buf *out, int code, const char *status, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#endif
