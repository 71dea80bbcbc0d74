/*
 * metrics.c - families and their series (label sets), found by a linear
 * search of a small array: a family holds at most METRICS_SERIES_MAX, and
 * the hot ones (no labels, or a handful of values) are found at once.
 */
#include "metrics/metrics.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

enum kind { K_COUNTER, K_GAUGE, K_HISTOGRAM };

struct series {
	char *values[METRICS_LABELS_MAX];
	double value;			/* counter, gauge; histogram: the sum */
	uint64_t count;			/* histogram: observations */
	uint64_t *buckets;		/* histogram: per bound, not cumulative */
};

struct metric {
	enum kind kind;
	const char *name, *help;
	char *labels[METRICS_LABELS_MAX];
	size_t nlabels;
	const double *bounds;
	size_t nbounds;
	struct series *series;
	size_t n;
	struct metric *next;
};

struct hook {
	void (*fn)(void *ctx);
	void *ctx;
};

struct metrics {
	struct metric *first, *last;
	struct hook *hooks;
	size_t nhooks;
};

struct metrics *
metrics_new(void)
{
	return xcalloc(1, sizeof(struct metrics));
}

void
metrics_free(struct metrics **mp)
{
	struct metrics *m = *mp;

	if (m == NULL)
		return;
	while (m->first != NULL) {
		struct metric *f = m->first;

		m->first = f->next;
		for (size_t i = 0; i < f->n; i++) {
			for (size_t k = 0; k < f->nlabels; k++)
				free(f->series[i].values[k]);
			free(f->series[i].buckets);
		}
		for (size_t k = 0; k < f->nlabels; k++)
			free(f->labels[k]);
		free(f->series);
		free(f);
	}
	free(m->hooks);
	free(m);
	*mp = NULL;
}

static struct metric *
family(struct metrics *m, enum kind kind, const char *name, const char *help, const char *labels)
{
	struct metric *f = xcalloc(1, sizeof(*f));

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
	return family(m, K_COUNTER, name, help, labels);
}

struct metric *
metrics_gauge(struct metrics *m, const char *name, const char *help, const char *labels)
{
	return family(m, K_GAUGE, name, help, labels);
}

struct metric *
metrics_histogram(struct metrics *m, const char *name, const char *help, const char *labels,
    const double *bounds, size_t n)
{
	struct metric *f = family(m, K_HISTOGRAM, name, help, labels);

	f->bounds = bounds;
	f->nbounds = n;
	return f;
}

static const char *const others[METRICS_LABELS_MAX] = { "other", "other", "other" };

/* The series of values: found, made, or (past the bound) the family's "other". */
static struct series *
series_of(struct metric *f, const char *const *values)
{
	size_t i, k;

	for (i = 0; i < f->n; i++) {
		for (k = 0; k < f->nlabels && strcmp(f->series[i].values[k], values[k]) == 0; k++)
			;
		if (k == f->nlabels)
			return &f->series[i];
	}
	if (f->n >= METRICS_SERIES_MAX - 1 && values != others)
		return series_of(f, others);	/* the last place is kept for "other" */
	f->series = xrealloc(f->series, (f->n + 1) * sizeof(*f->series));
	memset(&f->series[f->n], 0, sizeof(f->series[f->n]));
	for (k = 0; k < f->nlabels; k++)
		f->series[f->n].values[k] = xstrdup(values[k]);
	if (f->kind == K_HISTOGRAM)
		f->series[f->n].buckets = xcalloc(f->nbounds, sizeof(uint64_t));
	return &f->series[f->n++];
}

void
metric_add(struct metric *f, const char *const *values, uint64_t n)
{
	series_of(f, values)->value += (double)n;
}

void
metric_set(struct metric *f, const char *const *values, double v)
{
	series_of(f, values)->value = v;
}

void
metric_observe(struct metric *f, const char *const *values, double v)
{
	struct series *s = series_of(f, values);

	s->value += v;
	s->count++;
	for (size_t i = 0; i < f->nbounds; i++)
		if (v <= f->bounds[i]) {
			s->buckets[i]++;
			break;
		}
}

void
metric_clear(struct metric *f)
{
	for (size_t i = 0; i < f->n; i++) {
		for (size_t k = 0; k < f->nlabels; k++)
			free(f->series[i].values[k]);
		free(f->series[i].buckets);
	}
	free(f->series);
	f->series = NULL;
	f->n = 0;
}

void
metrics_on_write(struct metrics *m, void (*fn)(void *ctx), void *ctx)
{
	m->hooks = xrealloc(m->hooks, (m->nhooks + 1) * sizeof(*m->hooks));
	m->hooks[m->nhooks++] = (struct hook){ fn, ctx };
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

/* {a="x",b="y"[,le="..."]} or nothing. */
static void
write_labels(struct buf *out, const struct metric *f, const struct series *s, const char *le)
{
	if (f->nlabels == 0 && le == NULL)
		return;
	(void)buf_append_byte(out, '{');
	for (size_t k = 0; k < f->nlabels; k++) {
		(void)buf_printf(out, "%s%s=\"", k ? "," : "", f->labels[k]);
		write_value(out, s->values[k]);
		(void)buf_append_byte(out, '"');
	}
	if (le != NULL)
		(void)buf_printf(out, "%sle=\"%s\"", f->nlabels ? "," : "", le);
	(void)buf_append_byte(out, '}');
}

void
metrics_write(struct metrics *m, struct buf *out)
{
	static const char *const types[] = { "counter", "gauge", "histogram" };

	for (size_t i = 0; i < m->nhooks; i++)
		m->hooks[i].fn(m->hooks[i].ctx);
	for (const struct metric *f = m->first; f != NULL; f = f->next) {
		(void)buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", f->name, f->help, f->name,
		    types[f->kind]);
		for (size_t i = 0; i < f->n; i++) {
			const struct series *s = &f->series[i];
			uint64_t cum = 0;
			char le[32];

			if (f->kind != K_HISTOGRAM) {
				(void)buf_append_str(out, f->name);
				write_labels(out, f, s, NULL);
				(void)buf_printf(out, " %.17g\n", s->value);
				continue;
			}
			for (size_t b = 0; b < f->nbounds; b++) {
				cum += s->buckets[b];
				(void)snprintf(le, sizeof(le), "%g", f->bounds[b]);
				(void)buf_printf(out, "%s_bucket", f->name);
				write_labels(out, f, s, le);
				(void)buf_printf(out, " %llu\n", (unsigned long long)cum);
			}
			(void)buf_printf(out, "%s_bucket", f->name);
			write_labels(out, f, s, "+Inf");
			(void)buf_printf(out, " %llu\n%s_sum", (unsigned long long)s->count, f->name);
			write_labels(out, f, s, NULL);
			(void)buf_printf(out, " %.17g\n%s_count", s->value, f->name);
			write_labels(out, f, s, NULL);
			(void)buf_printf(out, " %llu\n", (unsigned long long)s->count);
		}
	}
}
