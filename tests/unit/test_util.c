/*
 * test_util.c - the small and boring parts (src/util): buf's ceiling,
 * slices and ASCII helpers, queue ids (order, validity, time round trip,
 * restart after ids found on disk), CRC-32C, log_quote(), the nesting of
 * JSON text (jdepth), the worker pool's completions coming back to the
 * calling thread, mkdir_p's modes whatever the umask, and the intrusive
 * hash table (growth, removal, a walk that frees what it visits).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/ascii.h"
#include "util/buf.h"
#include "util/crc32c.h"
#include "util/fsutil.h"
#include "util/htab.h"
#include "util/jdepth.h"
#include "util/log.h"
#include "util/qid.h"
#include "util/rfc3339.h"
#include "util/workq.h"

#define NELEM_OF(a) (sizeof(a) / sizeof((a)[0]))

/* ---- buf ---- */

static void
test_buf_ceiling(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 10);
	assert_null(b.data);
	assert_int_equal(buf_append(&b, "0123456789", 10), 0);
	assert_int_equal(b.len, 10);
	/* one byte past max: refused, the buffer as it was */
	assert_int_equal(buf_append(&b, "x", 1), -1);
	assert_int_equal(buf_append_str(&b, "x"), -1);
	assert_int_equal(buf_append_byte(&b, 'x'), -1);
	assert_int_equal(buf_printf(&b, "%d", 1), -1);
	assert_int_equal(buf_reserve(&b, 1), -1);
	assert_int_equal(buf_append(&b, "", 0), 0);
	assert_int_equal(b.len, 10);
	assert_memory_equal(b.data, "0123456789", 10);
	/* a full buffer still reads as a string */
	assert_string_equal(buf_cstr(&b), "0123456789");
	buf_clear(&b);

	/* a too-big append never takes part of its bytes */
	buf_init(&b, 10);
	assert_int_equal(buf_append_str(&b, "abc"), 0);
	assert_int_equal(buf_append(&b, "12345678", 8), -1);
	assert_int_equal(buf_printf(&b, "%s", "12345678"), -1);
	assert_int_equal(b.len, 3);
	assert_string_equal(buf_cstr(&b), "abc");
	assert_int_equal(buf_printf(&b, "%s", "1234567"), 0);
	assert_string_equal(buf_cstr(&b), "abc1234567");
	/* a length that would wrap size_t */
	assert_int_equal(buf_append(&b, "x", SIZE_MAX), -1);
	assert_int_equal(b.len, 10);
	buf_clear(&b);
	assert_null(b.data);
}

static void
test_buf_growth(void **state)
{
	static char big[5000];
	struct buf b;

	(void)state;
	memset(big, 'q', sizeof(big) - 1);
	buf_init(&b, 1 << 20);
	assert_string_equal(buf_cstr(&b), "");
	/* printf output bigger than the room left, many times over */
	for (int i = 0; i < 3; i++)
		assert_int_equal(buf_printf(&b, "<%s>", big), 0);
	assert_int_equal(b.len, 3 * (sizeof(big) + 1));
	assert_true(b.cap > b.len);
	for (int i = 0; i < 3; i++) {
		const uint8_t *p = b.data + (size_t)i * (sizeof(big) + 1);

		assert_int_equal(p[0], '<');
		assert_memory_equal(p + 1, big, sizeof(big) - 1);
		assert_int_equal(p[sizeof(big)], '>');
	}
	buf_reset(&b);
	assert_int_equal(b.len, 0);
	assert_non_null(b.data);
	/* small pieces across the first reallocation */
	for (int i = 0; i < 1000; i++)
		assert_int_equal(buf_printf(&b, "%d,", i % 10), 0);
	assert_int_equal(b.len, 2000);
	assert_memory_equal(b.data + 1990, "5,6,7,8,9,", 10);
	buf_clear(&b);
}

