/*
 * conn_ask.c - a connection's questions to policy (src/policy/engine.h):
 * the session asks, the engine answers now or later, and the session's
 * next action is carried out. While a question is out the connection
 * reads no commands (what the client pipelines waits in the buffer); a
 * client that leaves meanwhile is freed at once, its question cancelled.
 * A reply held back (a failed AUTH's) waits on a timer.
 *
 * Where policy accepts a step that content filters hear (connect, HELO,
 * MAIL, RCPT, DATA), the listener's milters are asked next, the same way:
 * answered now or later; a recipient they refuse takes back what policy
 * added to the envelope for it.
 */
#include "server/server_int.h"

#include <event2/bufferevent_ssl.h>

#include "tls/tls.h"
#include "util/log_event.h"
#include "util/xalloc.h"

/* The verdict on the question out: the session answers; then what it asks next. */
static int
answered(struct conn *c, const struct verdict *v)
{
	enum smtp_stage stage = smtp_session_ask(c->s)->stage;
	enum smtp_act a;

	if (stage == SMTP_STAGE_RCPT && v->kind != VERDICT_REJECT && v->kind != VERDICT_TEMPFAIL)
		for (size_t i = c->rcpt_mark; i < c->env->nrcpts; i++)
			log_ev_rcpt(c->env->qid, c->env->rcpts[i].to, c->env->rcpts[i].orig);
	a = smtp_session_answer(c->s, v);
	if (stage == SMTP_STAGE_EOM && a != SMTP_ACT_COMMIT)
		msg_sub_abort(&c->sub);	/* refused or discarded: nothing is kept */
	return conn_act(c, a);
}

/* The milters' verdict, after policy's accept. */
static int
filtered(struct conn *c, const struct verdict *v)
{
	if (smtp_session_ask(c->s)->stage == SMTP_STAGE_RCPT &&
	    (v->kind == VERDICT_REJECT || v->kind == VERDICT_TEMPFAIL))
		spool_msg_truncate_rcpts(c->env, c->rcpt_mark);
	return answered(c, v);
}

static void
on_filtered(void *ctx, const struct verdict *v)
{
	struct conn *c = ctx;

	ASSERT(c->mode == M_ASK);
	c->mode = M_COMMAND;
	if (filtered(c, v) == -1)
		return;
	conn_resume(c);
}

/* What the milters hear of the session besides its question; the names go into the buffers. */
static void
milter_info(struct conn *c, struct milter_session_info *info, char *subject, size_t subject_size,
    char *issuer, size_t issuer_size)
{
	SSL *ssl = c->bev != NULL ? bufferevent_openssl_get_ssl(c->bev) : NULL;
	int has_cert = tls_peer_cert_names(ssl, subject, subject_size, issuer, issuer_size) == 0;

	*info = (struct milter_session_info){
		.tls_version = smtp_session_tls_version(c->s),
		.tls_cipher = smtp_session_tls_cipher(c->s),
		.cert_subject = has_cert && subject[0] ? subject : NULL,
		.cert_issuer = has_cert && issuer[0] ? issuer : NULL,
		.client_ptr = policy_client_ptr_name(c->pc),
		.client_name = policy_client_verified_name(c->pc),
	};
}

/* Policy's verdict: the milters hear what it accepted. */
static int
judged(struct conn *c, const struct verdict *v)
{
	const struct smtp_ask *q = smtp_session_ask(c->s);
	struct verdict mv;
	struct milter_session_info info;
	char cert_subject[256], cert_issuer[256];

	if (c->milters == NULL || v->kind != VERDICT_ACCEPT)
		return answered(c, v);
	milter_info(c, &info, cert_subject, sizeof(cert_subject), cert_issuer, sizeof(cert_issuer));
	if (!milter_set_ask(c->milters, q, &info, on_filtered, c, &mv)) {
		c->mode = M_ASK;
		return -1;
	}
	return filtered(c, &mv);
}

static void
on_answer(void *ctx, const struct verdict *v)
{
	struct conn *c = ctx;

	ASSERT(c->mode == M_ASK);
	c->mode = M_COMMAND;
	if (judged(c, v) == -1)
		return;
	conn_resume(c);
}

int
conn_ask(struct conn *c)
{
	const struct smtp_ask *q = smtp_session_ask(c->s);
	struct verdict v;

	conn_send_output(c);
	if (q->stage == SMTP_STAGE_RCPT)
		c->rcpt_mark = c->env->nrcpts;
	if (!policy_ask(c->pc, q, q->stage == SMTP_STAGE_RCPT ? c->env : NULL, on_answer, c, &v)) {
		c->mode = M_ASK;
		return -1;
	}
	return judged(c, &v);
}

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
	unsigned ms = smtp_session_wait_ms(c->s);
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	c->mode = M_WAIT;
	if (c->wait_ev == NULL)
		c->wait_ev = evtimer_new(c->rl->base, on_wait_timer, c);
	ASSERT(c->wait_ev != NULL);
	evtimer_add(c->wait_ev, &tv);
}
