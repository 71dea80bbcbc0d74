/*
 * sched.c - the delivery scheduler (see sched.h and sched_int.h for its
 * parts): the life cycle, the heap of waiting messages, and the two ends
 * of an attempt.
 *
 * A message (struct qmsg) is in the index for as long as it is queued,
 * and in the due-time heap while it waits for its next attempt. When it is
 * due, its due recipients are routed (route.c) and grouped into one job
 * per agent and destination; the agents deliver, the record step
 * (outcome.c) writes what happened, and when all its jobs are back the
 * message returns to the heap, leaves the queue when every recipient is
 * done, or first goes through the operators' operations that waited for
 * the attempt to end (queue.c).
 */
#include "sched/sched.h"
#include "sched/sched_int.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "dns/dns.h"
#include "sched/myself.h"
#include "tls/tls.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/log_event.h"
#include "util/xalloc.h"

static const struct timeval sweep_every = { 60, 0 };

uint64_t
sched_now_s(void)
{
	return clock_wall_us() / 1000000u;
}

void
sched_submit(struct sched *s, struct job *j, void (*run)(struct work *), void (*done)(struct work *))
{
	j->work.run = run;
	j->work.done = done;
	s->inflight_work++;
	workq_submit(s->wq, &j->work);
}

void
stats_count(struct sched *s, enum outcome_kind kind)
{
	uint64_t now = sched_now_s();
	struct stats_slot *sl = &s->slots[now % STATS_SLOTS];

	if (sl->second != now)
		*sl = (struct stats_slot){ .second = now };
	if (kind == OUT_OK)
		sl->delivered++;
	else if (kind == OUT_TEMP)
		sl->deferred++;
	else if (kind == OUT_PERM)
		sl->failed++;
}

uint64_t
q_due_s(const struct qmsg *q)
{
	const struct spool_msg *m = q->m;
	uint64_t due = UINT64_MAX;

	if (m == NULL)
		return q->rest_due_s;
	for (size_t i = 0; i < m->nrcpts; i++)
		if (!m->rcpts[i].is_done && m->rcpts[i].next_try_s < due)
			due = m->rcpts[i].next_try_s;
	/* a scheduled message (FUTURERELEASE, send_at) is not tried before its time */
	return due != UINT64_MAX && due < m->release_s ? m->release_s : due;
}

/* ---- a message at rest (rest.c packs its envelope) ---- */

void
q_rest(struct qmsg *q)
{
	struct spool_msg *m = q->m;

	if (m == NULL || q->inflight > 0 || q->jobs != NULL || q->ops != NULL)
		return;		/* at rest already, or busy: workers may be reading m */
	q->rest_due_s = q_due_s(q);
	q->is_held = m->is_held != 0;
	q->npending = 0;
	for (size_t i = 0; i < m->nrcpts; i++)
		q->npending += !m->rcpts[i].is_done;
	q->packed = rest_pack(m);
	spool_msg_free(&q->m);
	free(q->rcpt_active);
	q->rcpt_active = NULL;
}

void
q_wake(struct qmsg *q)
{
	if (q->m != NULL)
		return;
	q->m = rest_unpack(q->packed, q->qid);
	free(q->packed);
	q->packed = NULL;
	q->rcpt_active = xcalloc(q->m->nrcpts, 1);
}

const struct spool_msg *
q_envelope(const struct qmsg *q, struct rest_view *v)
{
	v->many = NULL;
	return q->m != NULL ? q->m : rest_view(q->packed, q->qid, v);
}

/* ---- the heap of waiting messages ---- */

