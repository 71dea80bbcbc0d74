/*
 * figures.h - the event stream counted into the metrics registry
 * (src/metrics): messages received by entrance and their bytes,
 * recipients by what became of them, by delivery agent and by bounce
 * category, and the time from receipt to each recipient's final result.
 * A subscriber like the event log, so the figures count exactly what the
 * events say. What is read rather than counted (the queue, sessions) is
 * registered by the module that knows it.
 */
#ifndef STERNA_EVENTS_FIGURES_H
#define STERNA_EVENTS_FIGURES_H

#include "events/events.h"
#include "metrics/metrics.h"

struct figures;

/* Registers the families in m (borrowed; it must outlive the figures). */
struct figures *figures_new(struct metrics *m);
void figures_free(struct figures **f);
/* An events_sink_fn: ctx is the struct figures. Loop thread. */
void figures_sink(void *ctx, const struct event *e);

#endif
