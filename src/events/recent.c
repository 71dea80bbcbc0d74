/*
 * recent.c - two rings of copies: each event overwrites the oldest.
 */
#include "events/recent.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

struct ring {
	struct recent_event *ev;
	size_t cap, next, n;
};

struct recent {
	struct ring all, failures;
};

static void
ring_init(struct ring *g, size_t cap)
{
	g->ev = xcalloc(cap, sizeof(*g->ev));
	g->cap = cap;
}

struct recent *
recent_new(void)
{
	struct recent *r = xcalloc(1, sizeof(*r));

	ring_init(&r->all, RECENT_EVENTS);
	ring_init(&r->failures, RECENT_FAILURES);
	return r;
}

void
recent_free(struct recent **rp)
{
	struct recent *r = *rp;

	if (r == NULL)
		return;
	free(r->all.ev);
	free(r->failures.ev);
	free(r);
	*rp = NULL;
}

/* s (NULL: "") into out, cut to fit. */
static void
copy(char *out, size_t size, const char *s)
{
	(void)snprintf(out, size, "%s", s != NULL ? s : "");
}

static void
ring_put(struct ring *g, const struct event *e)
{
	struct recent_event *x = &g->ev[g->next];

	memset(x, 0, sizeof(*x));
	x->type = e->type;
	x->time_us = e->time_us;
	copy(x->message_id, sizeof(x->message_id), e->message_id);
	x->rcpt_index = (unsigned)e->rcpt_index;
	copy(x->recipient, sizeof(x->recipient), e->recipient);
	copy(x->entrance, sizeof(x->entrance), e->type == EVENT_RECEIVED ? e->entrance : NULL);
	x->code = e->code;
	copy(x->dsn, sizeof(x->dsn), e->dsn);
	copy(x->reply, sizeof(x->reply), e->reply);
	copy(x->relay, sizeof(x->relay), e->relay);
	x->attempt = e->attempt;
	x->next_attempt_s = e->next_attempt_s;
	x->bounce_class = e->bounce_class;
	x->bounce_category = e->bounce_category;
	x->is_tls = e->tls_version != NULL && e->tls_version[0] != '\0';
	g->next = (g->next + 1) % g->cap;
	if (g->n < g->cap)
		g->n++;
}

void
recent_sink(void *ctx, const struct event *e)
{
	struct recent *r = ctx;

	ring_put(&r->all, e);
	if (e->type == EVENT_BOUNCED || e->type == EVENT_EXPIRED || e->type == EVENT_SUPPRESSED)
		ring_put(&r->failures, e);
}

/* The k-th newest of g (0: the newest). */
static const struct recent_event *
nth_newest(const struct ring *g, size_t k)
{
	return &g->ev[(g->next + g->cap - 1 - k) % g->cap];
}

static size_t
newest(const struct ring *g, struct recent_event *out, size_t max)
{
	size_t n = g->n < max ? g->n : max;

	for (size_t k = 0; k < n; k++)
		out[k] = *nth_newest(g, k);
	return n;
}

size_t
recent_events(const struct recent *r, struct recent_event *out, size_t max)
{
	return newest(&r->all, out, max);
}

size_t
recent_failures(const struct recent *r, struct recent_event *out, size_t max)
{
	return newest(&r->failures, out, max);
}

size_t
recent_of_message(const struct recent *r, const char *qid, struct recent_event *out, size_t max)
{
	size_t n = 0;

	/* oldest first: from the n-th newest down to the newest */
	for (size_t k = r->all.n; k-- > 0 && n < max;) {
		const struct recent_event *x = nth_newest(&r->all, k);

		if (strcmp(x->message_id, qid) == 0)
			out[n++] = *x;
	}
	return n;
}
