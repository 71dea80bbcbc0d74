/*
 * sched.c - the delivery scheduler (see sched.h).
 *
 * A message (struct qmsg) sits in the due-time heap between attempts. When
 * it is due, its due recipients become jobs: one local job (Maildir, on a
 * worker thread) and one job per destination (struct dest) for the remote
 * ones. A destination resolves its next hop (dns.c), opens connections up
 * to its limits (smtp_client.c), hands each ready connection the next job,
 * keeps idle connections for reuse, and drops them after
 * outbound.connection_idle. A job's content is read on a worker thread
 * when a connection is ready for it, so memory follows connections, not
 * the queue.
 *
 * Every attempt ends in the record step, on a worker thread: D records for
 * delivered recipients, T records (attempt count, next try) for deferred
 * ones, and for permanent failures a notice built by dsn.c. The notice is
 * committed to the spool as a new message first; only then are the failed
 * recipients marked done (SECURITY.md, bounces). When a message's jobs are
 * all back, it returns to the heap, or leaves the queue when every
 * recipient is done.
 */
#include "sched/sched.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "deliver/deliver.h"
#include "deliver/dsn.h"
#include "deliver/smtp_client.h"
#include "dns/dns.h"
#include "msg/msg.h"
#include "sched/backoff.h"
#include "sched/health.h"
#include "sched/heap.h"
#include "sched/myself.h"
#include "util/ascii.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/log_event.h"
#include "util/workq.h"
#include "util/xalloc.h"

#define DNS_CACHE_S 60		/* how long a destination keeps its resolved addresses */

struct qmsg {
	struct heap_node hn;
	struct sched *s;
	struct spool_msg *m;
	unsigned inflight;		/* jobs out */
	int is_removed;			/* its file is gone already (record() removed it) */
};

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
	char tls_cipher[64];
	int is_expired, is_delay_notice;
};

struct dest;
struct oconn;

struct job {
	struct work work;		/* first: the job in flight on a worker */
	struct sched *s;
	struct qmsg *q;
	struct dest *d;			/* NULL for a local job */
	struct oconn *oc;		/* the connection it was given to */
	struct outcome *out;
	size_t n;
	struct job *next;
	/* remote: the content, dot-stuffed, and the protocol's view of it */
	struct buf body;
	int load_err;
	const char **rcpts;
	struct smtpc_result *results;
	struct smtpc_txn txn;
	/* the record step's notices */
	struct buf dsn, delay_dsn;
	char notice_qid[QID_LEN + 1];	/* the failure notice's, once queued ("" before) */
	int has_perm_unmarked;		/* failed recipients to mark once the notice is in */
	int is_loading;			/* load_run/load_done in flight */
	int is_whole;			/* it holds every pending recipient of the message */
	int notice_ok;
};

struct oconn {
	struct dest *d;
	struct smtp_out *c;
	struct job *job;
	int is_ready;			/* has been ready at least once */
	struct event *idle_ev;
	struct oconn *next;		/* in d->conns */
	int is_idle;
	char id[32];
};

struct dest {
	struct sched *s;
	char key[640];
	struct config_nexthop hop;
	int use_mx;
	char helo[256], source[64];
	struct smtp_out_conf cconf;
	struct job *qhead, *qtail;
	size_t nqueued;
	unsigned nconns, nopening;
	struct oconn *conns;
	struct dns_result *res;
	uint64_t res_expires_s;
	int is_resolving;
	uint64_t window_start_s;
	unsigned window_count;
	struct event *rate_ev;
	struct dest_health health;	/* down after a failed connection: no flood of new ones */
	char down_why[SMTPC_TEXT + 160];	/* why it went down, for the messages it defers */
	struct dest *next;
};

struct sched {
	struct event_base *base;
	struct spool *sp;
	const struct config *cfg;
	struct msg_core *msg;		/* notices enter the queue through it */
	struct myself *me;		/* our own listening addresses: a next hop must not be one */
	struct workq *wq;
	struct event *wq_ev, *timer;
	struct heap due;
	struct dns *dns;
	SSL_CTX *ssl_ctx;
	char *auth_plain, *auth_user, *auth_pass;
	struct dest *dests;
	struct job *local_head, *local_tail;
	unsigned running_local, max_local;
	unsigned inflight_work;		/* worker jobs and notice commits out */
	unsigned nconns;
	unsigned conn_seq;
	int is_stopping;
};

static uint64_t
now_s(void)
{
	return clock_wall_us() / 1000000u;
}

static void rid_of(const struct spool_msg *m, size_t i, char *out, size_t size)
{
	snprintf(out, size, "%s.%zu", m->qid, i + 1);
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

static void
submit(struct sched *s, struct job *j, void (*run)(struct work *), void (*done)(struct work *))
{
	j->work.run = run;
	j->work.done = done;
	s->inflight_work++;
	workq_submit(s->wq, &j->work);
}

/* ---- the heap of waiting messages ---- */

static void
arm_timer(struct sched *s)
{
	struct heap_node *top = heap_top(&s->due);
	uint64_t now = now_s();
	struct timeval tv = { 0, 0 };

	if (top == NULL || s->is_stopping) {
		evtimer_del(s->timer);
		return;
	}
	if (top->key > now)
		tv.tv_sec = (time_t)(top->key - now > 3600 ? 3600 : top->key - now);
	evtimer_add(s->timer, &tv);
}

static void q_start(struct qmsg *q);

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct sched *s = arg;
	uint64_t now = now_s();
	struct heap_node *n;

	(void)fd, (void)what;
	while (!s->is_stopping && (n = heap_top(&s->due)) != NULL && n->key <= now) {
		heap_pop(&s->due);
		q_start((struct qmsg *)n);
	}
	arm_timer(s);
}

