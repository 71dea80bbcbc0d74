/*
 * test_limits.c - the rate counters (policy/ratelimit.c: slots at window
 * edges, retry times, LRU eviction, the bound on entries and memory), and
 * the limits { } keys of the configuration.
 * Time is passed in, so nothing here sleeps.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "config/ucl_int.h"
#include "policy/ratelimit.h"
#include "util/buf.h"
#include "util/siphash.h"
#include "util/xalloc.h"

#define SEC 1000
#define MIN (60 * SEC)
#define HOUR (60 * MIN)
#define K(s) (s), strlen(s)	/* a text key and its length */

/* ---- ratelimit: counting in slots ---- */

/* 3 per minute (slots of 10 s): a burst at a window's end is not followed by another at its start. */
static void
test_rate_edge(void **state)
{
	struct ratelimit *t = ratelimit_new(3, MIN, 100);
	int64_t retry = -1;

	(void)state;
	for (int i = 0; i < 3; i++)
		assert_int_equal(ratelimit_hit(t, K("a"), 59999, &retry), 1);
	assert_int_equal(retry, 0);
	assert_int_equal(ratelimit_hit(t, K("a"), 59999, &retry), 0);
	/* a fixed window would start afresh here and let 3 more through at once */
	assert_int_equal(ratelimit_hit(t, K("a"), 60000, &retry), 0);
	assert_int_equal(retry, 60000);		/* the slot of 50..60 s leaves at 120 s */
	assert_int_equal(ratelimit_hit(t, K("a"), 119999, &retry), 0);
	assert_int_equal(retry, 1);
	assert_int_equal(ratelimit_hit(t, K("a"), 120000, &retry), 1);
	assert_int_equal(retry, 0);
	assert_int_equal(ratelimit_count_of(t, K("a"), 120000), 1);
	/* another key was never touched by any of it */
	assert_int_equal(ratelimit_hit(t, K("b"), 60000, NULL), 1);
	ratelimit_free(&t);
	assert_null(t);
	ratelimit_free(&t);
}

/* The retry time is exact: refused one millisecond before it, allowed at it. */
static void
test_rate_retry(void **state)
{
	struct ratelimit *t = ratelimit_new(4, MIN, 100);
	int64_t retry;

	(void)state;
	/* 1 at 5 s (slot 0), 2 at 25 s (slot 2), 1 at 45 s (slot 4) */
	assert_int_equal(ratelimit_hit(t, K("k"), 5 * SEC, NULL), 1);
	assert_int_equal(ratelimit_hit(t, K("k"), 25 * SEC, NULL), 1);
	assert_int_equal(ratelimit_hit(t, K("k"), 25 * SEC, NULL), 1);
	assert_int_equal(ratelimit_hit(t, K("k"), 45 * SEC, NULL), 1);
	assert_int_equal(ratelimit_check(t, K("k"), 50 * SEC, &retry), 0);
	/* slot 0 leaves at the start of slot 7 (70 s): then 3 < 4 */
	assert_int_equal(retry, 20 * SEC);
	assert_int_equal(ratelimit_check(t, K("k"), 70 * SEC - 1, &retry), 0);
	assert_int_equal(retry, 1);
	assert_int_equal(ratelimit_check(t, K("k"), 70 * SEC, &retry), 1);
	/* checking counted nothing */
	assert_int_equal(ratelimit_count_of(t, K("k"), 70 * SEC), 3);
	ratelimit_free(&t);
}

/*
 * Refused attempts are not counted: a client that keeps trying through
 * its wait gets in when it ends, as one that waited quietly would.
 */
static void
test_rate_refused_not_counted(void **state)
{
	struct ratelimit *t = ratelimit_new(2, MIN, 100);

	(void)state;
	assert_int_equal(ratelimit_hit(t, K("k"), 0, NULL), 1);
	assert_int_equal(ratelimit_hit(t, K("k"), 0, NULL), 1);
	for (int64_t now = 0; now < 70 * SEC; now += 100)
		assert_int_equal(ratelimit_hit(t, K("k"), now, NULL), 0);
	assert_int_equal(ratelimit_hit(t, K("k"), 70 * SEC, NULL), 1);
	ratelimit_free(&t);
}

/*
 * The guarantee, against a random client: no interval of the window's
 * length ever holds more than limit allowed events; and a client asking
 * at a steady rate gets at least 6/7 of the limit.
 */
