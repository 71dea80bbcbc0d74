/*
 * session_auth.c - SMTP AUTH (RFC 4954) with PLAIN (RFC 4616) and LOGIN:
 * the exchange of challenges and responses, then one question (the AUTH
 * stage) whose answer logs the user in or counts a failure. A failure's
 * reply is held back for as long as the verdict says, and too many in one
 * session close it.
 */
#include "smtp/session_int.h"

#include <string.h>

#include "util/ascii.h"
#include "util/log.h"
#include "util/xalloc.h"

/* Asks for s->creds to be checked: the answer comes to session_auth_answered(). */
static enum smtp_act
auth_check(struct smtp_session *s)
{
	return session_ask(s, SMTP_STAGE_AUTH);
}

/* Ends the exchange without a check: the reply is given, the session goes on. */
static enum smtp_act
auth_abort(struct smtp_session *s, int code, const char *status, const char *text)
{
	sasl_creds_wipe(&s->creds);
	session_set_state(s, ST_READY);
	return session_reject(s, "AUTH", s->auth_mech, code, status, "%s", text);
}

/* The LOGIN mechanism's prompts, base64: "Username:" and "Password:". */
#define LOGIN_USER_PROMPT "VXNlcm5hbWU6"
#define LOGIN_PASS_PROMPT "UGFzc3dvcmQ6"

/*
 * One response (decoded) for the current step: the next challenge, or the
 * check. A PLAIN message that asks to act as someone else is a failed login.
 */
static enum smtp_act
auth_step(struct smtp_session *s, const uint8_t *msg, size_t len)
{
	enum sasl_err e;

	switch (s->auth_step) {
	case AUTH_PLAIN:
		e = sasl_plain_parse(msg, len, &s->creds);
		if (e == SASL_AUTHZID) {
			/* no one logs in as someone else here: a failed login, judged by us */
			struct verdict v;

			verdict_set(&v, VERDICT_REJECT, 535, "5.7.8", "authzid",
			    "Authentication credentials invalid");
			return session_auth_answered(s, &v);
		}
		if (e != SASL_OK)
			return auth_abort(s, 501, "5.5.2", "Cannot decode response");
		return auth_check(s);
	case AUTH_LOGIN_USER:
		if (sasl_login_field(msg, len, s->creds.user, &s->creds.user_len) != SASL_OK)
			return auth_abort(s, 501, "5.5.2", "Cannot decode response");
		s->auth_step = AUTH_LOGIN_PASS;
		session_set_state(s, ST_AUTH);
		session_reply(s, 334, NULL, "%s", LOGIN_PASS_PROMPT);
		return SMTP_ACT_NONE;
	case AUTH_LOGIN_PASS:
	default:
		if (sasl_login_field(msg, len, s->creds.pass, &s->creds.pass_len) != SASL_OK)
			return auth_abort(s, 501, "5.5.2", "Cannot decode response");
		return auth_check(s);
	}
}

/* A base64 response line (RFC 4954 4): "*" cancels, anything else is decoded. */
static enum smtp_act
auth_response(struct smtp_session *s, struct slice b64)
{
	uint8_t msg[2 * (SASL_FIELD_MAX + 1) + SASL_FIELD_MAX + 8];
	size_t len = 0;
	enum smtp_act a;

	if (b64.len == 1 && b64.p[0] == '*')
		return auth_abort(s, 501, "5.0.0", "Authentication cancelled");
	if (sasl_b64_decode(b64.p, b64.len, msg, sizeof(msg), &len) != SASL_OK)
		return auth_abort(s, 501, "5.5.2", "Cannot decode response");
	a = auth_step(s, msg, len);
	explicit_bzero(msg, sizeof(msg));	/* no password left on the stack */
	return a;
}

