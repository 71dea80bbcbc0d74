/*
 * test_qview.c - the queue's JSON (src/qview/qview.c), shared by the
 * control socket and the HTTP API: times, a message's view with the bytes
 * a queue file may hold that JSON may not, filters read with their exact
 * bad values and written back, an operation's result.
 *
 * The queue interface's views are the daemon's (src/sched/queue.c):
 * stub_queue.c stands in for them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qview/qview.h"
#include "queue_fixture.h"

static void
test_time(void **state)
{
	char b[24];
	uint64_t t;

	(void)state;
	assert_string_equal(qview_time_str(1796450218, b), "2026-12-05T05:56:58Z");
	assert_int_equal(qview_time_parse("2026-12-05T05:56:58Z", &t), 0);
	assert_int_equal(t, 1796450218);
	assert_int_equal(qview_time_parse("2026-12-05T05:56:58", &t), -1);
	assert_int_equal(qview_time_parse("2026-12-05T05:56:58Zx", &t), -1);
	assert_int_equal(qview_time_parse("", &t), -1);
}

static void
test_view_json(void **state)
{
	struct spool_msg *m = queue_fixture_msg();
	struct sched_view v = { .m = m, .state = SCHED_DEFERRED, .next_try_s = 1796453818 };
	json_t *o = qview_msg_json(&v, 0), *r0, *r1, *r2;

	(void)state;
	assert_string_equal(json_string_value(json_object_get(o, "id")), "6C7EAJ89TX000");
	assert_string_equal(json_string_value(json_object_get(o, "state")), "deferred");
	assert_string_equal(json_string_value(json_object_get(o, "arrival")), "2026-12-05T05:56:58Z");
	assert_int_equal(json_integer_value(json_object_get(o, "size")), 1834);
	assert_string_equal(json_string_value(json_object_get(o, "sender")), "a@example.org");
	assert_string_equal(json_string_value(json_object_get(o, "next_attempt")),
	    "2026-12-05T06:56:58Z");
	assert_null(json_object_get(o, "client_ip"));	/* detail only */
	assert_int_equal(json_array_size(json_object_get(o, "recipients")), 3);
	r0 = json_array_get(json_object_get(o, "recipients"), 0);
	r1 = json_array_get(json_object_get(o, "recipients"), 1);
	r2 = json_array_get(json_object_get(o, "recipients"), 2);
	assert_string_equal(json_string_value(json_object_get(r0, "email")), "bob@example.net");
	assert_string_equal(json_string_value(json_object_get(r0, "state")), "deferred");
	assert_string_equal(json_string_value(json_object_get(r0, "agent")), "smtp");
	assert_int_equal(json_integer_value(json_object_get(r0, "attempts")), 3);
	/* the 8-bit byte is U+FFFD: a JSON string is UTF-8 */
	assert_string_equal(json_string_value(json_object_get(r0, "last_reply")),
	    "host mx.example.net said: 451 4.3.0 busy \xef\xbf\xbd\x1b[31m");
	assert_string_equal(json_string_value(json_object_get(r0, "next_attempt")),
	    "2026-12-05T06:56:58Z");
	assert_true(json_is_null(json_object_get(r0, "status")));
	assert_string_equal(json_string_value(json_object_get(r1, "state")), "delivered");
	assert_string_equal(json_string_value(json_object_get(r1, "orig")), "info@example.test");
	assert_string_equal(json_string_value(json_object_get(r1, "agent")), "maildir");
	assert_string_equal(json_string_value(json_object_get(r1, "status")), "2.0.0");
	assert_true(json_is_null(json_object_get(r1, "next_attempt")));
	assert_string_equal(json_string_value(json_object_get(r2, "state")), "pending");
	assert_true(json_is_null(json_object_get(r2, "last_reply")));
	json_decref(o);

	/* show adds where it came from; the null sender is "" */
	free(m->sender);
	m->sender = strdup("");
	v.state = SCHED_HELD;
	v.next_try_s = 0;
	o = qview_msg_json(&v, 1);
	assert_string_equal(json_string_value(json_object_get(o, "sender")), "");
	assert_true(json_is_null(json_object_get(o, "next_attempt")));
	assert_string_equal(json_string_value(json_object_get(o, "client_ip")), "192.0.2.10");
	assert_string_equal(json_string_value(json_object_get(o, "origin")), "smtp");
	assert_true(json_is_null(json_object_get(o, "local_uid")));
	json_decref(o);
	spool_msg_free(&m);
}

