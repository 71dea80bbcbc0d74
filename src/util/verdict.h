/*
 * verdict.h - what a judge (policy's checks, content filters)
 * decides about one stage of a transaction, in words of its own: accept,
 * tempfail, reject or discard, with the reply the client is to get and the
 * name of the rule that decided, for the log. The SMTP session turns a
 * verdict into its reply; other entrances (the HTTP API) into theirs.
 */
#ifndef STERNA_UTIL_VERDICT_H
#define STERNA_UTIL_VERDICT_H

enum verdict_kind {
	VERDICT_ACCEPT,		/* go on (the stage's own 250, 235, 354 ...) */
	VERDICT_TEMPFAIL,	/* 4xx: try again later */
	VERDICT_REJECT,		/* 5xx: not this */
	VERDICT_DISCARD,	/* say yes, keep nothing: the transaction is accepted and dropped */
	/*
	 * accept, and keep the message in the queue on hold until an operator
	 * releases it (content filters: a milter's quarantine); the session's
	 * stages before the message take it as ACCEPT
	 */
	VERDICT_HOLD,
};

#define VERDICT_DSN_MAX 15	/* "5.7.1"; RFC 3463 allows 3-digit fields: "5.123.123" */
#define VERDICT_TEXT_MAX 255	/* a reply line is 512 bytes; room for code and status */
#define VERDICT_RULE_MAX 63

struct verdict {
	enum verdict_kind kind;
	int code;			/* TEMPFAIL 4xx, REJECT 5xx; 0 with ACCEPT and DISCARD */
	char dsn[VERDICT_DSN_MAX + 1];	/* the enhanced status code; "" with ACCEPT and DISCARD */
	char text[VERDICT_TEXT_MAX + 1];	/* the reply's text, one line, no CR or LF */
	char rule[VERDICT_RULE_MAX + 1];	/* who decided: "block_clients", "dnsbl:zen" ...; "" */
	unsigned delay_ms;		/* hold the reply back this long (a failed AUTH; a tarpit) */
};

/* *v_out becomes ACCEPT, with nothing else set. */
void verdict_accept(struct verdict *v_out);
/*
 * *v_out becomes kind with its reply: code (4xx for TEMPFAIL, 5xx for
 * REJECT; 0 otherwise), dsn, the rule's name, and a text from fmt (cut at
 * VERDICT_TEXT_MAX bytes; a CR, LF or other control byte becomes '?', so a
 * text built from client data cannot break the reply). delay_ms is 0.
 */
void verdict_set(struct verdict *v_out, enum verdict_kind kind, int code, const char *dsn,
    const char *rule, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* "accept", "tempfail", "reject", "discard", "hold". */
const char *verdict_kind_name(enum verdict_kind k);

#endif
