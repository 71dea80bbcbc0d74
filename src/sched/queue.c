/*
 * queue.c - the operator interface of queue.h: what a message's state is,
 * listings that can be resumed, and operations. An operation on a message
 * with nothing out runs at once (hold, release and delete write to the
 * spool on a worker first); on a message in the middle of an attempt it
 * takes back the jobs that have not begun and waits, in the message's list
 * of pending operations, for the others to be recorded (q_settle runs it).
 */
#include "sched/sched_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "metrics/metrics.h"
#include "tls/tls.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/log_event.h"
#include "util/xalloc.h"

/* ---- views ---- */

static enum sched_state
state_of(const struct qmsg *q)
{
	if (q->inflight > 0)
		return SCHED_ACTIVE;
	if (q_held(q))
		return SCHED_HELD;
	if (q->release_s > sched_now_s())
		return SCHED_SCHEDULED;
	return q->has_failed_before ? SCHED_DEFERRED : SCHED_QUEUED;
}

/* m: q's envelope (q_envelope). */
static void
view_of(const struct qmsg *q, const struct spool_msg *m, struct sched_view *v)
{
	enum sched_state st = state_of(q);

	v->m = m;
	v->q = q;
	v->state = st;
	if (st == SCHED_ACTIVE || st == SCHED_HELD)
		v->next_try_s = 0;
	else
		v->next_try_s = q->is_flush_due ? sched_now_s() : q_due_s(q);
	if (v->next_try_s == UINT64_MAX)
		v->next_try_s = 0;
}

enum sched_rcpt_state
sched_view_rcpt(const struct sched_view *v, size_t i)
{
	const struct spool_rcpt *r = &v->m->rcpts[i];

	if (r->is_done)
		return r->status[0] == '2' ? SCHED_RCPT_DELIVERED : SCHED_RCPT_FAILED;
	if (v->q->rcpt_active != NULL && v->q->rcpt_active[i])	/* NULL: at rest */
		return SCHED_RCPT_ACTIVE;
	return r->attempts > 0 ? SCHED_RCPT_DEFERRED : SCHED_RCPT_PENDING;
}

const char *
sched_view_agent(const struct sched_view *v, size_t i)
{
	struct target t;

	route_target(v->q->s, v->m, i, &t);
	return agent_of(t.kind)->name;
}

/* ---- filters ---- */

static int
domain_is(const char *addr, const char *domain)
{
	const char *at = strrchr(addr, '@');

	return at != NULL && strcasecmp(at + 1, domain) == 0;
}

/* Whether f needs more of a message than the facts kept beside it at rest. */
static int
needs_envelope(const struct sched_filter *f)
{
	return f->sender != NULL || f->rcpt != NULL || f->domain != NULL;
}

/* Whether q matches f by what is kept of it at rest: its state, id and age. */
static int
matches_facts(const struct qmsg *q, const struct sched_filter *f, uint64_t now_s)
{
	uint64_t arrival_s = q->arrival_us / 1000000u;
	uint64_t age = now_s > arrival_s ? now_s - arrival_s : 0;	/* 0 after a clock step */

	if (f->states != 0 && (f->states & (1u << state_of(q))) == 0)
		return 0;
	if (f->qid != NULL && strcmp(q->qid, f->qid) != 0)
		return 0;
	return (f->min_age_s == 0 || age >= f->min_age_s) && (f->max_age_s == 0 || age <= f->max_age_s);
}

/* Whether envelope m matches f's sender, recipient and domain. */
static int
matches_envelope(const struct spool_msg *m, const struct sched_filter *f)
{
	int any;

	if (f->sender != NULL && strcasecmp(m->sender, f->sender) != 0)
		return 0;
	if (f->rcpt != NULL) {
		any = 0;
		for (size_t i = 0; i < m->nrcpts && !any; i++)
			any = strcasecmp(m->rcpts[i].to, f->rcpt) == 0 ||
			    strcasecmp(m->rcpts[i].orig, f->rcpt) == 0;
		if (!any)
			return 0;
	}
	if (f->domain != NULL) {
		any = 0;
		for (size_t i = 0; i < m->nrcpts && !any; i++)
			any = !m->rcpts[i].is_done && domain_is(m->rcpts[i].to, f->domain);
		if (!any)
			return 0;
	}
	return 1;
}

/* Whether q matches f, unpacking a copy of its envelope only when f needs it. */
static int
matches(const struct qmsg *q, const struct sched_filter *f, uint64_t now_s)
{
	struct rest_view rv;
	int is_match;

	if (!matches_facts(q, f, now_s))
		return 0;
	if (!needs_envelope(f))
		return 1;
	is_match = matches_envelope(q_envelope(q, &rv), f);
	rest_view_clear(&rv);
	return is_match;
}

