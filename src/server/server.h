/*
 * server.h - listeners and connections: the network side of SMTP.
 * Glues libevent bufferevents to the protocol (src/smtp) and hands each
 * message to the submission core (src/msg), the one way into the queue.
 * Sockets are bound by server_bind() before privileges are dropped;
 * accepting starts with server_start().
 * The main loop accepts; each connection then runs on one of the
 * receiving loops (server.receive_loops): the main loop itself, or a loop
 * on a thread of its own given by server_add_loop(), with the modules made
 * for it. A connection stays on its loop to its end.
 */
#ifndef STERNA_SERVER_SERVER_H
#define STERNA_SERVER_SERVER_H

#include <event2/event.h>

#include "config/config.h"
#include "metrics/metrics.h"
#include "policy/engine.h"
#include "msg/msg.h"
#include "spool/spool.h"
#include "tls/tls.h"
#include "util/qid.h"

struct milter_pool;
struct server;

/* Everything a server uses, borrowed; all must outlive it. */
struct server_deps {
	struct event_base *base;
	const struct config *cfg;
	struct spool *spool;	/* may be NULL until server_attach(); for its free space */
	struct msg_core *msg;	/* the way into the queue; NULL until server_attach() */
	struct qid_gen *qids;
	struct workq *wq;	/* the spool's workers; NULL until server_attach() */
	struct tls_server *tls;	/* the certificates; offers nothing when none is configured */
	struct metrics *metrics;	/* the registry: sessions per listener, TLS handshakes */
	struct milter_pool *milters;	/* the connections to the listeners' filters, for loop 0 */
	unsigned max_sessions;	/* server.max_sessions, or fewer if the descriptor limit says so */
};

struct server *server_new(const struct server_deps *deps);
/* Binds every configured listener: 0, or -1 with the reason in err. */
int server_bind(struct server *srv, char *err, size_t errsize);
/*
 * Gives the server what is made after privileges are dropped and the
 * process is confined (main/sandbox.h): its spool, the submission core, the
 * spool's worker pool, whose completions it then watches, and the policy
 * engine (borrowed; it must outlive the server). Threads started before the
 * confinement would escape its Landlock part, hence their place here and
 * not in server_new().
 */
void server_attach(struct server *srv, struct spool *sp, struct msg_core *msg, struct workq *wq,
    struct policy *policy);
/*
 * Sessions accepted from now on start with generation cfg (a reference is
 * taken; the one before is let go); those open keep theirs to their end.
 * Listeners follow cfg: an address it still names keeps its socket and
 * takes the new section, one it no longer names is closed (its sessions
 * go on), a new one is bound (as the user the daemon runs as by then: a
 * port below 1024 fails). Returns 0, or -1 with the reason in err when a
 * new address cannot be bound; then nothing has changed.
 */
int server_set_config(struct server *srv, const struct config *cfg, char *err, size_t errsize);
/*
 * A receiving loop of its own, run on a thread from server_start(), with
 * what its sessions use there, made for it and borrowed (they must outlive
 * the server, and are touched by that thread only from then on): base
 * (the loop), inbox (its mailbox: workq_new(0)), a submission core whose
 * home is inbox, a policy engine that shares the main one's tables and
 * whose home is inbox, and the connections to the filters.
 */
struct server_loop {
	struct event_base *base;
	struct workq *inbox;
	struct msg_core *msg;
	struct policy *policy;
	struct milter_pool *milters;
};
/* Before server_start(), after server_attach(). */
void server_add_loop(struct server *srv, const struct server_loop *loop);
/* Starts accepting, and the receiving loops' threads; server_attach() must have been called. */
void server_start(struct server *srv);
/*
 * Stops accepting and ends sessions: idle ones get 421 at once, one in the
 * middle of a message finishes it first. Returns the sessions still open
 * (on every loop).
 */
unsigned server_drain(struct server *srv);
/* Sessions open now, on every loop. */
unsigned server_sessions(const struct server *srv);
/*
 * Frees every session (on its loop), stops the receiving loops' threads,
 * and frees *srv; the modules given to server_add_loop() may go after.
 */
void server_free(struct server **srv);

#endif
