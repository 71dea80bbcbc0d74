/*
 * session.c - the SMTP server state machine.
 * Every verb has a row in one table; each handler checks that the verb is
 * allowed now and its arguments are sane, asks the hooks (policy) where a
 * decision is needed, then changes state through session_set_state().
 * Replies follow docs/smtp.md, which is the contract of this file.
 */
#include "smtp/session_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/ascii.h"
#include "util/clock.h"
#include "util/rfc3339.h"
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

/* ---- argument helpers ---- */

void
session_arg_str(struct slice a, char *out, size_t size)
{
	size_t n = a.len;

	if (size == 0)
		return;
	while (n > 0 && (a.p[n - 1] == ' ' || a.p[n - 1] == '\t'))
		n--;
	if (n >= size)
		n = size - 1;
	memcpy(out, a.p, n);
	out[n] = '\0';
	/* a NUL can't be here (the parser refuses it), but never let one cut a log value short */
	for (size_t i = 0; i < n; i++)
		if (out[i] == '\0')
			out[i] = '?';
}

static int
arg_is_empty(struct slice a)
{
	for (size_t i = 0; i < a.len; i++)
		if (a.p[i] != ' ' && a.p[i] != '\t')
			return 0;
	return 1;
}

/* HELO/EHLO name: printable ASCII without spaces, at most 255 bytes (RFC 5321 4.1.1.1). */
static int
helo_name_ok(struct slice a, char out[HELO_MAX + 1])
{
	size_t n = a.len;

	while (n > 0 && (a.p[n - 1] == ' ' || a.p[n - 1] == '\t'))
		n--;
	if (n == 0 || n > HELO_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!ascii_isgraph(a.p[i]))
			return 0;
	memcpy(out, a.p, n);
	out[n] = '\0';
	return 1;
}

/* ---- verbs ---- */

int
session_auth_usable(const struct smtp_session *s)
{
	return s->conf->is_auth_offered && (s->is_tls || !s->conf->is_auth_tls_only);
}

int
session_future_release_offered(const struct smtp_session *s)
{
	return s->conf->max_future_release_s > 0 && session_auth_usable(s);
}

typedef enum smtp_act (*verb_fn)(struct smtp_session *, const struct smtp_cmd *, int);

static enum smtp_act do_not_implemented(struct smtp_session *s, const struct smtp_cmd *cmd,
    int more);

static enum smtp_act
do_helo(struct smtp_session *s, const struct smtp_cmd *cmd, int more)
{
	int is_ehlo = cmd->verb == SMTP_CMD_EHLO;

	(void)more;
	if (!helo_name_ok(cmd->arg, s->ask_helo))
		return session_reject(s, is_ehlo ? "EHLO" : "HELO", "", 501, "5.5.4",
		    "Syntax: %s hostname", is_ehlo ? "EHLO" : "HELO");
	s->ask_is_ehlo = is_ehlo;
	return session_ask(s, SMTP_STAGE_HELO);
}

void
session_helo_reply(struct smtp_session *s)
{
	char until[32], future[80] = "";

	/* RFC 5321 4.1.4: HELO/EHLO in the middle of a session resets it */
	session_txn_abort(s, "helo");
	memcpy(s->helo, s->ask_helo, sizeof(s->helo));
	s->is_esmtp = s->ask_is_ehlo;
	log_ev_helo(s->id, s->is_esmtp ? "EHLO" : "HELO", s->helo);
	session_set_state(s, ST_READY);
	if (!s->is_esmtp) {
		session_reply(s, 250, NULL, "%s", s->conf->hostname);
		return;
	}
	if (session_future_release_offered(s)) {
		/* RFC 4865 3: the longest interval, and the latest time, a hold may ask */
		rfc3339_format((int64_t)(clock_wall_us() / 1000000u) + s->conf->max_future_release_s,
		    until);
		(void)snprintf(future, sizeof(future), "FUTURERELEASE %u %s\n",
		    s->conf->max_future_release_s, until);
	}
	/* RFC 3207 4.2: the EHLO after the handshake must not offer STARTTLS again */
	session_reply(s, 250, NULL,
	    "%s\nPIPELINING\nSIZE %llu\n%s%s%s8BITMIME\nENHANCEDSTATUSCODES\nSMTPUTF8",
	    s->conf->hostname, (unsigned long long)s->conf->max_message_bytes,
	    s->conf->offers_starttls && !s->is_tls ? "STARTTLS\n" : "",
	    session_auth_usable(s) ? "AUTH PLAIN LOGIN\n" : "", future);
}

