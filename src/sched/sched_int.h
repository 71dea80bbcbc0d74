/*
 * sched_int.h - the scheduler's parts and how they hold together.
 *
 *   sched.c       life cycle, the heap of waiting messages, starting an
 *                 attempt (recipients grouped by target into jobs), and the
 *                 end of one (back to the heap, out of the queue, or the
 *                 operators' operations that waited for it)
 *   index.c       every queued message by queue id, in queue id order
 *   rest.c        a waiting message's envelope, packed while it waits
 *   queue.c       the operator interface of queue.h: views, cursors, ops
 *   route.c       a recipient's target: Maildir, LMTP or SMTP, and where
 *   outcome.c     the record step: D and T records, expiry, notices
 *   agent_maildir.c, dest.c
 *                 the delivery agents behind struct agent_ops: local
 *                 Maildirs on worker threads; SMTP and LMTP destinations
 *                 with their connections
 *
 * Threads: everything here runs on the loop thread except the work
 * functions named *_run, which run on the scheduler's workers. A message's
 * envelope (struct spool_msg) belongs to the loop: workers read it while a
 * job is out, and what they learn comes back in the job's outcomes, which
 * the loop applies when the job ends (job_finish).
 */
#ifndef STERNA_SCHED_SCHED_INT_H
#define STERNA_SCHED_SCHED_INT_H

#include <stdint.h>

#include <event2/event.h>
#include <openssl/ssl.h>

#include "config/config.h"
#include "deliver/smtp_client.h"
#include "sched/health.h"
#include "sched/heap.h"
#include "sched/queue.h"
#include "sched/sched.h"
#include "spool/spool.h"
#include "util/buf.h"
#include "util/workq.h"

struct sched;
struct job;
struct dest;
struct oconn;
struct dns;
struct myself;
struct msg_core;

/* ---- targets (route.c) ---- */

enum target_kind { TARGET_MAILDIR, TARGET_LMTP, TARGET_SMTP };

/* Where one recipient goes: what the agent needs, and a key that groups recipients. */
struct target {
	enum target_kind kind;
	const char *mailbox;		/* MAILDIR: the local user (borrowed from the envelope) */
	struct config_nexthop hop;	/* SMTP: the next hop */
	int use_mx;			/* SMTP to a domain: look its MX up */
	struct config_lmtp_hop lmtp;	/* LMTP: a UNIX socket, or a host and port */
	char helo[256], source[64];
	enum config_tls tls;		/* SMTP, LMTP: the TLS policy (may for MX hosts) */
	int has_auth;			/* the smarthost: AUTH, when credentials are configured */
	char key[640];			/* recipients with the same key share a destination */
};

/* Resolves recipient i of m into t. */
void route_target(const struct sched *s, const struct spool_msg *m, size_t i, struct target *t);

/* ---- delivery agents ---- */

struct agent_ops {
	const char *name;		/* "maildir", "lmtp", "smtp" */
	/* Takes j and delivers it; when every recipient has an outcome, the record step follows. */
	void (*start)(struct sched *s, struct job *j);
	/* Takes j back if it has not begun (1: it is the caller's again, with no outcome), else 0. */
	int (*cancel)(struct sched *s, struct job *j);
	/* At stop: gives back every job that has not begun, and closes connections. */
	void (*stop)(struct sched *s);
};

extern const struct agent_ops agent_maildir, agent_lmtp, agent_smtp;

/* The agent for a target kind. */
const struct agent_ops *agent_of(enum target_kind kind);

/* ---- messages and jobs ---- */

enum outcome_kind { OUT_NONE, OUT_OK, OUT_TEMP, OUT_PERM };

