/*
 * metrics.c - families and their series (label sets). A family holds an
 * array of series pointers and their number, which only grows: a reader
 * loads the number (acquire) and searches that many without a lock, and a
 * writer fills the next place under the registry's lock and publishes the
 * new number (release). The figures themselves are atomics: a counter's
 * count, a gauge's double (its bits, changed by compare and swap), a
 * histogram's bucket counts (each observation counted in one bucket only;
 * the cumulative counts and the total are summed when read) and its sum.
 */
#include "metrics/metrics.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

struct metric_series {
	const struct metric *f;		/* its family: a histogram's bounds */
	char *values[METRICS_LABELS_MAX];
	_Atomic uint64_t count;		/* counter */
	_Atomic uint64_t bits;		/* gauge: its value; histogram: the sum (a double's bits) */
	_Atomic uint64_t *buckets;	/* histogram: per bound, then +Inf; not cumulative */
};

struct metric {
	struct metrics *m;
	enum metric_kind kind;
	const char *name, *help;
	char *labels[METRICS_LABELS_MAX];
	size_t nlabels;
	const double *bounds;
	size_t nbounds;
	struct metric_series *series[METRICS_SERIES_MAX];
	_Atomic size_t n;
	struct metric *next;
};

struct hook {
	void (*fn)(void *ctx);
	void *ctx;
};

struct metrics {
	pthread_mutex_t mu;		/* making a series */
	struct metric *first, *last;
	struct hook *hooks;
	size_t nhooks;
};

struct metrics *
metrics_new(void)
{
	struct metrics *m = xcalloc(1, sizeof(*m));

	pthread_mutex_init(&m->mu, NULL);
	return m;
}

void
metrics_free(struct metrics **mp)
{
	struct metrics *m = *mp;

	if (m == NULL)
		return;
	while (m->first != NULL) {
		struct metric *f = m->first;
		size_t n = atomic_load(&f->n);

		m->first = f->next;
		for (size_t i = 0; i < n; i++) {
			for (size_t k = 0; k < f->nlabels; k++)
				free(f->series[i]->values[k]);
			free(f->series[i]->buckets);
			free(f->series[i]);
		}
		for (size_t k = 0; k < f->nlabels; k++)
			free(f->labels[k]);
		free(f);
	}
	pthread_mutex_destroy(&m->mu);
	free(m->hooks);
	free(m);
	*mp = NULL;
}

/* Whether f's label names are labels ("a,b"; NULL for none). */
static int
same_labels(const struct metric *f, const char *labels)
{
	size_t k = 0;

	while (labels != NULL && *labels != '\0') {
		size_t n = strcspn(labels, ",");

		if (k == f->nlabels || strlen(f->labels[k]) != n || memcmp(f->labels[k], labels, n) != 0)
			return 0;
		k++;
		labels += n + (labels[n] == ',');
	}
	return k == f->nlabels;
}

static struct metric *
family(struct metrics *m, enum metric_kind kind, const char *name, const char *help,
    const char *labels)
{
	struct metric *f;

	for (f = m->first; f != NULL; f = f->next)
		if (strcmp(f->name, name) == 0) {
			/* one name, one meaning: a second definition that differs is a bug */
			ASSERT(f->kind == kind && same_labels(f, labels));
			return f;
		}
	f = xcalloc(1, sizeof(*f));
	f->m = m;
	f->kind = kind;
	f->name = name;
	f->help = help;
	while (labels != NULL && *labels != '\0') {
		size_t n = strcspn(labels, ",");

		ASSERT(f->nlabels < METRICS_LABELS_MAX);
		f->labels[f->nlabels++] = xstrndup(labels, n);
		labels += n + (labels[n] == ',');
	}
	if (m->last)
		m->last->next = f;
	else
		m->first = f;
	m->last = f;
	return f;
}

struct metric *
metrics_counter(struct metrics *m, const char *name, const char *help, const char *labels)
{
	return family(m, METRIC_COUNTER, name, help, labels);
}

struct metric *
metrics_gauge(struct metrics *m, const char *name, const char *help, const char *labels)
{
	return family(m, METRIC_GAUGE, name, help, labels);
}

struct metric *
metrics_histogram(struct metrics *m, const char *name, const char *help, const char *labels,
    const double *bounds, size_t n)
{
	struct metric *f = family(m, METRIC_HISTOGRAM, name, help, labels);

	f->bounds = bounds;
	f->nbounds = n;
	return f;
}

static const char *const others[METRICS_LABELS_MAX] = { "other", "other", "other" };

