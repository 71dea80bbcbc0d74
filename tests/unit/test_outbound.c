/*
 * test_outbound.c - the pure parts of outbound delivery: MX ordering and
 * null MX (dns/mx.c), the client's reply reader fed whole and split at
 * every byte, the client state machine in SMTP and in LMTP mode,
 * dot-stuffing (deliver/smtpc.c), notices (deliver/dsn.c) and the due-time
 * heap (sched/heap.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "deliver/dsn.h"
#include "deliver/smtpc.h"
#include "dns/mx.h"
#include "sched/heap.h"

#define IN(s) (const uint8_t *)(s), sizeof(s) - 1

/* ---- MX ---- */

static uint32_t
seq_rnd(void *ctx)
{
	uint32_t *n = ctx;

	return (*n)++ * 2654435761u;	/* distinct, in no particular order */
}

static void
test_mx_sort(void **state)
{
	struct dns_mx v[] = {
		{ "c.test", 20, 0 }, { "a.test", 10, 0 }, { "", 0, 0 }, { "b.test", 10, 0 },
		{ "d.test", 5, 0 },
	};
	uint32_t seed = 1;
	size_t n;

	(void)state;
	assert_false(mx_is_null(v, 5));
	n = mx_sort(v, 5, seq_rnd, &seed);
	assert_int_equal(n, 4);	/* "." among real hosts is dropped */
	assert_string_equal(v[0].host, "d.test");
	assert_int_equal(v[1].pref, 10);
	assert_int_equal(v[2].pref, 10);
	assert_string_equal(v[3].host, "c.test");
}

static void
test_mx_equal_prefs_shuffle(void **state)
{
	int first_a = 0, first_b = 0;
	uint32_t seed = 7;

	(void)state;
	for (int i = 0; i < 200; i++) {
		struct dns_mx v[] = { { "a.test", 10, 0 }, { "b.test", 10, 0 }, { "z.test", 30, 0 } };

		assert_int_equal(mx_sort(v, 3, seq_rnd, &seed), 3);
		first_a += strcmp(v[0].host, "a.test") == 0;
		first_b += strcmp(v[0].host, "b.test") == 0;
		assert_string_equal(v[2].host, "z.test");
	}
	/* both orders happen: equal preferences share the load (RFC 5321 5.1) */
	assert_true(first_a > 20 && first_b > 20);
}

static void
test_mx_null(void **state)
{
	struct dns_mx one[] = { { "", 0, 0 } }, two[] = { { "", 0, 0 }, { "mx.test", 10, 0 } };

	(void)state;
	assert_true(mx_is_null(one, 1));
	assert_false(mx_is_null(two, 2));
	assert_false(mx_is_null(one, 0));
}

/* ---- replies ---- */

static const struct {
	const uint8_t *in;
	size_t len;
	enum smtpc_parse want;
	int code;
	const char *status, *text;
	unsigned caps;
	uint64_t size;
} replies[] = {
	{ IN("220 mx.test ESMTP\r\n"), SMTPC_PARSE_OK, 220, "", "mx.test ESMTP", 0, 0 },
	{ IN("250 2.1.0 Ok\r\n"), SMTPC_PARSE_OK, 250, "2.1.0", "Ok", 0, 0 },
	{ IN("550 5.1.1 <b@x>: no\r\n"), SMTPC_PARSE_OK, 550, "5.1.1", "<b@x>: no", 0, 0 },
	{ IN("250\r\n"), SMTPC_PARSE_OK, 250, "", "", 0, 0 },
	{ IN("250 ok\n"), SMTPC_PARSE_OK, 250, "", "ok", 0, 0 },	/* bare LF tolerated */
	{ IN("250-mx.test\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-8BITMIME\r\n"
	    "250-STARTTLS\r\n250-AUTH PLAIN LOGIN\r\n250-ENHANCEDSTATUSCODES\r\n250 SMTPUTF8\r\n"),
	    SMTPC_PARSE_OK, 250, "", NULL,
	    SMTPC_CAP_PIPELINING | SMTPC_CAP_SIZE | SMTPC_CAP_8BITMIME | SMTPC_CAP_STARTTLS |
	    SMTPC_CAP_AUTH_PLAIN | SMTPC_CAP_AUTH_LOGIN | SMTPC_CAP_ENHANCEDSTATUSCODES |
	    SMTPC_CAP_SMTPUTF8, 10240000 },
	{ IN("250-mx.test\r\n250 AUTH=LOGIN\r\n"), SMTPC_PARSE_OK, 250, "", NULL,
	    SMTPC_CAP_AUTH_LOGIN, 0 },
	{ IN("250-mx.test\r\n250 size\r\n"), SMTPC_PARSE_OK, 250, "", NULL, SMTPC_CAP_SIZE, 0 },
	{ IN("451-4.3.0 one\r\n451 4.3.0 two\r\n"), SMTPC_PARSE_OK, 451, "4.3.0", "one; two", 0, 0 },
	{ IN("250 a\x01\xff" "b\r\n"), SMTPC_PARSE_OK, 250, "", "a??b", 0, 0 },	/* made printable */
	/* a status of another class than the code is text (found by fuzz_smtpc) */
	{ IN("250 5.1.1 odd\r\n"), SMTPC_PARSE_OK, 250, "", "5.1.1 odd", 0, 0 },
	{ IN("550 2.0.0 no\r\n"), SMTPC_PARSE_OK, 550, "", "2.0.0 no", 0, 0 },
	{ IN("250-a\r\n251 b\r\n"), SMTPC_PARSE_BAD, 0, NULL, NULL, 0, 0 },	/* codes differ */
	{ IN("25 x\r\n"), SMTPC_PARSE_BAD, 0, NULL, NULL, 0, 0 },
	{ IN("250x\r\n"), SMTPC_PARSE_BAD, 0, NULL, NULL, 0, 0 },
	{ IN("650 x\r\n"), SMTPC_PARSE_BAD, 0, NULL, NULL, 0, 0 },
	{ IN("hello\r\n"), SMTPC_PARSE_BAD, 0, NULL, NULL, 0, 0 },
	{ IN("250-still going\r\n"), SMTPC_PARSE_MORE, 0, NULL, NULL, 0, 0 },
	{ IN("250 no end"), SMTPC_PARSE_MORE, 0, NULL, NULL, 0, 0 },
};