/* Filters: each bad value with the reason it gets, and good ones read back as written. */
static void
test_filter(void **state)
{
	static const struct {
		const char *json;
		int ok;
	} cases[] = {
		{ "{}", 1 },
		{ "{\"id\":\"6C7EAJ89TX000\"}", 1 },
		{ "{\"id\":\"6C7EAJ89TX00\"}", 0 },		/* 12 characters */
		{ "{\"id\":7}", 0 },
		{ "{\"state\":\"held\"}", 1 },
		{ "{\"state\":[\"held\",\"deferred\"]}", 1 },
		{ "{\"state\":[]}", 0 },
		{ "{\"state\":\"frozen\"}", 0 },
		{ "{\"state\":[\"held\",3]}", 0 },
		{ "{\"sender\":\"\"}", 1 },			/* <> */
		{ "{\"recipient\":\"\"}", 0 },
		{ "{\"domain\":\"a\\u0000b\"}", 0 },		/* a NUL would cut it */
		{ "{\"min_age_s\":-1}", 0 },
		{ "{\"min_age_s\":1.5}", 0 },
		{ "{\"min_age_s\":60,\"max_age_s\":30}", 0 },
		{ "{\"colour\":\"red\"}", 0 },
		{ "[]", 0 },
	};
	char why[256];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct qview_filter qf = { 0 };
		json_t *j = json_loads(cases[i].json, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
		int rc;

		assert_non_null(j);
		why[0] = '\0';
		rc = qview_filter_parse(j, &qf, why, sizeof(why));
		if ((rc == 0) != cases[i].ok)
			fail_msg("case %zu (%s): got %d (%s)", i, cases[i].json, rc, why);
		if (rc != 0 && why[0] == '\0')
			fail_msg("case %zu: no reason", i);
		qview_filter_clear(&qf);
		json_decref(j);
	}
}

static void
test_filter_round_trip(void **state)
{
	struct sched_filter f = { .states = 1u << SCHED_HELD | 1u << SCHED_QUEUED, .sender = "",
		.rcpt = "b@x.test", .domain = "example.com", .min_age_s = 60, .max_age_s = 7200,
		.qid = "6C7EAJ89TX000" };
	struct qview_filter qf = { 0 };
	json_t *j = qview_filter_json(&f);
	char why[256];

	(void)state;
	assert_int_equal(qview_filter_parse(j, &qf, why, sizeof(why)), 0);
	assert_int_equal(qf.f.states, f.states);
	assert_string_equal(qf.f.sender, "");
	assert_string_equal(qf.f.rcpt, "b@x.test");
	assert_string_equal(qf.f.domain, "example.com");
	assert_string_equal(qf.f.qid, "6C7EAJ89TX000");
	assert_int_equal(qf.f.min_age_s, 60);
	assert_int_equal(qf.f.max_age_s, 7200);
	assert_false(qview_filter_is_empty(&qf.f));
	qview_filter_clear(&qf);
	json_decref(j);

	f = (struct sched_filter){ 0 };
	assert_true(qview_filter_is_empty(&f));
	j = qview_filter_json(&f);
	assert_int_equal(json_object_size(j), 0);
	json_decref(j);
}

static void
test_result(void **state)
{
	struct sched_op_result r = { 3, 2, 1 };
	json_t *j = qview_result_json(SCHED_OP_HOLD, &r);
	char *s = json_dumps(j, JSON_COMPACT);

	(void)state;
	assert_string_equal(s, "{\"op\":\"hold\",\"matched\":3,\"done\":2,\"failed\":1}");
	free(s);
	json_decref(j);
}

int
main(void)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_time),
		cmocka_unit_test(test_view_json),
		cmocka_unit_test(test_filter),
		cmocka_unit_test(test_filter_round_trip),
		cmocka_unit_test(test_result),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
