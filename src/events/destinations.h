/*
 * destinations.h - the top destinations (recipient domains) by recent
 * activity, fed by the event stream: for each, the outbound connections
 * that carried its mail, deliveries, deferrals and failures, and so its
 * deferral rate. The table is bounded (DESTINATIONS_MAX rows): a new
 * domain takes the place of the least active one, activity being a count
 * of attempts that halves every DESTINATIONS_HALF_LIFE_S, so that a busy
 * domain of an hour ago gives way to today's and a flood of one-off
 * domains only ever replaces itself. A row's counts start when it enters.
 * Also in GET /metrics, labelled by destination: as many series as rows.
 * On the loop thread, like the events.
 */
#ifndef STERNA_METRICS_DESTINATIONS_H
#define STERNA_METRICS_DESTINATIONS_H

#include <stddef.h>
#include <stdint.h>

#include "events/events.h"
#include "metrics/metrics.h"

#define DESTINATIONS_MAX 50
#define DESTINATIONS_HALF_LIFE_S 600
#define DESTINATIONS_NAME_MAX 255	/* a domain's length (RFC 1035 2.3.4) */
#define DESTINATIONS_CONN_RING 16	/* connections remembered per row: counted once each */

/* One row, as destinations_top() gives it. */
struct destination {
	char name[DESTINATIONS_NAME_MAX + 1];	/* the domain, lower case */
	uint64_t connections;		/* outbound connections that carried an attempt */
	uint64_t delivered;		/* recipients delivered */
	uint64_t deferred;		/* attempts that failed and will be tried again */
	uint64_t failed;		/* recipients bounced or expired */
	double deferral_rate;		/* deferred / (delivered + deferred + failed); 0 before any */
	double activity;		/* attempts, halved every DESTINATIONS_HALF_LIFE_S, at the read */
	uint64_t since_us;		/* when the row entered the table (wall clock) */
	uint64_t last_us;		/* its last event */
};

struct destinations;

/*
 * A new table of at most max rows (1 to DESTINATIONS_MAX). With m (borrowed,
 * may be NULL) its families in the registry, rewritten from the table
 * before each write-out: sterna_destination_{connections,delivered,
 * deferred,failed}_total{destination="..."}.
 */
struct destinations *destinations_new(struct metrics *m, size_t max);
/* Frees *d and sets it to NULL; d may point to NULL. */
void destinations_free(struct destinations **d);
/*
 * An events_sink_fn: ctx is the struct destinations. DELIVERED, DEFERRED,
 * BOUNCED and EXPIRED count for the domain of e->recipient (its part after
 * the last '@'; an address without one counts nowhere); e->conn, once per
 * connection.
 */
void destinations_sink(void *ctx, const struct event *e);
/*
 * Up to max rows, the most active first (at now_us), copied into out.
 * Returns how many.
 */
size_t destinations_top(const struct destinations *d, uint64_t now_us, struct destination *out,
    size_t max);

#endif
