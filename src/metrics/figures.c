/*
 * figures.c - the families of sterna's figures, fed by the event stream
 * (one subscriber, no counter of its own in any module) and read from the
 * scheduler and the server at each scrape.
 */
#include "metrics/figures.h"

#include <stdlib.h>

#include "sched/queue.h"
#include "server/server.h"
#include "util/clock.h"
#include "util/xalloc.h"

/* seconds: from a local delivery's milliseconds to a day in the queue */
static const double latency_bounds[] = { 0.01, 0.05, 0.1, 0.5, 1, 5, 30, 60, 300, 1800, 3600,
	21600, 86400 };

struct figures {
	struct sched *s;
	struct server *srv;
	struct metric *received, *received_bytes, *recipients, *bounced, *latency;
	struct metric *queue, *oldest, *sessions, *outbound;
};

static void
on_write(void *ctx)
{
	struct figures *f = ctx;
	struct sched_stats st;
	uint64_t now = clock_wall_us();

	if (f->s != NULL) {
		sched_stats(f->s, &st);
		for (unsigned i = 0; i < SCHED_NSTATES; i++) {
			const char *state = sched_state_name((enum sched_state)i);

			metric_set(f->queue, &state, (double)st.by_state[i]);
		}
		metric_set(f->oldest, NULL, st.oldest_arrival_us == 0 || st.oldest_arrival_us > now ?
		    0 : (double)(now - st.oldest_arrival_us) / 1e6);
		metric_set(f->outbound, NULL, (double)st.connections);
	}
	if (f->srv != NULL)
		metric_set(f->sessions, NULL, (double)server_sessions(f->srv));
}

struct figures *
figures_new(struct metrics *m, struct sched *s, struct server *srv)
{
	struct figures *f = xcalloc(1, sizeof(*f));

	f->s = s;
	f->srv = srv;
	f->received = metrics_counter(m, "sterna_messages_received_total",
	    "Messages taken into the queue, by entrance.", "entrance");
	f->received_bytes = metrics_counter(m, "sterna_received_bytes_total",
	    "Bytes of the messages taken into the queue, by entrance.", "entrance");
	f->recipients = metrics_counter(m, "sterna_recipients_total",
	    "Recipients by what became of them: received, delivered, deferred (each attempt), "
	    "bounced, expired, suppressed, deleted.", "event");
	f->bounced = metrics_counter(m, "sterna_bounces_total",
	    "Recipients that failed for good, by class and category.", "class,category");
	f->latency = metrics_histogram(m, "sterna_delivery_seconds",
	    "From receipt to delivery, per recipient delivered.", NULL, latency_bounds,
	    NELEM(latency_bounds));
	f->queue = metrics_gauge(m, "sterna_queue_messages", "Messages in the queue, by state.",
	    "state");
	f->oldest = metrics_gauge(m, "sterna_queue_oldest_seconds",
	    "Age of the oldest message in the queue (0 when it is empty).", NULL);
	f->sessions = metrics_gauge(m, "sterna_smtp_sessions", "SMTP sessions open.", NULL);
	f->outbound = metrics_gauge(m, "sterna_outbound_connections",
	    "Outbound SMTP and LMTP connections open.", NULL);
	metrics_on_write(m, on_write, f);
	return f;
}

void
figures_free(struct figures **fp)
{
	free(*fp);
	*fp = NULL;
}

void
figures_sink(void *ctx, const struct event *e)
{
	struct figures *f = ctx;
	const char *type = event_type_name(e->type);
	uint64_t now = clock_wall_us();

	metric_add(f->recipients, &type, 1);
	switch (e->type) {
	case EVENT_RECEIVED:
		/* one event per recipient: the message is counted at its first */
		if (e->rcpt_index == 0) {
			metric_add(f->received, &e->entrance, 1);
			metric_add(f->received_bytes, &e->entrance, e->size);
		}
		break;
	case EVENT_DELIVERED:
		metric_observe(f->latency, NULL, now > e->arrival_us ?
		    (double)(now - e->arrival_us) / 1e6 : 0);
		break;
	case EVENT_BOUNCED:
	case EVENT_EXPIRED: {
		const char *v[] = { bounce_class_name(e->bounce_class),
			bounce_category_name(e->bounce_category) };

		metric_add(f->bounced, v, 1);
		break;
	}
	default:
		break;
	}
}
