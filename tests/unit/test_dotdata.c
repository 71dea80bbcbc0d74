/*
 * test_dotdata.c - the DATA reader: end of data, dot-unstuffing, flags.
 * Every table row runs whole, split in two at every byte boundary, and one
 * byte per call, and must give the same body, flags, consumed count and end.
 * A randomized differential test checks dotdata_feed() against ref_run(), a
 * byte-at-a-time restatement of RFC 5321 4.1.1.4, 4.5.2 and 4.5.3.1.6 that
 * looks at the whole input at once rather than keeping state.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "smtp/smtp.h"

#define IN(s)	(const uint8_t *)(s), sizeof(s) - 1
#define OUT(s)	(const uint8_t *)(s), sizeof(s) - 1

#define ML	1000	/* smtp.max_text_line_bytes, RFC 5321 4.5.3.1.6 */
#define LF_	DOTDATA_BARE_LF
#define CR_	DOTDATA_BARE_CR

struct dd_case {
	const uint8_t *in;
	size_t in_len;
	const uint8_t *body;
	size_t body_len;
	unsigned flags;
	int is_end;
	size_t used;		/* input bytes consumed, over all calls */
	size_t max_line_bytes;
};

static const struct dd_case cases[] = {
	/* nothing yet */
	{ IN(""),			OUT(""),		0, 0, 0, ML },
	/* empty message: the start of DATA counts as after a CRLF */
	{ IN(".\r\n"),			OUT(""),		0, 1, 3, ML },
	{ IN(".\r\nQUIT\r\n"),		OUT(""),		0, 1, 3, ML },
	{ IN("\r\n.\r\n"),		OUT("\r\n"),		0, 1, 5, ML },
	/* simple messages; the CRLF before the dot belongs to the body */
	{ IN("hi\r\n.\r\n"),		OUT("hi\r\n"),		0, 1, 7, ML },
	{ IN("Subject: x\r\n\r\nhello\r\n.\r\n"),
	  OUT("Subject: x\r\n\r\nhello\r\n"),			0, 1, 24, ML },
	/* RFC 5321 4.5.2: the first dot of a line is dropped */
	{ IN("..x\r\n.\r\n"),		OUT(".x\r\n"),		0, 1, 8, ML },
	{ IN("..\r\n.\r\n"),		OUT(".\r\n"),		0, 1, 7, ML },
	{ IN("...\r\n.\r\n"),		OUT("..\r\n"),		0, 1, 8, ML },
	{ IN(".x\r\n.\r\n"),		OUT("x\r\n"),		0, 1, 7, ML },
	{ IN("a\r\n..\r\nb\r\n.\r\n"),	OUT("a\r\n.\r\nb\r\n"),	0, 1, 13, ML },
	{ IN("a\r\n..\r\n..\r\n.\r\n"),	OUT("a\r\n.\r\n.\r\n"),	0, 1, 14, ML },
	{ IN(" ..\r\n.\r\n"),		OUT(" ..\r\n"),		0, 1, 8, ML },
	{ IN("a.b\r\n.\r\n"),		OUT("a.b\r\n"),		0, 1, 8, ML },
	{ IN("a\r\n..b"),		OUT("a\r\n.b"),		0, 0, 6, ML },
	/* pipelining: what follows CRLF "." CRLF is not ours */
	{ IN("hi\r\n.\r\nQUIT\r\n"),	OUT("hi\r\n"),		0, 1, 7, ML },
	{ IN("a\r\n.\r\nb\r\n.\r\n"),	OUT("a\r\n"),		0, 1, 6, ML },
	{ IN("hi\r\n.\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nDATA\r\n"),
	  OUT("hi\r\n"),					0, 1, 7, ML },
	/* SMTP smuggling (CVE-2023-51764/5/6): none of these ends the message */
	{ IN("\n.\n"),			OUT("\n.\n"),		LF_, 0, 3, ML },
	{ IN("hi\n.\nMAIL FROM:<e@x.example>\r\n\r\n.\r\n"),
	  OUT("hi\n.\nMAIL FROM:<e@x.example>\r\n\r\n"),	LF_, 1, 35, ML },
	{ IN("hi\n.\r\n"),		OUT("hi\n.\r\n"),	LF_, 0, 6, ML },
	{ IN("hi\n.\r\nX\r\n.\r\n"),	OUT("hi\n.\r\nX\r\n"),	LF_, 1, 12, ML },
	{ IN("hi\r\n.\nX\r\n.\r\n"),	OUT("hi\r\n\nX\r\n"),	LF_, 1, 12, ML },
	{ IN(".\n"),			OUT("\n"),		LF_, 0, 2, ML },
	{ IN("\r.\r\n"),		OUT("\r.\r\n"),		CR_, 0, 4, ML },
	{ IN("hi\r.\r\nX\r\n.\r\n"),	OUT("hi\r.\r\nX\r\n"),	CR_, 1, 12, ML },
	{ IN("hi\r.\rX\r\n.\r\n"),	OUT("hi\r.\rX\r\n"),	CR_, 1, 11, ML },
	{ IN("hi\r\n.\rx\r\n.\r\n"),	OUT("hi\r\n\rx\r\n"),	CR_, 1, 12, ML },
	{ IN("\r\n.\r\r\n.\r\n"),	OUT("\r\n\r\r\n"),	CR_, 1, 9, ML },
	{ IN("a\r\r\n.\r\n"),		OUT("a\r\r\n"),		CR_, 1, 7, ML },
	{ IN("a\n\r\n.\r\n"),		OUT("a\n\r\n"),		LF_, 1, 7, ML },
	{ IN("a\n..\r\n.\r\n"),		OUT("a\n..\r\n"),	LF_, 1, 9, ML },
	{ IN("a\r\n.\n\r\n.\r\n"),	OUT("a\r\n\n\r\n"),	LF_, 1, 10, ML },
	/* held back at the end of the input: a dot, a dot and a CR */
	{ IN("hi\r\n."),		OUT("hi\r\n"),		0, 0, 5, ML },
	{ IN("hi\r\n.\r"),		OUT("hi\r\n"),		0, 0, 6, ML },
	/* a CR at the very end is body, but not yet known to be bare */
	{ IN("abc\r"),			OUT("abc\r"),		0, 0, 4, ML },
	/* NUL and 8-bit bytes are reported and kept byte for byte */
	{ IN("a\0b\r\n.\r\n"),		OUT("a\0b\r\n"),	DOTDATA_NUL, 1, 8, ML },
	{ IN(".\0\r\n.\r\n"),		OUT("\0\r\n"),		DOTDATA_NUL, 1, 7, ML },
	{ IN("caf\xc3\xa9\r\n.\r\n"),	OUT("caf\xc3\xa9\r\n"),	DOTDATA_8BIT, 1, 10, ML },
	{ IN("\xff\r\n.\r\n"),		OUT("\xff\r\n"),	DOTDATA_8BIT, 1, 6, ML },
	/* past the first eight bytes of a run (the scan goes a word at a time) */
	{ IN("0123456789\0abcdef\r\n.\r\n"),
	  OUT("0123456789\0abcdef\r\n"),			DOTDATA_NUL, 1, 22, ML },
	{ IN("0123456789\xff" "abcdef\r\n.\r\n"),
	  OUT("0123456789\xff" "abcdef\r\n"),		DOTDATA_8BIT, 1, 22, ML },
	{ IN("\0\xff\n\rx\r\n.\r\n"),	OUT("\0\xff\n\rx\r\n"),
	  DOTDATA_NUL | DOTDATA_8BIT | LF_ | CR_,		1, 10, ML },
	/* line length after unstuffing, CRLF included (RFC 5321 4.5.3.1.6) */
	{ IN("abc\r\n.\r\n"),		OUT("abc\r\n"),		0, 1, 8, 5 },
	{ IN("abc\r\nabc\r\n\r\n.\r\n"),	OUT("abc\r\nabc\r\n\r\n"),	0, 1, 15, 5 },
	{ IN("abcd\r\n.\r\n"),		OUT("abcd\r\n"),	DOTDATA_LONG_LINE, 1, 9, 5 },
	{ IN("..bc\r\n.\r\n"),		OUT(".bc\r\n"),		0, 1, 9, 5 },
	{ IN("abcdef"),			OUT("abcdef"),		DOTDATA_LONG_LINE, 0, 6, 5 },
	/* a bare LF does not end a line, so it does not reset the count */
	{ IN("ab\ncd\r\n.\r\n"),	OUT("ab\ncd\r\n"),	LF_ | DOTDATA_LONG_LINE, 1, 10, 5 },
	/* the terminating "." CRLF is no line of the body */
	{ IN("ab\r\n.\r\n"),		OUT("ab\r\n"),		0, 1, 7, 4 },
};