static void
test_buf_consume_cstr(void **state)
{
	struct buf b;
	struct slice s;

	(void)state;
	buf_init(&b, 100);
	assert_int_equal(buf_append_str(&b, "hello world"), 0);
	buf_consume(&b, 6);
	assert_string_equal(buf_cstr(&b), "world");
	buf_consume(&b, 0);
	assert_string_equal(buf_cstr(&b), "world");
	s = buf_slice(&b);
	assert_true(slice_eq(s, SLICE_LIT("world")));
	buf_consume(&b, 5);
	assert_int_equal(b.len, 0);
	assert_string_equal(buf_cstr(&b), "");
	/* room freed by consume can be used again */
	assert_int_equal(buf_append(&b, "a\0b", 3), 0);
	assert_int_equal(b.len, 3);
	assert_string_equal(buf_cstr(&b), "a");	/* reads short at the NUL */
	assert_memory_equal(b.data, "a\0b", 3);
	buf_clear(&b);

	buf_init(&b, 0);
	assert_int_equal(buf_append(&b, "x", 1), -1);
	assert_string_equal(buf_cstr(&b), "");
	buf_clear(&b);
}

static void
test_slices(void **state)
{
	static const struct {
		const char *s, *kw;
		int want;
	} eq[] = {
		{ "MAIL", "MAIL", 1 }, { "mail", "MAIL", 1 }, { "MaIl", "mail", 1 },
		{ "MAI", "MAIL", 0 }, { "MAILX", "MAIL", 0 }, { "", "", 1 }, { "", "A", 0 },
		{ "M@IL", "M`IL", 0 },	/* '@' | 0x20 is '`': not letters, not equal */
		{ "\xcd" "AIL", "MAIL", 0 },	/* 'M' | 0x80 */
		{ "[", "{", 0 },
	};
	static const struct {
		const char *in;
		int want;
		uint64_t v;
	} num[] = {
		{ "0", 0, 0 }, { "42", 0, 42 }, { "007", 0, 7 },
		{ "18446744073709551615", 0, UINT64_MAX },
		{ "18446744073709551616", -1, 0 },
		{ "99999999999999999999", -1, 0 },
		{ "184467440737095516150", -1, 0 },
		{ "", -1, 0 }, { "1a", -1, 0 }, { "a1", -1, 0 }, { "-1", -1, 0 },
		{ "+1", -1, 0 }, { " 1", -1, 0 }, { "1 ", -1, 0 },
	};
	uint64_t v;

	(void)state;
	for (size_t i = 0; i < NELEM_OF(eq); i++)
		if (slice_caseeq(slice_str(eq[i].s), eq[i].kw) != eq[i].want)
			fail_msg("slice_caseeq(\"%s\", \"%s\") != %d", eq[i].s, eq[i].kw, eq[i].want);
	for (size_t i = 0; i < NELEM_OF(num); i++) {
		int r = ascii_parse_u64(slice_str(num[i].in), &v);

		if (r != num[i].want || (r == 0 && v != num[i].v))
			fail_msg("ascii_parse_u64(\"%s\") = %d", num[i].in, r);
	}
	/* the length is what counts, not a terminator */
	assert_int_equal(ascii_parse_u64((struct slice){ (const uint8_t *)"123x", 3 }, &v), 0);
	assert_int_equal(v, 123);
	assert_true(slice_eq(SLICE_LIT("a\0b"), (struct slice){ (const uint8_t *)"a\0b", 3 }));
	assert_false(slice_eq(SLICE_LIT("a\0b"), SLICE_LIT("a\0c")));
	assert_false(slice_eq(SLICE_LIT("ab"), SLICE_LIT("abc")));
}

/* ---- qid ---- */

#define T0 1795000000123456ull	/* microseconds, November 2026 */

static void
test_qid_order(void **state)
{
	/* a clock that repeats, steps back a little and a lot, then jumps ahead */
	static const uint64_t times[] = {
		T0, T0, T0, T0 + 1, T0 - 1, T0 - 5000000, T0 + 2, T0 + 2, 1, T0 + 1000000, T0 + 999999,
	};
	struct qid_gen g = { 0 };
	char prev[QID_LEN + 1] = "", id[QID_LEN + 1];

	(void)state;
	for (size_t i = 0; i < NELEM_OF(times); i++) {
		qid_next(&g, times[i], id);
		assert_int_equal(strlen(id), QID_LEN);
		assert_true(qid_valid(id, QID_LEN));
		if (strcmp(prev, id) >= 0)
			fail_msg("id %zu: %s after %s", i, id, prev);
		memcpy(prev, id, sizeof(id));
	}
	/* more ids in one microsecond than the 12 sequence bits hold */
	for (int i = 0; i < 10000; i++) {
		qid_next(&g, T0, id);
		assert_true(strcmp(prev, id) < 0);
		assert_true(qid_valid(id, QID_LEN));
		memcpy(prev, id, sizeof(id));
	}
}

