/*
 * queue.h - the queue as an operator sees and commands it: the one
 * interface that the control socket (src/control), and through it `sterna
 * queue`, mailq and `sterna status`, and the HTTP API (src/http) use;
 * later the dashboard. Everything here runs on the loop thread.
 *
 * Every message in the queue has one state:
 *   queued    waiting for its first attempt (or retried now by a flush)
 *   active    an attempt is out for some of its recipients
 *   deferred  an attempt failed for some recipient; waiting for the next
 *   held      put aside by an operator: never delivered until released
 *             (a record in the queue file: it stays held across a restart)
 *   scheduled its first attempt waits for the time its sender chose
 *             (FUTURERELEASE, the API's send_at); deleting cancels it
 * A recipient is pending (not tried yet), active, deferred (tried, will be
 * again), delivered, or failed (bounced, or given up).
 */
#ifndef STERNA_SCHED_QUEUE_H
#define STERNA_SCHED_QUEUE_H

#include <stddef.h>
#include <stdint.h>

#include "spool/spool.h"

struct sched;
struct qmsg;

enum sched_state {
	SCHED_QUEUED, SCHED_ACTIVE, SCHED_DEFERRED, SCHED_HELD, SCHED_SCHEDULED, SCHED_NSTATES
};

enum sched_rcpt_state {
	SCHED_RCPT_PENDING,
	SCHED_RCPT_ACTIVE,
	SCHED_RCPT_DEFERRED,
	SCHED_RCPT_DELIVERED,
	SCHED_RCPT_FAILED,
};

/* "queued", "active", "deferred", "held". */
const char *sched_state_name(enum sched_state st);
/* The state called name: 0, or -1 when there is none. */
int sched_state_parse(const char *name, enum sched_state *out);
/* "pending", "active", "deferred", "delivered", "failed". */
const char *sched_rcpt_state_name(enum sched_rcpt_state st);

/*
 * Which messages an operation is about. Every criterion that is set must
 * match; an empty filter matches the whole queue.
 */
struct sched_filter {
	unsigned states;	/* bits 1u << enum sched_state; 0: any state */
	const char *qid;	/* this message only; NULL: any */
	const char *sender;	/* the envelope sender, any case ("" is <>); NULL: any */
	const char *rcpt;	/* a recipient, final or as given, any case; NULL: any */
	const char *domain;	/* a domain of a recipient still to deliver, any case; NULL: any */
	uint64_t min_age_s;	/* in the queue at least this long; 0: any */
	uint64_t max_age_s;	/* at most this long; 0: any */
};

/* What a listing hands out for one message: borrowed, valid during the call only. */
struct sched_view {
	const struct spool_msg *m;	/* envelope; rcpts[i] with attempts, next_try_s, reason */
	enum sched_state state;
	uint64_t next_try_s;		/* its next attempt; 0 when none is planned (held, active) */
	const struct qmsg *q;		/* the scheduler's own; for sched_view_rcpt and _agent */
};

/* Recipient i of a viewed message: its state and the agent that delivers it. */
enum sched_rcpt_state sched_view_rcpt(const struct sched_view *v, size_t i);
/* "maildir", "lmtp" or "smtp": the delivery agent recipient i's target names. */
const char *sched_view_agent(const struct sched_view *v, size_t i);

/*
 * A listing that can be resumed: the control socket sends a large queue a
 * slice per turn of the loop so that receiving never waits for it. The
 * cursor survives messages leaving the queue between slices; messages that
 * arrive meanwhile may or may not be included. Order: queue id (arrival).
 */
struct sched_cursor;

/* A new cursor at the start of the queue, for filter f (copied). */
struct sched_cursor *sched_cursor_new(struct sched *s, const struct sched_filter *f);
/*
 * A new cursor for filter f (copied) at the first message after the queue
 * id after (a page's last, for the next page): at once when that message
 * is still queued, else after a walk of the ids before it. after need not
 * be a valid id; one past every message gives an empty listing.
 */
struct sched_cursor *sched_cursor_new_after(struct sched *s, const struct sched_filter *f,
    const char *after);
/*
 * Calls each(ctx, view) for up to max more matching messages. Returns how
 * many were handed out; 0 means the listing is over.
 */
size_t sched_cursor_next(struct sched_cursor *c, size_t max,
    void (*each)(void *ctx, const struct sched_view *v), void *ctx);
/* Frees *c; c may point to NULL. */
void sched_cursor_free(struct sched_cursor **c);

enum sched_op {
	SCHED_OP_FLUSH,		/* retry now every recipient still to deliver (held: no effect) */
	SCHED_OP_HOLD,		/* put aside, durably */
	SCHED_OP_RELEASE,	/* back from hold, due at once */
	SCHED_OP_DELETE,	/* out of the queue: no further attempt and no notice */
	SCHED_OP_BOUNCE,	/* give up now: every recipient still to deliver is returned */
};

/* "flush", "hold", "release", "delete", "bounce". */
const char *sched_op_name(enum sched_op op);
int sched_op_parse(const char *name, enum sched_op *out);

/* How an operation went, once it has been applied to every message it matched. */
struct sched_op_result {
	size_t matched;		/* messages the filter matched */
	size_t done;		/* ... on which the operation is durable */
	size_t failed;		/* ... on which it could not be recorded (the log says why) */
};

struct sched_op_req;

/*
 * Applies op to every message that f matches, for the operator uid (named
 * in the log line of each message). A message in the middle of an attempt
 * keeps it: jobs that have not started yet are taken back, and the rest of
 * the operation waits until the attempt has ended and is recorded (never a
 * half-recorded state). done(ctx, result) runs on the loop once every
 * matched message is done, which may be at once. Returns a handle for
 * sched_op_forget, valid until done runs, or NULL when done ran already.
 */
struct sched_op_req *sched_apply(struct sched *s, enum sched_op op, const struct sched_filter *f,
    long uid, void (*done)(void *ctx, const struct sched_op_result *r), void *ctx);
/* The requester went away: the operation goes on, but done will not be called. */
void sched_op_forget(struct sched_op_req *req);

/* What `sterna status` shows of the scheduler. */
struct sched_stats {
	size_t by_state[SCHED_NSTATES];	/* messages in each state */
	size_t recipients;		/* recipients still to deliver */
	uint64_t oldest_arrival_us;	/* of the oldest message; 0 when the queue is empty */
	unsigned delivered_last_min;	/* recipients delivered in the last 60 s */
	unsigned deferred_last_min;
	unsigned failed_last_min;
	unsigned connections;		/* outbound connections open */
};

/* Walks the whole queue: O(messages). A caller that asks often reads it paced instead (qview). */
void sched_stats(const struct sched *s, struct sched_stats *out);
/* Outbound connections open now: O(1). */
unsigned sched_connections(const struct sched *s);

#endif