struct dd_result {
	uint8_t *body;
	size_t body_len;
	unsigned flags;
	int is_end;
	size_t used;
	uint64_t body_bytes;
};

/*
 * Feeds in[0..len) in chunks ending at cuts[0], cuts[1], ... and len.
 * Each out buffer is allocated with exactly the room the contract promises,
 * so a sanitizer build catches a write past it.
 */
static void
feed_chunks(const uint8_t *in, size_t len, size_t max_line_bytes,
    const size_t *cuts, size_t ncuts, struct dd_result *r)
{
	struct dotdata d;
	size_t at = 0, i, to, n, used, out_len;
	uint8_t *out;
	int is_end;

	dotdata_init(&d, max_line_bytes);
	r->body = malloc(len + 1);
	assert_non_null(r->body);
	r->body_len = 0;
	r->is_end = 0;
	r->used = 0;
	for (i = 0; i <= ncuts; i++) {
		to = i < ncuts ? cuts[i] : len;
		assert_true(to >= at && to <= len);
		n = to - at;
		out = malloc(n + DOTDATA_HELD_MAX);
		assert_non_null(out);
		out_len = SIZE_MAX;
		is_end = -1;
		used = dotdata_feed(&d, in + at, n, out, &out_len, &is_end);
		assert_true(used <= n);
		assert_true(out_len <= n + DOTDATA_HELD_MAX);
		if (r->is_end) {
			/* past the end nothing more is taken: it is the next command */
			assert_int_equal(used, 0);
			assert_int_equal(out_len, 0);
			assert_int_equal(is_end, 1);
		} else if (is_end == 1) {
			r->is_end = 1;
		} else {
			assert_int_equal(is_end, 0);
			assert_int_equal(used, n);
		}
		assert_true(r->body_len + out_len <= len);
		memcpy(r->body + r->body_len, out, out_len);
		r->body_len += out_len;
		r->used += used;
		free(out);
		at = to;
	}
	r->flags = d.flags;
	r->body_bytes = d.body_bytes;
}

