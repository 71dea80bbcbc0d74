/*
 * dest.c - the SMTP and LMTP agents: one destination (struct dest) per
 * next hop (with its source address, HELO name and TLS policy; for LMTP
 * (RFC 2033) a mailbox server's socket or host and port), each with
 * its own queue of jobs, connections, connection limit and rate limit, so
 * a slow or dead destination never holds up another. A destination
 * resolves its next hop (dns.c), opens connections up to its limits
 * (smtp_client.c), hands each ready connection the next job, keeps idle
 * connections for reuse, and drops them after outbound.connection_idle.
 * A job's content is streamed from its queue file when a connection is
 * ready for it, so memory follows connections, not the queue. A destination with no
 * job, no connection and nothing to remember (not down) for a while is
 * freed, so their number follows the traffic, not the daemon's age.
 */
#include "sched/sched_int.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deliver/smtp_client.h"
#include "dns/dns.h"
#include "metrics/metrics.h"
#include "sched/myself.h"
#include "util/log.h"
#include "util/log_event.h"
#include "util/xalloc.h"

#define DNS_CACHE_S 60		/* how long a destination keeps its resolved addresses */
#define DEST_IDLE_S 300		/* an unused destination is freed after this long */

struct oconn {
	struct dest *d;
	struct smtp_out *c;
	struct job *job;
	int is_ready;			/* has been ready at least once */
	struct event *idle_ev;
	struct oconn *next;		/* in d->conns */
	int is_idle;			/* in s->idle, oldest first, with idle_ev armed */
	struct oconn *inext, *iprev;	/* in s->idle */
	char id[32];
};

struct dest {
	struct sched *s;
	struct target t;		/* what every job here has in common (key, hop, ...) */
	const char *key;		/* t.key */
	struct smtp_out_conf cconf;	/* its connections borrow it */
	struct config *cfg;		/* cconf.cfg: the generation of its last attempt (a reference) */
	struct job *qhead, *qtail;
	size_t nqueued;
	unsigned njobs;			/* jobs that point here (queued, sending, recording) */
	unsigned nconns, nopening;
	struct oconn *conns;
	struct dns_result *res;
	uint64_t res_expires_s;
	int is_resolving;
	uint64_t making_room_s;		/* when an idle connection elsewhere was closed for it */
	uint64_t window_start_s;
	unsigned window_count;
	uint64_t last_used_s;
	struct event *rate_ev;
	struct dest_health health;	/* down after a failed connection: no flood of new ones */
	struct event *defer_ev;		/* down: defers the queued jobs on the next turn */
	char down_why[SMTPC_TEXT + 160];	/* why it went down, for the messages it defers */
	struct dest *next;
};

/* ---- destinations ---- */

static void dest_kick(struct dest *d);

static void
kick_all(struct sched *s)
{
	for (struct dest *d = s->dests; d != NULL; d = d->next)
		if (d->nqueued > 0)
			dest_kick(d);
}

/*
 * Fails every queued job of d with kind and the reason (a dead or unknown
 * destination), recorded in batches (record_submit_many): a destination
 * that goes down with a thousand messages queued costs a few group commits,
 * not a thousand one after another on the workers that every other
 * destination's record steps need too.
 */
static void
dest_fail_queued(struct dest *d, enum outcome_kind kind, int code, const char *status,
    const char *why)
{
	struct job *j, **jobs;
	size_t n = 0;

	if (d->nqueued == 0)
		return;
	jobs = xcalloc(d->nqueued, sizeof(*jobs));
	while ((j = d->qhead) != NULL) {
		d->qhead = j->next;
		d->nqueued--;
		j->next = NULL;
		job_fail_all(j, kind, code, status, why);
		jobs[n++] = j;
	}
	d->qtail = NULL;
	record_submit_many(d->s, jobs, n);
	free(jobs);
}

/*
 * d is down and has messages queued: they are deferred on the next turn of
 * the loop, together with every other that comes due for d in this turn
 * (a heap's worth of due messages, a batch of recovered ones), rather than
 * one record step (and one flush) each as they come.
 */
