/*
 * test_limits.c - the rate counters (policy/ratelimit.c: slots at window
 * edges, retry times, LRU eviction, the bound on entries and memory) and
 * the limits built on them (policy/limits.c: client prefixes, sessions at
 * once, each rate limit reached and recovered, the trusted exemption, what
 * is counted), and the limits { } keys of the configuration.
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
#include "policy/limits.h"
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

/* ---- limits: clients by prefix ---- */

static const struct {
	const char *ip;
	unsigned v4, v6;
	const char *want;	/* NULL: not an address */
} nets[] = {
	{ "192.0.2.77", 32, 64, "192.0.2.77/32" },
	{ "192.0.2.77", 24, 64, "192.0.2.0/24" },
	{ "192.0.2.77", 20, 64, "192.0.0.0/20" },
	{ "::ffff:192.0.2.77", 24, 64, "192.0.2.0/24" },	/* mapped: the IPv4 prefix */
	{ "::FFFF:192.0.2.77", 32, 128, "192.0.2.77/32" },
	{ "2001:db8:1:2:3:4:5:6", 24, 64, "2001:db8:1:2::/64" },
	{ "2001:db8:1:2:3:4:5:6", 24, 48, "2001:db8:1::/48" },
	{ "2001:db8:1:2:3:4:5:6", 24, 56, "2001:db8:1::/56" },
	{ "2001:db8:1:2ff:3:4:5:6", 24, 60, "2001:db8:1:2f0::/60" },
	{ "2001:db8::1", 24, 128, "2001:db8::1/128" },
	{ "::1", 24, 64, "::/64" },
	{ "::ffff:0:192.0.2.1", 24, 80, "::ffff:0:0:0/80" },	/* not mapped: a 0 more */
	{ "192.0.2.256", 24, 64, NULL },
	{ "mx.example.test", 24, 64, NULL },
	{ "", 24, 64, NULL },
	{ "[::1]", 24, 64, NULL },
};

static void
test_client_net(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(nets); i++) {
		struct cidr net;
		char text[64];
		int rc = policy_limits_client_net(nets[i].ip, nets[i].v4, nets[i].v6, &net);

		if (nets[i].want == NULL) {
			assert_int_equal(rc, -1);
			continue;
		}
		assert_int_equal(rc, 0);
		assert_int_equal(cidr_format(&net, text, sizeof(text)), 0);
		if (strcmp(text, nets[i].want) != 0)
			fail_msg("%s /%u /%u: got %s, want %s", nets[i].ip, nets[i].v4, nets[i].v6,
			    text, nets[i].want);
	}
}

/* ---- limits: sessions at once ---- */

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

static struct policy_limits *
limits_from(const char *text)
{
	char err[512];
	struct config *c = load_text(text, err, sizeof(err));
	struct policy_limits *l;

	if (c == NULL)
		fail_msg("%s", err);
	l = policy_limits_new(c);
	config_free(&c);	/* the limits keep nothing of it */
	return l;
}

static void
assert_verdict(const struct verdict *v, int code, const char *dsn, const char *rule,
    const char *text)
{
	assert_int_equal(v->kind, VERDICT_TEMPFAIL);
	assert_int_equal(v->code, code);
	assert_string_equal(v->dsn, dsn);
	assert_string_equal(v->rule, rule);
	assert_string_equal(v->text, text);
}

