/*
 * session.c - the SMTP server state machine.
 * Every verb has a row in one table; each handler checks that the verb is
 * allowed now and its arguments are sane, asks the hooks (policy) where a
 * decision is needed, then changes state through session_set_state().
 * Replies follow docs/smtp.md, which is the contract of this file.
 */
#include "smtp/session.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/ascii.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/log_event.h"
#include "util/xalloc.h"

#define OUT_MAX (64 * 1024)	/* replies waiting; bounded by the input that caused them */
#define HELO_MAX 255

enum state {
	ST_START,	/* nothing sent yet */
	ST_INIT,	/* greeted, waiting for HELO/EHLO */
	ST_READY,	/* HELO/EHLO done, no transaction */
	ST_MAIL,	/* MAIL accepted */
	ST_RCPT,	/* at least one RCPT accepted */
	ST_DATA,	/* reading the message */
	ST_COMMIT,	/* waiting for the spool */
	ST_TLS,		/* 220 to STARTTLS given, waiting for the handshake */
	ST_CLOSING,	/* a final reply was given */
	ST_AUTH,	/* AUTH: the next line is a response to our 334 (RFC 4954 4) */
	ST_AUTH_CHECK,	/* AUTH: the caller checks the credentials */
	ST_WAIT,	/* the caller holds our output for a while */
};

static const char *const state_names[] = {
	"start", "init", "ready", "mail", "rcpt", "data", "commit", "tls", "closing", "auth",
	"auth-check", "wait",
};

#define TLS_NAME_MAX 63	/* OpenSSL's longest cipher name is 45 bytes */

enum auth_step { AUTH_PLAIN, AUTH_LOGIN_USER, AUTH_LOGIN_PASS };

struct smtp_session {
	const struct smtp_session_conf *conf;
	const struct smtp_hooks *hooks;
	char id[32];
	char peer_ip[64];
	char local_ip[64];
	int is_trusted;
	enum auth_step auth_step;
	const char *auth_mech;	/* "PLAIN", "LOGIN", or "" */
	struct sasl_creds creds;	/* during AUTH only; wiped after the check */
	char auth_user[SASL_FIELD_MAX + 1];	/* "" until AUTH succeeds */
	unsigned auth_failures;
	enum state after_wait;	/* ST_READY, or ST_CLOSING to close once the wait is over */
	char helo[HELO_MAX + 1];
	int is_esmtp;
	int is_tls;
	char tls_version[TLS_NAME_MAX + 1];
	char tls_cipher[TLS_NAME_MAX + 1];
	enum state state;
	struct smtp_txn *txn;
	unsigned rcpts_tried;	/* RCPT commands in this transaction, accepted or not */
	struct buf out;
	struct smtp_session_stats stats;
};

/* ---- transaction ---- */

static struct smtp_txn *
txn_new(void)
{
	return xcalloc(1, sizeof(struct smtp_txn));
}

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

static void
session_set_state(struct smtp_session *s, enum state st)
{
	if (log_enabled(LOG_DEBUG))
		log_event(LOG_DEBUG, s->txn ? s->txn->qid : s->id, "state", "from=%s to=%s",
		    state_names[s->state], state_names[st]);
	s->state = st;
}

static void
reply(struct smtp_session *s, int code, const char *status, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

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
		log_warn("%s: reply buffer full, reply %d dropped", s->id, code);
}

static void
reply(struct smtp_session *s, int code, const char *status, const char *fmt, ...)
{
	char text[512];
	va_list ap;

	va_start(ap, fmt);
	format_text(text, fmt, ap);
	va_end(ap);
	reply_text(s, code, status, text);
}

/*
 * An error reply the client caused: logged as a reject and counted towards
 * smtp.max_errors. Returns CLOSE once the limit is reached.
 */
