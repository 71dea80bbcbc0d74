/*
 * test_record.c - the queue-file record format (src/spool/record.c).
 * Round trips of every record type, the E record's count and chained CRC,
 * every truncation and every single-bit flip of real records, the key/value
 * payloads, and a golden queue file (golden/simple.q, laid out byte by byte
 * in golden/README.md) that must match both what the encoder writes and what
 * the decoder reads. STERNA_REGEN_GOLDEN=1 rewrites the golden file.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spool/record.h"
#include "util/crc32c.h"

#define IN(s) (const uint8_t *)(s), sizeof(s) - 1
#define GOLDEN_PATH SRCDIR "/golden/simple.q"

static const enum rec_type all_types[] = {
	REC_META, REC_SENDER, REC_RCPT, REC_CONTENT, REC_END, REC_DONE, REC_DEFER, REC_HOLD,
	REC_HEADER, REC_BODY, REC_NEWENV,
};

static uint32_t
be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/*
 * Decodes from an exact-size heap copy of in[0..len), so that a build with
 * AddressSanitizer catches any read past len.
 */
static enum rec_result
decode_exact(const uint8_t *in, size_t len, enum rec_type *type, struct slice *payload,
    uint32_t *crc, size_t *used)
{
	uint8_t *copy = len ? malloc(len) : NULL;
	enum rec_result r;

	if (len)
		memcpy(copy, in, len);
	r = rec_decode(copy, len, type, payload, crc, used);
	/* the payload borrows from copy: point it back into the caller's bytes */
	if (r == REC_OK)
		payload->p = in + (payload->p - copy);
	free(copy);
	return r;
}

/* ---- whole records ---- */

static const struct {
	enum rec_type type;
	const uint8_t *payload;
	size_t len;
} round_cases[] = {
	{ REC_META,	IN("qid\0" "7Q3F9K2M1A\0" "time\0" "1700000000\0") },
	{ REC_SENDER,	IN("addr\0" "a@example.org\0") },
	{ REC_SENDER,	IN("addr\0" "\0") },				/* null sender <> */
	{ REC_RCPT,	IN("idx\0" "1\0" "addr\0" "b@example.net\0") },
	{ REC_CONTENT,	IN("Subject: x\r\n\r\nhi\r\n") },
	{ REC_CONTENT,	IN("\0\r\n.\r\n\xff\xfe\0\0bare\rcr\nlf") },	/* binary is opaque */
	{ REC_CONTENT,	IN("") },					/* empty payload */
	{ REC_END,	IN("\0\0\0\x06\x12\x34\x56\x78") },
	{ REC_DONE,	IN("idx\0" "1\0" "time\0" "1700000060\0") },
	{ REC_DEFER,	IN("idx\0" "2\0" "time\0" "1700000061\0" "next\0" "1700000961\0") },
	{ REC_HOLD,	IN("held\0" "1\0" "uid\0" "0\0" "time\0" "1700000062\0") },
};

static void
test_roundtrip(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(round_cases) / sizeof(round_cases[0]); i++) {
		struct buf b;
		enum rec_type type;
		struct slice pl;
		uint32_t crc, want_crc;
		size_t used, plen = round_cases[i].len;

		buf_init(&b, 4096);
		assert_int_equal(rec_append(&b, round_cases[i].type, round_cases[i].payload, plen,
		    NULL), 0);
		assert_int_equal(b.len, REC_OVERHEAD + plen);
		/* the header is spelled out: type, then the length big-endian */
		assert_int_equal(b.data[0], round_cases[i].type);
		assert_int_equal(be32(b.data + 1), plen);
		assert_memory_equal(b.data + REC_HEADER_LEN, round_cases[i].payload, plen);
		want_crc = crc32c(0, b.data, REC_HEADER_LEN + plen);
		assert_int_equal(be32(b.data + REC_HEADER_LEN + plen), want_crc);

		if (decode_exact(b.data, b.len, &type, &pl, &crc, &used) != REC_OK)
			fail_msg("case %zu: decode failed", i);
		assert_int_equal(type, round_cases[i].type);
		assert_int_equal(pl.len, plen);
		assert_memory_equal(pl.p, round_cases[i].payload, plen);
		assert_int_equal(crc, want_crc);
		assert_int_equal(used, b.len);

		/* bytes after the record belong to the next one and change nothing */
		assert_int_equal(buf_append(&b, IN("Mjunk")), 0);
		assert_int_equal(rec_decode(b.data, b.len, &type, &pl, &crc, &used), REC_OK);
		assert_int_equal(used, REC_OVERHEAD + plen);
		assert_int_equal(crc, want_crc);
		buf_clear(&b);
	}
}

static void
test_roundtrip_every_type(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(all_types) / sizeof(all_types[0]); i++) {
		struct buf b;
		enum rec_type type;
		struct slice pl;
		uint32_t crc;
		size_t used;

		buf_init(&b, 64);
		assert_int_equal(rec_append(&b, all_types[i], IN("k\0v\0"), NULL), 0);
		assert_int_equal(rec_decode(b.data, b.len, &type, &pl, &crc, &used), REC_OK);
		assert_int_equal(type, all_types[i]);
		assert_true(slice_eq(pl, SLICE_LIT("k\0v\0")));
		buf_clear(&b);
	}
}