static enum smtpc_parse
feed_split(const uint8_t *in, size_t len, size_t cut, struct smtpc_reply *out)
{
	struct smtpc_reader r;
	enum smtpc_parse pr = SMTPC_PARSE_MORE;
	size_t used = 0;

	smtpc_reader_init(&r);
	if (cut > 0) {
		pr = smtpc_reader_feed(&r, in, cut, &used, out);
		if (pr != SMTPC_PARSE_MORE) {
			smtpc_reader_clear(&r);
			return pr;
		}
		assert_int_equal(used, cut);
	}
	pr = smtpc_reader_feed(&r, in + cut, len - cut, &used, out);
	if (pr == SMTPC_PARSE_OK)
		assert_int_equal(used, len - cut);	/* a reply ends where its bytes do */
	smtpc_reader_clear(&r);
	return pr;
}

static void
test_replies(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(replies) / sizeof(replies[0]); i++) {
		for (size_t cut = 0; cut < replies[i].len; cut++) {
			struct smtpc_reply out;
			enum smtpc_parse pr = feed_split(replies[i].in, replies[i].len, cut, &out);

			if (pr != replies[i].want) {
				/* a bad line found in the first part is still bad */
				assert_int_equal(replies[i].want, SMTPC_PARSE_BAD);
				assert_int_equal(pr, SMTPC_PARSE_BAD);
				continue;
			}
			if (pr != SMTPC_PARSE_OK)
				continue;
			assert_int_equal(out.code, replies[i].code);
			assert_string_equal(out.status, replies[i].status);
			if (replies[i].text)
				assert_string_equal(out.text, replies[i].text);
			assert_int_equal(out.caps, replies[i].caps);
			assert_int_equal(out.size_limit, replies[i].size);
		}
	}
}

static void
test_reply_bounds(void **state)
{
	struct smtpc_reader r;
	struct smtpc_reply out;
	uint8_t *big = malloc(SMTPC_MAX_LINE + 16);
	size_t used;

	(void)state;
	/* an endless line */
	memset(big, 'x', SMTPC_MAX_LINE + 16);
	memcpy(big, "250 ", 4);
	smtpc_reader_init(&r);
	assert_int_equal(smtpc_reader_feed(&r, big, SMTPC_MAX_LINE + 16, &used, &out),
	    SMTPC_PARSE_BAD);
	smtpc_reader_clear(&r);
	/* endless continuation lines */
	smtpc_reader_init(&r);
	for (int i = 0; i <= SMTPC_MAX_LINES; i++) {
		enum smtpc_parse pr = smtpc_reader_feed(&r, IN("250-more\r\n"), &used, &out);

		assert_int_equal(pr, i < SMTPC_MAX_LINES ? SMTPC_PARSE_MORE : SMTPC_PARSE_BAD);
	}
	smtpc_reader_clear(&r);
	free(big);
}

/* ---- the session ---- */

struct sess {
	struct smtpc c;
	struct smtpc_conf conf;
	struct buf out;
	struct smtpc_action act;
};

static void
sess_init(struct sess *s, int tls_allowed)
{
	memset(s, 0, sizeof(*s));
	/* each test clears with buf_clear(&s.out) before a new session and at its end */
	s->conf.helo_name = "out.example.test";
	s->conf.is_tls_allowed = tls_allowed;
	buf_init(&s->out, 65536);
	smtpc_init(&s->c, &s->conf, &s->out);
}

/* Feeds the reply bytes (byte by byte) and checks what was sent since the last call. */
static void
reply(struct sess *s, const char *in, const char *want_sent)
{
	struct smtpc_reader r;
	struct smtpc_reply rep;
	size_t len = strlen(in), used;
	int got = 0;

	smtpc_reader_init(&r);
	for (size_t i = 0; i < len; i++) {
		enum smtpc_parse pr = smtpc_reader_feed(&r, (const uint8_t *)in + i, 1, &used, &rep);

		assert_int_not_equal(pr, SMTPC_PARSE_BAD);
		if (pr == SMTPC_PARSE_OK) {
			smtpc_input(&s->c, &rep, &s->act);
			got++;
		}
	}
	smtpc_reader_clear(&r);
	assert_true(got > 0);
	assert_int_equal(s->out.len, strlen(want_sent));
	assert_memory_equal(s->out.data, want_sent, s->out.len);
	buf_reset(&s->out);
}