static void
remove_run(struct work *w)
{
	struct job *j = (struct job *)w;
	const char *qid = j->q->m->qid;

	if (spool_msg_remove(j->s->sp, qid) == -1)
		log_err("%s: cannot remove from the queue: %s", qid, strerror(errno));
	else
		log_ev_removed(qid, "delivered");
}

static void
remove_done(struct work *w)
{
	struct job *j = (struct job *)w;

	j->s->inflight_work--;
	spool_msg_free(&j->q->m);
	free(j->q);
	free(j);
}

/* Every job of q is back: to the heap, or out of the queue. */
static void
q_reschedule(struct qmsg *q)
{
	struct sched *s = q->s;
	uint64_t due = msg_due_s(q->m);

	if (due == UINT64_MAX && q->is_removed) {
		spool_msg_free(&q->m);
		free(q);
		return;
	}
	if (due == UINT64_MAX) {
		struct job *j = xcalloc(1, sizeof(*j));

		j->s = s;
		j->q = q;
		submit(s, j, remove_run, remove_done);
		return;
	}
	q->hn.key = due;
	heap_push(&s->due, &q->hn);
	arm_timer(s);
}

/* ---- the record step ---- */

static void
job_free(struct job *j)
{
	buf_clear(&j->body);
	buf_clear(&j->dsn);
	buf_clear(&j->delay_dsn);
	free(j->out);
	free(j->rcpts);
	free(j->results);
	free(j);
}

static void
job_finish(struct job *j)
{
	struct qmsg *q = j->q;

	job_free(j);
	if (--q->inflight > 0)
		return;
	if (q->s->is_stopping) {
		spool_msg_free(&q->m);	/* it stays in the spool for the next start */
		free(q);
		return;
	}
	q_reschedule(q);
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
	dm.hostname = s->cfg->hostname;
	dm.qid = m->qid;
	dm.bounce_qid = m->qid;
	dm.to = to;
	dm.arrival_s = (int64_t)(m->arrival_us / 1000000u);
	dm.now_s = (int64_t)now_s();
	dm.is_delay = is_delay;
	dm.retry_until_s = dm.arrival_s + s->cfg->lifetime_s;
	dm.rcpts = dr;
	dm.nrcpts = n;
	dm.headers = h.b.data ? h.b.data : (const uint8_t *)"";
	dm.headers_len = h.b.len;
	buf_init(out, DSN_MAX_HEADERS + 64 * 1024 + n * 2048);
	if (dsn_build(&dm, out) == -1) {
		log_err("%s: cannot build the delivery status notification", m->qid);
		buf_reset(out);
	}
	buf_clear(&h.b);
	free(dr);
}

/* Who a notice about m goes to: the sender, postmaster for <> mail, or nobody (NULL). */
static const char *
notice_to(const struct sched *s, const struct spool_msg *m)
{
	if (m->sender[0] != '\0')
		return m->sender;
	if (s->cfg->null_sender_to[0] == '\0')
		return NULL;
	/* a notice to postmaster that failed is dropped: never a loop (SECURITY.md 6) */
	for (size_t i = 0; i < m->nrcpts; i++)
		if (strcmp(m->rcpts[i].to, s->cfg->null_sender_to) == 0)
			return NULL;
	return s->cfg->null_sender_to;
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

/* Worker: D and T records, lifetime, and the notices' bytes. */
static void
record(struct job *j)
{
	struct sched *s = j->s;
	const struct config *cfg = s->cfg;
	struct spool_msg *m = j->q->m;
	uint64_t now = now_s(), arrival = m->arrival_us / 1000000u;
	int any_perm = 0, any_delay = 0;
	const char *to = notice_to(s, m);
	int is_all_ok = j->is_whole;

	for (size_t k = 0; k < j->n; k++)
		is_all_ok &= j->out[k].kind == OUT_OK;
	for (size_t k = 0; k < j->n; k++) {
		struct outcome *o = &j->out[k];
		struct spool_rcpt *r = &m->rcpts[o->i];
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
			if (!is_all_ok && j->d != NULL &&
			    spool_msg_mark_done(s->sp, m->qid, o->i, o->status) == -1)
				log_err("%s: delivered, but cannot record it (%s): a restart may "
				    "deliver it again", rid, strerror(errno));
			r->is_done = 1;
			if (j->d == NULL)
				log_ev_delivered(rid, r->to, r->mailbox,
				    (double)(clock_wall_us() - m->arrival_us) / 1e6, o->status);
			else
				log_ev_relayed(rid, r->to, o->relay,
				    (double)(clock_wall_us() - m->arrival_us) / 1e6, o->status,
				    o->tls_version[0] ? o->tls_version : NULL,
				    o->tls_cipher[0] ? o->tls_cipher : NULL, o->text);
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
			r->attempts++;
			delay = backoff_delay_s(r->attempts, cfg->retry_min_s, cfg->retry_max_s);
			r->next_try_s = now + delay;
			if (spool_msg_mark_deferred(s->sp, m->qid, o->i, r->attempts, r->next_try_s,
			    o->text) == -1)
				log_err("%s: cannot record the deferral: %s", rid, strerror(errno));
			log_ev_deferred(rid, r->to, r->attempts, delay, describe(o, why, sizeof(why)));
			if (cfg->delay_notice_s > 0 && now >= arrival + cfg->delay_notice_s &&
			    prev < arrival + cfg->delay_notice_s && m->sender[0] != '\0') {
				o->is_delay_notice = 1;
				any_delay = 1;
			}
			continue;
		}
		if (o->kind == OUT_PERM) {
			any_perm = 1;
			if (to == NULL) {
				/* RFC 5321 4.5.5: no notice about a notice; the log says it all */
				if (spool_msg_mark_done(s->sp, m->qid, o->i, o->status) == -1)
					log_err("%s: cannot record the failure: %s", rid, strerror(errno));
				r->is_done = 1;
				log_ev_bounced(rid, r->to, o->relay[0] ? o->relay : "-", o->status,
				    describe(o, why, sizeof(why)), "-");
			}
		}
	}
	if (is_all_ok) {
		if (spool_msg_remove(s->sp, m->qid) == -1) {
			log_err("%s: cannot remove from the queue: %s", m->qid, strerror(errno));
		} else {
			j->q->is_removed = 1;
			log_ev_removed(m->qid, "delivered");
		}
	}
	if (any_perm && to != NULL) {
		build_notice(j, 0, to, &j->dsn);
		j->has_perm_unmarked = 1;
	}
	if (any_delay)
		build_notice(j, 1, m->sender, &j->delay_dsn);
}