static void
test_roundtrip_max_payload(void **state)
{
	struct buf b;
	uint8_t *big = malloc(REC_MAX_PAYLOAD);
	enum rec_type type;
	struct slice pl;
	uint32_t crc;
	size_t used;

	(void)state;
	for (size_t i = 0; i < REC_MAX_PAYLOAD; i++)
		big[i] = (uint8_t)(i * 7 + (i >> 9));
	buf_init(&b, REC_MAX_PAYLOAD + REC_OVERHEAD);	/* exactly enough */
	assert_int_equal(rec_append(&b, REC_CONTENT, big, REC_MAX_PAYLOAD, NULL), 0);
	assert_int_equal(b.len, REC_MAX_PAYLOAD + REC_OVERHEAD);
	assert_int_equal(rec_decode(b.data, b.len, &type, &pl, &crc, &used), REC_OK);
	assert_int_equal(pl.len, REC_MAX_PAYLOAD);
	assert_memory_equal(pl.p, big, REC_MAX_PAYLOAD);
	assert_int_equal(used, b.len);
	/* one byte short of the whole record: the decoder asks for all of it */
	assert_int_equal(rec_decode(b.data, b.len - 1, &type, &pl, &crc, &used), REC_SHORT);
	assert_int_equal(used, REC_MAX_PAYLOAD + REC_OVERHEAD);
	buf_clear(&b);
	free(big);
}

static void
test_append_rejects(void **state)
{
	struct buf b;
	struct rec_chain chain = { 3, 0xdeadbeef };
	uint8_t big[64] = { 0 };

	(void)state;
	buf_init(&b, 32);
	assert_int_equal(buf_append(&b, IN("xy")), 0);
	/* not a type of ours, whatever the caller cast into the enum */
	assert_int_equal(rec_append(&b, (enum rec_type)'X', IN("k\0v\0"), &chain), -1);
	assert_int_equal(rec_append(&b, (enum rec_type)0, IN(""), &chain), -1);
	assert_int_equal(rec_append(&b, (enum rec_type)('M' + 256), IN(""), &chain), -1);
	assert_int_equal(rec_append(&b, (enum rec_type)-1, IN(""), &chain), -1);
	/* over the limit, checked before the payload pointer is touched */
	assert_int_equal(rec_append(&b, REC_CONTENT, big, (size_t)REC_MAX_PAYLOAD + 1, &chain), -1);
	assert_int_equal(rec_append(&b, REC_CONTENT, big, SIZE_MAX, &chain), -1);
	/* 2 + 9 + 22 = 33 > 32: full, and nothing half-written */
	assert_int_equal(rec_append(&b, REC_CONTENT, big, 22, &chain), -1);
	assert_int_equal(b.len, 2);
	assert_memory_equal(b.data, "xy", 2);
	assert_int_equal(chain.count, 3);
	assert_int_equal(chain.crc, 0xdeadbeef);
	/* exactly full is fine */
	assert_int_equal(rec_append(&b, REC_CONTENT, big, 21, &chain), 0);
	assert_int_equal(b.len, 32);
	assert_int_equal(chain.count, 4);
	/* an E record does not fit either, and leaves b alone */
	assert_int_equal(rec_append_end(&b, &chain), -1);
	assert_int_equal(b.len, 32);
	buf_clear(&b);
}

static void
test_chain_limits(void **state)
{
	struct buf b;
	struct rec_chain chain = { UINT32_MAX, 0x01020304 };

	(void)state;
	buf_init(&b, 64);
	/* the E record could not carry one more */
	assert_int_equal(rec_append(&b, REC_CONTENT, IN("x"), &chain), -1);
	assert_int_equal(b.len, 0);
	assert_int_equal(chain.count, UINT32_MAX);
	assert_int_equal(chain.crc, 0x01020304);
	/* without a chain the same record is fine */
	assert_int_equal(rec_append(&b, REC_CONTENT, IN("x"), NULL), 0);
	/* a reader's count saturates instead of wrapping to a small number */
	rec_chain_add(&chain, 0);
	assert_int_equal(chain.count, UINT32_MAX);
	assert_int_not_equal(chain.crc, 0x01020304);
	buf_clear(&b);
}

/* ---- hand-spelled input: the decoder's verdicts ---- */

static const struct {
	const uint8_t *in;
	size_t len;
	enum rec_result want;
	size_t want_used;	/* for REC_OK and REC_SHORT */
} decode_cases[] = {
	{ IN(""),				REC_SHORT, 5 },
	{ IN("M"),				REC_SHORT, 5 },
	{ IN("M\0\0\0"),			REC_SHORT, 5 },
	{ IN("M\0\0\0\0"),			REC_SHORT, 9 },
	{ IN("M\0\0\0\0\0\0\0"),		REC_SHORT, 9 },
	{ IN("C\0\0\0\x03" "ab"),		REC_SHORT, 12 },
	/* CRC-32C of the 5 bytes "C\0\0\0\0" is 0x3a10ac6f */
	{ IN("C\0\0\0\0" "\x3a\x10\xac\x6f"),	REC_OK, 9 },
	{ IN("C\0\0\0\0" "\x6f\xac\x10\x3a"),	REC_BAD, 0 },	/* CRC little-endian */
	{ IN("C\0\0\0\0" "\x3a\x10\xac\x6e"),	REC_BAD, 0 },
	{ IN("D\0\0\0\0" "\x3a\x10\xac\x6f"),	REC_BAD, 0 },	/* the CRC covers the type */
	{ IN("C\0\0\0\0" "\0\0\0\0"),		REC_BAD, 0 },
	/* unknown type bytes: bad at once, however little follows */
	{ IN("X"),				REC_BAD, 0 },
	{ IN("\0"),				REC_BAD, 0 },
	{ IN("m\0\0\0\0"),			REC_BAD, 0 },	/* types are case-sensitive */
	{ IN("\xcd\0\0\0\0"),			REC_BAD, 0 },	/* 'M' with bit 7 set */
	{ IN("STERNAQ1"),			REC_BAD, 0 },	/* the magic is not a record */
	/* lengths: over the limit is bad, before anything is added to it */
	{ IN("M\xff\xff\xff\xff"),		REC_BAD, 0 },
	{ IN("M\xff\xff\xff\xff" "\0\0\0\0"),	REC_BAD, 0 },
	{ IN("M\xff"),				REC_BAD, 0 },	/* can only grow too big */
	{ IN("M\0\x10\0\x01"),			REC_BAD, 0 },	/* REC_MAX_PAYLOAD + 1 */
	{ IN("M\0\x10\0"),			REC_SHORT, 5 },	/* may still be the maximum */
	{ IN("M\0\x10\0\0"),			REC_SHORT, REC_MAX_PAYLOAD + 9 },
	{ IN("M\0\x11"),			REC_BAD, 0 },
	{ IN("M\x80\0\0\0"),			REC_BAD, 0 },
	{ IN("M\0\0\0\x01" "\0\0\0\0"),		REC_SHORT, 10 },
};

