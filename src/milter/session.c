/*
 * session.c - one filter's session (session.h): which steps are sent, with
 * which macros, and what each reply means at each step.
 *
 * Replies by step, as libmilter's documentation gives them: CONTINUE goes
 * on; ACCEPT accepts and ends the filter's part (in the connection steps
 * for the connection, after MAIL for the message); REJECT and TEMPFAIL (or
 * a REPLYCODE's own reply) refuse the connection in the connection steps,
 * the recipient at RCPT, the command at UNKNOWN, the message after MAIL;
 * DISCARD keeps a message from being delivered, and is no answer before
 * MAIL. Changes come only in
 * reply to the end of the message, before its verdict.
 */
#include "milter/session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

/* Per command: the flag that skips it and the flag that leaves out its reply. */
static const struct step {
	uint8_t cmd;
	uint32_t no, nr;
	int has_stage;
	enum milter_stage stage;	/* whose macros precede it */
} steps[] = {
	{ MILTER_CMD_CONNECT, MILTER_P_NOCONNECT, MILTER_P_NR_CONN, 1, MILTER_STAGE_CONNECT },
	{ MILTER_CMD_HELO, MILTER_P_NOHELO, MILTER_P_NR_HELO, 1, MILTER_STAGE_HELO },
	{ MILTER_CMD_MAIL, MILTER_P_NOMAIL, MILTER_P_NR_MAIL, 1, MILTER_STAGE_MAIL },
	{ MILTER_CMD_RCPT, MILTER_P_NORCPT, MILTER_P_NR_RCPT, 1, MILTER_STAGE_RCPT },
	{ MILTER_CMD_DATA, MILTER_P_NODATA, MILTER_P_NR_DATA, 1, MILTER_STAGE_DATA },
	{ MILTER_CMD_HEADER, MILTER_P_NOHDRS, MILTER_P_NR_HDR, 0, 0 },
	{ MILTER_CMD_EOH, MILTER_P_NOEOH, MILTER_P_NR_EOH, 1, MILTER_STAGE_EOH },
	{ MILTER_CMD_BODY, MILTER_P_NOBODY, MILTER_P_NR_BODY, 0, 0 },
	{ MILTER_CMD_BODYEOB, 0, 0, 1, MILTER_STAGE_EOM },
	{ MILTER_CMD_UNKNOWN, MILTER_P_NOUNKNOWN, MILTER_P_NR_UNKN, 0, 0 },
};

static const struct step *
step_of(uint8_t cmd)
{
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
		if (steps[i].cmd == cmd)
			return &steps[i];
	return NULL;
}

/* The steps whose verdict is on the connection (an unknown command's is on that command). */
static int
is_conn_step(uint8_t cmd)
{
	return cmd == MILTER_CMD_CONNECT || cmd == MILTER_CMD_HELO;
}

void
milter_init(struct milter *m, const char *name, const struct milter_limits *lim,
    struct buf *out)
{
	memset(m, 0, sizeof(*m));
	m->name = name;
	m->lim = *lim;
	m->out = out;
	buf_init(&m->scratch, MILTER_CHUNK);
}

static void
macros_clear(struct milter *m)
{
	for (size_t i = 0; i < m->nmacros; i++) {
		free((char *)m->macros[i].name);
		free((char *)m->macros[i].value);
	}
	m->nmacros = 0;
}

void
milter_clear(struct milter *m)
{
	macros_clear(m);
	buf_clear(&m->scratch);
}

/* "{x}" and "x" are one name: compare without braces. */
static struct slice
bare_name(const char *n)
{
	size_t len = strlen(n);

	if (len >= 2 && n[0] == '{' && n[len - 1] == '}')
		return (struct slice){ (const uint8_t *)n + 1, len - 2 };
	return (struct slice){ (const uint8_t *)n, len };
}

static struct milter_macro *
find_macro(struct milter *m, const char *name)
{
	struct slice want = bare_name(name);

	for (size_t i = 0; i < m->nmacros; i++)
		if (slice_eq(bare_name(m->macros[i].name), want))
			return &m->macros[i];
	return NULL;
}

void
milter_set_macro(struct milter *m, const char *name, const char *value)
{
	struct milter_macro *mac = find_macro(m, name);

	if (mac != NULL) {
		free((char *)mac->value);
		if (value == NULL) {
			free((char *)mac->name);
			*mac = m->macros[--m->nmacros];
			return;
		}
	} else {
		if (value == NULL)
			return;
		ASSERT(m->nmacros < MILTER_MAX_MACROS);
		mac = &m->macros[m->nmacros++];
		mac->name = xstrdup(name);
	}
	mac->value = xstrndup(value, strnlen(value, MILTER_MACRO_VALUE_MAX));
}

