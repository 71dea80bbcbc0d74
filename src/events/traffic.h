/*
 * traffic.h - mail in and out per minute over the last hour, fed by the
 * event stream: a ring of 60 minutes, each counted when its first event
 * comes and forgotten when the ring comes round to it again. Bounded
 * (one hour, whatever the rate), no allocation after the start, on the
 * loop thread like the events. The dashboard's chart and TLS share.
 */
#ifndef STERNA_METRICS_TRAFFIC_H
#define STERNA_METRICS_TRAFFIC_H

#include <stdint.h>

#include "events/events.h"

#define TRAFFIC_MINUTES 60

/* One minute's counts. */
struct traffic_minute {
	uint64_t minute;		/* minutes since the epoch (wall clock): its start / 60 s */
	unsigned in;			/* messages received (one per message, not per recipient) */
	unsigned in_tls;		/* ... over TLS */
	unsigned out;			/* recipients delivered (to a mailbox or the next hop) */
	unsigned out_relayed;		/* ... of them to another server (relay known) */
	unsigned out_tls;		/* ... of those over TLS */
	unsigned deferred;		/* failed attempts that will be tried again */
	unsigned failed;		/* recipients bounced, expired or suppressed */
};

struct traffic;

struct traffic *traffic_new(void);
/* Frees *t and sets it to NULL; t may point to NULL. */
void traffic_free(struct traffic **t);
/* An events_sink_fn: ctx is the struct traffic; counted in the minute of e->time_us. */
void traffic_sink(void *ctx, const struct event *e);
/*
 * The last TRAFFIC_MINUTES minutes up to the one of now_us, oldest first,
 * into out: minutes with no event (or older than the ring) are zeros.
 */
void traffic_read(const struct traffic *t, uint64_t now_us,
    struct traffic_minute out[TRAFFIC_MINUTES]);

#endif