static void
test_decode_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(decode_cases) / sizeof(decode_cases[0]); i++) {
		enum rec_type type = (enum rec_type)0;
		struct slice pl = { NULL, 12345 };
		uint32_t crc = 777;
		size_t used = 4242;
		enum rec_result r;

		r = decode_exact(decode_cases[i].in, decode_cases[i].len, &type, &pl, &crc, &used);
		if (r != decode_cases[i].want)
			fail_msg("case %zu: got %d, want %d", i, r, decode_cases[i].want);
		if (r == REC_BAD) {
			/* on REC_BAD nothing is set */
			assert_int_equal(type, 0);
			assert_null(pl.p);
			assert_int_equal(pl.len, 12345);
			assert_int_equal(crc, 777);
			assert_int_equal(used, 4242);
		} else if (used != decode_cases[i].want_used) {
			fail_msg("case %zu: used %zu, want %zu", i, used, decode_cases[i].want_used);
		}
	}
}

/* ---- a sequence of records and its E record ---- */

/* Appends the records of round_cases that come before E, counted into chain. */
static void
build_sequence(struct buf *b, struct rec_chain *chain, size_t *n_out)
{
	size_t n = 0;

	for (size_t i = 0; i < sizeof(round_cases) / sizeof(round_cases[0]); i++) {
		if (round_cases[i].type == REC_END || round_cases[i].type == REC_DONE ||
		    round_cases[i].type == REC_DEFER || round_cases[i].type == REC_HOLD)
			continue;
		assert_int_equal(rec_append(b, round_cases[i].type, round_cases[i].payload,
		    round_cases[i].len, chain), 0);
		n++;
	}
	*n_out = n;
}

static void
test_end_sequence(void **state)
{
	struct buf b, crcs;
	struct rec_chain wchain = { 0, 0 }, rchain = { 0, 0 };
	size_t n, off = 0, nread = 0;
	enum rec_type type;
	struct slice pl;
	uint32_t crc;
	size_t used;

	(void)state;
	buf_init(&b, 4096);
	buf_init(&crcs, 4096);
	build_sequence(&b, &wchain, &n);
	assert_int_equal(wchain.count, n);
	assert_int_equal(rec_append_end(&b, &wchain), 0);

	/* read it back the way recovery does */
	for (;;) {
		assert_int_equal(rec_decode(b.data + off, b.len - off, &type, &pl, &crc, &used),
		    REC_OK);
		off += used;
		if (type == REC_END)
			break;
		/* gather the stored CRCs to recompute the chain independently */
		assert_int_equal(buf_append(&crcs, b.data + off - 4, 4), 0);
		rec_chain_add(&rchain, crc);
		nread++;
	}
	assert_int_equal(off, b.len);
	assert_int_equal(nread, n);
	assert_int_equal(rec_end_check(pl, &rchain), 0);
	assert_int_equal(rchain.count, wchain.count);
	assert_int_equal(rchain.crc, wchain.crc);
	/* E's payload: count, then CRC-32C of the records' CRCs as stored (BE) */
	assert_int_equal(pl.len, 8);
	assert_int_equal(be32(pl.p), n);
	assert_int_equal(be32(pl.p + 4), crc32c(0, crcs.data, crcs.len));
	buf_clear(&b);
	buf_clear(&crcs);
}

static void
test_end_empty(void **state)
{
	struct buf b;
	struct rec_chain chain = { 0, 0 };
	enum rec_type type;
	struct slice pl;
	uint32_t crc;
	size_t used;

	(void)state;
	buf_init(&b, 64);
	assert_int_equal(rec_append_end(&b, &chain), 0);
	assert_int_equal(b.len, REC_OVERHEAD + 8);
	assert_memory_equal(b.data, "E\0\0\0\x08" "\0\0\0\0" "\0\0\0\0", 13);
	assert_int_equal(rec_decode(b.data, b.len, &type, &pl, &crc, &used), REC_OK);
	assert_int_equal(type, REC_END);
	assert_int_equal(rec_end_check(pl, &chain), 0);
	buf_clear(&b);
}