/* The macros the filter wants before stage, with the names it used. */
static void
put_stage_macros(struct milter *m, enum milter_stage stage)
{
	struct milter_macro list[MILTER_MACROS_PER_STAGE];
	size_t n = 0;

	for (size_t i = 0; i < m->neg.nmacros[stage]; i++) {
		const char *name = m->neg.macros[stage][i];
		const struct milter_macro *mac = find_macro(m, name);

		if (mac != NULL)
			list[n++] = (struct milter_macro){ name, mac->value };
	}
	if (n > 0)
		(void)milter_put_macros(m->out, milter_stage_cmd(stage), list, n);
}

static void
answer_accept(struct milter_action *act)
{
	memset(act, 0, sizeof(*act));
	act->kind = MILTER_ANSWER;
	verdict_accept(&act->v);
}

static void
fail(struct milter *m, struct milter_action *act, const char *fmt, const char *detail)
{
	memset(act, 0, sizeof(*act));
	act->kind = MILTER_FAIL;
	snprintf(act->why, sizeof(act->why), fmt, detail);
	m->state = MILTER_FAILED;
}

/*
 * Whether cmd goes to the filter at all; if not, *act is its answer: the
 * refusal of a refused connection, or accept (skipped, accepted, over).
 */
static int
should_send(struct milter *m, uint8_t cmd, struct milter_action *act)
{
	const struct step *st = step_of(cmd);

	if (m->has_sticky) {
		memset(act, 0, sizeof(*act));
		act->kind = MILTER_ANSWER;
		act->v = m->sticky;
		return 0;
	}
	if (m->state == MILTER_FAILED) {
		fail(m, act, "%s", "the filter failed earlier");
		return 0;
	}
	ASSERT(m->state != MILTER_WAITING && m->state != MILTER_NEGOTIATING);
	if (m->state == MILTER_OVER || (m->in_msg && m->is_msg_accepted) ||
	    (st != NULL && (m->neg.protocol & st->no) != 0)) {
		answer_accept(act);
		return 0;
	}
	m->is_at_msg_end = 0;	/* the filter moves on from where it was */
	return 1;
}

/* After the packet of cmd went out: wait for its reply, or answer now when it has none. */
static void
sent(struct milter *m, uint8_t cmd, struct milter_action *act)
{
	const struct step *st = step_of(cmd);

	if (st != NULL && (m->neg.protocol & st->nr) != 0) {
		answer_accept(act);
		return;
	}
	memset(act, 0, sizeof(*act));
	act->kind = MILTER_WAIT;
	m->state = MILTER_WAITING;
	m->waiting_for = cmd;
}

static void
put_step_macros(struct milter *m, uint8_t cmd)
{
	const struct step *st = step_of(cmd);

	if (st != NULL && st->has_stage)
		put_stage_macros(m, st->stage);
}

void
milter_open(struct milter *m, struct milter_action *act)
{
	ASSERT(m->state == MILTER_NEW);
	(void)milter_put_optneg(m->out, MILTER_VERSION, MILTER_ACT_ALL, MILTER_P_OFFER);
	memset(act, 0, sizeof(*act));
	act->kind = MILTER_WAIT;
	m->state = MILTER_NEGOTIATING;
	m->waiting_for = MILTER_CMD_OPTNEG;
}

void
milter_connect(struct milter *m, const char *hostname, char family, uint16_t port,
    const char *addr, struct milter_action *act)
{
	if (!should_send(m, MILTER_CMD_CONNECT, act))
		return;
	put_step_macros(m, MILTER_CMD_CONNECT);
	(void)milter_put_connect(m->out, hostname, family, port, addr);
	sent(m, MILTER_CMD_CONNECT, act);
}

static void
send_strings(struct milter *m, uint8_t cmd, const char *const *s, size_t n,
    struct milter_action *act)
{
	if (!should_send(m, cmd, act))
		return;
	put_step_macros(m, cmd);
	if (milter_put_strings(m->out, cmd, s, n) == -1) {
		fail(m, act, "%s", "a command too long to send");
		return;
	}
	sent(m, cmd, act);
}

