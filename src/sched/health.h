/*
 * health.h - whether a destination is up, as pure state: a destination
 * none of whose hosts would take a connection is down for a while (a
 * growing backoff), gets no connection then, and is tried again with one
 * probe connection before it gets more. Without it, a destination that
 * refuses connections would be hit with a new one for every message, as
 * fast as the refusals come back: a flood against someone else's server.
 */
#ifndef STERNA_SCHED_HEALTH_H
#define STERNA_SCHED_HEALTH_H

#include <stdint.h>

struct dest_health {
	uint64_t down_until_s;	/* no connection before this (seconds since the epoch) */
	unsigned fails;		/* failed connections in a row */
	int is_down;		/* down, or probing since the down time ended */
};

/*
 * A connection to the destination failed at now_s (no host took it).
 * Returns 1 if that put it down, 0 if it was down already; *for_s_out
 * says for how long it is down now. The down time is min_s, doubling with
 * each failure in a row (a failed probe), at most max_s; connections
 * opened before it went down and failing with the rest count once.
 */
int health_failed(struct dest_health *h, uint64_t now_s, unsigned min_s, unsigned max_s,
    unsigned *for_s_out);
/* A connection got as far as a ready session. Returns 1 if the destination was down. */
int health_ok(struct dest_health *h);
/*
 * How many connections may be open (or opening) now, given nconns open:
 * 0 while down, 1 (the probe) once the down time is over and until a
 * connection works, limit when up.
 */
unsigned health_conns_allowed(const struct dest_health *h, uint64_t now_s, unsigned limit);
/* An operator's flush: a destination that is down may have its probe connection now. */
void health_retry_now(struct dest_health *h);

#endif
