/*
 * dnsbl.c - a client against the DNS blocklists (RFC 5782): one A query
 * per distinct zone, all at once, each answer kept in the cache for its
 * TTL; the check ends when all are back or at policy.dnsbl_timeout, when
 * the lists still out count as not listing (a slow list never holds mail
 * up, nor blocks it). Lists that share a zone share its query, each
 * reading the answer with its own answers= filter. TXT records are not
 * asked: the reply names the zone, which is where a client finds why.
 */
#include "policy/dnsbl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "dns/dns.h"
#include "policy/dnsbl_int.h"
#include "util/clock.h"
#include "util/xalloc.h"

/* One zone's query in one check. */
struct zone_ask {
	struct dnsbl_check *chk;
	unsigned zone;
	struct dns_query *q;		/* NULL once answered (or never asked) */
};

struct dnsbl_check {
	struct dnsbl *b;
	uint8_t ip[16];
	void (*done)(void *ctx, const struct dnsbl_result *r);
	void *ctx;
	struct dnsbl_result r;
	struct zone_ask asks[CONFIG_DNSBL_MAX];
	size_t pending;			/* queries out */
	struct event *timer;		/* the timeout; or the next turn, when nothing was asked */
	int is_firing;			/* done() is running */
};

struct dnsbl *
dnsbl_new(const struct config *c, struct dns *d, struct event_base *base)
{
	struct dnsbl *b = xcalloc(1, sizeof(*b));

	ASSERT(c->ndnsbls <= CONFIG_DNSBL_MAX);
	b->c = c;
	b->dns = d;
	b->base = base;
	b->cache = dnsbl_cache_new(c->dnsbl_cache_entries);
	for (size_t i = 0; i < c->ndnsbls; i++) {
		size_t z;

		for (z = 0; z < b->nzones; z++)
			if (strcmp(b->zones[z], c->dnsbls[i].zone) == 0)
				break;
		if (z == b->nzones)
			b->zones[b->nzones++] = c->dnsbls[i].zone;
		b->zone_of[i] = (unsigned)z;
	}
	return b;
}

static void
release(struct dnsbl *b)
{
	dnsbl_cache_free(&b->cache);
	free(b);
}

void
dnsbl_free(struct dnsbl **bp)
{
	struct dnsbl *b = *bp;

	*bp = NULL;
	if (b == NULL)
		return;
	b->is_released = 1;
	if (b->nchecks == 0)
		release(b);
}

void
dnsbl_hold(struct dnsbl *b)
{
	b->nchecks++;
}

void
dnsbl_drop(struct dnsbl *b)
{
	ASSERT(b->nchecks > 0);
	if (--b->nchecks == 0 && b->is_released)
		release(b);
}

static void
check_free(struct dnsbl_check *chk)
{
	for (size_t z = 0; z < chk->b->nzones; z++)
		dns_query_cancel(&chk->asks[z].q);
	if (chk->timer != NULL)
		event_free(chk->timer);
	dnsbl_drop(chk->b);
	free(chk);
}

static void
finish(struct dnsbl_check *chk)
{
	dnsbl_result_score(&chk->r);
	chk->is_firing = 1;
	chk->done(chk->ctx, &chk->r);
	check_free(chk);
}

/* The answer for zone z, for every list that asks it. */
static void
apply(struct dnsbl_check *chk, unsigned z, const struct dns_reply *reply, int is_cached)
{
	const struct config *c = chk->b->c;

	for (size_t i = 0; i < chk->r.nlists; i++) {
		struct dnsbl_list_result *l = &chk->r.lists[i];

		if (chk->b->zone_of[i] != z)
			continue;
		l->state = dnsbl_judge_reply(&c->dnsbls[i], reply, l->code);
		l->is_cached = is_cached;
	}
}

static void
on_answer(void *ctx, const struct dns_reply *reply)
{
	struct zone_ask *a = ctx;
	struct dnsbl_check *chk = a->chk;

	a->q = NULL;	/* the query ends with this call */
	dnsbl_cache_put(chk->b->cache, a->zone, chk->ip, reply, clock_mono_ms());
	apply(chk, a->zone, reply, 0);
	if (--chk->pending == 0)
		finish(chk);
}

/* policy.dnsbl_timeout, or the next turn when every answer was at hand. */
static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct dnsbl_check *chk = arg;

	(void)fd, (void)what;
	for (size_t i = 0; i < chk->r.nlists; i++)
		if (chk->r.lists[i].state == DNSBL_PENDING)
			chk->r.lists[i].state = DNSBL_TIMEOUT;
	finish(chk);	/* check_free cancels the queries still out */
}

struct dnsbl_check *
dnsbl_check_start(struct dnsbl *b, const char *ip,
    void (*done)(void *ctx, const struct dnsbl_result *r), void *ctx)
{
	const struct config *c = b->c;
	struct dnsbl_check *chk = xcalloc(1, sizeof(*chk));
	struct timeval tv = { 0, 0 };
	uint64_t now_ms = clock_mono_ms();
	int family, is_ip;

	dnsbl_hold(b);
	chk->b = b;
	chk->done = done;
	chk->ctx = ctx;
	(void)snprintf(chk->r.ip, sizeof(chk->r.ip), "%s", ip);
	chk->r.threshold = c->dnsbl_threshold;
	chk->r.nlists = c->ndnsbls;
	is_ip = dns_ip_parse(ip, chk->ip, &family) == 0;
	for (size_t i = 0; i < c->ndnsbls; i++) {
		chk->r.lists[i].name = c->dnsbls[i].name;
		chk->r.lists[i].zone = c->dnsbls[i].zone;
		chk->r.lists[i].weight = c->dnsbls[i].weight;
		chk->r.lists[i].state = is_ip ? DNSBL_PENDING : DNSBL_FAILED;
	}
	for (unsigned z = 0; is_ip && z < b->nzones; z++) {
		struct zone_ask *a = &chk->asks[z];
		struct dns_reply cached;
		char qname[DNS_NAME_MAX + 1];

		a->chk = chk;
		a->zone = z;
		if (dnsbl_cache_get(b->cache, z, chk->ip, now_ms, &cached)) {
			apply(chk, z, &cached, 1);
		} else if (dns_reverse_name(ip, b->zones[z], qname, sizeof(qname)) == 0) {
			chk->pending++;
			a->q = dns_query_a(b->dns, qname, on_answer, a);
		} else {
			/* XXX: cannot happen: config refuses zones too long for an IPv6 name */
			struct dns_reply fail = { .status = DNS_Q_TEMPFAIL };

			apply(chk, z, &fail, 0);
		}
	}
	chk->timer = evtimer_new(b->base, on_timer, chk);
	ASSERT(chk->timer != NULL);
	if (chk->pending > 0) {
		tv.tv_sec = c->dnsbl_timeout_ms / 1000;
		tv.tv_usec = (long)(c->dnsbl_timeout_ms % 1000) * 1000;
	}
	evtimer_add(chk->timer, &tv);
	return chk;
}

void
dnsbl_check_cancel(struct dnsbl_check **chkp)
{
	struct dnsbl_check *chk = *chkp;

	*chkp = NULL;
	if (chk == NULL || chk->is_firing)
		return;		/* from its own callback: finish frees it on return */
	check_free(chk);
}
