/*
 * outcome.c - the record step: every attempt ends here, on a worker
 * thread: D records for delivered recipients, T records (attempt count,
 * next try) for deferred ones, and for permanent failures a notice built
 * by dsn.c. The notice is committed to the spool as a new message first;
 * only then are the failed recipients marked done (SECURITY.md, bounces).
 * What was recorded goes back to the loop in the job's outcomes
 * (job_finish applies them): workers never change the envelope.
 */
#include "sched/sched_int.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deliver/dsn.h"
#include "msg/msg.h"
#include "sched/backoff.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/log_event.h"
#include "util/xalloc.h"

static void
rid_of(const struct spool_msg *m, size_t i, char *out, size_t size)
{
	snprintf(out, size, "%s.%zu", m->qid, i + 1);
}

struct header_sink {
	struct buf b;
};

static int
header_sink(void *ctx, const void *p, size_t n)
{
	struct header_sink *h = ctx;
	size_t room = h->b.max - h->b.len;

	(void)buf_append(&h->b, p, n < room ? n : room);
	/* the header section is all a notice returns: stop once its end is in */
	if (dsn_header_len(h->b.data, h->b.len) < h->b.len || h->b.len == h->b.max)
		return -1;
	return 0;
}

/* Builds a notice of kind is_delay for the outcomes that want one, into out. */
static void
build_notice(struct job *j, int is_delay, const char *to, struct buf *out)
{
	struct sched *s = j->s;
	const struct spool_msg *m = j->q->m;
	struct dsn_rcpt *dr = xcalloc(j->n, sizeof(*dr));
	struct header_sink h;
	struct dsn_msg dm = { 0 };
	size_t n = 0;

	for (size_t k = 0; k < j->n; k++) {
		const struct outcome *o = &j->out[k];
		const struct spool_rcpt *r = &m->rcpts[o->i];

		if (is_delay ? !o->is_delay_notice : o->kind != OUT_PERM)
			continue;
		dr[n].orig = r->orig;
		dr[n].final = r->to;
		dr[n].status = o->status;
		dr[n].remote_mta = o->host[0] ? o->host : NULL;
		dr[n].code = o->code;
		dr[n].diag = o->text;
		n++;
	}
	buf_init(&h.b, DSN_MAX_HEADERS + 4096);
	(void)spool_msg_read_content(s->sp, m->qid, header_sink, &h);
	dm.hostname = j->cfg->hostname;
	dm.qid = m->qid;
	dm.bounce_qid = m->qid;
	dm.to = to;
	dm.arrival_s = (int64_t)(m->arrival_us / 1000000u);
	dm.now_s = (int64_t)sched_now_s();
	dm.is_delay = is_delay;
	dm.retry_until_s = dm.arrival_s + j->cfg->lifetime_s;
	dm.rcpts = dr;
	dm.nrcpts = n;
	dm.headers = h.b.data ? h.b.data : (const uint8_t *)"";
	dm.headers_len = h.b.len;
	buf_init(out, DSN_MAX_HEADERS + 64 * 1024 + n * 2048);
	if (dsn_build(&dm, out) == -1) {
		log_note(LOG_ERR, m->qid, "cannot build the delivery status notification");
		buf_reset(out);
	}
	buf_clear(&h.b);
	free(dr);
}

/* Who a notice about m goes to: the sender, postmaster for <> mail, or nobody (NULL). */
static const char *
notice_to(const struct config *cfg, const struct spool_msg *m)
{
	if (m->sender[0] != '\0')
		return m->sender;
	if (cfg->null_sender_to[0] == '\0')
		return NULL;
	/* a notice to postmaster that failed is dropped: never a loop (SECURITY.md 6) */
	for (size_t i = 0; i < m->nrcpts; i++)
		if (strcmp(m->rcpts[i].to, cfg->null_sender_to) == 0)
			return NULL;
	return cfg->null_sender_to;
}

