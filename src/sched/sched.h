/*
 * sched.h - who gets delivered when: messages wait here between attempts.
 * Deliveries run on their own worker threads, so a slow mailbox never holds
 * up the spool's commits. A failed attempt is retried with exponential
 * backoff (queue.retry_min doubling to queue.retry_max); a local delivery is
 * never dropped. The schedule lives in the spool (T records), so a restart
 * keeps it.
 */
#ifndef STERNA_SCHED_SCHED_H
#define STERNA_SCHED_SCHED_H

#include <event2/event.h>

#include "config/config.h"
#include "spool/spool.h"

struct sched;

/* Returns a new scheduler; borrows base, sp and cfg. */
struct sched *sched_new(struct event_base *base, struct spool *sp, const struct config *cfg);
/* Waits for deliveries in flight, then frees *s (messages stay in the spool). */
void sched_free(struct sched **s);
/* Takes m, a committed message, and delivers its due recipients (now or at their time). */
void sched_add(struct sched *s, struct spool_msg *m);
/* Deliveries in flight. */
unsigned sched_running(const struct sched *s);

#endif
