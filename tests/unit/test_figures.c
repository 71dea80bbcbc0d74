/*
 * test_figures.c - the dashboard's figures fed by the event stream:
 * traffic per minute (the ring of 60 minutes: counted in the event's
 * minute, zeros where nothing came, a minute forgotten when the ring
 * comes round, TLS shares); the top destinations (counts per recipient
 * domain, connections once each, the bound and who is evicted, the order,
 * the deferral rate, the export to the registry with one series per row);
 * the recent events and failures (newest first, bounded, a message's own
 * oldest first, long strings cut).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "events/destinations.h"
#include "metrics/metrics.h"
#include "events/recent.h"
#include "events/traffic.h"
#include "util/buf.h"

#define MIN_US 60000000ull
#define T0 (29000000ull * MIN_US)	/* a minute's start, some years after the epoch */

static struct event
ev(enum event_type type, uint64_t t_us, const char *rcpt)
{
	return (struct event){ .type = type, .time_us = t_us, .message_id = "6C7GTFSCDPR00",
		.recipient = rcpt, .sender = "a@example.org", .entrance = "smtp", .dsn = "",
		.reply = "", .relay = "" };
}

/* ---- traffic ---- */

static void
test_traffic_minutes(void **state)
{
	struct traffic *t = traffic_new();
	struct traffic_minute m[TRAFFIC_MINUTES];
	struct event e;

	(void)state;
	/* a message of two recipients: one message in */
	e = ev(EVENT_RECEIVED, T0 + 5000000, "b@example.net");
	e.tls_version = "TLSv1.3";
	traffic_sink(t, &e);
	e.rcpt_index = 1;
	traffic_sink(t, &e);
	/* in the clear, the same minute */
	e = ev(EVENT_RECEIVED, T0 + 59000000, "c@example.net");
	traffic_sink(t, &e);
	/* delivered: relayed over TLS, relayed in the clear, to a mailbox */
	e = ev(EVENT_DELIVERED, T0 + MIN_US, "b@example.net");
	e.relay = "mx.example.net[192.0.2.1]:25";
	e.tls_version = "TLSv1.3";
	traffic_sink(t, &e);
	e.tls_version = "";
	traffic_sink(t, &e);
	e = ev(EVENT_DELIVERED, T0 + MIN_US, "alice@example.test");
	traffic_sink(t, &e);
	e = ev(EVENT_DEFERRED, T0 + 3 * MIN_US, "c@example.net");
	traffic_sink(t, &e);
	e.type = EVENT_BOUNCED;
	traffic_sink(t, &e);
	e.type = EVENT_EXPIRED;
	traffic_sink(t, &e);
	e.type = EVENT_SUPPRESSED;
	traffic_sink(t, &e);

	traffic_read(t, T0 + 3 * MIN_US + 1, m);
	/* oldest first: the last slot is now's minute */
	assert_int_equal(m[TRAFFIC_MINUTES - 1].minute, T0 / MIN_US + 3);
	assert_int_equal(m[0].minute, T0 / MIN_US + 3 - 59);
	assert_int_equal(m[TRAFFIC_MINUTES - 4].in, 2);
	assert_int_equal(m[TRAFFIC_MINUTES - 4].in_tls, 1);
	assert_int_equal(m[TRAFFIC_MINUTES - 3].out, 3);
	assert_int_equal(m[TRAFFIC_MINUTES - 3].out_relayed, 2);
	assert_int_equal(m[TRAFFIC_MINUTES - 3].out_tls, 1);
	assert_int_equal(m[TRAFFIC_MINUTES - 2].in + m[TRAFFIC_MINUTES - 2].out, 0);
	assert_int_equal(m[TRAFFIC_MINUTES - 1].deferred, 1);
	assert_int_equal(m[TRAFFIC_MINUTES - 1].failed, 3);
	for (unsigned i = 0; i < TRAFFIC_MINUTES - 4; i++)
		assert_int_equal(m[i].in + m[i].out + m[i].deferred + m[i].failed, 0);

	/* an hour on, the first minute has left the window; the deferral is its last */
	traffic_read(t, T0 + 62 * MIN_US, m);
	assert_int_equal(m[0].minute, T0 / MIN_US + 3);
	assert_int_equal(m[0].deferred, 1);
	for (unsigned i = 1; i < TRAFFIC_MINUTES; i++)
		assert_int_equal(m[i].in + m[i].out + m[i].deferred, 0);
	traffic_free(&t);
	assert_null(t);
	traffic_free(&t);
}