static void
test_end_check_wrong(void **state)
{
	struct buf b;
	struct rec_chain chain = { 0, 0 }, other;
	size_t n;
	uint8_t p[8];

	(void)state;
	buf_init(&b, 4096);
	build_sequence(&b, &chain, &n);
	p[0] = (uint8_t)(chain.count >> 24);
	p[1] = (uint8_t)(chain.count >> 16);
	p[2] = (uint8_t)(chain.count >> 8);
	p[3] = (uint8_t)chain.count;
	p[4] = (uint8_t)(chain.crc >> 24);
	p[5] = (uint8_t)(chain.crc >> 16);
	p[6] = (uint8_t)(chain.crc >> 8);
	p[7] = (uint8_t)chain.crc;
	assert_int_equal(rec_end_check((struct slice){ p, 8 }, &chain), 0);

	/* a wrong count, either way, with the right CRC */
	other = chain;
	other.count++;
	assert_int_equal(rec_end_check((struct slice){ p, 8 }, &other), -1);
	other.count = chain.count - 1;
	assert_int_equal(rec_end_check((struct slice){ p, 8 }, &other), -1);
	other.count = 0;
	assert_int_equal(rec_end_check((struct slice){ p, 8 }, &other), -1);
	/* a wrong CRC: any one bit of it */
	for (int bit = 0; bit < 32; bit++) {
		other = chain;
		other.crc ^= (uint32_t)1 << bit;
		assert_int_equal(rec_end_check((struct slice){ p, 8 }, &other), -1);
	}
	/* a payload of the wrong size, even with the right bytes in front */
	assert_int_equal(rec_end_check((struct slice){ p, 7 }, &chain), -1);
	assert_int_equal(rec_end_check((struct slice){ p, 0 }, &chain), -1);
	{
		uint8_t p9[9];

		memcpy(p9, p, 8);
		p9[8] = 0;
		assert_int_equal(rec_end_check((struct slice){ p9, 9 }, &chain), -1);
	}
	buf_clear(&b);
}

/*
 * The chain catches what each record's own CRC cannot: records that are
 * each intact but missing or in the wrong order.
 */
static void
test_end_chain_order(void **state)
{
	struct rec_chain in_order = { 0, 0 }, swapped = { 0, 0 }, missing = { 0, 0 };

	(void)state;
	rec_chain_add(&in_order, 0x11111111);
	rec_chain_add(&in_order, 0x22222222);
	rec_chain_add(&in_order, 0x33333333);
	rec_chain_add(&swapped, 0x22222222);
	rec_chain_add(&swapped, 0x11111111);
	rec_chain_add(&swapped, 0x33333333);
	rec_chain_add(&missing, 0x11111111);
	rec_chain_add(&missing, 0x33333333);
	assert_int_equal(swapped.count, in_order.count);
	assert_int_not_equal(swapped.crc, in_order.crc);
	assert_int_not_equal(missing.count, in_order.count);
	assert_int_not_equal(missing.crc, in_order.crc);
}

/* ---- damage: every truncation, every bit ---- */

static void
test_truncated_every_position(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(round_cases) / sizeof(round_cases[0]); i++) {
		struct buf b;

		buf_init(&b, 4096);
		assert_int_equal(rec_append(&b, round_cases[i].type, round_cases[i].payload,
		    round_cases[i].len, NULL), 0);
		for (size_t k = 0; k < b.len; k++) {
			enum rec_type type;
			struct slice pl;
			uint32_t crc;
			size_t used = 0;
			enum rec_result r = decode_exact(b.data, k, &type, &pl, &crc, &used);

			if (r != REC_SHORT)
				fail_msg("case %zu cut at %zu: got %d, want REC_SHORT", i, k, r);
			/* how much to read: the header first, then the whole record */
			if (used != (k < REC_HEADER_LEN ? REC_HEADER_LEN : b.len))
				fail_msg("case %zu cut at %zu: used %zu", i, k, used);
		}
		buf_clear(&b);
	}
}

/*
 * Flips each bit of the record at in[0..) (rec_len bytes, with tail more
 * bytes after it that belong to later records) and checks the verdict.
 */
static void
flip_every_bit(const uint8_t *in, size_t rec_len, size_t tail, const char *what)
{
	size_t len = rec_len + tail;
	uint8_t *copy = malloc(len);

	for (size_t i = 0; i < rec_len; i++) {
		for (int bit = 0; bit < 8; bit++) {
			enum rec_type type;
			struct slice pl;
			uint32_t crc;
			size_t used;
			enum rec_result r;

			memcpy(copy, in, len);
			copy[i] ^= (uint8_t)(1u << bit);
			r = rec_decode(copy, len, &type, &pl, &crc, &used);
			if (r == REC_OK)
				fail_msg("%s: bit %d of byte %zu flipped, still REC_OK", what, bit, i);
			/* only a longer length field can make it look unfinished */
			if (r == REC_SHORT && !(i >= 1 && i < REC_HEADER_LEN))
				fail_msg("%s: bit %d of byte %zu flipped, REC_SHORT", what, bit, i);
			if (r == REC_SHORT && used <= rec_len)
				fail_msg("%s: bit %d of byte %zu flipped, used %zu", what, bit, i, used);
		}
	}
	free(copy);
}

static void
test_bitflip_every_position(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(round_cases) / sizeof(round_cases[0]); i++) {
		struct buf b;
		size_t rec_len;
		char what[32];
		int n = snprintf(what, sizeof(what), "case %zu", i);

		assert_true(n > 0 && (size_t)n < sizeof(what));
		buf_init(&b, 4096);
		assert_int_equal(rec_append(&b, round_cases[i].type, round_cases[i].payload,
		    round_cases[i].len, NULL), 0);
		rec_len = b.len;
		/* alone, then followed by other records a shorter length would reach */
		flip_every_bit(b.data, rec_len, 0, what);
		for (size_t j = 0; j < sizeof(round_cases) / sizeof(round_cases[0]); j++)
			assert_int_equal(rec_append(&b, round_cases[j].type, round_cases[j].payload,
			    round_cases[j].len, NULL), 0);
		flip_every_bit(b.data, rec_len, b.len - rec_len, what);
		buf_clear(&b);
	}
}

/* ---- key/value payloads ---- */

