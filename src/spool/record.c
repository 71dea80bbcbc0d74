/*
 * record.c - encode and decode the records of a queue file (see record.h and
 * tests/unit/golden/README.md for the layout, byte by byte).
 * Pure code: bytes in, bytes or a verdict out. Opening, flushing, renaming
 * and deciding what a bad file means are left to the spool; which keys each
 * record carries is the spool's business too, this file only frames them.
 * The decoder is total and never reads past the length it is given: every
 * length from the disk is compared with REC_MAX_PAYLOAD before it takes part
 * in any sum (tests/unit/test_record.c, tests/fuzz/fuzz_record.c).
 */
#include "spool/record.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "util/ascii.h"
#include "util/crc32c.h"
#include "util/xalloc.h"

static int
rec_type_known(uint8_t c)
{
	switch (c) {
	case REC_META:
	case REC_SENDER:
	case REC_RCPT:
	case REC_CONTENT:
	case REC_END:
	case REC_DONE:
	case REC_DEFER:
	case REC_HOLD:
	case REC_HEADER:
	case REC_BODY:
	case REC_NEWENV:
		return 1;
	default:
		return 0;
	}
}

static void
put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t
get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

void
rec_chain_add(struct rec_chain *chain, uint32_t crc)
{
	uint8_t be[4];

	put_be32(be, crc);
	chain->crc = crc32c(chain->crc, be, sizeof(be));
	/*
	 * XXX: a reader cannot report an error here; saturating keeps a file of
	 * more than 2^32 records (36 GiB of headers alone) from wrapping to a small
	 * count, and its chained CRC still has to match.
	 */
	if (chain->count < UINT32_MAX)
		chain->count++;
}

int
rec_append(struct buf *out, enum rec_type type, const void *payload, size_t len,
    struct rec_chain *chain)
{
	uint8_t head[REC_HEADER_LEN], tail[REC_TRAILER_LEN];
	uint32_t crc;
	int r;

	if ((unsigned)type > UINT8_MAX || !rec_type_known((uint8_t)type))
		return -1;
	if (len > REC_MAX_PAYLOAD)
		return -1;
	/* the writer never produces a count the E record cannot carry */
	if (chain != NULL && chain->count == UINT32_MAX)
		return -1;
	/* reserve first so that a full buffer is left exactly as it was */
	if (buf_reserve(out, REC_OVERHEAD + len) == -1)
		return -1;

	head[0] = (uint8_t)type;
	put_be32(head + 1, (uint32_t)len);
	crc = crc32c(0, head, sizeof(head));
	if (len > 0)
		crc = crc32c(crc, payload, len);
	put_be32(tail, crc);

	/* cannot fail: the room is reserved */
	r = buf_append(out, head, sizeof(head));
	r |= buf_append(out, payload, len);
	r |= buf_append(out, tail, sizeof(tail));
	ASSERT(r == 0);
	if (chain != NULL)
		rec_chain_add(chain, crc);
	return 0;
}

int
rec_append_end(struct buf *out, const struct rec_chain *chain)
{
	uint8_t p[8];

	put_be32(p, chain->count);
	put_be32(p + 4, chain->crc);
	return rec_append(out, REC_END, p, sizeof(p), NULL);
}

enum rec_result
rec_decode(const uint8_t *in, size_t len, enum rec_type *type_out,
    struct slice *payload_out, uint32_t *crc_out, size_t *used_out)
{
	uint32_t plen = 0, crc;
	size_t have, total;

	if (len == 0) {
		*used_out = REC_HEADER_LEN;
		return REC_SHORT;
	}
	if (!rec_type_known(in[0]))
		return REC_BAD;
	/*
	 * Judge the length from the bytes we have, the missing ones taken as
	 * zero: a prefix that can only grow into an oversized record is bad
	 * now, not short, so a reader waiting for more never waits for 4 GB.
	 */
	have = len - 1 < 4 ? len - 1 : 4;
	for (size_t i = 0; i < 4; i++)
		plen = plen << 8 | (i < have ? in[1 + i] : 0);
	/* checked before any sum: 0xFFFFFFFF + 9 must not wrap (test_decode_table) */
	if (plen > REC_MAX_PAYLOAD)
		return REC_BAD;
	if (len < REC_HEADER_LEN) {
		*used_out = REC_HEADER_LEN;
		return REC_SHORT;
	}
	total = REC_OVERHEAD + (size_t)plen;
	if (len < total) {
		*used_out = total;
		return REC_SHORT;
	}
	crc = crc32c(0, in, REC_HEADER_LEN + (size_t)plen);
	if (crc != get_be32(in + REC_HEADER_LEN + plen))
		return REC_BAD;