static void
test_session_pipelined(void **state)
{
	struct sess s;
	const char *rcpts[] = { "b@mx.test", "c@mx.test", "d@mx.test" };
	struct smtpc_result res[3];
	struct smtpc_txn t = { "a@example.test", rcpts, 3, 1234, 1, 0, res, { 0 }, 0 };

	(void)state;
	sess_init(&s, 1);
	reply(&s, "220 mx.test ESMTP\r\n", "EHLO out.example.test\r\n");
	reply(&s, "250-mx.test\r\n250-PIPELINING\r\n250-SIZE 100000\r\n250 8BITMIME\r\n", "");
	assert_true(s.act.is_ready);
	smtpc_begin(&s.c, &t, &s.act);
	/* RFC 2920: MAIL, every RCPT and DATA in one write */
	assert_string_equal(buf_cstr(&s.out), "MAIL FROM:<a@example.test> SIZE=1234 BODY=8BITMIME\r\n"
	    "RCPT TO:<b@mx.test>\r\nRCPT TO:<c@mx.test>\r\nRCPT TO:<d@mx.test>\r\nDATA\r\n");
	buf_reset(&s.out);
	reply(&s, "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n550 5.1.1 unknown\r\n450 4.2.0 later\r\n"
	    "354 go\r\n", "");
	assert_true(s.act.want_body);
	smtpc_body_sent(&s.c);
	reply(&s, "250 2.0.0 queued\r\n", "");
	assert_true(s.act.is_txn_done && s.act.is_ready && t.is_sent);
	assert_int_equal(res[0].code, 250);
	assert_string_equal(res[0].text, "queued");
	assert_int_equal(res[1].code, 550);
	assert_int_equal(res[2].code, 450);
	/* the connection carries another message */
	smtpc_begin(&s.c, &t, &s.act);
	assert_int_equal(s.c.messages, 2);
	buf_clear(&s.out);
}

static void
test_session_not_pipelined_all_refused(void **state)
{
	struct sess s;
	const char *rcpts[] = { "b@mx.test", "c@mx.test" };
	struct smtpc_result res[2];
	struct smtpc_txn t = { "", rcpts, 2, 10, 0, 0, res, { 0 }, 0 };

	(void)state;
	sess_init(&s, 1);
	reply(&s, "220 mx.test\r\n", "EHLO out.example.test\r\n");
	reply(&s, "500 what\r\n", "HELO out.example.test\r\n");	/* EHLO refused: HELO */
	reply(&s, "250 mx.test\r\n", "");
	smtpc_begin(&s.c, &t, &s.act);
	assert_string_equal(buf_cstr(&s.out), "MAIL FROM:<>\r\n");
	buf_reset(&s.out);
	reply(&s, "250 ok\r\n", "RCPT TO:<b@mx.test>\r\n");
	reply(&s, "550 no\r\n", "RCPT TO:<c@mx.test>\r\n");
	reply(&s, "551 no either\r\n", "RSET\r\n");	/* nobody accepted: no DATA */
	assert_true(s.act.is_txn_done && !t.is_sent);
	assert_int_equal(res[0].code, 550);
	assert_int_equal(res[1].code, 551);
	reply(&s, "250 ok\r\n", "");
	assert_true(s.act.is_ready);
	buf_clear(&s.out);
}

static void
test_session_starttls_and_limits(void **state)
{
	struct sess s;
	const char *rcpts[] = { "b@mx.test" };
	struct smtpc_result res[1];
	struct smtpc_txn big = { "a@x.test", rcpts, 1, 200000, 0, 0, res, { 0 }, 0 };
	struct smtpc_txn utf8 = { "a@x.test", rcpts, 1, 10, 0, 1, res, { 0 }, 0 };

	(void)state;
	sess_init(&s, 1);
	reply(&s, "220 mx.test\r\n", "EHLO out.example.test\r\n");
	reply(&s, "250-mx.test\r\n250-SIZE 100000\r\n250 STARTTLS\r\n", "STARTTLS\r\n");
	reply(&s, "220 go ahead\r\n", "");
	assert_true(s.act.want_tls);
	smtpc_tls_ready(&s.c);
	assert_string_equal(buf_cstr(&s.out), "EHLO out.example.test\r\n");	/* RFC 3207 4.2 */
	buf_reset(&s.out);
	reply(&s, "250-mx.test\r\n250-SIZE 100000\r\n250 STARTTLS\r\n", "");	/* no second STARTTLS */
	assert_true(s.act.is_ready && s.c.is_tls);
	/* too big for the peer's SIZE: refused here, nothing sent (RFC 1870 6) */
	smtpc_begin(&s.c, &big, &s.act);
	assert_true(s.act.is_txn_done && s.act.is_ready);
	assert_int_equal(s.out.len, 0);
	assert_int_equal(res[0].code, 552);
	assert_string_equal(res[0].status, "5.3.4");
	/* SMTPUTF8 to a peer without it: 5.6.7 (RFC 6531 3.2) */
	smtpc_begin(&s.c, &utf8, &s.act);
	assert_int_equal(res[0].code, 550);
	assert_string_equal(res[0].status, "5.6.7");
	buf_clear(&s.out);
}

