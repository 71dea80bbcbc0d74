/*
 * test_spool.c - the spool's commit never replaces a queued file: a new
 * message whose queue id is already a file in queue/ (a clock set back)
 * fails with a temporary error, and the queued file stays byte for byte.
 * And the recovery at start, which lists queue/ while new messages are
 * committed into it: it finds the queued files, never the new ones, and
 * moves the queue id generator past every id it finds; what it moves to
 * corrupt/ never replaces a file there.
 * And many messages' marks recorded together (a destination found down):
 * each file gets its own records, and the one callback comes once they are
 * durable, with each message's error apart. And a Maildir copy's rename
 * into new/, which never replaces a message there.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "metrics/metrics.h"
#include "spool_fixture.h"
#include "spool/spool.h"
#include "util/qid.h"
#include "util/workq.h"

static char tmpdir[] = "/tmp/sterna-test-spool-XXXXXX";

static void
write_whole(const char *path, const void *p, size_t n)
{
	FILE *fp = fopen(path, "wb");

	assert_non_null(fp);
	assert_int_equal(fwrite(p, 1, n, fp), n);
	assert_int_equal(fclose(fp), 0);
}

/* The bytes of the file at path (at most size - 1 of them, NUL-terminated): their count. */
static size_t
read_whole(const char *path, char *out, size_t size)
{
	FILE *fp = fopen(path, "rb");
	size_t n;

	assert_non_null(fp);
	n = fread(out, 1, size - 1, fp);
	out[n] = '\0';
	assert_int_equal(fclose(fp), 0);
	return n;
}

/* The file name under the spool's folder (tmpdir) holds want, and nothing more. */
static void
assert_spool_file(const char *name, const char *want)
{
	char path[512], back[256];

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	assert_int_equal(read_whole(path, back, sizeof(back)), strlen(want));
	assert_string_equal(back, want);
}

/* The names in dir, but . and .. */
static int
count_names(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
	closedir(d);
	return n;
}

/* A spool in a new tmpdir, with the workers its transactions need. */
struct fixture {
	struct metrics *metrics;
	struct workq *wq;
	struct spool *sp;
};

static void
fixture_open(struct fixture *fx)
{
	char err[256];

	assert_non_null(mkdtemp(tmpdir));
	fx->metrics = metrics_new();
	fx->wq = workq_new(1);
	assert_non_null(fx->sp = spool_open(tmpdir, fx->wq, fx->metrics, err, sizeof(err)));
}

static void
fixture_close(struct fixture *fx)
{
	char cmd[600];

	spool_close(&fx->sp);
	workq_free(&fx->wq);
	metrics_free(&fx->metrics);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	assert_int_equal(system(cmd), 0);
	memcpy(tmpdir + strlen(tmpdir) - 6, "XXXXXX", 6);
}

/* Receives a message under qid, as a session would, to the end of its commit. */
static enum spool_result
commit(struct fixture *fx, const char *qid, const char *content)
{
	struct spool_msg *env = spool_msg_new();
	struct committed c = { 0, SPOOL_OK };
	struct spool_txn *t;

	memcpy(env->qid, qid, QID_LEN + 1);
	env->sender = strdup("a@example.org");
	assert_int_equal(spool_msg_add_rcpt(env, "b@example.net", "b@example.net", NULL), 1);
	t = spool_txn_new(fx->sp, env, NULL, 0);
	assert_int_equal(spool_txn_write(t, content, strlen(content)), 0);
	spool_txn_commit(t, spool_fixture_on_commit, &c);
	spool_fixture_wait(fx->wq, &c.is_done);
	spool_msg_free(&env);
	return c.r;
}

/* A message committed under the id of a queued file: 451 for it, the file untouched. */
static void
test_commit_never_replaces_a_queued_file(void **state)
{
	/* what a queued message's file holds, whatever it is: it must come out the same */
	static const char queued[] = "STERNAQ1 a queued message that no commit may replace\n";
	struct fixture fx;
	char path[512];

	(void)state;
	fixture_open(&fx);
	snprintf(path, sizeof(path), "%s/queue/0123456789ABC", tmpdir);
	write_whole(path, queued, sizeof(queued) - 1);

	/* a temporary failure (451 4.3.0): the client sends it again, under a new id */
	assert_int_equal(commit(&fx, "0123456789ABC",
	    "Subject: new\r\n\r\nsent after the clock was set back\r\n"), SPOOL_ERR_IO);
	assert_spool_file("queue/0123456789ABC", queued);
	snprintf(path, sizeof(path), "%s/queue", tmpdir);
	assert_int_equal(count_names(path), 1);
	/* and the refused message's own file is gone, as any failed one's */
	snprintf(path, sizeof(path), "%s/incoming", tmpdir);
	assert_int_equal(count_names(path), 0);
	fixture_close(&fx);
}

