/*
 * test_header.c - the submission core's header stage: the header-section
 * scanner (which of Message-ID and Date a message has, where the header
 * section ends, how many Received fields it carries, whether it has a
 * header section at all), each case fed whole, split at each byte, and one
 * byte at a time; and the fields the stage adds (Received for each
 * entrance, Message-ID and Date for submissions).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "msg/header.h"
#include "util/xalloc.h"

#define IN(s) (const uint8_t *)(s), sizeof(s) - 1
#define MID HDRSCAN_MESSAGE_ID
#define DATE HDRSCAN_DATE

static const struct {
	const char *name;
	const uint8_t *in;
	size_t len;
	unsigned seen;
	int is_done;
} cases[] = {
	{ "both", IN("Message-ID: <a@b>\r\nDate: Mon, 1 Jan 2024 00:00:00 +0000\r\n\r\nbody\r\n"),
	    MID | DATE, 1 },
	{ "neither", IN("Subject: hi\r\nFrom: a@b\r\n\r\nbody\r\n"), 0, 1 },
	{ "any case", IN("MESSAGE-id: <a@b>\r\ndAtE: x\r\n\r\n"), MID | DATE, 1 },
	{ "no space after colon", IN("Date:x\r\n\r\n"), DATE, 1 },
	{ "only date", IN("Subject: x\r\nDate: x\r\n\r\n"), DATE, 1 },
	/* in the body, a Date: line is text */
	{ "date in body", IN("Subject: x\r\n\r\nDate: x\r\nMessage-ID: <x>\r\n"), 0, 1 },
	/* a folded field: the continuation is not a new field */
	{ "folded", IN("Subject: a\r\n Date: no\r\n\tMessage-ID: no\r\n\r\n"), 0, 1 },
	{ "folded then field", IN("Subject: a\r\n b\r\nDate: x\r\n\r\n"), DATE, 1 },
	/* names that only start or end like the ones looked for */
	{ "prefixes", IN("Dates: x\r\nX-Date: x\r\nMessage-IDs: x\r\nResent-Message-ID: x\r\n\r\n"),
	    0, 1 },
	{ "long name", IN("X-A-Very-Long-Header-Name-Indeed: x\r\nDate: y\r\n\r\n"), DATE, 1 },
	/* a message with no header section at all: the first line is no field */
	{ "no headers", IN("hello world\r\nDate: x\r\n"), 0, 1 },
	{ "space before colon", IN("Date : x\r\n\r\n"), 0, 1 },	/* obsolete syntax: not counted */
	{ "empty message", IN(""), 0, 0 },
	{ "blank first", IN("\r\nDate: x\r\n"), 0, 1 },
	{ "headers without end", IN("Date: x\r\nMessage-ID: y\r\n"), MID | DATE, 0 },
	{ "unfinished name", IN("Message-I"), 0, 0 },
	{ "8bit name", IN("D\xc3\xa4te: x\r\nDate: y\r\n\r\n"), 0, 1 },
};

static void
check(size_t i, const struct hdrscan *h)
{
	if (h->seen != cases[i].seen || h->is_done != cases[i].is_done)
		fail_msg("%s: seen %u done %d, want %u %d", cases[i].name, h->seen, h->is_done,
		    cases[i].seen, cases[i].is_done);
}

static void
test_cases(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct hdrscan h;

		hdrscan_init(&h);
		(void)hdrscan_feed(&h, cases[i].in, cases[i].len);
		check(i, &h);
		for (size_t cut = 0; cut <= cases[i].len; cut++) {
			hdrscan_init(&h);
			(void)hdrscan_feed(&h, cases[i].in, cut);
			(void)hdrscan_feed(&h, cases[i].in + cut, cases[i].len - cut);
			check(i, &h);
		}
		hdrscan_init(&h);
		for (size_t k = 0; k < cases[i].len; k++)
			(void)hdrscan_feed(&h, cases[i].in + k, 1);
		check(i, &h);
	}
}

/* Hops (RFC 5321 6.3) and the shape of the message's start (RFC 5322 2.1). */
static const struct {
	const char *name;
	const uint8_t *in;
	size_t len;
	unsigned nreceived;
	int needs_separator, knows_first_line;
} shapes[] = {
	{ "received twice", IN("Received: a\r\nreceived: b\r\n x\r\nSubject: s\r\n\r\n"
	    "Received: in the body\r\n"), 2, 0, 1 },
	{ "look-alikes are no hops", IN("Received-SPF: pass\r\nX-Received: x\r\n\r\n"), 0, 0, 1 },
	{ "text first", IN("hello\r\nworld\r\n"), 0, 1, 1 },
	{ "word and colon later", IN("hello world: x\r\n"), 0, 1, 1 },
	{ "mbox From line", IN("From a@b.test Mon Jan  1 00:00:00 2024\r\n"), 0, 1, 1 },
	{ "white space first", IN(" continued nothing\r\n"), 0, 1, 1 },
	/* an empty first line is the empty line: the body is already apart */
	{ "blank first", IN("\r\nbody\r\n"), 0, 0, 1 },
	{ "field first", IN("Subject: x\r\nhello\r\n"), 0, 0, 1 },
	{ "known at the colon", IN("Subject:"), 0, 0, 1 },
	{ "unfinished", IN("Subj"), 0, 0, 0 },
	{ "empty message", IN(""), 0, 0, 0 },
};

