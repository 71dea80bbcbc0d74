/*
 * test_session.c - the SMTP session state machine (src/smtp/session.c)
 * against its contract, docs/smtp.md.
 * Each case is a fresh session driven by real command lines: the bytes go
 * through smtp_cmd_parse() exactly as conn.c feeds them (pipelined lines
 * with has_more_input set, a too-long line skipped through its LF), and the
 * replies the session wrote are compared byte for byte with the document.
 * Events that are not command lines (end of DATA, commit, timeout) are steps
 * of their own. Hooks are fakes: fixed queue ids, a switchable "spool has
 * room", and a recipient policy that knows alice and bob at example.test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "policy/policy.h"
#include "smtp/session.h"
#include "smtp/smtp.h"
#include "util/log.h"

#define HOST "mx.example.test"
#define MAX_MSG 10240000
#define MAX_LINE 512

static const struct smtp_session_conf conf = {
	.hostname = HOST,
	.max_line_bytes = MAX_LINE,
	.max_text_line_bytes = 1000,
	.max_message_bytes = MAX_MSG,
	.max_recipients = 2,
	.max_errors = 3,
};

/* A listener with a certificate: STARTTLS is offered (RFC 3207). */
static const struct smtp_session_conf conf_tls = {
	.hostname = HOST,
	.max_line_bytes = MAX_LINE,
	.max_text_line_bytes = 1000,
	.max_message_bytes = MAX_MSG,
	.max_recipients = 2,
	.max_errors = 20,
	.offers_starttls = 1,
};

/* ---- fake hooks ---- */

struct fake {
	unsigned nqid;
	int has_room;
	unsigned room_calls;
	uint64_t room_size;
	unsigned ntargets;	/* recipients accepted since the last txn_begin */
	char last_mailbox[SMTP_LOCAL_MAX + 1];
	unsigned nasked[SMTP_STAGE_EOM + 1];	/* questions asked, per stage */
	const struct verdict *next;	/* the next verdict to give instead of judging, once */
};

static void
fake_txn_begin(void *ctx, char out[QID_LEN + 1])
{
	struct fake *f = ctx;

	f->ntargets = 0;
	(void)snprintf(out, QID_LEN + 1, "%013u", ++f->nqid);
}

static int
fake_has_room(void *ctx, uint64_t size)
{
	struct fake *f = ctx;

	f->room_calls++;
	f->room_size = size;
	return f->has_room;
}

/*
 * The judge, as policy would answer for a client at 192.0.2.x: alice and
 * bob at example.test are local users, other local parts unknown, other
 * domains not relayed to; every other stage is accepted.
 */
static void
fake_judge(struct fake *f, const struct smtp_ask *q, struct verdict *v)
{
	char to[SMTP_ADDR_FMT_MAX], mailbox[SMTP_LOCAL_MAX + 1];
	const struct smtp_addr *a = q->rcpt;

	verdict_accept(v);
	f->nasked[q->stage]++;
	if (q->stage != SMTP_STAGE_RCPT)
		return;
	assert_int_equal(smtp_addr_format(a, to, sizeof(to)), 0);
	if (strcmp(a->domain, "example.test") != 0) {
		policy_rcpt_verdict(POLICY_RCPT_RELAY_DENIED, to, v);
		return;
	}
	/* local parts match without regard to ASCII case (docs/smtp.md, RCPT TO) */
	for (size_t i = 0; i <= a->local_len; i++)
		mailbox[i] = (a->local[i] >= 'A' && a->local[i] <= 'Z') ? a->local[i] | 0x20 : a->local[i];
	if (strcmp(mailbox, "alice") != 0 && strcmp(mailbox, "bob") != 0) {
		policy_rcpt_verdict(POLICY_RCPT_UNKNOWN, to, v);
		return;
	}
	/* the caller keeps the targets: the fake remembers the last one */
	(void)snprintf(f->last_mailbox, sizeof(f->last_mailbox), "%s", mailbox);
	f->ntargets++;
}

struct fixture {
	struct fake fake;
	struct smtp_hooks hooks;
	struct smtp_session *s;
	char out[8192];
	enum smtp_act act;
};

static void
fx_open_conf(struct fixture *fx, const struct smtp_session_conf *c, const char *peer_ip)
{
	memset(fx, 0, sizeof(*fx));
	fx->fake.has_room = 1;
	fx->hooks = (struct smtp_hooks){
		.ctx = &fx->fake,
		.txn_begin = fake_txn_begin,
		.has_room = fake_has_room,
	};
	fx->s = smtp_session_new(c, &fx->hooks, "c1", peer_ip);
	assert_non_null(fx->s);
}

static void
fx_open(struct fixture *fx, const char *peer_ip)
{
	fx_open_conf(fx, &conf, peer_ip);
}

static void
fx_close(struct fixture *fx)
{
	smtp_session_free(&fx->s);
	assert_null(fx->s);
	smtp_session_free(&fx->s);	/* NULL is accepted */
}

/* Answers the session's questions as policy would, at once; returns the action after them. */
static enum smtp_act
fx_answer(struct fixture *fx, enum smtp_act a)
{
	while (a == SMTP_ACT_ASK) {
		struct verdict v;

		if (fx->fake.next != NULL) {
			v = *fx->fake.next;
			fx->fake.next = NULL;
		} else {
			fake_judge(&fx->fake, smtp_session_ask(fx->s), &v);
		}
		a = smtp_session_answer(fx->s, &v);
	}
	return a;
}

/* Takes the session's output as a string and empties it, as conn.c does after sending. */
static const char *
take_output(struct fixture *fx)
{
	struct buf *b = smtp_session_output(fx->s);

	assert_true(b->len < sizeof(fx->out));
	if (b->len > 0)
		memcpy(fx->out, b->data, b->len);
	fx->out[b->len] = '\0';
	buf_reset(b);
	return fx->out;
}

/*
 * Feeds len bytes of one or more lines the way conn.c does and returns the
 * replies. Stops at the first action other than NONE (after DATA's 354 the
 * bytes are message, after CLOSE nothing is read); fx->act is the last action.
 */
static const char *
feed(struct fixture *fx, const char *in, size_t len)
{
	const uint8_t *p = (const uint8_t *)in;
	size_t pos = 0;

	fx->act = SMTP_ACT_NONE;
	while (pos < len && fx->act == SMTP_ACT_NONE) {
		struct smtp_cmd cmd;
		size_t used = 0;
		enum smtp_parse r = smtp_cmd_parse(p + pos, len - pos, MAX_LINE, &cmd, &used);

		assert_int_not_equal(r, SMTP_PARSE_MORE);	/* every case ends its lines */
		assert_true(used > 0 && used <= len - pos);
		pos += used;
		if (r == SMTP_PARSE_TOO_LONG) {
			/* the rest of the line, through its LF, is dropped */
			const uint8_t *lf = memchr(p + pos, '\n', len - pos);

			pos = lf != NULL ? (size_t)(lf - p) + 1 : len;
		}
		fx->act = fx_answer(fx, smtp_session_line(fx->s, r, &cmd, pos < len));
	}
	return take_output(fx);
}