static void
test_sessions(void **state)
{
	struct policy_limits *l = limits_from("limits { client_connections = 2; client_prefix_v4 = 24; }");
	size_t bytes0 = policy_limits_bytes(l);
	struct verdict v;

	(void)state;
	assert_int_equal(policy_limits_up(l, "192.0.2.1", 0, &v), 0);
	assert_int_equal(v.kind, VERDICT_ACCEPT);
	assert_int_equal(policy_limits_up(l, "192.0.2.2", 0, &v), 0);	/* the same /24 */
	assert_int_equal(policy_limits_up(l, "::ffff:192.0.2.3", 0, &v), 1);
	assert_verdict(&v, 421, "4.7.0", "limit:client_connections",
	    "Too many connections from your address, try again later");
	assert_int_equal(policy_limits_sessions(l, "192.0.2.200"), 3);	/* the refused one too */
	assert_int_equal(policy_limits_up(l, "192.0.3.1", 0, &v), 0);	/* another /24 */
	/* trusted: counted, never refused */
	assert_int_equal(policy_limits_up(l, "192.0.2.4", 1, &v), 0);
	assert_int_equal(policy_limits_sessions(l, "192.0.2.0"), 4);
	policy_limits_down(l, "::ffff:192.0.2.3");
	policy_limits_down(l, "192.0.2.4");
	policy_limits_down(l, "192.0.2.1");
	assert_int_equal(policy_limits_up(l, "192.0.2.9", 0, &v), 0);	/* room again */
	policy_limits_down(l, "192.0.2.9");
	policy_limits_down(l, "192.0.2.2");
	policy_limits_down(l, "192.0.3.1");
	assert_int_equal(policy_limits_sessions(l, "192.0.2.1"), 0);
	assert_int_equal(policy_limits_bytes(l), bytes0);	/* the entries went with their sessions */
	/* not an address (a local entrance): neither counted nor refused */
	assert_int_equal(policy_limits_up(l, "local", 0, &v), 0);
	assert_int_equal(policy_limits_up(l, "local", 0, &v), 0);
	assert_int_equal(policy_limits_up(l, "local", 0, &v), 0);
	policy_limits_down(l, "local");
	policy_limits_free(&l);
	assert_null(l);
	policy_limits_free(&l);

	/* 0: no limit, nothing counted */
	l = limits_from("limits { client_connections = 0 }");
	for (int i = 0; i < 100; i++)
		assert_int_equal(policy_limits_up(l, "192.0.2.1", 0, &v), 0);
	assert_int_equal(policy_limits_sessions(l, "192.0.2.1"), 0);
	for (int i = 0; i < 100; i++)
		policy_limits_down(l, "192.0.2.1");
	policy_limits_free(&l);
}

/* ---- limits: rates per stage ---- */

static struct smtp_addr
addr(const char *s)
{
	struct smtp_addr a;

	assert_int_equal(smtp_addr_parse(slice_str(s), 1, &a), SMTP_ADDR_OK);
	return a;
}

static struct smtp_ask
ask(enum smtp_stage stage, const char *ip, const char *user, const struct smtp_addr *from)
{
	return (struct smtp_ask){ .stage = stage, .id = "c1", .qid = "", .client_ip = ip,
	    .local_ip = "127.0.0.1", .helo = "client.test", .auth_user = user, .sender = from };
}

static int
judge(struct policy_limits *l, struct smtp_ask req, int64_t now, struct verdict *v)
{
	return policy_limits_judge(l, &req, now, v);
}

