/*
 * events.c - the stream: a list of subscribers, called in order.
 */
#include "events/events.h"

#include <stdlib.h>

#include "config/config.h"
#include "util/xalloc.h"

/* one table of names, the configuration's: the enums must stay in its order */
_Static_assert(EVENT_TYPE_N == CONFIG_EVENT_TYPES, "an event type without a name");
_Static_assert(BOUNCE_OTHER + 1 == CONFIG_BOUNCE_CATEGORIES, "a category without a name");

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
	return (unsigned)t < CONFIG_EVENT_TYPES ? config_event_types[t] : "?";
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
	return (unsigned)c < CONFIG_BOUNCE_CATEGORIES ? config_bounce_categories[c] : "";
}
