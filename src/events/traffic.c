/*
 * traffic.c - the ring of minutes: slot minute % 60, taken over by a newer
 * minute when the ring comes round. An event older than the slot's minute
 * (a clock stepped back) is counted nowhere rather than in the wrong minute.
 */
#include "events/traffic.h"

#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

struct traffic {
	struct traffic_minute slots[TRAFFIC_MINUTES];
};

struct traffic *
traffic_new(void)
{
	return xcalloc(1, sizeof(struct traffic));
}

void
traffic_free(struct traffic **tp)
{
	free(*tp);
	*tp = NULL;
}

static int
is_tls(const char *v)
{
	return v != NULL && v[0] != '\0';
}

void
traffic_sink(void *ctx, const struct event *e)
{
	struct traffic *t = ctx;
	uint64_t minute = e->time_us / 60000000u;
	struct traffic_minute *s = &t->slots[minute % TRAFFIC_MINUTES];

	if (s->minute > minute)
		return;
	if (s->minute != minute) {
		memset(s, 0, sizeof(*s));
		s->minute = minute;
	}
	switch (e->type) {
	case EVENT_RECEIVED:
		/* one event per recipient: the message is counted at its first */
		if (e->rcpt_index == 0) {
			s->in++;
			s->in_tls += is_tls(e->tls_version);
		}
		break;
	case EVENT_DELIVERED:
		s->out++;
		if (e->relay != NULL && e->relay[0] != '\0') {
			s->out_relayed++;
			s->out_tls += is_tls(e->tls_version);
		}
		break;
	case EVENT_DEFERRED:
		s->deferred++;
		break;
	case EVENT_BOUNCED:
	case EVENT_EXPIRED:
	case EVENT_SUPPRESSED:
		s->failed++;
		break;
	default:
		break;
	}
}

void
traffic_read(const struct traffic *t, uint64_t now_us, struct traffic_minute out[TRAFFIC_MINUTES])
{
	uint64_t now = now_us / 60000000u;

	for (unsigned i = 0; i < TRAFFIC_MINUTES; i++) {
		uint64_t minute = now + 1 + i - TRAFFIC_MINUTES;	/* oldest first */
		const struct traffic_minute *s = &t->slots[minute % TRAFFIC_MINUTES];

		if (now + 1 < TRAFFIC_MINUTES - i) {	/* before the epoch: only in tests */
			memset(&out[i], 0, sizeof(out[i]));
			continue;
		}
		if (s->minute == minute)
			out[i] = *s;
		else
			out[i] = (struct traffic_minute){ .minute = minute };
	}
}
