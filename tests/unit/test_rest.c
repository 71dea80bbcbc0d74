/*
 * test_rest.c - a message's envelope packed while it waits in the queue
 * (src/sched/rest.c): unpacked, or looked at in place, it is the envelope
 * that was packed, field for field, whatever is set or absent, long or
 * empty, with one recipient or more than a look keeps without allocating.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sched/sched_int.h"
#include "util/xalloc.h"

static void
same_str(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		assert_ptr_equal(a, b);
	else
		assert_string_equal(a, b);
}

static void
same_msg(const struct spool_msg *a, const struct spool_msg *b)
{
	assert_string_equal(a->qid, b->qid);
	assert_int_equal(a->origin, b->origin);
	same_str(a->sender, b->sender);
	assert_true(a->arrival_us == b->arrival_us);
	same_str(a->client_ip, b->client_ip);
	same_str(a->client_name, b->client_name);
	same_str(a->helo, b->helo);
	same_str(a->proto, b->proto);
	same_str(a->tls_version, b->tls_version);
	same_str(a->tls_cipher, b->tls_cipher);
	same_str(a->auth_user, b->auth_user);
	same_str(a->local_user, b->local_user);
	assert_int_equal(a->local_uid, b->local_uid);
	same_str(a->fail_status, b->fail_status);
	same_str(a->fail_text, b->fail_text);
	assert_int_equal(a->is_8bitmime, b->is_8bitmime);
	assert_int_equal(a->is_smtputf8, b->is_smtputf8);
	assert_int_equal(a->is_held, b->is_held);
	assert_true(a->release_s == b->release_s);
	same_str(a->api_meta, b->api_meta);
	same_str(a->api_idem, b->api_idem);
	assert_true(a->content_bytes == b->content_bytes);
	assert_int_equal(a->nrcpts, b->nrcpts);
	for (size_t i = 0; i < a->nrcpts; i++) {
		const struct spool_rcpt *x = &a->rcpts[i], *y = &b->rcpts[i];

		same_str(x->to, y->to);
		same_str(x->orig, y->orig);
		same_str(x->mailbox, y->mailbox);
		assert_int_equal(x->is_done, y->is_done);
		assert_int_equal(x->attempts, y->attempts);
		assert_true(x->next_try_s == y->next_try_s);
		assert_string_equal(x->status, y->status);
		same_str(x->reason, y->reason);
	}
}

static void
round_trip(const struct spool_msg *m)
{
	uint8_t *packed = rest_pack(m);
	struct spool_msg *back = rest_unpack(packed, m->qid);
	struct rest_view v;

	same_msg(m, back);
	spool_msg_free(&back);
	/* and looked at in place, as listings do */
	same_msg(m, rest_view(packed, m->qid, &v));
	rest_view_clear(&v);
	free(packed);
}

/* A message as it comes in over SMTP: few fields set, one recipient not tried yet. */
static void
test_fresh_message(void **state)
{
	struct spool_msg *m = spool_msg_new();

	(void)state;
	memcpy(m->qid, "0123456789ABC", QID_LEN + 1);
	m->sender = xstrdup("a@example.org");
	m->arrival_us = 1796000000123456u;
	m->client_ip = xstrdup("192.0.2.10");
	m->helo = xstrdup("client.test");
	m->proto = xstrdup("ESMTP");
	m->content_bytes = 4096;
	assert_int_equal(spool_msg_add_rcpt(m, "B@example.net", "b@example.net", NULL), 1);
	round_trip(m);
	spool_msg_free(&m);
}

/* Every field set, extreme numbers, empty strings, recipients in every state. */
static void
test_every_field(void **state)
{
	struct spool_msg *m = spool_msg_new();
	char *long_text = xmalloc(70000);

	(void)state;
	memset(long_text, 'x', 69999);
	long_text[69999] = '\0';
	memcpy(m->qid, "ZZZZZZZZZZZZZ", QID_LEN + 1);
	m->origin = SPOOL_FROM_API;
	m->sender = xstrdup("");		/* the null sender */
	m->arrival_us = UINT64_MAX;
	m->client_ip = xstrdup("2001:db8::1");
	m->client_name = xstrdup("client.example.org");
	m->helo = xstrdup("");
	m->proto = xstrdup("ESMTPSA");
	m->tls_version = xstrdup("TLSv1.3");
	m->tls_cipher = xstrdup("TLS_AES_256_GCM_SHA384");
	m->auth_user = xstrdup("alice");
	m->local_user = xstrdup("bob");
	m->local_uid = 0;
	m->fail_status = xstrdup("5.4.6");
	m->fail_text = long_text;
	m->is_8bitmime = 1;
	m->is_smtputf8 = 1;
	m->is_held = 1;
	m->release_s = 4102444800u;
	m->api_meta = xstrdup("{\"tags\": [\"t\"], \"metadata\": {}}");
	m->api_idem = xstrdup("key\001reply");
	m->content_bytes = UINT64_MAX - 1;
	assert_int_equal(spool_msg_add_rcpt(m, "a@example.net", "a@example.net", NULL), 1);
	assert_int_equal(spool_msg_add_rcpt(m, "Postmaster", "postmaster@example.test",
	    "postmaster"), 1);
	assert_int_equal(spool_msg_add_rcpt(m, "c@example.com", "c@example.com", NULL), 1);
	m->rcpts[0].is_done = 1;
	memcpy(m->rcpts[0].status, "2.0.0", 6);
	m->rcpts[1].is_done = 1;
	memcpy(m->rcpts[1].status, "5.1.1234567890", 15);	/* the longest that fits */
	m->rcpts[2].attempts = 4000000000u;
	m->rcpts[2].next_try_s = UINT64_MAX;
	m->rcpts[2].reason = xstrdup("connect to mx.example.com: Connection refused");
	round_trip(m);
	for (int i = 0; i < 10; i++) {
		char to[32];

		snprintf(to, sizeof(to), "r%d@example.net", i);
		assert_int_equal(spool_msg_add_rcpt(m, to, to, NULL), 1);
	}
	round_trip(m);
	m->local_uid = -1;
	m->is_8bitmime = m->is_held = 0;
	round_trip(m);
	spool_msg_free(&m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fresh_message),
		cmocka_unit_test(test_every_field),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
