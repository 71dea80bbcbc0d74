/*
 * fuzz_record.c - libFuzzer target for the queue-file reader (src/spool/record.c).
 * The input is a queue file, its magic optional. It is walked record by
 * record as recovery walks it, and each verdict is checked against what the
 * writer would produce: a record read as REC_OK re-encodes to the same bytes,
 * every shorter cut of it reads REC_SHORT, and E matches the chain exactly
 * when rec_append_end would have written that E. Any violation aborts.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spool/record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) \
	do { \
		if (!(cond)) { \
			fprintf(stderr, "fuzz_record.c:%d: %s\n", __LINE__, #cond); \
			abort(); \
		} \
	} while (0)

/* A record that reads as REC_OK re-encodes to exactly the bytes it came from. */
static void
check_reencode(const uint8_t *in, enum rec_type type, struct slice payload, size_t used)
{
	static struct buf b = { NULL, 0, 0, REC_MAX_PAYLOAD + REC_OVERHEAD };

	buf_reset(&b);
	CHECK(rec_append(&b, type, payload.p, payload.len, NULL) == 0);
	CHECK(b.len == used);
	CHECK(memcmp(b.data, in, used) == 0);
}

/*
 * Every cut of a whole record is unfinished, never bad: a torn write must
 * not be mistaken for corruption. Checking every cut of a large record
 * would be quadratic, so check the header cuts, the last byte and one cut
 * chosen by the record's own CRC.
 */
static void
check_cut(const uint8_t *in, size_t used, uint32_t crc)
{
	size_t cuts[REC_HEADER_LEN + 2], ncut = 0;

	for (size_t k = 0; k < REC_HEADER_LEN; k++)
		cuts[ncut++] = k;
	cuts[ncut++] = used - 1;
	cuts[ncut++] = crc % used;
	for (size_t i = 0; i < ncut; i++) {
		enum rec_type type;
		struct slice pl;
		uint32_t c;
		size_t u = 0;

		CHECK(rec_decode(in, cuts[i], &type, &pl, &c, &u) == REC_SHORT);
		CHECK(u == (cuts[i] < REC_HEADER_LEN ? REC_HEADER_LEN : used));
	}
}

static void
check_kv_value(struct slice payload, int r, struct slice v)
{
	CHECK(r >= -1 && r <= 1);
	if (r != 1)
		return;
	/* the value borrows from the payload and ends at a NUL that is not in it */
	CHECK(v.p >= payload.p && v.p + v.len < payload.p + payload.len);
	CHECK(v.p[v.len] == '\0');
	CHECK(v.len == 0 || memchr(v.p, '\0', v.len) == NULL);
}

/* Only keys of printable ASCII may be written (rec_kv_add asserts it). */
static int
key_writable(const char *key)
{
	if (key[0] == '\0')
		return 0;
	for (; *key != '\0'; key++)
		if ((uint8_t)*key <= 0x20 || (uint8_t)*key >= 0x7f)
			return 0;
	return 1;
}

static void
check_kv(struct slice payload)
{
	static const char *const keys[] = {
		"qid", "arrival_us", "smtputf8", "addr", "to", "orig", "rcpt", "attempts", "next",
	};
	char first[64];
	const uint8_t *nul;
	struct slice v;
	uint64_t u;
	int r, verdict;

	/* a malformed payload is malformed whichever key is asked for */
	verdict = rec_kv_get(payload, "", &v);
	check_kv_value(payload, verdict, v);
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		r = rec_kv_get(payload, keys[i], &v);
		check_kv_value(payload, r, v);
		CHECK((r == -1) == (verdict == -1));
		r = rec_kv_get_u64(payload, keys[i], &u);
		CHECK(r >= -1 && r <= 1);
		if (verdict == -1)
			CHECK(r == -1);
		if (r == 1) {
			/* a number read back is written with the same digits */
			struct buf b;
			struct slice sv;

			buf_init(&b, 64);
			CHECK(rec_kv_add_u64(&b, "k", u) == 0);
			CHECK(rec_kv_get(payload, keys[i], &sv) == 1);
			CHECK(b.len == 2 + sv.len + 1 && memcmp(b.data + 2, sv.p, sv.len) == 0);
			buf_clear(&b);
		}
	}
	/* the first key of the payload itself, so that the found path runs */
	if (payload.len == 0 || (nul = memchr(payload.p, '\0', payload.len)) == NULL)
		return;
	if ((size_t)(nul - payload.p) >= sizeof(first))
		return;
	memcpy(first, payload.p, (size_t)(nul - payload.p));
	first[nul - payload.p] = '\0';
	r = rec_kv_get(payload, first, &v);
	check_kv_value(payload, r, v);
	CHECK(r == (verdict == -1 ? -1 : 1));
	if (r == 1 && key_writable(first)) {
		/* and the pair re-encodes to the bytes it was read from */
		struct buf b;

		buf_init(&b, payload.len);
		CHECK(rec_kv_add(&b, first, v.p, v.len) == 0);
		CHECK(memcmp(b.data, payload.p, b.len) == 0);
		buf_clear(&b);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rec_chain chain = { 0, 0 };
	size_t off = 0;
	int seen_end = 0;

	if (size >= REC_MAGIC_LEN && memcmp(data, REC_MAGIC, REC_MAGIC_LEN) == 0)
		off = REC_MAGIC_LEN;
	while (off < size) {
		enum rec_type type;
		struct slice pl;
		uint32_t crc;
		size_t used = 0, remaining = size - off;
		enum rec_result r = rec_decode(data + off, remaining, &type, &pl, &crc, &used);

		CHECK(r == REC_OK || r == REC_SHORT || r == REC_BAD);
		if (r == REC_BAD)
			break;
		if (r == REC_SHORT) {
			/* asks for more than there is, and never more than a record can be */
			CHECK(used > remaining);
			CHECK(used <= REC_MAX_PAYLOAD + REC_OVERHEAD);
			break;
		}
		CHECK(used >= REC_OVERHEAD && used <= remaining);
		CHECK(pl.p == data + off + REC_HEADER_LEN);
		CHECK(pl.len == used - REC_OVERHEAD);
		check_reencode(data + off, type, pl, used);
		check_cut(data + off, used, crc);

		if (type == REC_END && !seen_end) {
			/* E is right exactly when the writer would have written it */
			struct buf want;
			int ok = rec_end_check(pl, &chain) == 0;

			buf_init(&want, 64);
			CHECK(rec_append_end(&want, &chain) == 0);
			CHECK(ok == (used == want.len && memcmp(want.data, data + off, used) == 0));
			buf_clear(&want);
			seen_end = 1;
		} else if (type != REC_CONTENT && type != REC_END) {
			check_kv(pl);	/* C is opaque bytes */
		}
		if (!seen_end)
			rec_chain_add(&chain, crc);
		off += used;
	}
	return 0;
}