/* The reason for a log line: who said what, or our own reason. */
static const char *
describe(const struct outcome *o, char *out, size_t size)
{
	if (o->code != 0 && o->host[0] != '\0')
		snprintf(out, size, "host %s said: %d %s %s", o->relay, o->code, o->status, o->text);
	else if (o->code != 0)
		snprintf(out, size, "%d %s %s", o->code, o->status, o->text);
	else
		snprintf(out, size, "%s", o->text);
	return out;
}

void
outcome_emit(const struct job *j, const struct outcome *o)
{
	const struct qmsg *q = j->q;
	const struct spool_msg *m = q->m;
	struct event e = {
		.time_us = clock_wall_us(),
		.message_id = m->qid,
		.rcpt_index = o->i,
		.recipient = m->rcpts[o->i].to,
		.sender = m->sender,
		.code = o->code,
		.dsn = o->status,
		.reply = o->text,
		.relay = o->relay,
		.agent = j->agent != NULL ? j->agent->name : "",
		.api_meta = m->api_meta,
		.arrival_us = m->arrival_us,
		.tls_version = o->tls_version,
		.conn = o->conn[0] != '\0' ? o->conn : NULL,
	};

	if (q->s->events == NULL)
		return;
	if (o->kind == OUT_OK) {
		e.type = EVENT_DELIVERED;
	} else if (!o->is_done) {
		/* a failure kept for another try (a bounce whose notice could not be queued too) */
		e.type = EVENT_DEFERRED;
		e.attempt = o->attempts;
		e.next_attempt_s = o->next_try_s;
	} else {
		e.type = o->is_suppressed ? EVENT_SUPPRESSED : o->is_expired ? EVENT_EXPIRED :
		    EVENT_BOUNCED;
		if (!o->is_suppressed)
			events_classify(o->code, o->status, o->text, &e.bounce_class,
			    &e.bounce_category);
		if (o->is_expired)
			e.bounce_class = BOUNCE_SOFT;	/* the address may be fine: it was not reached */
	}
	events_emit(q->s->events, &e);
}

void
deleted_emit(const struct qmsg *q)
{
	const struct spool_msg *m = q->m;
	struct event e = {
		.type = EVENT_DELETED,
		.time_us = clock_wall_us(),
		.message_id = m->qid,
		.sender = m->sender,
		.reply = "deleted from the queue by an operator",
		.api_meta = m->api_meta,
		.arrival_us = m->arrival_us,
	};

	if (q->s->events == NULL)
		return;
	/* the recipients done before stay what they became */
	for (size_t i = 0; i < m->nrcpts; i++) {
		if (m->rcpts[i].is_done)
			continue;
		e.rcpt_index = i;
		e.recipient = m->rcpts[i].to;
		events_emit(q->s->events, &e);
	}
}

/* Worker: says of each of a record step's marks that it could not be recorded (err). */
static void
marks_lost(const struct job *j, const struct spool_mark *marks, size_t n, int err)
{
	const struct spool_msg *m = j->q->m;
	char rid[QID_LEN + 24];

	for (size_t k = 0; k < n; k++) {
		rid_of(m, marks[k].i, rid, sizeof(rid));
		if (!marks[k].is_done)
			log_note(LOG_ERR, rid, "cannot record the deferral: %s", strerror(err));
		else if (marks[k].status[0] == '2')
			log_note(LOG_ERR, rid, "delivered, but cannot record it (%s): a restart may "
			    "deliver it again", strerror(err));
		else
			log_note(LOG_ERR, rid, "cannot record the failure: %s", strerror(err));
	}
}

/*
 * Worker: writes a record step's marks at once (one write, one shared
 * flush), and says of each that it could not be recorded if so.
 */
static void
write_marks(const struct job *j, const struct spool_mark *marks, size_t n)
{
	if (n == 0 || spool_msg_mark(j->s->sp, j->q->m->qid, marks, n) == 0)
		return;
	marks_lost(j, marks, n, errno);
}

/*
 * Worker: the log lines of a record step, once its records are durable
 * (write_marks): whoever reads "deferred" in the log finds it so in the
 * queue a moment later, not a flush later. Expiry was logged as it was found.
 */