/* ---- the table ---- */

enum step_kind { STEP_END = 0, STEP_START, STEP_LINE, STEP_DATA_END, STEP_COMMITTED, STEP_TIMEOUT,
	STEP_NO_ROOM };

struct step {
	enum step_kind kind;
	const char *in;		/* STEP_LINE: the bytes, NULs allowed */
	size_t len;
	unsigned how;		/* START: enum smtp_start; DATA_END: dotdata flags; COMMITTED: result */
	uint64_t bytes;		/* DATA_END: body bytes */
	const char *want;	/* the exact replies */
	enum smtp_act act;
};

#define NONE SMTP_ACT_NONE
#define CLOSE SMTP_ACT_CLOSE
#define DATA SMTP_ACT_DATA
#define COMMIT SMTP_ACT_COMMIT

#define START(h, w, a) { STEP_START, NULL, 0, (h), 0, (w), (a) }
#define L(s, w) { STEP_LINE, (s), sizeof(s) - 1, 0, 0, (w), NONE }
#define LA(s, w, a) { STEP_LINE, (s), sizeof(s) - 1, 0, 0, (w), (a) }
#define END(f, n, w, a) { STEP_DATA_END, NULL, 0, (f), (n), (w), (a) }
#define COMMITTED(r, w) { STEP_COMMITTED, NULL, 0, (r), 0, (w), NONE }
#define TIMEOUT(w) { STEP_TIMEOUT, NULL, 0, 0, 0, (w), CLOSE }
#define NO_ROOM { STEP_NO_ROOM, NULL, 0, 0, 0, NULL, NONE }

#define GREET START(SMTP_START_GREET, "220 " HOST " ESMTP sterna\r\n", NONE)
#define EHLO_REPLY "250-" HOST "\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-8BITMIME\r\n" \
	"250-ENHANCEDSTATUSCODES\r\n250 SMTPUTF8\r\n"
#define EHLO L("EHLO client.test\r\n", EHLO_REPLY)
#define HELO L("HELO client.test\r\n", "250 " HOST "\r\n")
#define MAIL L("MAIL FROM:<sender@client.test>\r\n", "250 2.1.0 Ok\r\n")
#define RCPT_ALICE L("RCPT TO:<alice@example.test>\r\n", "250 2.1.5 Ok\r\n")
#define DATA_OK LA("DATA\r\n", "354 End data with <CR><LF>.<CR><LF>\r\n", DATA)
#define OK_0 "250 2.0.0 Ok\r\n"
#define NOT_IMPL "502 5.5.1 Error: command not implemented\r\n"
#define NOT_RECOG "500 5.5.2 Error: command not recognized\r\n"
#define BAD_PARAM "501 5.5.4 Bad parameter\r\n"
#define UNSUPP "555 5.5.4 Unsupported parameter\r\n"
#define TOO_BIG "552 5.3.4 Message size exceeds fixed limit\r\n"
#define NEEDS_UTF8 "553 5.6.7 Non-ASCII address requires SMTPUTF8\r\n"
#define ROUTE "553 5.7.1 Source routes are not accepted\r\n"
#define TOO_MANY_ERRORS "421 4.7.0 " HOST " Error: too many errors\r\n"

struct session_case {
	const char *name;
	struct step steps[16];
};

