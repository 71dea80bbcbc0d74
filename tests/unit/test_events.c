/*
 * test_events.c - the event stream: subscribers in order; what a failure
 * means (classify.c) for the replies seen in the wild; the event log:
 * cursors in order and kept across a reopen, a line a crash cut short
 * dropped, files rotating by event count, pages read after a cursor (a log
 * of many events of many sizes paged through whole), and
 * the oldest files expired past the size bound; the webhooks' signature.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>

#include "events/events.h"
#include "events/evlog.h"
#include "events/suppress.h"
#include "events/webhook.h"

/* ---- the stream ---- */

struct seen {
	char order[8];
	size_t n;
};

static void
sink_a(void *ctx, const struct event *e)
{
	struct seen *s = ctx;

	(void)e;
	s->order[s->n++] = 'a';
}

static void
sink_b(void *ctx, const struct event *e)
{
	struct seen *s = ctx;

	assert_int_equal(e->type, EVENT_DELIVERED);
	s->order[s->n++] = 'b';
}

static void
test_subscribers_in_order(void **state)
{
	struct events *ev = events_new();
	struct seen s = { .n = 0 };
	struct event e = { .type = EVENT_DELIVERED, .message_id = "Q" };

	(void)state;
	events_subscribe(ev, sink_a, &s);
	events_subscribe(ev, sink_b, &s);
	events_emit(ev, &e);
	events_emit(ev, &e);
	assert_int_equal(s.n, 4);
	assert_memory_equal(s.order, "abab", 4);
	events_emit(NULL, &e);	/* no stream: nothing happens */
	events_free(&ev);
	assert_null(ev);
	events_free(&ev);
}

/* ---- classification ---- */

static const struct {
	int code;
	const char *dsn, *text;
	enum bounce_class cls;
	enum bounce_category cat;
} cases[] = {
	{ 550, "5.1.1", "<a@b.test>: Recipient address rejected: User unknown", BOUNCE_HARD,
	  BOUNCE_BAD_MAILBOX },
	{ 550, "", "No such user here", BOUNCE_HARD, BOUNCE_BAD_MAILBOX },
	{ 550, NULL, "5.1.1 The email account that you tried to reach does not exist", BOUNCE_HARD,
	  BOUNCE_BAD_MAILBOX },
	{ 552, "5.2.2", "Mailbox full", BOUNCE_SOFT, BOUNCE_MAILBOX_FULL },
	{ 452, "4.2.2", "The email account that you tried to reach is over quota", BOUNCE_SOFT,
	  BOUNCE_MAILBOX_FULL },
	{ 550, "", "User over quota", BOUNCE_SOFT, BOUNCE_MAILBOX_FULL },
	{ 554, "5.7.1", "Service unavailable; client [192.0.2.1] blocked using zen.spamhaus.org",
	  BOUNCE_SOFT, BOUNCE_SPAM_BLOCK },
	{ 550, "5.7.1", "Message rejected as spam", BOUNCE_SOFT, BOUNCE_SPAM_BLOCK },
	{ 554, "5.7.1", "<x@y.test>: Relay access denied", BOUNCE_SOFT, BOUNCE_POLICY },
	{ 550, "5.7.26", "Unauthenticated email is not accepted (DMARC)", BOUNCE_SOFT,
	  BOUNCE_POLICY },
	{ 552, "5.3.4", "Message size exceeds fixed limit", BOUNCE_SOFT, BOUNCE_POLICY },
	{ 550, "5.1.2", "Host or domain name not found", BOUNCE_HARD, BOUNCE_DNS },
	{ 556, "5.1.10", "Recipient address has null MX", BOUNCE_HARD, BOUNCE_DNS },
	{ 554, "5.4.4", "No MX and no address", BOUNCE_HARD, BOUNCE_DNS },
	{ 554, "5.3.0", "Something else broke", BOUNCE_HARD, BOUNCE_OTHER },
	{ 451, "4.3.0", "Temporary failure", BOUNCE_SOFT, BOUNCE_OTHER },
	{ 421, "", "Service not available", BOUNCE_SOFT, BOUNCE_OTHER },
	/* a malformed status is no status: the code and the words decide */
	{ 550, "5.x.1", "user unknown", BOUNCE_HARD, BOUNCE_BAD_MAILBOX },
	{ 0, "", "", BOUNCE_SOFT, BOUNCE_OTHER },
};