static void
arm_timer(struct sched *s)
{
	struct heap_node *top = heap_top(&s->due);
	uint64_t now = sched_now_s();
	struct timeval tv = { 0, 0 };

	if (top == NULL || s->is_stopping) {
		evtimer_del(s->timer);
		return;
	}
	if (top->key > now)
		tv.tv_sec = (time_t)(top->key - now > 3600 ? 3600 : top->key - now);
	evtimer_add(s->timer, &tv);
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct sched *s = arg;
	uint64_t now = sched_now_s();
	struct heap_node *n;

	(void)fd, (void)what;
	while (!s->is_stopping && (n = heap_top(&s->due)) != NULL && n->key <= now) {
		heap_pop(&s->due);
		q_start((struct qmsg *)n, ((struct qmsg *)n)->is_flush_due);
	}
	arm_timer(s);
}

static void
on_sweep(evutil_socket_t fd, short what, void *arg)
{
	(void)fd, (void)what;
	dests_sweep(arg, 0);
}

void
q_wait(struct qmsg *q)
{
	struct sched *s = q->s;

	if (heap_has(&q->hn))
		heap_remove(&s->due, &q->hn);
	if (s->is_stopping)
		return;
	if (!q_held(q)) {	/* else an operator releases it */
		q->hn.key = q->is_flush_due ? sched_now_s() : q_due_s(q);
		heap_push(&s->due, &q->hn);
		arm_timer(s);
	}
	q_rest(q);
}

void
q_drop(struct qmsg *q)
{
	struct sched *s = q->s;

	ASSERT(q->inflight == 0 && q->jobs == NULL);
	if (heap_has(&q->hn))
		heap_remove(&s->due, &q->hn);
	cursors_forget(s, q);
	index_remove(s, q);
	spool_msg_free(&q->m);
	free(q->packed);
	free(q->rcpt_active);
	free(q);
}

struct remove_job {
	struct work work;	/* first */
	struct qmsg *q;
	int err;
};

static void
remove_run(struct work *w)
{
	struct remove_job *r = (struct remove_job *)w;

	r->err = q_remove_file(r->q->s, r->q->m) == -1 ? errno : 0;
}

static void
remove_done(struct work *w)
{
	struct remove_job *r = (struct remove_job *)w;
	struct qmsg *q = r->q;

	q->s->inflight_work--;
	q->inflight--;
	if (r->err != 0 && r->err != ENOENT)
		log_note(LOG_ERR, q->m->qid, "cannot remove from the queue: %s", strerror(r->err));
	else
		log_ev_removed(q->m->qid, "delivered");
	free(r);
	/* a file that could not be removed is found again at the next start, all done */
	q_drop(q);
}

void
q_settle(struct qmsg *q)
{
	struct sched *s = q->s;
	uint64_t due;

	if (q->ops != NULL) {
		ops_run_pending(q);
		return;
	}
	if (s->is_stopping)
		return;		/* it stays in the spool for the next start */
	if (q->is_gone) {
		log_ev_removed(q->qid, "gone");
		q_drop(q);
		return;
	}
	due = q_due_s(q);
	if (due == UINT64_MAX && q->is_removed) {
		q_drop(q);
		return;
	}
	if (due == UINT64_MAX) {
		struct remove_job *r = xcalloc(1, sizeof(*r));

		r->q = q;
		r->work.run = remove_run;
		r->work.done = remove_done;
		q->inflight++;
		s->inflight_work++;
		workq_submit(s->wq, &r->work);
		return;
	}
	q_wait(q);
}

/* ---- jobs ---- */

struct job *
job_new(struct qmsg *q, const struct agent_ops *agent, struct dest *d)
{
	struct job *j = xcalloc(1, sizeof(*j));

	j->s = q->s;
	j->q = q;
	j->cfg = config_ref(q->s->cfg);
	j->agent = agent;
	j->d = d;
	if (d != NULL)
		dest_job_new(d);
	j->out = xcalloc(q->m->nrcpts, sizeof(*j->out));
	j->qnext = q->jobs;
	q->jobs = j;
	q->inflight++;
	return j;
}

void
job_add_rcpt(struct job *j, size_t i)
{
	j->out[j->n].i = i;
	j->out[j->n].kind = OUT_NONE;
	j->n++;
	j->q->rcpt_active[i] = 1;
}