static const struct session_case cases[] = {
	/* ---- session ---- */
	{ "greeting", { GREET } },
	{ "busy", { START(SMTP_START_BUSY,
	    "421 4.7.0 " HOST " Too many connections, try again later\r\n", CLOSE) } },
	{ "early talk", { START(SMTP_START_EARLY_TALK,
	    "554 5.5.0 " HOST " Protocol error: client spoke before the greeting\r\n", CLOSE) } },
	{ "quit", { GREET, LA("QUIT\r\n", "221 2.0.0 Bye\r\n", CLOSE) } },
	/* after the final reply nothing more is said */
	{ "quit then noop", { GREET, LA("QUIT\r\nNOOP\r\n", "221 2.0.0 Bye\r\n", CLOSE),
	    LA("NOOP\r\n", "", CLOSE) } },
	{ "quit with argument", { GREET, L("QUIT now\r\n", "501 5.5.4 Syntax: QUIT\r\n") } },
	{ "timeout", { GREET, EHLO, TIMEOUT("421 4.4.2 " HOST " Error: timeout exceeded\r\n") } },
	{ "timeout during DATA", { GREET, EHLO, MAIL, RCPT_ALICE, DATA_OK,
	    TIMEOUT("421 4.4.2 " HOST " Error: timeout exceeded\r\n") } },

	/* ---- HELO / EHLO ---- */
	{ "helo", { GREET, HELO } },
	{ "ehlo", { GREET, EHLO } },
	{ "ehlo twice", { GREET, EHLO, EHLO } },
	{ "ehlo without name", { GREET, L("EHLO\r\n", "501 5.5.4 Syntax: EHLO hostname\r\n"),
	    L("EHLO \r\n", "501 5.5.4 Syntax: EHLO hostname\r\n") } },
	/*
	 * docs/smtp.md gives one row for both verbs ("Syntax: EHLO hostname");
	 * the reply names the verb the client used, as "Syntax: VERB" does.
	 */
	{ "helo without name", { GREET, L("HELO\r\n", "501 5.5.4 Syntax: HELO hostname\r\n") } },
	{ "ehlo 8-bit name", { GREET, L("EHLO cl\xc3\xa9.test\r\n", "501 5.5.4 Syntax: EHLO hostname\r\n") } },
	/* RFC 5321 4.1.4: HELO/EHLO resets the transaction */
	{ "helo resets transaction", { GREET, EHLO, MAIL, RCPT_ALICE, HELO,
	    L("RCPT TO:<bob@example.test>\r\n", "503 5.5.1 Error: need MAIL command\r\n"),
	    L("DATA\r\n", "503 5.5.1 Error: need MAIL command\r\n") } },
	{ "ehlo resets transaction", { GREET, EHLO, MAIL, EHLO, MAIL } },

	/* ---- MAIL ---- */
	{ "mail before ehlo", { GREET,
	    L("MAIL FROM:<a@client.test>\r\n", "503 5.5.1 Error: send HELO/EHLO first\r\n") } },
	{ "nested mail", { GREET, EHLO, MAIL,
	    L("MAIL FROM:<b@client.test>\r\n", "503 5.5.1 Error: nested MAIL command\r\n") } },
	{ "mail null sender", { GREET, EHLO, L("MAIL FROM:<>\r\n", "250 2.1.0 Ok\r\n"), RCPT_ALICE } },
	{ "mail space after colon", { GREET, EHLO, L("MAIL FROM: <a@client.test>\r\n", "250 2.1.0 Ok\r\n") } },
	{ "mail no angle brackets", { GREET, EHLO,
	    L("MAIL FROM:a@client.test\r\n", "501 5.5.2 Syntax: MAIL FROM:<address>\r\n") } },
	{ "mail TO:", { GREET, EHLO,
	    L("MAIL TO:<a@client.test>\r\n", "501 5.5.2 Syntax: MAIL FROM:<address>\r\n") } },
	{ "mail bad sender", { GREET, EHLO,
	    L("MAIL FROM:<a@client.test.>\r\n", "501 5.1.7 Bad sender address syntax\r\n"),
	    L("MAIL FROM:<a@@client.test>\r\n", "501 5.1.7 Bad sender address syntax\r\n") } },
	{ "mail unknown parameter", { GREET, EHLO, L("MAIL FROM:<a@client.test> FOO=1\r\n", UNSUPP) } },
	{ "mail parameter after helo", { GREET, HELO,
	    L("MAIL FROM:<a@client.test> SIZE=100\r\n", UNSUPP),
	    L("MAIL FROM:<a@client.test> BODY=8BITMIME\r\n", UNSUPP) } },
	{ "mail size at limit", { GREET, EHLO, L("MAIL FROM:<a@client.test> SIZE=10240000\r\n",
	    "250 2.1.0 Ok\r\n") } },
	{ "mail size over limit", { GREET, EHLO,
	    L("MAIL FROM:<a@client.test> SIZE=10240001\r\n", TOO_BIG) } },
	/* more digits than 64 bits hold: over the limit, never wrapped round */
	{ "mail size huge", { GREET, EHLO,
	    L("MAIL FROM:<a@client.test> SIZE=99999999999999999999\r\n", TOO_BIG),
	    L("MAIL FROM:<a@client.test> SIZE=18446744073709551616\r\n", TOO_BIG) } },
	{ "mail size malformed", { GREET, EHLO, L("MAIL FROM:<a@client.test> SIZE=12x\r\n", BAD_PARAM),
	    L("MAIL FROM:<a@client.test> SIZE=1 SIZE=1\r\n", BAD_PARAM) } },
	{ "mail size without value", { GREET, EHLO, L("MAIL FROM:<a@client.test> SIZE\r\n", BAD_PARAM) } },
	{ "mail body binarymime", { GREET, EHLO,
	    L("MAIL FROM:<a@client.test> BODY=BINARYMIME\r\n", BAD_PARAM) } },
	{ "mail body 8bitmime", { GREET, EHLO,
	    L("MAIL FROM:<a@client.test> BODY=8bitmime\r\n", "250 2.1.0 Ok\r\n") } },
	{ "mail body 7bit", { GREET, EHLO, L("MAIL FROM:<a@client.test> BODY=7BIT\r\n", "250 2.1.0 Ok\r\n") } },
	{ "mail smtputf8 with value", { GREET, EHLO,
	    L("MAIL FROM:<a@client.test> SMTPUTF8=x\r\n", BAD_PARAM) } },
	{ "mail non-ascii without smtputf8", { GREET, EHLO,
	    L("MAIL FROM:<j\xc3\xb6rg@client.test>\r\n", NEEDS_UTF8) } },
	{ "mail non-ascii with smtputf8", { GREET, EHLO,
	    L("MAIL FROM:<j\xc3\xb6rg@client.test> SMTPUTF8\r\n", "250 2.1.0 Ok\r\n"),
	    L("RCPT TO:<bob@example.test>\r\n", "250 2.1.5 Ok\r\n") } },
	{ "mail source route", { GREET, EHLO, L("MAIL FROM:<@a.test:u@b.test>\r\n", ROUTE) } },
	/* no room: 452 4.3.1, which is the server's trouble and never counts as an error */
	{ "mail no room", { GREET, EHLO, NO_ROOM,
	    L("MAIL FROM:<a@client.test>\r\n", "452 4.3.1 Insufficient system storage\r\n"),
	    L("MAIL FROM:<a@client.test>\r\n", "452 4.3.1 Insufficient system storage\r\n"),
	    L("MAIL FROM:<a@client.test>\r\n", "452 4.3.1 Insufficient system storage\r\n"),
	    L("MAIL FROM:<a@client.test>\r\n", "452 4.3.1 Insufficient system storage\r\n"),
	    L("RCPT TO:<alice@example.test>\r\n", "503 5.5.1 Error: need MAIL command\r\n") } },

	/* ---- RCPT ---- */
	{ "rcpt before mail", { GREET, EHLO,
	    L("RCPT TO:<alice@example.test>\r\n", "503 5.5.1 Error: need MAIL command\r\n") } },
	{ "rcpt no angle brackets", { GREET, EHLO, MAIL,
	    L("RCPT TO:alice@example.test\r\n", "501 5.5.2 Syntax: RCPT TO:<address>\r\n") } },
	{ "rcpt null", { GREET, EHLO, MAIL,
	    L("RCPT TO:<>\r\n", "501 5.1.3 Bad recipient address syntax\r\n") } },
	{ "rcpt bad address", { GREET, EHLO, MAIL,
	    L("RCPT TO:<alice@example.test.>\r\n", "501 5.1.3 Bad recipient address syntax\r\n") } },
	{ "rcpt non-ascii without smtputf8", { GREET, EHLO, MAIL,
	    L("RCPT TO:<j\xc3\xb6rg@example.test>\r\n", NEEDS_UTF8) } },
	{ "rcpt source route", { GREET, EHLO, MAIL, L("RCPT TO:<@a.test:alice@example.test>\r\n", ROUTE) } },
	{ "rcpt parameter", { GREET, EHLO, MAIL, L("RCPT TO:<alice@example.test> NOTIFY=NEVER\r\n", UNSUPP) } },
	{ "rcpt unknown user", { GREET, EHLO, MAIL, L("RCPT TO:<carol@example.test>\r\n",
	    "550 5.1.1 <carol@example.test>: Recipient address rejected: User unknown\r\n") } },
	{ "rcpt relay", { GREET, EHLO, MAIL, L("RCPT TO:<alice@elsewhere.test>\r\n",
	    "554 5.7.1 <alice@elsewhere.test>: Relay access denied\r\n") } },
	{ "rcpt case", { GREET, EHLO, MAIL, L("RCPT TO:<ALICE@Example.TEST>\r\n", "250 2.1.5 Ok\r\n") } },
	{ "rcpt too many", { GREET, EHLO, MAIL, RCPT_ALICE,
	    L("RCPT TO:<bob@example.test>\r\n", "250 2.1.5 Ok\r\n"),
	    L("RCPT TO:<alice@example.test>\r\n", "452 4.5.3 Error: too many recipients\r\n"),
	    DATA_OK } },

	/* ---- DATA ---- */
	{ "data before mail", { GREET, EHLO, L("DATA\r\n", "503 5.5.1 Error: need MAIL command\r\n") } },
	{ "data before rcpt", { GREET, EHLO, MAIL, L("DATA\r\n", "503 5.5.1 Error: need RCPT command\r\n") } },
	{ "data after rejected rcpt", { GREET, EHLO, MAIL,
	    L("RCPT TO:<carol@example.test>\r\n",
	      "550 5.1.1 <carol@example.test>: Recipient address rejected: User unknown\r\n"),
	    L("DATA\r\n", "554 5.5.1 Error: no valid recipients\r\n") } },
	{ "data with argument", { GREET, EHLO, MAIL, RCPT_ALICE, L("DATA x\r\n", "501 5.5.4 Syntax: DATA\r\n") } },
	/* RFC 2920 3.1: a client must wait for 354; one that does not is cut off */
	{ "data pipelined", { GREET, EHLO, MAIL, RCPT_ALICE,
	    LA("DATA\r\nSubject: x\r\n", "554 5.5.0 Error: improper pipelining after DATA\r\n", CLOSE) } },
	{ "pipelined transaction", { GREET,
	    LA("EHLO client.test\r\nMAIL FROM:<s@client.test>\r\nRCPT TO:<alice@example.test>\r\n"
	       "RCPT TO:<bob@example.test>\r\nDATA\r\n",
	       EHLO_REPLY "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.1.5 Ok\r\n"
	       "354 End data with <CR><LF>.<CR><LF>\r\n", DATA),
	    END(0, 100, "", COMMIT), COMMITTED(SMTP_COMMIT_OK, "250 2.0.0 Ok: queued as 0000000000001\r\n"),
	    MAIL, RCPT_ALICE, DATA_OK, END(0, 100, "", COMMIT),
	    COMMITTED(SMTP_COMMIT_OK, "250 2.0.0 Ok: queued as 0000000000002\r\n") } },
	{ "data end fine", { GREET, EHLO, MAIL, RCPT_ALICE, DATA_OK, END(0, 1234, "", COMMIT),
	    COMMITTED(SMTP_COMMIT_OK, "250 2.0.0 Ok: queued as 0000000000001\r\n"),
	    L("NOOP\r\n", OK_0) } },
	{ "data end 8bit", { GREET, EHLO, MAIL, RCPT_ALICE, DATA_OK, END(DOTDATA_8BIT, 10, "", COMMIT) } },
	{ "data end at limit", { GREET, EHLO, MAIL, RCPT_ALICE, DATA_OK, END(0, MAX_MSG, "", COMMIT) } },
	{ "data end too big", { GREET, EHLO, MAIL, RCPT_ALICE, DATA_OK, END(0, MAX_MSG + 1, TOO_BIG, NONE),
	    L("RCPT TO:<alice@example.test>\r\n", "503 5.5.1 Error: need MAIL command\r\n") } },
	{ "data end bare lf", { GREET, EHLO, MAIL, RCPT_ALICE, DATA_OK,
	    END(DOTDATA_BARE_LF, 10, "550 5.5.2 Message contains bare CR or LF\r\n", NONE), MAIL } },
	{ "data end bare cr", { GREET, EHLO, MAIL, RCPT_ALICE, DATA_OK,
	    END(DOTDATA_BARE_CR, 10, "550 5.5.2 Message contains bare CR or LF\r\n", NONE), MAIL } },
	{ "data end nul", { GREET, EHLO, MAIL, RCPT_ALICE, DATA_OK,
	    END(DOTDATA_NUL, 10, "550 5.6.0 Message contains NUL bytes\r\n", NONE), MAIL } },
	{ "data end long line", { GREET, EHLO, MAIL, RCPT_ALICE, DATA_OK,
	    END(DOTDATA_LONG_LINE, 10, "550 5.6.0 Message has lines longer than 1000 bytes\r\n", NONE),
	    MAIL } },
	{ "commit ioerr", { GREET, EHLO, MAIL, RCPT_ALICE, DATA_OK, END(0, 10, "", COMMIT),
	    COMMITTED(SMTP_COMMIT_IOERR, "451 4.3.0 Error: queue file write error\r\n"), MAIL } },
	{ "commit nospace", { GREET, EHLO, MAIL, RCPT_ALICE, DATA_OK, END(0, 10, "", COMMIT),
	    COMMITTED(SMTP_COMMIT_NOSPACE, "452 4.3.1 Insufficient system storage\r\n"), MAIL } },
	/* 451/452 4.3.1 are the server's trouble: three in a row do not close */
	{ "commit errors not counted", { GREET, EHLO,
	    MAIL, RCPT_ALICE, DATA_OK, END(0, 10, "", COMMIT),
	    COMMITTED(SMTP_COMMIT_IOERR, "451 4.3.0 Error: queue file write error\r\n"),
	    MAIL, RCPT_ALICE, DATA_OK, END(0, 10, "", COMMIT),
	    COMMITTED(SMTP_COMMIT_NOSPACE, "452 4.3.1 Insufficient system storage\r\n"),
	    L("NOOP\r\n", OK_0) } },

	/* ---- other commands ---- */
	{ "rset", { GREET, EHLO, MAIL, RCPT_ALICE, L("RSET\r\n", OK_0),
	    L("RCPT TO:<alice@example.test>\r\n", "503 5.5.1 Error: need MAIL command\r\n"), MAIL } },
	{ "rset before helo", { GREET, L("RSET\r\n", OK_0),
	    L("MAIL FROM:<a@client.test>\r\n", "503 5.5.1 Error: send HELO/EHLO first\r\n") } },
	{ "rset with argument", { GREET, L("RSET x\r\n", "501 5.5.4 Syntax: RSET\r\n") } },
	{ "noop", { GREET, L("NOOP\r\n", OK_0), L("NOOP anything at all\r\n", OK_0) } },
	{ "help", { GREET, L("HELP\r\n",
	    "214 2.0.0 Commands: HELO EHLO MAIL RCPT DATA RSET NOOP QUIT HELP VRFY\r\n") } },
	{ "vrfy", { GREET, L("VRFY alice\r\n",
	    "252 2.5.2 Cannot VRFY user, but will accept message and attempt delivery\r\n"),
	    L("VRFY nobody@nowhere.test\r\n",
	    "252 2.5.2 Cannot VRFY user, but will accept message and attempt delivery\r\n") } },
	{ "vrfy without argument", { GREET, L("VRFY\r\n", "501 5.5.4 Syntax: VRFY address\r\n") } },
	{ "expn turn", { GREET, L("EXPN staff\r\n", NOT_IMPL), L("TURN\r\n", NOT_IMPL) } },
	/* STARTTLS where no certificate is configured: not offered (test_starttls_* for the rest) */
	{ "starttls auth", { GREET, EHLO, L("STARTTLS\r\n", NOT_IMPL), L("AUTH PLAIN\r\n", NOT_IMPL) } },
	{ "bdat", { GREET, EHLO, L("BDAT 10 LAST\r\n", NOT_IMPL) } },
	{ "unknown verb", { GREET, L("FOO bar\r\n", NOT_RECOG), L("\r\n", NOT_RECOG) } },
	{ "8-bit verb", { GREET, L("N\xc3\x96OP\r\n", NOT_RECOG) } },
	{ "bare lf", { GREET, L("NOOP\n", "500 5.5.2 Error: bare LF in command; lines end with CRLF\r\n"),
	    L("NOOP\r\n", OK_0) } },
	{ "bare cr", { GREET, L("NO\rOP\r\n", "500 5.5.2 Error: bare CR in command\r\n") } },
	{ "nul", { GREET, L("NO\0OP\r\n", "500 5.5.2 Error: NUL byte in command\r\n") } },
	/* the third error reply ends the session (smtp.max_errors = 3) */
	{ "too many errors", { GREET, L("FOO\r\n", NOT_RECOG), L("NOOP\r\n", OK_0), L("BAR\r\n", NOT_RECOG),
	    LA("BAZ\r\n", NOT_RECOG TOO_MANY_ERRORS, CLOSE), LA("NOOP\r\n", "", CLOSE) } },
	{ "too many errors pipelined", { GREET,
	    LA("FOO\r\nEXPN x\r\nDATA\r\nNOOP\r\n",
	       NOT_RECOG NOT_IMPL "503 5.5.1 Error: need MAIL command\r\n" TOO_MANY_ERRORS, CLOSE) } },
	{ "too many errors in data end", { GREET, EHLO, L("FOO\r\n", NOT_RECOG), L("BAR\r\n", NOT_RECOG),
	    MAIL, RCPT_ALICE, DATA_OK,
	    END(DOTDATA_NUL, 10, "550 5.6.0 Message contains NUL bytes\r\n" TOO_MANY_ERRORS, CLOSE) } },
};