static void
test_rate_never_over(void **state)
{
	enum { LIMIT = 20, WINDOW = 6000, N = 20000 };
	struct ratelimit *t = ratelimit_new(LIMIT, WINDOW, 10);
	static int64_t allowed[N];
	size_t nallowed = 0, first = 0;
	uint32_t rnd = 12345;
	int64_t now = 0;

	(void)state;
	for (int i = 0; i < N; i++) {
		rnd = rnd * 1103515245u + 12345u;
		now += (rnd >> 16) % 700;	/* bursts and pauses, 0 to 0.7 s apart */
		if (!ratelimit_hit(t, K("c"), now, NULL))
			continue;
		allowed[nallowed++] = now;
		while (allowed[first] <= now - WINDOW)
			first++;
		assert_true(nallowed - first <= LIMIT);
	}
	assert_true(nallowed > N / 20);		/* it did let events through */
	ratelimit_free(&t);

	/* one event asked for every 100 ms = 60 per 6 s window, three times the limit */
	t = ratelimit_new(LIMIT, WINDOW, 10);
	nallowed = 0;
	for (now = 0; now < 600 * SEC; now += 100)
		nallowed += (size_t)ratelimit_hit(t, K("c"), now, NULL);
	/* 100 windows, 6/7 of the limit each, give or take the last */
	assert_true(nallowed * 7 >= 99u * LIMIT * 6);
	assert_true(nallowed <= 100u * LIMIT);
	ratelimit_free(&t);
}

/* A window that 6 does not divide is rounded up (stricter); a clock that steps back changes nothing. */
static void
test_rate_odd_window_and_clock(void **state)
{
	struct ratelimit *t = ratelimit_new(1, 100, 10);	/* slots of 17 ms */
	int64_t retry;

	(void)state;
	assert_int_equal(ratelimit_hit(t, K("k"), 16, NULL), 1);
	assert_int_equal(ratelimit_hit(t, K("k"), 118, &retry), 0);
	assert_int_equal(retry, 1);
	assert_int_equal(ratelimit_hit(t, K("k"), 119, NULL), 1);
	/* the clock goes back an hour: counted into the newest slot, no fresh window */
	assert_int_equal(ratelimit_hit(t, K("k"), 0, NULL), 0);
	assert_int_equal(ratelimit_count_of(t, K("k"), 0), 1);
	ratelimit_free(&t);
}

/* ---- ratelimit: the table ---- */

/* The least recently used key (counted or checked) goes first. */
static void
test_rate_lru(void **state)
{
	struct ratelimit *t = ratelimit_new(10, MIN, 3);

	(void)state;
	ratelimit_count(t, K("a"), 0);
	ratelimit_count(t, K("b"), 1);
	ratelimit_count(t, K("c"), 2);
	assert_int_equal(ratelimit_len(t), 3);
	assert_int_equal(ratelimit_check(t, K("a"), 3, NULL), 1);	/* a is now the newest */
	assert_int_equal(ratelimit_check(t, K("x"), 3, NULL), 1);	/* adds nothing */
	assert_int_equal(ratelimit_len(t), 3);
	ratelimit_count(t, K("d"), 4);					/* b goes */
	assert_int_equal(ratelimit_len(t), 3);
	assert_true(ratelimit_has(t, K("a")) && ratelimit_has(t, K("c")) && ratelimit_has(t, K("d")));
	assert_false(ratelimit_has(t, K("b")));
	ratelimit_count(t, K("e"), 5);					/* then c */
	assert_false(ratelimit_has(t, K("c")));
	ratelimit_count(t, K("a"), 6);
	ratelimit_count(t, K("f"), 7);					/* then d, not a */
	assert_false(ratelimit_has(t, K("d")));
	assert_int_equal(ratelimit_count_of(t, K("a"), 7), 2);
	/* a forgotten key starts afresh */
	ratelimit_count(t, K("b"), 8);
	assert_int_equal(ratelimit_count_of(t, K("b"), 8), 1);
	ratelimit_free(&t);
}

/* Keys are bytes: NULs count, and a long key (kept as its digest) is still itself. */
static void
test_rate_keys(void **state)
{
	struct ratelimit *t = ratelimit_new(1, MIN, 100);
	char long1[300], long2[300], k32[RATELIMIT_KEY_MAX];

	(void)state;
	assert_int_equal(ratelimit_hit(t, "a\0b", 3, 0, NULL), 1);
	assert_int_equal(ratelimit_hit(t, "a\0c", 3, 0, NULL), 1);
	assert_int_equal(ratelimit_hit(t, "a", 1, 0, NULL), 1);
	assert_int_equal(ratelimit_hit(t, "", 0, 0, NULL), 1);
	assert_int_equal(ratelimit_hit(t, "a\0b", 3, 0, NULL), 0);
	memset(long1, 'x', sizeof(long1));
	memcpy(long2, long1, sizeof(long2));
	long2[299] = 'y';			/* the same first 299 bytes */
	memset(k32, 'x', sizeof(k32));		/* the longest key kept as it is */
	assert_int_equal(ratelimit_hit(t, long1, sizeof(long1), 0, NULL), 1);
	assert_int_equal(ratelimit_hit(t, long2, sizeof(long2), 0, NULL), 1);
	assert_int_equal(ratelimit_hit(t, k32, sizeof(k32), 0, NULL), 1);
	assert_int_equal(ratelimit_hit(t, long1, sizeof(long1), 0, NULL), 0);
	assert_int_equal(ratelimit_hit(t, long2, sizeof(long2), 0, NULL), 0);
	assert_int_equal(ratelimit_hit(t, k32, sizeof(k32), 0, NULL), 0);
	assert_int_equal(ratelimit_len(t), 7);
	ratelimit_free(&t);
}

