/*
 * recvloops.h - the modules of the receiving loops (server.receive_loops):
 * for each loop but the main one, an event loop and its mailbox, a
 * resolver and DNSBL checks of its own, a policy engine that shares the
 * main one's tables, the connections to the filters, a submission core
 * and a DKIM signer, all given to the server (server_add_loop), which runs
 * the loop on a thread of its own. The messages a loop commits come back
 * to the main loop in one batch per turn of that loop, where take() hands
 * them on (their RECEIVED events, the scheduler).
 */
#ifndef STERNA_MAIN_RECVLOOPS_H
#define STERNA_MAIN_RECVLOOPS_H

#include "config/config.h"
#include "dkim/dkim.h"
#include "metrics/metrics.h"
#include "policy/engine.h"
#include "server/server.h"
#include "spool/spool.h"
#include "util/qid.h"
#include "util/workq.h"

struct recv_loops;

/* What the loops' modules borrow; all must outlive them. */
struct recv_loops_deps {
	const struct config *cfg;	/* the generation at start */
	struct spool *spool;
	struct qid_gen *qids;
	struct metrics *metrics;
	struct dkim_keyring *dkim;	/* the signing keys; none: no signer */
	struct policy_lists *lists;
	struct policy *policy;		/* the main loop's engine, whose tables are shared */
	struct workq *auth_wq;		/* the password checks; NULL without a users file */
	struct workq *main_wq;		/* the pool whose completions run on the main loop */
	struct server *server;		/* given each loop */
	/* on the main loop: a committed message from a loop, taken */
	void (*take)(void *ctx, struct spool_msg *m);
	void *take_ctx;
};

/*
 * The receiving loops cfg asks for: server.receive_loops, or with 0 (its
 * default) one per processor this process may run on; 1 at least.
 */
unsigned recv_loops_wanted(const struct config *cfg);
/*
 * Makes the modules of the loops but the main one (recv_loops_wanted(cfg)
 * - 1 of them) and gives each loop to the server. Returns them (none when
 * one loop is wanted), or NULL with the reason in err.
 */
struct recv_loops *recv_loops_new(const struct recv_loops_deps *d, char *err, size_t errsize);
/* Batches of committed messages on their way to the main loop (a stop waits for none). */
unsigned recv_loops_batches_out(const struct recv_loops *r);
/* Frees *r after server_free(), which stopped the loops; r may point to NULL. */
void recv_loops_free(struct recv_loops **r);

#endif