static void
test_classify(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum bounce_class cls;
		enum bounce_category cat;

		events_classify(cases[i].code, cases[i].dsn, cases[i].text, &cls, &cat);
		if (cls != cases[i].cls || cat != cases[i].cat)
			fail_msg("case %zu (%d %s %s): %s/%s, wanted %s/%s", i, cases[i].code,
			    cases[i].dsn ? cases[i].dsn : "(null)", cases[i].text,
			    bounce_class_name(cls), bounce_category_name(cat),
			    bounce_class_name(cases[i].cls), bounce_category_name(cases[i].cat));
	}
	assert_string_equal(bounce_category_name(BOUNCE_SPAM_BLOCK), "spam_block");
	assert_string_equal(event_type_name(EVENT_EXPIRED), "expired");
}

/* ---- the event log ---- */

struct logdir {
	char dir[64];
	struct event_base *base;
};

static int
logdir_setup(void **state)
{
	struct logdir *d = calloc(1, sizeof(*d));

	snprintf(d->dir, sizeof(d->dir), "/tmp/sterna-evlog-XXXXXX");
	assert_non_null(mkdtemp(d->dir));
	d->base = event_base_new();
	*state = d;
	return 0;
}

static int
logdir_teardown(void **state)
{
	struct logdir *d = *state;
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", d->dir);
	assert_int_equal(system(cmd), 0);
	event_base_free(d->base);
	free(d);
	return 0;
}

static struct evlog *
open_log(struct logdir *d, uint64_t max_bytes)
{
	char err[256];
	struct evlog *l = evlog_open(d->dir, 3600, max_bytes, d->base, err, sizeof(err));

	if (l == NULL)
		fail_msg("%s", err);
	return l;
}

static void
emit_n(struct evlog *l, size_t n, const char *qid)
{
	char to[64];
	struct event e = { .type = EVENT_DEFERRED, .time_us = 1733390000123456ull,
		.message_id = qid, .sender = "a@b.test", .code = 451, .dsn = "4.3.0",
		.reply = "try \"later\"", .attempt = 2, .next_attempt_s = 1733390600 };

	for (size_t i = 0; i < n; i++) {
		snprintf(to, sizeof(to), "r%zu@c.test", i);
		e.recipient = to;
		e.rcpt_index = i;
		evlog_sink(l, &e);
	}
}

static uint64_t
cursor_of(json_t *o)
{
	return strtoull(json_string_value(json_object_get(o, "cursor")), NULL, 10);
}

static void
test_cursors_and_pages(void **state)
{
	struct logdir *d = *state;
	struct evlog *l = open_log(d, 1ull << 30);
	json_t *page = json_array(), *o;
	uint64_t next;

	assert_int_equal(evlog_last(l), 0);
	emit_n(l, 5, "Q1");
	assert_int_equal(evlog_last(l), 5);
	assert_int_equal(evlog_read(l, 0, 3, page, &next), 0);
	assert_int_equal(json_array_size(page), 3);
	assert_int_equal(next, 3);
	o = json_array_get(page, 0);
	assert_int_equal(cursor_of(o), 1);
	assert_string_equal(json_string_value(json_object_get(o, "type")), "deferred");
	assert_string_equal(json_string_value(json_object_get(o, "time")),
	    "2024-12-05T09:13:20.123Z");
	assert_string_equal(json_string_value(json_object_get(o, "recipient")), "r0@c.test");
	assert_string_equal(json_string_value(json_object_get(json_object_get(o, "reply"),
	    "text")), "try \"later\"");
	assert_int_equal(json_integer_value(json_object_get(o, "attempt")), 2);
	json_array_clear(page);
	assert_int_equal(evlog_read(l, next, 100, page, &next), 0);
	assert_int_equal(json_array_size(page), 2);
	assert_int_equal(next, 5);
	json_array_clear(page);
	/* nothing after the last: the cursor stays */
	assert_int_equal(evlog_read(l, 5, 100, page, &next), 0);
	assert_int_equal(json_array_size(page), 0);
	assert_int_equal(next, 5);
	evlog_free(&l);
	assert_null(l);
	/* a reopen goes on after the last event */
	l = open_log(d, 1ull << 30);
	assert_int_equal(evlog_last(l), 5);
	emit_n(l, 1, "Q2");
	assert_int_equal(evlog_read(l, 5, 10, page, &next), 0);
	assert_int_equal(json_array_size(page), 1);
	assert_int_equal(cursor_of(json_array_get(page, 0)), 6);
	json_decref(page);
	evlog_free(&l);
}