static void
test_qid_valid(void **state)
{
	static const struct {
		const char *s;
		int want;
	} cases[] = {
		{ "0000000000000", 1 }, { "0123456789ABC", 1 }, { "FZZZZZZZZZZZZ", 1 },
		{ "0DEFGHJKMNPQR", 1 }, { "0STVWXYZ00000", 1 },
		{ "GZZZZZZZZZZZZ", 0 }, { "Z000000000000", 0 },	/* first digit holds 4 bits */
		{ "000000000000", 0 }, { "00000000000000", 0 }, { "", 0 },
		{ "0000000000abc", 0 }, { "000000000000I", 0 }, { "000000000000L", 0 },
		{ "000000000000O", 0 }, { "000000000000U", 0 }, { "000000000000-", 0 },
		{ "000000000000 ", 0 }, { "000000000000\xc3", 0 },
	};

	(void)state;
	for (size_t i = 0; i < NELEM_OF(cases); i++)
		if (qid_valid(cases[i].s, strlen(cases[i].s)) != cases[i].want)
			fail_msg("qid_valid(\"%s\") != %d", cases[i].s, cases[i].want);
	/* the length given is what counts, and a NUL inside is no digit */
	assert_false(qid_valid("0000000000000X", 14));
	assert_true(qid_valid("0000000000000X", 13));
	assert_false(qid_valid("000000\0" "000000", 13));
}

static void
test_qid_time(void **state)
{
	static const uint64_t times[] = { 0, 1, 1000000, T0, (1ull << 52) - 1 };
	char id[QID_LEN + 1];

	(void)state;
	for (size_t i = 0; i < NELEM_OF(times); i++) {
		struct qid_gen g = { 0 };

		qid_next(&g, times[i], id);
		if (times[i] > 0)
			assert_int_equal(qid_time_us(id), times[i]);
		else
			assert_int_equal(qid_time_us(id), 0);
	}
	/* the latest possible time sorts last and is still a valid id */
	assert_true(qid_valid(id, QID_LEN));
	assert_int_equal(id[0], 'F');
}

static void
test_qid_seen(void **state)
{
	struct qid_gen g1 = { 0 }, g2 = { 0 };
	char later[QID_LEN + 1], old[QID_LEN + 1], id[QID_LEN + 1];

	(void)state;
	qid_next(&g1, T0 - 60000000, old);
	qid_next(&g1, T0 + 10000000, later);
	/* a restarted generator whose clock is behind the ids on disk */
	assert_int_equal(qid_seen(&g2, later), 0);
	assert_int_equal(qid_seen(&g2, old), 0);	/* an older id does not move it back */
	qid_next(&g2, T0, id);
	assert_true(strcmp(id, later) > 0);
	assert_int_equal(qid_seen(&g2, "not-an-id"), -1);
	assert_int_equal(qid_seen(&g2, "000000000000I"), -1);
	assert_int_equal(qid_seen(&g2, ""), -1);
	qid_next(&g2, T0, later);
	assert_true(strcmp(later, id) > 0);
}

/* ---- crc32c ---- */

static void
test_crc32c(void **state)
{
	static const char check[] = "123456789";
	static const uint8_t zeros[32];
	uint8_t data[300];

	(void)state;
	assert_int_equal(crc32c(0, check, 9), 0xE3069283u);
	assert_int_equal(crc32c(0, "", 0), 0);
	/* RFC 3720 B.4: 32 bytes of zeros */
	assert_int_equal(crc32c(0, zeros, sizeof(zeros)), 0x8A9136AAu);
	for (size_t i = 0; i <= 9; i++)
		assert_int_equal(crc32c(crc32c(0, check, i), check + i, 9 - i), 0xE3069283u);
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7 + 3);
	{
		uint32_t whole = crc32c(0, data, sizeof(data));

		/* every split, and odd alignments of the start */
		for (size_t i = 0; i <= sizeof(data); i++)
			assert_int_equal(crc32c(crc32c(0, data, i), data + i, sizeof(data) - i), whole);
		assert_int_equal(crc32c(crc32c(crc32c(0, data, 1), data + 1, 13), data + 14,
		    sizeof(data) - 14), whole);
	}
	/*
	 * the processor's instruction, where crc32c() uses it, and the tables
	 * agree: every length, every start within eight bytes, any running value
	 */
	assert_int_equal(crc32c_portable(0, check, 9), 0xE3069283u);
	for (size_t at = 0; at < 8; at++)
		for (size_t n = 0; at + n <= sizeof(data); n++)
			assert_int_equal(crc32c(0x5A5A5A5Au, data + at, n),
			    crc32c_portable(0x5A5A5A5Au, data + at, n));
}