/* What the recovery handed over. */
struct recovered {
	char qids[8][QID_LEN + 1];
	size_t n;
	long count;
	int is_finished;
};

static void
on_found(void *ctx, struct spool_msg *m)
{
	struct recovered *rec = ctx;

	assert_true(rec->n < 8);
	memcpy(rec->qids[rec->n++], m->qid, QID_LEN + 1);
	spool_msg_free(&m);
}

static void
on_finished(void *ctx, long count)
{
	struct recovered *rec = ctx;

	rec->is_finished = 1;
	rec->count = count;
}

/*
 * A message committed after the recovery began, before its listing reads
 * queue/ (as a session can, the ports being open): in queue/ for the
 * listing to see, and still not taken for a queued one (the scheduler would
 * have it twice). A queued id from the future (made before the clock was
 * set back) moves the generator past it.
 */
static void
test_recovery_finds_the_queue_and_not_what_is_committed_meanwhile(void **state)
{
	struct qid_gen gen = { 0 };
	struct recovered rec = { .n = 0 };
	struct spool_recovery *r;
	struct fixture fx;
	char path[512], next[QID_LEN + 1];

	(void)state;
	fixture_open(&fx);
	assert_int_equal(commit(&fx, "F000000000000", "Subject: queued\r\n\r\nbefore\r\n"),
	    SPOOL_OK);
	assert_non_null(r = spool_recovery_new(fx.sp, &gen));
	assert_int_equal(commit(&fx, "0000000000B00", "Subject: new\r\n\r\nmeanwhile\r\n"),
	    SPOOL_OK);
	spool_recovery_start(r, fx.wq, on_found, on_finished, &rec);
	spool_fixture_wait(fx.wq, &rec.is_finished);
	assert_int_equal(rec.count, 1);
	assert_int_equal(rec.n, 1);
	assert_string_equal(rec.qids[0], "F000000000000");
	snprintf(path, sizeof(path), "%s/queue", tmpdir);
	assert_int_equal(count_names(path), 2);
	/* whatever the clock says now, the next id comes after the queued one */
	qid_next(&gen, 1000000, next);
	assert_true(strcmp(next, "F000000000000") > 0);
	spool_recovery_free(&r);
	fixture_close(&fx);
}

/*
 * A file in queue/ that is no queue message goes to corrupt/ under its
 * name; a second one of the same name, found at a later start, beside it
 * (name.1): the first is kept as it was.
 */
static void
test_quarantine_never_replaces_what_corrupt_holds(void **state)
{
	static const char first[] = "the first stray file\n", second[] = "the second one\n";
	struct qid_gen gen = { 0 };
	struct fixture fx;
	char path[512];

	(void)state;
	fixture_open(&fx);
	for (int round = 0; round < 2; round++) {
		struct recovered rec = { .n = 0 };
		struct spool_recovery *r;

		snprintf(path, sizeof(path), "%s/queue/stray", tmpdir);
		write_whole(path, round == 0 ? first : second, strlen(round == 0 ? first : second));
		assert_non_null(r = spool_recovery_new(fx.sp, &gen));
		spool_recovery_start(r, fx.wq, on_found, on_finished, &rec);
		spool_fixture_wait(fx.wq, &rec.is_finished);
		assert_int_equal(rec.count, 0);
		spool_recovery_free(&r);
	}
	assert_spool_file("corrupt/stray", first);
	assert_spool_file("corrupt/stray.1", second);
	snprintf(path, sizeof(path), "%s/queue", tmpdir);
	assert_int_equal(count_names(path), 0);
	fixture_close(&fx);
}

/*
 * A mailbox copy renamed into new/ under a name a message there has
 * already: the copy fails (EEXIST, not renamed), the message in new/ stays
 * byte for byte, and the copy is still in tmp/ for its caller to remove.
 */