static void
test_kv_encode(void **state)
{
	struct buf p;
	static const uint8_t want[] =
	    "qid\0" "7Q3F9K2M1A\0"
	    "empty\0" "\0"
	    "bin\0" "\r\n\xff \x01\0"
	    "zero\0" "0\0"
	    "max\0" "18446744073709551615\0"
	    "n\0" "1700000000\0";

	(void)state;
	buf_init(&p, 4096);
	assert_int_equal(rec_kv_add_str(&p, "qid", "7Q3F9K2M1A"), 0);
	assert_int_equal(rec_kv_add(&p, "empty", NULL, 0), 0);
	assert_int_equal(rec_kv_add(&p, "bin", IN("\r\n\xff \x01")), 0);
	assert_int_equal(rec_kv_add_u64(&p, "zero", 0), 0);
	assert_int_equal(rec_kv_add_u64(&p, "max", UINT64_MAX), 0);
	assert_int_equal(rec_kv_add_u64(&p, "n", 1700000000), 0);
	assert_int_equal(p.len, sizeof(want) - 1);
	assert_memory_equal(p.data, want, sizeof(want) - 1);
	buf_clear(&p);
}

static void
test_kv_add_rejects(void **state)
{
	struct buf p;

	(void)state;
	buf_init(&p, 16);
	assert_int_equal(rec_kv_add_str(&p, "a", "b"), 0);
	/* a NUL in a value would shift every field after it */
	assert_int_equal(rec_kv_add(&p, "addr", IN("x@y\0evil")), -1);
	assert_int_equal(rec_kv_add(&p, "addr", IN("\0")), -1);
	/* full: "k\0" "0123456789ab\0" is 15 bytes, 4 + 15 > 16 */
	assert_int_equal(rec_kv_add_str(&p, "k", "0123456789ab"), -1);
	assert_int_equal(rec_kv_add_u64(&p, "k", UINT64_MAX), -1);
	/* a length that would wrap the size sum */
	assert_int_equal(rec_kv_add(&p, "k", "x", SIZE_MAX - 1), -1);
	assert_int_equal(p.len, 4);
	assert_memory_equal(p.data, "a\0b\0", 4);
	/* exactly full is fine: 4 + 12 */
	assert_int_equal(rec_kv_add_str(&p, "k", "012345678"), 0);
	assert_int_equal(p.len, 16);
	buf_clear(&p);
}

static const struct {
	const uint8_t *payload;
	size_t len;
	const char *key;
	int want;
	const char *want_value;	/* for 1; may not hold NUL */
} kv_cases[] = {
	{ IN("a\0b\0"),				"a",	1, "b" },
	{ IN("a\0\0"),				"a",	1, "" },	/* empty value */
	{ IN("a\0b\0c\0d\0"),			"c",	1, "d" },
	{ IN("a\0\0c\0d\0"),			"c",	1, "d" },
	{ IN("x-new\0?\0a\0b\0"),		"a",	1, "b" },	/* unknown key skipped */
	{ IN("a\0\xff\r\n\0"),			"a",	1, "\xff\r\n" },
	{ IN("a\0" "1\0" "a\0" "2\0"),		"a",	1, "1" },	/* first wins */
	{ IN("a\0b\0"),				"x",	0, NULL },
	{ IN(""),				"a",	0, NULL },	/* empty list */
	{ IN("ab\0x\0"),			"a",	0, NULL },	/* not a prefix */
	{ IN("a\0x\0"),				"ab",	0, NULL },
	{ IN("A\0x\0"),				"a",	0, NULL },	/* case-sensitive */
	{ IN("x\0a\0"),				"a",	0, NULL },	/* a value is no key */
	{ IN("\0\0"),				"a",	0, NULL },	/* empty key */
	/* malformed: -1 whatever is asked and wherever the damage is */
	{ IN("a"),				"a",	-1, NULL },
	{ IN("a\0"),				"a",	-1, NULL },	/* odd */
	{ IN("\0"),				"a",	-1, NULL },	/* odd */
	{ IN("a\0b"),				"a",	-1, NULL },	/* no final NUL */
	{ IN("a\0b\0c"),			"a",	-1, NULL },
	{ IN("a\0b\0c\0"),			"a",	-1, NULL },	/* odd */
	{ IN("a\0b\0c\0"),			"x",	-1, NULL },
	{ IN("a\0b\0c\0d"),			"c",	-1, NULL },
	{ IN("a\0b\0\0"),			"a",	-1, NULL },
};

static void
test_kv_get_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(kv_cases) / sizeof(kv_cases[0]); i++) {
		/* an exact-size copy, so that a read past the end shows under ASan */
		uint8_t *copy = kv_cases[i].len ? malloc(kv_cases[i].len) : NULL;
		struct slice v = { NULL, 999 };
		int r;

		if (kv_cases[i].len)
			memcpy(copy, kv_cases[i].payload, kv_cases[i].len);
		r = rec_kv_get((struct slice){ copy, kv_cases[i].len }, kv_cases[i].key, &v);
		if (r != kv_cases[i].want)
			fail_msg("case %zu: got %d, want %d", i, r, kv_cases[i].want);
		if (r == 1) {
			if (!slice_eq(v, slice_str(kv_cases[i].want_value)))
				fail_msg("case %zu: wrong value", i);
			/* the value borrows from the payload */
			assert_true(v.p >= copy && v.p + v.len < copy + kv_cases[i].len);
		} else {
			assert_null(v.p);
			assert_int_equal(v.len, 999);
		}
		free(copy);
	}
}