/* Worker: the notice is in the queue (or could not be): the failed recipients' records. */
static void
mark_perm_run(struct work *w)
{
	struct job *j = (struct job *)w;
	struct sched *s = j->s;
	struct spool_msg *m = j->q->m;
	uint64_t next = now_s() + s->cfg->retry_min_s;

	for (size_t k = 0; k < j->n; k++) {
		struct outcome *o = &j->out[k];
		struct spool_rcpt *r = &m->rcpts[o->i];
		char rid[QID_LEN + 24];

		if (o->kind != OUT_PERM)
			continue;
		rid_of(m, o->i, rid, sizeof(rid));
		if (j->notice_ok) {
			if (spool_msg_mark_done(s->sp, m->qid, o->i, o->status) == -1)
				log_err("%s: cannot record the failure: %s", rid, strerror(errno));
			r->is_done = 1;
			log_ev_bounced(rid, r->to, o->relay[0] ? o->relay : "-", o->status, o->text,
			    j->notice_qid[0] ? j->notice_qid : "-");
		} else {
			/* the notice is not safe: keep the recipient, try again (and notify) later */
			r->next_try_s = next;
			if (spool_msg_mark_deferred(s->sp, m->qid, o->i, r->attempts, next,
			    "the failure notice could not be queued") == -1)
				log_err("%s: cannot record the deferral: %s", rid, strerror(errno));
		}
	}
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
		log_info("%s: delay notice queued", r->qid);
	else
		log_err("%s: the delay notice could not be queued: %s", r->qid, r->text);
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
		log_err("%s: the failure notice could not be queued (%s); retrying later",
		    j->q->m->qid, r->text);
	submit(s, j, mark_perm_run, mark_perm_done);
}

/*
 * Queues a notice (bytes in b) from us (sender <>) to addr through the
 * submission core, which calls done(ctx, result) once it is durable (or
 * failed). Returns -1 when addr reaches nobody (a local sender that is gone).
 */
static int
queue_notice(struct sched *s, const char *addr, struct buf *b,
    void (*done)(void *ctx, const struct msg_result *r), void *ctx)
{
	struct spool_msg *n = msg_env_new(s->msg, SPOOL_FROM_NOTICE);
	struct msg_sub *sub;
	char err[512];

	if (msg_env_add_rcpt(s->msg, n, addr, err, sizeof(err)) == -1) {
		log_info("%s: no notice: %s", n->qid, err);
		spool_msg_free(&n);
		return -1;
	}
	sub = msg_sub_new(s->msg, n, "notice");
	/* all the bytes are in hand: the spool buffers them, whatever it says of pausing */
	(void)msg_sub_write(sub, b->data, b->len);
	s->inflight_work++;
	msg_sub_end(sub, done, ctx);
	return 0;
}

/* Loop: the record step is done; notices go into the queue. */
static void
record_done(struct work *w)
{
	struct job *j = (struct job *)w;
	struct sched *s = j->s;
	const char *to = notice_to(s, j->q->m);

	s->inflight_work--;
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
		submit(s, j, mark_perm_run, mark_perm_done);
		return;
	}
	job_finish(j);
}

static void
record_run(struct work *w)
{
	record((struct job *)w);
}

/* ---- local deliveries ---- */

static void start_local(struct sched *s);

