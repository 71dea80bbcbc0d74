/*
 * recvloops.c - the receiving loops' modules (recvloops.h).
 */
#include "main/recvloops.h"

#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <event2/event.h>

#include "dns/dns.h"
#include "milter/milter.h"
#include "msg/msg.h"
#include "policy/dnsbl.h"
#include "util/log.h"
#include "util/loop_prio.h"
#include "util/xalloc.h"

/* Committed messages of one loop, on their way to the main loop together. */
struct handover_batch {
	struct work w;		/* first: the main loop's pool hands back &w */
	struct recv_loops *owner;
	struct spool_msg **m;
	size_t n, cap;
};

struct recv_loop {
	struct recv_loops *owner;
	struct event_base *base;
	struct workq *inbox;
	struct dns *dns;
	struct dnsbl *dnsbl;
	struct policy *policy;
	struct milter_pool *milters;
	struct msg_core *msg;
	struct dkim_signer *signer;
	struct handover_batch *batch;	/* being filled on this loop's turn */
};

struct recv_loops {
	struct recv_loops_deps d;
	struct recv_loop *loops;
	size_t n;
	_Atomic unsigned batches_out;
};

#define RECV_LOOPS_MAX 256

unsigned
recv_loops_wanted(const struct config *cfg)
{
	cpu_set_t cpus;
	long n;

	if (cfg->receive_loops > 0)
		return cfg->receive_loops;
	/* the processors this process may run on (taskset, a container's cpuset), not all */
	if (sched_getaffinity(0, sizeof(cpus), &cpus) == 0)
		n = CPU_COUNT(&cpus);
	else
		n = sysconf(_SC_NPROCESSORS_ONLN);
	return n < 1 ? 1 : n > RECV_LOOPS_MAX ? RECV_LOOPS_MAX : (unsigned)n;
}

/* On the main loop: a loop's batch, handed on. */
static void
batch_done(struct work *w)
{
	struct handover_batch *b = (struct handover_batch *)w;
	struct recv_loops *r = b->owner;

	for (size_t i = 0; i < b->n; i++)
		r->d.take(r->d.take_ctx, b->m[i]);
	atomic_fetch_sub(&r->batches_out, 1);
	free(b->m);
	free(b);
}

/* On the loop: one committed message into the batch of this turn. */
static void
take_one(void *ctx, struct spool_msg *m)
{
	struct recv_loop *l = ctx;
	struct handover_batch *b = l->batch;

	if (b == NULL) {
		b = l->batch = xcalloc(1, sizeof(*b));
		b->w.done = batch_done;
		b->owner = l->owner;
	}
	if (b->n == b->cap) {
		b->cap = b->cap ? 2 * b->cap : 16;
		b->m = xrealloc(b->m, b->cap * sizeof(*b->m));
	}
	b->m[b->n++] = m;
}

/* On the loop: the turn's messages are all in; one post takes them to the main loop. */
static void
take_end(void *ctx)
{
	struct recv_loop *l = ctx;

	if (l->batch == NULL)
		return;
	atomic_fetch_add(&l->owner->batches_out, 1);
	workq_post_done(l->owner->d.main_wq, &l->batch->w);
	l->batch = NULL;
}

static void
loop_clear(struct recv_loop *l)
{
	policy_free(&l->policy);	/* its clients went with the server's connections */
	dnsbl_free(&l->dnsbl);
	dns_free(&l->dns);
	msg_core_free(&l->msg);	/* its committed messages not yet taken stay in the spool */
	milter_pool_free(&l->milters);	/* after the sessions and the core, which give theirs back */
	dkim_signer_free(&l->signer);	/* after the core: its messages have let go of their jobs */
	if (l->batch != NULL) {
		/* in the spool: the next start finds them */
		for (size_t i = 0; i < l->batch->n; i++)
			spool_msg_free(&l->batch->m[i]);
		free(l->batch->m);
		free(l->batch);
	}
	workq_free(&l->inbox);
	if (l->base != NULL)
		event_base_free(l->base);
}

static int
loop_make(struct recv_loops *r, struct recv_loop *l, char *err, size_t errsize)
{
	const struct recv_loops_deps *d = &r->d;
	const struct config *cfg = d->cfg;

	l->owner = r;
	l->base = event_base_new();
	if (l->base == NULL || event_base_priority_init(l->base, LOOP_PRIORITIES) == -1) {
		snprintf(err, errsize, "cannot create a receiving loop");
		return -1;
	}
	l->inbox = workq_new(0);
	if ((l->dns = dns_new(l->base, cfg->dns_resolver, cfg->dns_timeout_ms, err,
	    errsize)) == NULL)
		return -1;
	l->dnsbl = dnsbl_new(cfg, l->dns, l->base);
	l->policy = policy_new(&(struct policy_deps){ .base = l->base, .cfg = cfg,
		.lists = d->lists, .dnsbl = l->dnsbl, .auth_wq = d->auth_wq,
		.metrics = d->metrics, .shares_with = d->policy, .home = l->inbox });
	l->milters = milter_pool_new(l->base, cfg, d->metrics);
	l->msg = msg_core_new(&(struct msg_core_deps){ .base = l->base, .spool = d->spool,
		.cfg = cfg, .qids = d->qids, .home = l->inbox });
	msg_core_set_consumer(l->msg, take_one, take_end, l);
	l->signer = dkim_signer_new(l->msg, l->base, cfg, d->dkim);
	return 0;
}

struct recv_loops *
recv_loops_new(const struct recv_loops_deps *d, char *err, size_t errsize)
{
	struct recv_loops *r = xcalloc(1, sizeof(*r));
	unsigned want = recv_loops_wanted(d->cfg);

	r->d = *d;
	r->loops = xcalloc(want, sizeof(*r->loops));
	for (unsigned i = 1; i < want; i++) {
		if (loop_make(r, &r->loops[r->n++], err, errsize) == -1) {
			recv_loops_free(&r);
			return NULL;
		}
	}
	/* all made first: the server borrows none that a failure above freed */
	for (size_t i = 0; i < r->n; i++) {
		struct recv_loop *l = &r->loops[i];

		server_add_loop(d->server, &(struct server_loop){ .base = l->base,
			.inbox = l->inbox, .msg = l->msg, .policy = l->policy,
			.milters = l->milters });
	}
	return r;
}

unsigned
recv_loops_batches_out(const struct recv_loops *r)
{
	return r != NULL ? atomic_load(&r->batches_out) : 0;
}

void
recv_loops_free(struct recv_loops **rp)
{
	struct recv_loops *r = *rp;

	if (r == NULL)
		return;
	for (size_t i = 0; i < r->n; i++)
		loop_clear(&r->loops[i]);
	free(r->loops);
	free(r);
	*rp = NULL;
}
