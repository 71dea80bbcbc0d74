/*
 * test_idempotency.c - the Idempotency-Key table and its journal
 * (src/http/idempotency.c): a reply kept, replayed and refused for another
 * body; the keys read back from the journal after a reopen (a single
 * message, a batch with a message the queue never took, a line a crash
 * cut short, lines past 24 hours); the envelope's api_idem given back at
 * recovery and written to the journal when it lacks it, unknown keys
 * waiting until the queue is read back; the bounds.
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
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "http/idempotency.h"
#include "spool/spool.h"

#define HASH_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define HASH_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define KEY_ID "k7d2mq4xj3fz5a6b"

static const char *const qids[] = { "6C7EAJ89TX000", "6C7EAJ89TX001", "6C7EAJ89TX002" };

static int
dir_setup(void **state)
{
	char *d = malloc(64);

	snprintf(d, 64, "/tmp/sterna-idem-XXXXXX");
	assert_non_null(mkdtemp(d));
	*state = d;
	return 0;
}

static int
dir_teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", (char *)*state);
	assert_int_equal(system(cmd), 0);
	free(*state);
	return 0;
}

/* The journal in dir read back, and the queue (none here) too. */
static struct idem *
open_idem(const char *dir, size_t max_entries)
{
	char err[256];
	struct idem *t = idem_open(dir, max_entries, 1u << 30, err, sizeof(err));

	if (t == NULL)
		fail_msg("%s", err);
	idem_recovery_over(t, 1);
	return t;
}

static uint64_t
now_s(void)
{
	return (uint64_t)time(NULL);
}

/* A request of n messages (0: a single one) answered as the API would, journal and all. */
static json_t *
answer(struct idem *t, const char *key, const char *hash, size_t n, size_t taken)
{
	struct idem_msg m = { .key_id = KEY_ID, .client_key = key, .hash = hash, .n = n,
		.time_s = now_s() };
	json_t *reply, *msgs = json_array();
	int status;

	assert_int_equal(idem_begin(t, KEY_ID, key, hash, now_s(), &status, &reply), IDEM_NEW);
	for (size_t i = 0; i < (n ? n : 1); i++) {
		char to[48];

		snprintf(to, sizeof(to), "r%zu@example.test", i);
		if (n > 0 && i >= taken) {
			json_array_append_new(msgs, json_pack("{s:s, s:{s:s, s:s}}", "to", to, "error",
			    "code", "unavailable", "message", "the queue could not take this message"));
			continue;
		}
		m.i = i;
		m.to = to;
		m.qid = qids[i];
		idem_committed(t, &m);
		json_array_append_new(msgs, json_pack("{s:s, s:s}", "id", qids[i], "to", to));
	}
	reply = n == 0 ? json_pack("{s:s}", "id", qids[0]) : json_pack("{s:O}", "messages", msgs);
	json_decref(msgs);
	idem_end(t, KEY_ID, key, 202, reply);
	return reply;
}

static json_t *
replay(struct idem *t, const char *key, const char *hash)
{
	json_t *reply = NULL;
	int status = 0;

	assert_int_equal(idem_begin(t, KEY_ID, key, hash, now_s(), &status, &reply), IDEM_REPLAY);
	assert_int_equal(status, 202);
	return reply;
}