static void
local_run(struct work *w)
{
	struct job *j = (struct job *)w;
	struct spool_msg *m = j->q->m;
	const struct config *cfg = j->s->cfg;

	for (size_t k = 0; k < j->n; k++) {
		struct outcome *o = &j->out[k];
		struct spool_rcpt *r = &m->rcpts[o->i];
		char path[PATH_MAX], err[512];
		int n;

		if ((n = snprintf(path, sizeof(path), "%s/%s", cfg->mailbox_root, r->mailbox)) < 0 ||
		    (size_t)n >= sizeof(path)) {
			snprintf(err, sizeof(err), "mailbox path too long");
		} else if (maildir_deliver(j->s->sp, m, o->i, path, cfg->hostname, err,
		    sizeof(err)) == 0) {
			o->kind = OUT_OK;
			snprintf(o->status, sizeof(o->status), "2.0.0");
			continue;
		}
		o->kind = OUT_TEMP;
		snprintf(o->status, sizeof(o->status), "4.2.0");
		snprintf(o->text, sizeof(o->text), "%s", err);
	}
	record(j);
}

static void
local_done(struct work *w)
{
	struct job *j = (struct job *)w;
	struct sched *s = j->s;

	s->running_local--;
	record_done(w);
	start_local(s);
}

static void
start_local(struct sched *s)
{
	while (!s->is_stopping && s->local_head != NULL && s->running_local < s->max_local) {
		struct job *j = s->local_head;

		s->local_head = j->next;
		if (s->local_head == NULL)
			s->local_tail = NULL;
		s->running_local++;
		submit(s, j, local_run, local_done);
	}
}

/* ---- destinations ---- */

static void dest_kick(struct dest *d);

static void
kick_all(struct sched *s)
{
	for (struct dest *d = s->dests; d != NULL; d = d->next)
		if (d->nqueued > 0)
			dest_kick(d);
}

/* Fails every queued job of d with kind and the reason (a dead or unknown destination). */
static void
dest_fail_queued(struct dest *d, enum outcome_kind kind, int code, const char *status,
    const char *why)
{
	struct job *j;

	while ((j = d->qhead) != NULL) {
		d->qhead = j->next;
		d->nqueued--;
		for (size_t k = 0; k < j->n; k++) {
			j->out[k].kind = kind;
			j->out[k].code = code;
			snprintf(j->out[k].status, sizeof(j->out[k].status), "%s", status);
			snprintf(j->out[k].text, sizeof(j->out[k].text), "%s", why);
		}
		submit(d->s, j, record_run, record_done);
	}
	d->qtail = NULL;
}

/*
 * RFC 5321 5.1: if we are one of the hosts r names, only those preferred
 * over us may be used (the others would send the mail back to us, or
 * through a peer back to us). Returns how many are left.
 */
static size_t
drop_myself(const struct sched *s, struct dns_result *r)
{
	unsigned mine = UINT_MAX;
	size_t n = 0;

	for (size_t i = 0; i < r->ntargets; i++)
		if (myself_is(s->me, (const struct sockaddr *)&r->targets[i].sa) &&
		    r->targets[i].pref < mine)
			mine = r->targets[i].pref;
	if (mine == UINT_MAX)
		return r->ntargets;
	for (size_t i = 0; i < r->ntargets; i++)
		if (r->targets[i].pref < mine)
			r->targets[n++] = r->targets[i];
	r->ntargets = n;
	return n;
}

static void
on_dns(void *ctx, struct dns_result *r)
{
	struct dest *d = ctx;
	char why[sizeof(d->hop.host) + 64];

	d->is_resolving = 0;
	if (r->status == DNS_OK && drop_myself(d->s, r) == 0) {
		/* the words the established MTAs use, so that a postmaster knows it at once */
		snprintf(why, sizeof(why), "mail for %s loops back to myself", d->hop.host);
		dest_fail_queued(d, OUT_PERM, 554, "5.4.6", why);
		dns_result_free(&r);
		return;
	}
	switch (r->status) {
	case DNS_OK:
		dns_result_free(&d->res);
		d->res = r;
		d->res_expires_s = now_s() + DNS_CACHE_S;
		dest_kick(d);
		return;
	case DNS_NULL_MX:
		dest_fail_queued(d, OUT_PERM, 556, "5.1.10", r->why);	/* RFC 7505 3.2 */
		break;
	case DNS_NXDOMAIN:
		dest_fail_queued(d, OUT_PERM, 550, "5.1.2", r->why);
		break;
	case DNS_NO_HOST:
		dest_fail_queued(d, OUT_PERM, 550, "5.4.4", r->why);
		break;
	case DNS_TEMPFAIL:
		dest_fail_queued(d, OUT_TEMP, 0, "4.4.3", r->why);
		break;
	}
	dns_result_free(&r);
}

static void conn_ready(void *ctx, struct smtp_out *c);
static void conn_sent(void *ctx, struct smtp_out *c, struct smtpc_txn *t, const char *why);
static void conn_closed(void *ctx, struct smtp_out *c, const char *why);

static const struct smtp_out_ops conn_ops = { conn_ready, conn_sent, conn_closed };