void
milter_helo(struct milter *m, const char *helo, struct milter_action *act)
{
	send_strings(m, MILTER_CMD_HELO, &helo, 1, act);
}

static void
msg_reset(struct milter *m)
{
	m->in_msg = 0;
	m->is_msg_accepted = 0;
	m->is_body_skipped = 0;
	m->changes = m->rcpts_added = 0;
	m->body_bytes = m->header_bytes = 0;
}

void
milter_mail(struct milter *m, const char *const *args, size_t n, struct milter_action *act)
{
	/* a message that never reached its end (RSET, refused): libmilter wants it aborted first */
	milter_abort(m);
	if (!m->has_sticky && m->state != MILTER_OVER && m->state != MILTER_FAILED)
		m->in_msg = 1;
	send_strings(m, MILTER_CMD_MAIL, args, n, act);
}

void
milter_rcpt(struct milter *m, const char *const *args, size_t n, struct milter_action *act)
{
	send_strings(m, MILTER_CMD_RCPT, args, n, act);
}

void
milter_unknown(struct milter *m, const char *line, struct milter_action *act)
{
	send_strings(m, MILTER_CMD_UNKNOWN, &line, 1, act);
}

static void
send_bare(struct milter *m, uint8_t cmd, struct milter_action *act)
{
	if (!should_send(m, cmd, act))
		return;
	put_step_macros(m, cmd);
	(void)milter_put_bare(m->out, cmd);
	sent(m, cmd, act);
}

void
milter_data(struct milter *m, struct milter_action *act)
{
	send_bare(m, MILTER_CMD_DATA, act);
}

void
milter_eoh(struct milter *m, struct milter_action *act)
{
	send_bare(m, MILTER_CMD_EOH, act);
}

void
milter_eom(struct milter *m, struct milter_action *act)
{
	if (!should_send(m, MILTER_CMD_BODYEOB, act)) {
		msg_reset(m);
		return;
	}
	put_step_macros(m, MILTER_CMD_BODYEOB);
	(void)milter_put_bare(m->out, MILTER_CMD_BODYEOB);
	sent(m, MILTER_CMD_BODYEOB, act);
}

/*
 * Sendmail's form of a field's value: folds as LF, and without
 * HDR_LEADSPC the space after the colon left out.
 */
void
milter_header(struct milter *m, const char *name, struct slice value, struct milter_action *act)
{
	size_t i = 0;

	if (!should_send(m, MILTER_CMD_HEADER, act))
		return;
	buf_reset(&m->scratch);
	if ((m->neg.protocol & MILTER_P_HDR_LEADSPC) == 0)
		while (i < value.len && (value.p[i] == ' ' || value.p[i] == '\t'))
			i++;
	for (; i < value.len; i++) {
		if (value.p[i] == '\r' && i + 1 < value.len && value.p[i + 1] == '\n')
			continue;
		if (buf_append_byte(&m->scratch, value.p[i]) == -1) {
			fail(m, act, "%s", "a header field longer than a packet");
			return;
		}
	}
	(void)milter_put_header(m->out, name, m->scratch.data, m->scratch.len);
	sent(m, MILTER_CMD_HEADER, act);
}

void
milter_body(struct milter *m, const uint8_t *p, size_t n, struct milter_action *act)
{
	ASSERT(n <= MILTER_CHUNK);
	if (m->is_body_skipped) {
		answer_accept(act);
		return;
	}
	if (!should_send(m, MILTER_CMD_BODY, act))
		return;
	(void)milter_put_body(m->out, p, n);
	sent(m, MILTER_CMD_BODY, act);
}

void
milter_abort(struct milter *m)
{
	if (m->in_msg && (m->state == MILTER_IDLE || m->state == MILTER_OVER) &&
	    !m->has_sticky) {
		(void)milter_put_bare(m->out, MILTER_CMD_ABORT);
		m->is_at_msg_end = 0;
	}
	msg_reset(m);
}

void
milter_quit(struct milter *m, int is_new_conn_next)
{
	if (m->state == MILTER_IDLE || m->state == MILTER_OVER)
		(void)milter_put_bare(m->out, is_new_conn_next ? MILTER_CMD_QUIT_NC :
		    MILTER_CMD_QUIT);
	m->state = is_new_conn_next && m->state == MILTER_IDLE ? MILTER_IDLE : MILTER_OVER;
	m->has_sticky = 0;
	m->is_at_msg_end = 0;
	msg_reset(m);
	if (is_new_conn_next)
		macros_clear(m);	/* the last connection's values must not reach the next one */
}