static void
test_kept_and_read_back(void **state)
{
	const char *dir = *state;
	struct idem *t = open_idem(dir, 100);
	json_t *one = answer(t, "order-1", HASH_A, 0, 0), *batch = answer(t, "b", HASH_A, 3, 2);
	json_t *got, *reply = NULL;
	int status;

	got = replay(t, "order-1", HASH_A);
	assert_true(json_equal(got, one));
	json_decref(got);
	assert_int_equal(idem_begin(t, KEY_ID, "order-1", HASH_B, now_s(), &status, &reply),
	    IDEM_CONFLICT);
	/* a second request while the first is out */
	assert_int_equal(idem_begin(t, KEY_ID, "out", HASH_A, now_s(), &status, &reply), IDEM_NEW);
	assert_int_equal(idem_begin(t, KEY_ID, "out", HASH_A, now_s(), &status, &reply),
	    IDEM_BUSY);
	/* refused: nothing kept, the key may be used again */
	idem_end(t, KEY_ID, "out", 0, NULL);
	assert_int_equal(idem_begin(t, KEY_ID, "out", HASH_B, now_s(), &status, &reply), IDEM_NEW);
	idem_free(&t);
	assert_null(t);

	/* read back from the journal: the same replies */
	t = open_idem(dir, 100);
	got = replay(t, "order-1", HASH_A);
	assert_true(json_equal(got, one));
	json_decref(got);
	assert_int_equal(idem_begin(t, KEY_ID, "order-1", HASH_B, now_s(), &status, &reply),
	    IDEM_CONFLICT);
	got = replay(t, "b", HASH_A);
	/* the message the queue did not take: an error still, its address unknown now */
	assert_int_equal(json_array_size(json_object_get(got, "messages")), 3);
	for (size_t i = 0; i < 2; i++)
		assert_true(json_equal(json_array_get(json_object_get(got, "messages"), i),
		    json_array_get(json_object_get(batch, "messages"), i)));
	assert_true(json_is_null(json_object_get(json_array_get(json_object_get(got, "messages"),
	    2), "to")));
	assert_string_equal(json_string_value(json_object_get(json_object_get(json_array_get(
	    json_object_get(got, "messages"), 2), "error"), "code")), "unavailable");
	json_decref(got);
	/* the refused one was never written */
	assert_int_equal(idem_begin(t, KEY_ID, "out", HASH_A, now_s(), &status, &reply), IDEM_NEW);
	json_decref(one);
	json_decref(batch);
	idem_free(&t);
}

/* The journal's file of this hour. */
static void
journal_path(const char *dir, char *out, size_t size)
{
	snprintf(out, size, "%s/%010llu.jsonl", dir, (unsigned long long)(now_s() / 3600));
}

static void
test_torn_and_old_lines(void **state)
{
	const char *dir = *state;
	struct idem *t = open_idem(dir, 100);
	json_t *one = answer(t, "k1", HASH_A, 0, 0), *got, *reply;
	char path[256], old[512];
	int fd, status;

	idem_free(&t);
	journal_path(dir, path, sizeof(path));
	fd = open(path, O_WRONLY | O_APPEND);
	assert_true(fd >= 0);
	/* a line of two days ago, then one a crash cut short */
	snprintf(old, sizeof(old), "{\"t\":%llu,\"k\":\"%s\",\"key\":\"k2\",\"h\":\"%s\",\"n\":0,"
	    "\"i\":0,\"id\":\"%s\"}\n{\"t\":1,\"k\"", (unsigned long long)(now_s() - 2 * 86400),
	    KEY_ID, HASH_A, qids[1]);
	assert_int_equal(write(fd, old, strlen(old)), (ssize_t)strlen(old));
	close(fd);
	t = open_idem(dir, 100);
	got = replay(t, "k1", HASH_A);
	assert_true(json_equal(got, one));
	json_decref(got);
	assert_int_equal(idem_begin(t, KEY_ID, "k2", HASH_A, now_s(), &status, &reply), IDEM_NEW);
	/* the torn line is gone, so the next line starts a line of its own */
	json_decref(answer(t, "k3", HASH_A, 0, 0));
	idem_free(&t);
	t = open_idem(dir, 100);
	json_decref(replay(t, "k3", HASH_A));
	json_decref(replay(t, "k1", HASH_A));
	json_decref(one);
	idem_free(&t);
}

static void
on_read(void *ctx)
{
	(*(int *)ctx)++;
}