/* The only file of the log (there is one in these tests until it rotates). */
static void
first_file(struct logdir *d, char *out, size_t size)
{
	DIR *dir = opendir(d->dir);
	struct dirent *e;

	assert_non_null(dir);
	out[0] = '\0';
	while ((e = readdir(dir)) != NULL)
		if (e->d_name[0] != '.')
			snprintf(out, size, "%s/%s", d->dir, e->d_name);
	closedir(dir);
	assert_true(out[0] != '\0');
}

static void
test_a_half_written_line_is_dropped(void **state)
{
	struct logdir *d = *state;
	struct evlog *l = open_log(d, 1ull << 30);
	json_t *page = json_array();
	char path[512];
	uint64_t next;
	int fd;

	emit_n(l, 2, "Q1");
	evlog_free(&l);
	first_file(d, path, sizeof(path));
	/* a crash in the middle of the third line */
	fd = open(path, O_WRONLY | O_APPEND);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "{\"cursor\":\"3\",\"ty", 17), 17);
	close(fd);
	l = open_log(d, 1ull << 30);
	assert_int_equal(evlog_last(l), 2);
	emit_n(l, 1, "Q2");
	assert_int_equal(evlog_read(l, 0, 10, page, &next), 0);
	assert_int_equal(json_array_size(page), 3);
	assert_int_equal(cursor_of(json_array_get(page, 2)), 3);
	assert_string_equal(json_string_value(json_object_get(json_array_get(page, 2),
	    "message_id")), "Q2");
	json_decref(page);
	evlog_free(&l);
}

static size_t
count_files(struct logdir *d)
{
	DIR *dir = opendir(d->dir);
	struct dirent *e;
	size_t n = 0;

	while ((e = readdir(dir)) != NULL)
		n += e->d_name[0] != '.';
	closedir(dir);
	return n;
}

static void
test_rotation_reading_and_expiry(void **state)
{
	struct logdir *d = *state;
	struct evlog *l = open_log(d, 1ull << 30);
	json_t *page = json_array();
	uint64_t next;

	emit_n(l, 2 * EVLOG_FILE_EVENTS + 10, "Q1");
	assert_int_equal(count_files(d), 3);
	/* a page across the files' edge, in order */
	assert_int_equal(evlog_read(l, EVLOG_FILE_EVENTS - 5, 10, page, &next), 0);
	assert_int_equal(json_array_size(page), 10);
	for (size_t i = 0; i < 10; i++)
		assert_int_equal(cursor_of(json_array_get(page, i)), EVLOG_FILE_EVENTS - 4 + i);
	json_array_clear(page);
	/* a page is at most EVLOG_PAGE_MAX */
	assert_int_equal(evlog_read(l, 0, 5000, page, &next), 0);
	assert_int_equal(json_array_size(page), EVLOG_PAGE_MAX);
	json_array_clear(page);
	evlog_free(&l);
	/* a bound the files pass: the oldest go at the next rotation, never the current one */
	l = open_log(d, 1);
	emit_n(l, EVLOG_FILE_EVENTS, "Q2");
	assert_int_equal(count_files(d), 1);
	/* a reader after a cursor no longer kept starts at the oldest kept */
	assert_int_equal(evlog_read(l, 5, 1, page, &next), 0);
	assert_int_equal(cursor_of(json_array_get(page, 0)), 3 * EVLOG_FILE_EVENTS + 1);
	json_decref(page);
	evlog_free(&l);
}

