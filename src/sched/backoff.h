/*
 * backoff.h - retry maths, pure.
 */
#ifndef STERNA_SCHED_BACKOFF_H
#define STERNA_SCHED_BACKOFF_H

/*
 * Seconds to wait after the attempts-th failed attempt (1 for the first):
 * min_s, doubling each time, never more than max_s. No overflow for any
 * attempts.
 */
unsigned backoff_delay_s(unsigned attempts, unsigned min_s, unsigned max_s);

#endif