static void
job_free(struct job *j)
{
	struct job **pp;

	for (pp = &j->q->jobs; *pp != j; pp = &(*pp)->qnext)
		;
	*pp = j->qnext;
	if (j->d != NULL)
		dest_job_gone(j->d);
	spool_content_close(&j->content);
	buf_clear(&j->dsn);
	buf_clear(&j->delay_dsn);
	free(j->out);
	free(j->rcpts);
	free(j->results);
	config_free(&j->cfg);
	free(j);
}

/* What the record step wrote about recipient o->i, now in the envelope too. */
static void
apply_outcome(const struct job *j, const struct outcome *o)
{
	struct qmsg *q = j->q;
	struct spool_rcpt *r = &q->m->rcpts[o->i];

	q->rcpt_active[o->i] = 0;
	if (!o->is_recorded)
		return;		/* given back before it was tried, or stopped */
	outcome_emit(j, o);
	if (o->is_done) {
		r->is_done = 1;
		snprintf(r->status, sizeof(r->status), "%s", o->status);
		stats_count(q->s, o->kind);
		return;
	}
	r->attempts = o->attempts;
	r->next_try_s = o->next_try_s;
	free(r->reason);
	r->reason = xstrdup(o->text);
	q->has_failed_before = 1;
	stats_count(q->s, OUT_TEMP);
}

void
sched_set_events(struct sched *s, struct events *ev)
{
	s->events = ev;
}

void
sched_set_suppress(struct sched *s, const struct suppress *sup)
{
	s->suppress = sup;
}

void
sched_set_remove_barrier(struct sched *s, void (*wait)(void *ctx), void *ctx)
{
	s->remove_wait = wait;
	s->remove_wait_ctx = ctx;
}

int
q_remove_file(struct sched *s, const struct spool_msg *m)
{
	if (m->api_idem != NULL && s->remove_wait != NULL)
		s->remove_wait(s->remove_wait_ctx);
	return spool_msg_remove(s->sp, m->qid);
}

void
job_finish(struct job *j)
{
	struct qmsg *q = j->q;
	struct sched_op_req *req = j->req;
	int is_ok = 1;

	q->is_gone |= j->is_gone;
	q->is_removed |= j->is_removed;
	for (size_t k = 0; k < j->n; k++) {
		apply_outcome(j, &j->out[k]);
		is_ok &= j->out[k].is_recorded && j->out[k].is_done;
	}
	job_free(j);
	if (req != NULL)
		op_req_count(req, is_ok || q->is_gone);
	if (--q->inflight > 0)
		return;
	q_settle(q);
}

/*
 * Every pending recipient of q fails now with code, status and text, and
 * the record step bounces them: for a message an entrance could not refuse
 * (a mail loop from sendmail or pickup), and for an operator's bounce
 * (req, told once it is recorded).
 */
void
q_bounce(struct qmsg *q, int code, const char *status, const char *text,
    struct sched_op_req *req)
{
	struct spool_msg *m = q->m;
	struct job *j = job_new(q, NULL, NULL);

	for (size_t i = 0; i < m->nrcpts; i++)
		if (!m->rcpts[i].is_done)
			job_add_rcpt(j, i);
	job_fail_all(j, OUT_PERM, code, status, text);
	j->req = req;
	sched_submit(q->s, j, record_run, record_done);
}

/* ---- an attempt ---- */

/*
 * Recipients on the suppression list are not tried: they fail for good
 * (a notice goes to the sender, as for any failure) and their events say
 * SUPPRESSED, not BOUNCED.
 */
static void
fail_suppressed(struct job *j)
{
	job_fail_all(j, OUT_PERM, 550, "5.1.1",
	    "not tried: the address is on the suppression list (it bounced hard before)");
	for (size_t k = 0; k < j->n; k++)
		j->out[k].is_suppressed = 1;
	sched_submit(j->q->s, j, record_run, record_done);
}

