/*
 * test_msgstate.c - the recipients' last states by queue id
 * (src/events/msgstate.c, msgindex.c): the index alone (a later event
 * wins, an earlier one only adds its attempts, the memory bound drops the
 * least recently changed message, the log's rotation drops what it took
 * away, an older index merged under a newer one); and over a real event
 * log: read back at start on the index's thread, the stream's events on
 * top, a message dropped for memory found again by a scan of the log, an
 * id nobody knows not found.
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
#include <unistd.h>

#include <event2/event.h>

#include "events/evlog.h"
#include "events/msgstate.h"
#include "events/msgstate_int.h"
#include "util/clock.h"
#include "util/qid.h"

#define NMSGS 40

static char qids[NMSGS][QID_LEN + 1];

static void
make_qids(void)
{
	struct qid_gen g = { 0 };

	for (size_t i = 0; i < NMSGS; i++)
		qid_next(&g, clock_wall_us(), qids[i]);
}

/* ---- the index alone ---- */

static struct ms_event
ev_of(const char *qid, const char *email, uint64_t cursor, enum event_type type,
    unsigned attempts, const char *text)
{
	return (struct ms_event){ .qid = qid, .email = email, .cursor = cursor,
		.r = { .type = type, .time_us = cursor * 1000u, .code = text ? 451 : 0,
		.status = "", .text = text, .attempts = attempts } };
}

static void
test_index(void **state)
{
	struct ms_index ix, older;
	struct ms_event e;
	struct ms_msg *m;
	struct msgstate_rcpt r;

	(void)state;
	make_qids();
	ms_index_init(&ix, 1u << 20);
	e = ev_of(qids[0], "a@x.test", 10, EVENT_RECEIVED, 0, NULL);
	ms_apply(&ix, &e);
	e = ev_of(qids[0], "b@x.test", 11, EVENT_RECEIVED, 0, NULL);
	ms_apply(&ix, &e);
	e = ev_of(qids[0], "b@x.test", 13, EVENT_DEFERRED, 2, "busy");
	ms_apply(&ix, &e);
	/* an older event (a scan's) adds nothing but its attempts */
	e = ev_of(qids[0], "b@x.test", 12, EVENT_DEFERRED, 3, "older");
	ms_apply(&ix, &e);
	m = ms_find(&ix, qids[0]);
	assert_non_null(m);
	assert_int_equal(m->n, 2);
	assert_false(m->is_partial);
	ms_rcpt_view(m, 1, &r);
	assert_string_equal(r.email, "b@x.test");
	assert_int_equal(r.type, EVENT_DEFERRED);
	assert_string_equal(r.text, "busy");
	assert_int_equal(r.attempts, 3);
	/* another message, first known by its delivery: partial */
	e = ev_of(qids[1], "c@x.test", 20, EVENT_DELIVERED, 0, NULL);
	ms_apply(&ix, &e);
	assert_true(ms_find(&ix, qids[1])->is_partial);
	/* merged under it, an older index's events of the same messages */
	ms_index_init(&older, 1u << 20);
	e = ev_of(qids[1], "d@x.test", 5, EVENT_RECEIVED, 0, NULL);
	ms_apply(&older, &e);
	e = ev_of(qids[1], "c@x.test", 4, EVENT_RECEIVED, 0, NULL);
	ms_apply(&older, &e);
	e = ev_of(qids[2], "e@x.test", 6, EVENT_RECEIVED, 0, NULL);
	ms_apply(&older, &e);
	ms_merge_older(&ix, &older);
	ms_index_clear(&older);
	m = ms_find(&ix, qids[1]);
	assert_int_equal(m->n, 2);
	assert_false(m->is_partial);
	ms_rcpt_view(m, 0, &r);		/* the older order, the newer state */
	assert_string_equal(r.email, "d@x.test");
	ms_rcpt_view(m, 1, &r);
	assert_string_equal(r.email, "c@x.test");
	assert_int_equal(r.type, EVENT_DELIVERED);
	/* the oldest (by its last event) first: qids[2], then qids[0], then qids[1] */
	assert_ptr_equal(ix.oldest, ms_find(&ix, qids[2]));
	assert_ptr_equal(ix.newest, ms_find(&ix, qids[1]));
	/* the log rotated its first events away */
	ms_drop_before(&ix, 14);
	assert_null(ms_find(&ix, qids[2]));
	assert_null(ms_find(&ix, qids[0]));
	assert_non_null(ms_find(&ix, qids[1]));
	assert_int_equal(ix.evicted_upto, 0);
	/* memory: each new message pushes the least recently changed one out */
	ix.max_bytes = ix.bytes + 1;
	e = ev_of(qids[3], "f@x.test", 30, EVENT_RECEIVED, 0, NULL);
	ms_apply(&ix, &e);
	assert_null(ms_find(&ix, qids[1]));
	assert_non_null(ms_find(&ix, qids[3]));
	assert_int_equal(ix.evicted_upto, 20);
	assert_true(ix.bytes <= ix.max_bytes || ix.oldest == ix.newest);
	ms_index_clear(&ix);
}

/* ---- over the event log ---- */

struct run {
	struct event_base *base;
	int is_done;
	enum msgstate_found found;
	size_t n;
	struct msgstate_rcpt r[4];
	char text[4][64];
};

