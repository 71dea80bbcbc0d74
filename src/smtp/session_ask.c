/*
 * session_ask.c - the session's questions to policy, one per stage, and
 * what each answer does. A verb handler checks the command (the protocol's
 * own errors are answered at once), then asks; the answer applies it:
 * HELO's name, MAIL's transaction, RCPT's recipient, DATA's 354, the
 * message's commit. The session is in ST_ASK between the two and takes no
 * command meanwhile; its caller keeps what the client sends for later, so
 * pipelining is unaffected.
 */
#include "smtp/session_int.h"

#include <string.h>

#include "util/log.h"
#include "util/log_event.h"
#include "util/xalloc.h"

enum smtp_act
session_ask(struct smtp_session *s, enum smtp_stage st)
{
	s->ask = (struct smtp_ask){
		.stage = st,
		.id = s->id,
		.qid = s->txn != NULL ? s->txn->qid : "",
		.client_ip = s->peer_ip,
		.local_ip = s->local_ip,
		.is_trusted = s->is_trusted,
		.is_tls = s->is_tls,
		.helo = st == SMTP_STAGE_HELO ? s->ask_helo : s->helo,
		.auth_user = s->auth_user[0] != '\0' ? s->auth_user : NULL,
		.auth_mech = st == SMTP_STAGE_AUTH || s->auth_user[0] != '\0' ? s->auth_mech : NULL,
		.creds = st == SMTP_STAGE_AUTH ? &s->creds : NULL,
		.sender = st == SMTP_STAGE_MAIL ? &s->ask_addr : s->txn != NULL ? &s->sender : NULL,
		.rcpt = st == SMTP_STAGE_RCPT ? &s->ask_addr : NULL,
		.params = st == SMTP_STAGE_MAIL || st == SMTP_STAGE_RCPT ? s->ask_params : NULL,
		.nparams = st == SMTP_STAGE_MAIL || st == SMTP_STAGE_RCPT ? s->ask_nparams : 0,
		.size = st == SMTP_STAGE_MAIL || st == SMTP_STAGE_EOM ? s->ask_size : 0,
		.nrcpts = s->txn != NULL ? s->txn->naccepted : 0,
	};
	s->ask_from = s->state;
	session_set_state(s, ST_ASK);
	return SMTP_ACT_ASK;
}

const struct smtp_ask *
smtp_session_ask(const struct smtp_session *s)
{
	ASSERT(s->state == ST_ASK);
	return &s->ask;
}

/* CONNECT: the greeting, or a refusal that closes (RFC 5321 3.1 allows a 554 greeting). */
static enum smtp_act
connect_answered(struct smtp_session *s, const struct verdict *v)
{
	if (v->kind == VERDICT_ACCEPT || v->kind == VERDICT_DISCARD) {
		s->is_discarding_all = v->kind == VERDICT_DISCARD;
		session_reply(s, 220, NULL, "%s ESMTP sterna", s->conf->hostname);
		session_set_state(s, ST_INIT);
		return SMTP_ACT_NONE;
	}
	session_reply(s, v->code, v->dsn, "%s %s", s->conf->hostname, v->text);
	log_ev_reject_by(s->id, "CONNECT", s->peer_ip, v->code, v->dsn, v->text, v->rule);
	session_set_state(s, ST_CLOSING);
	return SMTP_ACT_CLOSE;
}

/* A refusal at a stage that has a transaction: the transaction goes on (RCPT) or stays. */
static enum smtp_act
refused(struct smtp_session *s, const char *cmd, const struct verdict *v)
{
	return session_refuse(s, cmd, s->ask_fmt, v);
}

static enum smtp_act
rcpt_answered(struct smtp_session *s, const struct verdict *v)
{
	if (v->kind == VERDICT_REJECT || v->kind == VERDICT_TEMPFAIL)
		return refused(s, "RCPT", v);
	if (v->kind == VERDICT_DISCARD)
		s->is_discarding = 1;
	s->txn->naccepted++;
	session_set_state(s, ST_RCPT);
	session_reply(s, 250, "2.1.5", "Ok");
	return SMTP_ACT_NONE;
}

static enum smtp_act
data_answered(struct smtp_session *s, const struct verdict *v)
{
	if (v->kind == VERDICT_REJECT || v->kind == VERDICT_TEMPFAIL)
		return session_refuse(s, "DATA", "", v);
	if (v->kind == VERDICT_DISCARD)
		s->is_discarding = 1;
	session_reply(s, 354, NULL, "End data with <CR><LF>.<CR><LF>");
	session_set_state(s, ST_DATA);
	return SMTP_ACT_DATA;
}

/* The end of the message: commit it, or drop it with the verdict's reply (or a 250 for DISCARD). */
static enum smtp_act
eom_answered(struct smtp_session *s, const struct verdict *v)
{
	enum smtp_act a = SMTP_ACT_NONE;

	if (v->kind == VERDICT_ACCEPT && !s->is_discarding && !s->is_discarding_all) {
		session_set_state(s, ST_COMMIT);
		return SMTP_ACT_COMMIT;
	}
	session_set_state(s, ST_READY);
	if (v->kind == VERDICT_REJECT || v->kind == VERDICT_TEMPFAIL) {
		a = session_refuse(s, "DATA", "", v);
	} else {
		/* RFC 5321 6.2 allows a server to drop mail it has said yes to, for cause */
		log_event(LOG_INFO, s->txn->qid, "discard", "conn=%s rule=%s", s->id,
		    v->kind == VERDICT_DISCARD ? v->rule : "earlier");
		session_reply(s, 250, "2.0.0", "Ok: queued as %s", s->txn->qid);
	}
	if (a != SMTP_ACT_CLOSE)
		session_txn_reset(s);
	return a;
}

enum smtp_act
smtp_session_answer(struct smtp_session *s, const struct verdict *v)
{
	ASSERT(s->state == ST_ASK);
	session_set_state(s, s->ask_from);
	switch (s->ask.stage) {
	case SMTP_STAGE_CONNECT:
		return connect_answered(s, v);
	case SMTP_STAGE_HELO:
		if (v->kind == VERDICT_REJECT || v->kind == VERDICT_TEMPFAIL)
			return session_refuse(s, s->ask_is_ehlo ? "EHLO" : "HELO", s->ask_helo, v);
		if (v->kind == VERDICT_DISCARD)
			s->is_discarding_all = 1;
		session_helo_reply(s);
		return SMTP_ACT_NONE;
	case SMTP_STAGE_AUTH:
		return session_auth_answered(s, v);
	case SMTP_STAGE_MAIL:
		if (v->kind == VERDICT_REJECT || v->kind == VERDICT_TEMPFAIL)
			return refused(s, "MAIL", v);
		session_mail_begin(s);
		if (v->kind == VERDICT_DISCARD)
			s->is_discarding = 1;
		return SMTP_ACT_NONE;
	case SMTP_STAGE_RCPT:
		return rcpt_answered(s, v);
	case SMTP_STAGE_DATA:
		return data_answered(s, v);
	case SMTP_STAGE_EOM:
	default:
		return eom_answered(s, v);
	}
}

unsigned
smtp_session_wait_ms(const struct smtp_session *s)
{
	return s->wait_ms;
}

const char *
smtp_stage_name(enum smtp_stage st)
{
	static const char *const names[] = { "connect", "helo", "auth", "mail", "rcpt", "data",
		"eom" };

	return (unsigned)st < NELEM(names) ? names[st] : "?";
}
