/*
 * session_int.h - what the parts of the session share: session.c (the
 * life of a session, its transaction and replies), session_verbs.c (the
 * verbs), session_envelope.c (MAIL and RCPT), session_auth.c (the AUTH
 * exchange) and session_ask.c (questions to policy and what each answer
 * does).
 * Nothing outside src/smtp includes it.
 */
#ifndef STERNA_SMTP_SESSION_INT_H
#define STERNA_SMTP_SESSION_INT_H

#include "smtp/session.h"

#define OUT_MAX (64 * 1024)	/* replies waiting; bounded by the input that caused them */
#define HELO_MAX 255
#define TLS_NAME_MAX 63	/* OpenSSL's longest cipher name is 45 bytes */

enum state {
	ST_START,	/* nothing sent yet */
	ST_INIT,	/* greeted, waiting for HELO/EHLO */
	ST_READY,	/* HELO/EHLO done, no transaction */
	ST_MAIL,	/* MAIL accepted */
	ST_RCPT,	/* at least one RCPT accepted */
	ST_DATA,	/* reading the message */
	ST_COMMIT,	/* waiting for the spool */
	ST_TLS,		/* 220 to STARTTLS given, waiting for the handshake */
	ST_CLOSING,	/* a final reply was given */
	ST_AUTH,	/* AUTH: the next line is a response to our 334 (RFC 4954 4) */
	ST_ASK,		/* a question is out (SMTP_ACT_ASK); the answer decides */
	ST_WAIT,	/* the caller holds our output for a while */
};

enum auth_step { AUTH_PLAIN, AUTH_LOGIN_USER, AUTH_LOGIN_PASS };

/* The ESMTP parameters of one MAIL or RCPT kept for the filters; a longer rest is left out. */
#define SESSION_PARAMS_TEXT_MAX 1024

/* MAIL parameters (RFC 1870 SIZE, RFC 6152 BODY, RFC 6531 SMTPUTF8). */
struct mail_params {
	uint64_t size;
	int has_size, is_size_huge, has_body, is_8bitmime, is_smtputf8, has_auth;
	int has_hold;		/* HOLDFOR or HOLDUNTIL (RFC 4865) */
	int64_t hold_until;	/* ... as a UNIX time */
};

struct smtp_session {
	const struct smtp_session_conf *conf;
	const struct smtp_hooks *hooks;
	char id[32];
	char peer_ip[64];
	char local_ip[64];
	int is_trusted;
	enum auth_step auth_step;
	const char *auth_mech;	/* "PLAIN", "LOGIN", or "" */
	struct sasl_creds creds;	/* during AUTH only; wiped after the check */
	char auth_user[SASL_FIELD_MAX + 1];	/* "" until AUTH succeeds */
	unsigned auth_failures;
	enum state after_wait;	/* ST_READY, or ST_CLOSING to close once the wait is over */
	unsigned wait_ms;	/* how long SMTP_ACT_WAIT holds the output */
	char helo[HELO_MAX + 1];
	int is_esmtp;
	int is_tls;
	int is_discarding;	/* a DISCARD verdict: the transaction is answered and dropped */
	int is_discarding_all;	/* ... at CONNECT or HELO: every transaction of the session */
	char tls_version[TLS_NAME_MAX + 1];
	char tls_cipher[TLS_NAME_MAX + 1];
	enum state state;
	struct smtp_txn *txn;
	struct smtp_addr sender;	/* the transaction's, parsed: what later questions carry */
	unsigned rcpts_tried;	/* RCPT commands in this transaction, accepted or not */
	/* the question out (ST_ASK), and what its answer needs to go on with */
	struct smtp_ask ask;
	enum state ask_from;		/* the state the question was asked in */
	struct smtp_addr ask_addr;	/* MAIL: the sender; RCPT: the recipient */
	char ask_fmt[SMTP_ADDR_FMT_MAX];	/* ask_addr formatted, for replies and logs */
	struct mail_params ask_mail;	/* MAIL: its parameters */
	char ask_param_text[SESSION_PARAMS_TEXT_MAX];	/* MAIL, RCPT: each parameter as sent, NUL-ended */
	const char *ask_params[SMTP_MAX_PARAMS];	/* ... into ask_param_text */
	size_t ask_nparams;
	uint64_t ask_size;		/* MAIL: SIZE=; EOM: the message's bytes */
	char ask_helo[HELO_MAX + 1];	/* HELO/EHLO: the name given */
	int ask_is_ehlo;
	struct buf out;
	struct smtp_session_stats stats;
};

/* session.c */
void session_set_state(struct smtp_session *s, enum state st);
/* Appends a reply (text cut at 512 bytes). */
void session_reply(struct smtp_session *s, int code, const char *status, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/*
 * An error reply the client caused: logged as a reject and counted
 * towards smtp.max_errors. Returns CLOSE once the limit is reached.
 */
enum smtp_act session_reject(struct smtp_session *s, const char *cmd, const char *arg,
    int code, const char *status, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/*
 * A refusing verdict's reply, logged with its rule. A REJECT counts as
 * session_reject() does; a TEMPFAIL is not the client's error and is not
 * counted; a 421 (of either kind) closes.
 */
enum smtp_act session_refuse(struct smtp_session *s, const char *cmd, const char *arg,
    const struct verdict *v);
/* Ends the transaction, if any. */
void session_txn_reset(struct smtp_session *s);
/*
 * The same for a transaction that no line has ended (received, reject,
 * discard): an "aborted" line with why ("rset", "quit", "timeout", "lost" ...)
 * ends its queue id's story.
 */
void session_txn_abort(struct smtp_session *s, const char *why);
/* Keeps cmd's ESMTP parameters as sent for the question (s->ask_params). */
void session_params_keep(struct smtp_session *s, const struct smtp_cmd *cmd);
/* A new transaction after MAIL was accepted: s->ask_addr, s->ask_fmt, s->ask_mail. */
void session_mail_begin(struct smtp_session *s);

/* session_verbs.c */
/* One command line (r: what the parser made of it), answered by its verb. */
enum smtp_act session_verb(struct smtp_session *s, enum smtp_parse r, const struct smtp_cmd *cmd,
    int more);
/* Copies a command argument without trailing blanks into a C string, for logs. */
void session_arg_str(struct slice a, char *out, size_t size);
/* AUTH is offered here and now: RFC 4954 4 lets a server offer it only after TLS. */
int session_auth_usable(const struct smtp_session *s);
/* FUTURERELEASE is offered here and now: where AUTH is. */
int session_future_release_offered(const struct smtp_session *s);
/* HELO/EHLO accepted: the name in s->ask_helo becomes the session's, and the reply. */
void session_helo_reply(struct smtp_session *s);

/* session_envelope.c: the verbs MAIL and RCPT (verb table rows) */
enum smtp_act session_do_mail(struct smtp_session *s, const struct smtp_cmd *cmd, int more);
enum smtp_act session_do_rcpt(struct smtp_session *s, const struct smtp_cmd *cmd, int more);

/* session_ask.c */
/* Asks the question of stage st (with what s knows now); returns SMTP_ACT_ASK. */
enum smtp_act session_ask(struct smtp_session *s, enum smtp_stage st);

/* session_auth.c */
enum smtp_act session_do_auth(struct smtp_session *s, const struct smtp_cmd *cmd);
/* A line while in ST_AUTH: the response to our 334. */
enum smtp_act session_auth_line(struct smtp_session *s, enum smtp_parse r,
    const struct smtp_cmd *cmd);
/* The answer to the AUTH question. */
enum smtp_act session_auth_answered(struct smtp_session *s, const struct verdict *v);

#endif
