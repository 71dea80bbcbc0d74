/* spool_fixture.c - see spool_fixture.h. */
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "spool_fixture.h"

void
spool_fixture_on_commit(void *ctx, enum spool_result r)
{
	struct committed *c = ctx;

	c->is_done = 1;
	c->r = r;
}

void
spool_fixture_wait(struct workq *wq, const int *is_done)
{
	for (int i = 0; i < 10000 && !*is_done; i++) {
		struct pollfd pfd = { .fd = workq_fd(wq), .events = POLLIN };

		(void)poll(&pfd, 1, 10);
		workq_run_done(wq);
	}
	assert_true(*is_done);
}
