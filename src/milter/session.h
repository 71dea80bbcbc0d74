/*
 * session.h - one milter filter as a state machine, pure (in the style of
 * deliver/smtpc.h): the caller says what happens in the SMTP transaction
 * (connect, HELO, MAIL, RCPT, the header fields, the body, the end), the
 * session appends the packets to send to its output, and each reply the
 * filter sends is fed back to it; what it comes to is an action: wait for
 * more, the stage's verdict (util/verdict.h), a change to the message (at
 * its end), or a failure (the filter broke the protocol: the caller applies
 * the filter's default action).
 *
 * It keeps what the filter asked for in negotiation: steps it skips are not
 * sent (their verdict is accept at once), replies it does not send are not
 * waited for, the macros it wants go before each stage, a filter that
 * accepted a message or a connection hears no more of it, and a connection
 * the filter refused stays refused (Sendmail's rules for connection-level
 * verdicts). Changes are checked against the actions it negotiated and
 * counted against the limits; a change it may not make is a failure.
 */
#ifndef STERNA_MILTER_SESSION_H
#define STERNA_MILTER_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "milter/proto.h"
#include "util/buf.h"
#include "util/verdict.h"

#define MILTER_MAX_MACROS 40		/* values the caller may set */
#define MILTER_MACRO_VALUE_MAX 512
#define MILTER_MAX_ARGS 16		/* MAIL's and RCPT's: the path and 15 parameters */

/* What one message may come to at a filter's hands. */
struct milter_limits {
	uint64_t max_body_bytes;	/* a replaced body (REPLBODY) in all */
	uint64_t max_header_bytes;	/* added and changed header fields in all */
	unsigned max_changes;		/* changes of every kind */
	unsigned max_rcpts_added;
};

enum milter_state {
	MILTER_NEW,		/* nothing sent */
	MILTER_NEGOTIATING,	/* OPTNEG sent */
	MILTER_IDLE,		/* ready for the next step */
	MILTER_WAITING,		/* a command sent, its reply awaited */
	MILTER_OVER,		/* the filter is done with this connection: only QUIT */
	MILTER_FAILED,
};

enum milter_act_kind {
	MILTER_WAIT,		/* feed the filter's replies to milter_input() */
	MILTER_ANSWER,		/* the stage's verdict is in v */
	MILTER_CHANGE,		/* at the end of a message: apply change, then wait on */
	MILTER_FAIL,		/* the filter failed: why says how; apply the default action */
};

struct milter_action {
	enum milter_act_kind kind;
	struct verdict v;
	const struct milter_reply *change;	/* the reply given to milter_input() (borrowed) */
	int is_progress;	/* the filter is alive (PROGRESS): the caller's timer starts over */
	char why[320];
};

struct milter {
	const char *name;		/* for rules and logs (borrowed) */
	struct milter_limits lim;
	enum milter_state state;
	struct milter_neg neg;
	uint8_t waiting_for;		/* the command whose reply is awaited */
	int in_msg;			/* MAIL sent: an ABORT is due if the message does not end */
	int is_msg_accepted;		/* ACCEPT during this message: no more of it */
	int is_body_skipped;		/* SKIP: no more body chunks */
	int has_sticky;			/* a connection-level refusal, given to every later step */
	int is_at_msg_end;		/* the last step sent was the end of a message, answered CONTINUE */
	struct verdict sticky;
	unsigned changes, rcpts_added;
	uint64_t body_bytes, header_bytes;
	struct milter_macro macros[MILTER_MAX_MACROS];	/* names and values owned */
	size_t nmacros;
	struct buf *out;		/* where packets are appended (the caller's) */
	struct buf scratch;
};

/* Starts a session named name (borrowed); packets go to out (borrowed). */
void milter_init(struct milter *m, const char *name, const struct milter_limits *lim,
    struct buf *out);
void milter_clear(struct milter *m);

/*
 * Sets macro name ("j", "{client_addr}"; braces optional) to value (copied,
 * cut at MILTER_MACRO_VALUE_MAX); NULL removes it. Values stay until
 * changed: set "i", "{mail_addr}" and "{rcpt_addr}" anew for each message.
 */
void milter_set_macro(struct milter *m, const char *name, const char *value);

/* Each of these appends what to send and says in *act what follows. */
void milter_open(struct milter *m, struct milter_action *act);	/* OPTNEG */
/* family '4', '6', 'L' (local: addr is a path) or 'U' (unknown). */
void milter_connect(struct milter *m, const char *hostname, char family, uint16_t port,
    const char *addr, struct milter_action *act);
void milter_helo(struct milter *m, const char *helo, struct milter_action *act);
/* args[0] is the path with its angle brackets, then the ESMTP parameters (n <= MILTER_MAX_ARGS). */
void milter_mail(struct milter *m, const char *const *args, size_t n, struct milter_action *act);
void milter_rcpt(struct milter *m, const char *const *args, size_t n, struct milter_action *act);
void milter_data(struct milter *m, struct milter_action *act);
/* One header field as the message holds it: value is what follows the colon, folds as CRLF. */
void milter_header(struct milter *m, const char *name, struct slice value,
    struct milter_action *act);
void milter_eoh(struct milter *m, struct milter_action *act);
/* At most MILTER_CHUNK body bytes (the caller cuts the body in chunks). */
void milter_body(struct milter *m, const uint8_t *p, size_t n, struct milter_action *act);
void milter_eom(struct milter *m, struct milter_action *act);
void milter_unknown(struct milter *m, const char *line, struct milter_action *act);
/*
 * The message ended without its end (RSET, refused elsewhere, the client
 * left): ABORT if due. milter_mail() does it too, for a message not aborted.
 */
void milter_abort(struct milter *m);
/*
 * The connection ends: QUIT; or QUIT_NC when another connection follows on
 * this one (only when milter_is_reusable()): the negotiation stays, the
 * macros go (libmilter forgets them too), and the next step is CONNECT.
 */
void milter_quit(struct milter *m, int is_new_conn_next);
/*
 * 1 when the filter is known to take QUIT_NC and then a new connection:
 * negotiated, not failed, and the last step sent was the end of a message
 * that it answered with CONTINUE. libmilter takes QUIT_NC only there (its
 * ST_ENDM): after ACCEPT, a refusal, an ABORT or a step without a message
 * it ignores QUIT_NC and then the CONNECT that follows, without a reply.
 */
int milter_is_reusable(const struct milter *m);
/* One reply from the filter, while waiting; what follows in *act. */
void milter_input(struct milter *m, const struct milter_reply *r, struct milter_action *act);
/* The filter is done with this message: 1 when no more of it need be sent. */
int milter_msg_is_over(const struct milter *m);
/* 1 when the body is not wanted (skipped in negotiation, SKIP, or the message accepted). */
int milter_body_unwanted(const struct milter *m);

#endif