/*
 * Long runs: the instruction's path cuts them in three blocks side by side
 * (of 4096 and of 256 bytes) and joins the three; every length near a
 * joint, from every start within eight bytes, agrees with the tables.
 */
static void
test_crc32c_long_runs(void **state)
{
	static const size_t blocks[] = { 256, 4096 };
	enum { SIZE = 6 * 4096 + 6 * 256 + 64 };
	uint8_t *data = malloc(SIZE);
	uint32_t whole;

	(void)state;
	assert_non_null(data);
	for (size_t i = 0; i < SIZE; i++)
		data[i] = (uint8_t)((i * 2654435761u) >> 13);
	for (size_t b = 0; b < sizeof(blocks) / sizeof(blocks[0]); b++)
		for (size_t runs = 1; runs <= 2; runs++)
			for (size_t d = 0; d <= 16; d++)
				for (size_t at = 0; at < 8; at++) {
					size_t n = 3 * runs * blocks[b] + d - 8;

					assert_int_equal(crc32c(0xA5A5A5A5u, data + at, n),
					    crc32c_portable(0xA5A5A5A5u, data + at, n));
				}
	whole = crc32c_portable(0, data, SIZE);
	assert_int_equal(crc32c(0, data, SIZE), whole);
	/* split anywhere, the running value carries over the joints */
	for (size_t i = 0; i <= SIZE; i += 997)
		assert_int_equal(crc32c(crc32c(0, data, i), data + i, SIZE - i), whole);
	free(data);
}

/* ---- log_quote ---- */

static void
test_log_quote(void **state)
{
	static const struct {
		const char *in;
		size_t len;
		const char *want;
	} cases[] = {
#define Q(s, w) { (s), sizeof(s) - 1, (w) }
		Q("abc", "abc"),
		Q("user@example.test", "user@example.test"),
		Q("", "\"\""),
		Q("a b", "\"a b\""),
		Q("a\"b", "\"a\\\"b\""),
		Q("a\\b", "\"a\\\\b\""),
		Q("a\r\nb", "a\\x0d\\x0ab"),
		Q("\t", "\\x09"),
		Q("nul\0x", "nul\\x00x"),
		Q("\x7f\x80\xff", "\\x7f\\x80\\xff"),
		Q("j\xc3\xb6rg x", "\"j\\xc3\\xb6rg x\""),
		Q("0123456789012345678901234567890123456789012345678901234567890123",
		  "0123456789012345678901234567890123456789012345678901234567890123"),
		Q("0123456789012345678901234567890123456789012345678901234567890123X",
		  "0123456789012345678901234567890123456789012345678901234567890123..."),
		/* a space past the cut does not quote what is shown */
		Q("0123456789012345678901234567890123456789012345678901234567890123 x",
		  "0123456789012345678901234567890123456789012345678901234567890123..."),
		Q("0123456789 12345678901234567890123456789012345678901234567890123XYZ",
		  "\"0123456789 12345678901234567890123456789012345678901234567890123...\""),
#undef Q
	};
	char out[LOG_QUOTE_SIZE];
	uint8_t worst[LOG_QUOTE_MAX + 10];

	(void)state;
	for (size_t i = 0; i < NELEM_OF(cases); i++) {
		const char *got = log_quote(cases[i].in, cases[i].len, out);

		assert_ptr_equal(got, out);
		if (strcmp(got, cases[i].want) != 0)
			fail_msg("case %zu: got %s want %s", i, got, cases[i].want);
	}
	assert_string_equal(log_quote_str("a b", out), "\"a b\"");
	/* the longest output fits LOG_QUOTE_SIZE */
	memset(worst, 0x01, sizeof(worst));
	worst[0] = ' ';
	log_quote(worst, sizeof(worst), out);
	assert_true(strlen(out) < LOG_QUOTE_SIZE);
	assert_int_equal(strlen(out), 1 + 1 + (LOG_QUOTE_MAX - 1) * 4 + 3 + 1);
}