/* Returns the number of steps that differ from the table (each is printed). */
static int
run_case(const struct session_case *c)
{
	int nbad = 0;
	struct fixture fx;
	const char *got = NULL;

	fx_open(&fx, "192.0.2.1");
	for (size_t i = 0; i < sizeof(c->steps) / sizeof(c->steps[0]) && c->steps[i].kind != STEP_END; i++) {
		const struct step *st = &c->steps[i];

		switch (st->kind) {
		case STEP_START:
			fx.act = fx_answer(&fx, smtp_session_start(fx.s, (enum smtp_start)st->how));
			got = take_output(&fx);
			break;
		case STEP_LINE:
			got = feed(&fx, st->in, st->len);
			break;
		case STEP_DATA_END:
			fx.act = fx_answer(&fx, smtp_session_data_end(fx.s, st->how, st->bytes));
			got = take_output(&fx);
			break;
		case STEP_COMMITTED:
			fx.act = smtp_session_committed(fx.s, (enum smtp_commit)st->how);
			got = take_output(&fx);
			break;
		case STEP_TIMEOUT:
			fx.act = smtp_session_timeout(fx.s);
			got = take_output(&fx);
			break;
		case STEP_NO_ROOM:
			fx.fake.has_room = 0;
			continue;
		case STEP_END:
			break;
		}
		if (strcmp(got, st->want) != 0 || fx.act != st->act) {
			print_error("%s, step %zu: got act %d\n%s\nwant act %d\n%s", c->name, i, fx.act,
			    got, st->act, st->want);
			nbad++;
		}
	}
	fx_close(&fx);
	return nbad;
}