static void
test_session_auth_and_failures(void **state)
{
	struct sess s;
	const char *rcpts[] = { "b@mx.test" };
	struct smtpc_result res[1];
	struct smtpc_txn t = { "a@x.test", rcpts, 1, 10, 0, 0, res, { 0 }, 0 };

	(void)state;
	sess_init(&s, 1);
	s.conf.is_tls_required = 1;
	s.conf.auth_plain_b64 = "AHUAcA==";
	s.conf.auth_user_b64 = "dQ==";
	s.conf.auth_pass_b64 = "cA==";
	reply(&s, "220 smart.test\r\n", "EHLO out.example.test\r\n");
	reply(&s, "250-smart.test\r\n250 STARTTLS\r\n", "STARTTLS\r\n");
	reply(&s, "220 go\r\n", "");
	smtpc_tls_ready(&s.c);
	buf_reset(&s.out);
	reply(&s, "250-smart.test\r\n250 AUTH LOGIN\r\n", "AUTH LOGIN\r\n");
	reply(&s, "334 VXNlcm5hbWU6\r\n", "dQ==\r\n");
	reply(&s, "334 UGFzc3dvcmQ6\r\n", "cA==\r\n");
	reply(&s, "235 2.7.0 ok\r\n", "");
	assert_true(s.act.is_ready);
	/* a 421 in the middle: the session fails, the accepted RCPT is no delivery */
	smtpc_begin(&s.c, &t, &s.act);
	buf_reset(&s.out);
	reply(&s, "250 ok\r\n", "RCPT TO:<b@mx.test>\r\n");
	reply(&s, "250 ok\r\n", "DATA\r\n");
	reply(&s, "421 4.3.2 shutting down\r\n", "");
	assert_true(s.act.is_failed);
	assert_int_equal(res[0].code, 0);

	/* TLS required and not offered: no session */
	buf_clear(&s.out);
	sess_init(&s, 1);
	s.conf.is_tls_required = 1;
	reply(&s, "220 smart.test\r\n", "EHLO out.example.test\r\n");
	reply(&s, "250 smart.test\r\n", "");
	assert_true(s.act.is_failed);
	/* a 4xx greeting fails the host (the caller tries the next MX) */
	buf_clear(&s.out);
	sess_init(&s, 1);
	reply(&s, "421 busy\r\n", "");
	assert_true(s.act.is_failed && !s.act.is_perm);
	buf_clear(&s.out);
	sess_init(&s, 1);
	reply(&s, "554 go away\r\n", "");
	assert_true(s.act.is_failed && s.act.is_perm);
	buf_clear(&s.out);
}

static void
test_session_replies_out_of_place(void **state)
{
	struct sess s;
	const char *rcpts[] = { "b@mx.test", "c@mx.test", "d@mx.test" };
	struct smtpc_result res[3];
	struct smtpc_txn t = { "a@x.test", rcpts, 3, 10, 0, 0, res, { 0 }, 0 };

	(void)state;
	/* a 250 to DATA is no acceptance of a message never sent: nobody is delivered */
	sess_init(&s, 1);
	reply(&s, "220 mx.test\r\n", "EHLO out.example.test\r\n");
	reply(&s, "250-mx.test\r\n250 PIPELINING\r\n", "");
	smtpc_begin(&s.c, &t, &s.act);
	buf_reset(&s.out);
	reply(&s, "250 ok\r\n250 ok\r\n550 no\r\n250 ok\r\n250 2.0.0 queued\r\n", "");
	assert_true(s.act.is_failed && !t.is_sent);
	assert_int_equal(res[0].code, 0);
	assert_int_equal(res[1].code, 550);
	assert_int_equal(res[2].code, 0);
	/* nor is a 354 to RCPT a verdict on its recipient (found by fuzz_smtpc, in LMTP mode) */
	buf_clear(&s.out);
	sess_init(&s, 1);
	s.conf.is_lmtp = 1;
	reply(&s, "220 lmtp.test\r\n", "LHLO out.example.test\r\n");
	reply(&s, "250-lmtp.test\r\n250 PIPELINING\r\n", "");
	smtpc_begin(&s.c, &t, &s.act);
	buf_reset(&s.out);
	reply(&s, "250 2.1.0 OK\r\n250 2.1.5 OK\r\n250 2.1.5 OK\r\n354 OK\r\n", "");
	assert_true(s.act.is_failed && !t.is_sent);
	assert_int_equal(res[0].code, 0);
	assert_int_equal(res[1].code, 0);
	assert_int_equal(res[2].code, 0);
	buf_clear(&s.out);
}

/* ---- LMTP (RFC 2033) ---- */

/* An LMTP session up to ready: LHLO, never EHLO, and the server's extensions. */
static void
lmtp_ready(struct sess *s)
{
	sess_init(s, 1);
	s->conf.is_lmtp = 1;
	reply(s, "220 lmtp.test LMTP ready\r\n", "LHLO out.example.test\r\n");
	reply(s, "250-lmtp.test\r\n250-8BITMIME\r\n250-ENHANCEDSTATUSCODES\r\n250 PIPELINING\r\n", "");
	assert_true(s->act.is_ready);
}