static void
check_result(const struct dd_result *r, const uint8_t *body, size_t body_len,
    unsigned flags, int is_end, size_t used)
{
	assert_int_equal(r->body_len, body_len);
	assert_memory_equal(r->body, body, body_len);
	assert_int_equal(r->flags, flags);
	assert_int_equal(r->is_end, is_end);
	assert_int_equal(r->used, used);
	assert_int_equal(r->body_bytes, body_len);
}

/* The three ways of feeding the same bytes, which must agree. */
static void
run_case(const uint8_t *in, size_t len, size_t max_line_bytes, const uint8_t *body,
    size_t body_len, unsigned flags, int is_end, size_t used)
{
	struct dd_result r;
	size_t *cuts, k;

	feed_chunks(in, len, max_line_bytes, NULL, 0, &r);
	check_result(&r, body, body_len, flags, is_end, used);
	free(r.body);

	for (k = 0; k <= len; k++) {
		feed_chunks(in, len, max_line_bytes, &k, 1, &r);
		check_result(&r, body, body_len, flags, is_end, used);
		free(r.body);
	}

	cuts = malloc((len + 1) * sizeof(*cuts));
	assert_non_null(cuts);
	for (k = 0; k < len; k++)
		cuts[k] = k + 1;
	feed_chunks(in, len, max_line_bytes, cuts, len, &r);
	check_result(&r, body, body_len, flags, is_end, used);
	free(r.body);
	free(cuts);
}

