/*
 * sched.c - the delivery queue for local mailboxes.
 * Due messages wait in a FIFO until a delivery thread is free; deferred
 * ones wait in a list that a once-a-second timer scans.
 * XXX: the scan is O(deferred messages) a second; a heap by due time
 * comes with the outbound scheduler's per-destination queues.
 */
#include "sched/sched.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "deliver/deliver.h"
#include "sched/backoff.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/log_event.h"
#include "util/workq.h"
#include "util/xalloc.h"

struct entry {
	struct work work;	/* first: the delivery job */
	struct sched *s;
	struct spool_msg *m;
	uint64_t due_s;
	struct entry *next;
};

struct sched {
	struct event_base *base;
	struct spool *sp;
	const struct config *cfg;
	struct workq *wq;
	struct event *wq_ev, *tick;
	struct entry *ready_head, *ready_tail;	/* due, waiting for a thread */
	struct entry *waiting;			/* deferred */
	unsigned running, max_running;
	int is_stopping;
};

static uint64_t
now_s(void)
{
	return clock_wall_us() / 1000000u;
}

/* When the next attempt of m is due: the earliest of its pending recipients, UINT64_MAX if none. */
static uint64_t
msg_due_s(const struct spool_msg *m)
{
	uint64_t due = UINT64_MAX;

	for (size_t i = 0; i < m->nrcpts; i++)
		if (!m->rcpts[i].is_done && m->rcpts[i].next_try_s < due)
			due = m->rcpts[i].next_try_s;
	return due;
}

/*
 * Worker: one attempt at every due recipient of the message. A delivered
 * recipient is recorded done by the delivery itself (maildir_deliver); when
 * every recipient is done the file is removed.
 */
static void
deliver_run(struct work *w)
{
	struct entry *e = (struct entry *)w;
	struct spool_msg *m = e->m;
	const struct config *cfg = e->s->cfg;
	uint64_t now = now_s();

	for (size_t i = 0; i < m->nrcpts; i++) {
		struct spool_rcpt *r = &m->rcpts[i];
		char rid[QID_LEN + 24], path[PATH_MAX], err[512];
		unsigned delay;
		int n;

		if (r->is_done || r->next_try_s > now)
			continue;
		snprintf(rid, sizeof(rid), "%s.%zu", m->qid, i + 1);
		if (r->mailbox == NULL) {
			/* relayed mail waits for outbound delivery; it is kept, not dropped */
			snprintf(err, sizeof(err), "no outbound delivery in this version");
		} else if ((n = snprintf(path, sizeof(path), "%s/%s", cfg->mailbox_root, r->mailbox)) < 0 ||
		    (size_t)n >= sizeof(path)) {
			snprintf(err, sizeof(err), "mailbox path too long");
		} else if (maildir_deliver(e->s->sp, m, i, path, cfg->hostname, err, sizeof(err)) == 0) {
			r->is_done = 1;
			log_ev_delivered(rid, r->to, r->mailbox,
			    (double)(clock_wall_us() - m->arrival_us) / 1e6, "2.0.0");
			continue;
		}
		r->attempts++;
		delay = backoff_delay_s(r->attempts, cfg->retry_min_s, cfg->retry_max_s);
		r->next_try_s = now + delay;
		if (spool_msg_mark_deferred(e->s->sp, m->qid, i, r->attempts, r->next_try_s, err) == -1)
			log_err("%s: cannot record the deferral: %s", rid, strerror(errno));
		log_ev_deferred(rid, r->to, r->attempts, delay, err);
	}
	e->due_s = msg_due_s(m);
	if (e->due_s == UINT64_MAX) {
		if (spool_msg_remove(e->s->sp, m->qid) == -1)
			log_err("%s: cannot remove from the queue: %s", m->qid, strerror(errno));
		else
			log_ev_removed(m->qid, "delivered");
	}
}

static void start_ready(struct sched *s);

static void
entry_free(struct entry *e)
{
	spool_msg_free(&e->m);
	free(e);
}

/* Loop: an attempt is over. */
static void
deliver_done(struct work *w)
{
	struct entry *e = (struct entry *)w;
	struct sched *s = e->s;

	s->running--;
	if (e->due_s == UINT64_MAX) {
		entry_free(e);
	} else {
		e->next = s->waiting;
		s->waiting = e;
	}
	start_ready(s);
}

static void
start_ready(struct sched *s)
{
	while (!s->is_stopping && s->ready_head != NULL && s->running < s->max_running) {
		struct entry *e = s->ready_head;

		s->ready_head = e->next;
		if (s->ready_head == NULL)
			s->ready_tail = NULL;
		s->running++;
		e->work.run = deliver_run;
		e->work.done = deliver_done;
		workq_submit(s->wq, &e->work);
	}
}

static void
make_ready(struct sched *s, struct entry *e)
{
	e->next = NULL;
	if (s->ready_tail)
		s->ready_tail->next = e;
	else
		s->ready_head = e;
	s->ready_tail = e;
}

static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct sched *s = arg;
	struct entry **pp = &s->waiting;
	uint64_t now = now_s();

	(void)fd, (void)what;
	while (*pp != NULL) {
		struct entry *e = *pp;

		if (e->due_s <= now) {
			*pp = e->next;
			make_ready(s, e);
		} else {
			pp = &e->next;
		}
	}
	start_ready(s);
}

static void
on_wq(evutil_socket_t fd, short what, void *arg)
{
	(void)fd, (void)what;
	workq_run_done(((struct sched *)arg)->wq);
}

struct sched *
sched_new(struct event_base *base, struct spool *sp, const struct config *cfg)
{
	struct sched *s = xcalloc(1, sizeof(*s));
	struct timeval second = { 1, 0 };

	s->base = base;
	s->sp = sp;
	s->cfg = cfg;
	s->wq = workq_new(cfg->io_threads);
	s->max_running = cfg->io_threads * 2;
	s->wq_ev = event_new(base, workq_fd(s->wq), EV_READ | EV_PERSIST, on_wq, s);
	s->tick = event_new(base, -1, EV_PERSIST, on_tick, s);
	ASSERT(s->wq_ev != NULL && s->tick != NULL);
	event_add(s->wq_ev, NULL);
	event_add(s->tick, &second);
	return s;
}

void
sched_add(struct sched *s, struct spool_msg *m)
{
	struct entry *e = xcalloc(1, sizeof(*e));

	e->s = s;
	e->m = m;
	e->due_s = msg_due_s(m);
	if (e->due_s <= now_s()) {
		make_ready(s, e);
		start_ready(s);
	} else {
		e->next = s->waiting;
		s->waiting = e;
	}
}

unsigned
sched_running(const struct sched *s)
{
	return s->running;
}

void
sched_free(struct sched **sp)
{
	struct sched *s = *sp;
	struct entry *e, *next;

	if (s == NULL)
		return;
	/* the attempts in flight finish; their results are in the spool already */
	s->is_stopping = 1;
	while (s->running > 0) {
		struct pollfd p = { .fd = workq_fd(s->wq), .events = POLLIN };

		(void)poll(&p, 1, 1000);
		workq_run_done(s->wq);
	}
	workq_free(&s->wq);
	event_free(s->wq_ev);
	event_free(s->tick);
	for (e = s->ready_head; e; e = next) {
		next = e->next;
		entry_free(e);
	}
	for (e = s->waiting; e; e = next) {
		next = e->next;
		entry_free(e);
	}
	free(s);
	*sp = NULL;
}
