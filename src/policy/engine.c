/*
 * engine.c - the stages in order, each asking the checks that have the
 * data then, and the connection's memory between them. The first check
 * that refuses decides; an allow list lets a client past the checks of
 * its kind.
 */
#include "policy/engine_int.h"

#include <stdlib.h>
#include <string.h>

#include "util/clock.h"
#include "util/log.h"
#include "util/log_event.h"
#include "util/xalloc.h"

static void
on_auth_workq(evutil_socket_t fd, short what, void *arg)
{
	struct policy *p = arg;

	(void)fd, (void)what;
	workq_run_done(p->d.auth_wq);
}

struct policy *
policy_new(const struct policy_deps *d)
{
	struct policy *p = xcalloc(1, sizeof(*p));
	const struct config *c = d->cfg;

	p->d = *d;
	p->owner = d->shares_with != NULL ? d->shares_with : p;
	if (d->auth_wq != NULL && d->home == NULL) {
		p->auth_wq_ev = event_new(d->base, workq_fd(d->auth_wq), EV_READ | EV_PERSIST,
		    on_auth_workq, p);
		ASSERT(p->auth_wq_ev != NULL);
		event_add(p->auth_wq_ev, NULL);
	}
	if (p->owner == p) {
		pthread_mutex_init(&p->tables_mu, NULL);
		/* 64k addresses at most, a few MiB: a client cycling addresses cannot grow it */
		p->authlimit = authlimit_new(c->auth_client_max_failures, c->auth_client_window_s,
		    64 * 1024);
		p->limits = policy_limits_new(c);
	}
	p->refusals = metrics_counter(d->metrics, "sterna_policy_refusals_total",
	    "Refusals by policy (reject: 5xx; tempfail: 4xx), by stage and by the rule that "
	    "decided.", "stage,rule,verdict");
	p->auth = metrics_counter(d->metrics, "sterna_smtp_auth_total",
	    "AUTH attempts whose credentials were judged, by mechanism and result: success, "
	    "failure (bad credentials), blocked (too many failures from the address).",
	    "mechanism,result");
	return p;
}

void
policy_free(struct policy **pp)
{
	struct policy *p = *pp;

	if (p == NULL)
		return;
	ASSERT(p->nclients == 0);
	if (p->auth_wq_ev != NULL)
		event_free(p->auth_wq_ev);
	if (p->owner == p) {
		authlimit_free(&p->authlimit);
		policy_limits_free(&p->limits);
		pthread_mutex_destroy(&p->tables_mu);
	}
	free(p);
	*pp = NULL;
}

struct policy_client *
policy_client_new(struct policy *p, const struct config *cfg, const char *id, const char *ip,
    const char *local_ip, int is_trusted, int is_auth_offered)
{
	struct policy_client *pc = xcalloc(1, sizeof(*pc));
	struct smtp_ask by_address = { .stage = SMTP_STAGE_CONNECT, .id = id, .qid = "",
		.client_ip = ip, .local_ip = local_ip, .is_trusted = is_trusted, .helo = "" };
	struct verdict v;

	pc->p = p;
	pc->cfg = config_ref(cfg);
	(void)snprintf(pc->id, sizeof(pc->id), "%s", id);
	(void)snprintf(pc->ip, sizeof(pc->ip), "%s", ip);
	(void)snprintf(pc->local_ip, sizeof(pc->local_ip), "%s", local_ip);
	pc->is_trusted = is_trusted;
	pc->is_auth_offered = is_auth_offered;
	/* counted now, so that sessions waiting for their greeting count too */
	pthread_mutex_lock(&p->owner->tables_mu);
	pc->is_over_sessions = policy_limits_up(p->owner->limits, pc->ip, is_trusted,
	    &pc->over_sessions);
	pthread_mutex_unlock(&p->owner->tables_mu);
	p->nclients++;
	/*
	 * What the lists say of the address alone (judged again, and logged, at
	 * CONNECT): a client they decide on needs no DNS check.
	 */
	policy_dns_start(pc, policy_lists_judge(p->d.lists, &by_address, NULL, &v, NULL));
	return pc;
}