static void
test_traffic_ring_comes_round(void **state)
{
	struct traffic *t = traffic_new();
	struct traffic_minute m[TRAFFIC_MINUTES];
	struct event e = ev(EVENT_RECEIVED, T0, "b@example.net");

	(void)state;
	traffic_sink(t, &e);
	traffic_sink(t, &e);
	/* 60 minutes later the same slot: the old minute's counts are gone, not added */
	e.time_us = T0 + 60 * MIN_US + 1;
	traffic_sink(t, &e);
	traffic_read(t, T0 + 60 * MIN_US, m);
	assert_int_equal(m[TRAFFIC_MINUTES - 1].in, 1);
	/* an event from before the slot's minute (the clock stepped back) counts nowhere */
	e.time_us = T0;
	traffic_sink(t, &e);
	traffic_read(t, T0 + 60 * MIN_US, m);
	assert_int_equal(m[TRAFFIC_MINUTES - 1].in, 1);
	/* a read long after: all zeros, each minute named */
	traffic_read(t, T0 + 1000 * MIN_US, m);
	for (unsigned i = 0; i < TRAFFIC_MINUTES; i++) {
		assert_int_equal(m[i].in, 0);
		assert_int_equal(m[i].minute, T0 / MIN_US + 1000 - 59 + i);
	}
	/* near the epoch (a test clock): no minute before it */
	traffic_read(t, 5 * MIN_US, m);
	assert_int_equal(m[TRAFFIC_MINUTES - 1].minute, 5);
	traffic_free(&t);
}

/* ---- destinations ---- */

static const struct destination *
row(const struct destination *top, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(top[i].name, name) == 0)
			return &top[i];
	return NULL;
}

static void
test_destinations_counts(void **state)
{
	struct destinations *d = destinations_new(NULL, DESTINATIONS_MAX);
	struct destination top[DESTINATIONS_MAX];
	const struct destination *r;
	struct event e;
	size_t n;

	(void)state;
	/* one connection carries three recipients; a second one a fourth */
	e = ev(EVENT_DELIVERED, T0, "a@Example.NET");
	e.conn = "o1";
	for (int i = 0; i < 3; i++)
		destinations_sink(d, &e);
	e.conn = "o2";
	destinations_sink(d, &e);
	e = ev(EVENT_DEFERRED, T0 + 1, "b@example.net");
	e.conn = "o1";
	destinations_sink(d, &e);
	/* a deferral without a connection (none could be made) */
	e.conn = NULL;
	destinations_sink(d, &e);
	e = ev(EVENT_BOUNCED, T0 + 2, "\"x@y\"@example.net");
	destinations_sink(d, &e);
	e.type = EVENT_EXPIRED;
	destinations_sink(d, &e);
	/* what is not an attempt counts for no destination */
	e.type = EVENT_RECEIVED;
	destinations_sink(d, &e);
	e.type = EVENT_SUPPRESSED;
	destinations_sink(d, &e);
	e = ev(EVENT_DELIVERED, T0, "postmaster");
	destinations_sink(d, &e);
	e = ev(EVENT_DELIVERED, T0, "x@");
	destinations_sink(d, &e);
	e = ev(EVENT_DELIVERED, T0 + 3, "alice@example.test");
	destinations_sink(d, &e);

	n = destinations_top(d, T0 + 10, top, DESTINATIONS_MAX);
	assert_int_equal(n, 2);
	/* the most active first: example.net has 8 attempts */
	assert_string_equal(top[0].name, "example.net");
	r = row(top, n, "example.net");
	assert_int_equal(r->connections, 2);
	assert_int_equal(r->delivered, 4);
	assert_int_equal(r->deferred, 2);
	assert_int_equal(r->failed, 2);
	assert_true(r->deferral_rate > 0.2499 && r->deferral_rate < 0.2501);
	assert_int_equal(r->since_us, T0);
	assert_int_equal(r->last_us, T0 + 2);
	r = row(top, n, "example.test");
	assert_int_equal(r->delivered, 1);
	assert_int_equal(r->deferral_rate == 0, 1);
	/* fewer asked for: the first ones */
	assert_int_equal(destinations_top(d, T0 + 10, top, 1), 1);
	assert_string_equal(top[0].name, "example.net");
	destinations_free(&d);
	assert_null(d);
}

