/*
 * test_index.c - the scheduler's index of messages (src/sched/index.c):
 * whatever order messages are added in, the walk is in queue id order and
 * every one is found. The case that matters: the queue found at start is
 * handed over oldest first while new mail (greater ids) keeps arriving, and
 * messages leave in between, the hint among them.
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

#define N 3000

static struct qmsg *
qmsg_of(unsigned id)
{
	struct qmsg *q = xcalloc(1, sizeof(*q));

	/* the same width for every id: byte order is number order, as with queue ids */
	snprintf(q->qid, sizeof(q->qid), "%013u", id);
	return q;
}

static void
check_order(const struct sched *s, size_t want)
{
	size_t n = 0;

	for (const struct qmsg *q = s->first; q != NULL; q = q->next, n++) {
		if (q->next != NULL)
			assert_true(strcmp(q->qid, q->next->qid) < 0);
		assert_ptr_equal(q->next != NULL ? q->next->prev : s->last, q);
		assert_ptr_equal(index_find(s, q->qid), q);
	}
	assert_int_equal(n, want);
	assert_int_equal(s->nmsgs, want);
}

static void
test_recovery_while_new_mail_arrives(void **state)
{
	struct sched *s = xcalloc(1, sizeof(*s));
	struct qmsg *all[3 * N] = { 0 };
	size_t n = 0;

	(void)state;
	index_init(s);
	/* mail accepted before the first recovered batch is handed over */
	for (unsigned i = 0; i < 10; i++)
		index_add(s, all[n++] = qmsg_of(2 * N + i));
	/* the queue found at start (ids 0 .. N-1), oldest first, while new mail arrives */
	for (unsigned i = 0; i < N; i++) {
		index_add(s, all[n++] = qmsg_of(i));
		if (i % 3 == 0)
			index_add(s, all[n++] = qmsg_of(2 * N + 10 + i));
		/* and messages leave: now and then the one just added (the hint) */
		if (i % 7 == 0) {
			struct qmsg *gone = index_find(s, all[n - 1]->qid);

			index_remove(s, gone);
			free(gone);
			all[--n] = NULL;
		}
	}
	check_order(s, n);
	for (size_t i = 0; i < n; i++) {
		index_remove(s, all[i]);
		free(all[i]);
	}
	check_order(s, 0);
	index_clear(s);
	free(s);
}

static void
test_any_order(void **state)
{
	struct sched *s = xcalloc(1, sizeof(*s));
	struct qmsg *all[N];

	(void)state;
	index_init(s);
	/* a shuffle of 0 .. N-1 (multiplication by a number prime to N) */
	for (unsigned i = 0; i < N; i++)
		index_add(s, all[i] = qmsg_of((i * 7919u) % N));
	check_order(s, N);
	for (unsigned i = 0; i < N; i++) {
		index_remove(s, all[i]);
		free(all[i]);
	}
	check_order(s, 0);
	index_clear(s);
	free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_recovery_while_new_mail_arrives),
		cmocka_unit_test(test_any_order),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