/* Events whose lines differ in length, some longer than the reader's blocks. */
static void
emit_varied(struct evlog *l, size_t n)
{
	static char text[9000];
	struct event e = { .type = EVENT_DEFERRED, .time_us = 1733390000123456ull,
		.message_id = "Q3", .sender = "a@b.test", .recipient = "r@c.test", .code = 451,
		.dsn = "4.3.0", .reply = text, .attempt = 1, .next_attempt_s = 1733390600 };

	for (size_t i = 0; i < n; i++) {
		size_t len = (i * 7919) % 97 == 0 ? 8000 : (i * 31) % 300;

		memset(text, 'a' + (int)(i % 26), len);
		text[len] = '\0';
		evlog_sink(l, &e);
	}
}

struct scanned {
	uint64_t first, last;
	size_t n;
};

static int
scan_line(void *ctx, uint64_t cursor, const char *line, size_t len)
{
	struct scanned *sc = ctx;

	assert_true(len > 0 && line[0] == '{');
	if (sc->n == 0)
		sc->first = cursor;
	else
		assert_int_equal(cursor, sc->last + 1);
	sc->last = cursor;
	sc->n++;
	return 0;
}

static void
test_paging_through_many_events(void **state)
{
	struct logdir *d = *state;
	struct evlog *l = open_log(d, 1ull << 30);
	const uint64_t total = 3 * EVLOG_FILE_EVENTS + 123;
	json_t *page = json_array();
	uint64_t after = 0, next, *files;
	size_t pages = 0, nfiles;

	emit_varied(l, total);
	assert_int_equal(evlog_last(l), total);
	assert_int_equal(evlog_first(l), 1);
	/* page by page, of changing sizes: every event once, in order */
	while (after < total) {
		size_t limit = 1 + (pages * 37) % EVLOG_PAGE_MAX;

		json_array_clear(page);
		assert_int_equal(evlog_read(l, after, limit, page, &next), 0);
		assert_true(json_array_size(page) > 0);
		assert_true(json_array_size(page) <= limit);
		for (size_t i = 0; i < json_array_size(page); i++)
			assert_int_equal(cursor_of(json_array_get(page, i)), after + 1 + i);
		assert_int_equal(next, after + json_array_size(page));
		after = next;
		pages++;
	}
	/* a read right after any cursor starts at the next one: the bisection finds it */
	for (uint64_t c = 0; c < total; c += 997) {
		json_array_clear(page);
		assert_int_equal(evlog_read(l, c, 2, page, &next), 0);
		assert_int_equal(cursor_of(json_array_get(page, 0)), c + 1);
	}
	json_array_clear(page);
	assert_int_equal(evlog_read(l, total, 10, page, &next), 0);
	assert_int_equal(json_array_size(page), 0);
	assert_int_equal(next, total);
	/* another thread's scan of one file: from after, up to upto */
	files = evlog_files(l, &nfiles);
	assert_int_equal(nfiles, 4);
	assert_int_equal(files[1], EVLOG_FILE_EVENTS + 1);
	struct scanned sc = { 0 };

	assert_int_equal(evlog_file_scan(evlog_dir(l), files[1], EVLOG_FILE_EVENTS + 500,
	    EVLOG_FILE_EVENTS + 1499, scan_line, &sc), 0);
	assert_int_equal(sc.n, 999);
	assert_int_equal(sc.first, EVLOG_FILE_EVENTS + 501);
	assert_int_equal(evlog_file_scan(evlog_dir(l), 99, 0, UINT64_MAX, scan_line, &sc), -1);
	free(files);
	json_decref(page);
	evlog_free(&l);
}

/* ---- the suppression list ---- */

