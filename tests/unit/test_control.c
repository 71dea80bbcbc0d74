/*
 * test_control.c - the control protocol's pure parts (src/control/proto.c,
 * print.c): request lines with the exact bad bytes (over-long lines, bad
 * JSON, NULs, 8-bit bytes, deep nesting, unknown ops and keys, bad
 * filters), the requests the client builds read back as they were meant,
 * replies, and queue views as mailq's text (the views as JSON are
 * test_qview.c's); the metrics reply, read from a real registry, and
 * sterna top's frames made of two of them.
 *
 * The queue interface's names and views are the daemon's (src/sched/queue.c,
 * which needs the whole scheduler): stub_queue.c stands in for them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "control/control.h"
#include "metrics/metrics.h"
#include "queue_fixture.h"
#include "spool/spool.h"
#include "util/buf.h"

/* ---- request lines ---- */

#define IN(s) (const uint8_t *)(s), sizeof(s) - 1

static void
test_line_find(void **state)
{
	uint8_t big[CTL_MAX_LINE + 2];
	size_t len = 99;

	(void)state;
	assert_int_equal(ctl_line_find(IN(""), &len), CTL_LINE_MORE);
	assert_int_equal(ctl_line_find(IN("{\"op\":\"list\"}"), &len), CTL_LINE_MORE);
	assert_int_equal(ctl_line_find(IN("{\"op\":\"list\"}\n{\"op"), &len), CTL_LINE_OK);
	assert_int_equal(len, 13);
	assert_int_equal(ctl_line_find(IN("\n"), &len), CTL_LINE_OK);
	assert_int_equal(len, 0);
	/* a NUL is the parser's business, not the framing's */
	assert_int_equal(ctl_line_find(IN("a\0b\n"), &len), CTL_LINE_OK);
	assert_int_equal(len, 3);

	/* CTL_MAX_LINE counts the LF: 4095 bytes and an LF is the longest line */
	memset(big, 'x', sizeof(big));
	assert_int_equal(ctl_line_find(big, CTL_MAX_LINE - 1, &len), CTL_LINE_MORE);
	big[CTL_MAX_LINE - 1] = '\n';
	assert_int_equal(ctl_line_find(big, CTL_MAX_LINE, &len), CTL_LINE_OK);
	assert_int_equal(len, CTL_MAX_LINE - 1);
	big[CTL_MAX_LINE - 1] = 'x';
	assert_int_equal(ctl_line_find(big, CTL_MAX_LINE, &len), CTL_LINE_TOO_LONG);
	/* the LF one byte too late does not save it */
	big[CTL_MAX_LINE] = '\n';
	assert_int_equal(ctl_line_find(big, CTL_MAX_LINE + 1, &len), CTL_LINE_TOO_LONG);

	/* a whole line split anywhere: MORE until its LF is in */
	static const char line[] = "{\"op\":\"hold\",\"filter\":{\"state\":\"held\"}}\n";
	for (size_t cut = 0; cut < sizeof(line) - 1; cut++)
		assert_int_equal(ctl_line_find((const uint8_t *)line, cut, &len), CTL_LINE_MORE);
	assert_int_equal(ctl_line_find(IN(line), &len), CTL_LINE_OK);
	assert_int_equal(len, sizeof(line) - 2);
}