static void
test_delivered_copy_never_replaces_a_mailbox_message(void **state)
{
	static const char kept[] = "a message in the mailbox\n", copy[] = "a new copy\n";
	struct fixture fx;
	char path[512];
	int tmp_fd, new_fd, is_renamed = -1;

	(void)state;
	fixture_open(&fx);
	snprintf(path, sizeof(path), "%s/tmp", tmpdir);
	assert_int_equal(mkdir(path, 0700), 0);
	write_whole(strcat(path, "/1.2.host"), copy, strlen(copy));
	snprintf(path, sizeof(path), "%s/new", tmpdir);
	assert_int_equal(mkdir(path, 0700), 0);
	write_whole(strcat(path, "/1.2.host"), kept, strlen(kept));
	snprintf(path, sizeof(path), "%s/tmp", tmpdir);
	assert_true((tmp_fd = open(path, O_RDONLY | O_DIRECTORY)) != -1);
	snprintf(path, sizeof(path), "%s/new", tmpdir);
	assert_true((new_fd = open(path, O_RDONLY | O_DIRECTORY)) != -1);
	errno = 0;
	assert_int_equal(spool_deliver_rename(fx.sp, tmp_fd, "1.2.host", new_fd, "1.2.host",
	    "0000000000000000", 0, &is_renamed), -1);
	assert_int_equal(errno, EEXIST);
	assert_int_equal(is_renamed, 0);
	assert_spool_file("new/1.2.host", kept);
	assert_spool_file("tmp/1.2.host", copy);
	close(tmp_fd);
	close(new_fd);
	fixture_close(&fx);
}

static atomic_int marks_flushed;

/* The spool's flush thread: the marks are durable. */
static void
on_marks_flushed(void *ctx)
{
	atomic_fetch_add((atomic_int *)ctx, 1);
}

/*
 * Three messages deferred together and one that is not in the queue: the
 * callback comes once, after the three have their T records on disk; the
 * missing one has its error, and a set with no marks writes nothing.
 */
static void
test_many_messages_marked_together(void **state)
{
	static const char *const qids[] = { "0000000000A01", "0000000000A02",
		"0000000000A03" };
	struct spool_mark mark = { .i = 0, .attempts = 2, .next_try_s = 4102444800u,
		.reason = "4.4.1 dead.test: connection timed out" };
	struct spool_mark_set sets[5];
	struct spool_msg *m;
	struct fixture fx;
	char err[256];

	(void)state;
	fixture_open(&fx);
	for (size_t k = 0; k < 3; k++) {
		assert_int_equal(commit(&fx, qids[k], "Subject: x\r\n\r\ndeferred\r\n"),
		    SPOOL_OK);
		sets[k] = (struct spool_mark_set){ .qid = qids[k], .marks = &mark, .n = 1 };
	}
	sets[3] = (struct spool_mark_set){ .qid = "0000000000A09", .marks = &mark, .n = 1 };
	sets[4] = (struct spool_mark_set){ .qid = qids[0], .marks = &mark, .n = 0 };
	atomic_store(&marks_flushed, 0);
	spool_msgs_mark_then(fx.sp, sets, 5, on_marks_flushed, &marks_flushed);
	for (int i = 0; i < 10000 && atomic_load(&marks_flushed) == 0; i++)
		usleep(1000);
	assert_int_equal(atomic_load(&marks_flushed), 1);
	assert_int_equal(sets[3].err, ENOENT);
	assert_int_equal(sets[4].err, 0);
	for (size_t k = 0; k < 3; k++) {
		assert_int_equal(sets[k].err, 0);
		assert_non_null(m = spool_msg_load(fx.sp, qids[k], err, sizeof(err)));
		assert_int_equal(m->rcpts[0].attempts, 2);
		assert_true(m->rcpts[0].next_try_s == 4102444800u);
		assert_string_equal(m->rcpts[0].reason, mark.reason);
		assert_false(m->rcpts[0].is_done);
		spool_msg_free(&m);
	}
	/* nothing written, nothing flushed: the callback at once, on this thread */
	atomic_store(&marks_flushed, 0);
	spool_msgs_mark_then(fx.sp, &sets[4], 1, on_marks_flushed, &marks_flushed);
	assert_int_equal(atomic_load(&marks_flushed), 1);
	fixture_close(&fx);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_commit_never_replaces_a_queued_file),
		cmocka_unit_test(test_recovery_finds_the_queue_and_not_what_is_committed_meanwhile),
		cmocka_unit_test(test_quarantine_never_replaces_what_corrupt_holds),
		cmocka_unit_test(test_many_messages_marked_together),
		cmocka_unit_test(test_delivered_copy_never_replaces_a_mailbox_message),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
