/*
 * policy.h - decisions about envelopes, never replies: the session turns a
 * decision into the reply of docs/smtp.md.
 * Local recipients (local.c): users, aliases (nested, forwarding to other
 * domains), postmaster in every local domain, plus-addressing. Relay
 * control (relay.c): which addresses are local, which are tricks, and who
 * may send to the rest.
 */
#ifndef STERNA_POLICY_POLICY_H
#define STERNA_POLICY_POLICY_H

#include "config/config.h"
#include "smtp/smtp.h"
#include "spool/spool.h"
#include "util/verdict.h"

struct local_db;

/* Who the client is, as relay control needs to know: what relaying it may do. */
struct relay_client {
	const char *ip;		/* the client's address, text */
	const char *local_ip;	/* the server's address on this connection, text ("" if unknown) */
	const char *auth_user;	/* the authenticated user, NULL before AUTH */
	int is_trusted;		/* from a network in relay.trusted_networks */
};

/* What policy_rcpt() decided about a recipient. */
enum policy_rcpt_result {
	POLICY_RCPT_ACCEPT,		/* its targets are in the envelope */
	POLICY_RCPT_UNKNOWN,		/* no such local user */
	POLICY_RCPT_RELAY_DENIED,	/* not ours, and this client may not relay */
	POLICY_RCPT_TRICK,		/* '%', '!' or '@' in the local part, or a source route */
	POLICY_RCPT_TEMPFAIL,		/* the lookup failed for now */
};

/* Returns a new lookup index over c's users and aliases; borrows c, which must outlive it. */
struct local_db *local_db_new(const struct config *c);
void local_db_free(struct local_db **db);
/*
 * The local recipients of generation c, built with it the first time (on
 * the loop, before c is shared) and freed with it: whoever holds a
 * reference to c may use them.
 */
const struct local_db *local_db_of(struct config *c);

/*
 * Decides on the recipient a from client: relay tricks are refused for
 * everyone; a local address is looked up (local_rcpt); any other is
 * accepted only from a trusted network or an authenticated session, as a
 * remote recipient (mailbox NULL). On POLICY_RCPT_ACCEPT the final targets
 * have been added to env (spool_msg_add_rcpt: one per mailbox).
 */
enum policy_rcpt_result policy_rcpt(const struct local_db *db, const struct relay_client *client,
    const struct smtp_addr *a, struct spool_msg *env);

/*
 * The SMTP verdict for r about the recipient to (formatted): 550 5.1.1,
 * 554 5.7.1, 553 5.7.1 or 451 4.3.0, with the rules "local", "relay",
 * "relay_trick", "lookup"; ACCEPT for POLICY_RCPT_ACCEPT.
 */
void policy_rcpt_verdict(enum policy_rcpt_result r, const char *to, struct verdict *v_out);

/*
 * a, known to be local, against the users and aliases: on POLICY_RCPT_ACCEPT
 * one target per mailbox, and one remote recipient (mailbox NULL) per
 * address its aliases forward to, have been added to env, each with a's
 * address as orig. Forwards need no relay permission: the alias grants it.
 */
enum policy_rcpt_result local_rcpt(const struct local_db *db, const struct smtp_addr *a,
    struct spool_msg *env);
/* The configuration db reads. */
const struct config *local_db_config(const struct local_db *db);

/*
 * 1 if the authenticated user (lowercase, a name in the users file) may
 * use from as envelope sender (sender.c): their own address at a local
 * domain, a sender= address of theirs, either with a +tag, or <>; anything
 * with any_sender. 0 otherwise, and for a user not in the file.
 */
int policy_sender_ok(const struct config *c, const char *user, const struct smtp_addr *from);

/* ---- relay control (relay.c) ---- */

/* The relay tricks: address forms that hide a second destination in the local part. */
enum relay_trick {
	RELAY_TRICK_NONE,
	RELAY_TRICK_ROUTE,	/* @a.test:user@b.test, an RFC 5321 source route */
	RELAY_TRICK_PERCENT,	/* user%other.test@here: the percent hack */
	RELAY_TRICK_BANG,	/* other.test!user@here: a UUCP bang path */
	RELAY_TRICK_AT,		/* "user@other.test"@here: an '@' inside a quoted local part */
};

/* What the form of a says, before any lookup. Pure. */
enum relay_trick relay_trick(const struct smtp_addr *a);
/* A word for logs and tests: "none", "route", "percent", "bang", "at". */
const char *relay_trick_name(enum relay_trick t);

enum relay_dest {
	RELAY_DEST_LOCAL,	/* a local domain, bare postmaster, or a literal of this server */
	RELAY_DEST_REMOTE,	/* any other domain name */
	RELAY_DEST_LITERAL,	/* an address literal of another host: never relayed to */
};

/*
 * Where a goes: local_ip is the server's address on the client's connection
 * (text), so that user@[that address] is local (RFC 5321 4.1.3).
 */
enum relay_dest relay_dest(const struct config *c, const char *local_ip, const struct smtp_addr *a);
/* 1 if a client at ip (text) is in relay.trusted_networks. */
int relay_is_trusted(const struct config *c, const char *ip);

#endif