static const struct {
	const uint8_t *in;
	size_t len;
	enum ctl_err want;
} cases[] = {
	/* good ones */
	{ IN("{\"op\":\"list\"}"),					CTL_ERR_NONE },
	{ IN(" {\"op\" : \"list\"}\r"),					CTL_ERR_NONE },	/* CR: whitespace */
	{ IN("{\"op\":\"status\"}"),					CTL_ERR_NONE },
	{ IN("{\"op\":\"metrics\"}"),					CTL_ERR_NONE },
	{ IN("{\"op\":\"show\",\"id\":\"6C7EAJ89TX000\"}"),		CTL_ERR_NONE },
	{ IN("{\"op\":\"list\",\"filter\":{}}"),			CTL_ERR_NONE },
	{ IN("{\"op\":\"list\",\"filter\":{\"sender\":\"\"}}"),		CTL_ERR_NONE },	/* <> */
	{ IN("{\"op\":\"hold\",\"filter\":{\"state\":\"held\",\"domain\":\"example.com\"}}"),
									CTL_ERR_NONE },
	{ IN("{\"op\":\"flush\",\"filter\":{\"state\":[\"deferred\",\"queued\"]}}"),
									CTL_ERR_NONE },
	{ IN("{\"op\":\"delete\",\"all\":true}"),			CTL_ERR_NONE },
	{ IN("{\"op\":\"bounce\",\"filter\":{\"min_age_s\":10,\"max_age_s\":10}}"),
									CTL_ERR_NONE },
	/* brackets inside strings are no nesting, escaped quotes included */
	{ IN("{\"op\":\"list\",\"filter\":{\"sender\":\"[[[[[[[[[[[[{{{{\"}}"),
									CTL_ERR_NONE },
	{ IN("{\"op\":\"list\",\"filter\":{\"sender\":\"\\\"[[[[[[[[[[[[\\\\\"}}"),
									CTL_ERR_NONE },

	/* not JSON, or more than one text */
	{ IN(""),							CTL_ERR_BAD_JSON },
	{ IN("list"),							CTL_ERR_BAD_JSON },
	{ IN("\"list\""),						CTL_ERR_BAD_JSON },
	{ IN("{\"op\":\"list\""),					CTL_ERR_BAD_JSON },
	{ IN("{\"op\":\"list\"} x"),					CTL_ERR_BAD_JSON },
	{ IN("{\"op\":\"list\"}{\"op\":\"list\"}"),			CTL_ERR_BAD_JSON },
	{ IN("{\"op\":\"list\",\"op\":\"hold\"}"),			CTL_ERR_BAD_JSON },	/* duplicate */
	{ IN("{\"op\":\"li\0st\"}"),					CTL_ERR_BAD_JSON },	/* raw NUL */
	{ IN("{\"op\":\"list\"}\0"),					CTL_ERR_BAD_JSON },
	{ IN("{\"op\":\"li\\u0000st\"}"),				CTL_ERR_BAD_JSON },	/* escaped NUL */
	{ IN("{\"op\":\"\xff\xfe\"}"),					CTL_ERR_BAD_JSON },	/* not UTF-8 */
	{ IN("{\"op\":\"\xc0\xaf\"}"),					CTL_ERR_BAD_JSON },	/* overlong */
	{ IN("{\"op\":\"\xed\xa0\x80\"}"),				CTL_ERR_BAD_JSON },	/* surrogate */
	{ IN("{\"op\":\"list\",}"),					CTL_ERR_BAD_JSON },
	{ IN("{'op':'list'}"),						CTL_ERR_BAD_JSON },
	{ IN("{\"op\":\"list\",\"filter\":{\"min_age_s\":99999999999999999999}}"),
									CTL_ERR_BAD_JSON },	/* no wrap */

	/* nesting: 8 levels is allowed, 9 is refused before any parsing */
	{ IN("[[[[[[[[]]]]]]]]"),					CTL_ERR_BAD_REQUEST },
	{ IN("[[[[[[[[[]]]]]]]]]"),					CTL_ERR_TOO_DEEP },
	{ IN("[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["),
									CTL_ERR_TOO_DEEP },	/* unclosed */
	{ IN("{\"op\":\"list\",\"filter\":{\"state\":[[[[[[[\"held\"]]]]]]]}}"),
									CTL_ERR_TOO_DEEP },
	{ IN("{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":1}}}}}}}}}"),
									CTL_ERR_TOO_DEEP },

	/* the request's shape */
	{ IN("[]"),							CTL_ERR_BAD_REQUEST },
	{ IN("{}"),							CTL_ERR_BAD_REQUEST },
	{ IN("{\"op\":1}"),						CTL_ERR_BAD_REQUEST },
	{ IN("{\"op\":null}"),						CTL_ERR_BAD_REQUEST },
	{ IN("{\"op\":\"list\",\"all\":true}"),				CTL_ERR_BAD_REQUEST },
	{ IN("{\"op\":\"list\",\"id\":\"6C7EAJ89TX000\"}"),		CTL_ERR_BAD_REQUEST },
	{ IN("{\"op\":\"status\",\"filter\":{}}"),			CTL_ERR_BAD_REQUEST },
	{ IN("{\"op\":\"metrics\",\"filter\":{}}"),			CTL_ERR_BAD_REQUEST },
	{ IN("{\"op\":\"metrics\",\"names\":[\"a\"]}"),		CTL_ERR_BAD_REQUEST },
	{ IN("{\"op\":\"hold\",\"all\":\"yes\"}"),			CTL_ERR_BAD_REQUEST },
	{ IN("{\"op\":\"hold\",\"all\":1}"),				CTL_ERR_BAD_REQUEST },
	{ IN("{\"op\":\"list\",\"verbose\":true}"),			CTL_ERR_BAD_REQUEST },

	/* ops */
	{ IN("{\"op\":\"frobnicate\"}"),				CTL_ERR_UNKNOWN_OP },
	{ IN("{\"op\":\"LIST\"}"),					CTL_ERR_UNKNOWN_OP },
	{ IN("{\"op\":\"list \"}"),					CTL_ERR_UNKNOWN_OP },
	{ IN("{\"op\":\"\"}"),						CTL_ERR_UNKNOWN_OP },
	{ IN("{\"op\":\"requeue\",\"all\":true}"),			CTL_ERR_UNKNOWN_OP },

	/* filters */
	{ IN("{\"op\":\"list\",\"filter\":\"held\"}"),			CTL_ERR_BAD_FILTER },
	{ IN("{\"op\":\"list\",\"filter\":[]}"),			CTL_ERR_BAD_FILTER },
	{ IN("{\"op\":\"list\",\"filter\":{\"colour\":\"red\"}}"),	CTL_ERR_BAD_FILTER },
	{ IN("{\"op\":\"list\",\"filter\":{\"state\":\"bogus\"}}"),	CTL_ERR_BAD_FILTER },
	{ IN("{\"op\":\"list\",\"filter\":{\"state\":\"Held\"}}"),	CTL_ERR_BAD_FILTER },
	{ IN("{\"op\":\"list\",\"filter\":{\"state\":[]}}"),		CTL_ERR_BAD_FILTER },
	{ IN("{\"op\":\"list\",\"filter\":{\"state\":[\"held\",1]}}"),	CTL_ERR_BAD_FILTER },
	{ IN("{\"op\":\"list\",\"filter\":{\"state\":3}}"),		CTL_ERR_BAD_FILTER },
	{ IN("{\"op\":\"list\",\"filter\":{\"id\":\"nope\"}}"),		CTL_ERR_BAD_FILTER },
	{ IN("{\"op\":\"list\",\"filter\":{\"id\":\"6C7EAJ89TX0000\"}}"), CTL_ERR_BAD_FILTER },
	{ IN("{\"op\":\"list\",\"filter\":{\"id\":\"6c7eaj89tx000\"}}"), CTL_ERR_BAD_FILTER },
	{ IN("{\"op\":\"list\",\"filter\":{\"id\":7}}"),		CTL_ERR_BAD_FILTER },
	{ IN("{\"op\":\"list\",\"filter\":{\"domain\":\"\"}}"),		CTL_ERR_BAD_FILTER },
	{ IN("{\"op\":\"list\",\"filter\":{\"recipient\":\"\"}}"),	CTL_ERR_BAD_FILTER },
	{ IN("{\"op\":\"list\",\"filter\":{\"sender\":null}}"),		CTL_ERR_BAD_FILTER },
	{ IN("{\"op\":\"list\",\"filter\":{\"min_age_s\":-1}}"),	CTL_ERR_BAD_FILTER },
	{ IN("{\"op\":\"list\",\"filter\":{\"min_age_s\":1.5}}"),	CTL_ERR_BAD_FILTER },
	{ IN("{\"op\":\"list\",\"filter\":{\"max_age_s\":\"1h\"}}"),	CTL_ERR_BAD_FILTER },
	{ IN("{\"op\":\"list\",\"filter\":{\"min_age_s\":100,\"max_age_s\":10}}"),
									CTL_ERR_BAD_FILTER },
	{ IN("{\"op\":\"show\"}"),					CTL_ERR_BAD_FILTER },
	{ IN("{\"op\":\"show\",\"id\":\"x\"}"),				CTL_ERR_BAD_FILTER },

	/* the whole queue is never a default */
	{ IN("{\"op\":\"delete\"}"),					CTL_ERR_FILTER_REQUIRED },
	{ IN("{\"op\":\"delete\",\"filter\":{}}"),			CTL_ERR_FILTER_REQUIRED },
	{ IN("{\"op\":\"bounce\",\"all\":false}"),			CTL_ERR_FILTER_REQUIRED },
	{ IN("{\"op\":\"hold\",\"filter\":{\"min_age_s\":0}}"),		CTL_ERR_FILTER_REQUIRED },
};