static void
test_table(void **state)
{
	int nbad = 0;

	(void)state;
	/* every case runs, so that one report lists every difference */
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		nbad += run_case(&cases[i]);
	assert_int_equal(nbad, 0);
}

/* ---- cases that need more than a table row ---- */

static void
begin(struct fixture *fx, const char *peer_ip)
{
	fx_open(fx, peer_ip);
	assert_int_equal(fx_answer(fx, smtp_session_start(fx->s, SMTP_START_GREET)), SMTP_ACT_NONE);
	(void)take_output(fx);
}

#define FEED(fx, s) feed((fx), (s), sizeof(s) - 1)

static void
test_too_long_line(void **state)
{
	char line[MAX_LINE + 100];
	struct fixture fx;

	(void)state;
	begin(&fx, "192.0.2.1");
	/* 600 bytes, then the next command: only the long line is refused */
	memset(line, 'x', sizeof(line));
	memcpy(line, "NOOP ", 5);
	memcpy(line + 600, "\r\nNOOP\r\n", 8);
	assert_string_equal(feed(&fx, line, 608), "500 5.5.2 Error: line too long\r\n" OK_0);
	assert_int_equal(fx.act, SMTP_ACT_NONE);
	/* exactly at the limit (512 with CRLF) is fine */
	memset(line, 'x', sizeof(line));
	memcpy(line, "NOOP ", 5);
	memcpy(line + MAX_LINE - 2, "\r\n", 2);
	assert_string_equal(feed(&fx, line, MAX_LINE), OK_0);
	fx_close(&fx);
}

/* 452 4.3.1 is not the client's fault; has_room learns the declared size. */
static void
test_no_room_not_counted(void **state)
{
	struct fixture fx;

	(void)state;
	begin(&fx, "192.0.2.1");
	FEED(&fx, "EHLO client.test\r\n");
	fx.fake.has_room = 0;
	assert_string_equal(FEED(&fx, "MAIL FROM:<a@client.test> SIZE=5000\r\n"),
	    "452 4.3.1 Insufficient system storage\r\n");
	assert_int_equal(fx.fake.room_calls, 1);
	assert_int_equal(fx.fake.room_size, 5000);
	assert_null(smtp_session_txn(fx.s));
	assert_int_equal(smtp_session_stats(fx.s)->errors, 0);
	fx.fake.has_room = 1;
	assert_string_equal(FEED(&fx, "MAIL FROM:<a@client.test>\r\n"), "250 2.1.0 Ok\r\n");
	assert_int_equal(fx.fake.room_size, 0);
	fx_close(&fx);
}

