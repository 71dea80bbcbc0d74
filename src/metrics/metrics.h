/*
 * metrics.h - the one registry of counters, gauges and histograms that
 * every module keeps its figures in (no module counts on its own), read
 * out in the Prometheus text exposition format (version 0.0.4) for
 * GET /metrics, and series by series for other readers (the control
 * socket's JSON, for sterna top).
 *
 * Families have fixed label names; each keeps a bounded number of label
 * sets (series), so that a label from the outside cannot grow it without
 * end: past the bound, new label sets are counted under the value "other".
 *
 * Threads: families are made at start-up on the thread that reads the
 * registry (the loop), before any thread uses them. A series is found
 * without a lock from any thread; the first use of a label set makes it
 * under the registry's lock, once. A series keeps its address for the
 * registry's life, so a module that knows its label sets resolves them
 * once (metric_series) and then only adds: one relaxed atomic operation
 * (C11 stdatomic), never a lock per message. A reader sees each number
 * whole, though not all of a histogram at one instant.
 */
#ifndef STERNA_METRICS_METRICS_H
#define STERNA_METRICS_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

#define METRICS_LABELS_MAX 3		/* label names of one family */
#define METRICS_SERIES_MAX 256		/* label sets of one family; more go to "other" */

struct metrics;
struct metric;			/* a family */
struct metric_series;		/* one label set of a family */

enum metric_kind { METRIC_COUNTER, METRIC_GAUGE, METRIC_HISTOGRAM };

struct metrics *metrics_new(void);
/* Frees *m and every family and series in it; no thread may use them any more. */
void metrics_free(struct metrics **m);

/*
 * A family: name (as Prometheus wants it, "sterna_..._total" for a
 * counter), help text, and up to METRICS_LABELS_MAX label names given as
 * one comma-separated string ("event,category"; NULL for none). Borrows
 * the strings (string literals). Returns the family, owned by m: the one
 * of that name if there is one already (of the same kind and labels), so
 * that two modules may count into one family (TLS in and out).
 */
struct metric *metrics_counter(struct metrics *m, const char *name, const char *help,
    const char *labels);
struct metric *metrics_gauge(struct metrics *m, const char *name, const char *help,
    const char *labels);
/* A histogram with the upper bounds bounds[0..n) (ascending, borrowed); +Inf is added. */
struct metric *metrics_histogram(struct metrics *m, const char *name, const char *help,
    const char *labels, const double *bounds, size_t n);

/*
 * The series of f for values, one per label name of the family, in its
 * order (copied; NULL for a family without labels): found, or made.
 * Any thread. Valid for the registry's life.
 */
struct metric_series *metric_series(struct metric *f, const char *const *values);

/* Any thread, lock-free. A counter goes up by n. */
void metric_series_add(struct metric_series *s, uint64_t n);
/* A gauge: becomes v, or moves by delta (sessions open: +1, -1). */
void metric_series_set(struct metric_series *s, double v);
void metric_series_move(struct metric_series *s, double delta);
/* A histogram: one observation of v. */
void metric_series_observe(struct metric_series *s, double v);
/* A counter's count, or a histogram's observations. */
uint64_t metric_series_count(const struct metric_series *s);
/* A gauge's value, or the sum of a histogram's observations. */
double metric_series_value(const struct metric_series *s);

/* The same by label values, for label sets that are not known in advance. */
void metric_add(struct metric *f, const char *const *values, uint64_t n);
void metric_set(struct metric *f, const char *const *values, double v);
void metric_observe(struct metric *f, const char *const *values, double v);
/*
 * A counter kept elsewhere, copied in: its series for values counts n.
 * For a family set from a table at each read (metrics_on_read).
 */
void metric_set_count(struct metric *f, const char *const *values, uint64_t n);
/*
 * Drops every series of f: for a family whose label sets follow a bounded
 * table (the top destinations), set again from it at the start of each
 * read. Only for such a family: no other thread may hold a series of it,
 * for those are freed (the one exception to "valid for the registry's
 * life"); the reader's thread alone sets it, in its metrics_on_read hook.
 */
void metric_clear(struct metric *f);

/*
 * fn(ctx) runs at the start of each read (metrics_read, metrics_write),
 * on the reader's thread, to set the gauges that are read rather than
 * kept (the queue's sizes).
 */
void metrics_on_read(struct metrics *m, void (*fn)(void *ctx), void *ctx);

/* What a reader is shown of a family, then of each of its series; valid for the call. */
struct metric_reading {
	const char *name, *help;
	enum metric_kind kind;
	size_t nlabels;
	const char *const *labels;	/* the family's label names */
	const char *const *values;	/* the series' values; NULL: the family itself, first */
	uint64_t count;			/* counter: its count; histogram: observations */
	double value;			/* gauge: its value; histogram: the sum; counter: count */
	size_t nbounds;			/* histogram: its upper bounds (+Inf not among them) ... */
	const double *bounds;
	const uint64_t *cumulative;	/* ... and the observations at or under each */
};

typedef void metrics_read_fn(void *ctx, const struct metric_reading *r);

/* Every family in the order made, each followed by its series in the order made. */
void metrics_read(struct metrics *m, metrics_read_fn *fn, void *ctx);
/* Every family in the text exposition format, appended to out. */
void metrics_write(struct metrics *m, struct buf *out);

#endif