static void
check_shape(size_t i, const struct hdrscan *h)
{
	if (h->nreceived != shapes[i].nreceived ||
	    hdrscan_needs_separator(h) != shapes[i].needs_separator ||
	    hdrscan_knows_first_line(h) != shapes[i].knows_first_line)
		fail_msg("%s: received %u separator %d first line %d", shapes[i].name, h->nreceived,
		    hdrscan_needs_separator(h), hdrscan_knows_first_line(h));
}

static void
test_shapes(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
		struct hdrscan h;

		hdrscan_init(&h);
		(void)hdrscan_feed(&h, shapes[i].in, shapes[i].len);
		check_shape(i, &h);
		for (size_t cut = 0; cut <= shapes[i].len; cut++) {
			hdrscan_init(&h);
			(void)hdrscan_feed(&h, shapes[i].in, cut);
			(void)hdrscan_feed(&h, shapes[i].in + cut, shapes[i].len - cut);
			check_shape(i, &h);
		}
	}
}

/* 120 Received fields are counted, whatever the size of the pieces. */
static void
test_many_hops(void **state)
{
	struct buf b;
	struct hdrscan h;

	(void)state;
	buf_init(&b, 64 * 1024);
	for (int i = 0; i < 120; i++)
		assert_int_equal(buf_printf(&b, "Received: from h%d.test by h%d.test; Mon, 1 Jan 2024 "
		    "00:00:00 +0000\r\n", i, i + 1), 0);
	assert_int_equal(buf_printf(&b, "Subject: loop\r\n\r\nbody\r\n"), 0);
	hdrscan_init(&h);
	for (size_t off = 0; off < b.len; off += 7)
		(void)hdrscan_feed(&h, b.data + off, b.len - off < 7 ? b.len - off : 7);
	assert_int_equal(h.nreceived, 120);
	assert_int_equal(h.end, HDRSCAN_END_EMPTY_LINE);
	buf_clear(&b);
}

#define HOST "mx.example.test"
#define NOW 1795000000	/* Wed, 18 Nov 2026 11:06:40 */

static struct spool_msg *
env_new(enum spool_origin origin, size_t nrcpts)
{
	struct spool_msg *m = spool_msg_new();

	m->origin = origin;
	memcpy(m->qid, "0000000000001", QID_LEN + 1);
	m->sender = xstrdup("s@client.test");
	if (nrcpts >= 1)
		(void)spool_msg_add_rcpt(m, "alice@example.test", "alice@example.test", "alice");
	if (nrcpts >= 2)
		(void)spool_msg_add_rcpt(m, "bob@example.test", "bob@example.test", "bob");
	return m;
}

static const char *
received(const struct spool_msg *m, struct buf *b)
{
	buf_reset(b);
	assert_int_equal(msg_header_received(m, HOST, NOW, b), 0);
	/* one field, folded: every line break is CRLF followed by white space, CRLF at the end */
	assert_true(b->len >= 2 && memcmp(b->data + b->len - 2, "\r\n", 2) == 0);
	for (const char *p = buf_cstr(b); (p = strchr(p, '\n')) != NULL; p++) {
		assert_true(p > buf_cstr(b) && p[-1] == '\r');
		assert_true(p[1] == '\0' || p[1] == '\t' || p[1] == ' ');
	}
	return buf_cstr(b);
}

#define STARTS(h, s) assert_true(strncmp((h), (s), strlen(s)) == 0)

static void
test_received_smtp(void **state)
{
	struct spool_msg *m = env_new(SPOOL_FROM_SMTP, 1);
	struct buf b;
	const char *h;

	(void)state;
	buf_init(&b, 4096);
	m->client_ip = xstrdup("192.0.2.1");
	m->helo = xstrdup("client.test");
	m->proto = xstrdup("ESMTP");
	h = received(m, &b);
	STARTS(h, "Received: from client.test ([192.0.2.1])\r\n\tby " HOST
	    " (sterna) with ESMTP id 0000000000001\r\n\tfor <alice@example.test>; ");
	/* RFC 5322 date at the end */
	assert_non_null(strstr(h, "; Wed, 18 Nov 2026 "));

	/* TLS, a verified name, two recipients (neither named) */
	(void)spool_msg_add_rcpt(m, "bob@example.test", "bob@example.test", "bob");
	m->tls_version = xstrdup("TLSv1.3");
	m->tls_cipher = xstrdup("TLS_AES_256_GCM_SHA384");
	m->client_name = xstrdup("client.example.test");
	free(m->proto);
	m->proto = xstrdup("ESMTPS");
	h = received(m, &b);
	STARTS(h, "Received: from client.test (client.example.test [192.0.2.1])\r\n"
	    "\t(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384)\r\n"
	    "\tby " HOST " (sterna) with ESMTPS id 0000000000001; ");
	assert_null(strstr(h, "for <"));

	/* no HELO, IPv6: the RFC 5321 address literal tag */
	free(m->helo);
	m->helo = xstrdup("");
	free(m->client_ip);
	m->client_ip = xstrdup("::1");
	free(m->client_name);
	m->client_name = NULL;
	STARTS(received(m, &b), "Received: from unknown ([IPv6:::1])");

	/* a HELO name that would break the field: only domain characters stand */
	free(m->helo);
	m->helo = xstrdup("mx.example)by(x;y\x80");
	STARTS(received(m, &b), "Received: from mx.example?by?x?y? ([IPv6:::1])\r\n");
	free(m->helo);
	m->helo = xstrdup("[IPv6:2001:db8::1]");
	STARTS(received(m, &b), "Received: from [IPv6:2001:db8::1] ([IPv6:::1])\r\n");

	/* out full */
	buf_clear(&b);
	buf_init(&b, 16);
	assert_int_equal(msg_header_received(m, HOST, NOW, &b), -1);
	buf_clear(&b);
	spool_msg_free(&m);
}