/* The line written by a log call, after its time: "LEVEL ID EVENT ..." (or JSON's rest). */
static const char *
log_read(int fd, char *out, size_t size)
{
	ssize_t n = read(fd, out, size - 1);

	assert_true(n > 25);
	out[n] = '\0';
	assert_int_equal(out[n - 1], '\n');
	out[n - 1] = '\0';
	return out;
}

static void
test_log_lines(void **state)
{
	char line[LOG_TEXT_SIZE * 2], b[LOG_TEXT_SIZE], a[LOG_ADDR_SIZE], t[LOG_TEXT_SIZE];
	char reason[LOG_QUOTE_MAX * 3];
	int p[2];

	(void)state;
	assert_int_equal(pipe(p), 0);
	log_init(p[1], LOG_INFO);
	/* TIME LEVEL ID EVENT key=value */
	log_event(LOG_WARN, "Q1.2", "deferred", "to=%s n=%d reason=%s", log_addr("", a), 25,
	    log_quote_text("a \"b\"\\ c\x01", b));
	log_read(p[0], line, sizeof(line));
	assert_int_equal(strlen(line), 24 + strlen(" warning Q1.2 deferred to=<> n=25 "
	    "reason=\"a \\\"b\\\"\\\\ c\\x01\""));
	assert_string_equal(line + 24, " warning Q1.2 deferred to=<> n=25 "
	    "reason=\"a \\\"b\\\"\\\\ c\\x01\"");
	assert_int_equal(line[23], 'Z');
	/* the server's own words are not cut at LOG_QUOTE_MAX */
	memset(reason, 'r', sizeof(reason) - 1);
	reason[sizeof(reason) - 1] = '\0';
	assert_string_equal(log_quote_text(reason, t), reason);
	/* a note: no id is "-", the text quoted whole */
	log_err("cannot %s: %s", "write", "No space left on device");
	assert_string_equal(log_read(p[0], line, sizeof(line)) + 24,
	    " error - note msg=\"cannot write: No space left on device\"");
	log_debug("not written below the level");
	/* JSON: the same fields, numbers as numbers, escapes as JSON's */
	log_set_format(LOG_FORMAT_JSON);
	log_event(LOG_INFO, "c7", "helo", "verb=EHLO name=%s size=%d delay=%.3f code=007",
	    log_quote_str("a \"b\"\x7f", b), 12, 0.5);
	log_read(p[0], line, sizeof(line));
	assert_memory_equal(line, "{\"time\":\"", 9);
	assert_string_equal(line + 9 + 24 + 1, ",\"level\":\"info\",\"id\":\"c7\",\"event\":\"helo\","
	    "\"verb\":\"EHLO\",\"name\":\"a \\\"b\\\"\\u007f\",\"size\":12,\"delay\":0.500,"
	    "\"code\":\"007\"}");
	log_set_format(LOG_FORMAT_TEXT);
	log_init(2, LOG_INFO);
	close(p[0]);
	close(p[1]);
	/* envelope addresses */
	assert_string_equal(log_addr("a@b.test", a), "<a@b.test>");
	assert_string_equal(log_addr("\"a b\"@c.test", a), "\"<\\\"a b\\\"@c.test>\"");
}

/* ---- workq ---- */

#define NJOBS 100

struct job {
	struct work w;
	int n;
	pthread_t run_thread;
	unsigned runs, dones;
	int is_done_on_caller;
};

static pthread_t caller;
static unsigned ndone;

static void
job_run(struct work *w)
{
	struct job *j = (struct job *)w;

	j->run_thread = pthread_self();
	j->runs++;
	j->n *= 2;
}

static void
job_done(struct work *w)
{
	struct job *j = (struct job *)w;

	j->dones++;
	j->is_done_on_caller = pthread_equal(pthread_self(), caller);
	ndone++;
}