	*type_out = (enum rec_type)in[0];
	payload_out->p = in + REC_HEADER_LEN;
	payload_out->len = plen;
	*crc_out = crc;
	*used_out = total;
	return REC_OK;
}

int
rec_header_offsets(struct slice payload, uint64_t *orig_len, uint64_t *body_at)
{
	if (payload.len < REC_HEADER_FIXED)
		return -1;
	*orig_len = *body_at = 0;
	for (int i = 0; i < 8; i++) {
		*orig_len = *orig_len << 8 | payload.p[i];
		*body_at = *body_at << 8 | payload.p[8 + i];
	}
	return 0;
}

int
rec_end_check(struct slice payload, const struct rec_chain *chain)
{
	if (payload.len != 8)
		return -1;
	if (get_be32(payload.p) != chain->count || get_be32(payload.p + 4) != chain->crc)
		return -1;
	return 0;
}

int
rec_kv_add(struct buf *payload, const char *key, const void *value, size_t len)
{
	size_t klen = strlen(key);
	int r;

	/*
	 * Keys are constants of our own code; a key that is empty or not
	 * printable ASCII is a programming error, not input.
	 */
	ASSERT(klen > 0);
	for (size_t i = 0; i < klen; i++)
		ASSERT(ascii_isgraph((uint8_t)key[i]));
	/* a NUL would end the value early and shift every field after it */
	if (len > 0 && memchr(value, '\0', len) != NULL)
		return -1;
	if (len > SIZE_MAX - klen - 2)
		return -1;
	if (buf_reserve(payload, klen + 1 + len + 1) == -1)
		return -1;
	/* cannot fail: the room is reserved, so a full payload stays as it was */
	r = buf_append(payload, key, klen);
	r |= buf_append_byte(payload, '\0');
	r |= buf_append(payload, value, len);
	r |= buf_append_byte(payload, '\0');
	ASSERT(r == 0);
	return 0;
}

int
rec_kv_add_str(struct buf *payload, const char *key, const char *value)
{
	return rec_kv_add(payload, key, value, strlen(value));
}

int
rec_kv_add_u64(struct buf *payload, const char *key, uint64_t value)
{
	char num[24];	/* UINT64_MAX has 20 digits */
	int n;

	n = snprintf(num, sizeof(num), "%" PRIu64, value);
	if (n < 0 || (size_t)n >= sizeof(num))
		return -1;
	return rec_kv_add(payload, key, num, (size_t)n);
}

int
rec_kv_get(struct slice payload, const char *key, struct slice *value_out)
{
	size_t klen = strlen(key), off = 0;
	struct slice found = { NULL, 0 };
	int is_found = 0;

	/*
	 * Walk the whole list before answering, so that a damaged payload is
	 * refused whichever key is asked for and wherever the damage lies.
	 * An empty payload is an empty list (no fields, nothing to end).
	 */
	while (off < payload.len) {
		const uint8_t *k = payload.p + off, *v, *nul;
		size_t kn, vn;

		nul = memchr(k, '\0', payload.len - off);
		if (nul == NULL)
			return -1;
		kn = (size_t)(nul - k);
		off += kn + 1;
		if (off == payload.len)
			return -1;	/* a key with no value: odd field count */
		v = payload.p + off;
		nul = memchr(v, '\0', payload.len - off);
		if (nul == NULL)
			return -1;
		vn = (size_t)(nul - v);
		off += vn + 1;
		/* first one wins; the writer never repeats a key */
		if (!is_found && kn == klen && memcmp(k, key, klen) == 0) {
			found.p = v;
			found.len = vn;
			is_found = 1;
		}
	}
	if (!is_found)
		return 0;
	*value_out = found;
	return 1;
}

int
rec_kv_get_u64(struct slice payload, const char *key, uint64_t *out)
{
	struct slice v;
	uint64_t n;
	int r;

	if ((r = rec_kv_get(payload, key, &v)) != 1)
		return r;
	/*
	 * Only what rec_kv_add_u64 writes: digits, no sign, no space, no
	 * leading zero, so each number has one spelling and a value read back
	 * re-encodes to the same bytes.
	 */
	if (v.len > 1 && v.p[0] == '0')
		return -1;
	if (ascii_parse_u64(v, &n) == -1)
		return -1;
	*out = n;
	return 1;
}