static enum smtp_act
reject(struct smtp_session *s, const char *cmd, const char *arg, int code, const char *status,
    const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static enum smtp_act
reject(struct smtp_session *s, const char *cmd, const char *arg, int code, const char *status,
    const char *fmt, ...)
{
	char text[512];
	va_list ap;

	va_start(ap, fmt);
	format_text(text, fmt, ap);
	va_end(ap);
	reply_text(s, code, status, text);
	log_ev_reject(s->txn ? s->txn->qid : s->id, cmd, arg ? arg : "", code, status, text);
	if (++s->stats.errors >= s->conf->max_errors) {
		reply(s, 421, "4.7.0", "%s Error: too many errors", s->conf->hostname);
		session_set_state(s, ST_CLOSING);
		return SMTP_ACT_CLOSE;
	}
	return SMTP_ACT_NONE;
}

static void
txn_reset(struct smtp_session *s)
{
	txn_free(&s->txn);
	s->rcpts_tried = 0;
}

/* ---- argument helpers ---- */

/* Copies a command argument without trailing blanks into a C string, for logs. */
static void
arg_str(struct slice a, char *out, size_t size)
{
	size_t n = a.len;

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

/* AUTH is offered here and now: RFC 4954 4 lets a server offer it only after TLS. */
static int
auth_usable(const struct smtp_session *s)
{
	return s->conf->is_auth_offered && (s->is_tls || !s->conf->is_auth_tls_only);
}

typedef enum smtp_act (*verb_fn)(struct smtp_session *, const struct smtp_cmd *, int);

static enum smtp_act do_not_implemented(struct smtp_session *s, const struct smtp_cmd *cmd,
    int more);

static enum smtp_act
do_helo(struct smtp_session *s, const struct smtp_cmd *cmd, int more)
{
	int is_ehlo = cmd->verb == SMTP_CMD_EHLO;
	char name[HELO_MAX + 1];

	(void)more;
	if (!helo_name_ok(cmd->arg, name))
		return reject(s, is_ehlo ? "EHLO" : "HELO", "", 501, "5.5.4", "Syntax: %s hostname",
		    is_ehlo ? "EHLO" : "HELO");
	/* RFC 5321 4.1.4: HELO/EHLO in the middle of a session resets it */
	txn_reset(s);
	memcpy(s->helo, name, sizeof(name));
	s->is_esmtp = is_ehlo;
	log_ev_helo(s->id, is_ehlo ? "EHLO" : "HELO", name);
	session_set_state(s, ST_READY);
	if (!is_ehlo) {
		reply(s, 250, NULL, "%s", s->conf->hostname);
		return SMTP_ACT_NONE;
	}
	/* RFC 3207 4.2: the EHLO after the handshake must not offer STARTTLS again */
	reply(s, 250, NULL, "%s\nPIPELINING\nSIZE %llu\n%s%s8BITMIME\nENHANCEDSTATUSCODES\nSMTPUTF8",
	    s->conf->hostname, (unsigned long long)s->conf->max_message_bytes,
	    s->conf->offers_starttls && !s->is_tls ? "STARTTLS\n" : "",
	    auth_usable(s) ? "AUTH PLAIN LOGIN\n" : "");
	return SMTP_ACT_NONE;
}

/* MAIL parameters (RFC 1870 SIZE, RFC 6152 BODY, RFC 6531 SMTPUTF8). */
struct mail_params {
	uint64_t size;
	int has_size, is_size_huge, has_body, is_8bitmime, is_smtputf8, has_auth;
};

/* 0, or the reply already given (-1 means "555", -2 "501"). */
static int
mail_params_parse(const struct smtp_session *s, const struct smtp_cmd *cmd, struct mail_params *mp)
{
	memset(mp, 0, sizeof(*mp));
	for (size_t i = 0; i < cmd->nparams; i++) {
		const struct smtp_param *p = &cmd->params[i];

		if (slice_caseeq(p->key, "SIZE")) {
			if (mp->has_size || !p->has_value)
				return -2;
			mp->has_size = 1;
			if (ascii_parse_u64(p->value, &mp->size) == -1) {
				/* all digits but too big for 64 bits: over any limit, not a wrap */
				for (size_t k = 0; k < p->value.len; k++)
					if (!ascii_isdigit(p->value.p[k]))
						return -2;
				if (p->value.len == 0)
					return -2;
				mp->is_size_huge = 1;
			}
		} else if (slice_caseeq(p->key, "BODY")) {
			if (mp->has_body || !p->has_value)
				return -2;
			mp->has_body = 1;
			if (slice_caseeq(p->value, "8BITMIME"))
				mp->is_8bitmime = 1;
			else if (!slice_caseeq(p->value, "7BIT"))
				return -2;
		} else if (slice_caseeq(p->key, "SMTPUTF8")) {
			if (mp->is_smtputf8 || p->has_value)
				return -2;
			mp->is_smtputf8 = 1;
		} else if (slice_caseeq(p->key, "AUTH") && s->conf->is_auth_offered) {
			/*
			 * RFC 4954 5: the original submitter, as another server vouches
			 * for it. Accepted and not kept: nothing here trusts other
			 * servers' word, which RFC 4954 5 allows ("<>" in effect).
			 */
			if (mp->has_auth || !p->has_value || p->value.len == 0)
				return -2;
			mp->has_auth = 1;
		} else {
			return -1;
		}
	}
	return 0;
}

static enum smtp_act
do_mail(struct smtp_session *s, const struct smtp_cmd *cmd, int more)
{
	char from[SMTP_ADDR_FMT_MAX], arg[128];
	struct mail_params mp;
	struct smtp_addr addr;
	enum smtp_addr_err ae;
	int r;

	(void)more;
	arg_str(cmd->path, arg, sizeof(arg));
	if (s->state == ST_INIT)
		return reject(s, "MAIL", arg, 503, "5.5.1", "Error: send HELO/EHLO first");
	if (s->state != ST_READY)
		return reject(s, "MAIL", arg, 503, "5.5.1", "Error: nested MAIL command");
	if (cmd->nparams > 0 && !s->is_esmtp)
		return reject(s, "MAIL", arg, 555, "5.5.4", "Unsupported parameter");
	r = mail_params_parse(s, cmd, &mp);
	if (r == -1)
		return reject(s, "MAIL", arg, 555, "5.5.4", "Unsupported parameter");
	/* non-ASCII in a parameter needs SMTPUTF8 (RFC 6531 3.4); in the address, see below */
	if (r == -2 || (cmd->has_8bit && !mp.is_smtputf8 && !ascii_has_8bit(cmd->path.p, cmd->path.len)))
		return reject(s, "MAIL", arg, 501, "5.5.4", "Bad parameter");
	ae = smtp_addr_parse(cmd->path, mp.is_smtputf8, &addr);
	if (ae == SMTP_ADDR_NEEDS_UTF8)
		return reject(s, "MAIL", arg, 553, "5.6.7", "Non-ASCII address requires SMTPUTF8");
	if (ae == SMTP_ADDR_UNSAFE_UTF8)
		return reject(s, "MAIL", arg, 553, "5.1.7",
		    "Sender address contains control or bidirectional characters");
	if (ae != SMTP_ADDR_OK || addr.is_bare_postmaster ||
	    smtp_addr_format(&addr, from, sizeof(from)) == -1)
		return reject(s, "MAIL", arg, 501, "5.1.7", "Bad sender address syntax");
	if (addr.has_route)
		return reject(s, "MAIL", arg, 553, "5.7.1", "Source routes are not accepted");
	/* RFC 6409 4.3 and RFC 4954 6: submission wants to know who sends */
	if (s->conf->is_auth_required && s->auth_user[0] == '\0')
		return reject(s, "MAIL", arg, 530, "5.7.0", "Authentication required");
	/* RFC 6409 6.1: an authenticated user sends as themselves */
	if (s->auth_user[0] != '\0' && !s->hooks->sender_ok(s->hooks->ctx, s->auth_user, &addr))
		return reject(s, "MAIL", from, 553, "5.7.1",
		    "<%s>: Sender address rejected: not owned by user %s", from, s->auth_user);
	if (mp.is_size_huge || mp.size > s->conf->max_message_bytes)
		return reject(s, "MAIL", arg, 552, "5.3.4", "Message size exceeds fixed limit");
	if (!s->hooks->has_room(s->hooks->ctx, mp.size)) {
		/* our trouble, not the client's: not counted as an error */
		reply(s, 452, "4.3.1", "Insufficient system storage");
		log_ev_reject(s->id, "MAIL", arg, 452, "4.3.1", "insufficient system storage");
		return SMTP_ACT_NONE;
	}
	s->txn = txn_new();
	s->hooks->txn_begin(s->hooks->ctx, s->txn->qid);
	s->txn->sender = xstrdup(from);
	s->txn->size_declared = mp.size;
	s->txn->body = mp.is_8bitmime ? SMTP_BODY_8BITMIME : SMTP_BODY_7BIT;
	s->txn->is_smtputf8 = mp.is_smtputf8;
	s->rcpts_tried = 0;
	log_ev_mail(s->txn->qid, s->id, from, mp.size);
	session_set_state(s, ST_MAIL);
	reply(s, 250, "2.1.0", "Ok");
	return SMTP_ACT_NONE;
}

static enum smtp_act
do_rcpt(struct smtp_session *s, const struct smtp_cmd *cmd, int more)
{
	char to[SMTP_ADDR_FMT_MAX], arg[128];
	struct smtp_client client;
	struct smtp_addr addr;
	enum smtp_addr_err ae;

	(void)more;
	arg_str(cmd->path, arg, sizeof(arg));
	if (s->state != ST_MAIL && s->state != ST_RCPT)
		return reject(s, "RCPT", arg, 503, "5.5.1", "Error: need MAIL command");
	s->rcpts_tried++;
	/* DSN's NOTIFY and ORCPT come with DSN support; nothing else is defined for RCPT */
	if (cmd->nparams > 0)
		return reject(s, "RCPT", arg, 555, "5.5.4", "Unsupported parameter");
	ae = smtp_addr_parse(cmd->path, s->txn->is_smtputf8, &addr);
	if (ae == SMTP_ADDR_NEEDS_UTF8)
		return reject(s, "RCPT", arg, 553, "5.6.7", "Non-ASCII address requires SMTPUTF8");
	if (ae == SMTP_ADDR_UNSAFE_UTF8)
		return reject(s, "RCPT", arg, 553, "5.1.3",
		    "Recipient address contains control or bidirectional characters");
	if (ae != SMTP_ADDR_OK || addr.is_null || smtp_addr_format(&addr, to, sizeof(to)) == -1)
		return reject(s, "RCPT", arg, 501, "5.1.3", "Bad recipient address syntax");
	if (addr.has_route)
		return reject(s, "RCPT", arg, 553, "5.7.1", "Source routes are not accepted");
	if (s->txn->naccepted >= s->conf->max_recipients) {
		/* RFC 5321 4.5.3.1.8: a 452 here is how a client learns to split; not an error */
		reply(s, 452, "4.5.3", "Error: too many recipients");
		log_ev_reject(s->txn->qid, "RCPT", to, 452, "4.5.3", "too many recipients");
		return SMTP_ACT_NONE;
	}
	client = (struct smtp_client){
		.ip = s->peer_ip,
		.local_ip = s->local_ip,
		.auth_user = s->auth_user[0] ? s->auth_user : NULL,
		.is_trusted = s->is_trusted,
	};
	switch (s->hooks->rcpt(s->hooks->ctx, &client, &addr)) {
	case SMTP_RCPT_ACCEPT:
		break;
	case SMTP_RCPT_UNKNOWN:
		return reject(s, "RCPT", to, 550, "5.1.1",
		    "<%s>: Recipient address rejected: User unknown", to);
	case SMTP_RCPT_RELAY_DENIED:
		return reject(s, "RCPT", to, 554, "5.7.1", "<%s>: Relay access denied", to);
	case SMTP_RCPT_TRICK:
		return reject(s, "RCPT", to, 553, "5.7.1",
		    "<%s>: Recipient address rejected: no '%%', '!' or '@' in the local part", to);
	case SMTP_RCPT_TEMPFAIL:
	default:
		reply(s, 451, "4.3.0", "<%s>: Temporary lookup failure", to);
		log_ev_reject(s->txn->qid, "RCPT", to, 451, "4.3.0", "temporary lookup failure");
		return SMTP_ACT_NONE;
	}
	s->txn->naccepted++;
	session_set_state(s, ST_RCPT);
	reply(s, 250, "2.1.5", "Ok");
	return SMTP_ACT_NONE;
}

static enum smtp_act
do_data(struct smtp_session *s, const struct smtp_cmd *cmd, int more)
{
	if (!arg_is_empty(cmd->arg))
		return reject(s, "DATA", "", 501, "5.5.4", "Syntax: DATA");
	if (s->state != ST_MAIL && s->state != ST_RCPT)
		return reject(s, "DATA", "", 503, "5.5.1", "Error: need MAIL command");
	if (s->state == ST_MAIL) {
		if (s->rcpts_tried > 0)
			return reject(s, "DATA", "", 554, "5.5.1", "Error: no valid recipients");
		return reject(s, "DATA", "", 503, "5.5.1", "Error: need RCPT command");
	}
	if (more) {
		/*
		 * RFC 2920 3.1: DATA ends a group; the client must wait for 354.
		 * Bytes sent blindly after it would be taken as commands had we
		 * refused DATA: a client out of step is cut off.
		 */
		reply(s, 554, "5.5.0", "Error: improper pipelining after DATA");
		log_ev_reject(s->txn->qid, "DATA", "", 554, "5.5.0", "improper pipelining after DATA");
		txn_reset(s);
		session_set_state(s, ST_CLOSING);
		return SMTP_ACT_CLOSE;
	}
	reply(s, 354, NULL, "End data with <CR><LF>.<CR><LF>");
	session_set_state(s, ST_DATA);
	return SMTP_ACT_DATA;
}

static enum smtp_act
do_rset(struct smtp_session *s, const struct smtp_cmd *cmd, int more)
{
	(void)more;
	if (!arg_is_empty(cmd->arg))
		return reject(s, "RSET", "", 501, "5.5.4", "Syntax: RSET");
	txn_reset(s);
	session_set_state(s, s->helo[0] ? ST_READY : ST_INIT);
	reply(s, 250, "2.0.0", "Ok");
	return SMTP_ACT_NONE;
}

static enum smtp_act
do_noop(struct smtp_session *s, const struct smtp_cmd *cmd, int more)
{
	(void)cmd, (void)more;
	reply(s, 250, "2.0.0", "Ok");
	return SMTP_ACT_NONE;
}

static enum smtp_act
do_quit(struct smtp_session *s, const struct smtp_cmd *cmd, int more)
{
	(void)more;
	if (!arg_is_empty(cmd->arg))
		return reject(s, "QUIT", "", 501, "5.5.4", "Syntax: QUIT");
	reply(s, 221, "2.0.0", "Bye");
	txn_reset(s);
	session_set_state(s, ST_CLOSING);
	return SMTP_ACT_CLOSE;
}

static enum smtp_act
do_help(struct smtp_session *s, const struct smtp_cmd *cmd, int more)
{
	(void)cmd, (void)more;
	reply(s, 214, "2.0.0", "Commands: HELO EHLO MAIL RCPT DATA RSET NOOP QUIT HELP VRFY");
	return SMTP_ACT_NONE;
}

static enum smtp_act
do_vrfy(struct smtp_session *s, const struct smtp_cmd *cmd, int more)
{
	(void)more;
	if (arg_is_empty(cmd->arg))
		return reject(s, "VRFY", "", 501, "5.5.4", "Syntax: VRFY address");
	/* RFC 5321 3.5.3: 252 says nothing about whether the user exists */
	reply(s, 252, "2.5.2", "Cannot VRFY user, but will accept message and attempt delivery");
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
		return reject(s, "STARTTLS", "", 503, "5.5.1", "Error: TLS already active");
	if (!s->conf->offers_starttls)
		return reject(s, "STARTTLS", "", 502, "5.5.1", "Error: command not implemented");
	if (!arg_is_empty(cmd->arg))
		return reject(s, "STARTTLS", "", 501, "5.5.4", "Syntax: STARTTLS");
	return SMTP_ACT_STARTTLS;
}

/* Starts checking s->creds: the caller answers with smtp_session_auth_done(). */
static enum smtp_act
auth_check(struct smtp_session *s)
{
	session_set_state(s, ST_AUTH_CHECK);
	return SMTP_ACT_AUTH;
}

/* Ends the exchange without a check: the reply is given, the session goes on. */
static enum smtp_act
auth_abort(struct smtp_session *s, int code, const char *status, const char *text)
{
	sasl_creds_wipe(&s->creds);
	session_set_state(s, ST_READY);
	return reject(s, "AUTH", s->auth_mech, code, status, "%s", text);
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
			session_set_state(s, ST_AUTH_CHECK);
			return smtp_session_auth_done(s, SMTP_AUTH_BAD);
		}
		if (e != SASL_OK)
			return auth_abort(s, 501, "5.5.2", "Cannot decode response");
		return auth_check(s);
	case AUTH_LOGIN_USER:
		if (sasl_login_field(msg, len, s->creds.user, &s->creds.user_len) != SASL_OK)
			return auth_abort(s, 501, "5.5.2", "Cannot decode response");
		s->auth_step = AUTH_LOGIN_PASS;
		session_set_state(s, ST_AUTH);
		reply(s, 334, NULL, "%s", LOGIN_PASS_PROMPT);
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

static enum smtp_act
do_auth(struct smtp_session *s, const struct smtp_cmd *cmd, int more)
{
	struct slice mech = cmd->arg, initial = { NULL, 0 };
	const uint8_t *sp;

	(void)more;
	if (!s->conf->is_auth_offered)
		return do_not_implemented(s, cmd, more);
	if (s->state == ST_INIT || !s->is_esmtp)
		return reject(s, "AUTH", "", 503, "5.5.1", "Error: send EHLO first");
	if (s->auth_user[0] != '\0')
		return reject(s, "AUTH", "", 503, "5.5.1", "Error: already authenticated");
	/* RFC 4954 4: not during a mail transaction */
	if (s->state != ST_READY)
		return reject(s, "AUTH", "", 503, "5.5.1",
		    "Error: AUTH not permitted during a mail transaction");
	/* RFC 4954 6 and RFC 5248: 538 5.7.11 */
	if (!auth_usable(s))
		return reject(s, "AUTH", "", 538, "5.7.11",
		    "Encryption required for requested authentication mechanism");
	if ((sp = memchr(mech.p, ' ', mech.len)) != NULL) {
		initial.p = sp + 1;
		initial.len = mech.len - (size_t)(sp - mech.p) - 1;
		mech.len = (size_t)(sp - mech.p);
	}
	if (mech.len == 0 || (initial.p != NULL && (initial.len == 0 ||
	    memchr(initial.p, ' ', initial.len) != NULL)))
		return reject(s, "AUTH", "", 501, "5.5.4", "Syntax: AUTH mechanism [initial-response]");
	memset(&s->creds, 0, sizeof(s->creds));
	if (slice_caseeq(mech, "PLAIN")) {
		s->auth_mech = "PLAIN";
		s->auth_step = AUTH_PLAIN;
	} else if (slice_caseeq(mech, "LOGIN")) {
		s->auth_mech = "LOGIN";
		s->auth_step = AUTH_LOGIN_USER;
	} else {
		char name[32];

		arg_str(mech, name, sizeof(name));
		return reject(s, "AUTH", name, 504, "5.5.4", "Unrecognized authentication type");
	}
	session_set_state(s, ST_AUTH);
	if (initial.p != NULL)
		return auth_response(s, initial);
	if (s->auth_step == AUTH_PLAIN) {
		/* RFC 4954 4: "334" SP, then an empty challenge; reply.c would drop the SP */
		if (buf_append_str(&s->out, "334 \r\n") == -1)
			log_warn("%s: reply buffer full, reply 334 dropped", s->id);
	} else {
		reply(s, 334, NULL, "%s", LOGIN_USER_PROMPT);
	}
	return SMTP_ACT_NONE;
}

static enum smtp_act
do_not_implemented(struct smtp_session *s, const struct smtp_cmd *cmd, int more)
{
	(void)more;
	return reject(s, smtp_verb_name(cmd->verb), "", 502, "5.5.1", "Error: command not implemented");
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
		reply(s, 421, "4.7.0", "%s Error: this is an SMTP server, not HTTP",
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
	return reject(s, "UNKNOWN", verb, 500, "5.5.2", "Error: command not recognized");
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
	{ SMTP_CMD_MAIL, do_mail },
	{ SMTP_CMD_RCPT, do_rcpt },
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
		return reject(s, "-", "", 500, "5.5.2", "Error: line too long");
	switch (cmd->err) {
	case SMTP_ERR_BARE_LF:
		return reject(s, "-", "", 500, "5.5.2", "Error: bare LF in command; lines end with CRLF");
	case SMTP_ERR_BARE_CR:
		return reject(s, "-", "", 500, "5.5.2", "Error: bare CR in command");
	case SMTP_ERR_NUL:
		return reject(s, "-", "", 500, "5.5.2", "Error: NUL byte in command");
	case SMTP_ERR_TOO_MANY_PARAMS:
		return reject(s, smtp_verb_name(cmd->verb), "", 501, "5.5.4", "Error: too many parameters");
	case SMTP_ERR_SYNTAX:
		if (cmd->verb == SMTP_CMD_MAIL)
			return reject(s, "MAIL", "", 501, "5.5.2", "Syntax: MAIL FROM:<address>");
		if (cmd->verb == SMTP_CMD_RCPT)
			return reject(s, "RCPT", "", 501, "5.5.2", "Syntax: RCPT TO:<address>");
		return reject(s, smtp_verb_name(cmd->verb), "", 501, "5.5.4", "Error: syntax error");
	case SMTP_ERR_8BIT_VERB:
	case SMTP_ERR_NONE:
	default:
		return reject(s, "-", "", 500, "5.5.2", "Error: command not recognized");
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
	txn_free(&s->txn);
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
		reply(s, 220, NULL, "%s ESMTP sterna", s->conf->hostname);
		session_set_state(s, ST_INIT);
		return SMTP_ACT_NONE;
	case SMTP_START_BUSY:
		reply(s, 421, "4.7.0", "%s Too many connections, try again later", s->conf->hostname);
		break;
	case SMTP_START_BUSY_CLIENT:
		reply(s, 421, "4.7.0", "%s Too many connections from your address, try again later",
		    s->conf->hostname);
		break;
	case SMTP_START_EARLY_TALK:
		/* RFC 5321 3.1: a client waits for the greeting; one that does not is no MTA */
		reply(s, 554, "5.5.0", "%s Protocol error: client spoke before the greeting",
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
	    s->state != ST_TLS && s->state != ST_AUTH_CHECK && s->state != ST_WAIT);
	ASSERT(r != SMTP_PARSE_MORE);
	if (s->state == ST_CLOSING)
		return SMTP_ACT_CLOSE;
	if (s->state == ST_AUTH) {
		/* a response, not a command; a line that fails framing cannot be base64 */
		if (r != SMTP_PARSE_OK)
			return auth_abort(s, 501, "5.5.2", "Cannot decode response");
		return auth_response(s, cmd->line);
	}
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
	session_set_state(s, ST_READY);
	/* the whole message was read first, so the client is back in step whatever we say */
	if (body_bytes > s->conf->max_message_bytes)
		act = reject(s, "DATA", "", 552, "5.3.4", "Message size exceeds fixed limit");
	else if (flags & (DOTDATA_BARE_LF | DOTDATA_BARE_CR))
		act = reject(s, "DATA", "", 550, "5.5.2", "Message contains bare CR or LF");
	else if (flags & DOTDATA_NUL)
		act = reject(s, "DATA", "", 550, "5.6.0", "Message contains NUL bytes");
	else if (flags & DOTDATA_LONG_LINE)
		act = reject(s, "DATA", "", 550, "5.6.0", "Message has lines longer than %zu bytes",
		    s->conf->max_text_line_bytes);
	else {
		session_set_state(s, ST_COMMIT);
		return SMTP_ACT_COMMIT;
	}
	txn_reset(s);
	return act;
}

enum smtp_act
smtp_session_refused(struct smtp_session *s, int code, const char *dsn, const char *text)
{
	ASSERT(s->state == ST_COMMIT && code >= 500 && code <= 599 && dsn[0] == '5');
	reply(s, code, dsn, "Error: %s", text);
	log_ev_reject(s->txn->qid, "DATA", "", code, dsn, text);
	txn_reset(s);
	session_set_state(s, ST_READY);
	return SMTP_ACT_NONE;
}

enum smtp_act
smtp_session_committed(struct smtp_session *s, enum smtp_commit result)
{
	ASSERT(s->state == ST_COMMIT);
	switch (result) {
	case SMTP_COMMIT_OK:
		reply(s, 250, "2.0.0", "Ok: queued as %s", s->txn->qid);
		s->stats.messages++;
		s->stats.rcpts += s->txn->naccepted;
		break;
	case SMTP_COMMIT_NOSPACE:
		reply(s, 452, "4.3.1", "Insufficient system storage");
		break;
	case SMTP_COMMIT_IOERR:
	default:
		reply(s, 451, "4.3.0", "Error: queue file write error");
		break;
	}
	txn_reset(s);
	session_set_state(s, ST_READY);
	return SMTP_ACT_NONE;
}

enum smtp_act
smtp_session_timeout(struct smtp_session *s)
{
	reply(s, 421, "4.4.2", "%s Error: timeout exceeded", s->conf->hostname);
	txn_reset(s);
	session_set_state(s, ST_CLOSING);
	return SMTP_ACT_CLOSE;
}

enum smtp_act
smtp_session_starttls_ready(struct smtp_session *s, int is_ready)
{
	ASSERT(s->conf->offers_starttls && !s->is_tls && s->state != ST_TLS);
	if (!is_ready) {
		/* our trouble, not the client's: not counted as an error */
		reply(s, 454, "4.7.0", "TLS not available due to temporary reason");
		log_ev_reject(s->txn ? s->txn->qid : s->id, "STARTTLS", "", 454, "4.7.0",
		    "TLS not available");
		return SMTP_ACT_NONE;
	}
	reply(s, 220, "2.0.0", "Ready to start TLS");
	/* RFC 3207 4.2: nothing learnt in plaintext survives the handshake, a login neither */
	txn_reset(s);
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

const struct sasl_creds *
smtp_session_auth_creds(const struct smtp_session *s)
{
	ASSERT(s->state == ST_AUTH_CHECK);
	return &s->creds;
}

const char *
smtp_session_auth_mech(const struct smtp_session *s)
{
	return s->auth_mech ? s->auth_mech : "";
}

enum smtp_act
smtp_session_auth_done(struct smtp_session *s, enum smtp_auth_result r)
{
	char user[SASL_FIELD_MAX + 1];
	enum smtp_act a;

	ASSERT(s->state == ST_AUTH_CHECK);
	memcpy(user, s->creds.user, sizeof(user));
	sasl_creds_wipe(&s->creds);
	session_set_state(s, ST_READY);
	switch (r) {
	case SMTP_AUTH_OK:
		memcpy(s->auth_user, user, sizeof(user));
		ascii_lower(s->auth_user);
		reply(s, 235, "2.7.0", "Authentication successful");
		return SMTP_ACT_NONE;
	case SMTP_AUTH_BLOCKED:
		return reject(s, "AUTH", s->auth_mech, 454, "4.7.0",
		    "Too many authentication failures, try again later");
	case SMTP_AUTH_TEMPFAIL:
		/* our trouble, not the client's: not counted */
		reply(s, 454, "4.7.0", "Temporary authentication failure");
		return SMTP_ACT_NONE;
	case SMTP_AUTH_BAD:
	default:
		break;
	}
	a = reject(s, "AUTH", s->auth_mech, 535, "5.7.8", "Authentication credentials invalid");
	if (a != SMTP_ACT_CLOSE && ++s->auth_failures >= s->conf->max_auth_failures) {
		reply(s, 421, "4.7.0", "%s Error: too many authentication failures",
		    s->conf->hostname);
		a = SMTP_ACT_CLOSE;
	}
	/* the 535 goes out late (the caller's timer), which slows a guesser down */
	s->after_wait = a == SMTP_ACT_CLOSE ? ST_CLOSING : ST_READY;
	session_set_state(s, ST_WAIT);
	return SMTP_ACT_WAIT;
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

const char *
smtp_stage_name(enum smtp_stage st)
{
	static const char *const names[] = { "connect", "helo", "auth", "mail", "rcpt", "data",
		"eom" };

	return (unsigned)st < NELEM(names) ? names[st] : "?";
}
