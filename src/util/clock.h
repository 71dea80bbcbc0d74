/*
 * clock.h - wall clock and monotonic time in the units the code needs.
 */
#ifndef STERNA_UTIL_CLOCK_H
#define STERNA_UTIL_CLOCK_H

#include <stddef.h>
#include <stdint.h>

/* Microseconds since the Unix epoch (wall clock). */
uint64_t clock_wall_us(void);
/* Milliseconds from an arbitrary start (monotonic, for timeouts and delays). */
uint64_t clock_mono_ms(void);
/* Microseconds on the same monotonic clock (CLOCK_MONOTONIC, as condition variables can use). */
uint64_t clock_mono_us(void);
/*
 * Writes an RFC 5322 date-time for t (seconds since the epoch, local zone),
 * e.g. "Mon, 23 Nov 2026 09:34:00 +0000": 0, or -1 if it does not fit.
 */
int clock_rfc5322(int64_t t, char *out, size_t size);

#endif
