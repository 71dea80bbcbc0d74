/*
 * session.c - the SMTP server state machine: a session's life (the public
 * interface of session.h), its transaction and its replies. The verbs are
 * session_verbs.c's, MAIL and RCPT session_envelope.c's, AUTH
 * session_auth.c's, the questions to policy session_ask.c's.
 * Replies follow docs/smtp.md, which is the contract of these files.
 */
#include "smtp/session_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/ascii.h"
#include "util/log.h"
#include "util/log_event.h"
#include "util/xalloc.h"

static const char *const state_names[] = {
	"start", "init", "ready", "mail", "rcpt", "data", "commit", "tls", "closing", "auth",
	"ask", "wait",
};

/* ---- transaction ---- */

static void
txn_free(struct smtp_txn **tp)
{
	struct smtp_txn *t = *tp;

	if (t == NULL)
		return;
	free(t->sender);
	free(t);
	*tp = NULL;
}

/* ---- replies ---- */

void
session_set_state(struct smtp_session *s, enum state st)
{
	if (log_enabled(LOG_DEBUG))
		log_event(LOG_DEBUG, s->txn ? s->txn->qid : s->id, "state", "from=%s to=%s",
		    state_names[s->state], state_names[st]);
	s->state = st;
}

/* Formats a reply's text, cut at 512 bytes (RFC 5321 4.5.3.1.5 bounds a reply line). */
static void
format_text(char text[512], const char *fmt, va_list ap)
{
	if (vsnprintf(text, 512, fmt, ap) < 0)
		text[0] = '\0';
}

static void
reply_text(struct smtp_session *s, int code, const char *status, const char *text)
{
	/* out is bounded by the input that caused the replies; it never fills */
	if (smtp_reply(&s->out, code, status, "%s", text) == -1)
		log_note(LOG_WARN, s->id, "reply buffer full, reply %d dropped", code);
}

void
session_reply(struct smtp_session *s, int code, const char *status, const char *fmt, ...)
{
	char text[512];
	va_list ap;

	va_start(ap, fmt);
	format_text(text, fmt, ap);
	va_end(ap);
	reply_text(s, code, status, text);
}

/* The reply, the log line, and the count towards smtp.max_errors. */
static enum smtp_act
reject_text(struct smtp_session *s, const char *cmd, const char *arg, const char *rule,
    int code, const char *status, const char *text)
{
	reply_text(s, code, status, text);
	log_ev_reject_by(s->txn ? s->txn->qid : s->id, cmd, arg ? arg : "", code, status, text,
	    rule);
	if (++s->stats.errors >= s->conf->max_errors) {
		session_reply(s, 421, "4.7.0", "%s Error: too many errors", s->conf->hostname);
		session_set_state(s, ST_CLOSING);
		return SMTP_ACT_CLOSE;
	}
	return SMTP_ACT_NONE;
}

enum smtp_act
session_reject(struct smtp_session *s, const char *cmd, const char *arg, int code,
    const char *status, const char *fmt, ...)
{
	char text[512];
	va_list ap;

	va_start(ap, fmt);
	format_text(text, fmt, ap);
	va_end(ap);
	return reject_text(s, cmd, arg, "", code, status, text);
}

enum smtp_act
session_refuse(struct smtp_session *s, const char *cmd, const char *arg,
    const struct verdict *v)
{
	ASSERT(v->kind == VERDICT_REJECT || v->kind == VERDICT_TEMPFAIL);
	if (v->kind == VERDICT_REJECT && v->code != 421)
		return reject_text(s, cmd, arg, v->rule, v->code, v->dsn, v->text);
	/* a temporary refusal is no error of the client's: not counted */
	reply_text(s, v->code, v->dsn, v->text);
	log_ev_reject_by(s->txn ? s->txn->qid : s->id, cmd, arg ? arg : "", v->code, v->dsn,
	    v->text, v->rule);
	if (v->code == 421) {
		/* RFC 5321 3.8: 421 means the server closes */
		session_txn_reset(s);
		session_set_state(s, ST_CLOSING);
		return SMTP_ACT_CLOSE;
	}
	return SMTP_ACT_NONE;
}

void
session_txn_reset(struct smtp_session *s)
{
	txn_free(&s->txn);
	s->rcpts_tried = 0;
	s->is_discarding = 0;
}

void
session_txn_abort(struct smtp_session *s, const char *why)
{
	if (s->txn != NULL)
		log_ev_aborted(s->txn->qid, s->id, state_names[s->state], why);
	session_txn_reset(s);
}

void
smtp_session_abort(struct smtp_session *s, const char *why)
{
	if (s != NULL)
		session_txn_abort(s, why);
}

/* ---- the public interface ---- */

