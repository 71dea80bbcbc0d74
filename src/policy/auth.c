/*
 * auth.c - AUTH's question: the password is checked on a worker pool of
 * its own (crypt is slow on purpose), and a failure's 535 is held back
 * (the verdict's delay), longer with each failure from that address, so
 * that a guesser is slowed down without any session waiting on another.
 * An address that failed too often lately is refused without a check.
 */
#include "policy/engine_int.h"

#include <stdlib.h>
#include <string.h>

#include "policy/passwd.h"
#include "util/ascii.h"
#include "util/clock.h"
#include "util/log_event.h"
#include "util/xalloc.h"

struct auth_job {
	struct work w;		/* first: the workq hands back &w */
	struct policy_client *pc;	/* NULL once the connection is gone */
	policy_done_fn *done;
	void *ctx;
	const char *hash;	/* borrowed from cfg; NULL for no such user */
	struct config *cfg;	/* the session's generation, held while the worker reads hash */
	const char *mech;	/* static: "PLAIN" or "LOGIN" */
	char user[SASL_FIELD_MAX + 1];	/* as the client gave it, for the log */
	char pass[SASL_FIELD_MAX + 1];
	int is_ok;
};

static int64_t
now_s(void)
{
	return (int64_t)(clock_wall_us() / 1000000u);
}

/* mech: "PLAIN" or "LOGIN", as the session names it (static) */
static void
count(struct policy *p, const char *mech, const char *result)
{
	const char *labels[] = { mech, result };

	metric_add(p->auth, labels, 1);
}

/* Runs on a worker thread: crypt is slow on purpose. */
static void
auth_run(struct work *w)
{
	struct auth_job *j = (struct auth_job *)w;

	j->is_ok = passwd_verify(j->hash, j->pass);
	explicit_bzero(j->pass, sizeof(j->pass));
}

/* On the loop thread, once the worker is done with j. */
static void
auth_job_free(struct auth_job *j)
{
	config_free(&j->cfg);
	explicit_bzero(j, sizeof(*j));
	free(j);
}

/* Back on the loop thread with the result. */
static void
auth_done(struct work *w)
{
	struct auth_job *j = (struct auth_job *)w;
	struct policy_client *pc = j->pc;
	struct verdict v;
	unsigned n;

	if (pc == NULL) {
		auth_job_free(j);
		return;
	}
	pc->auth_job = NULL;
	if (j->is_ok) {
		log_ev_auth(pc->id, pc->ip, j->mech, j->user, "ok", 0, 0);
		count(pc->p, j->mech, "success");
		verdict_accept(&v);
	} else {
		n = policy_tables_auth_fail(pc->p, pc->ip, now_s());
		verdict_set(&v, VERDICT_REJECT, 535, "5.7.8", "auth",
		    "Authentication credentials invalid");
		v.delay_ms = authlimit_delay_ms(pc->cfg->auth_fail_delay_ms, n);
		log_ev_auth(pc->id, pc->ip, j->mech, j->user, "fail", n, v.delay_ms);
		count(pc->p, j->mech, "failure");
	}
	policy_count(pc->p, SMTP_STAGE_AUTH, &v);
	j->done(j->ctx, &v);
	auth_job_free(j);
}

int
policy_auth_ask(struct policy_client *pc, const struct smtp_ask *q, policy_done_fn *done,
    void *ctx, struct verdict *v_out)
{
	const struct config_user *u;
	struct auth_job *j;
	char name[SASL_FIELD_MAX + 1];

	ASSERT(q->creds != NULL && pc->auth_job == NULL && pc->p->d.auth_wq != NULL);
	if (!policy_tables_auth_allows(pc->p, pc->ip, now_s())) {
		/* refused without a check: a blocked guesser costs us no crypt */
		log_ev_auth(pc->id, pc->ip, q->auth_mech, q->creds->user, "blocked", 0, 0);
		count(pc->p, q->auth_mech, "blocked");
		verdict_set(v_out, VERDICT_TEMPFAIL, 454, "4.7.0", "auth_blocked",
		    "Too many authentication failures, try again later");
		return 1;
	}
	memcpy(name, q->creds->user, sizeof(name));
	ascii_lower(name);
	u = config_find_user(pc->cfg, name);
	j = xcalloc(1, sizeof(*j));
	j->w.run = auth_run;
	j->w.done = auth_done;
	j->w.home = pc->p->d.home;	/* back to the loop of this client's session */
	j->pc = pc;
	j->done = done;
	j->ctx = ctx;
	j->hash = u != NULL ? u->hash : NULL;
	/* the session may end (and let go of its generation) before the worker does */
	j->cfg = config_ref(pc->cfg);
	j->mech = q->auth_mech;
	memcpy(j->user, q->creds->user, sizeof(j->user));
	memcpy(j->pass, q->creds->pass, q->creds->pass_len);
	pc->auth_job = j;
	workq_submit(pc->p->d.auth_wq, &j->w);
	return 0;
}

void
policy_auth_cancel(struct policy_client *pc)
{
	if (pc->auth_job != NULL) {
		pc->auth_job->pc = NULL;	/* the worker's done() frees it */
		pc->auth_job = NULL;
	}
}