int
milter_is_reusable(const struct milter *m)
{
	return m->state == MILTER_IDLE && m->is_at_msg_end && !m->has_sticky && !m->in_msg;
}

int
milter_msg_is_over(const struct milter *m)
{
	return m->has_sticky || m->state == MILTER_OVER || m->state == MILTER_FAILED ||
	    m->is_msg_accepted;
}

int
milter_body_unwanted(const struct milter *m)
{
	return milter_msg_is_over(m) || m->is_body_skipped ||
	    (m->neg.protocol & MILTER_P_NOBODY) != 0;
}

/* ---- replies ---- */

static void
negotiated(struct milter *m, const struct milter_reply *r, struct milter_action *act)
{
	char err[256];

	if (milter_neg_judge(r, MILTER_ACT_ALL, MILTER_P_OFFER, &m->neg, err, sizeof(err)) == -1) {
		fail(m, act, "option negotiation: %s", err);
		return;
	}
	m->state = MILTER_IDLE;
	answer_accept(act);
}

/* A change at the end of the message: allowed by the actions negotiated, within the limits. */
static void
change(struct milter *m, const struct milter_reply *r, struct milter_action *act)
{
	static const struct { uint8_t cmd; uint32_t action; } needs[] = {
		{ MILTER_REP_ADDHEADER, MILTER_ACT_ADDHDRS },
		{ MILTER_REP_INSHEADER, MILTER_ACT_ADDHDRS },
		{ MILTER_REP_CHGHEADER, MILTER_ACT_CHGHDRS },
		{ MILTER_REP_ADDRCPT, MILTER_ACT_ADDRCPT },
		{ MILTER_REP_ADDRCPT_PAR, MILTER_ACT_ADDRCPT_PAR },
		{ MILTER_REP_DELRCPT, MILTER_ACT_DELRCPT },
		{ MILTER_REP_REPLBODY, MILTER_ACT_CHGBODY },
		{ MILTER_REP_CHGFROM, MILTER_ACT_CHGFROM },
		{ MILTER_REP_QUARANTINE, MILTER_ACT_QUARANTINE },
	};
	const char *name = milter_reply_name(r->cmd);

	if (m->waiting_for != MILTER_CMD_BODYEOB) {
		fail(m, act, "%s before the end of the message", name);
		return;
	}
	for (size_t i = 0; i < sizeof(needs) / sizeof(needs[0]); i++)
		if (needs[i].cmd == r->cmd && (m->neg.actions & needs[i].action) == 0) {
			fail(m, act, "%s without negotiating it", name);
			return;
		}
	if (++m->changes > m->lim.max_changes) {
		fail(m, act, "%s: too many changes to one message", name);
		return;
	}
	if (r->cmd == MILTER_REP_REPLBODY) {
		m->body_bytes += r->value.len;
		if (m->body_bytes > m->lim.max_body_bytes) {
			fail(m, act, "%s: a body larger than the message size limit", name);
			return;
		}
	}
	if (r->cmd == MILTER_REP_ADDHEADER || r->cmd == MILTER_REP_INSHEADER ||
	    r->cmd == MILTER_REP_CHGHEADER) {
		m->header_bytes += r->name.len + r->value.len;
		if (m->header_bytes > m->lim.max_header_bytes) {
			fail(m, act, "%s: header fields past the limit", name);
			return;
		}
	}
	if ((r->cmd == MILTER_REP_ADDRCPT || r->cmd == MILTER_REP_ADDRCPT_PAR) &&
	    ++m->rcpts_added > m->lim.max_rcpts_added) {
		fail(m, act, "%s: too many recipients added", name);
		return;
	}
	memset(act, 0, sizeof(*act));
	act->kind = MILTER_CHANGE;
	act->change = r;
}