/* The series of values among the first n of f, or NULL. */
static struct metric_series *
find(struct metric *f, const char *const *values, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		size_t k;

		for (k = 0; k < f->nlabels && strcmp(f->series[i]->values[k], values[k]) == 0; k++)
			;
		if (k == f->nlabels)
			return f->series[i];
	}
	return NULL;
}

/* Under the registry's lock: the series of values, made if another thread has not. */
static struct metric_series *
make(struct metric *f, const char *const *values)
{
	size_t n = atomic_load_explicit(&f->n, memory_order_relaxed);
	struct metric_series *s = find(f, values, n);

	if (s != NULL)
		return s;
	if (n >= METRICS_SERIES_MAX - 1 && values != others)
		return make(f, others);		/* the last place is kept for "other" */
	s = xcalloc(1, sizeof(*s));
	s->f = f;
	for (size_t k = 0; k < f->nlabels; k++)
		s->values[k] = xstrdup(values[k]);
	if (f->kind == METRIC_HISTOGRAM)
		s->buckets = xcalloc(f->nbounds + 1, sizeof(*s->buckets));
	f->series[n] = s;
	/* the series is whole before a reader without the lock can count it */
	atomic_store_explicit(&f->n, n + 1, memory_order_release);
	return s;
}

struct metric_series *
metric_series(struct metric *f, const char *const *values)
{
	struct metric_series *s;

	ASSERT(values != NULL || f->nlabels == 0);
	s = find(f, values, atomic_load_explicit(&f->n, memory_order_acquire));
	if (s != NULL)
		return s;
	pthread_mutex_lock(&f->m->mu);
	s = make(f, values);
	pthread_mutex_unlock(&f->m->mu);
	return s;
}

static double
bits_double(uint64_t b)
{
	double d;

	memcpy(&d, &b, sizeof(d));
	return d;
}

static uint64_t
double_bits(double d)
{
	uint64_t b;

	memcpy(&b, &d, sizeof(b));
	return b;
}

/* *bits += delta, as doubles (C11 has no atomic add of a floating type). */
static void
add_double(_Atomic uint64_t *bits, double delta)
{
	uint64_t old = atomic_load_explicit(bits, memory_order_relaxed);

	while (!atomic_compare_exchange_weak_explicit(bits, &old,
	    double_bits(bits_double(old) + delta), memory_order_relaxed, memory_order_relaxed))
		;
}

void
metric_series_add(struct metric_series *s, uint64_t n)
{
	atomic_fetch_add_explicit(&s->count, n, memory_order_relaxed);
}

void
metric_series_set(struct metric_series *s, double v)
{
	atomic_store_explicit(&s->bits, double_bits(v), memory_order_relaxed);
}

void
metric_series_move(struct metric_series *s, double delta)
{
	add_double(&s->bits, delta);
}

void
metric_series_observe(struct metric_series *s, double v)
{
	const struct metric *f = s->f;
	size_t i = 0;

	while (i < f->nbounds && !(v <= f->bounds[i]))
		i++;
	atomic_fetch_add_explicit(&s->buckets[i], 1, memory_order_relaxed);
	add_double(&s->bits, v);
}

uint64_t
metric_series_count(const struct metric_series *s)
{
	uint64_t n = 0;

	if (s->f->kind != METRIC_HISTOGRAM)
		return atomic_load_explicit(&s->count, memory_order_relaxed);
	for (size_t b = 0; b <= s->f->nbounds; b++)
		n += atomic_load_explicit(&s->buckets[b], memory_order_relaxed);
	return n;
}

double
metric_series_value(const struct metric_series *s)
{
	return bits_double(atomic_load_explicit(&s->bits, memory_order_relaxed));
}

void
metric_add(struct metric *f, const char *const *values, uint64_t n)
{
	metric_series_add(metric_series(f, values), n);
}

void
metric_set(struct metric *f, const char *const *values, double v)
{
	metric_series_set(metric_series(f, values), v);
}

void
metric_observe(struct metric *f, const char *const *values, double v)
{
	metric_series_observe(metric_series(f, values), v);
}

void
metric_clear(struct metric *f)
{
	size_t n = atomic_load(&f->n);

	for (size_t i = 0; i < n; i++) {
		for (size_t k = 0; k < f->nlabels; k++)
			free(f->series[i]->values[k]);
		free(f->series[i]->buckets);
		free(f->series[i]);
		f->series[i] = NULL;
	}
	atomic_store(&f->n, 0);
}

void
metric_set_count(struct metric *f, const char *const *values, uint64_t n)
{
	struct metric_series *s = metric_series(f, values);

	atomic_store_explicit(&s->count, n, memory_order_relaxed);
}

