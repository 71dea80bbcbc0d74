/*
 * test_metrics.c - the registry (src/metrics): a series found again is the
 * same series, at the same address; a family asked for twice is one family;
 * the bound on label sets and its "other"; counters, gauges and histograms
 * added to from several threads at once come out exact (no lock per add);
 * histogram buckets cumulative, with +Inf equal to the count; the reader's
 * view and the text exposition format, label values escaped. Then the
 * event stream's figures (events/figures.c): what each event counts.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "events/figures.h"
#include "metrics/metrics.h"

/* The registry's text, NUL-terminated: a new string. */
static char *
text_of(struct metrics *m)
{
	struct buf b;
	char *s;

	buf_init(&b, SIZE_MAX);
	metrics_write(m, &b);
	s = calloc(1, b.len + 1);
	memcpy(s, b.data, b.len);
	buf_clear(&b);
	return s;
}

/* Whether text has the line want, whole. */
static int
has_line(const char *text, const char *want)
{
	size_t n = strlen(want);

	for (const char *p = text; (p = strstr(p, want)) != NULL; p++)
		if ((p == text || p[-1] == '\n') && p[n] == '\n')
			return 1;
	return 0;
}

#define assert_line(text, want) do { \
	if (!has_line((text), (want))) \
		fail_msg("no line \"%s\" in:\n%s", (want), (text)); \
} while (0)

static void
test_series_are_found_again(void **state)
{
	struct metrics *m = metrics_new();
	struct metric *f = metrics_counter(m, "t_total", "T.", "a,b");
	const char *v1[] = { "x", "y" }, *v2[] = { "x", "z" };
	char copy[] = "x";
	const char *v3[] = { copy, "y" };
	struct metric_series *s1 = metric_series(f, v1);

	(void)state;
	assert_ptr_equal(metric_series(f, v3), s1);	/* by value, not by pointer */
	assert_ptr_not_equal(metric_series(f, v2), s1);
	copy[0] = 'q';					/* the values were copied */
	assert_ptr_equal(metric_series(f, v1), s1);
	/* one name, one family: a second module asking gets the first's */
	assert_ptr_equal(metrics_counter(m, "t_total", "T.", "a,b"), f);
	metric_series_add(s1, 2);
	metric_add(f, v1, 3);
	assert_int_equal(metric_series_count(s1), 5);
	metrics_free(&m);
	assert_null(m);
	metrics_free(&m);				/* NULL is fine */
}

static void
test_label_sets_are_bounded(void **state)
{
	struct metrics *m = metrics_new();
	struct metric *f = metrics_counter(m, "dest_total", "Per destination.", "dest");
	struct metric_series *other = NULL;
	char name[32], *text;
	const char *v[1] = { name };

	(void)state;
	for (unsigned i = 0; i < METRICS_SERIES_MAX + 100; i++) {
		snprintf(name, sizeof(name), "d%u.example", i);
		metric_add(f, v, 1);
	}
	/* the first 255 are kept; every later one is counted as "other" */
	v[0] = "other";
	other = metric_series(f, v);
	assert_int_equal(metric_series_count(other), 100 + 1);
	v[0] = "d0.example";
	assert_int_equal(metric_series_count(metric_series(f, v)), 1);
	text = text_of(m);
	assert_line(text, "dest_total{dest=\"d254.example\"} 1");
	assert_line(text, "dest_total{dest=\"other\"} 101");
	assert_null(strstr(text, "d255.example"));
	free(text);
	metrics_free(&m);
}

#define THREADS 4
#define ADDS 100000

struct adder {
	struct metric *counter, *gauge, *hist;
	struct metric_series *c, *g, *h;
	unsigned id;
};

/* Half by handle, half by label values, so that finding and making race too. */
static void *
adder_main(void *arg)
{
	struct adder *a = arg;
	const char *mine[] = { a->id % 2 ? "odd" : "even" };

	for (unsigned i = 0; i < ADDS; i++) {
		metric_series_add(a->c, 1);
		metric_add(a->counter, mine, 1);
		metric_series_move(a->g, 1);
		metric_series_move(a->g, -1);
		metric_series_move(a->g, 0.5);
		metric_series_observe(a->h, i % 3 == 0 ? 0.5 : 2);
	}
	return NULL;
}