static void
test_destinations_bound_and_eviction(void **state)
{
	struct destinations *d = destinations_new(NULL, 3);
	struct destination top[DESTINATIONS_MAX];
	struct event e;
	char rcpt[300];
	size_t n;

	(void)state;
	/* busy.example: 10 attempts an hour ago; now.example: 3 now; quiet.example: 2 now */
	e = ev(EVENT_DELIVERED, T0, "a@busy.example");
	for (int i = 0; i < 10; i++)
		destinations_sink(d, &e);
	e = ev(EVENT_DELIVERED, T0 + 60 * MIN_US, "a@now.example");
	for (int i = 0; i < 3; i++)
		destinations_sink(d, &e);
	e.recipient = "a@quiet.example";
	destinations_sink(d, &e);
	destinations_sink(d, &e);
	/* 10 halved six times is 0.16: busy.example has gone quiet, and goes first */
	e.recipient = "a@new.example";
	destinations_sink(d, &e);
	n = destinations_top(d, T0 + 60 * MIN_US, top, DESTINATIONS_MAX);
	assert_int_equal(n, 3);
	assert_null(row(top, n, "busy.example"));
	assert_non_null(row(top, n, "new.example"));
	assert_string_equal(top[0].name, "now.example");
	assert_string_equal(top[1].name, "quiet.example");
	/* a flood of one-off domains only ever replaces itself */
	for (int i = 0; i < 1000; i++) {
		snprintf(rcpt, sizeof(rcpt), "x@flood%d.example", i);
		e.recipient = rcpt;
		destinations_sink(d, &e);
	}
	n = destinations_top(d, T0 + 60 * MIN_US, top, DESTINATIONS_MAX);
	assert_int_equal(n, 3);
	assert_non_null(row(top, n, "now.example"));
	assert_non_null(row(top, n, "quiet.example"));
	assert_non_null(row(top, n, "flood999.example"));
	/* a name longer than a domain may be is cut, not refused */
	memset(rcpt, 'a', sizeof(rcpt) - 1);
	rcpt[sizeof(rcpt) - 1] = '\0';
	rcpt[2] = '@';
	e.recipient = rcpt;
	for (int i = 0; i < 5; i++)
		destinations_sink(d, &e);
	n = destinations_top(d, T0 + 60 * MIN_US, top, DESTINATIONS_MAX);
	assert_int_equal(strlen(top[0].name), DESTINATIONS_NAME_MAX);
	destinations_free(&d);
}

static void
test_destinations_in_metrics(void **state)
{
	struct metrics *m = metrics_new();
	struct destinations *d = destinations_new(m, 2);
	struct event e;
	struct buf out;

	(void)state;
	e = ev(EVENT_DELIVERED, T0, "a@one.example");
	e.conn = "o7";
	destinations_sink(d, &e);
	destinations_sink(d, &e);
	e = ev(EVENT_DEFERRED, T0, "a@tw\"o.example");
	destinations_sink(d, &e);
	buf_init(&out, SIZE_MAX);
	metrics_write(m, &out);
	(void)buf_append_byte(&out, '\0');
	assert_non_null(strstr((char *)out.data,
	    "# TYPE sterna_destination_delivered_total counter\n"));
	assert_non_null(strstr((char *)out.data,
	    "sterna_destination_delivered_total{destination=\"one.example\"} 2\n"));
	assert_non_null(strstr((char *)out.data,
	    "sterna_destination_connections_total{destination=\"one.example\"} 1\n"));
	/* label values escaped as the format wants */
	assert_non_null(strstr((char *)out.data,
	    "sterna_destination_deferred_total{destination=\"tw\\\"o.example\"} 1\n"));
	/* a third domain takes the least active's place: its series goes with it */
	e = ev(EVENT_DELIVERED, T0 + 1, "a@three.example");
	destinations_sink(d, &e);
	destinations_sink(d, &e);
	buf_reset(&out);
	metrics_write(m, &out);
	(void)buf_append_byte(&out, '\0');
	assert_null(strstr((char *)out.data, "tw\\\"o.example"));
	assert_non_null(strstr((char *)out.data,
	    "sterna_destination_delivered_total{destination=\"three.example\"} 2\n"));
	assert_non_null(strstr((char *)out.data,
	    "sterna_destination_delivered_total{destination=\"one.example\"} 2\n"));
	buf_clear(&out);
	destinations_free(&d);
	metrics_free(&m);
}