static char *
dup_or_null(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

static void
filter_copy(struct sched_filter *to, const struct sched_filter *from)
{
	*to = *from;
	to->qid = dup_or_null(from->qid);
	to->sender = dup_or_null(from->sender);
	to->rcpt = dup_or_null(from->rcpt);
	to->domain = dup_or_null(from->domain);
}

static void
filter_clear(struct sched_filter *f)
{
	free((char *)f->qid);
	free((char *)f->sender);
	free((char *)f->rcpt);
	free((char *)f->domain);
}

/* ---- cursors ---- */

struct sched_cursor {
	struct sched *s;
	struct sched_filter f;
	struct qmsg *next;		/* the next message to look at */
	struct sched_cursor *link;	/* in s->cursors */
};

struct sched_cursor *
sched_cursor_new(struct sched *s, const struct sched_filter *f)
{
	struct sched_cursor *c = xcalloc(1, sizeof(*c));

	c->s = s;
	filter_copy(&c->f, f);
	/* one queue id: no walk through the queue */
	c->next = f->qid != NULL ? index_find(s, f->qid) : s->first;
	c->link = s->cursors;
	s->cursors = c;
	return c;
}

struct sched_cursor *
sched_cursor_new_after(struct sched *s, const struct sched_filter *f, const char *after)
{
	struct sched_cursor *c = sched_cursor_new(s, f);
	struct qmsg *q;

	if (f->qid != NULL) {
		/* one message: it is after the cursor or it is not */
		if (c->next != NULL && strcmp(c->next->qid, after) <= 0)
			c->next = NULL;
		return c;
	}
	if ((q = index_find(s, after)) != NULL) {
		c->next = q->next;
		return c;
	}
	/*
	 * It left the queue since: the list is in id order, so the next is the
	 * first greater id. XXX: a walk over the ids before it, one compare
	 * each, in the loop's turn (about a millisecond per 100,000 messages);
	 * pages of a queue that large are asked for by operators, rarely.
	 */
	for (q = s->first; q != NULL && strcmp(q->qid, after) <= 0; q = q->next)
		;
	c->next = q;
	return c;
}

size_t
sched_cursor_next(struct sched_cursor *c, size_t max,
    void (*each)(void *ctx, const struct sched_view *v), void *ctx)
{
	uint64_t now = sched_now_s();
	size_t n = 0;

	while (c->next != NULL && n < max) {
		struct qmsg *q = c->next;
		struct rest_view rv;
		const struct spool_msg *m;
		struct sched_view v;

		c->next = c->f.qid != NULL ? NULL : q->next;
		if (!matches_facts(q, &c->f, now))
			continue;
		/* a message at rest is read from its block once, for the filter and the view */
		m = q_envelope(q, &rv);
		if (matches_envelope(m, &c->f)) {
			view_of(q, m, &v);
			each(ctx, &v);
			n++;
		}
		rest_view_clear(&rv);
	}
	return n;
}

void
sched_cursor_free(struct sched_cursor **cp)
{
	struct sched_cursor *c = *cp, **pp;

	if (c == NULL)
		return;
	for (pp = &c->s->cursors; *pp != c; pp = &(*pp)->link)
		;
	*pp = c->link;
	filter_clear(&c->f);
	free(c);
	*cp = NULL;
}

void
cursors_forget(struct sched *s, struct qmsg *q)
{
	for (struct sched_cursor *c = s->cursors; c != NULL; c = c->link)
		if (c->next == q)
			c->next = c->f.qid != NULL ? NULL : q->next;
}

/* ---- operations ---- */

struct sched_op_req {
	void (*done)(void *ctx, const struct sched_op_result *r);
	void *ctx;
	struct sched_op_result res;
	size_t outstanding;		/* messages not done yet, and sched_apply itself */
};

/*
 * One part of req is over: when it was the last, the requester hears and
 * req is freed (1). Not inlined: sched_apply holds a part of its own while
 * it walks the queue, so req outlives the walk, which the compiler's
 * use-after-free analysis cannot see through an inlined free.
 */
static __attribute__((noinline)) int
req_unref(struct sched_op_req *req)
{
	if (--req->outstanding > 0)
		return 0;
	if (req->done != NULL)
		req->done(req->ctx, &req->res);
	free(req);
	return 1;
}

void
op_req_count(struct sched_op_req *req, int is_ok)
{
	if (is_ok)
		req->res.done++;
	else
		req->res.failed++;
	(void)req_unref(req);
}

void
sched_op_forget(struct sched_op_req *req)
{
	if (req != NULL)
		req->done = NULL;
}

/* Hold, release and delete: written to the spool on a worker. */
struct op_work {
	struct work work;		/* first */
	struct qmsg *q;
	enum sched_op op;
	long uid;
	struct sched_op_req *req;
	int err;
};

static void
op_work_run(struct work *w)
{
	struct op_work *o = (struct op_work *)w;
	struct sched *s = o->q->s;
	const char *qid = o->q->m->qid;
	int r;

	if (o->op == SCHED_OP_DELETE)
		r = q_remove_file(s, o->q->m) == -1 && errno != ENOENT ? -1 : 0;
	else
		r = spool_msg_mark_held(s->sp, qid, o->op == SCHED_OP_HOLD, o->uid);
	o->err = r == -1 ? errno : 0;
}

static void
op_work_done(struct work *w)
{
	struct op_work *o = (struct op_work *)w;
	struct qmsg *q = o->q;
	struct sched *s = q->s;
	const char *qid = q->qid;

	s->inflight_work--;
	q->inflight--;
	if (o->err != 0) {
		log_note(LOG_ERR, qid, "cannot %s: %s", sched_op_name(o->op), strerror(o->err));
		op_req_count(o->req, 0);
	} else {
		log_ev_operator(qid, sched_op_name(o->op), o->uid);
		if (o->op == SCHED_OP_HOLD)
			q->m->is_held = 1;
		if (o->op == SCHED_OP_RELEASE) {
			q->m->is_held = 0;
			q->is_flush_due = 1;	/* due at once */
		}
		op_req_count(o->req, 1);
	}
	if (o->op == SCHED_OP_DELETE && o->err == 0) {
		free(o);
		log_ev_removed(qid, "deleted");
		deleted_emit(q);
		ops_drop(q);
		q_drop(q);
		return;
	}
	free(o);
	if (q->inflight == 0)
		ops_run_pending(q);
}

/*
 * Runs op on q, which has nothing out. Returns 1 when it went on to a
 * worker (its end runs q's next operation), 0 when it is done already.
 */
static int
op_now(struct qmsg *q, enum sched_op op, long uid, struct sched_op_req *req)
{
	struct sched *s = q->s;
	struct op_work *o;

	switch (op) {
	case SCHED_OP_FLUSH:
		if (!q_held(q)) {
			q->is_flush_due = 1;
			log_ev_operator(q->qid, "flush", uid);
		}
		op_req_count(req, 1);
		return 0;
	case SCHED_OP_HOLD:
	case SCHED_OP_RELEASE:
		if (q_held(q) == (op == SCHED_OP_HOLD)) {
			op_req_count(req, 1);	/* so it is already */
			return 0;
		}
		break;
	case SCHED_OP_DELETE:
		break;
	case SCHED_OP_BOUNCE:
		q_wake(q);
		log_ev_operator(q->qid, "bounce", uid);
		if (heap_has(&q->hn))
			heap_remove(&s->due, &q->hn);
		q_bounce(q, 0, "5.0.0", "delivery cancelled by the postmaster", req);
		return 1;
	}
	if (heap_has(&q->hn))
		heap_remove(&s->due, &q->hn);
	q_wake(q);	/* the worker reads its envelope, and the end changes it */
	o = xcalloc(1, sizeof(*o));
	o->q = q;
	o->op = op;
	o->uid = uid;
	o->req = req;
	o->work.run = op_work_run;
	o->work.done = op_work_done;
	q->inflight++;
	s->inflight_work++;
	workq_submit(s->wq, &o->work);
	return 1;
}

void
ops_run_pending(struct qmsg *q)
{
	struct pending_op *p;

	while ((p = q->ops) != NULL) {
		int is_async;

		q->ops = p->next;
		if (q->ops == NULL)
			q->ops_tail = &q->ops;
		if (q->s->is_stopping) {
			op_req_count(p->req, 0);
			free(p);
			continue;
		}
		is_async = op_now(q, p->op, p->uid, p->req);
		free(p);
		if (is_async)
			return;
	}
	q_settle(q);
}

void
ops_drop(struct qmsg *q)
{
	struct pending_op *p;

	while ((p = q->ops) != NULL) {
		q->ops = p->next;
		op_req_count(p->req, 0);
		free(p);
	}
	q->ops_tail = &q->ops;
}

/* op on q, now or once its attempt is over. */
static void
op_on(struct qmsg *q, enum sched_op op, long uid, struct sched_op_req *req)
{
	struct pending_op *p;
	struct job *j, *next;

	if (q->inflight == 0 && q->ops == NULL) {
		if (op_now(q, op, uid, req) == 0)
			q_settle(q);
		return;
	}
	if (op == SCHED_OP_FLUSH) {
		op_req_count(req, 1);	/* it is being tried right now */
		return;
	}
	p = xcalloc(1, sizeof(*p));
	p->op = op;
	p->uid = uid;
	p->req = req;
	*q->ops_tail = p;
	q->ops_tail = &p->next;
	if (op == SCHED_OP_RELEASE)
		return;
	/* jobs that have not begun come back now; the last one back runs the operation */
	for (j = q->jobs; j != NULL; j = next) {
		next = j->qnext;
		if (j->agent != NULL && j->agent->cancel(q->s, j))
			job_finish(j);
	}
}

struct sched_op_req *
sched_apply(struct sched *s, enum sched_op op, const struct sched_filter *f, long uid,
    void (*done)(void *ctx, const struct sched_op_result *r), void *ctx)
{
	struct sched_op_req *req = xcalloc(1, sizeof(*req));
	uint64_t now = sched_now_s();
	struct qmsg *q, *next;

	req->done = done;
	req->ctx = ctx;
	req->outstanding = 1;
	q = f->qid != NULL ? index_find(s, f->qid) : s->first;
	for (; q != NULL && !s->is_stopping; q = next) {
		next = f->qid != NULL ? NULL : q->next;
		if (!matches(q, f, now))
			continue;
		req->res.matched++;
		req->outstanding++;
		/* a flush is many messages at once: one new turn of the timer starts them all */
		op_on(q, op, uid, req);
	}
	/* sched_apply's own part: done runs here when every message is done already */
	return req_unref(req) ? NULL : req;
}

void
sched_stats(const struct sched *s, struct sched_stats *out)
{
	uint64_t now = sched_now_s();

	memset(out, 0, sizeof(*out));
	for (const struct qmsg *q = s->first; q != NULL; q = q->next) {
		out->by_state[state_of(q)]++;
		if (q->m == NULL) {
			out->recipients += q->npending;
			continue;
		}
		for (size_t i = 0; i < q->m->nrcpts; i++)
			out->recipients += !q->m->rcpts[i].is_done;
	}
	if (s->first != NULL)
		out->oldest_arrival_us = s->first->arrival_us;
	for (size_t k = 0; k < STATS_SLOTS; k++) {
		const struct stats_slot *sl = &s->slots[k];

		if (sl->second + STATS_SLOTS <= now)
			continue;
		out->delivered_last_min += sl->delivered;
		out->deferred_last_min += sl->deferred;
		out->failed_last_min += sl->failed;
	}
	out->connections = s->nconns;
}

/* ---- figures ---- */

/* Before each read of the registry: the queue as it is now. */
static void
on_metrics_read(void *ctx)
{
	struct sched *s = ctx;
	struct sched_stats st;
	uint64_t now = clock_wall_us();

	sched_stats(s, &st);
	for (unsigned i = 0; i < SCHED_NSTATES; i++)
		metric_series_set(s->fig.by_state[i], (double)st.by_state[i]);
	metric_series_set(s->fig.oldest, st.oldest_arrival_us == 0 ||
	    st.oldest_arrival_us > now ? 0 : (double)(now - st.oldest_arrival_us) / 1e6);
	metric_series_set(s->fig.connections, (double)st.connections);
}

void
sched_set_metrics(struct sched *s, struct metrics *m)
{
	struct metric *queue = metrics_gauge(m, "sterna_queue_messages",
	    "Messages in the queue, by state.", "state");

	for (unsigned i = 0; i < SCHED_NSTATES; i++) {
		const char *state = sched_state_name((enum sched_state)i);

		s->fig.by_state[i] = metric_series(queue, &state);
	}
	s->fig.oldest = metric_series(metrics_gauge(m, "sterna_queue_oldest_seconds",
	    "Age of the oldest message in the queue (0 when it is empty).", NULL), NULL);
	s->fig.connections = metric_series(metrics_gauge(m, "sterna_outbound_connections",
	    "Outbound SMTP and LMTP connections open.", NULL), NULL);
	s->fig.tls = tls_handshakes_metric(m);
	metrics_on_read(m, on_metrics_read, s);
}

unsigned
sched_connections(const struct sched *s)
{
	return s->nconns;
}
