/*
 * rdns.c - forward-confirmed reverse DNS: the PTR names of the client's
 * address, then the addresses of each name (in the client's family, at
 * most FCRDNS_NAMES_MAX names, at once); a name is the client's when the
 * client's address is among its own. Anyone can write any name into the
 * PTR records of their addresses; only the forward zone's owner can make
 * it point back, so only a verified name is fit for decisions (RFC 7372
 * 3's "reverse DNS validation"; Postfix's reject_unknown_client_hostname).
 */
#include "policy/dnsbl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/event.h>

#include "dns/dns.h"
#include "policy/dnsbl_int.h"
#include "util/xalloc.h"

struct name_ask {
	struct fcrdns_check *chk;
	char name[DNS_NAME_MAX + 1];
	struct dns_query *q;		/* NULL once answered */
};

struct fcrdns_check {
	struct dnsbl *b;
	int family;			/* the client's: AF_INET for an IPv4-mapped address too */
	void (*done)(void *ctx, const struct fcrdns_result *r);
	void *ctx;
	struct fcrdns_result r;
	struct dns_query *ptr_q;	/* NULL once answered */
	struct name_ask asks[FCRDNS_NAMES_MAX];
	size_t nasks, pending;
	int has_temp;			/* a forward lookup failed for now */
	struct event *timer;		/* the timeout, then the end on the next turn */
	int is_firing;			/* done() is running */
};

static void
check_free(struct fcrdns_check *chk)
{
	dns_query_cancel(&chk->ptr_q);
	for (size_t i = 0; i < chk->nasks; i++)
		dns_query_cancel(&chk->asks[i].q);
	event_free(chk->timer);
	dnsbl_drop(chk->b);
	free(chk);
}

static void
finish(struct fcrdns_check *chk, enum fcrdns_status status)
{
	chk->r.status = status;
	if (status != FCRDNS_VERIFIED)
		chk->r.name[0] = '\0';
	chk->is_firing = 1;
	chk->done(chk->ctx, &chk->r);
	check_free(chk);
}

static void
on_addrs(void *ctx, const struct dns_reply *reply)
{
	struct name_ask *a = ctx;
	struct fcrdns_check *chk = a->chk;

	a->q = NULL;
	chk->pending--;
	for (size_t i = 0; reply->status == DNS_Q_FOUND && i < reply->naddrs; i++) {
		if (dns_ip_equal(reply->addrs[i], chk->r.ip)) {
			(void)snprintf(chk->r.name, sizeof(chk->r.name), "%s", a->name);
			finish(chk, FCRDNS_VERIFIED);	/* the other lookups are cancelled */
			return;
		}
	}
	chk->has_temp |= reply->status == DNS_Q_TEMPFAIL;
	if (chk->pending == 0)
		finish(chk, chk->has_temp ? FCRDNS_TEMPFAIL : FCRDNS_NONE);
}

static void
on_ptr(void *ctx, const struct dns_reply *reply)
{
	struct fcrdns_check *chk = ctx;

	chk->ptr_q = NULL;
	if (reply->status != DNS_Q_FOUND) {
		finish(chk, reply->status == DNS_Q_TEMPFAIL ? FCRDNS_TEMPFAIL : FCRDNS_NONE);
		return;
	}
	(void)snprintf(chk->r.ptr_name, sizeof(chk->r.ptr_name), "%s", reply->names[0]);
	for (size_t i = 0; i < reply->nnames && chk->nasks < FCRDNS_NAMES_MAX; i++) {
		struct name_ask *a;

		if (!fcrdns_is_host_name(reply->names[i]))
			continue;
		a = &chk->asks[chk->nasks++];
		a->chk = chk;
		(void)snprintf(a->name, sizeof(a->name), "%s", reply->names[i]);
	}
	if (chk->nasks == 0) {
		finish(chk, FCRDNS_NONE);	/* names, but none that could be a host's */
		return;
	}
	/* every ask is counted before any is made: none answers inside dns_query_addrs, but still */
	chk->pending = chk->nasks;
	for (size_t i = 0; i < chk->nasks; i++)
		chk->asks[i].q = dns_query_addrs(chk->b->dns, chk->asks[i].name, chk->family,
		    on_addrs, &chk->asks[i]);
}

/* policy.fcrdns_timeout: what has not confirmed by now is a temporary failure. */
static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct fcrdns_check *chk = arg;

	(void)fd, (void)what;
	finish(chk, FCRDNS_TEMPFAIL);
}

/* An ip that is no address: nothing to ask, NONE on the next turn. */
static void
on_not_ip(evutil_socket_t fd, short what, void *arg)
{
	struct fcrdns_check *chk = arg;

	(void)fd, (void)what;
	finish(chk, FCRDNS_NONE);
}

struct fcrdns_check *
fcrdns_check_start(struct dnsbl *b, const char *ip,
    void (*done)(void *ctx, const struct fcrdns_result *r), void *ctx)
{
	struct fcrdns_check *chk = xcalloc(1, sizeof(*chk));
	struct timeval tv = { 0, 0 };
	uint8_t addr[16];

	dnsbl_hold(b);
	chk->b = b;
	chk->done = done;
	chk->ctx = ctx;
	chk->r.is_required = b->c->is_fcrdns_required != 0;
	(void)snprintf(chk->r.ip, sizeof(chk->r.ip), "%s", ip);
	if (dns_ip_parse(ip, addr, &chk->family) == -1) {
		chk->timer = evtimer_new(b->base, on_not_ip, chk);
		ASSERT(chk->timer != NULL);
		evtimer_add(chk->timer, &tv);
		return chk;
	}
	chk->timer = evtimer_new(b->base, on_timer, chk);
	ASSERT(chk->timer != NULL);
	tv.tv_sec = b->c->fcrdns_timeout_ms / 1000;
	tv.tv_usec = (long)(b->c->fcrdns_timeout_ms % 1000) * 1000;
	evtimer_add(chk->timer, &tv);
	chk->ptr_q = dns_query_ptr(b->dns, ip, on_ptr, chk);
	return chk;
}

void
fcrdns_check_cancel(struct fcrdns_check **chkp)
{
	struct fcrdns_check *chk = *chkp;

	*chkp = NULL;
	if (chk == NULL || chk->is_firing)
		return;		/* from its own callback: finish frees it on return */
	check_free(chk);
}