/* ---- recent events ---- */

static void
test_recent(void **state)
{
	struct recent *r = recent_new();
	struct recent_event *x = calloc(RECENT_EVENTS, sizeof(*x));
	char long_reply[1000];
	struct event e;
	size_t n;

	(void)state;
	assert_int_equal(recent_events(r, x, 10), 0);
	assert_int_equal(recent_failures(r, x, 10), 0);
	e = ev(EVENT_RECEIVED, T0, "a@example.net");
	e.message_id = "AAAAAAAAAAAA1";
	recent_sink(r, &e);
	e = ev(EVENT_BOUNCED, T0 + 1, "a@example.net");
	e.message_id = "AAAAAAAAAAAA1";
	e.code = 550;
	e.dsn = "5.1.1";
	memset(long_reply, 'r', sizeof(long_reply) - 1);
	long_reply[sizeof(long_reply) - 1] = '\0';
	e.reply = long_reply;
	e.bounce_class = BOUNCE_HARD;
	e.bounce_category = BOUNCE_BAD_MAILBOX;
	recent_sink(r, &e);
	/* then a burst of deliveries of other messages, more than the ring holds */
	for (int i = 0; i < RECENT_EVENTS + 10; i++) {
		e = ev(EVENT_DELIVERED, T0 + 2 + (uint64_t)i, "b@example.net");
		e.message_id = "BBBBBBBBBBBB2";
		recent_sink(r, &e);
	}
	n = recent_events(r, x, RECENT_EVENTS + 100);
	assert_int_equal(n, RECENT_EVENTS);
	assert_int_equal(x[0].time_us, T0 + 2 + RECENT_EVENTS + 9);	/* newest first */
	assert_int_equal(x[n - 1].time_us, T0 + 2 + 10);
	/* the bounce is out of the ring of all events, not out of the failures' */
	assert_int_equal(recent_of_message(r, "AAAAAAAAAAAA1", x, 10), 0);
	n = recent_failures(r, x, 10);
	assert_int_equal(n, 1);
	assert_string_equal(x[0].message_id, "AAAAAAAAAAAA1");
	assert_int_equal(x[0].bounce_category, BOUNCE_BAD_MAILBOX);
	assert_int_equal(x[0].code, 550);
	assert_int_equal(strlen(x[0].reply), sizeof(x[0].reply) - 1);
	/* a message's own events, oldest first */
	e = ev(EVENT_RECEIVED, T0 + 5000, "c@example.net");
	e.message_id = "CCCCCCCCCCCC3";
	e.tls_version = "TLSv1.3";
	recent_sink(r, &e);
	e.type = EVENT_DEFERRED;
	e.time_us++;
	e.attempt = 1;
	recent_sink(r, &e);
	n = recent_of_message(r, "CCCCCCCCCCCC3", x, 10);
	assert_int_equal(n, 2);
	assert_int_equal(x[0].type, EVENT_RECEIVED);
	assert_string_equal(x[0].entrance, "smtp");
	assert_true(x[0].is_tls);
	assert_int_equal(x[1].type, EVENT_DEFERRED);
	assert_int_equal(x[1].attempt, 1);
	/* many failures: the last RECENT_FAILURES of them */
	for (int i = 0; i < RECENT_FAILURES + 5; i++) {
		e = ev(EVENT_EXPIRED, T0 + 9000 + (uint64_t)i, "d@example.net");
		recent_sink(r, &e);
	}
	n = recent_failures(r, x, RECENT_EVENTS);
	assert_int_equal(n, RECENT_FAILURES);
	assert_int_equal(x[0].time_us, T0 + 9000 + RECENT_FAILURES + 4);
	free(x);
	recent_free(&r);
	assert_null(r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_traffic_minutes),
		cmocka_unit_test(test_traffic_ring_comes_round),
		cmocka_unit_test(test_destinations_counts),
		cmocka_unit_test(test_destinations_bound_and_eviction),
		cmocka_unit_test(test_destinations_in_metrics),
		cmocka_unit_test(test_recent),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