static void
load_done(struct work *w)
{
	struct job *j = (struct job *)w;
	struct sched *s = j->s;
	struct oconn *oc = j->oc;

	s->inflight_work--;
	j->is_loading = 0;
	if (oc == NULL || s->is_stopping) {
		/* its connection went away meanwhile: back to the front of the queue */
		struct dest *d = j->d;

		buf_clear(&j->body);
		j->oc = NULL;
		if (s->is_stopping) {
			job_finish(j);
			return;
		}
		j->next = d->qhead;
		d->qhead = j;
		if (d->qtail == NULL)
			d->qtail = j;
		d->nqueued++;
		dest_kick(d);
		return;
	}
	if (j->load_err) {
		oc->job = NULL;
		j->oc = NULL;
		for (size_t k = 0; k < j->n; k++) {
			j->out[k].kind = OUT_TEMP;
			snprintf(j->out[k].status, sizeof(j->out[k].status), "4.3.0");
			snprintf(j->out[k].text, sizeof(j->out[k].text), "cannot read the queue file: %s",
			    strerror(j->load_err));
		}
		submit(s, j, record_run, record_done);
		conn_ready(oc, oc->c);
		return;
	}
	smtp_out_send(oc->c, &j->txn, &j->body);
}

struct stuff_ctx {
	struct buf *out;
	int is_bol;
};

static int
stuff_sink2(void *ctx, const void *p, size_t n)
{
	struct stuff_ctx *sc = ctx;

	return smtpc_dotstuff(p, n, &sc->is_bol, sc->out);
}

/* Worker: reads and dot-stuffs the content for the connection. */
static void
load_run(struct work *w)
{
	struct job *j = (struct job *)w;
	const struct spool_msg *m = j->q->m;
	struct stuff_ctx sc = { &j->body, 1 };

	/* dot-stuffing can at most double the bytes; the Received line is not in content_bytes */
	buf_init(&j->body, (m->content_bytes + 64 * 1024) * 2);
	if (spool_msg_read_content(j->s->sp, m->qid, stuff_sink2, &sc) == -1) {
		j->load_err = errno ? errno : EIO;
		return;
	}
	if (!sc.is_bol && buf_append_str(&j->body, "\r\n") == -1)
		j->load_err = EFBIG;
	j->txn.size = j->body.len;
}

static void
give_job(struct oconn *oc)
{
	struct dest *d = oc->d;
	struct job *j = d->qhead;

	d->qhead = j->next;
	if (d->qhead == NULL)
		d->qtail = NULL;
	d->nqueued--;
	j->next = NULL;
	j->oc = oc;
	oc->job = j;
	d->window_count++;
	j->is_loading = 1;
	submit(d->s, j, load_run, load_done);
}

static int
rate_allows(struct dest *d)
{
	uint64_t now = now_s();
	unsigned limit = d->s->cfg->max_messages_per_minute;
	struct timeval tv = { 0, 0 };

	if (limit == 0)
		return 1;
	if (now >= d->window_start_s + 60) {
		d->window_start_s = now;
		d->window_count = 0;
	}
	if (d->window_count < limit)
		return 1;
	tv.tv_sec = (time_t)(d->window_start_s + 60 - now);
	evtimer_add(d->rate_ev, &tv);
	return 0;
}

static void
on_rate(evutil_socket_t fd, short what, void *arg)
{
	(void)fd, (void)what;
	dest_kick(arg);
}

static void
on_idle(evutil_socket_t fd, short what, void *arg)
{
	struct oconn *oc = arg;

	(void)fd, (void)what;
	oc->is_idle = 0;
	smtp_out_quit(oc->c);
}

static void
dest_kick(struct dest *d)
{
	struct sched *s = d->s;
	const struct config *cfg = s->cfg;

	if (s->is_stopping)
		return;
	if (health_conns_allowed(&d->health, now_s(), 1) == 0) {
		/* down: its messages wait for their next try, with no connection now */
		if (d->nqueued > 0)
			dest_fail_queued(d, OUT_TEMP, 0, "4.4.1", d->down_why);
		return;
	}
	/* idle connections first: reuse is cheaper than a new one */
	for (struct oconn *oc = d->conns; oc != NULL && d->nqueued > 0; oc = oc->next) {
		if (!oc->is_idle || !rate_allows(d))
			continue;
		oc->is_idle = 0;
		evtimer_del(oc->idle_ev);
		give_job(oc);
	}
	while (d->nqueued > d->nopening &&
	    d->nconns < health_conns_allowed(&d->health, now_s(), cfg->max_connections_per_dest) &&
	    s->nconns < cfg->max_connections && rate_allows(d)) {
		struct oconn *oc;

		if (d->res == NULL || now_s() >= d->res_expires_s) {
			if (!d->is_resolving) {
				d->is_resolving = 1;
				dns_lookup_mail(s->dns, d->hop.host, d->use_mx,
				    d->hop.port ? d->hop.port : cfg->out_port, on_dns, d);
			}
			return;
		}
		oc = xcalloc(1, sizeof(*oc));
		oc->d = d;
		snprintf(oc->id, sizeof(oc->id), "o%u", ++s->conn_seq);
		oc->idle_ev = evtimer_new(s->base, on_idle, oc);
		oc->next = d->conns;
		d->conns = oc;
		d->nconns++;
		d->nopening++;
		s->nconns++;
		oc->c = smtp_out_new(s->base, &d->cconf, d->res->targets, d->res->ntargets,
		    &conn_ops, oc, oc->id);
	}
}