static const struct {
	const uint8_t *payload;
	size_t len;
	int want;
	uint64_t want_value;
} u64_cases[] = {
	{ IN("n\0" "0\0"),			1, 0 },
	{ IN("n\0" "1\0"),			1, 1 },
	{ IN("n\0" "1700000000\0"),		1, 1700000000 },
	{ IN("n\0" "18446744073709551614\0"),	1, UINT64_MAX - 1 },
	{ IN("n\0" "18446744073709551615\0"),	1, UINT64_MAX },
	{ IN("x\0" "5\0"),			0, 0 },		/* absent */
	{ IN(""),				0, 0 },
	{ IN("n\0" "18446744073709551616\0"),	-1, 0 },	/* overflow by one */
	{ IN("n\0" "99999999999999999999\0"),	-1, 0 },
	{ IN("n\0" "184467440737095516150\0"),	-1, 0 },
	{ IN("n\0" "\0"),			-1, 0 },	/* empty */
	{ IN("n\0" "12a\0"),			-1, 0 },
	{ IN("n\0" "a12\0"),			-1, 0 },
	{ IN("n\0" "-1\0"),			-1, 0 },
	{ IN("n\0" "+1\0"),			-1, 0 },
	{ IN("n\0" " 1\0"),			-1, 0 },
	{ IN("n\0" "1 \0"),			-1, 0 },
	{ IN("n\0" "0x10\0"),			-1, 0 },
	{ IN("n\0" "1\r\n\0"),			-1, 0 },
	{ IN("n\0" "00\0"),			-1, 0 },	/* one spelling only */
	{ IN("n\0" "007\0"),			-1, 0 },
	{ IN("n\0" "\xd9\xa1\0"),		-1, 0 },	/* Arabic-Indic one */
	{ IN("n\0" "5"),			-1, 0 },	/* malformed list */
	{ IN("n\0"),				-1, 0 },
};

static void
test_kv_u64_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(u64_cases) / sizeof(u64_cases[0]); i++) {
		uint64_t v = 4242;
		int r = rec_kv_get_u64((struct slice){ u64_cases[i].payload, u64_cases[i].len },
		    "n", &v);

		if (r != u64_cases[i].want)
			fail_msg("case %zu: got %d, want %d", i, r, u64_cases[i].want);
		if (r == 1)
			assert_true(v == u64_cases[i].want_value);
		else
			assert_true(v == 4242);	/* untouched on failure */
	}
}

static void
test_kv_u64_roundtrip(void **state)
{
	static const uint64_t values[] = {
		0, 1, 9, 10, 99, 100, 4294967295u, 4294967296u, UINT64_MAX / 10,
		UINT64_MAX - 1, UINT64_MAX,
	};

	(void)state;
	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		struct buf p;
		uint64_t got = 0;
		char want[32];
		int n = snprintf(want, sizeof(want), "%llu", (unsigned long long)values[i]);

		assert_true(n > 0 && (size_t)n < sizeof(want));
		buf_init(&p, 64);
		assert_int_equal(rec_kv_add_str(&p, "pad", "x"), 0);
		assert_int_equal(rec_kv_add_u64(&p, "n", values[i]), 0);
		assert_int_equal(rec_kv_get_u64(buf_slice(&p), "n", &got), 1);
		assert_true(got == values[i]);
		/* decimal, no padding */
		assert_int_equal(p.len, 6 + 2 + (size_t)n + 1);
		assert_memory_equal(p.data + 8, want, (size_t)n);
		buf_clear(&p);
	}
}

/* ---- the golden queue file ---- */

/*
 * The fixed inputs of golden/simple.q, with the keys the spool writes today.
 * record.c does not interpret keys: the file pins the framing, and its
 * payloads only have to be plausible.
 */
static void
golden_build(struct buf *out)
{
	struct rec_chain chain = { 0, 0 };
	struct buf p;

	buf_init(&p, 4096);
	assert_int_equal(buf_append(out, REC_MAGIC, REC_MAGIC_LEN), 0);

	assert_int_equal(rec_kv_add_str(&p, "qid", "7Q3F9K2M1A"), 0);
	assert_int_equal(rec_kv_add_u64(&p, "arrival_us", 1700000000000000), 0);
	assert_int_equal(rec_kv_add_str(&p, "client_ip", "192.0.2.10"), 0);
	assert_int_equal(rec_kv_add_str(&p, "helo", "c.example"), 0);
	assert_int_equal(rec_kv_add_str(&p, "proto", "ESMTPS"), 0);
	assert_int_equal(rec_kv_add_str(&p, "body", "8BITMIME"), 0);
	assert_int_equal(rec_kv_add_u64(&p, "smtputf8", 0), 0);
	assert_int_equal(rec_append(out, REC_META, p.data, p.len, &chain), 0);
	buf_reset(&p);

	assert_int_equal(rec_kv_add_str(&p, "addr", "a@example.org"), 0);
	assert_int_equal(rec_append(out, REC_SENDER, p.data, p.len, &chain), 0);
	buf_reset(&p);

	assert_int_equal(rec_kv_add_str(&p, "to", "b@example.net"), 0);
	assert_int_equal(rec_kv_add_str(&p, "orig", "b@example.net"), 0);
	assert_int_equal(rec_append(out, REC_RCPT, p.data, p.len, &chain), 0);
	buf_reset(&p);

	assert_int_equal(rec_kv_add_str(&p, "to", "c@example.com"), 0);
	assert_int_equal(rec_kv_add_str(&p, "orig", "c@example.com"), 0);
	assert_int_equal(rec_append(out, REC_RCPT, p.data, p.len, &chain), 0);
	buf_reset(&p);

	assert_int_equal(rec_append(out, REC_CONTENT, IN("Subject: x\r\n\r\n"), &chain), 0);
	assert_int_equal(rec_append(out, REC_CONTENT, IN("hi\r\n"), &chain), 0);
	assert_int_equal(rec_append_end(out, &chain), 0);

	assert_int_equal(rec_kv_add_u64(&p, "rcpt", 0), 0);
	assert_int_equal(rec_kv_add_str(&p, "status", "2.0.0"), 0);
	assert_int_equal(rec_append(out, REC_DONE, p.data, p.len, NULL), 0);
	buf_reset(&p);

	assert_int_equal(rec_kv_add_u64(&p, "rcpt", 1), 0);
	assert_int_equal(rec_kv_add_u64(&p, "attempts", 1), 0);
	assert_int_equal(rec_kv_add_u64(&p, "next", 1700000900), 0);
	assert_int_equal(rec_kv_add_str(&p, "reason", "connection refused"), 0);
	assert_int_equal(rec_append(out, REC_DEFER, p.data, p.len, NULL), 0);
	buf_clear(&p);
}