/* The heap in use, as malloc knows it: small blocks and mmap()ed ones. */
static size_t
heap_in_use(void)
{
	struct mallinfo2 m = mallinfo2();

	return m.uordblks + m.hblkhd;	/* large blocks are mmap()ed apart */
}

/*
 * 100,000 client addresses through a table of 10,000: it never holds more,
 * its memory stops growing when full (nothing allocated per hit after),
 * and the heap agrees with what it reports.
 */
static void
test_rate_bound(void **state)
{
	enum { BOUND = 10000, CLIENTS = 100000 };
	size_t heap0 = heap_in_use(), full_bytes = 0, full_heap = 0;
	struct ratelimit *t = ratelimit_new(5, MIN, BOUND);

	(void)state;
	for (uint32_t i = 0; i < CLIENTS; i++) {
		uint8_t key[17] = { '6', 0x20, 0x01, 0x0d, 0xb8 };

		memcpy(key + 5, &i, sizeof(i));
		ratelimit_count(t, key, sizeof(key), i);
		assert_true(ratelimit_len(t) <= BOUND);
		if (i == BOUND) {
			full_bytes = ratelimit_bytes(t);
			full_heap = heap_in_use();
		}
	}
	assert_int_equal(ratelimit_len(t), BOUND);
	assert_int_equal(ratelimit_bytes(t), full_bytes);
	assert_int_equal(heap_in_use(), full_heap);
	/* what it reports is what it took, give or take malloc's own headers */
	assert_true(full_heap - heap0 <= full_bytes + 4096);
	assert_true(full_bytes <= BOUND * ratelimit_bytes_per_entry() + 4096);
	print_message("ratelimit: %zu bytes per entry (entry and buckets); %zu bytes at %d entries\n",
	    ratelimit_bytes_per_entry(), full_bytes, BOUND);
	ratelimit_free(&t);
	assert_true(heap_in_use() <= heap0 + 4096);
}

/* The keyed hash: the same bytes under one key hash alike, under another not. */
static void
test_siphash(void **state)
{
	struct siphash_key a = { 0x0706050403020100ull, 0x0f0e0d0c0b0a0908ull }, b = a;

	(void)state;
	b.k1 ^= 1;
	assert_int_equal(siphash13(&a, "2001:db8::", 10), siphash13(&a, "2001:db8::", 10));
	assert_true(siphash13(&a, "2001:db8::", 10) != siphash13(&b, "2001:db8::", 10));
	assert_true(siphash13(&a, "2001:db8::", 10) != siphash13(&a, "2001:db8:", 9));
	assert_true(siphash13(&a, "", 0) != siphash13(&a, "\0", 1));
}

/* ---- the configuration ---- */

/* A configuration with the defaults of every key (limits { } included), then what a test sets. */
static struct config *
load_text(const char *text, char *err, size_t errsize)
{
	struct buf b;
	struct ucl_doc *d;
	struct config *c = NULL;

	buf_init(&b, SIZE_MAX);
	buf_printf(&b, "server { hostname = \"mx.example.test\"; }\n"
	    "listen \"mx\" { address = \"127.0.0.1:2525\"; }\n%s\n", text);
	d = ucl_parse_mem(b.data, b.len, "t.conf", NULL, NULL, err, errsize);
	if (d != NULL)
		c = config_load_doc(d, "t.conf", err, errsize);
	ucl_doc_free(&d);
	buf_clear(&b);
	return c;
}


