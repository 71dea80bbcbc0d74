/*
 * spool_fixture.h - what the tests of the spool on real files share
 * (test_spool.c, test_content.c): a commit's result, and the event loop's
 * part done by hand.
 */
#ifndef STERNA_TESTS_SPOOL_FIXTURE_H
#define STERNA_TESTS_SPOOL_FIXTURE_H

#include "spool/spool.h"
#include "util/workq.h"

/* A commit's result, set by spool_fixture_on_commit() (its ctx). */
struct committed {
	int is_done;
	enum spool_result r;
};
void spool_fixture_on_commit(void *ctx, enum spool_result r);
/*
 * The loop's part: runs wq's completions until *is_done (a commit's, a
 * recovery's), for 100 seconds at most; fails the test if it never is.
 */
void spool_fixture_wait(struct workq *wq, const int *is_done);

#endif