struct outcome {
	size_t i;			/* the recipient's index in the message */
	enum outcome_kind kind;
	int code;			/* the remote reply's, or ours for a local verdict; 0: none */
	char status[16];
	char text[SMTPC_TEXT + 160];
	char relay[320];		/* "host[ip]:port", "" for none */
	char host[256];			/* the remote MTA, "" for none */
	char tls_version[32];		/* of the session that carried it, "" in the clear */
	char conn[32];			/* the outbound connection's id ("o12"), "" for none */
	char tls_cipher[64];
	enum config_tls tls;		/* the TLS policy that session ran under */
	int is_verified;		/* ... and whether its peer's certificate was verified */
	int is_expired, is_delay_notice;
	int is_suppressed;		/* not tried: on the suppression list */
	/* what the record step wrote, for the loop to apply (job_finish) */
	int is_recorded;		/* a D or T record (or the removal) says the following */
	int is_done;			/* delivered or failed for good */
	unsigned attempts;
	uint64_t next_try_s;
};

/* An operation that waits for a message's attempt to end (queue.c). */
struct pending_op {
	enum sched_op op;
	long uid;
	struct sched_op_req *req;
	struct pending_op *next;
};

/*
 * A queued message. Awake (an attempt or an operation under way, or about
 * to be) it has its envelope m; at rest (waiting in the heap, or held) only
 * the packed form (rest.c) and the few facts kept beside it, which is what
 * lets a queue of a million fit in memory. Workers read m only while a job
 * is out, and a message goes to rest only with nothing out.
 */
struct qmsg {
	struct heap_node hn;		/* in s->due while it waits for its time */
	struct sched *s;
	struct spool_msg *m;		/* awake: the envelope; NULL at rest */
	uint8_t *packed;		/* at rest: the envelope, packed; NULL awake */
	unsigned char *rcpt_active;	/* awake: per recipient, 1 while a job holds it */
	struct job *jobs;		/* the jobs out (j->qnext) */
	struct pending_op *ops, **ops_tail;
	uint64_t arrival_us;		/* the envelope's, kept for listings that filter by age */
	uint64_t release_s;		/* the envelope's: no attempt before (0: none) */
	uint64_t rest_due_s;		/* at rest: q_due_s as it was when it went to rest */
	unsigned inflight;		/* jobs out, and operations being recorded */
	unsigned npending;		/* at rest: recipients not done */
	char qid[QID_LEN + 1];		/* the envelope's */
	unsigned is_held : 1;		/* at rest: the envelope's is_held */
	unsigned is_removed : 1;	/* its file is gone already (the record step removed it) */
	unsigned is_gone : 1;		/* its file went away under us (removed by hand) */
	unsigned has_failed_before : 1;	/* a recipient was ever deferred: "deferred", not "queued" */
	unsigned is_flush_due : 1;	/* an operator asked: every pending recipient now */
	/* the index (index.c) */
	struct qmsg *next, *prev;	/* in queue id order */
	struct qmsg *hnext;		/* in its hash bucket */
};

struct job {
	struct work work;		/* first: the job in flight on a worker */
	struct sched *s;
	struct qmsg *q;
	struct job *qnext;		/* in q->jobs */
	/* the generation it started with (a reference): its workers read this, never s->cfg */
	struct config *cfg;
	const struct agent_ops *agent;
	struct dest *d;			/* LMTP and SMTP: the destination */
	struct oconn *oc;		/* the connection it was given to */
	struct outcome *out;
	size_t n;
	struct job *next;		/* in its agent's queue */
	/* LMTP and SMTP: the content being sent, and the protocol's view of it */
	struct spool_content *content;
	const char **rcpts;
	struct smtpc_result *results;
	struct smtpc_txn txn;
	/* the record step's notices */
	struct buf dsn, delay_dsn;
	char notice_qid[QID_LEN + 1];	/* the failure notice's, once queued ("" before) */
	int has_perm_unmarked;		/* failed recipients to mark once the notice is in */
	int is_whole;			/* it holds every pending recipient of the message */
	int notice_ok;
	int is_gone;			/* the queue file was not there */
	int is_flush;			/* started by an operator's flush */
	int is_removed;			/* every recipient done: the record step removed the file */
	struct sched_op_req *req;	/* a bounce by an operator: told when it is recorded */
};