static void
test_lmtp_all_accepted(void **state)
{
	struct sess s;
	const char *rcpts[] = { "b@example.test", "c@example.test", "d@example.test" };
	struct smtpc_result res[3];
	struct smtpc_txn t = { "a@example.org", rcpts, 3, 100, 0, 0, res, { 0 }, 0 };

	(void)state;
	lmtp_ready(&s);
	smtpc_begin(&s.c, &t, &s.act);
	assert_string_equal(buf_cstr(&s.out), "MAIL FROM:<a@example.org>\r\n"
	    "RCPT TO:<b@example.test>\r\nRCPT TO:<c@example.test>\r\nRCPT TO:<d@example.test>\r\n"
	    "DATA\r\n");
	buf_reset(&s.out);
	reply(&s, "250 2.1.0 Sender OK\r\n250 2.1.5 OK\r\n250 2.1.5 OK\r\n250 2.1.5 OK\r\n"
	    "354 OK\r\n", "");
	assert_true(s.act.want_body);
	smtpc_body_sent(&s.c);
	/* RFC 2033 4.2: one reply per recipient, in RCPT order; the last ends the message */
	reply(&s, "250 2.0.0 <b@example.test> x1 Saved\r\n", "");
	assert_false(s.act.is_txn_done || s.act.is_ready || s.act.is_failed);
	reply(&s, "250 2.0.0 <c@example.test> x2 Saved\r\n", "");
	assert_false(s.act.is_txn_done);
	reply(&s, "250 2.0.0 <d@example.test> x3 Saved\r\n", "");
	assert_true(s.act.is_txn_done && s.act.is_ready && t.is_sent);
	assert_int_equal(res[0].code, 250);
	assert_string_equal(res[0].status, "2.0.0");
	assert_string_equal(res[0].text, "<b@example.test> x1 Saved");	/* each its own reply */
	assert_string_equal(res[1].text, "<c@example.test> x2 Saved");
	assert_string_equal(res[2].text, "<d@example.test> x3 Saved");
	assert_string_equal(t.msg.text, "<d@example.test> x3 Saved");
	/* the connection carries the next message */
	smtpc_begin(&s.c, &t, &s.act);
	assert_int_equal(s.c.messages, 2);
	buf_reset(&s.out);
	reply(&s, "250 2.1.0 OK\r\n250 2.1.5 OK\r\n250 2.1.5 OK\r\n250 2.1.5 OK\r\n354 OK\r\n", "");
	smtpc_body_sent(&s.c);
	reply(&s, "250 2.0.0 b\r\n250 2.0.0 c\r\n250 2.0.0 d\r\n", "");
	assert_true(s.act.is_txn_done && t.is_sent);
	assert_string_equal(res[0].text, "b");
	assert_string_equal(res[2].text, "d");
	buf_clear(&s.out);
}

static void
test_lmtp_per_recipient_failures(void **state)
{
	struct sess s;
	const char *rcpts[] = { "b@example.test", "nobody@example.test", "full@example.test",
		"gone@example.test" };
	struct smtpc_result res[4];
	struct smtpc_txn t = { "a@example.org", rcpts, 4, 100, 0, 0, res, { 0 }, 0 };

	(void)state;
	lmtp_ready(&s);
	smtpc_begin(&s.c, &t, &s.act);
	buf_reset(&s.out);
	reply(&s, "250 2.1.0 OK\r\n250 2.1.5 OK\r\n550 5.1.1 <nobody@example.test> User doesn't "
	    "exist\r\n250 2.1.5 OK\r\n250 2.1.5 OK\r\n354 OK\r\n", "");
	smtpc_body_sent(&s.c);
	/* three replies, for the three accepted: the refused one is skipped */
	reply(&s, "250 2.0.0 <b@example.test> Saved\r\n", "");
	reply(&s, "452 4.2.2 <full@example.test> Quota exceeded (mailbox for user is full)\r\n", "");
	assert_false(s.act.is_txn_done);
	reply(&s, "550 5.2.1 <gone@example.test> Mailbox disabled\r\n", "");
	assert_true(s.act.is_txn_done && s.act.is_ready && t.is_sent);
	assert_int_equal(res[0].code, 250);				/* delivered */
	assert_int_equal(res[1].code, 550);				/* its RCPT reply */
	assert_string_equal(res[1].status, "5.1.1");
	assert_int_equal(res[2].code, 452);				/* deferred alone */
	assert_string_equal(res[2].status, "4.2.2");
	assert_string_equal(res[2].text, "<full@example.test> Quota exceeded (mailbox for user "
	    "is full)");
	assert_int_equal(res[3].code, 550);				/* bounced alone */
	assert_string_equal(res[3].status, "5.2.1");
	assert_int_equal(t.msg.code, 550);	/* the reply that ended the message */

	/* nobody delivered: no recipient's result is a delivery, and is_sent says so */
	smtpc_begin(&s.c, &t, &s.act);
	buf_reset(&s.out);
	reply(&s, "250 2.1.0 OK\r\n250 2.1.5 OK\r\n550 5.1.1 no\r\n250 2.1.5 OK\r\n250 2.1.5 OK\r\n"
	    "354 OK\r\n", "");
	smtpc_body_sent(&s.c);
	reply(&s, "452 4.2.2 full\r\n452 4.2.2 full\r\n451 4.3.0 error\r\n", "");
	assert_true(s.act.is_txn_done && !t.is_sent);
	assert_int_equal(res[0].code, 452);
	assert_int_equal(res[1].code, 550);
	assert_int_equal(res[2].code, 452);
	assert_int_equal(res[3].code, 451);

	/* every RCPT refused: the pipelined DATA is refused, the RCPT replies stand */
	smtpc_begin(&s.c, &t, &s.act);
	buf_reset(&s.out);
	reply(&s, "250 2.1.0 OK\r\n550 5.1.1 a\r\n550 5.1.1 b\r\n450 4.2.1 c\r\n550 5.1.1 d\r\n"
	    "503 5.5.1 No valid recipients\r\n", "RSET\r\n");
	assert_true(s.act.is_txn_done && !t.is_sent);
	assert_int_equal(res[2].code, 450);
	reply(&s, "250 2.0.0 OK\r\n", "");
	assert_true(s.act.is_ready);
	buf_clear(&s.out);
}