void
q_start(struct qmsg *q, int is_flush)
{
	struct sched *s = q->s;
	struct spool_msg *m;
	uint64_t now = sched_now_s();
	struct job **jobs, *suppressed = NULL;
	size_t njobs = 0, pending = 0;

	q_wake(q);
	m = q->m;
	if (heap_has(&q->hn))
		heap_remove(&s->due, &q->hn);
	q->is_flush_due = 0;
	if (m->release_s > now) {
		/* not even a flush sends a scheduled message early: it waits for its time */
		q_wait(q);
		return;
	}
	if (m->fail_status != NULL) {
		q_bounce(q, 554, m->fail_status, m->fail_text ? m->fail_text : "refused", NULL);
		return;
	}
	jobs = xcalloc(m->nrcpts, sizeof(*jobs));
	for (size_t i = 0; i < m->nrcpts; i++) {
		const struct spool_rcpt *r = &m->rcpts[i];
		const struct agent_ops *agent;
		struct dest *d = NULL;
		struct target t;
		size_t k;

		pending += !r->is_done;
		if (r->is_done || q->rcpt_active[i] || (!is_flush && r->next_try_s > now))
			continue;
		if (s->suppress != NULL && suppress_has(s->suppress, r->to)) {
			if (suppressed == NULL)
				suppressed = job_new(q, NULL, NULL);
			job_add_rcpt(suppressed, i);
			continue;
		}
		route_target(s, m, i, &t);
		agent = agent_of(t.kind);
		if (agent != &agent_maildir)
			d = dest_of_target(s, &t);
		for (k = 0; k < njobs && (jobs[k]->agent != agent || jobs[k]->d != d); k++)
			;
		if (k == njobs) {
			jobs[njobs] = job_new(q, agent, d);
			jobs[njobs++]->is_flush = is_flush;
		}
		job_add_rcpt(jobs[k], i);
	}
	/* one job for everything pending: it may remove the file itself when all is done */
	if (njobs == 1 && jobs[0]->n == pending)
		jobs[0]->is_whole = 1;
	for (size_t k = 0; k < njobs; k++)
		jobs[k]->agent->start(s, jobs[k]);
	free(jobs);
	if (suppressed != NULL)
		fail_suppressed(suppressed);
	if (q->inflight == 0)
		q_settle(q);	/* nothing due after all (a clock step): wait again */
}

/* ---- the outside ---- */

static void
on_wq(evutil_socket_t fd, short what, void *arg)
{
	(void)fd, (void)what;
	workq_run_done(((struct sched *)arg)->wq);
}

static char *
b64(const void *p, size_t n)
{
	char *out = xmalloc(4 * ((n + 2) / 3) + 1);

	EVP_EncodeBlock((unsigned char *)out, p, (int)n);
	return out;
}

struct sched *
sched_new(struct event_base *base, struct spool *sp, const struct config *cfg,
    struct msg_core *msg, char *err, size_t errsize)
{
	struct sched *s = xcalloc(1, sizeof(*s));
	char why[256];