static void
test_workq(void **state)
{
	static struct job jobs[NJOBS];
	struct workq *q = workq_new(4);
	struct pollfd pfd;
	unsigned on_workers = 0;

	(void)state;
	caller = pthread_self();
	ndone = 0;
	assert_non_null(q);
	assert_true(workq_fd(q) >= 0);
	for (int i = 0; i < NJOBS; i++) {
		jobs[i] = (struct job){ .w = { .run = job_run, .done = job_done }, .n = i };
		workq_submit(q, &jobs[i].w);
	}
	pfd = (struct pollfd){ .fd = workq_fd(q), .events = POLLIN };
	while (ndone < NJOBS) {
		/* the bound only keeps a broken pool from hanging the test run */
		int r = poll(&pfd, 1, 30000);

		if (r != 1)
			fail_msg("poll gave %d with %u of %d done", r, ndone, NJOBS);
		workq_run_done(q);
	}
	assert_int_equal(ndone, NJOBS);
	for (int i = 0; i < NJOBS; i++) {
		assert_int_equal(jobs[i].runs, 1);
		assert_int_equal(jobs[i].dones, 1);
		assert_true(jobs[i].is_done_on_caller);
		assert_int_equal(jobs[i].n, 2 * i);
		on_workers += !pthread_equal(jobs[i].run_thread, caller);
	}
	assert_int_equal(on_workers, NJOBS);

	/* workq_post_done from the caller's own thread comes back through the fd too */
	jobs[0].dones = 0;
	workq_post_done(q, &jobs[0].w);
	assert_int_equal(poll(&pfd, 1, 30000), 1);
	workq_run_done(q);
	assert_int_equal(jobs[0].dones, 1);
	assert_int_equal(jobs[0].runs, 1);
	assert_int_equal(ndone, NJOBS + 1);

	workq_free(&q);
	assert_null(q);
	workq_free(&q);
}

/*
 * Freeing a pool runs what is queued first: two workers held at a gate
 * while jobs pile up behind them, one of which queues a further job from
 * its run(), and the free while they are held. Each worker ends on a stop
 * of its own only once nothing is left to run.
 */
static int gate[2];
static struct workq *chain_q;
static struct job chained;

static void
gate_run(struct work *w)
{
	char c;

	(void)w;
	assert_int_equal(read(gate[0], &c, 1), 1);
}

static void
chain_run(struct work *w)
{
	job_run(w);
	chained = (struct job){ .w = { .run = job_run, .done = job_done }, .n = 21 };
	workq_submit(chain_q, &chained.w);
}

static void *
open_gate(void *arg)
{
	(void)arg;
	usleep(50000);	/* the free is waiting for the workers by then, most likely */
	assert_int_equal(write(gate[1], "xx", 2), 2);
	return NULL;
}

static void
test_workq_free_runs_what_is_queued(void **state)
{
	static struct job held[2], jobs[NJOBS];
	pthread_t opener;

	(void)state;
	assert_int_equal(pipe(gate), 0);
	chain_q = workq_new(2);
	for (int i = 0; i < 2; i++) {
		held[i] = (struct job){ .w = { .run = gate_run, .done = job_done } };
		workq_submit(chain_q, &held[i].w);
	}
	for (int i = 0; i < NJOBS; i++) {
		jobs[i] = (struct job){ .w = { .run = i == NJOBS / 2 ? chain_run : job_run,
		    .done = job_done }, .n = i };
		workq_submit(chain_q, &jobs[i].w);
	}
	assert_int_equal(pthread_create(&opener, NULL, open_gate, NULL), 0);
	workq_free(&chain_q);
	assert_null(chain_q);
	assert_int_equal(pthread_join(opener, NULL), 0);
	for (int i = 0; i < NJOBS; i++) {
		assert_int_equal(jobs[i].runs, 1);
		assert_int_equal(jobs[i].n, 2 * i);
	}
	assert_int_equal(chained.runs, 1);
	assert_int_equal(chained.n, 42);
	close(gate[0]);
	close(gate[1]);
}

/*
 * Several threads submit at once, to a pool of fewer workers: every job
 * runs once and comes back once, whichever worker took it.
 */
#define NSUBMITTERS 4
#define NPER 2000

static struct workq *busy_q;

static void *
submit_many(void *arg)
{
	struct job *mine = arg;

	for (int i = 0; i < NPER; i++)
		workq_submit(busy_q, &mine[i].w);
	return NULL;
}