static void
log_outcomes(const struct job *j, const char *to, uint64_t now)
{
	const struct spool_msg *m = j->q->m;

	for (size_t k = 0; k < j->n; k++) {
		const struct outcome *o = &j->out[k];
		const struct spool_rcpt *r = &m->rcpts[o->i];
		char rid[QID_LEN + 24], why[sizeof(o->text) + 400];
		double delay_s = (double)(clock_wall_us() - m->arrival_us) / 1e6;

		rid_of(m, o->i, rid, sizeof(rid));
		if (o->kind == OUT_OK && j->agent == &agent_maildir)
			log_ev_delivered(rid, r->to, r->mailbox, delay_s, o->status);
		else if (o->kind == OUT_OK)
			log_ev_relayed(rid, r->to, o->relay, delay_s, o->status,
			    o->tls_version[0] ? o->tls_version : NULL,
			    o->tls_cipher[0] ? o->tls_cipher : NULL, config_tls_name(o->tls),
			    o->is_verified, o->text);
		else if (o->kind == OUT_TEMP)
			log_ev_deferred(rid, r->to, o->attempts,
			    (unsigned)(o->next_try_s > now ? o->next_try_s - now : 0),
			    describe(o, why, sizeof(why)));
		else if (o->kind == OUT_PERM && to == NULL)
			log_ev_bounced(rid, r->to, o->relay[0] ? o->relay : "-", o->status,
			    describe(o, why, sizeof(why)), "-");
	}
}

/* What a record step writes, worked out before it is written (record_plan). */
struct record_plan {
	struct spool_mark *marks;
	size_t nmarks;
	const char *to;			/* who a notice goes to, NULL for nobody */
	uint64_t now;
	int any_perm, any_delay, is_all_ok;
};

/*
 * Worker: the first half of a record step: lifetime, and the D and T
 * records to write into p. Returns 0 when the queue file is gone (nothing
 * to record), else 1; record_after() follows once the records are written.
 */
static int
record_plan(struct job *j, struct record_plan *p)
{
	struct sched *s = j->s;
	const struct config *cfg = j->cfg;	/* a worker: the job's generation, not s's */
	const struct spool_msg *m = j->q->m;
	uint64_t now = sched_now_s(), arrival = m->arrival_us / 1000000u;

	*p = (struct record_plan){ .to = notice_to(cfg, m), .now = now, .is_all_ok = j->is_whole };
	if (spool_has(s->sp, m->qid) == 0) {
		/* removed by hand while it was out: nothing to record, nobody to tell */
		j->is_gone = 1;
		return 0;
	}

	for (size_t k = 0; k < j->n; k++)
		p->is_all_ok &= j->out[k].kind == OUT_OK;
	p->marks = xcalloc(j->n, sizeof(*p->marks));
	for (size_t k = 0; k < j->n; k++) {
		struct outcome *o = &j->out[k];
		const struct spool_rcpt *r = &m->rcpts[o->i];
		char rid[QID_LEN + 24], why[sizeof(o->text) + 400];
		unsigned delay;
		uint64_t prev;

		rid_of(m, o->i, rid, sizeof(rid));
		if (o->kind == OUT_OK) {
			/*
			 * A Maildir delivery wrote its D record itself (maildir_deliver). A remote
			 * one that finishes the message removes the file instead: D records would
			 * cost a flush each, and a crash before the removal is durable can only
			 * deliver again, never lose.
			 */
			if (!p->is_all_ok && j->agent != &agent_maildir)
				p->marks[p->nmarks++] = (struct spool_mark){ .i = o->i, .is_done = 1,
				    .status = o->status };
			o->is_recorded = o->is_done = 1;
			continue;
		}
		if (o->kind == OUT_TEMP && now >= arrival + cfg->lifetime_s) {
			/* RFC 3463 4.4.7: delivery time expired; the last reason says why */
			char gave_up[sizeof(o->text)];

			log_ev_expired(rid, r->to, r->attempts + 1, describe(o, why, sizeof(why)));
			snprintf(gave_up, sizeof(gave_up), "%.400s (gave up after %u attempts)", o->text,
			    r->attempts + 1);
			memcpy(o->text, gave_up, sizeof(o->text));
			o->kind = OUT_PERM;
			o->is_expired = 1;
			if (o->status[0] == '\0' || o->status[0] == '4')
				snprintf(o->status, sizeof(o->status), "%s", "4.4.7");
		}
		if (o->kind == OUT_TEMP) {
			/* the previous attempt's time, from what the spool holds: survives a restart */
			prev = r->attempts == 0 ? arrival :
			    r->next_try_s - backoff_delay_s(r->attempts, cfg->retry_min_s, cfg->retry_max_s);
			o->attempts = r->attempts + 1;
			delay = backoff_delay_s(o->attempts, cfg->retry_min_s, cfg->retry_max_s);
			o->next_try_s = now + delay;
			o->is_recorded = 1;
			p->marks[p->nmarks++] = (struct spool_mark){ .i = o->i, .attempts = o->attempts,
			    .next_try_s = o->next_try_s, .reason = o->text };
			if (cfg->delay_notice_s > 0 && now >= arrival + cfg->delay_notice_s &&
			    prev < arrival + cfg->delay_notice_s && m->sender[0] != '\0') {
				o->is_delay_notice = 1;
				p->any_delay = 1;
			}
			continue;
		}
		if (o->kind == OUT_PERM) {
			p->any_perm = 1;
			if (p->to == NULL) {
				/* RFC 5321 4.5.5: no notice about a notice; the log says it all */
				p->marks[p->nmarks++] = (struct spool_mark){ .i = o->i, .is_done = 1,
				    .status = o->status };
				o->is_recorded = o->is_done = 1;
			}
		}
	}
	return 1;
}

