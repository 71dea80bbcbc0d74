/*
 * smtpc.h - the SMTP client's protocol, pure: replies are parsed from
 * bytes, and a state machine fed with replies says what to send next.
 * No sockets and no libevent here (smtp_client.c and smtp_client_io.c do
 * the I/O), so every path is unit-tested byte by byte. RFC 5321 3.3, 4.1,
 * 4.2, 4.5.3.2; RFC 2920 (PIPELINING), RFC 3207 (STARTTLS), RFC 1870
 * (SIZE), RFC 6152 (8BITMIME), RFC 6531 (SMTPUTF8), RFC 4954 (AUTH PLAIN,
 * LOGIN).
 * The same machine speaks LMTP (RFC 2033) when its configuration says so:
 * LHLO for EHLO, and one reply per accepted recipient after the data.
 *
 * A reply from a remote server is hostile input: a line is at most
 * SMTPC_MAX_LINE bytes, a reply at most SMTPC_MAX_LINES lines, and only
 * the first SMTPC_TEXT bytes of its text are kept.
 */
#ifndef STERNA_DELIVER_SMTPC_H
#define STERNA_DELIVER_SMTPC_H

#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "util/buf.h"

#define SMTPC_MAX_LINE 2048	/* RFC 5321 4.5.3.1.5 asks for 512; some servers say more */
#define SMTPC_MAX_LINES 200
#define SMTPC_TEXT 512

/* Extensions from the EHLO reply. */
enum {
	SMTPC_CAP_STARTTLS = 1 << 0,
	SMTPC_CAP_PIPELINING = 1 << 1,
	SMTPC_CAP_SIZE = 1 << 2,
	SMTPC_CAP_8BITMIME = 1 << 3,
	SMTPC_CAP_SMTPUTF8 = 1 << 4,
	SMTPC_CAP_AUTH_PLAIN = 1 << 5,
	SMTPC_CAP_AUTH_LOGIN = 1 << 6,
	SMTPC_CAP_ENHANCEDSTATUSCODES = 1 << 7,
};

struct smtpc_reply {
	int code;			/* 200 to 599 */
	char status[16];		/* enhanced status "4.2.1", or "" */
	char text[SMTPC_TEXT];		/* the lines' text joined by "; ", cut at SMTPC_TEXT */
	unsigned caps;			/* when this is an EHLO reply */
	uint64_t size_limit;		/* SIZE n; 0 for none given */
};

enum smtpc_parse { SMTPC_PARSE_OK, SMTPC_PARSE_MORE, SMTPC_PARSE_BAD };

struct smtpc_reader {
	struct buf line;		/* the line being read */
	struct smtpc_reply cur;
	unsigned nlines;
	size_t text_len;
};

void smtpc_reader_init(struct smtpc_reader *r);
void smtpc_reader_clear(struct smtpc_reader *r);
/*
 * Reads the len bytes at in (borrowed) up to the end of one reply: OK with
 * the reply in *out, MORE when every byte was taken and no reply is
 * complete, BAD for a line that is not a reply line, too long, a
 * continuation with another code, or too many lines (the connection is
 * then beyond repair). *used_out says how many bytes were taken.
 */
enum smtpc_parse smtpc_reader_feed(struct smtpc_reader *r, const uint8_t *in, size_t len,
    size_t *used_out, struct smtpc_reply *out);

/*
 * What one recipient's attempt came to. code 0: no final answer (the session
 * failed first); a 2xx is a delivery: the reply to the data in SMTP, the
 * recipient's own reply after the data in LMTP (never the RCPT's alone).
 */
struct smtpc_result {
	int code;
	char status[16];
	char text[SMTPC_TEXT];
};

/* One message to send, and the results the session fills in. */
struct smtpc_txn {
	const char *sender;		/* "" for <> */
	const char *const *rcpts;
	size_t nrcpts;
	uint64_t size;			/* bytes of the content as it will be sent */
	int is_8bitmime, is_smtputf8;
	struct smtpc_result *results;	/* nrcpts of them, filled in */
	/*
	 * The reply that ended the message (in LMTP the last recipient's reply
	 * after the data), or a local verdict; code 0 when the session failed
	 * first. The recipients' results are what counts: in LMTP they differ.
	 */
	struct smtpc_result msg;
	int is_sent;			/* some recipient's result is a delivery (a 2xx) */
};