static void
on_rcpt(void *ctx, const struct msgstate_rcpt *r)
{
	struct run *x = ctx;

	assert_true(x->n < 4);
	x->r[x->n] = *r;
	snprintf(x->text[x->n], sizeof(x->text[0]), "%s", r->text ? r->text : "");
	x->r[x->n].email = x->r[x->n].text = x->r[x->n].status = NULL;	/* borrowed for the call */
	x->n++;
}

static void
on_done(void *ctx, enum msgstate_found found)
{
	struct run *x = ctx;

	x->found = found;
	x->is_done = 1;
}

/* Looks qid up and runs the loop until the answer comes. */
static struct run
look(struct event_base *base, struct msgstate *ms, const char *qid)
{
	struct run x = { .base = base };

	msgstate_look(ms, qid, on_rcpt, on_done, &x);
	assert_false(x.is_done);	/* never inside the call */
	for (int i = 0; i < 5000 && !x.is_done; i++)
		event_base_loop(base, EVLOOP_ONCE);
	assert_true(x.is_done);
	return x;
}

static void
emit(struct evlog *l, struct msgstate *ms, const char *qid, const char *to, size_t i,
    enum event_type type, int code, const char *text)
{
	struct event e = { .type = type, .time_us = clock_wall_us(), .message_id = qid,
		.rcpt_index = i, .recipient = to, .sender = "s@x.test", .code = code,
		.dsn = code >= 500 ? "5.1.1" : code >= 400 ? "4.3.0" : code ? "2.0.0" : "",
		.reply = text, .attempt = 1, .next_attempt_s = 2000000000u };

	if (type == EVENT_BOUNCED)
		e.bounce_class = BOUNCE_HARD, e.bounce_category = BOUNCE_BAD_MAILBOX;
	evlog_sink(l, &e);
	if (ms != NULL)
		msgstate_sink(ms, &e);
}

/* Message k's story: two recipients received, one deferred then delivered, one bounced. */
static void
story(struct evlog *l, struct msgstate *ms, size_t k)
{
	emit(l, ms, qids[k], "a@x.test", 0, EVENT_RECEIVED, 0, "");
	emit(l, ms, qids[k], "b@x.test", 1, EVENT_RECEIVED, 0, "");
	emit(l, ms, qids[k], "a@x.test", 0, EVENT_DEFERRED, 451, "busy");
	emit(l, ms, qids[k], "a@x.test", 0, EVENT_DELIVERED, 250, "Ok: queued");
	emit(l, ms, qids[k], "b@x.test", 1, EVENT_BOUNCED, 550, "no such user");
}

static void
check_story(const struct run *x)
{
	assert_int_equal(x->found, MSGSTATE_FOUND);
	assert_int_equal(x->n, 2);
	assert_int_equal(x->r[0].type, EVENT_DELIVERED);
	assert_int_equal(x->r[0].code, 250);
	assert_int_equal(x->r[0].attempts, 1);
	assert_string_equal(x->text[0], "Ok: queued");
	assert_int_equal(x->r[1].type, EVENT_BOUNCED);
	assert_int_equal(x->r[1].bounce_class, BOUNCE_HARD);
	assert_int_equal(x->r[1].bounce_category, BOUNCE_BAD_MAILBOX);
	assert_string_equal(x->text[1], "no such user");
}

static void
test_read_back_and_scan(void **state)
{
	char dir[64], err[256], cmd[128];
	struct event_base *base = event_base_new();
	struct evlog *l;
	struct msgstate *ms;
	struct run x;

	(void)state;
	make_qids();
	snprintf(dir, sizeof(dir), "/tmp/sterna-msgstate-XXXXXX");
	assert_non_null(mkdtemp(dir));
	l = evlog_open(dir, 3600, 1ull << 30, base, err, sizeof(err));
	assert_non_null(l);
	for (size_t k = 0; k < NMSGS - 1; k++)
		story(l, NULL, k);
	evlog_free(&l);

	/* a restart: read back, then the stream on top */
	l = evlog_open(dir, 3600, 1ull << 30, base, err, sizeof(err));
	ms = msgstate_new(l, 1u << 20, base);
	x = look(base, ms, qids[3]);
	check_story(&x);
	emit(l, ms, qids[NMSGS - 1], "c@x.test", 0, EVENT_RECEIVED, 0, "");
	emit(l, ms, qids[NMSGS - 1], "c@x.test", 0, EVENT_DELETED, 0,
	    "deleted from the queue by an operator");
	x = look(base, ms, qids[NMSGS - 1]);
	assert_int_equal(x.n, 1);
	assert_int_equal(x.r[0].type, EVENT_DELETED);
	x = look(base, ms, "0000000000000");
	assert_int_equal(x.found, MSGSTATE_NONE);
	msgstate_free(&ms);
	assert_null(ms);

	/* memory for a few messages only: the oldest are dropped, then found by a scan */
	ms = msgstate_new(l, 4096, base);
	x = look(base, ms, qids[NMSGS - 2]);
	check_story(&x);
	assert_int_equal(msgstate_get(ms, qids[0], on_rcpt, &x), 0);
	x = look(base, ms, qids[0]);
	check_story(&x);
	x = look(base, ms, "0000000000000");
	assert_int_equal(x.found, MSGSTATE_NONE);
	/* stopping: a lookup that would wait is answered at once */
	msgstate_stop(ms);
	x = look(base, ms, qids[1]);
	assert_int_equal(x.found, MSGSTATE_UNAVAILABLE);
	msgstate_free(&ms);
	evlog_free(&l);
	event_base_free(base);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_index),
		cmocka_unit_test(test_read_back_and_scan),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