/*
 * What golden/simple.q holds, spelled out independently of the encoder:
 * offsets, payload bytes and CRCs are the ones golden/README.md documents.
 */
static const struct {
	size_t off;
	enum rec_type type;
	const uint8_t *payload;
	size_t len;
	uint32_t crc;
} golden_recs[] = {
	{ 8,	REC_META,
	    IN("qid\0" "7Q3F9K2M1A\0" "arrival_us\0" "1700000000000000\0"
	    "client_ip\0" "192.0.2.10\0" "helo\0" "c.example\0" "proto\0" "ESMTPS\0"
	    "body\0" "8BITMIME\0" "smtputf8\0" "0\0"),				0x85fe36eb },
	{ 134,	REC_SENDER,	IN("addr\0" "a@example.org\0"),			0xcaf365b4 },
	{ 162,	REC_RCPT,	IN("to\0" "b@example.net\0" "orig\0" "b@example.net\0"),
	    0xac6c3792 },
	{ 207,	REC_RCPT,	IN("to\0" "c@example.com\0" "orig\0" "c@example.com\0"),
	    0xd5452255 },
	{ 252,	REC_CONTENT,	IN("Subject: x\r\n\r\n"),				0xb4d66ca6 },
	{ 275,	REC_CONTENT,	IN("hi\r\n"),						0x09e50e60 },
	{ 288,	REC_END,	IN("\0\0\0\x06" "\x20\x1b\x52\x23"),			0xca0b7790 },
	{ 305,	REC_DONE,	IN("rcpt\0" "0\0" "status\0" "2.0.0\0"),		0x96b400b1 },
	{ 334,	REC_DEFER,
	    IN("rcpt\0" "1\0" "attempts\0" "1\0" "next\0" "1700000900\0"
	    "reason\0" "connection refused\0"),					0x381732b9 },
};
#define GOLDEN_LEN 403

static size_t
golden_read(uint8_t *data, size_t cap)
{
	FILE *f = fopen(GOLDEN_PATH, "rb");
	size_t n;

	if (f == NULL)
		fail_msg("cannot open %s (STERNA_REGEN_GOLDEN=1 writes it)", GOLDEN_PATH);
	n = fread(data, 1, cap, f);
	assert_false(ferror(f));
	assert_true(n < cap);	/* all of it */
	fclose(f);
	return n;
}

static void
golden_write(const struct buf *b)
{
	FILE *f = fopen(GOLDEN_PATH, "wb");

	if (f == NULL)
		fail_msg("cannot create %s", GOLDEN_PATH);
	assert_int_equal(fwrite(b->data, 1, b->len, f), b->len);
	assert_int_equal(fclose(f), 0);
	print_message("rewrote %s (%zu bytes)\n", GOLDEN_PATH, b->len);
}

/* The encoder, given the fixed inputs, writes exactly the golden bytes. */
static void
test_golden_encode(void **state)
{
	struct buf b;
	uint8_t file[4096];
	size_t n;
	const char *regen = getenv("STERNA_REGEN_GOLDEN");

	(void)state;
	buf_init(&b, 4096);
	golden_build(&b);
	if (regen != NULL && strcmp(regen, "1") == 0)
		golden_write(&b);
	n = golden_read(file, sizeof(file));
	for (size_t i = 0; i < n && i < b.len; i++)
		if (file[i] != b.data[i])
			fail_msg("golden/simple.q differs at byte %zu: file %02x, encoder %02x",
			    i, file[i], b.data[i]);
	if (n != b.len)
		fail_msg("golden/simple.q has %zu bytes, the encoder wrote %zu", n, b.len);
	buf_clear(&b);
}