static void
test_parse_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ctl_req r;
		char why[256];
		enum ctl_err got = ctl_req_parse(cases[i].in, cases[i].len, &r, why, sizeof(why));

		if (got != cases[i].want)
			fail_msg("case %zu (%.*s): got %s (%s), want %s", i, (int)cases[i].len,
			    (const char *)cases[i].in, ctl_err_code(got), why,
			    ctl_err_code(cases[i].want));
		/* every refusal says why, for the person reading the reply */
		if (got != CTL_ERR_NONE && why[0] == '\0')
			fail_msg("case %zu: no reason", i);
		ctl_req_clear(&r);
	}
}

static void
test_parse_values(void **state)
{
	struct ctl_req r;
	char why[256];

	(void)state;
	assert_int_equal(ctl_req_parse(IN("{\"op\":\"hold\",\"filter\":{\"state\":[\"held\","
	    "\"deferred\"],\"domain\":\"Example.COM\",\"sender\":\"\",\"recipient\":\"b@x.test\","
	    "\"min_age_s\":60,\"max_age_s\":3600,\"id\":\"6C7EAJ89TX000\"}}"), &r, why,
	    sizeof(why)), CTL_ERR_NONE);
	assert_int_equal(r.kind, CTL_APPLY);
	assert_int_equal(r.op, SCHED_OP_HOLD);
	assert_int_equal(r.qf.f.states, (1u << SCHED_HELD) | (1u << SCHED_DEFERRED));
	assert_string_equal(r.qf.f.domain, "Example.COM");
	assert_string_equal(r.qf.f.sender, "");
	assert_string_equal(r.qf.f.rcpt, "b@x.test");
	assert_string_equal(r.qf.f.qid, "6C7EAJ89TX000");
	assert_int_equal(r.qf.f.min_age_s, 60);
	assert_int_equal(r.qf.f.max_age_s, 3600);
	assert_int_equal(r.is_all, 0);
	assert_string_equal(ctl_req_op_name(&r), "hold");
	ctl_req_clear(&r);

	assert_int_equal(ctl_req_parse(IN("{\"op\":\"show\",\"id\":\"6C7EAJ89TX000\"}"), &r, why,
	    sizeof(why)), CTL_ERR_NONE);
	assert_int_equal(r.kind, CTL_SHOW);
	assert_string_equal(r.qf.f.qid, "6C7EAJ89TX000");
	ctl_req_clear(&r);

	assert_int_equal(ctl_req_parse(IN("{\"op\":\"delete\",\"all\":true}"), &r, why,
	    sizeof(why)), CTL_ERR_NONE);
	assert_int_equal(r.kind, CTL_APPLY);
	assert_int_equal(r.op, SCHED_OP_DELETE);
	assert_int_equal(r.is_all, 1);
	assert_true(qview_filter_is_empty(&r.qf.f));
	ctl_req_clear(&r);
}

