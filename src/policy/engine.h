/*
 * engine.h - policy's answers to the SMTP session's questions: one verdict
 * per stage (struct smtp_ask), from the checks that have the data then.
 * Checks that need no waiting answer in the call; those that wait (a
 * password hash on a worker; DNS) answer later, on the loop, through the
 * callback. The server asks for every connection through a policy_client,
 * which remembers what earlier stages learnt (an allow-listed client, a
 * verified host name, lookups under way) and cancels what is out when the
 * connection ends.
 * An engine serves one loop; every receiving loop has one, and they share
 * the allow and block lists and the tables of clients (under a lock).
 */
#ifndef STERNA_POLICY_ENGINE_H
#define STERNA_POLICY_ENGINE_H

#include <event2/event.h>

#include "config/config.h"
#include "metrics/metrics.h"
#include "policy/dnsbl.h"
#include "policy/lists.h"
#include "policy/policy.h"
#include "smtp/session.h"
#include "spool/spool.h"
#include "util/verdict.h"
#include "util/workq.h"

struct policy;
struct policy_client;

/* Everything the engine uses, borrowed; all must outlive it. */
struct policy_deps {
	struct event_base *base;
	/*
	 * What is built once from the generation at start (the limits' tables,
	 * DNSBLs); each client's questions are judged by its own generation.
	 */
	const struct config *cfg;
	struct policy_lists *lists;	/* allow and block lists (read from their files as they change) */
	struct dnsbl *dnsbl;		/* DNSBLs and reverse DNS of clients; NULL: none asked */
	/*
	 * Password checks, whose completions the engine watches on base;
	 * NULL without a users file (no AUTH).
	 */
	struct workq *auth_wq;
	struct metrics *metrics;	/* the registry: refusals by rule, AUTH by result */
	/*
	 * A receiving loop's engine (src/server): the main loop's engine,
	 * whose tables of clients (sessions, rates, AUTH failures) it shares,
	 * so that a limit counts a client on every loop at once; NULL for that
	 * engine itself. It must outlive this one.
	 */
	struct policy *shares_with;
	/* the loop's mailbox, where its password checks come back; NULL: auth_wq's own loop */
	struct workq *home;
};

struct policy *policy_new(const struct policy_deps *d);
/* Frees *p and sets it to NULL; every policy_client must be gone. */
void policy_free(struct policy **p);

/*
 * A connection from ip (text) to local_ip, judged by generation cfg (a
 * reference is taken, local_db_of(cfg) must have been built), with the connection's id for
 * logs; is_trusted: from relay.trusted_networks; is_auth_offered: the
 * listener offers AUTH, so that the client may still log in, and the
 * checks that authenticated clients are spared (DNSBL, reverse DNS) wait
 * for MAIL. Checks that look the client up in DNS start now, so that their
 * answers are in by the time they are needed.
 */
struct policy_client *policy_client_new(struct policy *p, const struct config *cfg,
    const char *id, const char *ip, const char *local_ip, int is_trusted, int is_auth_offered);
/* Ends the connection's checks (a question out is never answered) and frees *pc. */
void policy_client_free(struct policy_client **pc);

/*
 * The client's names as the engine's reverse DNS check found them, for the
 * filters' macros: the first PTR name of its address, unverified (anyone
 * may write anything there: for information, never for decisions), and the
 * name verified by forward confirmation. NULL when the check did not run,
 * has not ended, or found none (or a PTR name that is not printable ASCII).
 * Valid until the next question or policy_client_free().
 */
const char *policy_client_ptr_name(const struct policy_client *pc);
const char *policy_client_verified_name(const struct policy_client *pc);

typedef void policy_done_fn(void *ctx, const struct verdict *v);

/*
 * Judges q. At RCPT, env is the envelope being built: on ACCEPT the
 * recipient's targets have been added to it (policy_rcpt); NULL at other
 * stages. Returns 1 with the verdict in *v_out when it is known now, or 0
 * when done(ctx, v) will run later on the loop (never inside this call),
 * unless the client is freed first; q and env are borrowed until then (the
 * session keeps its question until it is answered). One question at a
 * time per client.
 */
int policy_ask(struct policy_client *pc, const struct smtp_ask *q, struct spool_msg *env,
    policy_done_fn *done, void *ctx, struct verdict *v_out);

#endif