static void
conn_ready(void *ctx, struct smtp_out *c)
{
	struct oconn *oc = ctx;
	struct dest *d = oc->d;
	struct sched *s = d->s;
	struct timeval idle = { s->cfg->connection_idle_ms / 1000,
		(s->cfg->connection_idle_ms % 1000) * 1000 };

	if (!oc->is_ready) {
		oc->is_ready = 1;
		d->nopening--;
		if (health_ok(&d->health))
			log_ev_dest_up(d->key);
	}
	if (s->is_stopping || smtp_out_messages(c) >= s->cfg->max_messages_per_connection) {
		smtp_out_quit(c);
		return;
	}
	if (d->nqueued > 0 && rate_allows(d)) {
		give_job(oc);
		return;
	}
	if (s->cfg->connection_idle_ms == 0) {
		smtp_out_quit(c);
		return;
	}
	oc->is_idle = 1;
	evtimer_add(oc->idle_ev, &idle);
}

static void
conn_sent(void *ctx, struct smtp_out *c, struct smtpc_txn *t, const char *why)
{
	struct oconn *oc = ctx;
	struct job *j = oc->job;

	(void)t;
	oc->job = NULL;
	j->oc = NULL;
	buf_clear(&j->body);
	for (size_t k = 0; k < j->n; k++) {
		struct outcome *o = &j->out[k];
		const struct smtpc_result *r = &j->results[k];

		snprintf(o->relay, sizeof(o->relay), "%s", smtp_out_relay(c));
		snprintf(o->host, sizeof(o->host), "%s", smtp_out_host(c));
		snprintf(o->tls_version, sizeof(o->tls_version), "%s",
		    smtp_out_tls_version(c) ? smtp_out_tls_version(c) : "");
		snprintf(o->tls_cipher, sizeof(o->tls_cipher), "%s",
		    smtp_out_tls_cipher(c) ? smtp_out_tls_cipher(c) : "");
		o->code = r->code;
		snprintf(o->status, sizeof(o->status), "%s", r->status);
		if (r->code == 0) {
			o->kind = OUT_TEMP;
			snprintf(o->status, sizeof(o->status), "4.4.2");
			snprintf(o->text, sizeof(o->text), "%s", why ? why : "no reply");
			o->code = 0;
			o->host[0] = '\0';
			continue;
		}
		o->kind = r->code / 100 == 2 ? OUT_OK : r->code / 100 == 4 ? OUT_TEMP : OUT_PERM;
		if (o->status[0] == '\0')	/* RFC 3463: the class of the reply code, no detail */
			snprintf(o->status, sizeof(o->status), "%d.0.0", r->code / 100);
		snprintf(o->text, sizeof(o->text), "%s", r->text);
	}
	submit(j->s, j, record_run, record_done);
}

static void
conn_closed(void *ctx, struct smtp_out *c, const char *why)
{
	struct oconn *oc = ctx, **pp;
	struct dest *d = oc->d;
	struct sched *s = d->s;
	int was_ready = oc->is_ready;
	unsigned down_s;

	(void)c;
	for (pp = &d->conns; *pp != oc; pp = &(*pp)->next)
		;
	*pp = oc->next;
	if (!oc->is_ready)
		d->nopening--;
	d->nconns--;
	s->nconns--;
	if (oc->job != NULL)
		oc->job->oc = NULL;	/* its content is being read: load_done requeues it */
	event_free(oc->idle_ev);
	free(oc);
	if (why != NULL && !was_ready && !s->is_stopping) {
		/*
		 * No host of this destination would talk: it is down for a while, and
		 * its queue waits for the next try (each message with its T record)
		 * rather than opening a connection per message.
		 */
		if (health_failed(&d->health, now_s(), s->cfg->retry_min_s, s->cfg->retry_max_s,
		    &down_s))
			log_ev_dest_down(d->key, why, down_s);
		snprintf(d->down_why, sizeof(d->down_why), "%s", why);
		dest_fail_queued(d, OUT_TEMP, 0, "4.4.1", why);
		dns_result_free(&d->res);	/* the hosts may have moved: look again */
	} else if (why != NULL && !s->is_stopping) {
		/* a session that broke after it was ready: the next connection is tried at once */
		if (d->nconns == 0)
			dest_fail_queued(d, OUT_TEMP, 0, "4.4.1", why);
		dns_result_free(&d->res);
	}
	kick_all(s);
}

