/*
 * figures.h - sterna's own figures in the registry (figures.c): what the
 * event stream says (messages received by entrance and their bytes,
 * recipients delivered, deferred, bounced by class and category, expired,
 * suppressed; delivery latency from receipt), and what is read at each
 * scrape (the queue by state, its oldest message, SMTP sessions open, the
 * outbound connections).
 */
#ifndef STERNA_METRICS_FIGURES_H
#define STERNA_METRICS_FIGURES_H

#include "events/events.h"
#include "metrics/metrics.h"

struct sched;
struct server;
struct figures;

/* The families in m (borrowed), read from s and srv at each write-out (borrowed; NULL: not). */
struct figures *figures_new(struct metrics *m, struct sched *s, struct server *srv);
void figures_free(struct figures **f);
/* An events_sink_fn: ctx is the struct figures. */
void figures_sink(void *ctx, const struct event *e);

#endif
