/*
 * session_envelope.c - the envelope's verbs: MAIL (its parameters: RFC
 * 1870 SIZE, RFC 6152 BODY, RFC 6531 SMTPUTF8, RFC 4954 AUTH) and RCPT,
 * each checked as the protocol wants it, then asked about (SMTP_STAGE_MAIL,
 * SMTP_STAGE_RCPT); session_ask.c applies the answers.
 */
#include "smtp/session_int.h"

#include <stdio.h>
#include <string.h>

#include "util/ascii.h"
#include "util/clock.h"
#include "util/rfc3339.h"
#include "util/log.h"
#include "util/log_event.h"
#include "util/xalloc.h"

/*
 * RFC 4865 3: HOLDFOR=seconds (1 to 9 digits) from now, or
 * HOLDUNTIL=date-time (RFC 3339), as a UNIX time: 0, or -1 when malformed.
 */
static int
hold_parse(const struct smtp_param *p, int64_t *until_out)
{
	uint64_t n;

	if (slice_caseeq(p->key, "HOLDUNTIL"))
		return rfc3339_parse((const char *)p->value.p, p->value.len, until_out);
	if (p->value.len == 0 || p->value.len > 9 || ascii_parse_u64(p->value, &n) == -1)
		return -1;
	*until_out = (int64_t)(clock_wall_us() / 1000000u + n);
	return 0;
}

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
		} else if ((slice_caseeq(p->key, "HOLDFOR") || slice_caseeq(p->key, "HOLDUNTIL")) &&
		    session_future_release_offered(s)) {
			if (mp->has_hold || !p->has_value || hold_parse(p, &mp->hold_until) == -1)
				return -2;
			mp->has_hold = 1;
		} else {
			return -1;
		}
	}
	return 0;
}

void
session_params_keep(struct smtp_session *s, const struct smtp_cmd *cmd)
{
	size_t at = 0;

	s->ask_nparams = 0;
	for (size_t i = 0; i < cmd->nparams; i++) {
		const struct smtp_param *p = &cmd->params[i];
		int n = snprintf(s->ask_param_text + at, sizeof(s->ask_param_text) - at, "%.*s%s%.*s",
		    (int)p->key.len, (const char *)p->key.p, p->has_value ? "=" : "",
		    (int)p->value.len, (const char *)p->value.p);

		/* XXX: past the bound the rest is not passed on; a line is seldom that long */
		if (n < 0 || (size_t)n >= sizeof(s->ask_param_text) - at)
			break;
		s->ask_params[s->ask_nparams++] = s->ask_param_text + at;
		at += (size_t)n + 1;
	}
}

enum smtp_act
session_do_mail(struct smtp_session *s, const struct smtp_cmd *cmd, int more)
{
	char from[SMTP_ADDR_FMT_MAX], arg[128];
	struct mail_params mp;
	struct smtp_addr addr;
	enum smtp_addr_err ae;
	int r;

	(void)more;
	session_arg_str(cmd->path, arg, sizeof(arg));
	if (s->state == ST_INIT)
		return session_reject(s, "MAIL", arg, 503, "5.5.1", "Error: send HELO/EHLO first");
	if (s->state != ST_READY)
		return session_reject(s, "MAIL", arg, 503, "5.5.1", "Error: nested MAIL command");
	if (cmd->nparams > 0 && !s->is_esmtp)
		return session_reject(s, "MAIL", arg, 555, "5.5.4", "Unsupported parameter");
	r = mail_params_parse(s, cmd, &mp);
	if (r == -1)
		return session_reject(s, "MAIL", arg, 555, "5.5.4", "Unsupported parameter");
	/* non-ASCII in a parameter needs SMTPUTF8 (RFC 6531 3.4); in the address, see below */
	if (r == -2 || (cmd->has_8bit && !mp.is_smtputf8 && !ascii_has_8bit(cmd->path.p, cmd->path.len)))
		return session_reject(s, "MAIL", arg, 501, "5.5.4", "Bad parameter");
	ae = smtp_addr_parse(cmd->path, mp.is_smtputf8, &addr);
	if (ae == SMTP_ADDR_NEEDS_UTF8)
		return session_reject(s, "MAIL", arg, 553, "5.6.7", "Non-ASCII address requires SMTPUTF8");
	if (ae == SMTP_ADDR_UNSAFE_UTF8)
		return session_reject(s, "MAIL", arg, 553, "5.1.7",
		    "Sender address contains control or bidirectional characters");
	if (ae != SMTP_ADDR_OK || addr.is_bare_postmaster ||
	    smtp_addr_format(&addr, from, sizeof(from)) == -1)
		return session_reject(s, "MAIL", arg, 501, "5.1.7", "Bad sender address syntax");
	if (addr.has_route)
		return session_reject(s, "MAIL", arg, 553, "5.7.1", "Source routes are not accepted");
	/* RFC 6409 4.3 and RFC 4954 6: submission wants to know who sends */
	if (s->conf->is_auth_required && s->auth_user[0] == '\0')
		return session_reject(s, "MAIL", arg, 530, "5.7.0", "Authentication required");
	if (mp.has_hold && s->auth_user[0] == '\0')
		return session_reject(s, "MAIL", arg, 530, "5.7.0",
		    "Authentication required for FUTURERELEASE");
	if (mp.has_hold &&
	    mp.hold_until > (int64_t)(clock_wall_us() / 1000000u) + s->conf->max_future_release_s)
		return session_reject(s, "MAIL", arg, 501, "5.5.4",
		    "Release time beyond the maximum of %u seconds from now",
		    s->conf->max_future_release_s);
	if (mp.is_size_huge || mp.size > s->conf->max_message_bytes)
		return session_reject(s, "MAIL", arg, 552, "5.3.4", "Message size exceeds fixed limit");
	if (!s->hooks->has_room(s->hooks->ctx, mp.size)) {
		/* our trouble, not the client's: not counted as an error */
		session_reply(s, 452, "4.3.1", "Insufficient system storage");
		log_ev_reject(s->id, "MAIL", arg, 452, "4.3.1", "insufficient system storage");
		return SMTP_ACT_NONE;
	}
	s->ask_addr = addr;
	memcpy(s->ask_fmt, from, sizeof(s->ask_fmt));
	s->ask_mail = mp;
	s->ask_size = mp.size;
	session_params_keep(s, cmd);
	return session_ask(s, SMTP_STAGE_MAIL);
}

