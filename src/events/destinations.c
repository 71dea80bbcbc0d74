/*
 * destinations.c - the table: an array searched linearly (50 rows, each
 * with the hash of its name compared first), so that no name from the
 * outside can make a search longer; the least active row found by the
 * same walk when a new domain needs a place.
 */
#include "events/destinations.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/ascii.h"
#include "util/xalloc.h"

struct row {
	struct destination d;
	uint64_t hash;			/* of d.name */
	uint64_t score_us;		/* when d.activity was last brought up to date */
	uint64_t conns[DESTINATIONS_CONN_RING];	/* hashes of the last connections seen */
	unsigned conn_next;
};

struct destinations {
	struct row *rows;
	size_t n, max;
	struct metric *f_conns, *f_delivered, *f_deferred, *f_failed;
};

/* FNV-1a, 64 bits: the rows are few and searched linearly, so no key is needed. */
static uint64_t
fnv(const char *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < n; i++) {
		h ^= (uint8_t)p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

/* The activity of r at now_us: halved every half-life since its last update. */
static double
activity_at(const struct row *r, uint64_t now_us)
{
	double age_s = now_us > r->score_us ? (double)(now_us - r->score_us) / 1e6 : 0;

	return r->d.activity * exp2(-age_s / DESTINATIONS_HALF_LIFE_S);
}

static void
on_read(void *ctx)
{
	struct destinations *d = ctx;

	metric_clear(d->f_conns);
	metric_clear(d->f_delivered);
	metric_clear(d->f_deferred);
	metric_clear(d->f_failed);
	for (size_t i = 0; i < d->n; i++) {
		const struct destination *r = &d->rows[i].d;
		const char *v = r->name;

		metric_set_count(d->f_conns, &v, r->connections);
		metric_set_count(d->f_delivered, &v, r->delivered);
		metric_set_count(d->f_deferred, &v, r->deferred);
		metric_set_count(d->f_failed, &v, r->failed);
	}
}

struct destinations *
destinations_new(struct metrics *m, size_t max)
{
	struct destinations *d = xcalloc(1, sizeof(*d));

	ASSERT(max >= 1 && max <= DESTINATIONS_MAX);
	d->max = max;
	d->rows = xcalloc(max, sizeof(*d->rows));
	if (m == NULL)
		return d;
	d->f_conns = metrics_counter(m, "sterna_destination_connections_total",
	    "Outbound connections that carried mail for a top destination (recipient domain), "
	    "since it entered the table.", "destination");
	d->f_delivered = metrics_counter(m, "sterna_destination_delivered_total",
	    "Recipients of a top destination delivered, since it entered the table.",
	    "destination");
	d->f_deferred = metrics_counter(m, "sterna_destination_deferred_total",
	    "Attempts for a top destination that failed and will be tried again, since it "
	    "entered the table.", "destination");
	d->f_failed = metrics_counter(m, "sterna_destination_failed_total",
	    "Recipients of a top destination bounced or expired, since it entered the table.",
	    "destination");
	metrics_on_read(m, on_read, d);
	return d;
}

void
destinations_free(struct destinations **dp)
{
	struct destinations *d = *dp;

	if (d == NULL)
		return;
	free(d->rows);
	free(d);
	*dp = NULL;
}

/* The row of name[0..len) (lower case), found or made in the place of the least active. */
static struct row *
row_of(struct destinations *d, const char *name, size_t len, uint64_t now_us)
{
	uint64_t h = fnv(name, len);
	struct row *least = NULL, *r;
	double least_a = 0;

	for (size_t i = 0; i < d->n; i++) {
		double a;

		r = &d->rows[i];
		if (r->hash == h && strlen(r->d.name) == len && memcmp(r->d.name, name, len) == 0)
			return r;
		a = activity_at(r, now_us);
		if (least == NULL || a < least_a ||
		    (a == least_a && r->d.last_us < least->d.last_us)) {
			least = r;
			least_a = a;
		}
	}
	r = d->n < d->max ? &d->rows[d->n++] : least;
	memset(r, 0, sizeof(*r));
	memcpy(r->d.name, name, len);
	r->hash = h;
	r->d.since_us = now_us;
	r->score_us = now_us;
	return r;
}

void
destinations_sink(void *ctx, const struct event *e)
{
	struct destinations *d = ctx;
	char name[DESTINATIONS_NAME_MAX + 1];
	const char *at;
	size_t len;
	struct row *r;

	if (e->type != EVENT_DELIVERED && e->type != EVENT_DEFERRED &&
	    e->type != EVENT_BOUNCED && e->type != EVENT_EXPIRED)
		return;
	if (e->recipient == NULL || (at = strrchr(e->recipient, '@')) == NULL || at[1] == '\0')
		return;
	len = strlen(at + 1);
	if (len > DESTINATIONS_NAME_MAX)
		len = DESTINATIONS_NAME_MAX;
	for (size_t i = 0; i < len; i++)
		name[i] = (char)ascii_tolower((uint8_t)at[1 + i]);
	name[len] = '\0';
	r = row_of(d, name, len, e->time_us);
	r->d.activity = activity_at(r, e->time_us) + 1;
	if (e->time_us > r->score_us)
		r->score_us = e->time_us;
	if (e->time_us > r->d.last_us)
		r->d.last_us = e->time_us;
	switch (e->type) {
	case EVENT_DELIVERED:
		r->d.delivered++;
		break;
	case EVENT_DEFERRED:
		r->d.deferred++;
		break;
	default:
		r->d.failed++;
		break;
	}
	if (e->conn != NULL && e->conn[0] != '\0') {
		uint64_t ch = fnv(e->conn, strlen(e->conn));
		unsigned k;

		/* one connection carries many recipients: each is counted once */
		for (k = 0; k < DESTINATIONS_CONN_RING && r->conns[k] != ch; k++)
			;
		if (k == DESTINATIONS_CONN_RING) {
			r->conns[r->conn_next] = ch;
			r->conn_next = (r->conn_next + 1) % DESTINATIONS_CONN_RING;
			r->d.connections++;
		}
	}
}

static int
by_activity(const void *a, const void *b)
{
	const struct destination *x = a, *y = b;

	if (x->activity != y->activity)
		return x->activity < y->activity ? 1 : -1;
	return strcmp(x->name, y->name);
}

size_t
destinations_top(const struct destinations *d, uint64_t now_us, struct destination *out,
    size_t max)
{
	struct destination *all = xcalloc(d->n > 0 ? d->n : 1, sizeof(*all));
	size_t n = 0;

	for (size_t i = 0; i < d->n; i++) {
		const struct row *r = &d->rows[i];
		uint64_t tries = r->d.delivered + r->d.deferred + r->d.failed;

		all[i] = r->d;
		all[i].activity = activity_at(r, now_us);
		all[i].deferral_rate = tries > 0 ? (double)r->d.deferred / (double)tries : 0;
	}
	qsort(all, d->n, sizeof(*all), by_activity);
	n = d->n < max ? d->n : max;
	memcpy(out, all, n * sizeof(*out));
	free(all);
	return n;
}
