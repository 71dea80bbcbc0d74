/*
 * metrics.h - a registry of counters, gauges and histograms that modules
 * keep their figures in, written out in the Prometheus text exposition
 * format (version 0.0.4) for GET /metrics. Families have fixed label
 * names; each family keeps a bounded number of label sets (series), so
 * that a label from the outside (a destination) cannot grow it without
 * end: past the bound, new label sets are counted under the value "other".
 * Everything here runs on the loop thread: a figure is a plain add, no
 * lock and no atomic on the hot path.
 */
#ifndef STERNA_METRICS_METRICS_H
#define STERNA_METRICS_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

#define METRICS_LABELS_MAX 3		/* label names of one family */
#define METRICS_SERIES_MAX 256		/* label sets of one family; more go to "other" */

struct metrics;
struct metric;

struct metrics *metrics_new(void);
void metrics_free(struct metrics **m);

/*
 * A family: name (as Prometheus wants it, "sterna_..._total" for a
 * counter), help text, and up to METRICS_LABELS_MAX label names given as
 * one comma-separated string ("event,category"; NULL for none). Borrows
 * the strings (string literals). Returns the family, owned by m.
 */
struct metric *metrics_counter(struct metrics *m, const char *name, const char *help,
    const char *labels);
struct metric *metrics_gauge(struct metrics *m, const char *name, const char *help,
    const char *labels);
/* A histogram with the upper bounds bounds[0..n) (ascending, borrowed); +Inf is added. */
struct metric *metrics_histogram(struct metrics *m, const char *name, const char *help,
    const char *labels, const double *bounds, size_t n);

/* values: one per label name of the family, in its order (NULL for a family without labels). */
void metric_add(struct metric *f, const char *const *values, uint64_t n);
void metric_set(struct metric *f, const char *const *values, double v);
void metric_observe(struct metric *f, const char *const *values, double v);
/*
 * Drops every series of f: for a family whose label sets follow a bounded
 * table (the top destinations), set again from it before each write-out.
 */
void metric_clear(struct metric *f);

/*
 * fn(ctx) runs before each write-out, to set the gauges that are read
 * rather than kept (the queue's sizes, sessions open).
 */
void metrics_on_write(struct metrics *m, void (*fn)(void *ctx), void *ctx);
/* Every family in the text exposition format, appended to out. */
void metrics_write(struct metrics *m, struct buf *out);

#endif