/*
 * docs/smtp.md: every 4xx/5xx reply the client caused counts towards
 * smtp.max_errors; only the server's own trouble (451, 452 4.3.1) does not.
 */
static void
test_error_counting(void **state)
{
	struct fixture fx;
	unsigned after_unknown, after_accepted, after_too_many;
	const char *got;

	(void)state;
	begin(&fx, "192.0.2.1");
	FEED(&fx, "EHLO client.test\r\nMAIL FROM:<a@client.test>\r\n");
	FEED(&fx, "RCPT TO:<carol@example.test>\r\n");
	after_unknown = smtp_session_stats(fx.s)->errors;
	FEED(&fx, "RCPT TO:<alice@example.test>\r\nRCPT TO:<bob@example.test>\r\n");
	after_accepted = smtp_session_stats(fx.s)->errors;
	got = FEED(&fx, "RCPT TO:<alice@example.test>\r\n");
	assert_string_equal(got, "452 4.5.3 Error: too many recipients\r\n");
	after_too_many = smtp_session_stats(fx.s)->errors;
	/* checked after the session is freed, so that a failure leaks nothing */
	fx_close(&fx);
	assert_int_equal(after_unknown, 1);
	assert_int_equal(after_accepted, 1);
	/*
	 * 452 4.5.3 is how a client learns to split a long recipient list
	 * (RFC 5321 4.5.3.1.8): not an error, or big lists would be cut off
	 */
	assert_int_equal(after_too_many, 1);
}

static void
test_dedup(void **state)
{
	struct fixture fx;
	const struct smtp_txn *t;

	(void)state;
	begin(&fx, "192.0.2.1");
	assert_null(smtp_session_txn(fx.s));
	assert_string_equal(FEED(&fx, "EHLO client.test\r\nMAIL FROM:<s@client.test> SIZE=42 BODY=8BITMIME\r\n"
	    "RCPT TO:<alice@example.test>\r\nRCPT TO:<Alice@example.test>\r\n"),
	    EHLO_REPLY "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.1.5 Ok\r\n");
	t = smtp_session_txn(fx.s);
	assert_non_null(t);
	/* two RCPTs accepted; that they reach one mailbox is the envelope's business */
	assert_int_equal(t->naccepted, 2);
	assert_int_equal(fx.fake.ntargets, 2);
	assert_string_equal(fx.fake.last_mailbox, "alice");
	assert_string_equal(t->sender, "s@client.test");
	assert_string_equal(t->qid, "0000000000001");
	assert_int_equal(t->size_declared, 42);
	assert_int_equal(t->body, SMTP_BODY_8BITMIME);
	assert_int_equal(t->is_smtputf8, 0);
	fx_close(&fx);
}

/* Runs a transaction to the commit, where the Received header is written. */
static void
to_commit(struct fixture *fx, const char *helo_verb, const char *mail_params, int nrcpts)
{
	char line[256];

	(void)snprintf(line, sizeof(line), "%s client.test\r\n", helo_verb);
	(void)feed(fx, line, strlen(line));
	(void)snprintf(line, sizeof(line), "MAIL FROM:<s@client.test>%s\r\n", mail_params);
	assert_string_equal(feed(fx, line, strlen(line)), "250 2.1.0 Ok\r\n");
	assert_string_equal(FEED(fx, "RCPT TO:<alice@example.test>\r\n"), "250 2.1.5 Ok\r\n");
	if (nrcpts > 1)
		assert_string_equal(FEED(fx, "RCPT TO:<bob@example.test>\r\n"), "250 2.1.5 Ok\r\n");
	(void)FEED(fx, "DATA\r\n");
	assert_int_equal(fx->act, SMTP_ACT_DATA);
	assert_int_equal(fx_answer(fx, smtp_session_data_end(fx->s, 0, 10)), SMTP_ACT_COMMIT);
}

/* The facts the submission core builds the Received field from. */
static void
test_received_facts(void **state)
{
	struct fixture fx;

	(void)state;
	begin(&fx, "192.0.2.1");
	assert_string_equal(smtp_session_helo(fx.s), "");
	to_commit(&fx, "EHLO", "", 2);
	assert_string_equal(smtp_session_helo(fx.s), "client.test");
	assert_null(smtp_session_tls_version(fx.s));
	assert_null(smtp_session_tls_cipher(fx.s));
	assert_string_equal(smtp_session_proto(fx.s), "ESMTP");
	assert_int_equal(smtp_session_committed(fx.s, SMTP_COMMIT_OK), SMTP_ACT_NONE);
	assert_string_equal(take_output(&fx), "250 2.0.0 Ok: queued as 0000000000001\r\n");
	assert_null(smtp_session_txn(fx.s));
	fx_close(&fx);
}

/* RFC 5321 6.3: a message over smtp.max_hops is refused at the end of DATA. */
static void
test_committed_loop(void **state)
{
	struct fixture fx;

	(void)state;
	begin(&fx, "192.0.2.1");
	to_commit(&fx, "EHLO", "", 1);
	assert_int_equal(smtp_session_refused(fx.s, 554, "5.4.6", "too many hops", NULL, 0),
	    SMTP_ACT_NONE);
	assert_string_equal(take_output(&fx), "554 5.4.6 Error: too many hops\r\n");
	assert_null(smtp_session_txn(fx.s));
	assert_int_equal(smtp_session_stats(fx.s)->messages, 0);
	/* the session goes on: a next transaction is welcome */
	assert_string_equal(FEED(&fx, "MAIL FROM:<s@client.test>\r\n"), "250 2.1.0 Ok\r\n");
	fx_close(&fx);

	/* a filter's own reply goes as the filter gave it */
	begin(&fx, "192.0.2.1");
	to_commit(&fx, "EHLO", "", 1);
	assert_int_equal(smtp_session_refused(fx.s, 554, "5.7.1", "Gtube pattern", "milter:rspamd",
	    1), SMTP_ACT_NONE);
	assert_string_equal(take_output(&fx), "554 5.7.1 Gtube pattern\r\n");
	fx_close(&fx);
}

static void
test_proto(void **state)
{
	struct fixture fx;

	(void)state;
	begin(&fx, "192.0.2.1");
	assert_string_equal(smtp_session_proto(fx.s), "SMTP");
	FEED(&fx, "HELO client.test\r\n");
	assert_string_equal(smtp_session_proto(fx.s), "SMTP");
	FEED(&fx, "EHLO client.test\r\n");
	assert_string_equal(smtp_session_proto(fx.s), "ESMTP");
	FEED(&fx, "MAIL FROM:<s@client.test>\r\n");
	assert_string_equal(smtp_session_proto(fx.s), "ESMTP");
	FEED(&fx, "RSET\r\nMAIL FROM:<s@client.test> SMTPUTF8\r\n");
	assert_string_equal(smtp_session_proto(fx.s), "UTF8SMTP");
	assert_int_equal(smtp_session_txn(fx.s)->is_smtputf8, 1);
	FEED(&fx, "HELO client.test\r\n");
	assert_string_equal(smtp_session_proto(fx.s), "SMTP");
	fx_close(&fx);
}