/* The next hop and source for a remote recipient: fills d's identity. */
static void
route_of(struct sched *s, const struct spool_msg *m, const char *to, struct dest *d)
{
	const struct config *cfg = s->cfg;
	const char *at = strrchr(to, '@'), *route, *src;
	const char *sat = strrchr(m->sender, '@');
	char domain[256], sdomain[256];

	snprintf(domain, sizeof(domain), "%s", at ? at + 1 : to);
	ascii_lower(domain);
	snprintf(sdomain, sizeof(sdomain), "%s", sat ? sat + 1 : "");
	ascii_lower(sdomain);
	memset(&d->hop, 0, sizeof(d->hop));
	d->cconf.proto.is_tls_required = 0;
	d->cconf.proto.auth_plain_b64 = NULL;
	if ((route = config_map_get(&cfg->out_routes, domain)) != NULL) {
		(void)config_nexthop_parse(route, &d->hop);
	} else if (cfg->smarthost[0] != '\0') {
		(void)config_nexthop_parse(cfg->smarthost, &d->hop);
		/* credentials travel only inside TLS */
		d->cconf.proto.is_tls_required = 1;
		d->cconf.proto.auth_plain_b64 = s->auth_plain;
		d->cconf.proto.auth_user_b64 = s->auth_user;
		d->cconf.proto.auth_pass_b64 = s->auth_pass;
	} else if (domain[0] == '[') {
		/* an address literal (RFC 5321 4.1.3): that host, no MX */
		size_t len = strcspn(domain + 1, "]");
		const char *ip = domain + 1;

		if (len > 5 && ascii_casen_eq(ip, "ipv6:", 5))
			ip += 5, len -= 5;
		snprintf(d->hop.host, sizeof(d->hop.host), "%.*s", (int)len, ip);
		d->hop.is_literal = 1;
	} else {
		snprintf(d->hop.host, sizeof(d->hop.host), "%s", domain);
	}
	d->use_mx = !d->hop.is_literal;
	snprintf(d->helo, sizeof(d->helo), "%s", cfg->out_helo_name[0] ? cfg->out_helo_name :
	    cfg->hostname);
	snprintf(d->source, sizeof(d->source), "%s", cfg->out_source_address);
	if ((src = config_map_get(&cfg->out_sources, sdomain)) != NULL) {
		const char *sp = strchr(src, ' ');

		snprintf(d->source, sizeof(d->source), "%.*s", (int)(sp ? (size_t)(sp - src) :
		    strlen(src)), src);
		if (sp != NULL)
			snprintf(d->helo, sizeof(d->helo), "%s", sp + 1);
	}
	snprintf(d->key, sizeof(d->key), "%s%s%s:%u|%s|%s|%d", d->hop.is_literal ? "[" : "",
	    d->hop.host, d->hop.is_literal ? "]" : "", d->hop.port, d->source, d->helo,
	    d->cconf.proto.is_tls_required);
}

static struct dest *
dest_for(struct sched *s, const struct spool_msg *m, const char *to)
{
	struct dest probe, *d;

	memset(&probe, 0, sizeof(probe));
	route_of(s, m, to, &probe);
	for (d = s->dests; d != NULL; d = d->next)
		if (strcmp(d->key, probe.key) == 0)
			return d;
	/* XXX: destinations are kept for the daemon's life; their number is that of next hops */
	d = xcalloc(1, sizeof(*d));
	*d = probe;
	d->s = s;
	d->cconf.cfg = s->cfg;
	d->cconf.ssl_ctx = s->ssl_ctx;
	d->cconf.proto.helo_name = d->helo;
	d->cconf.proto.is_tls_allowed = s->ssl_ctx != NULL;
	d->cconf.source_address = d->source;
	d->rate_ev = evtimer_new(s->base, on_rate, d);
	d->next = s->dests;
	s->dests = d;
	return d;
}

static struct job *
job_new(struct qmsg *q, struct dest *d)
{
	struct job *j = xcalloc(1, sizeof(*j));

	j->s = q->s;
	j->q = q;
	j->d = d;
	j->out = xcalloc(q->m->nrcpts, sizeof(*j->out));
	q->inflight++;
	return j;
}

static void
job_add_rcpt(struct job *j, size_t i)
{
	j->out[j->n].i = i;
	j->out[j->n].kind = OUT_NONE;
	j->n++;
}

static void
enqueue_remote(struct dest *d, struct job *j)
{
	const struct spool_msg *m = j->q->m;

	j->rcpts = xcalloc(j->n, sizeof(*j->rcpts));
	j->results = xcalloc(j->n, sizeof(*j->results));
	for (size_t k = 0; k < j->n; k++)
		j->rcpts[k] = m->rcpts[j->out[k].i].to;
	j->txn.sender = m->sender;
	j->txn.rcpts = j->rcpts;
	j->txn.nrcpts = j->n;
	j->txn.results = j->results;
	j->txn.is_8bitmime = m->is_8bitmime;
	j->txn.is_smtputf8 = m->is_smtputf8;
	if (d->qtail)
		d->qtail->next = j;
	else
		d->qhead = j;
	d->qtail = j;
	d->nqueued++;
}

/*
 * q was queued by an entrance that could not refuse it (a mail loop from
 * sendmail or pickup): every pending recipient fails now, with the status
 * the submission core gave, and the record step bounces them.
 */
static void
q_fail(struct qmsg *q)
{
	struct spool_msg *m = q->m;
	struct job *j = job_new(q, NULL);

	for (size_t i = 0; i < m->nrcpts; i++) {
		struct outcome *o;

		if (m->rcpts[i].is_done)
			continue;
		job_add_rcpt(j, i);
		o = &j->out[j->n - 1];
		o->kind = OUT_PERM;
		o->code = 554;
		snprintf(o->status, sizeof(o->status), "%s", m->fail_status);
		snprintf(o->text, sizeof(o->text), "%s", m->fail_text ? m->fail_text : "refused");
	}
	submit(q->s, j, record_run, record_done);
}

