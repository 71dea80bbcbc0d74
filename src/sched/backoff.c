/*
 * backoff.c - exponential backoff with a ceiling.
 */
#include "sched/backoff.h"

unsigned
backoff_delay_s(unsigned attempts, unsigned min_s, unsigned max_s)
{
	unsigned long long d = min_s;

	if (min_s >= max_s)
		return max_s;
	for (unsigned i = 1; i < attempts && d < max_s; i++)
		d *= 2;
	return d > max_s ? max_s : (unsigned)d;
}
