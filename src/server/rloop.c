/*
 * rloop.c - the receiving loops (server.h): which loop a new connection
 * runs on, the threads of the loops but the first, and what the main loop
 * asks of them through their mailboxes: a connection to start, a drain, a
 * stop. A loop's connections are touched by its own thread only; what the
 * main loop reads of them (how many are open) is counted atomically.
 */
#include "server/server_int.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "util/log.h"
#include "util/xalloc.h"

/* What the main loop posts to a loop: done() runs on the loop's thread. */
struct rloop_job {
	struct work w;		/* first: the mailbox hands back &w */
	struct rloop *rl;
	struct conn *c;		/* to start */
	evutil_socket_t fd;
};

static void
on_inbox(evutil_socket_t fd, short what, void *arg)
{
	(void)fd, (void)what;
	workq_run_done(((struct rloop *)arg)->inbox);
}

static struct rloop *
loop_new(struct server *srv, struct event_base *base, struct msg_core *msg,
    struct policy *policy, struct milter_pool *milters)
{
	struct rloop *rl = xcalloc(1, sizeof(*rl));

	rl->srv = srv;
	rl->index = srv->nloops;
	rl->base = base;
	rl->msg = msg;
	rl->policy = policy;
	rl->milters = milters;
	rl->read_buf = xmalloc(READ_BUF_SIZE);
	rl->data_buf = xmalloc(DATA_BUF_SIZE);
	srv->loops = xrealloc(srv->loops, (srv->nloops + 1) * sizeof(*srv->loops));
	srv->loops[srv->nloops++] = rl;
	return rl;
}

void
rloop_add_main(struct server *srv, struct msg_core *msg, struct policy *policy)
{
	ASSERT(srv->nloops == 0);
	(void)loop_new(srv, srv->d.base, msg, policy, srv->d.milters);
}

void
server_add_loop(struct server *srv, const struct server_loop *l)
{
	struct rloop *rl;

	ASSERT(srv->nloops >= 1 && !srv->is_started && l->inbox != NULL);
	rl = loop_new(srv, l->base, l->msg, l->policy, l->milters);
	rl->inbox = l->inbox;
	rl->inbox_ev = event_new(l->base, workq_fd(l->inbox), EV_READ | EV_PERSIST, on_inbox, rl);
	ASSERT(rl->inbox_ev != NULL && event_add(rl->inbox_ev, NULL) == 0);
}

static void *
loop_main(void *arg)
{
	struct rloop *rl = arg;
	char name[16];

	/* named, so that top -H and /proc/PID/task say which thread receives */
	(void)snprintf(name, sizeof(name), "sterna-rx%u", rl->index);
	(void)pthread_setname_np(pthread_self(), name);
	/* the mailbox's event keeps the loop running until the stop job breaks it */
	event_base_dispatch(rl->base);
	return NULL;
}

void
rloops_start(struct server *srv)
{
	sigset_t all, old;

	/* signals are the main loop's: a thread started now inherits the mask */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	for (unsigned i = 1; i < srv->nloops; i++) {
		struct rloop *rl = srv->loops[i];
		int r = pthread_create(&rl->thread, NULL, loop_main, rl);

		ASSERT(r == 0);
		rl->has_thread = 1;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (srv->nloops > 1)
		log_info("server: %u receiving loops, %u on threads of their own", srv->nloops,
		    srv->nloops - 1);
}

/*
 * The loop with the fewest sessions open; of those that tie, the first (an
 * idle daemon serves a lone session on the main loop, without a hand-off).
 */
static struct rloop *
least_busy(const struct server *srv)
{
	struct rloop *best = srv->loops[0];
	unsigned best_n = atomic_load_explicit(&best->nconns, memory_order_relaxed);

	for (unsigned i = 1; i < srv->nloops && best_n > 0; i++) {
		unsigned n = atomic_load_explicit(&srv->loops[i]->nconns, memory_order_relaxed);

		if (n < best_n) {
			best = srv->loops[i];
			best_n = n;
		}
	}
	return best;
}

static struct rloop_job *
job_new(struct rloop *rl, void (*done)(struct work *w))
{
	struct rloop_job *j = xcalloc(1, sizeof(*j));

	j->w.done = done;
	j->rl = rl;
	j->fd = -1;
	return j;
}

static void
start_job(struct work *w)
{
	struct rloop_job *j = (struct rloop_job *)w;

	conn_start(j->c, j->fd);
	free(j);
}

void
rloop_give(struct server *srv, struct conn *c, evutil_socket_t fd)
{
	struct rloop *rl = least_busy(srv);
	struct rloop_job *j;

	c->rl = rl;
	/* counted now, so that the next connection accepted before it starts sees it */
	atomic_fetch_add_explicit(&rl->nconns, 1, memory_order_relaxed);
	if (rl->inbox == NULL) {
		conn_start(c, fd);
		return;
	}
	j = job_new(rl, start_job);
	j->c = c;
	j->fd = fd;
	workq_post_done(rl->inbox, &j->w);
}

/* On rl's thread: every session ends as conn_drain() says. */
static void
drain_loop(struct rloop *rl)
{
	rl->is_draining = 1;
	for (struct conn *c = rl->conns, *next; c != NULL; c = next) {
		next = conn_next(c);	/* conn_drain may free c */
		conn_drain(c);
	}
}

static void
drain_job(struct work *w)
{
	struct rloop_job *j = (struct rloop_job *)w;

	drain_loop(j->rl);
	free(j);
}

void
rloops_drain(struct server *srv)
{
	drain_loop(srv->loops[0]);
	/*
	 * Once each: a loop's mailbox is in order, so every connection given
	 * to it before has started by then, and none is given after (the
	 * listeners are closed); a session ends on its own once drained.
	 */
	for (unsigned i = 1; i < srv->nloops; i++) {
		struct rloop *rl = srv->loops[i];

		if (rl->is_drain_sent || !rl->has_thread)
			continue;
		rl->is_drain_sent = 1;
		workq_post_done(rl->inbox, &job_new(rl, drain_job)->w);
	}
}

static void
stop_job(struct work *w)
{
	struct rloop_job *j = (struct rloop_job *)w;

	conn_free_all(j->rl);
	event_base_loopbreak(j->rl->base);
	free(j);
}

void
rloops_free(struct server *srv)
{
	for (unsigned i = 1; i < srv->nloops; i++) {
		struct rloop *rl = srv->loops[i];

		if (rl->has_thread) {
			workq_post_done(rl->inbox, &job_new(rl, stop_job)->w);
			pthread_join(rl->thread, NULL);
		}
		event_free(rl->inbox_ev);
		free(rl->read_buf);
		free(rl->data_buf);
		free(rl);
	}
	if (srv->nloops > 0) {
		conn_free_all(srv->loops[0]);
		free(srv->loops[0]->read_buf);
		free(srv->loops[0]->data_buf);
		free(srv->loops[0]);
	}
	free(srv->loops);
	srv->loops = NULL;
	srv->nloops = 0;
}
