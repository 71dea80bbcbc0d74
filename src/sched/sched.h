/*
 * sched.h - who gets delivered when, and where.
 * Messages wait in a min-heap by due time; when one is due its pending
 * recipients are grouped: local ones go to the Maildir on delivery worker
 * threads, remote ones to per-destination queues (destination = next hop:
 * the recipient domain's MX, a route, or the smarthost, plus the source
 * address), each with its own connections, connection limit and rate limit,
 * so a slow or dead destination never holds up another. A temporary failure
 * is retried with exponential backoff (queue.retry_min doubling to
 * queue.retry_max), a permanent one, or one past queue.lifetime, is
 * returned to the sender as a delivery status notification queued like any
 * message. The schedule lives in the spool (T records): a restart keeps it.
 */
#ifndef STERNA_SCHED_SCHED_H
#define STERNA_SCHED_SCHED_H

#include <event2/event.h>

#include "config/config.h"
#include "events/events.h"
#include "events/suppress.h"
#include "spool/spool.h"
#include "util/qid.h"

struct sched;
struct msg_core;
struct metrics;

/*
 * Returns a new scheduler; borrows base, sp, cfg and msg (notices enter the
 * queue through the submission core like any message). NULL with the
 * reason in err when the resolver cannot be set up.
 */
struct sched *sched_new(struct event_base *base, struct spool *sp, const struct config *cfg,
    struct msg_core *msg, char *err, size_t errsize);
/*
 * Every recipient's outcome from now on goes to ev as an event
 * (delivered, deferred, bounced, expired); ev is borrowed.
 */
void sched_set_events(struct sched *s, struct events *ev);
/* Recipients on sup's list are not tried from now on (sup borrowed). */
void sched_set_suppress(struct sched *s, const struct suppress *sup);
/*
 * The queue's figures in m (borrowed; it must outlive s): its messages by
 * state, its oldest message's age and the outbound connections open, read
 * at each read of m; the outbound TLS handshakes, counted as they are done.
 */
void sched_set_metrics(struct sched *s, struct metrics *m);
/*
 * What must outlive a queue file: before a worker removes a message that
 * carries an API Idempotency-Key (m->api_idem), it calls wait(ctx), which
 * returns once the key's record elsewhere is durable (idem_wait_durable).
 */
void sched_set_remove_barrier(struct sched *s, void (*wait)(void *ctx), void *ctx);
/* Stops starting deliveries and closes outbound connections (their messages stay queued). */
void sched_stop(struct sched *s);
/* Waits for deliveries in flight, then frees *s (messages stay in the spool). */
void sched_free(struct sched **s);
/*
 * Takes m, a committed message, and delivers its due recipients (now or at
 * their time): the submission core's consumer, and recovery's at start.
 */
void sched_add(struct sched *s, struct spool_msg *m);
/* Work in flight (deliveries, status records, notices being queued). */
unsigned sched_running(const struct sched *s);

/*
 * Attempts started from now on use generation cfg (a reference is taken,
 * the one before let go): routes, retries, limits, timeouts. Jobs out keep
 * the generation they started with.
 */
void sched_set_config(struct sched *s, const struct config *cfg);

#endif