static void
test_workq_many_submitters(void **state)
{
	static struct job jobs[NSUBMITTERS][NPER];
	pthread_t th[NSUBMITTERS];
	struct pollfd pfd;

	(void)state;
	caller = pthread_self();
	ndone = 0;
	busy_q = workq_new(3);
	for (int t = 0; t < NSUBMITTERS; t++)
		for (int i = 0; i < NPER; i++)
			jobs[t][i] = (struct job){ .w = { .run = job_run, .done = job_done },
			    .n = i };
	for (int t = 0; t < NSUBMITTERS; t++)
		assert_int_equal(pthread_create(&th[t], NULL, submit_many, jobs[t]), 0);
	pfd = (struct pollfd){ .fd = workq_fd(busy_q), .events = POLLIN };
	while (ndone < NSUBMITTERS * NPER) {
		int r = poll(&pfd, 1, 30000);

		if (r != 1)
			fail_msg("poll gave %d with %u of %d done", r, ndone, NSUBMITTERS * NPER);
		workq_run_done(busy_q);
	}
	for (int t = 0; t < NSUBMITTERS; t++) {
		assert_int_equal(pthread_join(th[t], NULL), 0);
		for (int i = 0; i < NPER; i++) {
			assert_int_equal(jobs[t][i].runs, 1);
			assert_int_equal(jobs[t][i].dones, 1);
			assert_int_equal(jobs[t][i].n, 2 * i);
			assert_true(jobs[t][i].is_done_on_caller);
		}
	}
	workq_free(&busy_q);
}

/* RFC 3339 date-times: the forms it allows, and what it does not. */
static void
test_rfc3339(void **state)
{
	static const struct { const char *s; int64_t t; } good[] = {
		{ "1970-01-01T00:00:00Z", 0 },
		{ "2026-12-05T09:13:20Z", 1796462000 },
		{ "2026-12-05t09:13:20.123456z", 1796462000 },
		{ "2026-12-05T10:13:20+01:00", 1796462000 },
		{ "2026-12-05T08:43:20-00:30", 1796462000 },
		{ "2024-02-29T00:00:00Z", 1709164800 },
		{ "2016-12-31T23:59:60Z", 1483228799 },	/* a leap second: the one before */
	};
	static const char *const bad[] = {
		"", "2026-12-05", "2026-12-05T09:13:20", "2026-12-05 09:13:20Z",
		"2026-13-01T00:00:00Z", "2023-02-29T00:00:00Z", "2026-12-05T24:00:00Z",
		"2026-12-05T09:60:00Z", "1969-12-31T23:59:59Z", "2026-12-05T09:13:20.Z",
		"2026-12-05T09:13:20+1:00", "2026-12-05T09:13:20+01:00x", "2026-1-05T09:13:20Z",
	};
	char out[32];
	int64_t t;

	(void)state;
	for (size_t i = 0; i < NELEM_OF(good); i++) {
		assert_int_equal(rfc3339_parse(good[i].s, strlen(good[i].s), &t), 0);
		assert_int_equal(t, good[i].t);
	}
	for (size_t i = 0; i < NELEM_OF(bad); i++)
		if (rfc3339_parse(bad[i], strlen(bad[i]), &t) != -1)
			fail_msg("'%s' taken", bad[i]);
	rfc3339_format(1796462000, out);
	assert_string_equal(out, "2026-12-05T09:13:20Z");
}

/* ---- jdepth ---- */

#define JIN(s) (const uint8_t *)(s), sizeof(s) - 1

static void
test_jdepth(void **state)
{
	static const struct {
		const uint8_t *p;
		size_t len;
		unsigned max;
		int want;
	} cases[] = {
		{ JIN("{}"), 1, 1 },
		{ JIN("{}"), 0, 0 },
		{ JIN("[[[]]]"), 3, 1 },
		{ JIN("[[[]]]"), 2, 0 },
		{ JIN("{\"a\":[{\"b\":1}]}"), 3, 1 },
		{ JIN("{\"a\":[{\"b\":1}]}"), 2, 0 },
		/* brackets in strings do not count, nor do escaped quotes end them */
		{ JIN("{\"[[[[\":\"{{{{\"}"), 1, 1 },
		{ JIN("{\"\\\"[[[[\":1}"), 1, 1 },
		/* closers do not go below zero: "]]]][[" is depth 2, not -2 */
		{ JIN("]]]][["), 1, 0 },
		{ JIN("]]]][["), 2, 1 },
		/* siblings are not nested */
		{ JIN("[[],[],[],[]]"), 2, 1 },
		/* a NUL is any byte to the count */
		{ JIN("[\0[\0]]"), 2, 1 },
		{ JIN(""), 0, 1 },
	};

	(void)state;
	for (size_t i = 0; i < NELEM_OF(cases); i++)
		if (jdepth_ok(cases[i].p, cases[i].len, cases[i].max) != cases[i].want)
			fail_msg("case %zu: want %d", i, cases[i].want);
}

/* ---- mkdir_p ---- */