struct smtp_session *
smtp_session_new(const struct smtp_session_conf *conf, const struct smtp_hooks *hooks,
    const char *id, const char *peer_ip)
{
	struct smtp_session *s = xcalloc(1, sizeof(*s));

	s->conf = conf;
	s->hooks = hooks;
	(void)snprintf(s->id, sizeof(s->id), "%s", id);
	(void)snprintf(s->peer_ip, sizeof(s->peer_ip), "%s", peer_ip);
	buf_init(&s->out, OUT_MAX);
	s->state = ST_START;
	return s;
}

void
smtp_session_set_client(struct smtp_session *s, const char *local_ip, int is_trusted)
{
	(void)snprintf(s->local_ip, sizeof(s->local_ip), "%s", local_ip);
	s->is_trusted = is_trusted;
}

void
smtp_session_free(struct smtp_session **sp)
{
	struct smtp_session *s = *sp;

	if (s == NULL)
		return;
	session_txn_abort(s, "closed");
	sasl_creds_wipe(&s->creds);
	buf_clear(&s->out);
	free(s);
	*sp = NULL;
}

enum smtp_act
smtp_session_start(struct smtp_session *s, enum smtp_start how)
{
	ASSERT(s->state == ST_START);
	switch (how) {
	case SMTP_START_GREET:
		return session_ask(s, SMTP_STAGE_CONNECT);
	case SMTP_START_BUSY:
		session_reply(s, 421, "4.7.0", "%s Too many connections, try again later", s->conf->hostname);
		break;
	case SMTP_START_EARLY_TALK:
		/* RFC 5321 3.1: a client waits for the greeting; one that does not is no MTA */
		session_reply(s, 554, "5.5.0", "%s Protocol error: client spoke before the greeting",
		    s->conf->hostname);
		break;
	}
	session_set_state(s, ST_CLOSING);
	return SMTP_ACT_CLOSE;
}

enum smtp_act
smtp_session_line(struct smtp_session *s, enum smtp_parse r, const struct smtp_cmd *cmd,
    int has_more_input)
{
	ASSERT(s->state != ST_START && s->state != ST_DATA && s->state != ST_COMMIT &&
	    s->state != ST_TLS && s->state != ST_ASK && s->state != ST_WAIT);
	ASSERT(r != SMTP_PARSE_MORE);
	if (s->state == ST_CLOSING)
		return SMTP_ACT_CLOSE;
	if (s->state == ST_AUTH)
		return session_auth_line(s, r, cmd);
	s->stats.commands++;
	return session_verb(s, r, cmd, has_more_input);
}

enum smtp_act
smtp_session_data_end(struct smtp_session *s, unsigned flags, uint64_t body_bytes)
{
	enum smtp_act act = SMTP_ACT_NONE;

	ASSERT(s->state == ST_DATA);
	/* the whole message was read first, so the client is back in step whatever we say */
	if (body_bytes > s->conf->max_message_bytes)
		act = session_reject(s, "DATA", "", 552, "5.3.4", "Message size exceeds fixed limit");
	else if (flags & (DOTDATA_BARE_LF | DOTDATA_BARE_CR))
		act = session_reject(s, "DATA", "", 550, "5.5.2", "Message contains bare CR or LF");
	else if (flags & DOTDATA_NUL)
		act = session_reject(s, "DATA", "", 550, "5.6.0", "Message contains NUL bytes");
	else if (flags & DOTDATA_LONG_LINE)
		act = session_reject(s, "DATA", "", 550, "5.6.0", "Message has lines longer than %zu bytes",
		    s->conf->max_text_line_bytes);
	else {
		s->ask_size = body_bytes;
		return session_ask(s, SMTP_STAGE_EOM);
	}
	session_txn_reset(s);
	session_set_state(s, ST_READY);
	return act;
}

enum smtp_act
smtp_session_refused(struct smtp_session *s, int code, const char *dsn, const char *text,
    const char *rule, int is_filter_text)
{
	ASSERT(s->state == ST_COMMIT && code >= 400 && code <= 599 && dsn[0] == '0' + code / 100);
	/* a filter's reply is what the client should see (as Postfix passes a milter's on) */
	if (is_filter_text)
		session_reply(s, code, dsn, "%s", text);
	else
		session_reply(s, code, dsn, "Error: %s", text);
	if (rule != NULL)
		log_ev_reject_by(s->txn->qid, "DATA", "", code, dsn, text, rule);
	else
		log_ev_reject(s->txn->qid, "DATA", "", code, dsn, text);
	session_txn_reset(s);
	session_set_state(s, ST_READY);
	return SMTP_ACT_NONE;
}