static void
test_config_keys(void **state)
{
	char err[512];
	struct config *c = load_text("", err, sizeof(err));

	(void)state;
	assert_non_null(c);
	assert_int_equal(c->client_prefix_v4, 32);
	assert_int_equal(c->client_prefix_v6, 64);
	assert_int_equal(c->client_connections, 50);
	assert_int_equal(c->client_connections_per_minute, 0);
	assert_int_equal(c->client_messages_per_minute, 0);
	assert_int_equal(c->client_recipients_per_minute, 0);
	assert_int_equal(c->user_messages_per_hour, 0);
	assert_int_equal(c->sender_domain_messages_per_hour, 0);
	assert_int_equal(c->limits_table_entries, 100000);
	config_free(&c);

	c = load_text("limits {\n client_prefix_v4 = 24; client_prefix_v6 = 48;\n"
	    " client_connections = 10; client_connections_per_minute = 60;\n"
	    " client_messages_per_minute = 1k; client_recipients_per_minute = 2000;\n"
	    " user_messages_per_hour = 500; sender_domain_messages_per_hour = 0;\n"
	    " table_entries = 20000;\n}", err, sizeof(err));
	if (c == NULL)
		fail_msg("%s", err);
	assert_int_equal(c->client_prefix_v4, 24);
	assert_int_equal(c->client_prefix_v6, 48);
	assert_int_equal(c->client_connections, 10);
	assert_int_equal(c->client_connections_per_minute, 60);
	assert_int_equal(c->client_messages_per_minute, 1000);
	assert_int_equal(c->client_recipients_per_minute, 2000);
	assert_int_equal(c->user_messages_per_hour, 500);
	assert_int_equal(c->sender_domain_messages_per_hour, 0);
	assert_int_equal(c->limits_table_entries, 20000);
	config_free(&c);

	/* the older name of client_connections still works, and 0 is no limit under it too */
	c = load_text("server { max_sessions_per_client = 7 }", err, sizeof(err));
	assert_non_null(c);
	assert_int_equal(c->client_connections, 7);
	config_free(&c);
	c = load_text("server { max_sessions_per_client = 0 }", err, sizeof(err));
	assert_non_null(c);
	assert_int_equal(c->client_connections, 0);
	config_free(&c);
}

static const struct {
	const char *text;
	const char *want;
} bad_keys[] = {
	{ "server { max_sessions_per_client = 7 }\nlimits { client_connections = 8 }",
	    "t.conf:4: limits.client_connections: also set as server.max_sessions_per_client at "
	    "t.conf:3 (two names of one key: keep one)" },
	/* the server section comes first in the walk, having been opened first (line 1) */
	{ "limits { client_connections = 8 }\nserver { max_sessions_per_client = 8 }",
	    "t.conf:3: limits.client_connections: also set as server.max_sessions_per_client at "
	    "t.conf:4 (two names of one key: keep one)" },
	{ "limits { client_prefix_v4 = 7 }", "t.conf:3: limits.client_prefix_v4: must be at least 8" },
	{ "limits { client_prefix_v4 = 33 }",
	    "t.conf:3: limits.client_prefix_v4: must be at most 32" },
	{ "limits { client_prefix_v6 = 15 }",
	    "t.conf:3: limits.client_prefix_v6: must be at least 16" },
	{ "limits { client_prefix_v6 = 129 }",
	    "t.conf:3: limits.client_prefix_v6: must be at most 128" },
	{ "limits { table_entries = 99 }", "t.conf:3: limits.table_entries: must be at least 100" },
	{ "limits { client_messages_per_minute = 1000001 }",
	    "t.conf:3: limits.client_messages_per_minute: must be at most 1000000" },
	{ "limits { client_messages_per_minute = 1min }",
	    "t.conf:3: limits.client_messages_per_minute: expected a number, not a duration" },
	{ "limits { client_message_per_minute = 5 }",
	    "t.conf:3: unknown key 'limits.client_message_per_minute' (did you mean "
	    "'limits.client_messages_per_minute'?)" },
	{ "server { client_connections = 5 }",
	    "t.conf:3: unknown key 'server.client_connections' (did you mean "
	    "'limits.client_connections'?)" },
};

static void
test_config_bad_keys(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(bad_keys); i++) {
		char err[512] = "";
		struct config *c = load_text(bad_keys[i].text, err, sizeof(err));

		if (c != NULL)
			fail_msg("%s: loaded", bad_keys[i].text);
		if (strcmp(err, bad_keys[i].want) != 0)
			fail_msg("%s\n want: %s\n  got: %s", bad_keys[i].text, bad_keys[i].want, err);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rate_edge),
		cmocka_unit_test(test_rate_retry),
		cmocka_unit_test(test_rate_refused_not_counted),
		cmocka_unit_test(test_rate_never_over),
		cmocka_unit_test(test_rate_odd_window_and_clock),
		cmocka_unit_test(test_rate_lru),
		cmocka_unit_test(test_rate_keys),
		cmocka_unit_test(test_rate_bound),
		cmocka_unit_test(test_siphash),
		cmocka_unit_test(test_config_keys),
		cmocka_unit_test(test_config_bad_keys),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
