/*
 * smtpc.c - the SMTP client's protocol: reply parsing and the session
 * state machine (see smtpc.h). The machine never waits on anything but a
 * reply; smtp_client_io.c turns its actions into I/O, and smtp_client.c
 * owns the timeouts.
 * LMTP (RFC 2033) is the same machine with LHLO for EHLO and a reply per
 * recipient after the data (lmtp_reply), so both share every other path.
 */
#include "deliver/smtpc.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "util/ascii.h"
#include "util/log.h"
#include "util/xalloc.h"

/* ---- replies ---- */

void
smtpc_reader_init(struct smtpc_reader *r)
{
	memset(r, 0, sizeof(*r));
	buf_init(&r->line, SMTPC_MAX_LINE);
}

void
smtpc_reader_clear(struct smtpc_reader *r)
{
	buf_clear(&r->line);
}

/* "2.1.5 " at the start of text: its length, or 0. RFC 3463 2: class.subject.detail */
static size_t
status_len(const uint8_t *p, size_t n)
{
	size_t i = 0;

	if (n < 6 || (p[0] != '2' && p[0] != '4' && p[0] != '5') || p[1] != '.')
		return 0;
	i = 2;
	for (int part = 0; part < 2; part++) {
		size_t start = i;

		while (i < n && ascii_isdigit(p[i]) && i - start < 3)
			i++;
		if (i == start)
			return 0;
		if (part == 0) {
			if (i >= n || p[i] != '.')
				return 0;
			i++;
		}
	}
	return i < n && p[i] == ' ' ? i : (i == n ? i : 0);
}

static void
add_caps(struct smtpc_reply *out, const uint8_t *p, size_t n)
{
	size_t kw = 0;

	while (kw < n && p[kw] != ' ' && p[kw] != '=')
		kw++;
	if (kw == n && slice_caseeq((struct slice){ p, kw }, "STARTTLS"))
		out->caps |= SMTPC_CAP_STARTTLS;
	else if (kw == n && slice_caseeq((struct slice){ p, kw }, "PIPELINING"))
		out->caps |= SMTPC_CAP_PIPELINING;
	else if (kw == n && slice_caseeq((struct slice){ p, kw }, "8BITMIME"))
		out->caps |= SMTPC_CAP_8BITMIME;
	else if (kw == n && slice_caseeq((struct slice){ p, kw }, "SMTPUTF8"))
		out->caps |= SMTPC_CAP_SMTPUTF8;
	else if (kw == n && slice_caseeq((struct slice){ p, kw }, "ENHANCEDSTATUSCODES"))
		out->caps |= SMTPC_CAP_ENHANCEDSTATUSCODES;
	else if (slice_caseeq((struct slice){ p, kw }, "SIZE")) {
		uint64_t v = 0;

		out->caps |= SMTPC_CAP_SIZE;
		/* RFC 1870 4: "SIZE" alone or "SIZE 0" means no fixed limit */
		if (kw < n && ascii_parse_u64((struct slice){ p + kw + 1, n - kw - 1 }, &v) == 0)
			out->size_limit = v;
	} else if (slice_caseeq((struct slice){ p, kw }, "AUTH")) {
		/* "AUTH PLAIN LOGIN", and the old "AUTH=PLAIN LOGIN" */
		size_t i = kw;

		while (i < n) {
			size_t start = ++i;

			while (i < n && p[i] != ' ')
				i++;
			if (slice_caseeq((struct slice){ p + start, i - start }, "PLAIN"))
				out->caps |= SMTPC_CAP_AUTH_PLAIN;
			else if (slice_caseeq((struct slice){ p + start, i - start }, "LOGIN"))
				out->caps |= SMTPC_CAP_AUTH_LOGIN;
		}
	}
}

