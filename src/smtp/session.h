/*
 * session.h - the SMTP server session as a state machine (RFC 5321 4.1,
 * 4.3.2; RFC 1869/5321 EHLO; RFC 2920 PIPELINING; RFC 1870 SIZE; RFC 6152
 * 8BITMIME; RFC 2034 ENHANCEDSTATUSCODES; RFC 6531 SMTPUTF8; RFC 3207
 * STARTTLS).
 *
 * The session is fed parsed command lines and events (DATA read, message
 * committed, timeout) and answers by appending replies to its output buffer
 * and by telling its caller, through struct smtp_action, what to do next:
 * read DATA, commit the message, start TLS, close. It owns the transaction
 * (envelope). TLS itself (OpenSSL) is the caller's: the session only learns
 * that the handshake is done, and with which version and cipher.
 * Policy is asked at each stage through one mechanism: the session returns
 * SMTP_ACT_ASK with a question (struct smtp_ask), the caller has it judged
 * (at once or later) and gives the verdict to smtp_session_answer(), which
 * replies and goes on. The spool is asked through struct smtp_hooks. So
 * this file needs no sockets, no DNS, no spool and no configuration loader.
 */
#ifndef STERNA_SMTP_SESSION_H
#define STERNA_SMTP_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "smtp/smtp.h"
#include "util/buf.h"
#include "util/qid.h"
#include "util/verdict.h"

enum smtp_body { SMTP_BODY_7BIT, SMTP_BODY_8BITMIME };

/*
 * The transaction as the protocol knows it: the envelope proper (each
 * recipient's resolved targets) is kept by the caller, who resolves them
 * through the rcpt hook, and built into a queue file by src/msg.
 */
struct smtp_txn {
	char qid[QID_LEN + 1];
	char *sender;		/* formatted mailbox, "" for the null sender */
	uint64_t size_declared;	/* SIZE= (0 if absent) */
	enum smtp_body body;
	int is_smtputf8;
	unsigned naccepted;	/* RCPT commands accepted, for smtp.max_recipients */
	uint64_t release_s;	/* FUTURERELEASE (RFC 4865): not before this time; 0 for now */
};

/*
 * The stages at which the session asks for a verdict (SMTP_ACT_ASK), each
 * as soon as the client has said what it decides on, and before the
 * session changes state.
 */
enum smtp_stage {
	SMTP_STAGE_CONNECT,	/* before the greeting */
	SMTP_STAGE_HELO,	/* HELO/EHLO with a well-formed name */
	SMTP_STAGE_AUTH,	/* credentials to check */
	SMTP_STAGE_MAIL,	/* a well-formed MAIL, within the size limit */
	SMTP_STAGE_RCPT,	/* a well-formed RCPT, within max_recipients */
	SMTP_STAGE_DATA,	/* DATA, before the 354 */
	SMTP_STAGE_EOM,		/* the message read to its end, well formed, before the commit */
};

/*
 * A question, with what is known at its stage; valid (with everything it
 * points to) until smtp_session_answer().
 */
struct smtp_ask {
	enum smtp_stage stage;
	const char *id;			/* the session's id (the connection's) */
	const char *qid;		/* the transaction's queue id: RCPT, DATA, EOM; else "" */
	const char *client_ip;		/* text */
	const char *local_ip;		/* the server's address on this connection; "" if unknown */
	int is_trusted;			/* from relay.trusted_networks */
	int is_tls;
	const char *helo;		/* the HELO/EHLO name ("" before one); at HELO the new one */
	const char *auth_user;		/* the authenticated user (lowercased), NULL before AUTH */
	const struct sasl_creds *creds;	/* AUTH: what to check; NULL at other stages */
	const struct smtp_addr *sender;	/* MAIL (the one asked about), RCPT, DATA, EOM; else NULL */
	const struct smtp_addr *rcpt;	/* RCPT: the recipient; else NULL */
	const char *const *params;	/* MAIL, RCPT: the ESMTP parameters as sent ("SIZE=1000") */
	size_t nparams;
	const char *auth_mech;		/* AUTH, and later stages once authenticated: "PLAIN", "LOGIN" */
	uint64_t size;			/* MAIL: SIZE= (0 if absent); EOM: the message's bytes */
	unsigned nrcpts;		/* recipients accepted so far in this transaction */
};

/* "connect", "helo", "auth", "mail", "rcpt", "data", "eom": for logs and rules. */
const char *smtp_stage_name(enum smtp_stage st);

/* What the session asks of the world. ctx is passed back to each hook. */
struct smtp_hooks {
	void *ctx;
	/*
	 * A transaction begins (MAIL was accepted): the caller starts a new
	 * envelope, forgetting any earlier one, and writes its queue id.
	 */
	void (*txn_begin)(void *ctx, char qid_out[QID_LEN + 1]);
	/* 1 if the spool has room for a message of size bytes (0: unknown size). */
	int (*has_room)(void *ctx, uint64_t size);
};