/* A filter string at and past its bound. */
static void
test_parse_long_text(void **state)
{
	char line[CTL_MAX_TEXT + 100];
	struct ctl_req r;
	char why[256];
	int n;

	(void)state;
	n = snprintf(line, sizeof(line), "{\"op\":\"list\",\"filter\":{\"recipient\":\"%0*d\"}}",
	    CTL_MAX_TEXT, 0);
	assert_int_equal(ctl_req_parse((const uint8_t *)line, (size_t)n, &r, why, sizeof(why)),
	    CTL_ERR_NONE);
	ctl_req_clear(&r);
	n = snprintf(line, sizeof(line), "{\"op\":\"list\",\"filter\":{\"recipient\":\"%0*d\"}}",
	    CTL_MAX_TEXT + 1, 0);
	assert_int_equal(ctl_req_parse((const uint8_t *)line, (size_t)n, &r, why, sizeof(why)),
	    CTL_ERR_BAD_FILTER);
}

static void
test_err_codes(void **state)
{
	(void)state;
	for (unsigned e = CTL_ERR_NONE + 1; e < CTL_NERRS; e++) {
		enum ctl_err back;

		assert_true(ctl_err_code((enum ctl_err)e)[0] != '\0');
		assert_int_equal(ctl_err_parse(ctl_err_code((enum ctl_err)e), &back), 0);
		assert_int_equal(back, e);
	}
	/* the documented codes, which never change */
	assert_string_equal(ctl_err_code(CTL_ERR_LINE_TOO_LONG), "line_too_long");
	assert_string_equal(ctl_err_code(CTL_ERR_BAD_JSON), "bad_json");
	assert_string_equal(ctl_err_code(CTL_ERR_TOO_DEEP), "too_deep");
	assert_string_equal(ctl_err_code(CTL_ERR_UNKNOWN_OP), "unknown_op");
	assert_string_equal(ctl_err_code(CTL_ERR_BAD_FILTER), "bad_filter");
	assert_string_equal(ctl_err_code(CTL_ERR_FILTER_REQUIRED), "filter_required");
	assert_string_equal(ctl_err_code(CTL_ERR_NOT_FOUND), "not_found");
	assert_string_equal(ctl_err_code(CTL_ERR_FORBIDDEN), "forbidden");
	assert_int_equal(ctl_err_parse("no_such_code", &(enum ctl_err){ 0 }), -1);
}

