/*
 * conn_auth.c - SMTP AUTH for a connection: the password is checked on a
 * worker pool of its own (crypt is slow on purpose), and a failure's 535
 * is held back on a timer, longer with each failure from that address, so
 * that a guesser is slowed down without any session waiting on another.
 */
#include "server/server_int.h"

#include <stdlib.h>
#include <string.h>

#include "policy/passwd.h"
#include "util/ascii.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/log_event.h"
#include "util/xalloc.h"

static void
on_wait_timer(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	(void)fd, (void)what;
	c->mode = M_COMMAND;
	if (conn_act(c, smtp_session_wait_over(c->s)) == -1)
		return;
	conn_resume(c);
}

void
conn_wait_begin(struct conn *c)
{
	struct timeval tv = { c->wait_ms / 1000, (c->wait_ms % 1000) * 1000 };

	c->mode = M_WAIT;
	if (c->wait_ev == NULL)
		c->wait_ev = evtimer_new(c->srv->d.base, on_wait_timer, c);
	ASSERT(c->wait_ev != NULL);
	evtimer_add(c->wait_ev, &tv);
}

/* Runs on a worker thread: crypt is slow on purpose. */
static void
auth_run(struct work *w)
{
	struct auth_job *j = (struct auth_job *)w;

	j->is_ok = passwd_verify(j->hash, j->pass);
	explicit_bzero(j->pass, sizeof(j->pass));
}

static void
auth_job_free(struct auth_job *j)
{
	explicit_bzero(j, sizeof(*j));
	free(j);
}

/* Back on the loop thread with the verdict. */
static void
auth_done(struct work *w)
{
	struct auth_job *j = (struct auth_job *)w;
	struct conn *c = j->c;
	const struct sasl_creds *cr;
	const struct config *cfg;
	unsigned n, delay;
	int is_ok = j->is_ok;

	auth_job_free(j);
	if (c == NULL)
		return;
	c->auth_job = NULL;
	cfg = c->srv->d.cfg;
	cr = smtp_session_auth_creds(c->s);
	if (is_ok) {
		log_ev_auth(c->id, c->ip, smtp_session_auth_mech(c->s), cr->user, "ok", 0, 0);
		(void)smtp_session_auth_done(c->s, SMTP_AUTH_OK);
	} else {
		n = authlimit_fail(c->srv->authlimit, c->ip, (int64_t)(clock_wall_us() / 1000000u));
		delay = authlimit_delay_ms(cfg->auth_fail_delay_ms, n);
		log_ev_auth(c->id, c->ip, smtp_session_auth_mech(c->s), cr->user, "fail", n, delay);
		c->wait_ms = delay;
		(void)smtp_session_auth_done(c->s, SMTP_AUTH_BAD);
	}
	if (c->bev == NULL) {
		/* the client left while the worker checked */
		c->mode = M_CLOSING;
		conn_free(c);
		return;
	}
	c->mode = M_COMMAND;
	if (conn_act(c, is_ok ? SMTP_ACT_NONE : SMTP_ACT_WAIT) == -1)
		return;
	conn_resume(c);
}

void
conn_auth_begin(struct conn *c)
{
	const struct sasl_creds *cr = smtp_session_auth_creds(c->s);
	const struct config_user *u;
	struct auth_job *j;
	char name[SASL_FIELD_MAX + 1];

	if (!authlimit_allows(c->srv->authlimit, c->ip, (int64_t)(clock_wall_us() / 1000000u))) {
		/* refused without a check: a blocked guesser costs us no crypt */
		log_ev_auth(c->id, c->ip, smtp_session_auth_mech(c->s), cr->user, "blocked", 0, 0);
		if (conn_act(c, smtp_session_auth_done(c->s, SMTP_AUTH_BLOCKED)) == 0)
			conn_resume(c);
		return;
	}
	memcpy(name, cr->user, sizeof(name));
	ascii_lower(name);
	u = config_find_user(c->srv->d.cfg, name);
	j = xcalloc(1, sizeof(*j));
	j->w.run = auth_run;
	j->w.done = auth_done;
	j->c = c;
	j->hash = u != NULL ? u->hash : NULL;
	memcpy(j->pass, cr->pass, cr->pass_len);
	c->auth_job = j;
	c->mode = M_AUTH;
	workq_submit(c->srv->d.auth_wq, &j->w);
}

