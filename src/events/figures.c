/*
 * figures.c - the families the event stream feeds: one subscriber, and no
 * counter of its own. The label sets known in advance (event types) are
 * resolved once; the others (entrance, agent, category) are found by name,
 * among a handful.
 */
#include "events/figures.h"

#include <stdlib.h>

#include "util/xalloc.h"

/* seconds: from a local delivery's milliseconds to a day in the queue */
static const double latency_bounds[] = { 0.01, 0.05, 0.1, 0.5, 1, 5, 30, 60, 300, 1800, 3600,
	21600, 86400 };

struct figures {
	struct metric *received, *received_bytes, *bounced, *results, *latency;
	struct metric_series *recipients[EVENT_TYPE_N];
};

struct figures *
figures_new(struct metrics *m)
{
	struct figures *f = xcalloc(1, sizeof(*f));
	struct metric *recipients;

	f->received = metrics_counter(m, "sterna_messages_received_total",
	    "Messages taken into the queue, by entrance.", "entrance");
	f->received_bytes = metrics_counter(m, "sterna_received_bytes_total",
	    "Bytes of the messages taken into the queue, by entrance.", "entrance");
	recipients = metrics_counter(m, "sterna_recipients_total",
	    "Recipients by what became of them: received, delivered, deferred (each attempt), "
	    "bounced, expired, suppressed, deleted.", "event");
	for (unsigned t = 0; t < EVENT_TYPE_N; t++) {
		const char *name = event_type_name((enum event_type)t);

		f->recipients[t] = metric_series(recipients, &name);
	}
	f->results = metrics_counter(m, "sterna_delivery_results_total",
	    "Delivery attempts' results per recipient, by agent (maildir, lmtp, smtp; none when "
	    "no attempt was made) and by the failure's category (none when delivered).",
	    "agent,result,category");
	f->bounced = metrics_counter(m, "sterna_bounces_total",
	    "Recipients that failed for good, by class and category.", "class,category");
	f->latency = metrics_histogram(m, "sterna_delivery_seconds",
	    "From receipt to each recipient's final result: delivered, bounced, expired, "
	    "suppressed.", "event", latency_bounds, NELEM(latency_bounds));
	return f;
}

void
figures_free(struct figures **fp)
{
	free(*fp);
	*fp = NULL;
}

/* A deferral, bounce or expiry's category ("dns", ...), from its reply when the event has none. */
static const char *
category_of(const struct event *e)
{
	enum bounce_class cls = e->bounce_class;
	enum bounce_category cat = e->bounce_category;

	if (e->type == EVENT_DELIVERED)
		return "none";
	if (cat == BOUNCE_CAT_NONE)
		events_classify(e->code, e->dsn ? e->dsn : "", e->reply ? e->reply : "", &cls, &cat);
	return cat == BOUNCE_CAT_NONE ? "other" : bounce_category_name(cat);
}

void
figures_sink(void *ctx, const struct event *e)
{
	struct figures *f = ctx;

	metric_series_add(f->recipients[e->type], 1);
	switch (e->type) {
	case EVENT_RECEIVED:
		/* one event per recipient: the message is counted at its first */
		if (e->rcpt_index == 0) {
			metric_add(f->received, &e->entrance, 1);
			metric_add(f->received_bytes, &e->entrance, e->size);
		}
		return;
	case EVENT_BOUNCED:
	case EVENT_EXPIRED: {
		const char *v[] = { bounce_class_name(e->bounce_class),
			bounce_category_name(e->bounce_category) };

		metric_add(f->bounced, v, 1);
		break;
	}
	case EVENT_DELETED:
		return;		/* an operator's doing: no result of delivery, and no latency */
	default:
		break;
	}
	if (e->type != EVENT_SUPPRESSED) {
		const char *v[] = { e->agent != NULL && e->agent[0] != '\0' ? e->agent : "none",
			event_type_name(e->type), category_of(e) };

		metric_add(f->results, v, 1);
	}
	if (e->type != EVENT_DEFERRED) {
		const char *type = event_type_name(e->type);

		/* the event's time is the result's */
		metric_observe(f->latency, &type, e->time_us > e->arrival_us ?
		    (double)(e->time_us - e->arrival_us) / 1e6 : 0);
	}
}