/* Worker: the second half, once p's records are written: log lines, removal, notices. */
static void
record_after(struct job *j, struct record_plan *p)
{
	struct sched *s = j->s;
	const struct spool_msg *m = j->q->m;

	free(p->marks);
	p->marks = NULL;
	log_outcomes(j, p->to, p->now);
	if (p->is_all_ok) {
		if (q_remove_file(s, m) == -1) {
			log_note(LOG_ERR, m->qid, "cannot remove from the queue: %s",
			    strerror(errno));
		} else {
			j->is_removed = 1;
			log_ev_removed(m->qid, "delivered");
		}
	}
	if (p->any_perm && p->to != NULL) {
		build_notice(j, 0, p->to, &j->dsn);
		j->has_perm_unmarked = 1;
	}
	if (p->any_delay)
		build_notice(j, 1, m->sender, &j->delay_dsn);
}

/* Worker: D and T records, lifetime, and the notices' bytes. */
void
record(struct job *j)
{
	struct record_plan p;

	if (!record_plan(j, &p))
		return;
	write_marks(j, p.marks, p.nmarks);
	record_after(j, &p);
}

/*
 * Many jobs recorded together: a destination found down defers every
 * message queued for it at once. One worker item writes each one's
 * records, and all of them join one group commit (spool_msgs_mark_then);
 * no worker waits for it: once it is done, a second item logs and builds
 * the notices (record_after), and the loop takes the jobs back. A record
 * step each would hold both workers for a flush after another (and a
 * flush can take seconds when the disk is busy), while every other
 * destination's record steps (the removal of what they delivered, which
 * waits for no flush) queued behind them.
 */
struct record_batch {
	struct work work;		/* first: the writing, then (after) the rest */
	struct work after;
	struct sched *s;
	size_t n, nsets;
	struct job *jobs[RECORD_BATCH_MAX];
	struct record_plan plans[RECORD_BATCH_MAX];
	int is_planned[RECORD_BATCH_MAX];
	struct spool_mark_set sets[RECORD_BATCH_MAX];
};