/* The verdict a reply gives at the step waited for; the filter's state after it. */
static void
verdict_of(struct milter *m, const struct milter_reply *r, struct milter_action *act)
{
	uint8_t cmd = m->waiting_for;
	int conn = is_conn_step(cmd);
	char rule[VERDICT_RULE_MAX + 1];

	snprintf(rule, sizeof(rule), "milter:%s", m->name);
	memset(act, 0, sizeof(*act));
	act->kind = MILTER_ANSWER;
	m->state = MILTER_IDLE;
	switch (r->cmd) {
	case MILTER_REP_CONTINUE:
		verdict_accept(&act->v);
		m->is_at_msg_end = cmd == MILTER_CMD_BODYEOB;
		break;
	case MILTER_REP_ACCEPT:
		verdict_accept(&act->v);
		if (conn)
			m->state = MILTER_OVER;
		else if (cmd != MILTER_CMD_BODYEOB && cmd != MILTER_CMD_UNKNOWN)
			m->is_msg_accepted = 1;
		break;
	case MILTER_REP_DISCARD:
		if (conn || cmd == MILTER_CMD_UNKNOWN) {
			fail(m, act, "DISCARD in reply to %s, before any message",
			    cmd == MILTER_CMD_CONNECT ? "CONNECT" : cmd == MILTER_CMD_HELO ? "HELO" :
			    "an unknown command");
			return;
		}
		verdict_set(&act->v, VERDICT_DISCARD, 0, "", rule, "discarded");
		m->is_msg_accepted = cmd != MILTER_CMD_BODYEOB;
		break;
	case MILTER_REP_REJECT:
		verdict_set(&act->v, VERDICT_REJECT, 550, "5.7.1", rule, "Command rejected");
		break;
	case MILTER_REP_TEMPFAIL:
		verdict_set(&act->v, VERDICT_TEMPFAIL, 451, "4.7.1",
		    rule, "Service unavailable - try again later");
		break;
	case MILTER_REP_REPLYCODE:
		verdict_set(&act->v, r->code >= 500 ? VERDICT_REJECT : VERDICT_TEMPFAIL, r->code,
		    r->dsn[0] ? r->dsn : (r->code >= 500 ? "5.7.1" : "4.7.1"), rule, "%s",
		    r->text[0] ? r->text : "Command rejected");
		break;
	case MILTER_REP_SHUTDOWN: case MILTER_REP_CONN_FAIL:
		verdict_set(&act->v, VERDICT_TEMPFAIL, 421, "4.7.0", rule,
		    "Service unavailable - closing connection");
		m->sticky = act->v;
		m->has_sticky = 1;
		return;
	default:
		fail(m, act, "%s where a verdict was due", milter_reply_name(r->cmd));
		return;
	}
	/* a connection refused stays refused: every later step gets the same answer */
	if (conn && (act->v.kind == VERDICT_REJECT || act->v.kind == VERDICT_TEMPFAIL)) {
		m->sticky = act->v;
		m->has_sticky = 1;
	}
	if (cmd == MILTER_CMD_BODYEOB)
		msg_reset(m);
}

void
milter_input(struct milter *m, const struct milter_reply *r, struct milter_action *act)
{
	char err[256];

	if (m->state == MILTER_NEGOTIATING) {
		negotiated(m, r, act);
		return;
	}
	if (m->state != MILTER_WAITING) {
		fail(m, act, "%s when no reply was due", milter_reply_name(r->cmd));
		return;
	}
	switch (r->cmd) {
	case MILTER_REP_PROGRESS:
		memset(act, 0, sizeof(*act));
		act->kind = MILTER_WAIT;
		act->is_progress = 1;
		return;
	case MILTER_REP_SETSYMLIST:
		if ((m->neg.actions & MILTER_ACT_SETSYMLIST) == 0) {
			fail(m, act, "%s", "SETSYMLIST without negotiating it");
			return;
		}
		if (milter_neg_set_macros(&m->neg, r->stage, r->value, err, sizeof(err)) == -1) {
			fail(m, act, "SETSYMLIST: %s", err);
			return;
		}
		memset(act, 0, sizeof(*act));
		act->kind = MILTER_WAIT;
		return;
	case MILTER_REP_SKIP:
		if (m->waiting_for != MILTER_CMD_BODY || (m->neg.protocol & MILTER_P_SKIP) == 0) {
			fail(m, act, "%s", "SKIP where it was not allowed");
			return;
		}
		m->is_body_skipped = 1;
		m->state = MILTER_IDLE;
		answer_accept(act);
		return;
	case MILTER_REP_ADDHEADER: case MILTER_REP_INSHEADER: case MILTER_REP_CHGHEADER:
	case MILTER_REP_ADDRCPT: case MILTER_REP_ADDRCPT_PAR: case MILTER_REP_DELRCPT:
	case MILTER_REP_REPLBODY: case MILTER_REP_CHGFROM: case MILTER_REP_QUARANTINE:
		change(m, r, act);
		return;
	default:
		verdict_of(m, r, act);
		return;
	}
}