struct smtp_session_conf {
	const char *hostname;
	size_t max_line_bytes;
	size_t max_text_line_bytes;
	uint64_t max_message_bytes;
	unsigned max_recipients;
	unsigned max_errors;
	int offers_starttls;	/* EHLO lists STARTTLS and the verb works (not once in TLS) */
	int is_auth_offered;		/* AUTH exists here (a users file, the listener allows it) */
	int is_auth_tls_only;		/* ... but only once TLS is on (the default) */
	int is_auth_required;		/* submission: no MAIL before AUTH (RFC 6409 4.3) */
	unsigned max_auth_failures;	/* 535s in one session before 421 and close */
	/*
	 * FUTURERELEASE (RFC 4865): the longest hold a client may ask for, in
	 * seconds; offered where AUTH is, and taken after it; 0: not offered.
	 */
	unsigned max_future_release_s;
};

/* What the caller must do after a session call. */
enum smtp_act {
	SMTP_ACT_NONE,		/* send the output, read the next command */
	SMTP_ACT_CLOSE,		/* send the output, then close */
	SMTP_ACT_DATA,		/* send the output (354), then read the message */
	SMTP_ACT_COMMIT,	/* make the message durable, then call smtp_session_committed() */
	SMTP_ACT_STARTTLS,	/* prepare TLS, then call smtp_session_starttls_ready() */
	SMTP_ACT_HANDSHAKE,	/* send the output (220), discard unread input, then handshake */
	/*
	 * Have smtp_session_ask() judged (now or later: read no commands
	 * meanwhile), then give the verdict to smtp_session_answer(). Send
	 * the output first.
	 */
	SMTP_ACT_ASK,
	/*
	 * Hold the output and read no commands for smtp_session_wait_ms()
	 * (a failed AUTH is answered late), then send it and do what
	 * smtp_session_wait_over() says.
	 */
	SMTP_ACT_WAIT,
};

enum smtp_start {
	SMTP_START_GREET,	/* a normal connection */
	SMTP_START_BUSY,	/* over the session limit */
	SMTP_START_EARLY_TALK,	/* the client sent bytes before the greeting */
};

enum smtp_commit {
	SMTP_COMMIT_OK,
	SMTP_COMMIT_IOERR,	/* 451 4.3.0 */
	SMTP_COMMIT_NOSPACE,	/* 452 4.3.1 */
};

struct smtp_session;

/*
 * Returns a new session for a client at peer_ip (text) port peer_port, with
 * id (the connection id, for logs). Borrows conf and hooks, which must
 * outlive the session.
 */
struct smtp_session *smtp_session_new(const struct smtp_session_conf *conf,
    const struct smtp_hooks *hooks, const char *id, const char *peer_ip);
/*
 * Tells the session where the client connected (the server's address,
 * text, copied) and whether it comes from a trusted network; before
 * smtp_session_start(). Unset, local_ip is "" and the client is not trusted.
 */
void smtp_session_set_client(struct smtp_session *s, const char *local_ip, int is_trusted);
/* Frees *s and its transaction, sets *s to NULL; s may point to NULL. */
void smtp_session_free(struct smtp_session **s);
/*
 * The connection is going (why: "lost", "closed"): a transaction still open
 * is logged as aborted. smtp_session_free() does the same with "closed".
 */
void smtp_session_abort(struct smtp_session *s, const char *why);

/*
 * The first reply of the session: a refusal (BUSY, EARLY_TALK: 421 or
 * 554, CLOSE), or, for GREET, SMTP_ACT_ASK at the
 * CONNECT stage, whose answer gives the greeting or refuses the client.
 */
enum smtp_act smtp_session_start(struct smtp_session *s, enum smtp_start how);
/*
 * One result of smtp_cmd_parse() (OK, BAD or TOO_LONG; never MORE) and its
 * command. has_more_input says whether more input was already waiting after
 * this line (a client must not send past DATA before the 354, RFC 2920 3.1).
 */
enum smtp_act smtp_session_line(struct smtp_session *s, enum smtp_parse r,
    const struct smtp_cmd *cmd, int has_more_input);
/*
 * The message was read to its end: flags are dotdata's, body_bytes its
 * length. Returns SMTP_ACT_ASK (the EOM stage) when it is well formed,
 * whose accepting answer returns SMTP_ACT_COMMIT; SMTP_ACT_NONE if it was
 * refused or discarded (the reply is in the output: then the caller keeps
 * nothing).
 */