void
policy_client_free(struct policy_client **pcp)
{
	struct policy_client *pc = *pcp;

	if (pc == NULL)
		return;
	policy_auth_cancel(pc);
	policy_dns_stop(pc);
	pthread_mutex_lock(&pc->p->owner->tables_mu);
	policy_limits_down(pc->p->owner->limits, pc->ip);
	pthread_mutex_unlock(&pc->p->owner->tables_mu);
	pc->p->nclients--;
	config_free(&pc->cfg);
	free(pc);
	*pcp = NULL;
}

int
policy_tables_judge(struct policy *p, const struct smtp_ask *q, struct verdict *v)
{
	struct policy *o = p->owner;
	int r;

	pthread_mutex_lock(&o->tables_mu);
	r = policy_limits_judge(o->limits, q, (int64_t)clock_mono_ms(), v);
	pthread_mutex_unlock(&o->tables_mu);
	return r;
}

int
policy_tables_auth_allows(struct policy *p, const char *ip, int64_t now_s)
{
	struct policy *o = p->owner;
	int r;

	pthread_mutex_lock(&o->tables_mu);
	r = authlimit_allows(o->authlimit, ip, now_s);
	pthread_mutex_unlock(&o->tables_mu);
	return r;
}

unsigned
policy_tables_auth_fail(struct policy *p, const char *ip, int64_t now_s)
{
	struct policy *o = p->owner;
	unsigned n;

	pthread_mutex_lock(&o->tables_mu);
	n = authlimit_fail(o->authlimit, ip, now_s);
	pthread_mutex_unlock(&o->tables_mu);
	return n;
}

/*
 * The allow and block lists at q's stage: 1 when a block list refuses (v
 * says how), 0 to go on. An allow list that names the client makes it
 * allow-listed for the session: later client checks (HELO lists, DNSBL,
 * reverse DNS) pass it by; addresses are still judged.
 */
static int
judge_lists(struct policy_client *pc, const struct smtp_ask *q, const char *client_name,
    struct verdict *v)
{
	struct policy_list_hit hit;
	enum policy_lists_result r;

	if (pc->is_allowed && q->stage == SMTP_STAGE_HELO)
		return 0;
	r = policy_lists_judge(pc->p->d.lists, q, client_name, v, &hit);
	if (r == POLICY_LISTS_NONE)
		return 0;
	log_ev_listed(q->stage == SMTP_STAGE_CONNECT || q->stage == SMTP_STAGE_HELO ? pc->id :
	    q->qid[0] != '\0' ? q->qid : pc->id, hit.name, hit.entry, hit.file, hit.line);
	if (r == POLICY_LISTS_ALLOW) {
		if (q->stage == SMTP_STAGE_CONNECT)
			pc->is_allowed = 1;
		verdict_accept(v);
		return 0;
	}
	return 1;
}

/*
 * CONNECT: too many sessions from this client at once; the client lists;
 * connections per minute.
 */
static void
judge_connect(struct policy_client *pc, const struct smtp_ask *q, struct verdict *v)
{
	if (pc->is_over_sessions) {
		*v = pc->over_sessions;
		return;
	}
	if (judge_lists(pc, q, policy_dns_name(pc), v))
		return;
	if (policy_dns_judge(pc, q, v))
		return;
	(void)policy_tables_judge(pc->p, q, v);
}

/*
 * MAIL: an authenticated user sends as themselves (RFC 6409 6.1); then the
 * message limits, so that a refused sender does not count.
 */