static void
test_lmtp_lost_after_some_replies(void **state)
{
	struct sess s;
	const char *rcpts[] = { "b@example.test", "c@example.test", "d@example.test",
		"e@example.test" };
	struct smtpc_result res[4];
	struct smtpc_txn t = { "a@example.org", rcpts, 4, 100, 0, 0, res, { 0 }, 0 };

	(void)state;
	lmtp_ready(&s);
	smtpc_begin(&s.c, &t, &s.act);
	buf_reset(&s.out);
	reply(&s, "250 2.1.0 OK\r\n250 2.1.5 OK\r\n250 2.1.5 OK\r\n550 5.1.1 no\r\n250 2.1.5 OK\r\n"
	    "354 OK\r\n", "");
	smtpc_body_sent(&s.c);
	reply(&s, "250 2.0.0 b Saved\r\n452 4.2.2 c full\r\n", "");
	/* the connection breaks: what was answered stands, the rest is tried again */
	smtpc_lost(&s.c);
	assert_int_equal(res[0].code, 250);	/* delivered: again would be twice */
	assert_int_equal(res[1].code, 452);
	assert_int_equal(res[2].code, 550);	/* refused at RCPT */
	assert_int_equal(res[3].code, 0);	/* accepted at RCPT, no reply: not delivered */
	assert_true(t.is_sent);
	assert_int_equal(t.msg.code, 0);	/* nothing ended the message */
	smtpc_lost(&s.c);			/* twice is harmless */
	assert_int_equal(res[0].code, 250);

	/* a 421 in the middle of the replies ends the session the same way */
	buf_clear(&s.out);
	lmtp_ready(&s);
	smtpc_begin(&s.c, &t, &s.act);
	buf_reset(&s.out);
	reply(&s, "250 2.1.0 OK\r\n250 2.1.5 OK\r\n250 2.1.5 OK\r\n250 2.1.5 OK\r\n250 2.1.5 OK\r\n"
	    "354 OK\r\n", "");
	smtpc_body_sent(&s.c);
	reply(&s, "250 2.0.0 b Saved\r\n", "");
	reply(&s, "421 4.3.2 shutting down\r\n", "");
	assert_true(s.act.is_failed && !s.act.is_perm);
	assert_int_equal(res[0].code, 250);
	assert_int_equal(res[1].code, 0);
	assert_int_equal(res[2].code, 0);
	assert_int_equal(res[3].code, 0);

	/* lost before the first reply: nobody is delivered */
	buf_clear(&s.out);
	lmtp_ready(&s);
	smtpc_begin(&s.c, &t, &s.act);
	buf_reset(&s.out);
	reply(&s, "250 2.1.0 OK\r\n250 2.1.5 OK\r\n250 2.1.5 OK\r\n250 2.1.5 OK\r\n250 2.1.5 OK\r\n"
	    "354 OK\r\n", "");
	smtpc_body_sent(&s.c);
	smtpc_lost(&s.c);
	for (size_t i = 0; i < 4; i++)
		assert_int_equal(res[i].code, 0);
	assert_false(t.is_sent);

	/* SMTP: lost while waiting for the reply to the dot, the accepted RCPTs are no delivery */
	buf_clear(&s.out);
	sess_init(&s, 1);
	reply(&s, "220 mx.test\r\n", "EHLO out.example.test\r\n");
	reply(&s, "250-mx.test\r\n250 PIPELINING\r\n", "");
	smtpc_begin(&s.c, &t, &s.act);
	buf_reset(&s.out);
	reply(&s, "250 ok\r\n250 ok\r\n550 no\r\n250 ok\r\n250 ok\r\n354 go\r\n", "");
	smtpc_body_sent(&s.c);
	smtpc_lost(&s.c);
	assert_int_equal(res[0].code, 0);
	assert_int_equal(res[1].code, 550);
	assert_int_equal(res[2].code, 0);
	assert_false(t.is_sent);
	buf_clear(&s.out);
}