static void
test_stats(void **state)
{
	struct fixture fx;
	const struct smtp_session_stats *st;

	(void)state;
	begin(&fx, "192.0.2.1");
	to_commit(&fx, "EHLO", "", 2);
	assert_int_equal(smtp_session_committed(fx.s, SMTP_COMMIT_OK), SMTP_ACT_NONE);
	FEED(&fx, "FOO\r\nNOOP\r\n");
	st = smtp_session_stats(fx.s);
	/* EHLO MAIL RCPT RCPT DATA FOO NOOP */
	assert_int_equal(st->commands, 7);
	assert_int_equal(st->errors, 1);
	assert_int_equal(st->messages, 1);
	assert_int_equal(st->rcpts, 2);
	fx_close(&fx);
}

/* An HTTP request ends the session at its first line: its body never reads as commands. */
static void
test_http_request_closes(void **state)
{
	static const char *const lines[] = { "POST / HTTP/1.1\r\n", "GET /x HTTP/1.0\r\n",
		"connect mx:25 HTTP/1.1\r\n", "Host: mx.example.test\r\n", "User-Agent: x\r\n" };
	struct fixture fx;

	(void)state;
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		begin(&fx, "192.0.2.1");
		if (i % 2 == 1)
			FEED(&fx, "EHLO client.test\r\nMAIL FROM:<s@client.test>\r\n");
		assert_string_equal(feed(&fx, lines[i], strlen(lines[i])),
		    "421 4.7.0 " HOST " Error: this is an SMTP server, not HTTP\r\n");
		assert_int_equal(fx.act, SMTP_ACT_CLOSE);
		/* nothing after it counts, however it is pipelined */
		assert_string_equal(FEED(&fx, "MAIL FROM:<s@client.test>\r\n"), "");
		assert_int_equal(fx.act, SMTP_ACT_CLOSE);
		fx_close(&fx);
	}
	/* a word that only starts like a method is an unknown command, as before */
	begin(&fx, "192.0.2.1");
	assert_string_equal(FEED(&fx, "GETS\r\n"), "500 5.5.2 Error: command not recognized\r\n");
	assert_string_equal(FEED(&fx, ":\r\n"), "500 5.5.2 Error: command not recognized\r\n");
	fx_close(&fx);
}

/* Each reject is one log line with the event word "reject". */
static void
test_reject_logged(void **state)
{
	char log[4096];
	FILE *f = tmpfile();
	struct fixture fx;
	size_t n, count = 0;

	(void)state;
	assert_non_null(f);
	log_init(fileno(f), LOG_INFO);
	begin(&fx, "192.0.2.1");
	FEED(&fx, "EHLO client.test\r\nMAIL FROM:<s@client.test>\r\nRCPT TO:<x@elsewhere.test>\r\n");
	fx_close(&fx);
	log_init(2, LOG_INFO);
	rewind(f);
	n = fread(log, 1, sizeof(log) - 1, f);
	log[n] = '\0';
	fclose(f);
	for (const char *p = log; (p = strstr(p, " reject ")) != NULL; p++)
		count++;
	assert_int_equal(count, 1);
	assert_non_null(strstr(log, "code=554 dsn=5.7.1"));
}

/* ---- STARTTLS (RFC 3207) and implicit TLS (RFC 8314) ---- */

#define EHLO_TLS_REPLY "250-" HOST "\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-STARTTLS\r\n" \
	"250-8BITMIME\r\n250-ENHANCEDSTATUSCODES\r\n250 SMTPUTF8\r\n"
#define READY_TLS "220 2.0.0 Ready to start TLS\r\n"

static void
begin_tls(struct fixture *fx)
{
	fx_open_conf(fx, &conf_tls, "192.0.2.1");
	assert_int_equal(fx_answer(fx, smtp_session_start(fx->s, SMTP_START_GREET)), SMTP_ACT_NONE);
	(void)take_output(fx);
}

/* STARTTLS up to the handshake; the caller could set TLS up. */
static void
starttls(struct fixture *fx)
{
	assert_string_equal(FEED(fx, "STARTTLS\r\n"), "");
	assert_int_equal(fx->act, SMTP_ACT_STARTTLS);
	assert_int_equal(smtp_session_starttls_ready(fx->s, 1), SMTP_ACT_HANDSHAKE);
	assert_string_equal(take_output(fx), READY_TLS);
	assert_int_equal(smtp_session_is_tls(fx->s), 0);
	smtp_session_tls_started(fx->s, "TLSv1.3", "TLS_AES_256_GCM_SHA384");
	assert_int_equal(smtp_session_is_tls(fx->s), 1);
	assert_string_equal(take_output(fx), "");	/* RFC 3207 4.2: no greeting again */
}

static void
test_starttls_offered(void **state)
{
	struct fixture fx;

	(void)state;
	begin_tls(&fx);
	assert_string_equal(FEED(&fx, "EHLO client.test\r\n"), EHLO_TLS_REPLY);
	/* the caller learns first; the reply waits for smtp_session_starttls_ready() */
	assert_string_equal(FEED(&fx, "STARTTLS\r\n"), "");
	assert_int_equal(fx.act, SMTP_ACT_STARTTLS);
	fx_close(&fx);

	/* without a certificate on the listener it is not offered at all */
	begin(&fx, "192.0.2.1");
	assert_string_equal(FEED(&fx, "EHLO client.test\r\n"), EHLO_REPLY);
	assert_string_equal(FEED(&fx, "STARTTLS\r\n"), NOT_IMPL);
	assert_int_equal(fx.act, SMTP_ACT_NONE);
	fx_close(&fx);
}