static int
to_buf(const char *p, size_t n, void *ctx)
{
	return buf_append(ctx, p, n);
}

/* What the client asks is what the daemon reads. */
static void
test_request_round_trip(void **state)
{
	struct sched_filter f = { .states = 1u << SCHED_HELD, .sender = "", .rcpt = "b@x.test",
		.domain = "example.com", .min_age_s = 60, .max_age_s = 7200 };
	struct ctl_req r;
	struct buf b;
	char why[256];
	json_t *req;

	(void)state;
	buf_init(&b, 1 << 20);
	req = ctl_req_new("delete", &f, 0);
	assert_int_equal(ctl_json_line(req, to_buf, &b), 0);
	json_decref(req);
	assert_int_equal(b.data[b.len - 1], '\n');
	assert_int_equal(ctl_req_parse(b.data, b.len - 1, &r, why, sizeof(why)), CTL_ERR_NONE);
	assert_int_equal(r.op, SCHED_OP_DELETE);
	assert_int_equal(r.qf.f.states, f.states);
	assert_string_equal(r.qf.f.sender, "");
	assert_string_equal(r.qf.f.rcpt, f.rcpt);
	assert_string_equal(r.qf.f.domain, f.domain);
	assert_int_equal(r.qf.f.min_age_s, 60);
	assert_int_equal(r.qf.f.max_age_s, 7200);
	assert_null(r.qf.f.qid);
	ctl_req_clear(&r);

	buf_reset(&b);
	req = ctl_req_new("flush", NULL, 1);
	assert_int_equal(ctl_json_line(req, to_buf, &b), 0);
	json_decref(req);
	assert_memory_equal(b.data, "{\"op\":\"flush\",\"all\":true}\n", b.len);

	buf_reset(&b);
	f = (struct sched_filter){ .qid = "6C7EAJ89TX000" };
	req = ctl_req_new("show", &f, 0);
	assert_int_equal(ctl_json_line(req, to_buf, &b), 0);
	json_decref(req);
	assert_memory_equal(b.data, "{\"op\":\"show\",\"id\":\"6C7EAJ89TX000\"}\n", b.len);
	buf_clear(&b);
}