#define STATS_SLOTS 60			/* one a second: the last minute */

struct sched {
	struct event_base *base;
	struct spool *sp;
	/*
	 * The generation each attempt starts with (a reference); a reload
	 * gives another (sched_set_config), and with it our own addresses
	 * (me). What sched_new() built from the first (resolver, TLS contexts,
	 * the smarthost's credentials, threads) stays: those keys need a restart.
	 */
	struct config *cfg;
	struct msg_core *msg;		/* notices enter the queue through it */
	struct myself *me;		/* our own listening addresses: a next hop must not be one */
	struct workq *wq;
	struct event *wq_ev, *timer, *sweep_ev;
	struct heap due;
	struct dns *dns;
	struct events *events;		/* each recorded outcome is an event; may be NULL */
	struct {			/* the figures in the metrics registry (queue.c); may be unset */
		struct metric_series *by_state[SCHED_NSTATES], *oldest, *connections;
		struct metric *tls;	/* outbound handshakes (dest.c) */
	} fig;
	const struct suppress *suppress;	/* addresses not to be tried; may be NULL */
	void (*remove_wait)(void *ctx);	/* sched_set_remove_barrier(); may be NULL */
	void *remove_wait_ctx;
	SSL_CTX *ssl_may;		/* opportunistic STARTTLS; NULL: none to be had */
	SSL_CTX *ssl_required;		/* encrypt and verify, with the trust anchors */
	char *auth_plain, *auth_user, *auth_pass;
	struct dest *dests;
	struct job *local_head, *local_tail;
	unsigned running_local, max_local;
	unsigned inflight_work;		/* worker jobs and notice commits out */
	unsigned nconns;
	unsigned conn_seq;
	struct oconn *idle_head, *idle_tail;	/* idle outbound connections, oldest first */
	int is_stopping;
	/* the index (index.c) */
	struct qmsg **buckets;
	size_t nbuckets, nmsgs;
	struct qmsg *first, *last;
	struct qmsg *added_last;	/* the last added before the end: a hint for the next */
	struct sched_cursor *cursors;	/* live listings: moved on when their message leaves */
	/* the last minute's outcomes, for sched_stats */
	struct stats_slot {
		uint64_t second;
		unsigned delivered, deferred, failed;
	} slots[STATS_SLOTS];
};

/* sched.c */
uint64_t sched_now_s(void);
void sched_submit(struct sched *s, struct job *j, void (*run)(struct work *),
    void (*done)(struct work *));
struct job *job_new(struct qmsg *q, const struct agent_ops *agent, struct dest *d);
void job_add_rcpt(struct job *j, size_t i);
/* A job is over (recorded, or given back): apply its outcomes; the message goes on. */
void job_finish(struct job *j);
/* Starts an attempt for q's due recipients (all pending ones if is_flush). */
void q_start(struct qmsg *q, int is_flush);
/* q waits: for its time in the heap, or for an operator when held. */
void q_wait(struct qmsg *q);
/* q has nothing out: the operations that waited for it, then the heap or the end. */
void q_settle(struct qmsg *q);
/* q leaves the queue and is freed (its file is gone already). */
void q_drop(struct qmsg *q);
/* When q's next attempt is due: the earliest pending recipient; UINT64_MAX for none. */
uint64_t q_due_s(const struct qmsg *q);
void stats_count(struct sched *s, enum outcome_kind kind);

/* outcome.c: the record step (workers), then its notices (loop) */
void record_run(struct work *w);
void record_done(struct work *w);
/* Records j's outcomes: called on a worker by agents that end on one. */
void record(struct job *j);
#define RECORD_BATCH_MAX 128	/* jobs recorded by one worker item, sharing one flush */
/*
 * Loop: records the n jobs (their outcomes set, none begun with a peer)
 * together, RECORD_BATCH_MAX at a time: one group commit for each batch
 * rather than one for each job. Each job then goes on as after record_done.
 */