void
session_mail_begin(struct smtp_session *s)
{
	s->txn = xcalloc(1, sizeof(*s->txn));
	s->hooks->txn_begin(s->hooks->ctx, s->txn->qid);
	s->txn->sender = xstrdup(s->ask_fmt);
	s->sender = s->ask_addr;
	s->txn->size_declared = s->ask_mail.size;
	s->txn->body = s->ask_mail.is_8bitmime ? SMTP_BODY_8BITMIME : SMTP_BODY_7BIT;
	s->txn->is_smtputf8 = s->ask_mail.is_smtputf8;
	/* a time already past is no hold: the message goes now (RFC 4865 3) */
	if (s->ask_mail.has_hold && s->ask_mail.hold_until > (int64_t)(clock_wall_us() / 1000000u))
		s->txn->release_s = (uint64_t)s->ask_mail.hold_until;
	s->rcpts_tried = 0;
	log_ev_mail(s->txn->qid, s->id, s->ask_fmt, s->ask_mail.size);
	session_set_state(s, ST_MAIL);
	session_reply(s, 250, "2.1.0", "Ok");
}

enum smtp_act
session_do_rcpt(struct smtp_session *s, const struct smtp_cmd *cmd, int more)
{
	char to[SMTP_ADDR_FMT_MAX], arg[128];
	struct smtp_addr addr;
	enum smtp_addr_err ae;

	(void)more;
	session_arg_str(cmd->path, arg, sizeof(arg));
	if (s->state != ST_MAIL && s->state != ST_RCPT)
		return session_reject(s, "RCPT", arg, 503, "5.5.1", "Error: need MAIL command");
	s->rcpts_tried++;
	/* DSN's NOTIFY and ORCPT come with DSN support; nothing else is defined for RCPT */
	if (cmd->nparams > 0)
		return session_reject(s, "RCPT", arg, 555, "5.5.4", "Unsupported parameter");
	ae = smtp_addr_parse(cmd->path, s->txn->is_smtputf8, &addr);
	if (ae == SMTP_ADDR_NEEDS_UTF8)
		return session_reject(s, "RCPT", arg, 553, "5.6.7", "Non-ASCII address requires SMTPUTF8");
	if (ae == SMTP_ADDR_UNSAFE_UTF8)
		return session_reject(s, "RCPT", arg, 553, "5.1.3",
		    "Recipient address contains control or bidirectional characters");
	if (ae != SMTP_ADDR_OK || addr.is_null || smtp_addr_format(&addr, to, sizeof(to)) == -1)
		return session_reject(s, "RCPT", arg, 501, "5.1.3", "Bad recipient address syntax");
	if (addr.has_route)
		return session_reject(s, "RCPT", arg, 553, "5.7.1", "Source routes are not accepted");
	if (s->txn->naccepted >= s->conf->max_recipients) {
		/* RFC 5321 4.5.3.1.8: a 452 here is how a client learns to split; not an error */
		session_reply(s, 452, "4.5.3", "Error: too many recipients");
		log_ev_reject(s->txn->qid, "RCPT", to, 452, "4.5.3", "too many recipients");
		return SMTP_ACT_NONE;
	}
	s->ask_addr = addr;
	memcpy(s->ask_fmt, to, sizeof(s->ask_fmt));
	session_params_keep(s, cmd);
	return session_ask(s, SMTP_STAGE_RCPT);
}