/*
 * A Maildir's folders are 02770 under any umask (systemd's UMask=0077 would
 * leave 0700, and mkdir(2) drops the set-group-ID bit); a folder that is
 * there already keeps its mode.
 */
static void
test_mkdir_p_mode(void **state)
{
	char root[] = "/tmp/sterna-test-mkdir-XXXXXX", path[128];
	struct stat st;
	mode_t old = umask(077);

	(void)state;
	assert_non_null(mkdtemp(root));
	snprintf(path, sizeof(path), "%s/a/b", root);
	assert_int_equal(mkdir_p(path, 02770), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 02770);
	snprintf(path, sizeof(path), "%s/a", root);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 02770);
	assert_int_equal(chmod(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/a/b", root);
	assert_int_equal(mkdir_p(path, 02770), 0);
	snprintf(path, sizeof(path), "%s/a", root);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	/* 0700 asks for nothing the umask could take: no chmod at all */
	snprintf(path, sizeof(path), "%s/c", root);
	assert_int_equal(mkdir_p(path, 0700), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	umask(old);
	static const char *const made[] = { "a/b", "a", "c", "" };
	for (size_t i = 0; i < NELEM_OF(made); i++) {
		snprintf(path, sizeof(path), "%s/%s", root, made[i]);
		assert_int_equal(rmdir(path), 0);
	}
}

/* ---- htab ---- */

struct item {
	struct htab_link link;		/* first */
	int key;
	int seen;
};

static int
item_is(const struct htab_link *l, const void *key)
{
	return ((const struct item *)l)->key == *(const int *)key;
}

/* A poor hash on purpose: keys share buckets, so chains are walked. */
static uint64_t
item_hash(int key)
{
	return (uint64_t)(key % 7);
}

static void
test_htab(void **state)
{
	enum { N = 1000 };
	struct htab t;
	int visited = 0, freed = 0;

	(void)state;
	htab_init(&t, 1);
	for (int k = 0; k < N; k++) {
		struct item *it = calloc(1, sizeof(*it));

		it->key = k;
		htab_add(&t, &it->link, item_hash(k));
	}
	assert_int_equal(t.n, N);
	assert_true(t.nbuckets >= N);		/* doubled as it filled */
	for (int k = 0; k < N; k++) {
		struct htab_link *l = htab_find(&t, item_hash(k), item_is, &k);

		assert_non_null(l);
		assert_int_equal(((struct item *)l)->key, k);
	}
	int absent = N;
	assert_null(htab_find(&t, item_hash(absent), item_is, &absent));
	/* the odd keys out */
	for (int k = 1; k < N; k += 2) {
		struct htab_link *l = htab_find(&t, item_hash(k), item_is, &k);

		htab_remove(&t, l);
		free(l);
	}
	assert_int_equal(t.n, N / 2);
	for (int k = 1; k < N; k += 2)
		assert_null(htab_find(&t, item_hash(k), item_is, &k));
	/* every link once, and the body may free it */
	HTAB_FOREACH(&t, l) {
		struct item *it = (struct item *)l;

		assert_int_equal(it->key % 2, 0);
		assert_int_equal(it->seen++, 0);
		visited++;
	}
	assert_int_equal(visited, N / 2);
	HTAB_FOREACH(&t, l) {
		free(l);
		freed++;
	}
	assert_int_equal(freed, N / 2);
	htab_clear(&t);
	assert_null(t.buckets);
	assert_int_equal(t.n, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_buf_ceiling),
		cmocka_unit_test(test_buf_growth),
		cmocka_unit_test(test_buf_consume_cstr),
		cmocka_unit_test(test_slices),
		cmocka_unit_test(test_qid_order),
		cmocka_unit_test(test_qid_valid),
		cmocka_unit_test(test_qid_time),
		cmocka_unit_test(test_qid_seen),
		cmocka_unit_test(test_crc32c),
		cmocka_unit_test(test_crc32c_long_runs),
		cmocka_unit_test(test_log_quote),
		cmocka_unit_test(test_log_lines),
		cmocka_unit_test(test_workq),
		cmocka_unit_test(test_workq_free_runs_what_is_queued),
		cmocka_unit_test(test_workq_many_submitters),
		cmocka_unit_test(test_rfc3339),
		cmocka_unit_test(test_jdepth),
		cmocka_unit_test(test_mkdir_p_mode),
		cmocka_unit_test(test_htab),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