static void
test_table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct dd_case *c = &cases[i];

		print_message("case %zu\n", i);
		run_case(c->in, c->in_len, c->max_line_bytes, c->body, c->body_len,
		    c->flags, c->is_end, c->used);
	}
}

/*
 * A line of n bytes of text, CRLF, then ".\r\n", with a leading dot when
 * stuffed (which the line's length does not count).
 */
static void
run_long_line(size_t n, int is_stuffed, unsigned want_flags)
{
	size_t len = (is_stuffed ? 1 : 0) + n + 2 + 3, body_len = n + 2;
	uint8_t *in = malloc(len), *body = malloc(body_len), *p = in;

	assert_non_null(in);
	assert_non_null(body);
	if (is_stuffed)
		*p++ = '.';
	memset(p, is_stuffed ? '.' : 'x', n);
	memcpy(p + n, "\r\n.\r\n", 5);
	memcpy(body, p, body_len);
	run_case(in, len, ML, body, body_len, want_flags, 1, len);
	free(in);
	free(body);
}

static void
test_line_length(void **state)
{
	(void)state;
	run_long_line(998, 0, 0);			/* 1000 with CRLF: fine */
	run_long_line(999, 0, DOTDATA_LONG_LINE);	/* 1001 */
	run_long_line(998, 1, 0);			/* counted after unstuffing */
	run_long_line(999, 1, DOTDATA_LONG_LINE);
}

/* Two messages in a row: the second starts at the first's unused bytes. */
static void
test_pipelined_tail(void **state)
{
	static const uint8_t in[] = "a\r\n.\r\nQUIT\r\n";
	struct dotdata d;
	uint8_t out[sizeof(in) + DOTDATA_HELD_MAX];
	size_t out_len, used;
	int is_end;

	(void)state;
	dotdata_init(&d, ML);
	used = dotdata_feed(&d, in, sizeof(in) - 1, out, &out_len, &is_end);
	assert_int_equal(is_end, 1);
	assert_int_equal(used, 6);
	assert_memory_equal(in + used, "QUIT\r\n", 6);
	assert_int_equal(out_len, 3);
	assert_memory_equal(out, "a\r\n", 3);

	/* a fresh message after init: state does not leak from the old one */
	dotdata_init(&d, ML);
	used = dotdata_feed(&d, IN("..\r\n.\r\n"), out, &out_len, &is_end);
	assert_int_equal(is_end, 1);
	assert_int_equal(used, 7);
	assert_int_equal(out_len, 3);
	assert_memory_equal(out, ".\r\n", 3);
}

/* ---- the reference: no state, only the definition ---- */

struct ref_result {
	uint8_t body[256];
	size_t body_len;
	unsigned flags;
	int is_end;
	size_t used;
};

/* Is in[j] the first byte of a line: the start of DATA, or after CRLF? */
static int
ref_bol(const uint8_t *in, size_t j)
{
	return j == 0 || (j >= 2 && in[j - 2] == '\r' && in[j - 1] == '\n');
}

/*
 * What dotdata must have produced after seeing exactly in[0..n): the end
 * is the first line-start ".\r\n"; every line-start dot before it is
 * dropped; a line-start ".\r" at the very end holds its CR back; a CR is
 * known to be bare only once the byte after it has been seen.
 */