static void
test_connect_rate(void **state)
{
	struct policy_limits *l = limits_from("limits { client_connections_per_minute = 2; }");
	struct smtp_ask trusted = ask(SMTP_STAGE_CONNECT, "192.0.2.1", NULL, NULL);
	struct verdict v;

	(void)state;
	trusted.is_trusted = 1;
	assert_int_equal(judge(l, ask(SMTP_STAGE_CONNECT, "2001:db8:1:2::1", NULL, NULL), 0, &v), 0);
	assert_int_equal(v.kind, VERDICT_ACCEPT);
	assert_int_equal(judge(l, ask(SMTP_STAGE_CONNECT, "2001:db8:1:2:ffff::9", NULL, NULL), 1, &v),
	    0);
	/* the same /64: the third in a minute */
	assert_int_equal(judge(l, ask(SMTP_STAGE_CONNECT, "2001:db8:1:2::77", NULL, NULL), 2, &v), 1);
	assert_verdict(&v, 421, "4.7.0", "limit:client_connections_per_minute",
	    "Too many connections from your address, try again later");
	/* the next /64, and a trusted client, are not that client */
	assert_int_equal(judge(l, ask(SMTP_STAGE_CONNECT, "2001:db8:1:3::1", NULL, NULL), 2, &v), 0);
	for (int i = 0; i < 10; i++)
		assert_int_equal(policy_limits_judge(l, &trusted, 2, &v), 0);
	/* recovered once the window (and the slot beyond it) has passed */
	assert_int_equal(judge(l, ask(SMTP_STAGE_CONNECT, "2001:db8:1:2::1", NULL, NULL), 70 * SEC - 1,
	    &v), 1);
	assert_int_equal(judge(l, ask(SMTP_STAGE_CONNECT, "2001:db8:1:2::1", NULL, NULL), 70 * SEC, &v),
	    0);
	/* the stages that have no limit: accepted, nothing counted */
	for (enum smtp_stage st = SMTP_STAGE_HELO; st <= SMTP_STAGE_EOM; st++)
		assert_int_equal(judge(l, ask(st, "2001:db8:1:2::1", NULL, NULL), 70 * SEC, &v), 0);
	assert_int_equal(judge(l, ask(SMTP_STAGE_CONNECT, "2001:db8:1:2::1", NULL, NULL), 70 * SEC, &v),
	    0);
	assert_int_equal(judge(l, ask(SMTP_STAGE_CONNECT, "2001:db8:1:2::1", NULL, NULL), 70 * SEC, &v),
	    1);
	policy_limits_free(&l);
}

static void
test_mail_rates(void **state)
{
	struct policy_limits *l = limits_from("limits { client_messages_per_minute = 3; "
	    "user_messages_per_hour = 1; sender_domain_messages_per_hour = 4; }");
	struct smtp_addr from = addr("a@Example.ORG"), other = addr("b@other.test"), null = addr("");
	struct smtp_ask tr = ask(SMTP_STAGE_MAIL, "192.0.2.50", NULL, &other);
	struct verdict v;

	(void)state;
	assert_int_equal(judge(l, ask(SMTP_STAGE_MAIL, "192.0.2.1", "alice", &from), 0, &v), 0);
	/* the user's second in the hour: refused, and counted by neither other limit */
	assert_int_equal(judge(l, ask(SMTP_STAGE_MAIL, "192.0.2.1", "alice", &from), 0, &v), 1);
	assert_verdict(&v, 450, "4.7.1", "limit:user_messages_per_hour",
	    "Error: too many messages from your account, try again later");
	assert_int_equal(judge(l, ask(SMTP_STAGE_MAIL, "192.0.2.1", "bob", &from), 0, &v), 0);
	assert_int_equal(judge(l, ask(SMTP_STAGE_MAIL, "192.0.2.1", NULL, &null), 0, &v), 0);
	/* the client's fourth in the minute */
	assert_int_equal(judge(l, ask(SMTP_STAGE_MAIL, "192.0.2.1", NULL, &from), 0, &v), 1);
	assert_verdict(&v, 450, "4.7.1", "limit:client_messages_per_minute",
	    "Error: too many messages from your address, try again later");
	/* example.org has sent 2 (the refused ones not counted); 2 more from elsewhere, then no */
	assert_int_equal(judge(l, ask(SMTP_STAGE_MAIL, "192.0.2.2", NULL, &from), 0, &v), 0);
	assert_int_equal(judge(l, ask(SMTP_STAGE_MAIL, "192.0.2.3", NULL, &from), 0, &v), 0);
	assert_int_equal(judge(l, ask(SMTP_STAGE_MAIL, "192.0.2.4", NULL, &from), 0, &v), 1);
	assert_verdict(&v, 450, "4.7.1", "limit:sender_domain_messages_per_hour",
	    "Error: too many messages from your sender domain, try again later");
	/* a trusted client: free of its own limit, not of the user's or the domain's */
	tr.is_trusted = 1;
	for (int i = 0; i < 4; i++)
		assert_int_equal(policy_limits_judge(l, &tr, 0, &v), 0);
	assert_int_equal(policy_limits_judge(l, &tr, 0, &v), 1);
	assert_string_equal(v.rule, "limit:sender_domain_messages_per_hour");
	tr.sender = &null;
	tr.auth_user = "bob";
	assert_int_equal(policy_limits_judge(l, &tr, 0, &v), 1);
	assert_string_equal(v.rule, "limit:user_messages_per_hour");
	/* each recovers after its window */
	assert_int_equal(judge(l, ask(SMTP_STAGE_MAIL, "192.0.2.1", NULL, &null), 70 * SEC - 1, &v), 1);
	assert_int_equal(judge(l, ask(SMTP_STAGE_MAIL, "192.0.2.1", NULL, &null), 70 * SEC, &v), 0);
	assert_int_equal(judge(l, ask(SMTP_STAGE_MAIL, "192.0.2.9", "alice", &null), 70 * MIN - 1, &v),
	    1);
	assert_int_equal(judge(l, ask(SMTP_STAGE_MAIL, "192.0.2.9", "alice", &null), 70 * MIN, &v), 0);
	assert_int_equal(judge(l, ask(SMTP_STAGE_MAIL, "192.0.2.9", NULL, &from), 70 * MIN - 1, &v), 1);
	assert_int_equal(judge(l, ask(SMTP_STAGE_MAIL, "192.0.2.9", NULL, &from), 70 * MIN, &v), 0);
	policy_limits_free(&l);
}