static void
test_threads_add_without_losing_any(void **state)
{
	static const double bounds[] = { 1 };
	struct metrics *m = metrics_new();
	struct adder a[THREADS];
	pthread_t t[THREADS];
	const char *odd[] = { "odd" }, *even[] = { "even" };
	struct metric *counter = metrics_counter(m, "c_total", "C.", "parity");
	struct metric_series *c = metric_series(counter, (const char *[]){ "all" });
	struct metric_series *g = metric_series(metrics_gauge(m, "g", "G.", NULL), NULL);
	struct metric_series *h = metric_series(metrics_histogram(m, "h", "H.", NULL, bounds, 1),
	    NULL);
	uint64_t low = 0;

	(void)state;
	for (unsigned i = 0; i < THREADS; i++) {
		a[i] = (struct adder){ .counter = counter, .c = c, .g = g, .h = h, .id = i };
		assert_int_equal(pthread_create(&t[i], NULL, adder_main, &a[i]), 0);
	}
	for (unsigned i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	assert_int_equal(metric_series_count(c), (uint64_t)THREADS * ADDS);
	assert_int_equal(metric_series_count(metric_series(counter, odd)), THREADS / 2 * ADDS);
	assert_int_equal(metric_series_count(metric_series(counter, even)), THREADS / 2 * ADDS);
	/* +1 -1 +0.5 per add: halves add up exactly in a double */
	assert_true(metric_series_value(g) == THREADS * ADDS * 0.5);
	assert_int_equal(metric_series_count(h), (uint64_t)THREADS * ADDS);
	for (unsigned i = 0; i < ADDS; i++)
		low += i % 3 == 0;
	assert_true(metric_series_value(h) == (double)THREADS * (low * 0.5 + (ADDS - low) * 2.0));
	metrics_free(&m);
}

struct readings {
	char names[16][32];
	unsigned nfamilies, nseries;
	uint64_t inf, last_cumulative;
	double sum;
};

static void
on_reading(void *ctx, const struct metric_reading *r)
{
	struct readings *rs = ctx;

	if (r->values == NULL) {
		snprintf(rs->names[rs->nfamilies++], 32, "%s", r->name);
		return;
	}
	rs->nseries++;
	if (r->kind == METRIC_HISTOGRAM) {
		for (size_t b = 1; b < r->nbounds; b++)
			assert_true(r->cumulative[b] >= r->cumulative[b - 1]);
		rs->last_cumulative = r->cumulative[r->nbounds - 1];
		rs->inf = r->count;
		rs->sum = r->value;
	}
}

static int hook_runs;

static void
hook(void *ctx)
{
	metric_series_set(ctx, 42);
	hook_runs++;
}

static void
test_histograms_and_the_text_format(void **state)
{
	static const double bounds[] = { 0.1, 1, 10 };
	struct metrics *m = metrics_new();
	struct metric *h = metrics_histogram(m, "lat_seconds", "Latency.", "kind", bounds, 3);
	struct metric *q = metrics_gauge(m, "q", "Read at each read.", NULL);
	struct metric *esc = metrics_counter(m, "esc_total", "Escapes.", "v");
	const char *k[] = { "a" }, *weird[] = { "a\"b\\c\nd" };
	struct readings rs = { .nfamilies = 0 };
	char *text;

	(void)state;
	metric_observe(h, k, 0.05);
	metric_observe(h, k, 0.1);	/* on a bound: in it (le means "at or under") */
	metric_observe(h, k, 5);
	metric_observe(h, k, 50);	/* past every bound: +Inf only */
	metric_add(esc, weird, 1);
	metrics_on_read(m, hook, metric_series(q, NULL));
	text = text_of(m);
	assert_int_equal(hook_runs, 1);
	assert_line(text, "# HELP lat_seconds Latency.");
	assert_line(text, "# TYPE lat_seconds histogram");
	assert_line(text, "lat_seconds_bucket{kind=\"a\",le=\"0.1\"} 2");
	assert_line(text, "lat_seconds_bucket{kind=\"a\",le=\"1\"} 2");
	assert_line(text, "lat_seconds_bucket{kind=\"a\",le=\"10\"} 3");
	assert_line(text, "lat_seconds_bucket{kind=\"a\",le=\"+Inf\"} 4");
	assert_line(text, "lat_seconds_sum{kind=\"a\"} 55.149999999999999");
	assert_line(text, "lat_seconds_count{kind=\"a\"} 4");
	assert_line(text, "# TYPE q gauge");
	assert_line(text, "q 42");
	assert_line(text, "esc_total{v=\"a\\\"b\\\\c\\nd\"} 1");
	free(text);
	metrics_read(m, on_reading, &rs);
	assert_int_equal(hook_runs, 2);
	assert_int_equal(rs.nfamilies, 3);
	assert_string_equal(rs.names[0], "lat_seconds");	/* in the order made */
	assert_string_equal(rs.names[2], "esc_total");
	assert_int_equal(rs.nseries, 3);
	assert_int_equal(rs.last_cumulative, 3);
	assert_int_equal(rs.inf, 4);
	assert_true(rs.sum > 55.1 && rs.sum < 55.2);
	metrics_free(&m);
}

/* ---- the event stream's figures ---- */

static uint64_t
count_of(struct metrics *m, const char *name, const char *labels, const char *const *values)
{
	struct metric *f = metrics_counter(m, name, "", labels);

	return metric_series_count(metric_series(f, values));
}

static void
test_figures_count_what_events_say(void **state)
{
	struct metrics *m = metrics_new();
	struct figures *fg = figures_new(m);
	struct event e = { .type = EVENT_RECEIVED, .entrance = "submission", .size = 1000 };
	char *text;

	(void)state;
	/* a message of two recipients: one message, its bytes once, two recipients */
	figures_sink(fg, &e);
	e.rcpt_index = 1;
	figures_sink(fg, &e);
	e = (struct event){ .type = EVENT_DELIVERED, .agent = "maildir", .arrival_us = 1 };
	figures_sink(fg, &e);
	e = (struct event){ .type = EVENT_DEFERRED, .agent = "smtp", .code = 452, .dsn = "4.2.2",
		.reply = "mailbox full" };
	figures_sink(fg, &e);
	e = (struct event){ .type = EVENT_BOUNCED, .agent = "", .code = 550, .dsn = "5.1.1",
		.bounce_class = BOUNCE_HARD, .bounce_category = BOUNCE_BAD_MAILBOX };
	figures_sink(fg, &e);
	e = (struct event){ .type = EVENT_SUPPRESSED };
	figures_sink(fg, &e);
	assert_int_equal(count_of(m, "sterna_messages_received_total", "entrance",
	    (const char *[]){ "submission" }), 1);
	assert_int_equal(count_of(m, "sterna_received_bytes_total", "entrance",
	    (const char *[]){ "submission" }), 1000);
	assert_int_equal(count_of(m, "sterna_recipients_total", "event",
	    (const char *[]){ "received" }), 2);
	assert_int_equal(count_of(m, "sterna_delivery_results_total", "agent,result,category",
	    (const char *[]){ "maildir", "delivered", "none" }), 1);
	/* a deferral has no category in its event: the figures classify its reply */
	assert_int_equal(count_of(m, "sterna_delivery_results_total", "agent,result,category",
	    (const char *[]){ "smtp", "deferred", "mailbox_full" }), 1);
	/* a bounce that no agent tried (an operator's) */
	assert_int_equal(count_of(m, "sterna_delivery_results_total", "agent,result,category",
	    (const char *[]){ "none", "bounced", "bad_mailbox" }), 1);
	assert_int_equal(count_of(m, "sterna_bounces_total", "class,category",
	    (const char *[]){ "hard", "bad_mailbox" }), 1);
	text = text_of(m);
	/* final results only: delivered, bounced, suppressed; never a deferral */
	assert_line(text, "sterna_delivery_seconds_count{event=\"delivered\"} 1");
	assert_line(text, "sterna_delivery_seconds_count{event=\"bounced\"} 1");
	assert_line(text, "sterna_delivery_seconds_count{event=\"suppressed\"} 1");
	assert_null(strstr(text, "sterna_delivery_seconds_count{event=\"deferred\"}"));
	assert_null(strstr(text, "agent=\"\""));
	free(text);
	figures_free(&fg);
	assert_null(fg);
	metrics_free(&m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_series_are_found_again),
		cmocka_unit_test(test_label_sets_are_bounded),
		cmocka_unit_test(test_threads_add_without_losing_any),
		cmocka_unit_test(test_histograms_and_the_text_format),
		cmocka_unit_test(test_figures_count_what_events_say),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