static enum smtp_act
do_data(struct smtp_session *s, const struct smtp_cmd *cmd, int more)
{
	if (!arg_is_empty(cmd->arg))
		return session_reject(s, "DATA", "", 501, "5.5.4", "Syntax: DATA");
	if (s->state != ST_MAIL && s->state != ST_RCPT)
		return session_reject(s, "DATA", "", 503, "5.5.1", "Error: need MAIL command");
	if (s->state == ST_MAIL) {
		if (s->rcpts_tried > 0)
			return session_reject(s, "DATA", "", 554, "5.5.1", "Error: no valid recipients");
		return session_reject(s, "DATA", "", 503, "5.5.1", "Error: need RCPT command");
	}
	if (more) {
		/*
		 * RFC 2920 3.1: DATA ends a group; the client must wait for 354.
		 * Bytes sent blindly after it would be taken as commands had we
		 * refused DATA: a client out of step is cut off.
		 */
		session_reply(s, 554, "5.5.0", "Error: improper pipelining after DATA");
		log_ev_reject(s->txn->qid, "DATA", "", 554, "5.5.0", "improper pipelining after DATA");
		session_txn_reset(s);
		session_set_state(s, ST_CLOSING);
		return SMTP_ACT_CLOSE;
	}
	return session_ask(s, SMTP_STAGE_DATA);
}

static enum smtp_act
do_rset(struct smtp_session *s, const struct smtp_cmd *cmd, int more)
{
	(void)more;
	if (!arg_is_empty(cmd->arg))
		return session_reject(s, "RSET", "", 501, "5.5.4", "Syntax: RSET");
	session_txn_abort(s, "rset");
	session_set_state(s, s->helo[0] ? ST_READY : ST_INIT);
	session_reply(s, 250, "2.0.0", "Ok");
	return SMTP_ACT_NONE;
}

static enum smtp_act
do_noop(struct smtp_session *s, const struct smtp_cmd *cmd, int more)
{
	(void)cmd, (void)more;
	session_reply(s, 250, "2.0.0", "Ok");
	return SMTP_ACT_NONE;
}

static enum smtp_act
do_quit(struct smtp_session *s, const struct smtp_cmd *cmd, int more)
{
	(void)more;
	if (!arg_is_empty(cmd->arg))
		return session_reject(s, "QUIT", "", 501, "5.5.4", "Syntax: QUIT");
	session_reply(s, 221, "2.0.0", "Bye");
	session_txn_abort(s, "quit");
	session_set_state(s, ST_CLOSING);
	return SMTP_ACT_CLOSE;
}

static enum smtp_act
do_help(struct smtp_session *s, const struct smtp_cmd *cmd, int more)
{
	(void)cmd, (void)more;
	session_reply(s, 214, "2.0.0", "Commands: HELO EHLO MAIL RCPT DATA RSET NOOP QUIT HELP VRFY");
	return SMTP_ACT_NONE;
}

static enum smtp_act
do_vrfy(struct smtp_session *s, const struct smtp_cmd *cmd, int more)
{
	(void)more;
	if (arg_is_empty(cmd->arg))
		return session_reject(s, "VRFY", "", 501, "5.5.4", "Syntax: VRFY address");
	/* RFC 5321 3.5.3: 252 says nothing about whether the user exists */
	session_reply(s, 252, "2.5.2", "Cannot VRFY user, but will accept message and attempt delivery");
	return SMTP_ACT_NONE;
}

/*
 * RFC 3207. The reply and the reset wait for smtp_session_starttls_ready():
 * only the caller knows whether it can start TLS on this connection.
 */
static enum smtp_act
do_starttls(struct smtp_session *s, const struct smtp_cmd *cmd, int more)
{
	(void)more;
	if (s->is_tls)
		return session_reject(s, "STARTTLS", "", 503, "5.5.1", "Error: TLS already active");
	if (!s->conf->offers_starttls)
		return session_reject(s, "STARTTLS", "", 502, "5.5.1", "Error: command not implemented");
	if (!arg_is_empty(cmd->arg))
		return session_reject(s, "STARTTLS", "", 501, "5.5.4", "Syntax: STARTTLS");
	return SMTP_ACT_STARTTLS;
}

static enum smtp_act
do_auth(struct smtp_session *s, const struct smtp_cmd *cmd, int more)
{
	if (!s->conf->is_auth_offered)
		return do_not_implemented(s, cmd, more);
	return session_do_auth(s, cmd);
}

static enum smtp_act
do_not_implemented(struct smtp_session *s, const struct smtp_cmd *cmd, int more)
{
	(void)more;
	return session_reject(s, smtp_verb_name(cmd->verb), "", 502, "5.5.1", "Error: command not implemented");
}

/*
 * 1 if the line is the start of an HTTP request (a method, or a header
 * field like "Host:"): a browser or a proxy tricked into talking to this
 * port, whose request body could hold SMTP commands (cross-protocol
 * requests). No SMTP client sends these.
 */