static void
test_lmtp_multiline_replies(void **state)
{
	struct sess s;
	const char *rcpts[] = { "b@example.test", "c@example.test" };
	struct smtpc_result res[2];
	struct smtpc_txn t = { "a@example.org", rcpts, 2, 100, 0, 0, res, { 0 }, 0 };

	(void)state;
	lmtp_ready(&s);
	smtpc_begin(&s.c, &t, &s.act);
	buf_reset(&s.out);
	reply(&s, "250 2.1.0 OK\r\n250 2.1.5 OK\r\n250 2.1.5 OK\r\n354 OK\r\n", "");
	smtpc_body_sent(&s.c);
	/* a reply of several lines is one recipient's: it does not count as two */
	reply(&s, "452-4.2.2 <b@example.test> mailbox full\r\n452-4.2.2 try again\r\n"
	    "452 4.2.2 later\r\n", "");
	assert_false(s.act.is_txn_done);
	reply(&s, "250-2.0.0 <c@example.test> Saved\r\n250 2.0.0 as x9\r\n", "");
	assert_true(s.act.is_txn_done && t.is_sent);
	assert_int_equal(res[0].code, 452);
	assert_string_equal(res[0].status, "4.2.2");
	assert_string_equal(res[0].text, "<b@example.test> mailbox full; try again; later");
	assert_int_equal(res[1].code, 250);
	assert_string_equal(res[1].text, "<c@example.test> Saved; as x9");
	buf_clear(&s.out);
}

static void
test_lmtp_greeting(void **state)
{
	struct sess s;
	const char *rcpts[] = { "b@example.test" };
	struct smtpc_result res[1];
	struct smtpc_txn t = { "", rcpts, 1, 100, 0, 0, res, { 0 }, 0 };

	(void)state;
	/* no HELO after a refused LHLO (RFC 2033 4.1): the host has said no */
	sess_init(&s, 1);
	s.conf.is_lmtp = 1;
	reply(&s, "220 lmtp.test\r\n", "LHLO out.example.test\r\n");
	reply(&s, "500 5.5.1 Unknown command\r\n", "");
	assert_true(s.act.is_failed && s.act.is_perm);
	assert_non_null(strstr(s.act.why, "LHLO"));
	/* a 4xx is no verdict on the host */
	buf_clear(&s.out);
	sess_init(&s, 1);
	s.conf.is_lmtp = 1;
	reply(&s, "220 lmtp.test\r\n", "LHLO out.example.test\r\n");
	reply(&s, "421 4.3.2 busy\r\n", "");
	assert_true(s.act.is_failed && !s.act.is_perm);

	/* STARTTLS when offered and allowed (over TCP), then LHLO again (RFC 3207 4.2) */
	buf_clear(&s.out);
	sess_init(&s, 1);
	s.conf.is_lmtp = 1;
	reply(&s, "220 lmtp.test\r\n", "LHLO out.example.test\r\n");
	reply(&s, "250-lmtp.test\r\n250 STARTTLS\r\n", "STARTTLS\r\n");
	reply(&s, "220 2.0.0 go\r\n", "");
	assert_true(s.act.want_tls);
	smtpc_tls_ready(&s.c);
	assert_string_equal(buf_cstr(&s.out), "LHLO out.example.test\r\n");
	assert_string_equal(smtpc_state_name(s.c.state), "LHLO");
	buf_reset(&s.out);
	/* without PIPELINING, one command at a time, as in SMTP */
	reply(&s, "250 lmtp.test\r\n", "");
	assert_true(s.act.is_ready && s.c.is_tls);
	smtpc_begin(&s.c, &t, &s.act);
	assert_string_equal(buf_cstr(&s.out), "MAIL FROM:<>\r\n");
	buf_reset(&s.out);
	reply(&s, "250 2.1.0 OK\r\n", "RCPT TO:<b@example.test>\r\n");
	reply(&s, "250 2.1.5 OK\r\n", "DATA\r\n");
	reply(&s, "354 OK\r\n", "");
	smtpc_body_sent(&s.c);
	reply(&s, "250 2.0.0 Saved\r\n", "");
	assert_true(s.act.is_txn_done && t.is_sent && res[0].code == 250);
	buf_clear(&s.out);
}

static void
test_dotstuff(void **state)
{
	static const char in[] = ".a\r\nb\r\n..c\r\n.\r\nend";
	static const char want[] = "..a\r\nb\r\n...c\r\n..\r\nend";

	(void)state;
	/* whole, and split at every byte */
	for (size_t cut = 0; cut <= sizeof(in) - 1; cut++) {
		uint8_t out[2 * sizeof(in)];
		size_t len;
		int bol = 1;

		len = smtpc_dotstuff((const uint8_t *)in, cut, &bol, out);
		len += smtpc_dotstuff((const uint8_t *)in + cut, sizeof(in) - 1 - cut, &bol, out + len);
		assert_int_equal(len, sizeof(want) - 1);
		assert_memory_equal(out, want, len);
		assert_false(bol);
	}
}

/* ---- notices ---- */

