/*
 * fuzz_dotdata.c - the DATA reader, fed whole and in fuzzer-chosen chunks.
 * Input layout: byte 0 picks how many chunk sizes follow (low 4 bits) and
 * the line limit (high 4 bits); then come the chunk sizes, one byte each,
 * used in turn (none: one byte per call); the rest is the message.
 * Both runs must agree on every byte, flag, count and the end, and the end
 * must be the first CRLF "." CRLF (RFC 5321 4.1.1.4). When it is found,
 * the flags must be those of the body, and the body, dot-stuffed again
 * (RFC 5321 4.5.2) and read back, must round-trip.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtp/smtp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct run {
	uint8_t *body;
	size_t body_len;
	size_t used;
	unsigned flags;
	int is_end;
};

#define CHECK(cond)	do { if (!(cond)) abort(); } while (0)

/*
 * Feeds msg[0..len) in chunks of sizes[i % nsizes] bytes (a zero size is
 * an empty call), checking the contract's invariants after every call.
 */
static void
feed(const uint8_t *msg, size_t len, size_t max_line_bytes, const uint8_t *sizes,
    size_t nsizes, struct run *r)
{
	struct dotdata d;
	size_t at = 0, i = 0, n, used, out_len, zeros = 0;
	uint8_t *out;
	int is_end;

	dotdata_init(&d, max_line_bytes);
	r->body = malloc(len + 1);
	CHECK(r->body != NULL);
	r->body_len = r->used = 0;
	r->is_end = 0;
	while (at < len) {
		n = nsizes > 0 ? sizes[i++ % nsizes] : len - at;
		if (n > 0)
			zeros = 0;
		else if (++zeros > nsizes)
			n = 1;	/* every size zero: still make progress */
		if (n > len - at)
			n = len - at;
		/* exactly the room the contract promises, so ASan sees an overrun */
		out = malloc(n + DOTDATA_HELD_MAX);
		CHECK(out != NULL);
		used = dotdata_feed(&d, msg + at, n, out, &out_len, &is_end);
		CHECK(is_end == 0 || is_end == 1);
		CHECK(used <= n);
		CHECK(out_len <= n + DOTDATA_HELD_MAX);
		if (r->is_end) {
			/* once the end is found, consumption stops there */
			CHECK(used == 0 && out_len == 0 && is_end == 1);
		} else if (!is_end) {
			CHECK(used == n);
		}
		r->is_end |= is_end;
		CHECK(r->body_len + out_len <= len);
		memcpy(r->body + r->body_len, out, out_len);
		r->body_len += out_len;
		r->used += used;
		CHECK(d.body_bytes == r->body_len);
		free(out);
		at += n;
	}
	r->flags = d.flags;
}

/*
 * RFC 5321 4.1.1.4: the end is the first ".\r\n" at the start of DATA or
 * right after CRLF, and nothing else; so used is just past the first one,
 * or, with none in the input, all of it.
 */
static void
check_end(const uint8_t *msg, size_t len, const struct run *r)
{
	size_t j;

	for (j = 0; j + 3 <= len; j++) {
		if (msg[j] == '.' && msg[j + 1] == '\r' && msg[j + 2] == '\n' &&
		    (j == 0 || (j >= 2 && msg[j - 2] == '\r' && msg[j - 1] == '\n'))) {
			CHECK(r->is_end && r->used == j + 3);
			return;
		}
	}
	CHECK(!r->is_end && r->used == len);
}

/*
 * Once the end is found, every flag follows from the body alone: a removed
 * dot only ever follows an LF, so it never stands between a CR and an LF,
 * and the body ends in CRLF, so every CR in it has a known next byte.
 */
static unsigned
body_flags(const uint8_t *b, size_t len, size_t max_line_bytes)
{
	size_t i, line = 0;
	unsigned f = 0;

	for (i = 0; i < len; i++) {
		if (b[i] == '\n' && (i == 0 || b[i - 1] != '\r'))
			f |= DOTDATA_BARE_LF;
		if (b[i] == '\r' && (i + 1 == len || b[i + 1] != '\n'))
			f |= DOTDATA_BARE_CR;
		if (b[i] == 0)
			f |= DOTDATA_NUL;
		if (b[i] >= 0x80)
			f |= DOTDATA_8BIT;
		if (++line > max_line_bytes)
			f |= DOTDATA_LONG_LINE;
		if (b[i] == '\n' && i > 0 && b[i - 1] == '\r')
			line = 0;
	}
	return f;
}

/* RFC 5321 4.5.2 in reverse: a dot before every line-start dot, then ".\r\n". */
static size_t
stuff(const uint8_t *body, size_t len, uint8_t *out)
{
	size_t i, o = 0;

	for (i = 0; i < len; i++) {
		if (body[i] == '.' && (i == 0 || (i >= 2 && body[i - 2] == '\r' && body[i - 1] == '\n')))
			out[o++] = '.';
		out[o++] = body[i];
	}
	memcpy(out + o, ".\r\n", 3);
	return o + 3;
}

static void
check_round_trip(const struct run *r, size_t max_line_bytes)
{
	struct run again;
	uint8_t *wire;
	size_t wire_len;

	/* the CRLF before the final dot is body, so the body ends in one */
	CHECK(r->body_len == 0 || (r->body_len >= 2 &&
	    r->body[r->body_len - 2] == '\r' && r->body[r->body_len - 1] == '\n'));
	wire = malloc(2 * r->body_len + 3);
	CHECK(wire != NULL);
	wire_len = stuff(r->body, r->body_len, wire);
	feed(wire, wire_len, max_line_bytes, NULL, 0, &again);
	CHECK(again.is_end && again.used == wire_len);
	CHECK(again.body_len == r->body_len);
	CHECK(memcmp(again.body, r->body, r->body_len) == 0);
	CHECK(again.flags == r->flags);
	free(again.body);
	free(wire);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t one_byte[] = { 1 };
	static const size_t limits[] = { 1000, 1, 2, 3, 4, 5, 8, 16, 64, 998, 999, 1001, 0,
		SIZE_MAX, 76, 78 };
	const uint8_t *sizes, *msg;
	size_t nsizes, len, max;
	struct run whole, split;

	if (size < 1)
		return 0;
	nsizes = data[0] & 0x0f;
	max = limits[data[0] >> 4];
	if (size - 1 < nsizes)
		return 0;
	sizes = data + 1;
	msg = data + 1 + nsizes;
	len = size - 1 - nsizes;

	feed(msg, len, max, NULL, 0, &whole);
	if (nsizes == 0) {
		sizes = one_byte;
		nsizes = 1;
	}
	feed(msg, len, max, sizes, nsizes, &split);
	CHECK(whole.body_len == split.body_len);
	CHECK(memcmp(whole.body, split.body, whole.body_len) == 0);
	CHECK(whole.flags == split.flags);
	CHECK(whole.is_end == split.is_end);
	CHECK(whole.used == split.used);
	check_end(msg, len, &whole);
	if (whole.is_end) {
		CHECK(whole.flags == body_flags(whole.body, whole.body_len, max));
		check_round_trip(&whole, max);
	}
	free(whole.body);
	free(split.body);
	return 0;
}