static void
test_suppression_list(void **state)
{
	struct logdir *d = *state;
	char path[128], err[256];
	struct suppress *s;
	json_t *page = json_array();
	unsigned bits = 0;
	struct event e = { .type = EVENT_BOUNCED, .message_id = "Q", .recipient = "Hard@X.test",
		.code = 550, .dsn = "5.1.1", .reply = "no such user", .bounce_class = BOUNCE_HARD,
		.bounce_category = BOUNCE_BAD_MAILBOX, .time_us = 1000000 };

	(void)state;
	assert_int_equal(bounce_categories_parse("bad_mailbox,dns", &bits), 0);
	assert_int_equal(bits, (1u << BOUNCE_BAD_MAILBOX) | (1u << BOUNCE_DNS));
	assert_int_equal(bounce_categories_parse("", &bits), 0);
	assert_int_equal(bits, 0);
	assert_int_equal(bounce_categories_parse("dns,", &bits), -1);
	assert_int_equal(bounce_categories_parse("spam", &bits), -1);
	snprintf(path, sizeof(path), "%s/suppressions.jsonl", d->dir);
	s = suppress_open(path, (1u << BOUNCE_BAD_MAILBOX), err, sizeof(err));
	assert_non_null(s);
	assert_int_equal(suppress_add(s, "b@x.test", "by hand", 5), 1);
	assert_int_equal(suppress_add(s, "B@X.TEST", "again", 6), 0);
	assert_true(suppress_has(s, "b@X.test"));
	suppress_sink(s, &e);			/* a hard bounce of a chosen category */
	assert_true(suppress_has(s, "hard@x.test"));
	e.recipient = "soft@x.test";
	e.bounce_class = BOUNCE_SOFT;
	suppress_sink(s, &e);			/* soft: no */
	e.bounce_class = BOUNCE_HARD;
	e.bounce_category = BOUNCE_DNS;
	suppress_sink(s, &e);			/* a category not chosen: no */
	e.type = EVENT_DELIVERED;
	e.bounce_category = BOUNCE_BAD_MAILBOX;
	suppress_sink(s, &e);			/* not a bounce: no */
	assert_false(suppress_has(s, "soft@x.test"));
	assert_int_equal(suppress_add(s, "a@x.test", "x", 7), 1);
	assert_int_equal(suppress_remove(s, "A@x.test"), 1);
	assert_int_equal(suppress_remove(s, "a@x.test"), 0);
	assert_int_equal(suppress_count(s), 2);
	suppress_free(&s);
	/* again from the file: what was added, less what was removed */
	s = suppress_open(path, 0, err, sizeof(err));
	assert_non_null(s);
	assert_int_equal(suppress_count(s), 2);
	assert_int_equal(suppress_list(s, "", 10, page), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(page, 0), "email")),
	    "b@x.test");
	assert_string_equal(json_string_value(json_object_get(json_array_get(page, 0), "reason")),
	    "by hand");
	assert_string_equal(json_string_value(json_object_get(json_array_get(page, 1), "email")),
	    "hard@x.test");
	json_array_clear(page);
	assert_int_equal(suppress_list(s, "b@x.test", 10, page), 1);
	json_decref(page);
	suppress_free(&s);
}

/* ---- webhooks' signature: as any HMAC-SHA256 library computes it ---- */

static void
test_webhook_signature(void **state)
{
	const char body[] = "{\"cursor\":\"1\"}";
	char sig[160];

	(void)state;
	webhook_signature("whsec-0123456789abcdef", 1733390000, body, strlen(body), sig,
	    sizeof(sig));
	assert_string_equal(sig, "t=1733390000,v1="
	    "8ff08e432f596fe1ee421a510beca2adbfcfb199ae095f9bbb04f707bf94f322");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_subscribers_in_order),
		cmocka_unit_test(test_classify),
		cmocka_unit_test(test_webhook_signature),
		cmocka_unit_test_setup_teardown(test_suppression_list, logdir_setup, logdir_teardown),
		cmocka_unit_test_setup_teardown(test_cursors_and_pages, logdir_setup, logdir_teardown),
		cmocka_unit_test_setup_teardown(test_a_half_written_line_is_dropped, logdir_setup,
		    logdir_teardown),
		cmocka_unit_test_setup_teardown(test_paging_through_many_events, logdir_setup,
		    logdir_teardown),
		cmocka_unit_test_setup_teardown(test_rotation_reading_and_expiry, logdir_setup,
		    logdir_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