static int
is_http_line(struct slice verb)
{
	static const char *const methods[] = { "GET", "POST", "PUT", "HEAD", "CONNECT",
		"OPTIONS", "DELETE", "PATCH" };

	if (verb.len > 1 && verb.p[verb.len - 1] == ':')
		return 1;
	for (size_t i = 0; i < NELEM(methods); i++)
		if (slice_caseeq(verb, methods[i]))
			return 1;
	return 0;
}

static enum smtp_act
do_unknown(struct smtp_session *s, const struct smtp_cmd *cmd, int more)
{
	char verb[32];

	(void)more;
	if (is_http_line(cmd->verb_text)) {
		/* the rest of the request is never read: nothing in its body can be a command */
		(void)snprintf(verb, sizeof(verb), "%.*s", (int)(cmd->verb_text.len < 16 ?
		    cmd->verb_text.len : 16), (const char *)cmd->verb_text.p);
		session_reply(s, 421, "4.7.0", "%s Error: this is an SMTP server, not HTTP",
		    s->conf->hostname);
		log_ev_reject(s->txn ? s->txn->qid : s->id, "HTTP", verb, 421, "4.7.0",
		    "an HTTP request: closing");
		session_set_state(s, ST_CLOSING);
		return SMTP_ACT_CLOSE;
	}
	/*
	 * Only the length reaches the log: an unknown "command" may be a
	 * base64 credential sent out of turn (after a refused AUTH, say).
	 */
	(void)snprintf(verb, sizeof(verb), "(%zu bytes)", cmd->verb_text.len);
	return session_reject(s, "UNKNOWN", verb, 500, "5.5.2", "Error: command not recognized");
}

/*
 * The rules for each verb. EXPN would reveal users; TURN lets a client
 * take over the connection (RFC 5321 4.1.1.x calls it unsafe); BDAT is
 * not offered by this server yet.
 */
static const struct {
	enum smtp_verb verb;
	verb_fn fn;
} verbs[] = {
	{ SMTP_CMD_HELO, do_helo },
	{ SMTP_CMD_EHLO, do_helo },
	{ SMTP_CMD_MAIL, session_do_mail },
	{ SMTP_CMD_RCPT, session_do_rcpt },
	{ SMTP_CMD_DATA, do_data },
	{ SMTP_CMD_RSET, do_rset },
	{ SMTP_CMD_NOOP, do_noop },
	{ SMTP_CMD_QUIT, do_quit },
	{ SMTP_CMD_HELP, do_help },
	{ SMTP_CMD_VRFY, do_vrfy },
	{ SMTP_CMD_EXPN, do_not_implemented },
	{ SMTP_CMD_TURN, do_not_implemented },
	{ SMTP_CMD_STARTTLS, do_starttls },
	{ SMTP_CMD_AUTH, do_auth },
	{ SMTP_CMD_BDAT, do_not_implemented },
	{ SMTP_CMD_UNKNOWN, do_unknown },
};

/* A line the parser refused. */
static enum smtp_act
bad_line(struct smtp_session *s, enum smtp_parse r, const struct smtp_cmd *cmd)
{
	if (r == SMTP_PARSE_TOO_LONG)
		return session_reject(s, "-", "", 500, "5.5.2", "Error: line too long");
	switch (cmd->err) {
	case SMTP_ERR_BARE_LF:
		return session_reject(s, "-", "", 500, "5.5.2", "Error: bare LF in command; lines end with CRLF");
	case SMTP_ERR_BARE_CR:
		return session_reject(s, "-", "", 500, "5.5.2", "Error: bare CR in command");
	case SMTP_ERR_NUL:
		return session_reject(s, "-", "", 500, "5.5.2", "Error: NUL byte in command");
	case SMTP_ERR_TOO_MANY_PARAMS:
		return session_reject(s, smtp_verb_name(cmd->verb), "", 501, "5.5.4", "Error: too many parameters");
	case SMTP_ERR_SYNTAX:
		if (cmd->verb == SMTP_CMD_MAIL)
			return session_reject(s, "MAIL", "", 501, "5.5.2", "Syntax: MAIL FROM:<address>");
		if (cmd->verb == SMTP_CMD_RCPT)
			return session_reject(s, "RCPT", "", 501, "5.5.2", "Syntax: RCPT TO:<address>");
		return session_reject(s, smtp_verb_name(cmd->verb), "", 501, "5.5.4", "Error: syntax error");
	case SMTP_ERR_8BIT_VERB:
	case SMTP_ERR_NONE:
	default:
		return session_reject(s, "-", "", 500, "5.5.2", "Error: command not recognized");
	}
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
	if (r != SMTP_PARSE_OK)
		return bad_line(s, r, cmd);
	for (size_t i = 0; i < NELEM(verbs); i++)
		if (verbs[i].verb == cmd->verb)
			return verbs[i].fn(s, cmd, has_more_input);
	return do_unknown(s, cmd, has_more_input);
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
