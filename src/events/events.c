/*
 * events.c - the stream: a list of subscribers, called in order.
 */
#include "events/events.h"

#include <stdlib.h>

#include "util/xalloc.h"

struct sink {
	events_sink_fn *fn;
	void *ctx;
};

struct events {
	struct sink *sinks;
	size_t n;
};

struct events *
events_new(void)
{
	return xcalloc(1, sizeof(struct events));
}

void
events_free(struct events **evp)
{
	struct events *ev = *evp;

	if (ev == NULL)
		return;
	free(ev->sinks);
	free(ev);
	*evp = NULL;
}

void
events_subscribe(struct events *ev, events_sink_fn *fn, void *ctx)
{
	ev->sinks = xrealloc(ev->sinks, (ev->n + 1) * sizeof(*ev->sinks));
	ev->sinks[ev->n++] = (struct sink){ fn, ctx };
}

void
events_emit(struct events *ev, const struct event *e)
{
	if (ev == NULL)
		return;
	for (size_t i = 0; i < ev->n; i++)
		ev->sinks[i].fn(ev->sinks[i].ctx, e);
}

const char *
event_type_name(enum event_type t)
{
	static const char *const names[] = { "received", "delivered", "deferred", "bounced",
		"expired", "suppressed" };

	return (unsigned)t < NELEM(names) ? names[t] : "?";
}

const char *
bounce_class_name(enum bounce_class c)
{
	static const char *const names[] = { "", "hard", "soft" };

	return (unsigned)c < NELEM(names) ? names[c] : "";
}

const char *
bounce_category_name(enum bounce_category c)
{
	static const char *const names[] = { "", "bad_mailbox", "mailbox_full", "policy",
		"spam_block", "dns", "other" };

	return (unsigned)c < NELEM(names) ? names[c] : "";
}
