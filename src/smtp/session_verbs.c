/*
 * session_verbs.c - the verbs of an SMTP session but MAIL, RCPT and AUTH's
 * exchange. Every verb has a row in one table; each handler checks that
 * the verb is allowed now and its arguments are sane, asks the hooks
 * (policy) where a decision is needed, then changes state through
 * session_set_state(). Replies follow docs/smtp.md.
 */
#include "smtp/session_int.h"

#include <stdio.h>
#include <string.h>

#include "util/ascii.h"
#include "util/clock.h"
#include "util/log_event.h"
#include "util/rfc3339.h"
#include "util/xalloc.h"

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

enum smtp_act
session_verb(struct smtp_session *s, enum smtp_parse r, const struct smtp_cmd *cmd, int more)
{
	if (r != SMTP_PARSE_OK)
		return bad_line(s, r, cmd);
	for (size_t i = 0; i < NELEM(verbs); i++)
		if (verbs[i].verb == cmd->verb)
			return verbs[i].fn(s, cmd, more);
	return do_unknown(s, cmd, more);
}