static void
judge_mail(struct policy_client *pc, const struct smtp_ask *q, struct verdict *v)
{
	char from[SMTP_ADDR_FMT_MAX];

	if (q->auth_user != NULL && !policy_sender_ok(pc->cfg, q->auth_user, q->sender)) {
		if (smtp_addr_format(q->sender, from, sizeof(from)) == -1)
			from[0] = '\0';
		verdict_set(v, VERDICT_REJECT, 553, "5.7.1", "sender_login",
		    "<%s>: Sender address rejected: not owned by user %s", from, q->auth_user);
		return;
	}
	if (policy_dns_judge(pc, q, v))
		return;
	if (judge_lists(pc, q, NULL, v))
		return;
	(void)policy_tables_judge(pc->p, q, v);
}

/* RCPT: relay control and the local users and aliases, which fill the envelope. */
static void
judge_rcpt(struct policy_client *pc, const struct smtp_ask *q, struct spool_msg *env,
    struct verdict *v)
{
	const struct relay_client client = {
		.ip = q->client_ip,
		.local_ip = q->local_ip,
		.auth_user = q->auth_user,
		.is_trusted = q->is_trusted,
	};
	char to[SMTP_ADDR_FMT_MAX];

	ASSERT(env != NULL);
	if (judge_lists(pc, q, NULL, v))
		return;
	/* every recipient asked for counts, known or not, as Postfix counts them */
	if (policy_tables_judge(pc->p, q, v))
		return;
	if (smtp_addr_format(q->rcpt, to, sizeof(to)) == -1)
		to[0] = '\0';
	policy_rcpt_verdict(policy_rcpt(local_db_of(pc->cfg), &client, q->rcpt, env), to, v);
}

/* Every stage but AUTH, with what DNS said in hand. */
static void
judge(struct policy_client *pc, const struct smtp_ask *q, struct spool_msg *env,
    struct verdict *v)
{
	switch (q->stage) {
	case SMTP_STAGE_CONNECT:
		judge_connect(pc, q, v);
		return;
	case SMTP_STAGE_HELO:
		(void)judge_lists(pc, q, NULL, v);
		return;
	case SMTP_STAGE_MAIL:
		judge_mail(pc, q, v);
		return;
	case SMTP_STAGE_RCPT:
		judge_rcpt(pc, q, env, v);
		return;
	case SMTP_STAGE_AUTH:
	case SMTP_STAGE_DATA:
	case SMTP_STAGE_EOM:
	default:
		verdict_accept(v);
		return;
	}
}

void
policy_count(struct policy *p, enum smtp_stage stage, const struct verdict *v)
{
	const char *labels[3];

	if (v->kind != VERDICT_REJECT && v->kind != VERDICT_TEMPFAIL)
		return;
	labels[0] = smtp_stage_name(stage);
	labels[1] = v->rule[0] != '\0' ? v->rule : "none";
	labels[2] = verdict_kind_name(v->kind);
	metric_add(p->refusals, labels, 1);
}

int
policy_ask(struct policy_client *pc, const struct smtp_ask *q, struct spool_msg *env,
    policy_done_fn *done, void *ctx, struct verdict *v_out)
{
	ASSERT(!pc->is_waiting && pc->auth_job == NULL);
	if (q->stage == SMTP_STAGE_AUTH) {
		if (!policy_auth_ask(pc, q, done, ctx, v_out))
			return 0;
		policy_count(pc->p, q->stage, v_out);
		return 1;
	}
	if (!policy_dns_ready(pc, q)) {
		/* no check has counted anything yet: all of them run once DNS has answered */
		pc->is_waiting = 1;
		pc->wait_q = q;
		pc->wait_env = env;
		pc->wait_done = done;
		pc->wait_ctx = ctx;
		return 0;
	}
	judge(pc, q, env, v_out);
	policy_count(pc->p, q->stage, v_out);
	return 1;
}

void
policy_resume(struct policy_client *pc)
{
	struct verdict v;

	if (!pc->is_waiting || !policy_dns_ready(pc, pc->wait_q))
		return;
	pc->is_waiting = 0;
	judge(pc, pc->wait_q, pc->wait_env, &v);
	policy_count(pc->p, pc->wait_q->stage, &v);
	/* last: the answer may end the connection, and this client with it */
	pc->wait_done(pc->wait_ctx, &v);
}