static void
test_replies(void **state)
{
	struct sched_op_result res = { 3, 2, 1 };
	struct ctl_status st = { .started_s = 1796450218, .uptime_s = 3723, .sessions = 4,
		.controls = 1 };
	struct buf b;
	json_t *j;

	(void)state;
	buf_init(&b, 1 << 20);
	j = ctl_reply_result(SCHED_OP_BOUNCE, &res);
	assert_int_equal(ctl_json_line(j, to_buf, &b), 0);
	json_decref(j);
	j = ctl_reply_error(CTL_ERR_UNKNOWN_OP, "unknown op \"x\"");
	assert_int_equal(ctl_json_line(j, to_buf, &b), 0);
	json_decref(j);
	j = ctl_reply_end(12);
	assert_int_equal(ctl_json_line(j, to_buf, &b), 0);
	json_decref(j);
	assert_int_equal(buf_append_byte(&b, 0), 0);
	assert_string_equal((const char *)b.data,
	    "{\"ok\":true,\"op\":\"bounce\",\"matched\":3,\"done\":2,\"failed\":1}\n"
	    "{\"ok\":false,\"error\":{\"code\":\"unknown_op\",\"message\":\"unknown op \\\"x\\\"\"}}\n"
	    "{\"ok\":true,\"count\":12}\n");

	st.st.by_state[SCHED_DEFERRED] = 5;
	st.st.by_state[SCHED_HELD] = 2;
	st.st.delivered_last_min = 40;
	j = ctl_reply_status(&st);
	assert_true(json_is_true(json_object_get(j, "ok")));
	assert_int_equal(json_integer_value(json_object_get(json_object_get(json_object_get(j,
	    "status"), "queue"), "total")), 7);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(json_object_get(j,
	    "status"), "last_minute"), "delivered")), 40);
	assert_true(json_is_null(json_object_get(json_object_get(j, "status"), "oldest_arrival")));
	json_decref(j);
	buf_clear(&b);
}

/* mailq's text: marks, the sender column, recipients still to deliver, no control bytes. */
static void
test_print_list(void **state)
{
	struct spool_msg *m = queue_fixture_msg();
	struct sched_view v = { .m = m, .state = SCHED_HELD };
	json_t *o = qview_msg_json(&v, 0);
	char *text = NULL;
	size_t len = 0;
	uint64_t bytes = 0;
	FILE *f = open_memstream(&text, &len);

	(void)state;
	ctl_print_list_head(f);
	ctl_print_list_msg(f, o, &bytes);
	ctl_print_list_tail(f, bytes, 1);
	fclose(f);
	assert_string_equal(text,
	    "-Queue ID-     --Size-- ----Arrival Time----  -Sender/Recipient-------\n"
	    "6C7EAJ89TX000!     1834 Sat Dec  5 05:56:58   a@example.org\n"
	    "(host mx.example.net said: 451 4.3.0 busy \xef\xbf\xbd?[31m)\n"
	    "                                              bob@example.net\n"
	    "                                              carol@example.net\n"
	    "\n"
	    "-- 2 Kbytes in 1 Request.\n");
	free(text);
	json_decref(o);

	f = open_memstream(&text, &len);
	ctl_print_list_tail(f, 0, 0);
	fclose(f);
	assert_string_equal(text, "Mail queue is empty\n");
	free(text);
	spool_msg_free(&m);
}

/* ---- the metrics op and sterna top ---- */

/* A registry with a little of everything sterna top shows, as a daemon's would be. */
struct daemon_figures {
	struct metrics *m;
	struct metric *received, *results, *queue, *sessions, *refusals, *tls, *start;
	struct metric *flush_files;
};

static const double flush_bounds[] = { 1, 2, 4, 8 };

static void
figures_init(struct daemon_figures *d)
{
	d->m = metrics_new();
	d->start = metrics_gauge(d->m, "process_start_time_seconds", "Start.", NULL);
	metric_set(d->start, NULL, 1000);
	metric_set(metrics_gauge(d->m, "sterna_build_info", "Version.", "version"),
	    (const char *[]){ "9.9.9" }, 1);
	d->received = metrics_counter(d->m, "sterna_messages_received_total", "In.", "entrance");
	d->results = metrics_counter(d->m, "sterna_delivery_results_total", "Out.",
	    "agent,result,category");
	d->queue = metrics_gauge(d->m, "sterna_queue_messages", "Queue.", "state");
	d->sessions = metrics_gauge(d->m, "sterna_smtp_sessions", "Sessions.", "listener");
	d->refusals = metrics_counter(d->m, "sterna_policy_refusals_total", "No.",
	    "stage,rule,verdict");
	d->tls = metrics_counter(d->m, "sterna_tls_handshakes_total", "TLS.", "direction,version");
	d->flush_files = metrics_histogram(d->m, "sterna_spool_flush_files", "Files.", NULL,
	    flush_bounds, sizeof(flush_bounds) / sizeof(flush_bounds[0]));
}