void
metrics_on_read(struct metrics *m, void (*fn)(void *ctx), void *ctx)
{
	m->hooks = xrealloc(m->hooks, (m->nhooks + 1) * sizeof(*m->hooks));
	m->hooks[m->nhooks++] = (struct hook){ fn, ctx };
}

void
metrics_read(struct metrics *m, metrics_read_fn *fn, void *ctx)
{
	for (size_t i = 0; i < m->nhooks; i++)
		m->hooks[i].fn(m->hooks[i].ctx);
	for (const struct metric *f = m->first; f != NULL; f = f->next) {
		size_t n = atomic_load_explicit(&f->n, memory_order_acquire);
		uint64_t *cum = f->kind == METRIC_HISTOGRAM ?
		    xcalloc(f->nbounds + 1, sizeof(*cum)) : NULL;
		struct metric_reading r = {
			.name = f->name, .help = f->help, .kind = f->kind, .nlabels = f->nlabels,
			.labels = (const char *const *)f->labels, .nbounds = f->nbounds,
			.bounds = f->bounds, .cumulative = cum,
		};

		fn(ctx, &r);
		for (size_t i = 0; i < n; i++) {
			const struct metric_series *s = f->series[i];

			r.values = (const char *const *)s->values;
			r.value = metric_series_value(s);
			r.count = atomic_load_explicit(&s->count, memory_order_relaxed);
			if (f->kind == METRIC_HISTOGRAM) {
				r.count = 0;
				for (size_t b = 0; b <= f->nbounds; b++) {
					r.count += atomic_load_explicit(&s->buckets[b],
					    memory_order_relaxed);
					cum[b] = r.count;
				}
			} else if (f->kind == METRIC_COUNTER) {
				r.value = (double)r.count;
			}
			fn(ctx, &r);
		}
		free(cum);
	}
}

/* A label value as the format wants it: backslash, double quote and newline escaped. */
static void
write_value(struct buf *out, const char *v)
{
	for (; *v != '\0'; v++) {
		if (*v == '\\' || *v == '"')
			(void)buf_append_byte(out, '\\');
		if (*v == '\n') {
			(void)buf_append_str(out, "\\n");
			continue;
		}
		(void)buf_append_byte(out, (uint8_t)*v);
	}
}

/* name{a="x",b="y"[,le="..."]} or the name alone. */
static void
write_name(struct buf *out, const struct metric_reading *r, const char *suffix, const char *le)
{
	(void)buf_printf(out, "%s%s", r->name, suffix);
	if (r->nlabels == 0 && le == NULL)
		return;
	(void)buf_append_byte(out, '{');
	for (size_t k = 0; k < r->nlabels; k++) {
		(void)buf_printf(out, "%s%s=\"", k ? "," : "", r->labels[k]);
		write_value(out, r->values[k]);
		(void)buf_append_byte(out, '"');
	}
	if (le != NULL)
		(void)buf_printf(out, "%sle=\"%s\"", r->nlabels ? "," : "", le);
	(void)buf_append_byte(out, '}');
}

static void
write_reading(void *ctx, const struct metric_reading *r)
{
	static const char *const types[] = { "counter", "gauge", "histogram" };
	struct buf *out = ctx;
	char le[32];

	if (r->values == NULL) {
		(void)buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", r->name, r->help, r->name,
		    types[r->kind]);
		return;
	}
	if (r->kind == METRIC_COUNTER) {
		write_name(out, r, "", NULL);
		(void)buf_printf(out, " %llu\n", (unsigned long long)r->count);
		return;
	}
	if (r->kind == METRIC_GAUGE) {
		write_name(out, r, "", NULL);
		(void)buf_printf(out, " %.17g\n", r->value);
		return;
	}
	for (size_t b = 0; b < r->nbounds; b++) {
		(void)snprintf(le, sizeof(le), "%g", r->bounds[b]);
		write_name(out, r, "_bucket", le);
		(void)buf_printf(out, " %llu\n", (unsigned long long)r->cumulative[b]);
	}
	write_name(out, r, "_bucket", "+Inf");
	(void)buf_printf(out, " %llu\n", (unsigned long long)r->count);
	write_name(out, r, "_sum", NULL);
	(void)buf_printf(out, " %.17g\n", r->value);
	write_name(out, r, "_count", NULL);
	(void)buf_printf(out, " %llu\n", (unsigned long long)r->count);
}

void
metrics_write(struct metrics *m, struct buf *out)
{
	metrics_read(m, write_reading, out);
}