static void
test_received_local(void **state)
{
	struct spool_msg *m = env_new(SPOOL_FROM_SENDMAIL, 1);
	struct buf b;

	(void)state;
	buf_init(&b, 4096);
	m->local_uid = 1000;
	m->local_user = xstrdup("alice");
	STARTS(received(m, &b), "Received: by " HOST " (sterna, from userid 1000 (alice))\r\n"
	    "\tid 0000000000001\r\n\tfor <alice@example.test>; ");
	/* a name that could break the comment is left out, the uid stays */
	free(m->local_user);
	m->local_user = xstrdup("a)b\r\nX: y");
	STARTS(received(m, &b), "Received: by " HOST " (sterna, from userid 1000)\r\n");
	spool_msg_free(&m);

	m = env_new(SPOOL_FROM_PICKUP, 2);
	STARTS(received(m, &b), "Received: by " HOST " (sterna, from pickup)\r\n"
	    "\tid 0000000000001; ");
	spool_msg_free(&m);

	m = env_new(SPOOL_FROM_NOTICE, 1);
	STARTS(received(m, &b), "Received: by " HOST " (sterna)\r\n\tid 0000000000001\r\n");
	spool_msg_free(&m);
	buf_clear(&b);
}

/* RFC 6409 8.2, 8.3: submissions get Message-ID and Date when missing; relayed mail never. */
static void
test_added(void **state)
{
	struct spool_msg *m = env_new(SPOOL_FROM_SMTP, 1);
	struct buf b;

	(void)state;
	buf_init(&b, 4096);
	assert_false(msg_header_is_submission(m));
	assert_int_equal(msg_header_added(m, HOST, NOW, 0, &b), 0);
	assert_int_equal(b.len, 0);
	m->auth_user = xstrdup("alice");
	assert_true(msg_header_is_submission(m));
	assert_int_equal(msg_header_added(m, HOST, NOW, 0, &b), 0);
	STARTS(buf_cstr(&b), "Message-ID: <0000000000001@" HOST ">\r\nDate: Wed, 18 Nov 2026 ");
	buf_reset(&b);
	assert_int_equal(msg_header_added(m, HOST, NOW, HDRSCAN_MESSAGE_ID, &b), 0);
	STARTS(buf_cstr(&b), "Date: ");
	buf_reset(&b);
	assert_int_equal(msg_header_added(m, HOST, NOW, HDRSCAN_MESSAGE_ID | HDRSCAN_DATE, &b), 0);
	assert_int_equal(b.len, 0);
	spool_msg_free(&m);
	for (enum spool_origin o = SPOOL_FROM_SENDMAIL; o <= SPOOL_FROM_NOTICE; o++) {
		m = env_new(o, 1);
		assert_true(msg_header_is_submission(m));
		spool_msg_free(&m);
	}
	buf_clear(&b);
}

/* Past the bound the scan stops, and says its answer is incomplete. */
static void
test_bound(void **state)
{
	size_t n = HDRSCAN_MAX_BYTES + 100;
	uint8_t *big = malloc(n);
	struct hdrscan h;

	(void)state;
	assert_non_null(big);
	memcpy(big, "X-Big: ", 7);
	memset(big + 7, 'a', n - 7);
	hdrscan_init(&h);
	assert_int_equal(hdrscan_feed(&h, big, n), 1);
	assert_true(h.is_truncated);
	assert_int_equal(h.seen, 0);
	/* after the end nothing changes */
	assert_int_equal(hdrscan_feed(&h, IN("\r\nDate: x\r\n\r\n")), 1);
	assert_int_equal(h.seen, 0);
	free(big);

	hdrscan_init(&h);
	assert_int_equal(hdrscan_feed(&h, IN("Date: x\r\n\r\n")), 1);
	assert_false(h.is_truncated);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cases),
		cmocka_unit_test(test_bound),
		cmocka_unit_test(test_shapes),
		cmocka_unit_test(test_many_hops),
		cmocka_unit_test(test_received_smtp),
		cmocka_unit_test(test_received_local),
		cmocka_unit_test(test_added),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