enum smtp_act
smtp_session_committed(struct smtp_session *s, enum smtp_commit result)
{
	ASSERT(s->state == ST_COMMIT);
	switch (result) {
	case SMTP_COMMIT_OK:
		session_reply(s, 250, "2.0.0", "Ok: queued as %s", s->txn->qid);
		s->stats.messages++;
		s->stats.rcpts += s->txn->naccepted;
		break;
	case SMTP_COMMIT_NOSPACE:
		session_reply(s, 452, "4.3.1", "Insufficient system storage");
		break;
	case SMTP_COMMIT_IOERR:
	default:
		session_reply(s, 451, "4.3.0", "Error: queue file write error");
		break;
	}
	session_txn_reset(s);
	session_set_state(s, ST_READY);
	return SMTP_ACT_NONE;
}

enum smtp_act
smtp_session_timeout(struct smtp_session *s)
{
	session_reply(s, 421, "4.4.2", "%s Error: timeout exceeded", s->conf->hostname);
	session_txn_abort(s, "timeout");
	session_set_state(s, ST_CLOSING);
	return SMTP_ACT_CLOSE;
}

enum smtp_act
smtp_session_starttls_ready(struct smtp_session *s, int is_ready)
{
	ASSERT(s->conf->offers_starttls && !s->is_tls && s->state != ST_TLS);
	if (!is_ready) {
		/* our trouble, not the client's: not counted as an error */
		session_reply(s, 454, "4.7.0", "TLS not available due to temporary reason");
		log_ev_reject(s->txn ? s->txn->qid : s->id, "STARTTLS", "", 454, "4.7.0",
		    "TLS not available");
		return SMTP_ACT_NONE;
	}
	session_reply(s, 220, "2.0.0", "Ready to start TLS");
	/* RFC 3207 4.2: nothing learnt in plaintext survives the handshake, a login neither */
	session_txn_abort(s, "starttls");
	s->helo[0] = '\0';
	s->is_esmtp = 0;
	s->auth_user[0] = '\0';
	s->auth_mech = "";
	session_set_state(s, ST_TLS);
	return SMTP_ACT_HANDSHAKE;
}

/* Copies a name from OpenSSL for a header: printable ASCII without spaces, bounded. */
static void
tls_name_copy(char out[TLS_NAME_MAX + 1], const char *in)
{
	size_t n = 0;

	for (; in != NULL && in[n] != '\0' && n < TLS_NAME_MAX; n++)
		out[n] = ascii_isgraph((uint8_t)in[n]) ? in[n] : '?';
	out[n] = '\0';
}

void
smtp_session_tls_started(struct smtp_session *s, const char *version, const char *cipher)
{
	ASSERT(!s->is_tls && (s->state == ST_START || s->state == ST_TLS));
	s->is_tls = 1;
	tls_name_copy(s->tls_version, version);
	tls_name_copy(s->tls_cipher, cipher);
	/* after STARTTLS the client starts again with EHLO; implicit TLS has not greeted yet */
	if (s->state == ST_TLS)
		session_set_state(s, ST_INIT);
}

const char *
smtp_session_auth_mech(const struct smtp_session *s)
{
	return s->auth_mech ? s->auth_mech : "";
}

enum smtp_act
smtp_session_wait_over(struct smtp_session *s)
{
	ASSERT(s->state == ST_WAIT);
	session_set_state(s, s->after_wait);
	return s->after_wait == ST_CLOSING ? SMTP_ACT_CLOSE : SMTP_ACT_NONE;
}

const char *
smtp_session_auth_user(const struct smtp_session *s)
{
	return s->auth_user[0] ? s->auth_user : NULL;
}

int
smtp_session_is_tls(const struct smtp_session *s)
{
	return s->is_tls;
}

struct buf *
smtp_session_output(struct smtp_session *s)
{
	return &s->out;
}

const struct smtp_txn *
smtp_session_txn(const struct smtp_session *s)
{
	return s->txn;
}

const char *
smtp_session_proto(const struct smtp_session *s)
{
	/* indexed by [utf8][tls][auth]: RFC 3848 and RFC 6531 4.3 */
	static const char *const names[2][2][2] = {
		{ { "ESMTP", "ESMTPA" }, { "ESMTPS", "ESMTPSA" } },
		{ { "UTF8SMTP", "UTF8SMTPA" }, { "UTF8SMTPS", "UTF8SMTPSA" } },
	};

	if (!s->is_esmtp)
		return "SMTP";
	return names[s->txn && s->txn->is_smtputf8][s->is_tls != 0][s->auth_user[0] != '\0'];
}

const char *
smtp_session_helo(const struct smtp_session *s)
{
	return s->helo;
}

const char *
smtp_session_tls_version(const struct smtp_session *s)
{
	return s->is_tls ? s->tls_version : NULL;
}

const char *
smtp_session_tls_cipher(const struct smtp_session *s)
{
	return s->is_tls ? s->tls_cipher : NULL;
}

const struct smtp_session_stats *
smtp_session_stats(const struct smtp_session *s)
{
	return &s->stats;
}
