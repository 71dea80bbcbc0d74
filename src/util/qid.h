/*
 * qid.h - queue ids: unique, and sortable by the time they were made.
 * A queue id is 13 characters of Crockford base32 (digits before capitals,
 * so byte order is time order) encoding 52 bits of microseconds since the
 * epoch followed by 12 bits of sequence; the generator never goes back.
 * One generator serves every thread that makes messages (the receiving
 * loops, the main loop's entrances): its last id is taken by compare and
 * swap, without a lock.
 */
#ifndef STERNA_UTIL_QID_H
#define STERNA_UTIL_QID_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define QID_LEN 13

struct qid_gen {
	_Atomic uint64_t last;
};

/* Writes the next id for the time now_us into out (NUL-terminated); any thread. */
void qid_next(struct qid_gen *g, uint64_t now_us, char out[QID_LEN + 1]);
/*
 * Makes g continue after the id s (for ids found on disk, at start or by the
 * recovery's worker while ids are being taken): 0, or -1 if s is no id.
 */
int qid_seen(struct qid_gen *g, const char *s);
/* 1 if the len bytes at s are a well-formed queue id. */
int qid_valid(const char *s, size_t len);
/* Microseconds since the epoch at which the id s was made (s must be valid). */
uint64_t qid_time_us(const char *s);

#endif