static void
test_metrics_reply(void **state)
{
	struct daemon_figures d;
	json_t *j, *fam, *s;

	(void)state;
	figures_init(&d);
	metric_add(d.received, (const char *[]){ "smtp" }, 7);
	metric_set(d.queue, (const char *[]){ "held" }, 2);
	metric_observe(d.flush_files, NULL, 3);
	metric_observe(d.flush_files, NULL, 100);
	j = ctl_reply_metrics(d.m);
	assert_true(json_is_true(json_object_get(j, "ok")));
	fam = json_object_get(json_object_get(j, "metrics"), "sterna_messages_received_total");
	assert_string_equal(json_string_value(json_object_get(fam, "type")), "counter");
	assert_string_equal(json_string_value(json_object_get(fam, "help")), "In.");
	assert_string_equal(json_string_value(json_array_get(json_object_get(fam, "labels"), 0)),
	    "entrance");
	s = json_array_get(json_object_get(fam, "series"), 0);
	assert_string_equal(json_string_value(json_object_get(json_object_get(s, "labels"),
	    "entrance")), "smtp");
	assert_true(json_is_integer(json_object_get(s, "value")));	/* a count, whole */
	assert_int_equal(json_integer_value(json_object_get(s, "value")), 7);
	fam = json_object_get(json_object_get(j, "metrics"), "sterna_queue_messages");
	s = json_array_get(json_object_get(fam, "series"), 0);
	assert_true(json_number_value(json_object_get(s, "value")) == 2);
	/* a histogram: count (+Inf), sum, and cumulative buckets by upper bound */
	fam = json_object_get(json_object_get(j, "metrics"), "sterna_spool_flush_files");
	s = json_array_get(json_object_get(fam, "series"), 0);
	assert_int_equal(json_integer_value(json_object_get(s, "count")), 2);
	assert_true(json_number_value(json_object_get(s, "sum")) == 103);
	assert_int_equal(json_array_size(json_object_get(s, "buckets")), 4);
	assert_true(json_number_value(json_array_get(json_array_get(json_object_get(s, "buckets"),
	    1), 0)) == 2);
	assert_int_equal(json_integer_value(json_array_get(json_array_get(json_object_get(s,
	    "buckets"), 1), 1)), 0);
	assert_int_equal(json_integer_value(json_array_get(json_array_get(json_object_get(s,
	    "buckets"), 2), 1)), 1);
	/* a family without a series yet is there, with none */
	fam = json_object_get(json_object_get(j, "metrics"), "sterna_tls_handshakes_total");
	assert_int_equal(json_array_size(json_object_get(fam, "series")), 0);
	json_decref(j);
	metrics_free(&d.m);
}

/* A frame of sterna top as text: a new string; *lines_out its lines. */
static char *
frame(const json_t *prev, const json_t *cur, double dt, unsigned width, unsigned height,
    unsigned *lines_out)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	*lines_out = ctl_top_frame(f, prev, cur, dt, 1, (time_t)2000, width, height);
	fclose(f);
	return text;
}

/* Every line of text at most width bytes, printable ASCII; and how many there are. */
static unsigned
check_lines(const char *text, unsigned width)
{
	unsigned n = 0;

	for (const char *p = text; *p != '\0'; n++) {
		const char *nl = strchr(p, '\n');

		assert_non_null(nl);
		assert_true((unsigned)(nl - p) <= width);
		for (const char *c = p; c < nl; c++)
			assert_true(*c >= 0x20 && *c < 0x7f);
		p = nl + 1;
	}
	return n;
}