/* Adds one line's text (after the code and separator) to r->cur. */
static void
add_text(struct smtpc_reader *r, const uint8_t *p, size_t n)
{
	struct smtpc_reply *c = &r->cur;
	size_t sl = status_len(p, n);

	/*
	 * RFC 3463 2: the enhanced status has the class of the reply code. One
	 * that does not ("250 5.1.1") is no status but text: it must not make
	 * a delivered recipient look failed, or a bounce say 2.0.0.
	 */
	if (sl > 0 && p[0] != '0' + c->code / 100)
		sl = 0;
	if (r->nlines == 1 && sl > 0 && sl < sizeof(c->status)) {
		memcpy(c->status, p, sl);
		c->status[sl] = '\0';
	}
	if (r->nlines > 1)
		add_caps(c, p, n);
	if (sl > 0) {
		p += sl;
		n -= sl;
		while (n > 0 && *p == ' ')
			p++, n--;
	}
	if (r->nlines > 1 && r->text_len + 2 < SMTPC_TEXT) {
		memcpy(c->text + r->text_len, "; ", 2);
		r->text_len += 2;
	}
	for (size_t i = 0; i < n && r->text_len + 1 < SMTPC_TEXT; i++) {
		/* the text reaches logs and bounces: nothing but printable ASCII */
		c->text[r->text_len++] = (char)(p[i] >= 0x20 && p[i] < 0x7f ? p[i] : '?');
	}
	c->text[r->text_len] = '\0';
}