void record_submit_many(struct sched *s, struct job **jobs, size_t n);
/*
 * Worker: removes m's file from the queue, once what must outlive it is
 * durable (sched_set_remove_barrier). 0, or -1 with errno (spool_msg_remove).
 */
int q_remove_file(struct sched *s, const struct spool_msg *m);
/* A recorded outcome of j's as an event of the stream (on the loop). */
void outcome_emit(const struct job *j, const struct outcome *o);
/* Loop: a DELETED event for each recipient of q not done yet (an operator deleted q). */
void deleted_emit(const struct qmsg *q);
/* Fails every recipient of j with kind, code, status and text (before it reached a peer). */
void job_fail_all(struct job *j, enum outcome_kind kind, int code, const char *status,
    const char *text);

/* rest.c: the packed form of an envelope (pure) */
/* The envelope m packed into a new block. */
uint8_t *rest_pack(const struct spool_msg *m);
/* A new envelope, queue id qid, from a block rest_pack made (borrowed). */
struct spool_msg *rest_unpack(const uint8_t *packed, const char *qid);

/* An envelope read from a packed block in place: for a look, never to be changed or kept. */
struct rest_view {
	struct spool_msg m;		/* its strings point into the block */
	struct spool_rcpt few[4];	/* the recipients, when they are few */
	struct spool_rcpt *many;	/* else: allocated */
};

/*
 * Reads the block packed (borrowed: it must outlive the look) into v, as
 * the envelope of qid, which it returns. rest_view_clear(v) ends the look.
 */
const struct spool_msg *rest_view(const uint8_t *packed, const char *qid, struct rest_view *v);
void rest_view_clear(struct rest_view *v);

/* sched.c: a message goes to rest and wakes */
/* q goes to rest, if it is awake and has nothing out or waiting: its envelope is packed. */
void q_rest(struct qmsg *q);
/* q wakes (if at rest): its envelope is unpacked, for an attempt or an operation. */
void q_wake(struct qmsg *q);
/*
 * q's envelope for a look (a listing, a filter) without waking it: q->m, or
 * read from its block into v; valid until rest_view_clear(v), which follows
 * either way, and while q stays as it is.
 */
const struct spool_msg *q_envelope(const struct qmsg *q, struct rest_view *v);
/* Whether q is held, awake or at rest. */
static inline int q_held(const struct qmsg *q) { return q->m != NULL ? q->m->is_held : q->is_held; }

/* index.c */
void index_init(struct sched *s);
void index_add(struct sched *s, struct qmsg *q);
void index_remove(struct sched *s, struct qmsg *q);
struct qmsg *index_find(const struct sched *s, const char *qid);
void index_clear(struct sched *s);

/* Every pending recipient of q fails now (an entrance's verdict, or an operator's bounce). */
void q_bounce(struct qmsg *q, int code, const char *status, const char *text,
    struct sched_op_req *req);

/* queue.c: operations waiting for an attempt to end */
/* Runs q's next waiting operation (q has nothing out); q_settle follows when all are done. */
void ops_run_pending(struct qmsg *q);
/* At the end: q's waiting operations are answered as failed. */
void ops_drop(struct qmsg *q);
/* One message of req is done (is_ok) or failed. */
void op_req_count(struct sched_op_req *req, int is_ok);
/* q leaves the index: listings that were to show it next move on. */
void cursors_forget(struct sched *s, struct qmsg *q);

/* dest.c */
/* The destination for target t (LMTP, SMTP): the one with its key, or a new one. */
struct dest *dest_of_target(struct sched *s, const struct target *t);
/* A job points to d now: d is not freed while it does. */
void dest_job_new(struct dest *d);
/* A job that pointed to d is over. */
void dest_job_gone(struct dest *d);
/* A flush: d, if down, may try again now. */
void dest_retry_now(struct dest *d);
/* Frees destinations unused for a while (every one when is_all: at the end). */
void dests_sweep(struct sched *s, int is_all);
unsigned dests_connections(const struct sched *s);

#endif
