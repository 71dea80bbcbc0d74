/*
 * test_spool.c - the spool's commit never replaces a queued file: a new
 * message whose queue id is already a file in queue/ (a clock set back)
 * fails with a temporary error, and the queued file stays byte for byte.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <unistd.h>

#include <cmocka.h>

#include "metrics/metrics.h"
#include "spool/spool.h"
#include "util/qid.h"
#include "util/workq.h"

static char tmpdir[] = "/tmp/sterna-test-spool-XXXXXX";

struct committed {
	int is_done;
	enum spool_result r;
};

static void
on_commit(void *ctx, enum spool_result r)
{
	struct committed *c = ctx;

	c->is_done = 1;
	c->r = r;
}

/* The loop's part, done here by hand: the workers' completions until the commit's. */
static void
run_until(struct workq *wq, const struct committed *c)
{
	for (int i = 0; i < 10000 && !c->is_done; i++) {
		struct pollfd pfd = { .fd = workq_fd(wq), .events = POLLIN };

		(void)poll(&pfd, 1, 10);
		workq_run_done(wq);
	}
	assert_true(c->is_done);
}

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

/* A message committed under the id of a queued file: 451 for it, the file untouched. */
static void
test_commit_never_replaces_a_queued_file(void **state)
{
	/* what a queued message's file holds, whatever it is: it must come out the same */
	static const char queued[] = "STERNAQ1 a queued message that no commit may replace\n";
	static const char content[] = "Subject: new\r\n\r\nsent after the clock was set back\r\n";
	struct metrics *metrics = metrics_new();
	struct workq *wq = workq_new(1);
	struct spool_msg *env = spool_msg_new();
	struct committed c = { 0, SPOOL_OK };
	struct spool_txn *t;
	struct spool *sp;
	char err[256], path[512], back[256], cmd[600];

	(void)state;
	assert_non_null(mkdtemp(tmpdir));
	assert_non_null(sp = spool_open(tmpdir, wq, metrics, err, sizeof(err)));
	snprintf(path, sizeof(path), "%s/queue/0123456789ABC", tmpdir);
	write_whole(path, queued, sizeof(queued) - 1);

	memcpy(env->qid, "0123456789ABC", QID_LEN + 1);
	env->sender = strdup("a@example.org");
	assert_int_equal(spool_msg_add_rcpt(env, "b@example.net", "b@example.net", NULL), 1);
	t = spool_txn_new(sp, env, NULL, 0);
	assert_int_equal(spool_txn_write(t, content, sizeof(content) - 1), 0);
	spool_txn_commit(t, on_commit, &c);
	run_until(wq, &c);

	/* a temporary failure (451 4.3.0): the client sends it again, under a new id */
	assert_int_equal(c.r, SPOOL_ERR_IO);
	assert_int_equal(read_whole(path, back, sizeof(back)), sizeof(queued) - 1);
	assert_string_equal(back, queued);
	snprintf(path, sizeof(path), "%s/queue", tmpdir);
	assert_int_equal(count_names(path), 1);
	/* and the refused message's own file is gone, as any failed one's */
	snprintf(path, sizeof(path), "%s/incoming", tmpdir);
	assert_int_equal(count_names(path), 0);

	spool_msg_free(&env);
	spool_close(&sp);
	workq_free(&wq);
	metrics_free(&metrics);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	assert_int_equal(system(cmd), 0);
	memcpy(tmpdir + strlen(tmpdir) - 6, "XXXXXX", 6);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_commit_never_replaces_a_queued_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