	s->base = base;
	s->sp = sp;
	s->cfg = config_ref(cfg);
	s->msg = msg;
	if ((s->dns = dns_new(base, cfg->dns_resolver, cfg->dns_timeout_ms, err, errsize)) == NULL) {
		config_free(&s->cfg);
		free(s);
		return NULL;
	}
	s->me = myself_new(cfg);
	/* where TLS is required a context is a must: no start without one */
	if ((s->ssl_required = tls_client_ctx_required(cfg, err, errsize)) == NULL) {
		myself_free(&s->me);
		dns_free(&s->dns);
		config_free(&s->cfg);
		free(s);
		return NULL;
	}
	/* opportunistic TLS can do without: mail goes in the clear, as it would without STARTTLS */
	if ((s->ssl_may = tls_client_ctx_new(TLS_PROFILE_OPPORTUNISTIC, NULL, why,
	    sizeof(why))) == NULL)
		log_warn("outbound: %s; STARTTLS will not be used where it is optional", why);
	if (cfg->smarthost_user[0] != '\0') {
		/* RFC 4616: authzid (empty), NUL, authcid, NUL, password */
		size_t ul = strlen(cfg->smarthost_user), pl = strlen(cfg->smarthost_password);
		char *plain = xmalloc(ul + pl + 2);

		plain[0] = '\0';
		memcpy(plain + 1, cfg->smarthost_user, ul);
		plain[ul + 1] = '\0';
		memcpy(plain + ul + 2, cfg->smarthost_password, pl);
		s->auth_plain = b64(plain, ul + pl + 2);
		s->auth_user = b64(cfg->smarthost_user, ul);
		s->auth_pass = b64(cfg->smarthost_password, pl);
		free(plain);
	}
	s->wq = workq_new(cfg->io_threads);
	s->max_local = cfg->io_threads * 2;
	heap_init(&s->due);
	index_init(s);
	s->wq_ev = event_new(base, workq_fd(s->wq), EV_READ | EV_PERSIST, on_wq, s);
	s->timer = evtimer_new(base, on_timer, s);
	s->sweep_ev = event_new(base, -1, EV_PERSIST, on_sweep, s);
	ASSERT(s->wq_ev != NULL && s->timer != NULL && s->sweep_ev != NULL);
	event_add(s->wq_ev, NULL);
	event_add(s->sweep_ev, &sweep_every);
	return s;
}

void
sched_add(struct sched *s, struct spool_msg *m)
{
	struct qmsg *q = xcalloc(1, sizeof(*q));

	heap_node_init(&q->hn);
	q->s = s;
	q->m = m;
	memcpy(q->qid, m->qid, sizeof(q->qid));
	q->arrival_us = m->arrival_us;
	q->release_s = m->release_s;
	q->rcpt_active = xcalloc(m->nrcpts, 1);
	q->ops_tail = &q->ops;
	for (size_t i = 0; i < m->nrcpts; i++)
		q->has_failed_before |= m->rcpts[i].attempts > 0;
	index_add(s, q);
	if (s->is_stopping)
		return;		/* in the spool: the next start delivers it */
	if (!m->is_held && q_due_s(q) <= sched_now_s()) {
		q_start(q, 0);
		return;
	}
	q_wait(q);
}

unsigned
sched_running(const struct sched *s)
{
	return s->inflight_work;
}

void
sched_stop(struct sched *s)
{
	s->is_stopping = 1;
	evtimer_del(s->timer);
	agent_maildir.stop(s);
	agent_smtp.stop(s);
	agent_lmtp.stop(s);
}

void
sched_free(struct sched **sp)
{
	struct sched *s = *sp;

	if (s == NULL)
		return;
	if (!s->is_stopping)
		sched_stop(s);
	/* the worker jobs in flight finish; their results are in the spool already */
	while (s->inflight_work > 0) {
		struct pollfd p = { .fd = workq_fd(s->wq), .events = POLLIN };

		(void)poll(&p, 1, 1000);
		workq_run_done(s->wq);
	}
	workq_free(&s->wq);
	event_free(s->wq_ev);
	event_free(s->timer);
	event_free(s->sweep_ev);
	while (s->first != NULL) {
		struct qmsg *q = s->first;

		ops_drop(q);
		q_drop(q);
	}
	index_clear(s);
	heap_clear(&s->due);
	dests_sweep(s, 1);
	dns_free(&s->dns);
	myself_free(&s->me);
	SSL_CTX_free(s->ssl_may);
	SSL_CTX_free(s->ssl_required);
	free(s->auth_plain);
	free(s->auth_user);
	free(s->auth_pass);
	config_free(&s->cfg);
	free(s);
	*sp = NULL;
}

void
sched_set_config(struct sched *s, const struct config *cfg)
{
	config_free(&s->cfg);
	s->cfg = config_ref(cfg);
	/* a reload opens and closes listeners: a next hop back here is judged by those now */
	myself_free(&s->me);
	s->me = myself_new(cfg);
}