static void
test_rcpt_rate(void **state)
{
	struct policy_limits *l = limits_from("limits { client_recipients_per_minute = 5; "
	    "client_prefix_v4 = 24 }");
	struct smtp_ask req = ask(SMTP_STAGE_RCPT, "198.51.100.7", NULL, NULL);
	struct smtp_addr to = addr("x@example.test");
	struct verdict v;

	(void)state;
	req.rcpt = &to;
	for (int i = 0; i < 5; i++)
		assert_int_equal(policy_limits_judge(l, &req, i * SEC, &v), 0);
	req.client_ip = "198.51.100.200";	/* the same /24 */
	assert_int_equal(policy_limits_judge(l, &req, 5 * SEC, &v), 1);
	assert_verdict(&v, 450, "4.7.1", "limit:client_recipients_per_minute",
	    "Error: too many recipients from your address, try again later");
	req.is_trusted = 1;
	assert_int_equal(policy_limits_judge(l, &req, 5 * SEC, &v), 0);
	req.is_trusted = 0;
	assert_int_equal(policy_limits_judge(l, &req, 70 * SEC - 1, &v), 1);
	assert_int_equal(policy_limits_judge(l, &req, 70 * SEC, &v), 0);
	policy_limits_free(&l);
}

/* Tables exist for the limits that are set, and no more memory than the bound allows. */
static void
test_limits_memory(void **state)
{
	struct policy_limits *l = limits_from("");
	struct verdict v;
	char ip[64];

	(void)state;
	assert_int_equal(policy_limits_max_bytes(l), 0);	/* the default sets no rate limit */
	policy_limits_free(&l);
	l = limits_from("limits { client_messages_per_minute = 1; table_entries = 1000 }");
	assert_int_equal(policy_limits_max_bytes(l), 1000 * ratelimit_bytes_per_entry());
	for (unsigned i = 0; i < 100000; i++) {
		struct smtp_addr from = addr("a@example.org");

		snprintf(ip, sizeof(ip), "2001:db8:%x:%x::1", i >> 16, i & 0xffff);
		assert_int_equal(judge(l, ask(SMTP_STAGE_MAIL, ip, NULL, &from), i, &v), 0);
	}
	assert_true(policy_limits_bytes(l) <= policy_limits_max_bytes(l) + 64 * 1024);
	policy_limits_free(&l);
}

/* ---- the configuration ---- */

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
		cmocka_unit_test(test_client_net),
		cmocka_unit_test(test_sessions),
		cmocka_unit_test(test_connect_rate),
		cmocka_unit_test(test_mail_rates),
		cmocka_unit_test(test_rcpt_rate),
		cmocka_unit_test(test_limits_memory),
		cmocka_unit_test(test_config_keys),
		cmocka_unit_test(test_config_bad_keys),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