static void
on_defer_queued(evutil_socket_t fd, short what, void *arg)
{
	struct dest *d = arg;

	(void)fd, (void)what;
	if (d->s->is_stopping)
		return;
	if (health_conns_allowed(&d->health, sched_now_s(), 1) == 0)
		dest_fail_queued(d, OUT_TEMP, 0, "4.4.1", d->down_why);
	else
		dest_kick(d);	/* its down time ended meanwhile, or a flush */
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
	char why[sizeof(d->t.hop.host) + 64];

	d->is_resolving = 0;
	if (r->status == DNS_OK && drop_myself(d->s, r) == 0) {
		/* the words the established MTAs use, so that a postmaster knows it at once */
		snprintf(why, sizeof(why), "mail for %s loops back to myself", d->t.hop.host);
		dest_fail_queued(d, OUT_PERM, 554, "5.4.6", why);
		dns_result_free(&r);
		return;
	}
	if (r->status != DNS_OK && d->t.kind == TARGET_LMTP) {
		/* our own mailbox server's name: a local fault to fix, never the sender's */
		dest_fail_queued(d, OUT_TEMP, 0, "4.4.3", r->why);
		dns_result_free(&r);
		return;
	}
	switch (r->status) {
	case DNS_OK:
		dns_result_free(&d->res);
		d->res = r;
		d->res_expires_s = sched_now_s() + DNS_CACHE_S;
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

/*
 * Gives oc the next queued job whose queue file opens, and starts sending
 * it: 1, or 0 when no job is left (a job whose file cannot be opened is
 * deferred). The content is streamed from the file as the connection
 * drains (smtp_out_send), so memory follows connections, not messages.
 * XXX: opening and reading the file on the loop, not on a worker: it was
 * written moments ago and is in the page cache (after a restart, the first
 * read of each 64 KiB waits for the disk), and a worker hop per message
 * queued behind the record step's waits for the group commit.
 */
static int
give_job(struct oconn *oc)
{
	struct dest *d = oc->d;
	struct sched *s = d->s;
	struct job *j;
	char why[300];

	while ((j = d->qhead) != NULL) {
		d->qhead = j->next;
		if (d->qhead == NULL)
			d->qtail = NULL;
		d->nqueued--;
		j->next = NULL;
		d->window_count++;
		if ((j->content = spool_content_open(s->sp, j->q->m->qid)) != NULL) {
			j->oc = oc;
			oc->job = j;
			smtp_out_send(oc->c, &j->txn, j->content);
			return 1;
		}
		snprintf(why, sizeof(why), "cannot read the queue file: %s", strerror(errno));
		job_fail_all(j, OUT_TEMP, 0, "4.3.0", why);
		sched_submit(s, j, record_run, record_done);
	}
	return 0;
}

static int
rate_allows(struct dest *d)
{
	uint64_t now = sched_now_s();
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

/* A ready connection with nothing to send: kept for reuse until outbound.connection_idle. */
static void
idle_start(struct oconn *oc, const struct timeval *idle)
{
	struct sched *s = oc->d->s;

	oc->is_idle = 1;
	oc->inext = NULL;
	oc->iprev = s->idle_tail;
	if (s->idle_tail != NULL)
		s->idle_tail->inext = oc;
	else
		s->idle_head = oc;
	s->idle_tail = oc;
	evtimer_add(oc->idle_ev, idle);
}

/* oc is idle no more: reused, closing, or gone. */
static void
idle_end(struct oconn *oc)
{
	struct sched *s = oc->d->s;

	if (!oc->is_idle)
		return;
	oc->is_idle = 0;
	if (oc->iprev != NULL)
		oc->iprev->inext = oc->inext;
	else
		s->idle_head = oc->inext;
	if (oc->inext != NULL)
		oc->inext->iprev = oc->iprev;
	else
		s->idle_tail = oc->iprev;
	oc->inext = oc->iprev = NULL;
	evtimer_del(oc->idle_ev);
}

static void
on_idle(evutil_socket_t fd, short what, void *arg)
{
	struct oconn *oc = arg;

	(void)fd, (void)what;
	idle_end(oc);
	smtp_out_quit(oc->c);
}

/*
 * The connection limit is reached while d has mail waiting: the connection
 * idle longest gives way (it is closed, and its slot is taken at the kick
 * its closing makes); and while every slot is taken, no connection that
 * runs out of mail is kept idle (conn_ready). Otherwise idle connections,
 * kept for reuse, would hold every slot for outbound.connection_idle while
 * destinations with mail waited: with mail for many domains, a stall of
 * that long per round of them.
 */
static void
make_room(struct sched *s, struct dest *d)
{
	uint64_t now = sched_now_s();

	struct oconn *oc;

	/* one connection gives way per waiting destination at a time (for a second or two) */
	if (d->making_room_s != 0 && now < d->making_room_s + 2)
		return;
	/* the one idle longest: the least likely to be wanted again soon */
	for (oc = s->idle_head; oc != NULL && oc->d == d; oc = oc->inext)
		;
	if (oc == NULL)
		return;		/* the next connection to run out of mail closes (conn_ready) */
	idle_end(oc);
	d->making_room_s = now;
	smtp_out_quit(oc->c);
}

/*
 * How many of d's connections may wait for their greeting at once: as many
 * as it has ready, and at least one (a slow start, as TCP's: 1, 2, 4, ...
 * each time those greet). A destination that does not answer thus holds
 * one connection slot while its connect or greeting timeout runs, not
 * queue.max_connections_per_destination of them: with few slots left over
 * all destinations, a dead one would otherwise keep the live ones waiting.
 */
static unsigned
opening_allowed(const struct dest *d)
{
	unsigned ready = d->nconns - d->nopening;

	return ready > 0 ? ready : 1;
}

/* d has mail for another connection, and its own limits allow one. */
static int
wants_conn(struct dest *d)
{
	return d->nqueued > d->nopening && d->nopening < opening_allowed(d) &&
	    d->nconns < health_conns_allowed(&d->health, sched_now_s(),
	    d->s->cfg->max_connections_per_dest) && rate_allows(d);
}

static void
dest_kick(struct dest *d)
{
	struct sched *s = d->s;
	const struct config *cfg = s->cfg;

	if (s->is_stopping)
		return;
	if (health_conns_allowed(&d->health, sched_now_s(), 1) == 0) {
		/* down: its messages wait for their next try, with no connection now */
		if (d->nqueued > 0)
			event_active(d->defer_ev, EV_TIMEOUT, 0);
		return;
	}
	/* idle connections first: reuse is cheaper than a new one */
	for (struct oconn *oc = d->conns; oc != NULL && d->nqueued > 0; oc = oc->next) {
		if (!oc->is_idle || !rate_allows(d))
			continue;
		idle_end(oc);
		if (!give_job(oc))
			conn_ready(oc, oc->c);	/* nothing could be read: idle again, or closed */
	}
	/* the hosts first, whether a slot is free or not: a lookup holds no connection */
	if (wants_conn(d) && (d->res == NULL || sched_now_s() >= d->res_expires_s)) {
		if (!d->is_resolving) {
			d->is_resolving = 1;
			if (d->t.kind == TARGET_LMTP)
				dns_lookup_lmtp(s->dns, &d->t.lmtp, on_dns, d);
			else
				dns_lookup_mail(s->dns, d->t.hop.host, d->t.use_mx,
				    d->t.hop.port ? d->t.hop.port : cfg->out_port, on_dns, d);
		}
		return;
	}
	while (wants_conn(d) && s->nconns < cfg->max_connections) {
		struct oconn *oc = xcalloc(1, sizeof(*oc));

		oc->d = d;
		d->making_room_s = 0;
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
	if (wants_conn(d) && s->nconns >= cfg->max_connections)
		make_room(s, d);
}

static void
conn_ready(void *ctx, struct smtp_out *c)
{
	struct oconn *oc = ctx;
	struct dest *d = oc->d;
	struct sched *s = d->s;
	struct timeval idle = { s->cfg->connection_idle_ms / 1000,
		(s->cfg->connection_idle_ms % 1000) * 1000 };
	int is_first = !oc->is_ready;

	if (is_first) {
		oc->is_ready = 1;
		d->nopening--;
		if (s->fig.tls != NULL && smtp_out_tls_version(c) != NULL) {
			const char *v[] = { "outbound", smtp_out_tls_version(c) };

			metric_add(s->fig.tls, v, 1);
		}
		if (health_ok(&d->health))
			log_ev_dest_up(d->key);
	}
	if (s->is_stopping || smtp_out_messages(c) >= s->cfg->max_messages_per_connection) {
		smtp_out_quit(c);
	} else if (d->nqueued > 0 && rate_allows(d) && give_job(oc)) {
		;	/* sending */
	} else if (s->cfg->connection_idle_ms == 0 || s->nconns >= s->cfg->max_connections) {
		/* every slot is taken: one kept idle could keep another destination waiting */
		smtp_out_quit(c);
	} else {
		idle_start(oc, &idle);
	}
	/* the destination answers: the slow start lets it open more (opening_allowed) */
	if (is_first)
		dest_kick(d);
}

static void
conn_sent(void *ctx, struct smtp_out *c, struct smtpc_txn *t, const char *why)
{
	struct oconn *oc = ctx;
	struct job *j = oc->job;

	(void)t;
	oc->job = NULL;
	j->oc = NULL;
	spool_content_close(&j->content);
	for (size_t k = 0; k < j->n; k++) {
		struct outcome *o = &j->out[k];
		const struct smtpc_result *r = &j->results[k];

		snprintf(o->relay, sizeof(o->relay), "%s", smtp_out_relay(c));
		snprintf(o->host, sizeof(o->host), "%s", smtp_out_host(c));
		snprintf(o->conn, sizeof(o->conn), "%s", oc->id);
		snprintf(o->tls_version, sizeof(o->tls_version), "%s",
		    smtp_out_tls_version(c) ? smtp_out_tls_version(c) : "");
		snprintf(o->tls_cipher, sizeof(o->tls_cipher), "%s",
		    smtp_out_tls_cipher(c) ? smtp_out_tls_cipher(c) : "");
		o->tls = smtp_out_tls_policy(c);
		o->is_verified = smtp_out_is_verified(c);
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
	sched_submit(j->s, j, record_run, record_done);
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
	ASSERT(oc->job == NULL);	/* sent() came first */
	idle_end(oc);		/* a peer may close an idle connection */
	event_free(oc->idle_ev);
	free(oc);
	if (why != NULL && !was_ready && !s->is_stopping) {
		/*
		 * No host of this destination would talk: it is down for a while, and
		 * its queue waits for the next try (each message with its T record)
		 * rather than opening a connection per message.
		 */
		if (health_failed(&d->health, sched_now_s(), s->cfg->retry_min_s, s->cfg->retry_max_s,
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


/* The destination for target t: the one with its key, or a new one. */
static struct dest *
dest_for(struct sched *s, const struct target *t)
{
	struct dest *d;

	for (d = s->dests; d != NULL; d = d->next)
		if (strcmp(d->key, t->key) == 0) {
			/*
			 * A new attempt: with the scheduler's generation (a reload's
			 * timeouts). Connections open read the timeouts through
			 * cconf.cfg as they go, so they follow it too.
			 */
			if (d->cfg != s->cfg) {
				config_free(&d->cfg);
				d->cfg = config_ref(s->cfg);
				d->cconf.cfg = d->cfg;
			}
			return d;
		}
	d = xcalloc(1, sizeof(*d));
	d->t = *t;
	d->key = d->t.key;
	d->s = s;
	d->cfg = config_ref(s->cfg);
	d->cconf.cfg = d->cfg;
	/* RFC 7435 for may; the stricter context of src/tls where TLS is required */
	d->cconf.tls = t->tls;
	d->cconf.ssl_ctx = t->tls == CONFIG_TLS_NONE ? NULL :
	    t->tls == CONFIG_TLS_MAY ? s->ssl_may : s->ssl_required;
	d->cconf.proto.helo_name = d->t.helo;
	smtpc_conf_tls(&d->cconf.proto, t->tls, d->cconf.ssl_ctx != NULL);
	d->cconf.proto.is_lmtp = t->kind == TARGET_LMTP;
	if (t->has_auth) {
		d->cconf.proto.auth_plain_b64 = s->auth_plain;
		d->cconf.proto.auth_user_b64 = s->auth_user;
		d->cconf.proto.auth_pass_b64 = s->auth_pass;
	}
	d->cconf.source_address = d->t.source;
	d->rate_ev = evtimer_new(s->base, on_rate, d);
	d->defer_ev = event_new(s->base, -1, 0, on_defer_queued, d);
	d->next = s->dests;
	s->dests = d;
	return d;
}

struct dest *
dest_of_target(struct sched *s, const struct target *t)
{
	return dest_for(s, t);
}

void
dest_job_new(struct dest *d)
{
	d->njobs++;
	d->last_used_s = sched_now_s();
}

void
dest_job_gone(struct dest *d)
{
	d->njobs--;
	d->last_used_s = sched_now_s();
}

static void
dest_start(struct sched *s, struct job *j)
{
	struct dest *d = j->d;
	const struct spool_msg *m = j->q->m;

	(void)s;
	if (j->is_flush)
		dest_retry_now(d);
	j->rcpts = xcalloc(j->n, sizeof(*j->rcpts));
	j->results = xcalloc(j->n, sizeof(*j->results));
	for (size_t k = 0; k < j->n; k++)
		j->rcpts[k] = m->rcpts[j->out[k].i].to;
	j->txn.sender = m->sender;
	j->txn.rcpts = j->rcpts;
	j->txn.nrcpts = j->n;
	j->txn.results = j->results;
	j->txn.size = m->content_bytes;
	j->txn.is_8bitmime = m->is_8bitmime;
	j->txn.is_smtputf8 = m->is_smtputf8;
	if (d->qtail)
		d->qtail->next = j;
	else
		d->qhead = j;
	d->qtail = j;
	d->nqueued++;
	dest_kick(d);
}

static int
dest_cancel(struct sched *s, struct job *j)
{
	struct dest *d = j->d;
	struct job **pp, *prev = NULL;

	(void)s;
	for (pp = &d->qhead; *pp != NULL; prev = *pp, pp = &(*pp)->next) {
		if (*pp != j)
			continue;
		*pp = j->next;
		if (d->qtail == j)
			d->qtail = prev;
		d->nqueued--;
		j->next = NULL;
		return 1;
	}
	return 0;	/* given to a connection: its transaction ends first */
}

static void
dest_stop(struct sched *s)
{
	for (struct dest *d = s->dests; d != NULL; d = d->next) {
		struct oconn *oc, *next;
		struct job *j;

		/* an abandoned transaction stays queued: at worst a duplicate after the restart */
		for (oc = d->conns; oc != NULL; oc = next) {
			next = oc->next;
			smtp_out_free(&oc->c);
			if (oc->job != NULL)
				job_finish(oc->job);
			idle_end(oc);
			event_free(oc->idle_ev);
			free(oc);
		}
		d->conns = NULL;
		while ((j = d->qhead) != NULL) {
			d->qhead = j->next;
			j->next = NULL;
			job_finish(j);
		}
		d->qtail = NULL;
		d->nqueued = 0;
	}
}

/* A flush: a destination that is down gets its probe connection now. */
void
dest_retry_now(struct dest *d)
{
	health_retry_now(&d->health);
}

void
dests_sweep(struct sched *s, int is_all)
{
	uint64_t now = sched_now_s();
	struct dest **pp = &s->dests, *d;

	while ((d = *pp) != NULL) {
		int is_idle = d->njobs == 0 && d->nconns == 0 && !d->is_resolving &&
		    d->qhead == NULL && !evtimer_pending(d->rate_ev, NULL) &&
		    !d->health.is_down && now >= d->last_used_s + DEST_IDLE_S;

		if (!is_all && !is_idle) {
			pp = &d->next;
			continue;
		}
		*pp = d->next;
		dns_result_free(&d->res);
		event_free(d->rate_ev);
		event_free(d->defer_ev);
		config_free(&d->cfg);
		free(d);
	}
}

unsigned
dests_connections(const struct sched *s)
{
	return s->nconns;
}

const struct agent_ops agent_smtp = {
	.name = "smtp",
	.start = dest_start,
	.cancel = dest_cancel,
	.stop = dest_stop,
};

/* LMTP destinations are destinations like any other; only the protocol differs. */
static void
lmtp_stop(struct sched *s)
{
	(void)s;	/* agent_smtp's stop closes every destination */
}

const struct agent_ops agent_lmtp = {
	.name = "lmtp",
	.start = dest_start,
	.cancel = dest_cancel,
	.stop = lmtp_stop,
};