static void
test_dsn(void **state)
{
	static const char headers[] = "Received: from x\r\n\tby y\r\nSubject: hi\r\n\r\nbody\r\n";
	struct dsn_rcpt r[3] = {
		{ "B@mx.test", "b@mx.test", "5.1.1", "mx1.mx.test", 550, "no such user" },
		{ NULL, "c@nullmx.test", "5.1.10", NULL, 556, "null MX" },
		/* a forward: the alias the sender wrote, and where it led */
		{ "info@example.test", "partner@other.example", "5.1.1", "mx.other.example", 550,
		  "unknown" },
	};
	struct dsn_msg m = { "mx.example.test", "6C3QWXZ6WTC00", "6C3QWXZ6WTC01", "a@example.test",
		1700000000, 1700000100, 0, 1700432000, r, 3, (const uint8_t *)headers,
		sizeof(headers) - 1 };
	struct buf out;
	const char *s;

	(void)state;
	buf_init(&out, 1 << 20);
	assert_int_equal(dsn_build(&m, &out), 0);
	s = buf_cstr(&out);
	assert_non_null(strstr(s, "From: Mail Delivery System <MAILER-DAEMON@mx.example.test>\r\n"));
	assert_non_null(strstr(s, "Content-Type: multipart/report; report-type=delivery-status;"));
	assert_non_null(strstr(s, "Auto-Submitted: auto-replied\r\n"));
	assert_non_null(strstr(s, "Reporting-MTA: dns; mx.example.test\r\n"));
	assert_non_null(strstr(s, "\r\n\r\nOriginal-Recipient: rfc822; B@mx.test\r\n"
	    "Final-Recipient: rfc822; b@mx.test\r\nAction: failed\r\nStatus: 5.1.1\r\n"
	    "Remote-MTA: dns; mx1.mx.test\r\nDiagnostic-Code: smtp; 550 5.1.1 no such user\r\n"));
	assert_non_null(strstr(s, "\r\n\r\nFinal-Recipient: rfc822; c@nullmx.test\r\n"));
	assert_non_null(strstr(s, "\r\n\r\nOriginal-Recipient: rfc822; info@example.test\r\n"
	    "Final-Recipient: rfc822; partner@other.example\r\n"));
	/* the text names the alias beside its target; an address that only changed case is one */
	assert_non_null(strstr(s, "\r\n<partner@other.example> (expanded from <info@example.test>): "
	    "host mx.other.example said: 550 unknown\r\n"));
	assert_non_null(strstr(s, "\r\n<b@mx.test>: host mx1.mx.test said: 550 no such user\r\n"));
	assert_non_null(strstr(s, "\r\n<c@nullmx.test>: 556 null MX\r\n"));
	/* the header section only, not the body */
	assert_non_null(strstr(s, "Content-Type: text/rfc822-headers"));
	assert_non_null(strstr(s, "Subject: hi\r\n"));
	assert_null(strstr(s, "body\r\n"));
	assert_non_null(strstr(s, "--6C3QWXZ6WTC00/mx.example.test--\r\n"));
	/* no bare LF anywhere */
	for (size_t i = 0; i < out.len; i++)
		if (out.data[i] == '\n')
			assert_int_equal(out.data[i - 1], '\r');
	buf_reset(&out);
	m.is_delay = 1;
	assert_int_equal(dsn_build(&m, &out), 0);
	s = buf_cstr(&out);
	assert_non_null(strstr(s, "Action: delayed\r\n"));
	assert_non_null(strstr(s, "Will-Retry-Until: "));
	buf_clear(&out);
	assert_int_equal(dsn_header_len((const uint8_t *)headers, sizeof(headers) - 1), 40);
}

/* ---- heap ---- */

static void
test_heap(void **state)
{
	enum { N = 500 };
	struct heap h;
	struct heap_node *nodes = calloc(N, sizeof(*nodes));
	uint64_t last = 0;
	size_t popped = 0;
	uint32_t x = 12345;

	(void)state;
	heap_init(&h);
	for (size_t i = 0; i < N; i++) {
		x = x * 1103515245u + 12345u;
		heap_node_init(&nodes[i]);
		nodes[i].key = x % 1000;
		heap_push(&h, &nodes[i]);
	}
	/* take out every third node from wherever it sits */
	for (size_t i = 0; i < N; i += 3) {
		heap_remove(&h, &nodes[i]);
		assert_false(heap_has(&nodes[i]));
		heap_remove(&h, &nodes[i]);	/* twice is harmless */
	}
	while (heap_top(&h) != NULL) {
		struct heap_node *n = heap_pop(&h);

		assert_true(n->key >= last);
		last = n->key;
		popped++;
	}
	assert_int_equal(popped, N - (N + 2) / 3);
	assert_null(heap_pop(&h));
	heap_clear(&h);
	free(nodes);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mx_sort),
		cmocka_unit_test(test_mx_equal_prefs_shuffle),
		cmocka_unit_test(test_mx_null),
		cmocka_unit_test(test_replies),
		cmocka_unit_test(test_reply_bounds),
		cmocka_unit_test(test_session_pipelined),
		cmocka_unit_test(test_session_not_pipelined_all_refused),
		cmocka_unit_test(test_session_starttls_and_limits),
		cmocka_unit_test(test_session_auth_and_failures),
		cmocka_unit_test(test_session_replies_out_of_place),
		cmocka_unit_test(test_lmtp_all_accepted),
		cmocka_unit_test(test_lmtp_per_recipient_failures),
		cmocka_unit_test(test_lmtp_lost_after_some_replies),
		cmocka_unit_test(test_lmtp_multiline_replies),
		cmocka_unit_test(test_lmtp_greeting),
		cmocka_unit_test(test_dotstuff),
		cmocka_unit_test(test_dsn),
		cmocka_unit_test(test_heap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