static void
test_recovered_from_the_envelope(void **state)
{
	const char *dir = *state;
	char err[256];
	struct idem *t = idem_open(dir, 100, 1u << 30, err, sizeof(err));
	struct spool_msg *m = spool_msg_new();
	struct idem_msg im = { .key_id = KEY_ID, .client_key = "env", .hash = HASH_B };
	json_t *got, *reply;
	int status, told = 0;

	assert_non_null(t);
	idem_set_waiter(t, on_read, &told);
	/* while the queue is read back, a key the table lacks may be in it: wait */
	assert_int_equal(idem_begin(t, KEY_ID, "env", HASH_B, now_s(), &status, &reply),
	    IDEM_WAIT);

	memcpy(m->qid, qids[2], sizeof(m->qid));
	m->arrival_us = now_s() * 1000000u;
	m->api_idem = idem_msg_text(&im);
	assert_non_null(m->api_idem);
	assert_null(strstr(m->api_idem, "\"id\""));	/* the queue id is the file's */
	idem_recovered(t, m, 1);	/* durable when it returns */
	idem_recovery_over(t, 1);
	assert_int_equal(told, 1);
	idem_recovery_over(t, 0);	/* once */
	assert_int_equal(told, 1);
	got = replay(t, "env", HASH_B);
	assert_string_equal(json_string_value(json_object_get(got, "id")), qids[2]);
	json_decref(got);
	idem_free(&t);
	/* written to the journal: known without the envelope now */
	t = open_idem(dir, 100);
	got = replay(t, "env", HASH_B);
	assert_string_equal(json_string_value(json_object_get(got, "id")), qids[2]);
	json_decref(got);
	/* an envelope of more than 24 hours ago, or without a key, gives nothing */
	free(m->api_idem);
	im.client_key = "stale";
	m->api_idem = idem_msg_text(&im);
	m->arrival_us = (now_s() - 25 * 3600) * 1000000u;
	idem_recovered(t, m, 0);
	assert_int_equal(idem_begin(t, KEY_ID, "stale", HASH_B, now_s(), &status, &reply),
	    IDEM_NEW);
	free(m->api_idem);
	m->api_idem = strdup("{\"k\":1}");
	m->arrival_us = now_s() * 1000000u;
	idem_recovered(t, m, 0);
	spool_msg_free(&m);
	idem_free(&t);
	/* a stop before the queue is read whole: unknown keys cannot be told apart now */
	t = idem_open(dir, 100, 1u << 30, err, sizeof(err));
	idem_recovery_over(t, 0);
	assert_int_equal(idem_begin(t, KEY_ID, "new", HASH_B, now_s(), &status, &reply),
	    IDEM_UNAVAILABLE);
	json_decref(replay(t, "env", HASH_B));
	idem_free(&t);
}

static void
test_bounded(void **state)
{
	const char *dir = *state;
	struct idem *t = open_idem(dir, 2);
	json_t *reply;
	int status;

	json_decref(answer(t, "a", HASH_A, 0, 0));
	json_decref(answer(t, "b", HASH_A, 0, 0));
	json_decref(answer(t, "c", HASH_A, 0, 0));
	/* the oldest went first */
	assert_int_equal(idem_begin(t, KEY_ID, "a", HASH_B, now_s(), &status, &reply), IDEM_NEW);
	json_decref(replay(t, "c", HASH_A));
	/* 24 hours on, nothing is kept */
	assert_int_equal(idem_begin(t, KEY_ID, "c", HASH_B, now_s() + IDEM_KEEP_S, &status,
	    &reply), IDEM_NEW);
	idem_free(&t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_kept_and_read_back, dir_setup, dir_teardown),
		cmocka_unit_test_setup_teardown(test_torn_and_old_lines, dir_setup, dir_teardown),
		cmocka_unit_test_setup_teardown(test_recovered_from_the_envelope, dir_setup,
		    dir_teardown),
		cmocka_unit_test_setup_teardown(test_bounded, dir_setup, dir_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
