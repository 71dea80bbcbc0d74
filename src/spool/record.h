/*
 * record.h - the on-disk format of a queue file, as pure encode/decode.
 *
 * A queue file is the 8-byte magic "STERNAQ1", then records:
 *
 *   type (1 byte) | payload length (4 bytes, big-endian) | payload | CRC-32C (4 bytes, BE)
 *
 * where the CRC covers type, length and payload. The message part is
 * M (meta) S (sender) R... (recipients) C... (content chunks) and ends with
 * E, whose payload is the number of records before it (4 bytes BE) and the
 * CRC-32C of their CRCs, each as 4 bytes BE in order (4 bytes BE). Between
 * the last C and E come what content filters changed (src/msg/filter.h),
 * each only when there is a change: B... (a new body, raw bytes), then N
 * (empty: the S and R records after it replace those before), S, R..., then
 * F (the final header section: the number of content bytes it stands for
 * at the start of the C records, 8 bytes BE; the content offset at which
 * the B records take over, 8 bytes BE, all ones when the body was not
 * replaced; then the header fields' bytes). A file
 * without a valid E was never acknowledged. Records appended after E (D done,
 * T deferred, H held or released by an operator) say what happened since; each stands alone, and a
 * torn last one is ignored, which at worst delivers a recipient again.
 *
 * M, S, R, D and T payloads are key/value lists: key NUL value NUL, repeated.
 * Keys are ASCII; values hold no NUL. Readers skip keys they do not know.
 * The reader is total: any bytes in, a clear verdict out; it is fuzzed.
 */
#ifndef STERNA_SPOOL_RECORD_H
#define STERNA_SPOOL_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

#define REC_MAGIC "STERNAQ1"
#define REC_MAGIC_LEN 8
#define REC_HEADER_LEN 5
#define REC_TRAILER_LEN 4
#define REC_OVERHEAD (REC_HEADER_LEN + REC_TRAILER_LEN)
#define REC_MAX_PAYLOAD (1u << 20)	/* content is written in chunks below this */

enum rec_type {
	REC_META = 'M',
	REC_SENDER = 'S',
	REC_RCPT = 'R',
	REC_CONTENT = 'C',
	REC_END = 'E',
	REC_DONE = 'D',
	REC_DEFER = 'T',
	REC_HOLD = 'H',
	REC_HEADER = 'F',
	REC_BODY = 'B',
	REC_NEWENV = 'N',
};

#define REC_HEADER_FIXED 16		/* F: the two offsets before the header bytes */
#define REC_BODY_KEPT UINT64_MAX	/* F's body offset when the body was not replaced */

/* The running count and CRC-of-CRCs that the E record carries. */
struct rec_chain {
	uint32_t count;
	uint32_t crc;
};

/*
 * Appends one record to out. If chain is not NULL, the record is counted
 * into it (for records before E). Returns 0, or -1 if out is full or len
 * exceeds REC_MAX_PAYLOAD or type is not an enum rec_type.
 */
int rec_append(struct buf *out, enum rec_type type, const void *payload, size_t len,
    struct rec_chain *chain);
/* Appends the E record for chain: 0, or -1 if out is full. */
int rec_append_end(struct buf *out, const struct rec_chain *chain);

enum rec_result {
	REC_OK,		/* one whole, valid record */
	REC_SHORT,	/* the input ends inside a record (a torn write, or read more) */
	REC_BAD,	/* not a record: bad type, length over the limit, or bad CRC */
};

/*
 * Decodes the record at the start of in[0..len). On REC_OK sets *type_out,
 * *payload_out (borrowing from in), *crc_out and *used_out (the record's
 * whole length). On REC_SHORT, *used_out is the length the record would have
 * if its header is complete, else REC_HEADER_LEN. On REC_BAD nothing is set.
 */
enum rec_result rec_decode(const uint8_t *in, size_t len, enum rec_type *type_out,
    struct slice *payload_out, uint32_t *crc_out, size_t *used_out);
/*
 * Adds a decoded record's CRC to chain (what the writer did); for checking E.
 */
void rec_chain_add(struct rec_chain *chain, uint32_t crc);
/*
 * Reads the two offsets at the start of an F payload (the content bytes the
 * header stands for, and where the B records take over): 0, or -1 if the
 * payload is too short for them.
 */
int rec_header_offsets(struct slice payload, uint64_t *orig_len, uint64_t *body_at);
/*
 * Checks an E payload against chain: 0 if count and CRC match, -1 otherwise.
 */
int rec_end_check(struct slice payload, const struct rec_chain *chain);

/* Appends "key NUL value NUL" to a key/value payload: 0, or -1 (full, or a NUL in value). */
int rec_kv_add(struct buf *payload, const char *key, const void *value, size_t len);
/* rec_kv_add() of a NUL-terminated value. */
int rec_kv_add_str(struct buf *payload, const char *key, const char *value);
/* rec_kv_add() of an unsigned number in decimal. */
int rec_kv_add_u64(struct buf *payload, const char *key, uint64_t value);
/*
 * Finds key in a key/value payload: 1 with *value_out borrowing from payload,
 * 0 if absent, -1 if the payload is malformed (no final NUL, odd field count).
 */
int rec_kv_get(struct slice payload, const char *key, struct slice *value_out);
/* rec_kv_get() of a decimal value: 1 with *out, 0 if absent, -1 if malformed. */
int rec_kv_get_u64(struct slice payload, const char *key, uint64_t *out);

#endif