/* Flush thread: the batch's records are durable (or failed); the rest goes to a worker. */
static void
record_batch_flushed(void *ctx)
{
	struct record_batch *b = ctx;

	workq_submit(b->s->wq, &b->after);
}

/*
 * Worker, the last it does with b (its then(): the worker touches b no
 * more): the records are written and go to the flush, at whose end b may
 * be done and freed before this returns.
 */
static void
record_batch_write(struct work *w)
{
	struct record_batch *b = (struct record_batch *)w;

	spool_msgs_mark_then(b->s->sp, b->sets, b->nsets, record_batch_flushed, b);
}

static void
record_batch_run(struct work *w)
{
	struct record_batch *b = (struct record_batch *)w;

	for (size_t k = 0; k < b->n; k++) {
		struct job *j = b->jobs[k];

		b->is_planned[k] = record_plan(j, &b->plans[k]);
		if (b->is_planned[k])
			b->sets[b->nsets++] = (struct spool_mark_set){ .qid = j->q->m->qid,
				.marks = b->plans[k].marks, .n = b->plans[k].nmarks };
	}
	/* no done() for this item: the flush's end submits b->after, whose done() is the batch's */
	w->then = record_batch_write;
}

static void
record_batch_after(struct work *w)
{
	struct record_batch *b = (struct record_batch *)((char *)w -
	    offsetof(struct record_batch, after));

	for (size_t k = 0, set = 0; k < b->n; k++) {
		if (!b->is_planned[k])
			continue;
		if (b->sets[set].err != 0)
			marks_lost(b->jobs[k], b->plans[k].marks, b->plans[k].nmarks,
			    b->sets[set].err);
		set++;
		record_after(b->jobs[k], &b->plans[k]);
	}
}

static void record_finish(struct job *j);

static void
record_batch_done(struct work *w)
{
	struct record_batch *b = (struct record_batch *)((char *)w -
	    offsetof(struct record_batch, after));

	b->s->inflight_work--;
	for (size_t k = 0; k < b->n; k++)
		record_finish(b->jobs[k]);
	free(b);
}

void
record_submit_many(struct sched *s, struct job **jobs, size_t n)
{
	while (n > 0) {
		struct record_batch *b = xcalloc(1, sizeof(*b));

		b->s = s;
		b->n = n < RECORD_BATCH_MAX ? n : RECORD_BATCH_MAX;
		memcpy(b->jobs, jobs, b->n * sizeof(*jobs));
		jobs += b->n;
		n -= b->n;
		b->work.run = record_batch_run;
		b->after.run = record_batch_after;
		b->after.done = record_batch_done;
		s->inflight_work++;
		workq_submit(s->wq, &b->work);
	}
}

/* Worker: the notice is in the queue (or could not be): the failed recipients' records. */
static void
mark_perm_run(struct work *w)
{
	struct job *j = (struct job *)w;
	const struct spool_msg *m = j->q->m;
	uint64_t next = sched_now_s() + j->cfg->retry_min_s;
	struct spool_mark *marks = xcalloc(j->n, sizeof(*marks));
	size_t nmarks = 0;

	for (size_t k = 0; k < j->n; k++) {
		struct outcome *o = &j->out[k];
		const struct spool_rcpt *r = &m->rcpts[o->i];
		char rid[QID_LEN + 24];

		if (o->kind != OUT_PERM)
			continue;
		rid_of(m, o->i, rid, sizeof(rid));
		if (j->notice_ok) {
			marks[nmarks++] = (struct spool_mark){ .i = o->i, .is_done = 1,
			    .status = o->status };
			o->is_recorded = o->is_done = 1;
			log_ev_bounced(rid, r->to, o->relay[0] ? o->relay : "-", o->status, o->text,
			    j->notice_qid[0] ? j->notice_qid : "-");
		} else {
			/* the notice is not safe: keep the recipient, try again (and notify) later */
			o->is_recorded = 1;
			o->attempts = r->attempts;
			o->next_try_s = next;
			snprintf(o->text, sizeof(o->text), "the failure notice could not be queued");
			marks[nmarks++] = (struct spool_mark){ .i = o->i, .attempts = r->attempts,
			    .next_try_s = next, .reason = o->text };
		}
	}
	write_marks(j, marks, nmarks);
	free(marks);
}

