/*
 * health.c - a destination's up and down (health.h). Pure.
 */
#include "sched/health.h"

#include <stdint.h>

#include "sched/backoff.h"

int
health_failed(struct dest_health *h, uint64_t now_s, unsigned min_s, unsigned max_s,
    unsigned *for_s_out)
{
	int was_down = h->is_down;

	/* one opened before the fall, failing with the rest: the same failure, counted once */
	if (h->is_down && now_s < h->down_until_s) {
		*for_s_out = (unsigned)(h->down_until_s - now_s);
		return 0;
	}
	if (h->fails < UINT32_MAX)
		h->fails++;
	*for_s_out = backoff_delay_s(h->fails, min_s, max_s);
	h->down_until_s = now_s + *for_s_out;
	h->is_down = 1;
	return !was_down;
}

int
health_ok(struct dest_health *h)
{
	int was_down = h->is_down;

	h->fails = 0;
	h->is_down = 0;
	h->down_until_s = 0;
	return was_down;
}

unsigned
health_conns_allowed(const struct dest_health *h, uint64_t now_s, unsigned limit)
{
	if (!h->is_down)
		return limit;
	return now_s < h->down_until_s ? 0 : 1;
}

void
health_retry_now(struct dest_health *h)
{
	h->down_until_s = 0;
}