/* The decoder reads the golden bytes back field by field. */
static void
test_golden_decode(void **state)
{
	uint8_t file[4096];
	size_t n, off = REC_MAGIC_LEN;
	struct rec_chain chain = { 0, 0 };
	struct slice v;
	uint64_t u;
	int seen_end = 0;

	(void)state;
	n = golden_read(file, sizeof(file));
	assert_int_equal(n, GOLDEN_LEN);
	assert_memory_equal(file, "STERNAQ1", REC_MAGIC_LEN);
	for (size_t i = 0; i < sizeof(golden_recs) / sizeof(golden_recs[0]); i++) {
		enum rec_type type;
		struct slice pl;
		uint32_t crc;
		size_t used;

		assert_int_equal(off, golden_recs[i].off);
		if (decode_exact(file + off, n - off, &type, &pl, &crc, &used) != REC_OK)
			fail_msg("record %zu at byte %zu does not decode", i, off);
		assert_int_equal(type, golden_recs[i].type);
		assert_int_equal(pl.len, golden_recs[i].len);
		assert_memory_equal(pl.p, golden_recs[i].payload, golden_recs[i].len);
		assert_int_equal(used, REC_OVERHEAD + golden_recs[i].len);
		if (crc != golden_recs[i].crc)
			fail_msg("record %zu: crc %08x, want %08x", i, crc, golden_recs[i].crc);
		switch (type) {
		case REC_META:
			assert_int_equal(rec_kv_get(pl, "qid", &v), 1);
			assert_true(slice_eq(v, SLICE_LIT("7Q3F9K2M1A")));
			assert_int_equal(rec_kv_get_u64(pl, "arrival_us", &u), 1);
			assert_true(u == 1700000000000000);
			assert_int_equal(rec_kv_get(pl, "client_ip", &v), 1);
			assert_true(slice_eq(v, SLICE_LIT("192.0.2.10")));
			assert_int_equal(rec_kv_get(pl, "helo", &v), 1);
			assert_true(slice_eq(v, SLICE_LIT("c.example")));
			assert_int_equal(rec_kv_get(pl, "proto", &v), 1);
			assert_true(slice_eq(v, SLICE_LIT("ESMTPS")));
			assert_int_equal(rec_kv_get(pl, "body", &v), 1);
			assert_true(slice_eq(v, SLICE_LIT("8BITMIME")));
			assert_int_equal(rec_kv_get_u64(pl, "smtputf8", &u), 1);
			assert_true(u == 0);
			break;
		case REC_SENDER:
			assert_int_equal(rec_kv_get(pl, "addr", &v), 1);
			assert_true(slice_eq(v, SLICE_LIT("a@example.org")));
			break;
		case REC_RCPT: {
			struct slice want = golden_recs[i].off == 162 ?
			    SLICE_LIT("b@example.net") : SLICE_LIT("c@example.com");

			assert_int_equal(rec_kv_get(pl, "to", &v), 1);
			assert_true(slice_eq(v, want));
			assert_int_equal(rec_kv_get(pl, "orig", &v), 1);
			assert_true(slice_eq(v, want));
			break;
		}
		case REC_CONTENT:
			break;
		case REC_END:
			assert_int_equal(rec_end_check(pl, &chain), 0);
			assert_int_equal(chain.count, 6);
			seen_end = 1;
			break;
		case REC_DONE:
			assert_int_equal(rec_kv_get_u64(pl, "rcpt", &u), 1);
			assert_true(u == 0);
			assert_int_equal(rec_kv_get(pl, "status", &v), 1);
			assert_true(slice_eq(v, SLICE_LIT("2.0.0")));
			break;
		case REC_DEFER:
			assert_int_equal(rec_kv_get_u64(pl, "rcpt", &u), 1);
			assert_true(u == 1);
			assert_int_equal(rec_kv_get_u64(pl, "attempts", &u), 1);
			assert_true(u == 1);
			assert_int_equal(rec_kv_get_u64(pl, "next", &u), 1);
			assert_true(u == 1700000900);
			assert_int_equal(rec_kv_get(pl, "reason", &v), 1);
			assert_true(slice_eq(v, SLICE_LIT("connection refused")));
			break;
		case REC_HOLD:
		case REC_HEADER:
		case REC_BODY:
		case REC_NEWENV:
			fail_msg("the golden file has no H, F, B or N record");
			break;
		}
		if (!seen_end)
			rec_chain_add(&chain, crc);
		off += used;
	}
	assert_int_equal(off, n);
	assert_true(seen_end);
}

/*
 * A torn write of the golden file at every length: the records that are
 * whole read as REC_OK, the one cut reads REC_SHORT, never REC_BAD.
 */
static void
test_golden_every_prefix(void **state)
{
	uint8_t file[4096];
	size_t n;

	(void)state;
	n = golden_read(file, sizeof(file));
	for (size_t cut = REC_MAGIC_LEN; cut <= n; cut++) {
		size_t off = REC_MAGIC_LEN, nrec = 0;

		for (;;) {
			enum rec_type type;
			struct slice pl;
			uint32_t crc;
			size_t used;
			enum rec_result r;

			if (off == cut)
				break;
			r = decode_exact(file + off, cut - off, &type, &pl, &crc, &used);
			if (r == REC_BAD)
				fail_msg("cut at %zu: REC_BAD at byte %zu", cut, off);
			if (r == REC_SHORT)
				break;
			assert_true(used <= cut - off);
			off += used;
			nrec++;
		}
		assert_true(nrec <= sizeof(golden_recs) / sizeof(golden_recs[0]));
		if (cut == n)
			assert_int_equal(nrec, sizeof(golden_recs) / sizeof(golden_recs[0]));
	}
}

/* Every bit of every record of the golden file, with the rest of the file after it. */
static void
test_golden_bitflip(void **state)
{
	uint8_t file[4096];
	size_t n, off = REC_MAGIC_LEN;

	(void)state;
	n = golden_read(file, sizeof(file));
	for (size_t i = 0; i < sizeof(golden_recs) / sizeof(golden_recs[0]); i++) {
		size_t rec_len = REC_OVERHEAD + golden_recs[i].len;
		char what[32];
		int w = snprintf(what, sizeof(what), "golden record %zu", i);

		assert_true(w > 0 && (size_t)w < sizeof(what));
		flip_every_bit(file + off, rec_len, n - off - rec_len, what);
		off += rec_len;
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_roundtrip_every_type),
		cmocka_unit_test(test_roundtrip_max_payload),
		cmocka_unit_test(test_append_rejects),
		cmocka_unit_test(test_chain_limits),
		cmocka_unit_test(test_decode_table),
		cmocka_unit_test(test_end_sequence),
		cmocka_unit_test(test_end_empty),
		cmocka_unit_test(test_end_check_wrong),
		cmocka_unit_test(test_end_chain_order),
		cmocka_unit_test(test_truncated_every_position),
		cmocka_unit_test(test_bitflip_every_position),
		cmocka_unit_test(test_kv_encode),
		cmocka_unit_test(test_kv_add_rejects),
		cmocka_unit_test(test_kv_get_table),
		cmocka_unit_test(test_kv_u64_table),
		cmocka_unit_test(test_kv_u64_roundtrip),
		cmocka_unit_test(test_golden_encode),
		cmocka_unit_test(test_golden_decode),
		cmocka_unit_test(test_golden_every_prefix),
		cmocka_unit_test(test_golden_bitflip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