enum smtp_act smtp_session_data_end(struct smtp_session *s, unsigned flags, uint64_t body_bytes);
/* The commit asked for by SMTP_ACT_COMMIT is done; replies 250 or 45x. */
enum smtp_act smtp_session_committed(struct smtp_session *s, enum smtp_commit result);
/*
 * Instead of a commit, what SMTP_ACT_COMMIT asked for was refused by
 * whoever judged the whole message (a mail loop; a content filter, rule
 * its name, else NULL): replies "code dsn Error: text" (code 4xx or 5xx,
 * dsn its enhanced status), or "code dsn text" when the text is a
 * filter's own reply (is_filter_text), logs it, and ends the transaction.
 * Returns SMTP_ACT_NONE.
 */
enum smtp_act smtp_session_refused(struct smtp_session *s, int code, const char *dsn,
    const char *text, const char *rule, int is_filter_text);
/* The client took too long (a command line, DATA, the session): replies 421, asks to close. */
enum smtp_act smtp_session_timeout(struct smtp_session *s);

/*
 * The caller's answer to SMTP_ACT_STARTTLS: is_ready says whether it could
 * set up TLS for this connection. Ready: replies 220 2.0.0, forgets HELO/EHLO
 * and the transaction (RFC 3207 4.2), and returns SMTP_ACT_HANDSHAKE; the
 * caller must throw away every byte the client sent after the STARTTLS line
 * (they came in plaintext: the CVE-2011-0411 command injection). Not ready:
 * replies 454 4.7.0 and returns SMTP_ACT_NONE; the session goes on in
 * plaintext.
 */
enum smtp_act smtp_session_starttls_ready(struct smtp_session *s, int is_ready);
/*
 * The TLS handshake is done: after SMTP_ACT_HANDSHAKE, or before
 * smtp_session_start() on an implicit-TLS listener (RFC 8314). Copies
 * version and cipher (as OpenSSL names them) for the Received header. After
 * STARTTLS the session waits for EHLO again, which no longer offers
 * STARTTLS; STARTTLS now gets 503.
 */
void smtp_session_tls_started(struct smtp_session *s, const char *version, const char *cipher);
/* The mechanism of the AUTH in progress or done: "PLAIN", "LOGIN", or "". */
const char *smtp_session_auth_mech(const struct smtp_session *s);
/* The question asked by SMTP_ACT_ASK; valid until smtp_session_answer(). */
const struct smtp_ask *smtp_session_ask(const struct smtp_session *s);
/*
 * The verdict on the question out. ACCEPT lets the stage go on (250, 235,
 * 354, the greeting; COMMIT at EOM); REJECT and TEMPFAIL give the
 * verdict's reply (a 421 closes; REJECTs count towards smtp.max_errors;
 * at CONNECT any refusal closes); DISCARD answers as ACCEPT but the
 * transaction is dropped at its end (NONE at EOM, after a 250). A verdict
 * with delay_ms holds its reply back (SMTP_ACT_WAIT). At AUTH, ACCEPT
 * logs the user in; REJECT is a failed login (535 unless the verdict says
 * otherwise). Returns the next action, as the stage's own call would.
 */
enum smtp_act smtp_session_answer(struct smtp_session *s, const struct verdict *v);
/* How long the wait asked for by SMTP_ACT_WAIT lasts, in ms. */
unsigned smtp_session_wait_ms(const struct smtp_session *s);
/* The wait asked for by SMTP_ACT_WAIT is over: NONE, or CLOSE. */
enum smtp_act smtp_session_wait_over(struct smtp_session *s);
/* The authenticated user (lowercased), or NULL. */
const char *smtp_session_auth_user(const struct smtp_session *s);
/* 1 once the session runs over TLS (STARTTLS or implicit TLS), else 0. */
int smtp_session_is_tls(const struct smtp_session *s);

/* The replies waiting to be sent; the caller sends and then resets it. */
struct buf *smtp_session_output(struct smtp_session *s);
/* The transaction (valid between MAIL and the end of the commit), or NULL. */
const struct smtp_txn *smtp_session_txn(const struct smtp_session *s);
/* The HELO/EHLO name the client gave ("" before one). */
const char *smtp_session_helo(const struct smtp_session *s);
/* The TLS version and cipher (as OpenSSL names them), NULL before TLS. */
const char *smtp_session_tls_version(const struct smtp_session *s);
const char *smtp_session_tls_cipher(const struct smtp_session *s);
/*
 * The protocol name for logs and Received (RFC 3848, RFC 6531 4.3): SMTP,
 * ESMTP, UTF8SMTP, with S after TLS and A after AUTH (ESMTPA, ESMTPSA,
 * UTF8SMTPA, UTF8SMTPSA).
 */
const char *smtp_session_proto(const struct smtp_session *s);
/* Counters for the disconnect log line. */
struct smtp_session_stats {
	unsigned commands, errors, messages, rcpts;
};
const struct smtp_session_stats *smtp_session_stats(const struct smtp_session *s);

#endif