enum smtp_act
session_do_auth(struct smtp_session *s, const struct smtp_cmd *cmd)
{
	struct slice mech = cmd->arg, initial = { NULL, 0 };
	const uint8_t *sp;

	ASSERT(s->conf->is_auth_offered);
	if (s->state == ST_INIT || !s->is_esmtp)
		return session_reject(s, "AUTH", "", 503, "5.5.1", "Error: send EHLO first");
	if (s->auth_user[0] != '\0')
		return session_reject(s, "AUTH", "", 503, "5.5.1", "Error: already authenticated");
	/* RFC 4954 4: not during a mail transaction */
	if (s->state != ST_READY)
		return session_reject(s, "AUTH", "", 503, "5.5.1",
		    "Error: AUTH not permitted during a mail transaction");
	/* RFC 4954 6 and RFC 5248: 538 5.7.11 */
	if (!session_auth_usable(s))
		return session_reject(s, "AUTH", "", 538, "5.7.11",
		    "Encryption required for requested authentication mechanism");
	if ((sp = memchr(mech.p, ' ', mech.len)) != NULL) {
		initial.p = sp + 1;
		initial.len = mech.len - (size_t)(sp - mech.p) - 1;
		mech.len = (size_t)(sp - mech.p);
	}
	if (mech.len == 0 || (initial.p != NULL && (initial.len == 0 ||
	    memchr(initial.p, ' ', initial.len) != NULL)))
		return session_reject(s, "AUTH", "", 501, "5.5.4", "Syntax: AUTH mechanism [initial-response]");
	memset(&s->creds, 0, sizeof(s->creds));
	if (slice_caseeq(mech, "PLAIN")) {
		s->auth_mech = "PLAIN";
		s->auth_step = AUTH_PLAIN;
	} else if (slice_caseeq(mech, "LOGIN")) {
		s->auth_mech = "LOGIN";
		s->auth_step = AUTH_LOGIN_USER;
	} else {
		char name[32];

		session_arg_str(mech, name, sizeof(name));
		return session_reject(s, "AUTH", name, 504, "5.5.4", "Unrecognized authentication type");
	}
	session_set_state(s, ST_AUTH);
	if (initial.p != NULL)
		return auth_response(s, initial);
	if (s->auth_step == AUTH_PLAIN) {
		/* RFC 4954 4: "334" SP, then an empty challenge; reply.c would drop the SP */
		if (buf_append_str(&s->out, "334 \r\n") == -1)
			log_note(LOG_WARN, s->id, "reply buffer full, reply 334 dropped");
	} else {
		session_reply(s, 334, NULL, "%s", LOGIN_USER_PROMPT);
	}
	return SMTP_ACT_NONE;
}


enum smtp_act
session_auth_line(struct smtp_session *s, enum smtp_parse r, const struct smtp_cmd *cmd)
{
	/* a response, not a command; a line that fails framing cannot be base64 */
	if (r != SMTP_PARSE_OK)
		return auth_abort(s, 501, "5.5.2", "Cannot decode response");
	return auth_response(s, cmd->line);
}

enum smtp_act
session_auth_answered(struct smtp_session *s, const struct verdict *v)
{
	char user[SASL_FIELD_MAX + 1];
	enum smtp_act a;

	memcpy(user, s->creds.user, sizeof(user));
	sasl_creds_wipe(&s->creds);
	session_set_state(s, ST_READY);
	switch (v->kind) {
	case VERDICT_ACCEPT:
	case VERDICT_DISCARD:
	case VERDICT_HOLD:
		memcpy(s->auth_user, user, sizeof(user));
		ascii_lower(s->auth_user);
		explicit_bzero(user, sizeof(user));
		session_reply(s, 235, "2.7.0", "Authentication successful");
		return SMTP_ACT_NONE;
	case VERDICT_TEMPFAIL:
		/* nothing was checked (a blocked guesser), or the check failed: no failed login */
		return session_refuse(s, "AUTH", s->auth_mech, v);
	case VERDICT_REJECT:
	default:
		break;
	}
	a = session_refuse(s, "AUTH", s->auth_mech, v);
	if (a != SMTP_ACT_CLOSE && ++s->auth_failures >= s->conf->max_auth_failures) {
		session_reply(s, 421, "4.7.0", "%s Error: too many authentication failures",
		    s->conf->hostname);
		a = SMTP_ACT_CLOSE;
	}
	if (v->delay_ms == 0) {
		if (a == SMTP_ACT_CLOSE)
			session_set_state(s, ST_CLOSING);
		return a;
	}
	/* the 535 goes out late (the caller's timer), which slows a guesser down */
	s->wait_ms = v->delay_ms;
	s->after_wait = a == SMTP_ACT_CLOSE ? ST_CLOSING : ST_READY;
	session_set_state(s, ST_WAIT);
	return SMTP_ACT_WAIT;
}