/* One complete line (CRLF or LF removed): 1 for the last line of a reply, 0 for more, -1 bad. */
static int
take_line(struct smtpc_reader *r, const uint8_t *p, size_t n)
{
	int code;

	if (n < 3 || !ascii_isdigit(p[0]) || !ascii_isdigit(p[1]) || !ascii_isdigit(p[2]) ||
	    p[0] < '2' || p[0] > '5' || (n > 3 && p[3] != ' ' && p[3] != '-'))
		return -1;
	code = (p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0');
	if (r->nlines == 0) {
		memset(&r->cur, 0, sizeof(r->cur));
		r->text_len = 0;
		r->cur.code = code;
	} else if (code != r->cur.code) {
		return -1;	/* RFC 5321 4.2.1: every line of a reply has the same code */
	}
	if (++r->nlines > SMTPC_MAX_LINES)
		return -1;
	add_text(r, p + (n > 3 ? 4 : 3), n > 3 ? n - 4 : 0);
	return n > 3 && p[3] == '-' ? 0 : 1;
}

enum smtpc_parse
smtpc_reader_feed(struct smtpc_reader *r, const uint8_t *in, size_t len, size_t *used_out,
    struct smtpc_reply *out)
{
	size_t used = 0;

	while (used < len) {
		const uint8_t *lf = memchr(in + used, '\n', len - used);
		size_t take = lf ? (size_t)(lf - (in + used)) + 1 : len - used;
		const uint8_t *p;
		size_t n;
		int rc;

		if (buf_append(&r->line, in + used, take) == -1) {
			*used_out = used;
			return SMTPC_PARSE_BAD;
		}
		used += take;
		if (lf == NULL)
			break;
		p = r->line.data;
		n = r->line.len - 1;
		if (n > 0 && p[n - 1] == '\r')
			n--;
		rc = take_line(r, p, n);
		buf_reset(&r->line);
		if (rc == -1) {
			*used_out = used;
			return SMTPC_PARSE_BAD;
		}
		if (rc == 1) {
			*out = r->cur;
			r->nlines = 0;
			*used_out = used;
			return SMTPC_PARSE_OK;
		}
	}
	*used_out = used;
	return SMTPC_PARSE_MORE;
}

/* ---- the session ---- */

static const char *const state_names[] = {
	[SMTPC_GREETING] = "greeting", [SMTPC_EHLO] = "EHLO", [SMTPC_LHLO] = "LHLO",
	[SMTPC_HELO] = "HELO",
	[SMTPC_STARTTLS] = "STARTTLS", [SMTPC_TLS] = "TLS handshake", [SMTPC_AUTH] = "AUTH",
	[SMTPC_AUTH_USER] = "AUTH LOGIN", [SMTPC_AUTH_PASS] = "AUTH LOGIN", [SMTPC_READY] = "idle",
	[SMTPC_MAIL] = "MAIL", [SMTPC_RCPT] = "RCPT", [SMTPC_DATA] = "DATA",
	[SMTPC_BODY] = "data", [SMTPC_DOT] = "end of data", [SMTPC_RSET] = "RSET",
	[SMTPC_QUIT] = "QUIT", [SMTPC_FAILED] = "failed",
};

const char *
smtpc_state_name(enum smtpc_state s)
{
	return state_names[s];
}

void
smtpc_conf_tls(struct smtpc_conf *conf, enum config_tls tls, int has_ctx)
{
	conf->is_tls_allowed = tls != CONFIG_TLS_NONE && has_ctx;
	conf->is_tls_required = tls >= CONFIG_TLS_ENCRYPT;
}

void
smtpc_init(struct smtpc *c, const struct smtpc_conf *conf, struct buf *out)
{
	memset(c, 0, sizeof(*c));
	c->conf = conf;
	c->out = out;
	c->state = SMTPC_GREETING;
}

static void
sendf(struct smtpc *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
sendf(struct smtpc *c, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = buf_vprintf(c->out, fmt, ap);
	va_end(ap);
	ASSERT(rc == 0);	/* the caller's buffer holds any command we build */
}

static void
copy_result(struct smtpc_result *dst, const struct smtpc_reply *r)
{
	dst->code = r->code;
	memcpy(dst->status, r->status, sizeof(dst->status));
	memcpy(dst->text, r->text, sizeof(dst->text));
}

static void
set_result(struct smtpc_result *dst, int code, const char *status, const char *text)
{
	dst->code = code;
	snprintf(dst->status, sizeof(dst->status), "%s", status);
	snprintf(dst->text, sizeof(dst->text), "%s", text);
}

void
smtpc_lost(struct smtpc *c)
{
	struct smtpc_txn *t = c->txn;

	if (t == NULL)
		return;
	/*
	 * An accepted RCPT is no delivery: only the reply to the final dot is,
	 * or in LMTP the recipient's own reply after it. Those of [0, nfinal)
	 * came, and stand: a 250 there is a delivery, and trying it again
	 * would deliver twice. The rest may or may not have been delivered;
	 * trying again risks a duplicate, never a loss.
	 */
	for (size_t i = c->nfinal; i < t->nrcpts; i++)
		if (t->results[i].code / 100 == 2)
			t->results[i].code = 0;
	c->txn = NULL;
}

/* The session is over. Recipients not finally answered are left unanswered (code 0). */
static void
fail(struct smtpc *c, struct smtpc_action *act, int is_perm, const char *what,
    const struct smtpc_reply *r)
{
	if (r != NULL)
		snprintf(act->why, sizeof(act->why), "%s: %d %s%s%s", what, r->code, r->status,
		    r->status[0] ? " " : "", r->text);
	else
		snprintf(act->why, sizeof(act->why), "%s", what);
	act->is_failed = 1;
	act->is_perm = is_perm;
	smtpc_lost(c);
	c->state = SMTPC_FAILED;
}

static void
ready(struct smtpc *c, struct smtpc_action *act)
{
	c->state = SMTPC_READY;
	act->is_ready = 1;
}

static void
start_auth(struct smtpc *c, struct smtpc_action *act)
{
	if (!c->is_tls) {
		fail(c, act, 0, "AUTH needs TLS, and TLS is not in use", NULL);
	} else if (c->caps & SMTPC_CAP_AUTH_PLAIN) {
		sendf(c, "AUTH PLAIN %s\r\n", c->conf->auth_plain_b64);
		c->state = SMTPC_AUTH;
	} else if (c->caps & SMTPC_CAP_AUTH_LOGIN) {
		sendf(c, "AUTH LOGIN\r\n");
		c->state = SMTPC_AUTH_USER;
	} else {
		fail(c, act, 0, "the server offers neither AUTH PLAIN nor AUTH LOGIN", NULL);
	}
}

/* After EHLO/HELO: STARTTLS if offered, then AUTH if configured, then ready. */
static void
after_hello(struct smtpc *c, struct smtpc_action *act)
{
	if (!c->is_tls && (c->caps & SMTPC_CAP_STARTTLS) && c->conf->is_tls_allowed) {
		sendf(c, "STARTTLS\r\n");
		c->state = SMTPC_STARTTLS;
	} else if (!c->is_tls && c->conf->is_tls_required) {
		fail(c, act, 0, "TLS is required and the server does not offer STARTTLS", NULL);
	} else if (c->conf->auth_plain_b64 != NULL) {
		start_auth(c, act);
	} else {
		ready(c, act);
	}
}

static void
hello(struct smtpc *c)
{
	/* RFC 2033 4.1: LHLO, so that an LMTP server is never taken for an SMTP one */
	if (c->conf->is_lmtp) {
		sendf(c, "LHLO %s\r\n", c->conf->helo_name);
		c->state = SMTPC_LHLO;
	} else {
		sendf(c, "EHLO %s\r\n", c->conf->helo_name);
		c->state = SMTPC_EHLO;
	}
}

void
smtpc_tls_ready(struct smtpc *c)
{
	/* RFC 3207 4.2: forget everything learnt before TLS and greet again */
	c->is_tls = 1;
	c->caps = 0;
	c->size_limit = 0;
	hello(c);
}

static void
txn_done(struct smtpc *c, struct smtpc_action *act)
{
	act->is_txn_done = 1;
	c->txn = NULL;
}

/* The transaction failed before data: every recipient without a failure gets r. */
static void
txn_failed(struct smtpc *c, const struct smtpc_reply *r, struct smtpc_action *act)
{
	struct smtpc_txn *t = c->txn;

	copy_result(&t->msg, r);
	for (size_t i = 0; i < t->nrcpts; i++)
		if (t->results[i].code == 0 || t->results[i].code / 100 == 2)
			copy_result(&t->results[i], r);
	txn_done(c, act);
	sendf(c, "RSET\r\n");
	c->state = SMTPC_RSET;
}

static void
send_rcpt(struct smtpc *c, size_t i)
{
	sendf(c, "RCPT TO:<%s>\r\n", c->txn->rcpts[i]);
}

void
smtpc_begin(struct smtpc *c, struct smtpc_txn *t, struct smtpc_action *act)
{
	char text[SMTPC_TEXT];

	ASSERT(c->state == SMTPC_READY && t->nrcpts > 0);
	memset(act, 0, sizeof(*act));
	for (size_t i = 0; i < t->nrcpts; i++)
		memset(&t->results[i], 0, sizeof(t->results[i]));
	memset(&t->msg, 0, sizeof(t->msg));
	t->is_sent = 0;
	if ((c->caps & SMTPC_CAP_SIZE) && c->size_limit > 0 && t->size > c->size_limit) {
		/* RFC 1870 6: never send what the server said it will not take */
		snprintf(text, sizeof(text), "message size %llu exceeds the limit of %llu bytes "
		    "of the remote server", (unsigned long long)t->size,
		    (unsigned long long)c->size_limit);
		set_result(&t->msg, 552, "5.3.4", text);
	} else if (t->is_smtputf8 && !(c->caps & SMTPC_CAP_SMTPUTF8)) {
		/* RFC 6531 3.2: no downgrade; the sender has to hear of it */
		set_result(&t->msg, 550, "5.6.7", "the remote server does not support SMTPUTF8, "
		    "which the message needs");
	}
	if (t->msg.code != 0) {
		for (size_t i = 0; i < t->nrcpts; i++)
			t->results[i] = t->msg;
		act->is_txn_done = 1;
		act->is_ready = 1;
		return;
	}
	c->txn = t;
	c->next_rcpt = 0;
	c->naccepted = 0;
	c->nfinal = 0;
	c->messages++;
	sendf(c, "MAIL FROM:<%s>", t->sender);
	if (c->caps & SMTPC_CAP_SIZE)
		sendf(c, " SIZE=%llu", (unsigned long long)t->size);
	/* XXX: an 8-bit body to a server without 8BITMIME is sent as it is, as Postfix does */
	if (t->is_8bitmime && (c->caps & SMTPC_CAP_8BITMIME))
		sendf(c, " BODY=8BITMIME");
	if (t->is_smtputf8)
		sendf(c, " SMTPUTF8");
	sendf(c, "\r\n");
	if (c->caps & SMTPC_CAP_PIPELINING) {
		/* RFC 2920 3.1: MAIL, every RCPT and DATA in one go; replies come in order */
		for (size_t i = 0; i < t->nrcpts; i++)
			send_rcpt(c, i);
		sendf(c, "DATA\r\n");
	}
	c->state = SMTPC_MAIL;
}

void
smtpc_body_sent(struct smtpc *c)
{
	ASSERT(c->state == SMTPC_BODY);
	c->state = SMTPC_DOT;
}

void
smtpc_quit(struct smtpc *c)
{
	sendf(c, "QUIT\r\n");
	c->state = SMTPC_QUIT;
}

/*
 * LMTP after the data (RFC 2033 4.2): r is the reply for the next recipient
 * that RCPT accepted, in RCPT order. The transaction ends with the last one.
 */
static void
lmtp_reply(struct smtpc *c, const struct smtpc_reply *r, struct smtpc_action *act)
{
	struct smtpc_txn *t = c->txn;
	size_t i = c->nfinal;

	/* [0, nfinal) are answered; the next with an RCPT 2xx is this reply's */
	while (i < t->nrcpts && t->results[i].code / 100 != 2)
		i++;
	ASSERT(i < t->nrcpts);	/* the last one ends the transaction */
	copy_result(&t->results[i], r);
	t->is_sent |= r->code / 100 == 2;
	c->nfinal = ++i;
	while (i < t->nrcpts && t->results[i].code / 100 != 2)
		i++;
	if (i < t->nrcpts)
		return;		/* more replies to come */
	copy_result(&t->msg, r);
	txn_done(c, act);
	ready(c, act);
}

/* A reply to MAIL (mail_ok) or to a RCPT has come; what next. */
static void
after_rcpts(struct smtpc *c, const struct smtpc_reply *r, struct smtpc_action *act)
{
	if (c->caps & SMTPC_CAP_PIPELINING) {
		c->state = SMTPC_DATA;	/* DATA went with the rest */
		return;
	}
	if (c->naccepted > 0) {
		sendf(c, "DATA\r\n");
		c->state = SMTPC_DATA;
		return;
	}
	txn_failed(c, r, act);
}

/*
 * RFC 5321 4.3.2: MAIL, RCPT, RSET and the end of the data are answered
 * 2xx, 4xx or 5xx, and DATA 354, 4xx or 5xx. Any other reply comes from a
 * broken or out-of-step peer, and is no verdict on anyone: a 250 to DATA
 * taken as one would count a message never sent as delivered.
 */
static int
reply_fits(enum smtpc_state s, int code)
{
	switch (s) {
	case SMTPC_MAIL:
	case SMTPC_RCPT:
	case SMTPC_RSET:
	case SMTPC_DOT:
		return code / 100 != 3;
	case SMTPC_DATA:
		return code == 354 || code / 100 == 4 || code / 100 == 5;
	default:
		return 1;
	}
}

void
smtpc_input(struct smtpc *c, const struct smtpc_reply *r, struct smtpc_action *act)
{
	struct smtpc_txn *t = c->txn;
	int ok = r->code / 100 == 2;

	memset(act, 0, sizeof(*act));
	/* RFC 5321 3.8: 421 at any point means the server is closing the session */
	if (r->code == 421 && c->state != SMTPC_QUIT) {
		fail(c, act, 0, "the server closes the session", r);
		return;
	}
	if (!reply_fits(c->state, r->code)) {
		/* found by fuzz_smtpc; test_session_replies_out_of_place */
		fail(c, act, 0, "reply out of place", r);
		return;
	}
	switch (c->state) {
	case SMTPC_GREETING:
		if (r->code == 220) {
			hello(c);
		} else {
			fail(c, act, r->code / 100 == 5, "greeting", r);
		}
		break;
	case SMTPC_EHLO:
	case SMTPC_LHLO:
		if (ok) {
			c->caps = r->caps;
			c->size_limit = r->size_limit;
			after_hello(c, act);
		} else if (r->code / 100 == 5 && !c->is_tls && c->state == SMTPC_EHLO) {
			sendf(c, "HELO %s\r\n", c->conf->helo_name);	/* RFC 5321 3.2 */
			c->state = SMTPC_HELO;
		} else {
			/* LMTP has no HELO (RFC 2033 4.1): a 5xx to LHLO is the last word */
			fail(c, act, c->state == SMTPC_LHLO && r->code / 100 == 5,
			    smtpc_state_name(c->state), r);
		}
		break;
	case SMTPC_HELO:
		if (ok) {
			c->caps = 0;
			after_hello(c, act);
		} else {
			fail(c, act, r->code / 100 == 5, "HELO", r);
		}
		break;
	case SMTPC_STARTTLS:
		if (r->code == 220) {
			c->state = SMTPC_TLS;
			act->want_tls = 1;
		} else if (c->conf->is_tls_required) {
			fail(c, act, 0, "STARTTLS", r);
		} else if (c->conf->auth_plain_b64 != NULL) {
			start_auth(c, act);
		} else {
			ready(c, act);	/* opportunistic: carry on in the clear */
		}
		break;
	case SMTPC_AUTH:
		if (r->code == 235)
			ready(c, act);
		else
			fail(c, act, 0, "AUTH", r);
		break;
	case SMTPC_AUTH_USER:
	case SMTPC_AUTH_PASS:
		if (r->code != 334) {
			fail(c, act, 0, "AUTH LOGIN", r);
			break;
		}
		sendf(c, "%s\r\n", c->state == SMTPC_AUTH_USER ? c->conf->auth_user_b64 :
		    c->conf->auth_pass_b64);
		c->state = c->state == SMTPC_AUTH_USER ? SMTPC_AUTH_PASS : SMTPC_AUTH;
		break;
	case SMTPC_MAIL:
		if (!ok) {
			copy_result(&t->msg, r);
			for (size_t i = 0; i < t->nrcpts; i++)
				copy_result(&t->results[i], r);
			if (!(c->caps & SMTPC_CAP_PIPELINING)) {
				txn_failed(c, r, act);
				break;
			}
		} else if (!(c->caps & SMTPC_CAP_PIPELINING)) {
			send_rcpt(c, 0);
		}
		c->state = SMTPC_RCPT;
		break;
	case SMTPC_RCPT:
		if (t->msg.code == 0) {	/* not when MAIL already failed them all */
			copy_result(&t->results[c->next_rcpt], r);
			c->naccepted += ok;
		}
		if (++c->next_rcpt < t->nrcpts) {
			if (!(c->caps & SMTPC_CAP_PIPELINING))
				send_rcpt(c, c->next_rcpt);
			break;
		}
		after_rcpts(c, r, act);
		break;
	case SMTPC_DATA:
		if (r->code == 354 && (c->naccepted == 0 || t->msg.code != 0)) {
			/* a server that says 354 with no recipient: end it empty, deliver nothing */
			sendf(c, ".\r\n");
			c->state = SMTPC_DOT;
		} else if (r->code == 354) {
			c->state = SMTPC_BODY;
			act->want_body = 1;
		} else if (t->msg.code != 0) {
			/* MAIL failed them all already; this is the pipelined DATA's refusal */
			txn_done(c, act);
			sendf(c, "RSET\r\n");
			c->state = SMTPC_RSET;
		} else {
			txn_failed(c, r, act);	/* the accepted recipients get the DATA reply */
		}
		break;
	case SMTPC_DOT:
		if (t->msg.code != 0 || c->naccepted == 0) {
			/* the empty message of a broken server: the failures stand */
			txn_done(c, act);
			sendf(c, "RSET\r\n");
			c->state = SMTPC_RSET;
			break;
		}
		if (c->conf->is_lmtp) {
			lmtp_reply(c, r, act);
			break;
		}
		copy_result(&t->msg, r);
		t->is_sent = ok;
		for (size_t i = 0; i < t->nrcpts; i++)
			if (t->results[i].code / 100 == 2)
				copy_result(&t->results[i], r);
		txn_done(c, act);
		ready(c, act);
		break;
	case SMTPC_RSET:
		if (ok)
			ready(c, act);
		else
			fail(c, act, 0, "RSET", r);
		break;
	case SMTPC_QUIT:
		act->is_closed = 1;	/* whatever it says: we are done (RFC 5321 4.1.1.10) */
		break;
	case SMTPC_READY:
	case SMTPC_BODY:
	case SMTPC_TLS:
	case SMTPC_FAILED:
		fail(c, act, 0, "unexpected reply", r);
		break;
	}
}

size_t
smtpc_dotstuff(const uint8_t *p, size_t n, int *is_bol, uint8_t *out)
{
	size_t i = 0, o = 0;

	while (i < n) {
		const uint8_t *lf;
		size_t run;

		if (*is_bol && p[i] == '.')
			out[o++] = '.';
		lf = memchr(p + i, '\n', n - i);
		run = lf ? (size_t)(lf - (p + i)) + 1 : n - i;
		memcpy(out + o, p + i, run);
		o += run;
		*is_bol = lf != NULL;
		i += run;
	}
	return o;
}