/* RFC 3207 4.2: the session forgets everything it learnt in plaintext. */
static void
test_starttls_resets(void **state)
{
	struct fixture fx;

	(void)state;
	begin_tls(&fx);
	assert_string_equal(FEED(&fx, "EHLO client.test\r\nMAIL FROM:<s@client.test>\r\n"
	    "RCPT TO:<alice@example.test>\r\n"),
	    EHLO_TLS_REPLY "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n");
	assert_non_null(smtp_session_txn(fx.s));
	starttls(&fx);
	assert_null(smtp_session_txn(fx.s));
	/* as if only EHLO were missing */
	assert_string_equal(FEED(&fx, "RCPT TO:<alice@example.test>\r\n"),
	    "503 5.5.1 Error: need MAIL command\r\n");
	assert_string_equal(FEED(&fx, "MAIL FROM:<s@client.test>\r\n"),
	    "503 5.5.1 Error: send HELO/EHLO first\r\n");
	assert_string_equal(smtp_session_proto(fx.s), "SMTP");
	/* the EHLO after TLS offers no STARTTLS; a second STARTTLS is out of sequence */
	assert_string_equal(FEED(&fx, "EHLO client.test\r\n"), EHLO_REPLY);
	assert_string_equal(FEED(&fx, "STARTTLS\r\n"), "503 5.5.1 Error: TLS already active\r\n");
	assert_int_equal(fx.act, SMTP_ACT_NONE);
	assert_string_equal(smtp_session_proto(fx.s), "ESMTPS");
	/* the Received field (built by the submission core) names the TLS version and cipher */
	assert_string_equal(FEED(&fx, "MAIL FROM:<s@client.test>\r\nRCPT TO:<alice@example.test>\r\n"),
	    "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n");
	assert_string_equal(smtp_session_tls_version(fx.s), "TLSv1.3");
	assert_string_equal(smtp_session_tls_cipher(fx.s), "TLS_AES_256_GCM_SHA384");
	assert_string_equal(FEED(&fx, "RSET\r\nMAIL FROM:<s@client.test> SMTPUTF8\r\n"),
	    OK_0 "250 2.1.0 Ok\r\n");
	assert_string_equal(smtp_session_proto(fx.s), "UTF8SMTPS");
	assert_int_equal(smtp_session_stats(fx.s)->errors, 3);
	fx_close(&fx);
}

/* Pipelined after STARTTLS: the session stops at the STARTTLS line, the rest is the caller's to drop. */
static void
test_starttls_pipelined(void **state)
{
	struct fixture fx;

	(void)state;
	begin_tls(&fx);
	assert_string_equal(FEED(&fx, "EHLO client.test\r\nSTARTTLS\r\nRSET\r\n"), EHLO_TLS_REPLY);
	assert_int_equal(fx.act, SMTP_ACT_STARTTLS);
	assert_int_equal(smtp_session_starttls_ready(fx.s, 1), SMTP_ACT_HANDSHAKE);
	assert_string_equal(take_output(&fx), READY_TLS);
	smtp_session_tls_started(fx.s, "TLSv1.2", "ECDHE-RSA-AES128-GCM-SHA256");
	assert_string_equal(FEED(&fx, "MAIL FROM:<a@b.test>\r\n"),
	    "503 5.5.1 Error: send HELO/EHLO first\r\n");
	fx_close(&fx);
}

static void
test_starttls_refused(void **state)
{
	struct fixture fx;

	(void)state;
	begin_tls(&fx);
	FEED(&fx, "EHLO client.test\r\n");
	/* arguments: RFC 3207 4 defines none */
	assert_string_equal(FEED(&fx, "STARTTLS now\r\n"), "501 5.5.4 Syntax: STARTTLS\r\n");
	assert_int_equal(fx.act, SMTP_ACT_NONE);
	/* the caller could not set TLS up: 454, and the plaintext session goes on as it was */
	assert_string_equal(FEED(&fx, "STARTTLS\r\n"), "");
	assert_int_equal(smtp_session_starttls_ready(fx.s, 0), SMTP_ACT_NONE);
	assert_string_equal(take_output(&fx), "454 4.7.0 TLS not available due to temporary reason\r\n");
	assert_int_equal(smtp_session_is_tls(fx.s), 0);
	assert_string_equal(FEED(&fx, "MAIL FROM:<s@client.test>\r\n"), "250 2.1.0 Ok\r\n");
	/* 454 is the server's trouble: only the 501 counted */
	assert_int_equal(smtp_session_stats(fx.s)->errors, 1);
	fx_close(&fx);
}

/* RFC 8314: the handshake comes before the greeting; STARTTLS inside it is out of sequence. */
static void
test_implicit_tls(void **state)
{
	struct fixture fx;

	(void)state;
	fx_open_conf(&fx, &conf_tls, "192.0.2.1");
	smtp_session_tls_started(fx.s, "TLSv1.3", "TLS_AES_128_GCM_SHA256");
	assert_string_equal(take_output(&fx), "");
	assert_int_equal(fx_answer(&fx, smtp_session_start(fx.s, SMTP_START_GREET)), SMTP_ACT_NONE);
	assert_string_equal(take_output(&fx), "220 " HOST " ESMTP sterna\r\n");
	assert_string_equal(FEED(&fx, "EHLO client.test\r\n"), EHLO_REPLY);
	assert_string_equal(FEED(&fx, "STARTTLS\r\n"), "503 5.5.1 Error: TLS already active\r\n");
	assert_string_equal(smtp_session_proto(fx.s), "ESMTPS");
	fx_close(&fx);
}

/* Names from OpenSSL go into a header: anything but printable ASCII is replaced, length bounded. */
static void
test_tls_names_bounded(void **state)
{
	char longname[200];
	struct fixture fx;

	(void)state;
	memset(longname, 'A', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	begin_tls(&fx);
	FEED(&fx, "STARTTLS\r\n");
	(void)smtp_session_starttls_ready(fx.s, 1);
	(void)take_output(&fx);
	smtp_session_tls_started(fx.s, "TLS\r\n1", longname);
	FEED(&fx, "EHLO c.test\r\nMAIL FROM:<s@client.test>\r\nRCPT TO:<alice@example.test>\r\n");
	/* no control bytes and a bounded length reach the Received field */
	assert_string_equal(smtp_session_tls_version(fx.s), "TLS??1");
	assert_int_equal(strncmp(smtp_session_tls_cipher(fx.s), "AAAA", 4), 0);
	assert_true(strlen(smtp_session_tls_cipher(fx.s)) < strlen(longname));
	fx_close(&fx);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_too_long_line),
		cmocka_unit_test(test_no_room_not_counted),
		cmocka_unit_test(test_error_counting),
		cmocka_unit_test(test_dedup),
		cmocka_unit_test(test_received_facts),
		cmocka_unit_test(test_committed_loop),
		cmocka_unit_test(test_proto),
		cmocka_unit_test(test_stats),
		cmocka_unit_test(test_reject_logged),
		cmocka_unit_test(test_http_request_closes),
		cmocka_unit_test(test_starttls_offered),
		cmocka_unit_test(test_starttls_resets),
		cmocka_unit_test(test_starttls_pipelined),
		cmocka_unit_test(test_starttls_refused),
		cmocka_unit_test(test_implicit_tls),
		cmocka_unit_test(test_tls_names_bounded),
	};

	/* reject lines go to the log; keep the test output readable */
	log_init(2, LOG_WARN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