struct smtpc_conf {
	const char *helo_name;
	int is_tls_allowed;		/* STARTTLS when offered */
	int is_tls_required;		/* no STARTTLS, no session (encrypt, verify) */
	const char *auth_plain_b64;	/* base64("\0user\0password"), or NULL for no AUTH */
	const char *auth_user_b64, *auth_pass_b64;	/* for AUTH LOGIN */
	/*
	 * LMTP (RFC 2033): LHLO instead of EHLO, no HELO to fall back to, and
	 * after the data one reply per recipient accepted at RCPT, in RCPT order.
	 */
	int is_lmtp;
};

/*
 * Sets conf's TLS flags for a destination's policy: none never sends
 * STARTTLS; may sends it when offered and goes on in the clear without;
 * encrypt and verify allow no session without it (verify's check of the
 * certificate is the handshake's, in smtp_client.c). has_ctx is 0 when no
 * TLS context is to be had: then TLS is never tried.
 */
void smtpc_conf_tls(struct smtpc_conf *conf, enum config_tls tls, int has_ctx);

enum smtpc_state {
	SMTPC_GREETING, SMTPC_EHLO, SMTPC_LHLO, SMTPC_HELO, SMTPC_STARTTLS, SMTPC_TLS, SMTPC_AUTH,
	SMTPC_AUTH_USER, SMTPC_AUTH_PASS, SMTPC_READY, SMTPC_MAIL, SMTPC_RCPT, SMTPC_DATA,
	SMTPC_BODY, SMTPC_DOT, SMTPC_RSET, SMTPC_QUIT, SMTPC_FAILED,
};

/* What the caller does after an input. */
struct smtpc_action {
	int want_tls;		/* do the TLS handshake now, then call smtpc_tls_ready() */
	int want_body;		/* send the dot-stuffed body now, then call smtpc_body_sent() */
	int is_ready;		/* no transaction: call smtpc_begin() or smtpc_quit() */
	int is_txn_done;	/* the transaction given to smtpc_begin() has its results */
	int is_closed;		/* QUIT was answered: close, all is well */
	int is_failed;		/* the session is over, close: why holds the reason */
	int is_perm;		/* with is_failed: the host refused for good (5xx greeting, HELO, LHLO) */
	char why[SMTPC_TEXT + 64];
};

struct smtpc {
	const struct smtpc_conf *conf;
	enum smtpc_state state;
	unsigned caps;
	uint64_t size_limit;
	int is_tls;
	struct smtpc_txn *txn;
	size_t next_rcpt;		/* the RCPT whose reply comes next */
	size_t naccepted;
	size_t nfinal;			/* LMTP: results [0, nfinal) have their reply after the data */
	unsigned messages;		/* transactions begun on this connection */
	struct buf *out;		/* where commands are appended (the caller's) */
};

/* Starts a session; commands are appended to out (borrowed), whose bytes the caller sends. */
void smtpc_init(struct smtpc *c, const struct smtpc_conf *conf, struct buf *out);
/* A reply arrived; what to do is in *act. */
void smtpc_input(struct smtpc *c, const struct smtpc_reply *r, struct smtpc_action *act);
/* The TLS handshake is done: the session starts over with EHLO (RFC 3207 4.2). */
void smtpc_tls_ready(struct smtpc *c);
/*
 * In SMTPC_READY: sends t (borrowed until is_txn_done). A message the peer
 * cannot take (SIZE, SMTPUTF8) gets its verdict at once, without a command:
 * then act->is_txn_done is set here.
 */
void smtpc_begin(struct smtpc *c, struct smtpc_txn *t, struct smtpc_action *act);
/* The body and its final "." have been written. */
void smtpc_body_sent(struct smtpc *c);
/* In SMTPC_READY: ends the session politely. */
void smtpc_quit(struct smtpc *c);
/*
 * The connection is gone (closed, timed out, broken): the transaction in
 * progress, if any, ends; its recipients without a final reply get code 0
 * (to try again), the others keep theirs. Call before dropping the session.
 */
void smtpc_lost(struct smtpc *c);
/* The state's name, for logs. */
const char *smtpc_state_name(enum smtpc_state s);

/*
 * Dot-stuffing (RFC 5321 4.5.2) of content with CRLF line ends: writes the
 * n bytes at p to out (room for 2 * n bytes: every byte might be a '.'
 * starting a line) with a '.' doubled at each line start, and returns how
 * many it wrote; *is_bol says whether the next byte starts a line (start
 * with 1), so content may come in pieces cut anywhere.
 */
size_t smtpc_dotstuff(const uint8_t *p, size_t n, int *is_bol, uint8_t *out);

#endif
