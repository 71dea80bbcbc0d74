/*
 * pool.c - the idle connections to each filter (milter.h), kept between
 * SMTP sessions and between the messages of the other entrances, so a
 * session does not pay for a connection and a negotiation per filter.
 *
 * A connection goes back to its filter's pool only when it is known where
 * the filter stands: nothing in flight or unread, and the last step the end
 * of a message that the filter answered with CONTINUE. There it is told
 * QUIT_NC ("quit, a new connection follows": milter protocol 6), which ends
 * the filter's connection and keeps the negotiation, and the next session
 * starts it again at CONNECT. Anything else (a connection that accepted or
 * refused, an aborted message, one without a message) is closed with QUIT,
 * since libmilter would ignore QUIT_NC there, and the CONNECT after it,
 * without a word. A parked connection the filter speaks on or closes is
 * closed; one idle for the filter's idle_timeout is closed; at most
 * idle_connections are kept per filter, the most recent taken first.
 */
#include "milter/milter_int.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/metrics.h"
#include "util/xalloc.h"

struct pool_filter {
	struct milter_client **idle;	/* the most recent last */
	size_t nidle, max;
	unsigned idle_timeout_ms;
	struct metric_series *opened, *reused;	/* connections made, and taken from the pool */
};

struct milter_pool {
	struct event_base *base;
	const struct config *cfg;
	struct milter_limits lim;
	struct pool_filter *filters;	/* one per cfg->milters */
};

/* The limits of what a filter may do to one message, from the configuration. */
static void
limits_of(const struct config *cfg, struct milter_limits *out)
{
	out->max_body_bytes = cfg->max_message_bytes;
	out->max_header_bytes = 256 * 1024;	/* half the content step's header list */
	out->max_changes = 1000;
	out->max_rcpts_added = cfg->max_recipients;
}

struct milter_pool *
milter_pool_new(struct event_base *base, const struct config *cfg, struct metrics *metrics)
{
	struct milter_pool *p = xcalloc(1, sizeof(*p));
	struct metric *conns = metrics_counter(metrics, "sterna_milter_connections_total",
	    "Connections to each milter filter: opened anew, or reused from its idle pool",
	    "milter,how");

	p->base = base;
	p->cfg = cfg;
	limits_of(cfg, &p->lim);
	p->filters = xcalloc(cfg->nmilters ? cfg->nmilters : 1, sizeof(*p->filters));
	for (size_t i = 0; i < cfg->nmilters; i++) {
		struct pool_filter *pf = &p->filters[i];

		pf->max = cfg->milters[i].idle_connections;
		pf->idle_timeout_ms = cfg->milters[i].idle_timeout_ms;
		pf->idle = xcalloc(pf->max ? pf->max : 1, sizeof(*pf->idle));
		pf->opened = metric_series(conns, (const char *[]){ cfg->milters[i].name, "opened" });
		pf->reused = metric_series(conns, (const char *[]){ cfg->milters[i].name, "reused" });
	}
	return p;
}

void
milter_pool_free(struct milter_pool **pp)
{
	struct milter_pool *p = *pp;

	if (p == NULL)
		return;
	for (size_t i = 0; i < p->cfg->nmilters; i++) {
		struct pool_filter *pf = &p->filters[i];

		while (pf->nidle > 0)
			milter_client_free(&pf->idle[--pf->nidle]);
		free(pf->idle);
	}
	free(p->filters);
	free(p);
	*pp = NULL;
}

static size_t
filter_index(const struct milter_pool *p, const struct config_milter *conf)
{
	size_t i = (size_t)(conf - p->cfg->milters);

	ASSERT(i < p->cfg->nmilters);
	return i;
}

/* A parked connection ended (the filter spoke, closed, or it idled out): out of the pool. */
static void
on_gone(void *arg, struct milter_client *mc)
{
	struct pool_filter *pf = arg;

	for (size_t i = 0; i < pf->nidle; i++)
		if (pf->idle[i] == mc) {
			pf->idle[i] = pf->idle[--pf->nidle];
			break;
		}
	milter_client_free(&mc);
}

size_t
milter_pool_find(const struct milter_pool *p, const char *name)
{
	for (size_t i = 0; i < p->cfg->nmilters; i++)
		if (strcmp(p->cfg->milters[i].name, name) == 0)
			return i;
	return SIZE_MAX;
}

struct milter_client *
milter_pool_take(struct milter_pool *p, size_t idx, const char *log_id)
{
	struct pool_filter *pf;
	struct milter_client *mc;

	ASSERT(idx < p->cfg->nmilters);
	pf = &p->filters[idx];
	while (pf->nidle > 0) {
		mc = pf->idle[--pf->nidle];
		if (!milter_client_is_parked_alive(mc)) {
			milter_client_free(&mc);	/* closed or spoken on: its state is unknown */
			continue;
		}
		milter_client_unpark(mc, log_id);
		metric_series_add(pf->reused, 1);
		return mc;
	}
	metric_series_add(pf->opened, 1);
	return milter_client_new(p->base, &p->cfg->milters[idx], &p->lim, log_id);
}

void
milter_pool_give(struct milter_pool *p, struct milter_client **mcp)
{
	struct milter_client *mc = *mcp;
	struct pool_filter *pf;

	if (mc == NULL)
		return;
	*mcp = NULL;
	pf = &p->filters[filter_index(p, milter_client_conf(mc))];
	if (pf->nidle >= pf->max || !milter_client_is_reusable(mc) ||
	    milter_client_park(mc, pf->idle_timeout_ms, on_gone, pf) == -1) {
		milter_client_free(&mc);
		return;
	}
	pf->idle[pf->nidle++] = mc;
}
