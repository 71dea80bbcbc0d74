/*
 * ratelimit.h - a bounded table of rate counters: events per key (a short
 * byte string: a client's network, a user, a domain) within a window, at
 * most `limit` in any interval of the window's length.
 *
 * Counting: the window is cut into RATELIMIT_SLOTS slots, and an event is
 * allowed while the current slot and the RATELIMIT_SLOTS before it hold
 * fewer than limit events. Any interval of the window's length lies within
 * such a run of slots, so no interval of that length ever holds more than
 * limit events: a client cannot get twice its rate through around a
 * boundary, as with fixed windows. The price: what is counted stays up to
 * one slot longer than the window, so a client at a perfectly steady rate
 * gets at least RATELIMIT_SLOTS / (RATELIMIT_SLOTS + 1) of it.
 *
 * The table holds at most max_entries keys; a new key beyond that takes
 * the place of the least recently used one (counted or checked), whose
 * count is forgotten. Past the first max_entries keys nothing is allocated.
 * A lookup is O(1) on average: the hash is keyed with random bytes per
 * table, so a client choosing its addresses cannot pile keys into one chain.
 *
 * Pure: the caller passes the time (now_ms, milliseconds on a clock that
 * does not step, >= 0), so tests need no clock and no sleeping.
 */
#ifndef STERNA_POLICY_RATELIMIT_H
#define STERNA_POLICY_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

#define RATELIMIT_SLOTS 6	/* a minute in 10 s slots, an hour in 10 min slots */
/* keys up to this many bytes are kept as they are; longer ones as their SHA-256 */
#define RATELIMIT_KEY_MAX 32

struct ratelimit;

/*
 * Returns a new, empty table: at most limit (>= 1) events per window_ms
 * (>= RATELIMIT_SLOTS) for each key, at most max_entries (>= 1) keys.
 * A window that RATELIMIT_SLOTS does not divide is rounded up to one it
 * does (stricter, never looser).
 */
struct ratelimit *ratelimit_new(unsigned limit, int64_t window_ms, size_t max_entries);
/* Frees *t and sets it to NULL; t may point to NULL. */
void ratelimit_free(struct ratelimit **t);

/*
 * 1 if one more event for key (len bytes, any bytes) at now_ms would be
 * allowed, 0 if not. Counts nothing and adds no key; a key it finds
 * becomes the most recently used, so that a client that keeps being
 * refused keeps its count. When refused and retry_ms_out is not NULL,
 * *retry_ms_out is how long from now_ms until an event would be allowed
 * (if no other is counted meanwhile); otherwise it is set to 0.
 */
int ratelimit_check(struct ratelimit *t, const void *key, size_t len, int64_t now_ms,
    int64_t *retry_ms_out);
/*
 * Counts one event for key at now_ms, whether or not the limit allows it
 * (ratelimit_check() asks first), adding key if it is new: into a free
 * entry, or the least recently used one's when the table is full.
 */
void ratelimit_count(struct ratelimit *t, const void *key, size_t len, int64_t now_ms);
/* ratelimit_check() and, if it allows, ratelimit_count(): the usual single step. */
int ratelimit_hit(struct ratelimit *t, const void *key, size_t len, int64_t now_ms,
    int64_t *retry_ms_out);

/* The keys the table holds now (never more than its max_entries). */
size_t ratelimit_len(const struct ratelimit *t);
/* 1 if the table holds key; no change to its order. For tests and status. */
int ratelimit_has(const struct ratelimit *t, const void *key, size_t len);
/*
 * The events counted for key within its current window (0 for a key the
 * table does not hold), as of now_ms; no change to its order.
 */
unsigned ratelimit_count_of(const struct ratelimit *t, const void *key, size_t len, int64_t now_ms);
/* Bytes the table has allocated now: its entries and hash buckets, and itself. */
size_t ratelimit_bytes(const struct ratelimit *t);
/* Bytes one key costs once the table is full: its entry and its share of the buckets. */
size_t ratelimit_bytes_per_entry(void);

#endif