static void
test_top_frames(void **state)
{
	struct daemon_figures d;
	json_t *a, *b, *c;
	unsigned n;
	char *text;

	(void)state;
	figures_init(&d);
	metric_add(d.received, (const char *[]){ "smtp" }, 100);
	metric_set(d.queue, (const char *[]){ "deferred" }, 3);
	metric_set(d.sessions, (const char *[]){ "mx" }, 4);
	metric_set(d.sessions, (const char *[]){ "submission" }, 1);
	/* a rule name with an escape in it must not reach the terminal as one */
	metric_add(d.refusals, (const char *[]){ "rcpt", "bl\033[2J", "reject" }, 1);
	a = ctl_reply_metrics(d.m);
	/* two seconds later: 20 more by SMTP, 4 by the API, 10 delivered, 2 handshakes */
	metric_add(d.received, (const char *[]){ "smtp" }, 20);
	metric_add(d.received, (const char *[]){ "api" }, 4);
	metric_add(d.results, (const char *[]){ "maildir", "delivered", "none" }, 10);
	metric_add(d.tls, (const char *[]){ "inbound", "TLSv1.3" }, 2);
	metric_set(d.queue, (const char *[]){ "held" }, 1);
	metric_observe(d.flush_files, NULL, 2);
	metric_observe(d.flush_files, NULL, 4);
	metric_add(d.refusals, (const char *[]){ "rcpt", "bl\033[2J", "reject" }, 1);
	b = ctl_reply_metrics(d.m);

	/* the first frame: no rates yet */
	text = frame(NULL, a, 0, 80, 24, &n);
	assert_int_equal(check_lines(text, 80), n);
	assert_true(n <= 24);
	assert_non_null(strstr(text, "sterna 9.9.9  up 16m 40s"));
	assert_non_null(strstr(text, "Received    - -\n"));
	assert_non_null(strstr(text, "Sessions    5 open: mx 4  submission 1\n"));
	assert_non_null(strstr(text, "Queue       3 messages"));
	assert_non_null(strstr(text, " deferred 3 held 0 "));
	assert_non_null(strstr(text, "Since start received 100 "));
	assert_non_null(strstr(text, "refused 1 "));
	free(text);

	/* the next: rates per second over the 2 s between them, largest part first */
	text = frame(a, b, 2, 80, 24, &n);
	assert_int_equal(check_lines(text, 80), n);
	assert_non_null(strstr(text, "Received    12.0/s 0 B/s: smtp 10.0  api 2.0\n"));
	assert_non_null(strstr(text, "Delivered   5.0/s: maildir 5.0  latency -\n"));
	assert_non_null(strstr(text, "accepted 0.0/s  TLS 1.0/s (TLSv1.3 100%)\n"));
	assert_non_null(strstr(text, " deferred 3 held 1 "));
	assert_non_null(strstr(text, "Commit      1.0/s flushes  3.0 files each"));
	assert_null(strstr(text, "\033"));
	assert_non_null(strstr(text, "Refused     0.5/s: bl?[2J 0.5\n"));
	free(text);

	/* a narrow, short terminal: cut, never wrapped */
	text = frame(a, b, 2, 30, 6, &n);
	assert_int_equal(n, 6);
	assert_int_equal(check_lines(text, 30), 6);
	free(text);

	/* the daemon started again between the samples: no rate from counters that began anew */
	metric_set(d.start, NULL, 1500);
	c = ctl_reply_metrics(d.m);
	text = frame(a, c, 2, 80, 24, &n);
	assert_non_null(strstr(text, "Received    - -\n"));
	free(text);
	json_decref(a);
	json_decref(b);
	json_decref(c);
	metrics_free(&d.m);
}

int
main(void)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_line_find),
		cmocka_unit_test(test_parse_table),
		cmocka_unit_test(test_parse_values),
		cmocka_unit_test(test_parse_long_text),
		cmocka_unit_test(test_err_codes),
		cmocka_unit_test(test_request_round_trip),
		cmocka_unit_test(test_replies),
		cmocka_unit_test(test_print_list),
		cmocka_unit_test(test_metrics_reply),
		cmocka_unit_test(test_top_frames),
	};

	/* mailq's times are local: make local UTC */
	setenv("TZ", "UTC", 1);
	tzset();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