static void
ref_run(const uint8_t *in, size_t n, size_t max_line_bytes, struct ref_result *r)
{
	size_t j, stop = n, line = 0;

	memset(r, 0, sizeof(*r));
	for (j = 0; j + 3 <= n; j++) {
		if (in[j] == '.' && in[j + 1] == '\r' && in[j + 2] == '\n' && ref_bol(in, j)) {
			stop = j;
			r->is_end = 1;
			break;
		}
	}
	r->used = r->is_end ? stop + 3 : n;
	for (j = 0; j < stop; j++) {
		uint8_t c = in[j];

		if (c == '.' && ref_bol(in, j))
			continue;
		if (c == '\r' && j + 1 == n && j >= 1 && in[j - 1] == '.' && ref_bol(in, j - 1))
			continue;
		assert_true(r->body_len < sizeof(r->body));
		r->body[r->body_len++] = c;
		if (c == '\n' && (j == 0 || in[j - 1] != '\r'))
			r->flags |= DOTDATA_BARE_LF;
		if (c == '\r' && j + 1 < n && in[j + 1] != '\n')
			r->flags |= DOTDATA_BARE_CR;
		if (c == 0)
			r->flags |= DOTDATA_NUL;
		if (c >= 0x80)
			r->flags |= DOTDATA_8BIT;
		if (++line > max_line_bytes)
			r->flags |= DOTDATA_LONG_LINE;
		if (c == '\n' && j >= 1 && in[j - 1] == '\r')
			line = 0;
	}
}

static uint64_t
rng_next(uint64_t *s)
{
	/* xorshift64: fixed seed, so a failure replays */
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void
test_random_vs_reference(void **state)
{
	/* weighted towards the bytes that matter to the state machine */
	static const uint8_t alphabet[] = { '\r', '\r', '\r', '\n', '\n', '\n', '.', '.', '.',
		'a', 'a', '\0', 0xff };
	static const size_t limits[] = { 1, 2, 3, 4, 5, 8, ML };
	uint64_t seed = 0x5713a11dULL;
	uint8_t in[64], out[64 + DOTDATA_HELD_MAX], body[64 + DOTDATA_HELD_MAX];
	struct ref_result ref;
	struct dotdata d;
	size_t iter, len, at, n, used, out_len, body_len, total_used, max;
	int is_end, was_end;

	(void)state;
	for (iter = 0; iter < 20000; iter++) {
		len = rng_next(&seed) % sizeof(in);
		for (n = 0; n < len; n++)
			in[n] = alphabet[rng_next(&seed) % sizeof(alphabet)];
		max = limits[rng_next(&seed) % (sizeof(limits) / sizeof(limits[0]))];
		dotdata_init(&d, max);
		at = body_len = total_used = 0;
		was_end = 0;
		while (at < len) {
			n = 1 + rng_next(&seed) % 8;
			if (rng_next(&seed) % 16 == 0)
				n = 0;	/* an empty read changes nothing */
			else if (rng_next(&seed) % 8 == 0)
				n = sizeof(in);	/* the rest at once, for the word-wide scan */
			if (n > len - at)
				n = len - at;
			used = dotdata_feed(&d, in + at, n, out, &out_len, &is_end);
			assert_true(out_len <= n + DOTDATA_HELD_MAX);
			memcpy(body + body_len, out, out_len);
			body_len += out_len;
			total_used += used;
			at += n;
			if (was_end)
				assert_int_equal(used, 0);
			was_end |= is_end;

			/* after every call the output so far is the reference's for this prefix */
			ref_run(in, was_end ? total_used : at, max, &ref);
			assert_int_equal(body_len, ref.body_len);
			assert_memory_equal(body, ref.body, body_len);
			assert_int_equal(d.flags, ref.flags);
			assert_int_equal(was_end, ref.is_end);
			assert_int_equal(total_used, ref.used);
			assert_int_equal(d.body_bytes, body_len);
		}
		ref_run(in, len, max, &ref);
		assert_int_equal(body_len, ref.body_len);
		assert_int_equal(total_used, ref.used);
		assert_int_equal(was_end, ref.is_end);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_line_length),
		cmocka_unit_test(test_pipelined_tail),
		cmocka_unit_test(test_random_vs_reference),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