/* q is due: its due recipients become jobs, grouped by where they go. */
static void
q_start(struct qmsg *q)
{
	struct sched *s = q->s;
	struct spool_msg *m = q->m;
	uint64_t now = now_s();
	struct job *local = NULL;
	struct dest **dests = xcalloc(m->nrcpts, sizeof(*dests));
	struct job **jobs;
	size_t ndests = 0, pending = 0;

	if (m->fail_status != NULL) {
		free(dests);
		q_fail(q);
		return;
	}
	jobs = xcalloc(m->nrcpts, sizeof(*jobs));
	for (size_t i = 0; i < m->nrcpts; i++) {
		struct spool_rcpt *r = &m->rcpts[i];
		struct dest *d;
		size_t k;

		pending += !r->is_done;
		if (r->is_done || r->next_try_s > now)
			continue;
		if (r->mailbox != NULL) {
			if (local == NULL)
				local = job_new(q, NULL);
			job_add_rcpt(local, i);
			continue;
		}
		/* RFC 5321 5.1 / 3.3: one transaction carries a destination's recipients */
		d = dest_for(s, m, r->to);
		for (k = 0; k < ndests && dests[k] != d; k++)
			;
		if (k == ndests) {
			dests[ndests] = d;
			jobs[ndests++] = job_new(q, d);
		}
		job_add_rcpt(jobs[k], i);
	}
	if (local != NULL) {
		if (s->local_tail)
			s->local_tail->next = local;
		else
			s->local_head = local;
		s->local_tail = local;
	}
	/* one job for everything pending: it may remove the file itself when all is done */
	if (local != NULL && ndests == 0 && local->n == pending)
		local->is_whole = 1;
	if (local == NULL && ndests == 1 && jobs[0]->n == pending)
		jobs[0]->is_whole = 1;
	for (size_t k = 0; k < ndests; k++)
		enqueue_remote(dests[k], jobs[k]);
	for (size_t k = 0; k < ndests; k++)
		dest_kick(dests[k]);
	free(dests);
	free(jobs);
	start_local(s);
	if (q->inflight == 0)
		q_reschedule(q);	/* nothing due after all (a clock step): wait again */
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

	s->base = base;
	s->sp = sp;
	s->cfg = cfg;
	s->msg = msg;
	if ((s->dns = dns_new(base, cfg->dns_resolver, cfg->dns_timeout_ms, err, errsize)) == NULL) {
		free(s);
		return NULL;
	}
	s->me = myself_new(cfg);
	s->ssl_ctx = smtp_out_tls_ctx();
	if (s->ssl_ctx == NULL)
		log_warn("outbound: no TLS context; STARTTLS will not be used");
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
	s->wq_ev = event_new(base, workq_fd(s->wq), EV_READ | EV_PERSIST, on_wq, s);
	s->timer = evtimer_new(base, on_timer, s);
	ASSERT(s->wq_ev != NULL && s->timer != NULL);
	event_add(s->wq_ev, NULL);
	return s;
}

void
sched_add(struct sched *s, struct spool_msg *m)
{
	struct qmsg *q = xcalloc(1, sizeof(*q));

	heap_node_init(&q->hn);
	q->s = s;
	q->m = m;
	if (s->is_stopping) {
		/* it is in the spool: the next start delivers it */
		spool_msg_free(&q->m);
		free(q);
		return;
	}
	q->hn.key = msg_due_s(m);
	if (q->hn.key <= now_s()) {
		q_start(q);
		return;
	}
	heap_push(&s->due, &q->hn);
	arm_timer(s);
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
	for (struct dest *d = s->dests; d != NULL; d = d->next) {
		struct oconn *oc, *next;
		struct job *j;

		/* an abandoned transaction stays queued: at worst a duplicate after the restart */
		for (oc = d->conns; oc != NULL; oc = next) {
			next = oc->next;
			smtp_out_free(&oc->c);
			if (oc->job != NULL && oc->job->is_loading)
				oc->job->oc = NULL;	/* load_done finishes it */
			else if (oc->job != NULL)
				job_finish(oc->job);
			event_free(oc->idle_ev);
			free(oc);
		}
		d->conns = NULL;
		while ((j = d->qhead) != NULL) {
			d->qhead = j->next;
			job_finish(j);
		}
		d->qtail = NULL;
		d->nqueued = 0;
	}
}

void
sched_free(struct sched **sp)
{
	struct sched *s = *sp;
	struct job *j;
	struct heap_node *n;

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
	while ((j = s->local_head) != NULL) {
		s->local_head = j->next;
		job_finish(j);
	}
	while ((n = heap_pop(&s->due)) != NULL) {
		struct qmsg *q = (struct qmsg *)n;

		spool_msg_free(&q->m);
		free(q);
	}
	heap_clear(&s->due);
	while (s->dests != NULL) {
		struct dest *d = s->dests;

		s->dests = d->next;
		dns_result_free(&d->res);
		event_free(d->rate_ev);
		free(d);
	}
	dns_free(&s->dns);
	myself_free(&s->me);
	if (s->ssl_ctx)
		SSL_CTX_free(s->ssl_ctx);
	free(s->auth_plain);
	free(s->auth_user);
	free(s->auth_pass);
	free(s);
	*sp = NULL;
}