static void
mark_perm_done(struct work *w)
{
	struct job *j = (struct job *)w;

	j->s->inflight_work--;
	job_finish(j);
}

static void
on_delay_committed(void *ctx, const struct msg_result *r)
{
	struct sched *s = ctx;

	s->inflight_work--;
	if (r->status == MSG_QUEUED)
		log_note(LOG_INFO, r->qid, "delay notice queued");
	else
		log_note(LOG_ERR, r->qid, "the delay notice could not be queued: %s", r->text);
}

static void
on_notice_committed(void *ctx, const struct msg_result *r)
{
	struct job *j = ctx;
	struct sched *s = j->s;

	s->inflight_work--;
	j->notice_ok = r->status == MSG_QUEUED;
	if (j->notice_ok)
		memcpy(j->notice_qid, r->qid, sizeof(j->notice_qid));	/* for the bounced lines */
	else
		log_note(LOG_ERR, j->q->m->qid, "the failure notice could not be queued (%s); "
		    "retrying later", r->text);
	sched_submit(s, j, mark_perm_run, mark_perm_done);
}

/*
 * Queues a notice (bytes in b, taken over when it is queued: b is left
 * empty) from us (sender <>) to addr through the submission core, which
 * calls done(ctx, result) once it is durable (or failed). Returns -1 when
 * addr reaches nobody (a local sender that is gone).
 */
static int
queue_notice(struct sched *s, const char *addr, struct buf *b,
    void (*done)(void *ctx, const struct msg_result *r), void *ctx)
{
	struct spool_msg *n = msg_env_new(s->msg, SPOOL_FROM_NOTICE);
	struct msg_sub *sub;
	char err[512];

	if (msg_env_add_rcpt(s->msg, n, addr, err, sizeof(err)) == -1) {
		log_note(LOG_INFO, n->qid, "no notice: %s", err);
		spool_msg_free(&n);
		return -1;
	}
	sub = msg_sub_new(s->msg, n, "notice");
	/* all the bytes are in hand: they go in pieces, as the content step and the spool take them */
	msg_sub_write_whole(sub, b);
	s->inflight_work++;
	msg_sub_end(sub, done, ctx);
	return 0;
}

/* Loop: the record step is done; notices go into the queue. */
void
record_done(struct work *w)
{
	struct job *j = (struct job *)w;

	j->s->inflight_work--;
	record_finish(j);
}

static void
record_finish(struct job *j)
{
	struct sched *s = j->s;
	const char *to = notice_to(j->cfg, j->q->m);

	if (s->is_stopping) {
		/* no new messages now: the failed recipients are still pending, and notified later */
		job_finish(j);
		return;
	}
	if (j->delay_dsn.len > 0)
		(void)queue_notice(s, j->q->m->sender, &j->delay_dsn, on_delay_committed, s);
	if (j->has_perm_unmarked) {
		if (j->dsn.len > 0 && to != NULL &&
		    queue_notice(s, to, &j->dsn, on_notice_committed, j) == 0)
			return;
		/* nobody to tell (a local sender that is gone), or no notice could be built */
		j->notice_ok = j->dsn.len > 0;
		sched_submit(s, j, mark_perm_run, mark_perm_done);
		return;
	}
	job_finish(j);
}

void
record_run(struct work *w)
{
	record((struct job *)w);
}

void
job_fail_all(struct job *j, enum outcome_kind kind, int code, const char *status,
    const char *text)
{
	for (size_t k = 0; k < j->n; k++) {
		struct outcome *o = &j->out[k];

		o->kind = kind;
		o->code = code;
		snprintf(o->status, sizeof(o->status), "%s", status);
		snprintf(o->text, sizeof(o->text), "%s", text);
	}
}
