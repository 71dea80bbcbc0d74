/*
 * dns.c - c-ares on the libevent loop, and the MX logic of RFC 5321 5.1:
 * MX hosts by preference, each host's addresses, the domain's own
 * addresses when it has no MX (implicit MX), RFC 7505 null MX.
 * c-ares tells us which sockets it wants watched (sock_state_cb); each gets
 * a persistent libevent event, and one timer follows ares_timeout(). An
 * answer is hostile input: c-ares parses it, and we take at most MAX_MX
 * hosts and MAX_ADDRS addresses from it.
 */
#include "dns/dns.h"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "dns/dns_int.h"
#include "dns/mx.h"
#include "util/log.h"
#include "util/xalloc.h"

#define MAX_MX 16		/* MX hosts looked at per domain */
#define MAX_ADDRS 32		/* addresses per lookup, over all its hosts */

struct host_query {
	struct lookup *l;
	int status;			/* ARES_ status of the address lookup */
	struct ares_addrinfo *ai;
};

struct lookup {
	struct dns *d;
	char name[256];
	int use_mx;
	unsigned port;
	void (*done)(void *ctx, struct dns_result *r);
	void *ctx;
	struct dns_mx mx[MAX_MX];
	size_t nmx;
	int is_implicit;		/* no MX: the name's own addresses */
	struct host_query hq[MAX_MX];
	size_t pending;
	struct dns_result *r;
	struct event *fire;		/* hands r to done() on a later turn */
	struct lookup *prev, *next;
	int is_running;			/* its queries are out (counted in d->nrunning) */
	struct lookup *wnext;		/* in d's queue of lookups waiting their turn */
};

void
dns_rearm_timer(struct dns *d)
{
	struct timeval tv, *t = ares_timeout(d->ch, NULL, &tv);

	if (t != NULL)
		evtimer_add(d->timer, t);
	else
		evtimer_del(d->timer);
}

static void
on_sock(evutil_socket_t fd, short what, void *arg)
{
	struct dns *d = arg;

	ares_process_fd(d->ch, (what & EV_READ) ? fd : ARES_SOCKET_BAD,
	    (what & EV_WRITE) ? fd : ARES_SOCKET_BAD);
	dns_rearm_timer(d);
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct dns *d = arg;

	(void)fd, (void)what;
	ares_process_fd(d->ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	dns_rearm_timer(d);
}

/* c-ares: watch fd for reading and/or writing, or stop watching it. */
static void
sock_state(void *data, ares_socket_t fd, int readable, int writable)
{
	struct dns *d = data;
	struct dns_sock *s = NULL, *free_slot = NULL;
	short what = (short)((readable ? EV_READ : 0) | (writable ? EV_WRITE : 0));

	for (size_t i = 0; i < DNS_MAX_SOCKS; i++) {
		if (d->socks[i].ev != NULL && d->socks[i].fd == fd)
			s = &d->socks[i];
		else if (d->socks[i].ev == NULL && free_slot == NULL)
			free_slot = &d->socks[i];
	}
	if (s != NULL && (what == 0 || what != s->what)) {
		event_free(s->ev);
		s->ev = NULL;
	}
	if (what == 0)
		return;
	if (s == NULL || s->ev == NULL) {
		if (s == NULL)
			s = free_slot;
		if (s == NULL) {
			/* XXX: cannot happen with c-ares's one socket per server and protocol */
			log_err("dns: more than %d resolver sockets", DNS_MAX_SOCKS);
			return;
		}
		s->fd = fd;
		s->what = what;
		s->ev = event_new(d->base, fd, (short)(what | EV_PERSIST), on_sock, d);
		ASSERT(s->ev != NULL);
		event_add(s->ev, NULL);
	}
}

struct dns *
dns_new(struct event_base *base, const char *resolver, unsigned timeout_ms, char *err,
    size_t errsize)
{
	struct dns *d = xcalloc(1, sizeof(*d));
	struct ares_options o;
	char lookups[] = "b";	/* DNS only: /etc/hosts must not answer for mail routing */
	int rc;

	ares_library_init(ARES_LIB_INIT_ALL);
	memset(&o, 0, sizeof(o));
	o.sock_state_cb = sock_state;
	o.sock_state_cb_data = d;
	o.timeout = (int)timeout_ms;
	o.tries = 2;
	o.lookups = lookups;
	/* names are absolute: never try them under the search domains of resolv.conf */
	o.flags = ARES_FLAG_NOSEARCH;
	o.ndots = 0;
	rc = ares_init_options(&d->ch, &o, ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS |
	    ARES_OPT_TRIES | ARES_OPT_LOOKUPS | ARES_OPT_FLAGS | ARES_OPT_NDOTS);
	if (rc != ARES_SUCCESS) {
		snprintf(err, errsize, "dns: %s", ares_strerror(rc));
		free(d);
		return NULL;
	}
	if (resolver[0] != '\0' && (rc = ares_set_servers_ports_csv(d->ch, resolver)) != ARES_SUCCESS) {
		snprintf(err, errsize, "dns.resolver '%s': %s", resolver, ares_strerror(rc));
		ares_destroy(d->ch);
		free(d);
		return NULL;
	}
	d->base = base;
	d->timer = evtimer_new(base, on_timer, d);
	ASSERT(d->timer != NULL);
	return d;
}

static void
lookup_free(struct lookup *l)
{
	if (l->prev)
		l->prev->next = l->next;
	else
		l->d->lookups = l->next;
	if (l->next)
		l->next->prev = l->prev;
	for (size_t i = 0; i < MAX_MX; i++)
		if (l->hq[i].ai != NULL)
			ares_freeaddrinfo(l->hq[i].ai);
	if (l->fire)
		event_free(l->fire);
	dns_result_free(&l->r);
	free(l);
}

void
dns_free(struct dns **dp)
{
	struct dns *d = *dp;

	if (d == NULL)
		return;
	d->is_destroying = 1;
	ares_destroy(d->ch);	/* the callbacks of queries in flight run now, and see is_destroying */
	while (d->lookups != NULL)
		lookup_free(d->lookups);
	dns_queries_drop(d);
	for (size_t i = 0; i < DNS_MAX_SOCKS; i++)
		if (d->socks[i].ev)
			event_free(d->socks[i].ev);
	event_free(d->timer);
	free(d);
	ares_library_cleanup();
	*dp = NULL;
}

void
dns_result_free(struct dns_result **rp)
{
	if (*rp == NULL)
		return;
	free((*rp)->targets);
	free(*rp);
	*rp = NULL;
}

static void
on_fire(evutil_socket_t fd, short what, void *arg)
{
	struct lookup *l = arg;
	struct dns_result *r = l->r;

	(void)fd, (void)what;
	l->r = NULL;
	l->done(l->ctx, r);
	lookup_free(l);
}

static void lookup_start(struct lookup *l);

/* Ends the lookup with status; the callback runs on the next turn of the loop. */
static void
finish(struct lookup *l, enum dns_status status, const char *fmt, const char *detail)
{
	static const struct timeval zero = { 0, 0 };
	struct dns *d = l->d;

	if (l->is_running) {
		l->is_running = 0;
		d->nrunning--;
		/* the next lookup that waits takes its turn (c-ares lets a callback ask anew) */
		if (d->waiting_head != NULL && !d->is_destroying) {
			struct lookup *next = d->waiting_head;

			if ((d->waiting_head = next->wnext) == NULL)
				d->waiting_tail = NULL;
			next->wnext = NULL;
			lookup_start(next);
		}
	}

	l->r->status = status;
	if (fmt != NULL)
		snprintf(l->r->why, sizeof(l->r->why), fmt, l->name, detail);
	l->fire = evtimer_new(l->d->base, on_fire, l);
	ASSERT(l->fire != NULL);
	evtimer_add(l->fire, &zero);
}

static int
is_temporary(int status)
{
	return status != ARES_ENOTFOUND && status != ARES_ENODATA && status != ARES_SUCCESS;
}

static void
add_target(struct lookup *l, const char *host, unsigned pref, const struct sockaddr *sa,
    socklen_t len)
{
	struct dns_target *t;

	if (l->r->ntargets >= MAX_ADDRS || len > sizeof(t->sa))
		return;
	t = &l->r->targets[l->r->ntargets++];
	memset(t, 0, sizeof(*t));
	snprintf(t->host, sizeof(t->host), "%s", host);
	t->pref = pref;
	memcpy(&t->sa, sa, len);
	t->sa_len = len;
	if (sa->sa_family == AF_INET6)
		((struct sockaddr_in6 *)(void *)&t->sa)->sin6_port = htons((uint16_t)l->port);
	else
		((struct sockaddr_in *)(void *)&t->sa)->sin_port = htons((uint16_t)l->port);
}

/* Every address lookup is back: the targets in MX order, or why there are none. */
static void
hosts_done(struct lookup *l)
{
	int any_temp = 0, any_nodata = 0, any_nx = 0;
	size_t n = l->is_implicit || !l->use_mx ? 1 : l->nmx;

	l->r->targets = xcalloc(MAX_ADDRS, sizeof(*l->r->targets));
	for (size_t i = 0; i < n; i++) {
		struct host_query *q = &l->hq[i];
		const char *host = n == 1 && l->nmx == 0 ? l->name : l->mx[i].host;

		if (q->status != ARES_SUCCESS || q->ai == NULL) {
			any_temp |= is_temporary(q->status);
			any_nodata |= q->status == ARES_ENODATA;
			any_nx |= q->status == ARES_ENOTFOUND;
			continue;
		}
		/* IPv6 first, then IPv4, as each comes; c-ares returns both for AF_UNSPEC */
		for (int pass = 0; pass < 2; pass++)
			for (struct ares_addrinfo_node *a = q->ai->nodes; a; a = a->ai_next)
				if ((a->ai_family == AF_INET6) == (pass == 0) &&
				    (a->ai_family == AF_INET || a->ai_family == AF_INET6))
					add_target(l, host, l->nmx ? l->mx[i].pref : 0, a->ai_addr,
					    a->ai_addrlen);
	}
	if (l->r->ntargets > 0)
		finish(l, DNS_OK, NULL, NULL);
	else if (any_temp)
		finish(l, DNS_TEMPFAIL, "%s: temporary failure looking up the mail hosts' "
		    "addresses%s", "");
	else if (l->nmx > 0)
		/* XXX: MX hosts without addresses are a broken zone that may be fixed; retry */
		finish(l, DNS_TEMPFAIL, "%s: no address for any of its MX hosts%s", "");
	else if (any_nx && l->use_mx)
		finish(l, DNS_NXDOMAIN, "%s: domain not found%s", "");
	else if (any_nx)
		finish(l, DNS_NO_HOST, "%s: host not found%s", "");
	else
		finish(l, DNS_NO_HOST, "%s: no MX and no address record%s", "");
	(void)any_nodata;
}

static void
on_addrinfo(void *arg, int status, int timeouts, struct ares_addrinfo *ai)
{
	struct host_query *q = arg;
	struct lookup *l = q->l;

	(void)timeouts;
	if (l->d->is_destroying) {
		if (ai)
			ares_freeaddrinfo(ai);
		return;
	}
	q->status = status;
	q->ai = ai;
	if (--l->pending == 0)
		hosts_done(l);
}

static void
query_addrs(struct lookup *l, size_t i, const char *host)
{
	struct ares_addrinfo_hints h;

	memset(&h, 0, sizeof(h));
	h.ai_family = AF_UNSPEC;
	/* no RFC 6724 sorting: it opens a socket per address; we order by family ourselves */
	h.ai_flags = ARES_AI_NOSORT;
	l->hq[i].l = l;
	ares_getaddrinfo(l->d->ch, host, NULL, &h, on_addrinfo, &l->hq[i]);
}

static uint32_t
mx_random(void *ctx)
{
	(void)ctx;
	return arc4random();
}

static void
on_mx(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	struct lookup *l = arg;
	struct ares_mx_reply *mx = NULL;

	(void)timeouts;
	if (l->d->is_destroying)
		return;
	if (status == ARES_SUCCESS) {
		status = ares_parse_mx_reply(abuf, alen, &mx);
		/* an answer without MX records (a CNAME chain to nothing) is no MX */
		if (status == ARES_ENODATA || (status == ARES_SUCCESS && mx == NULL))
			status = ARES_ENODATA;
		else if (status != ARES_SUCCESS)
			status = ARES_EBADRESP;
	}
	if (status == ARES_ENOTFOUND) {
		finish(l, DNS_NXDOMAIN, "%s: domain not found%s", "");
		return;
	}
	if (status != ARES_SUCCESS && status != ARES_ENODATA) {
		finish(l, DNS_TEMPFAIL, "%s: MX lookup failed: %s", ares_strerror(status));
		return;
	}
	l->nmx = mx_from_replies(mx, l->mx, MAX_MX);
	if (mx != NULL)
		ares_free_data(mx);
	if (mx_is_null(l->mx, l->nmx)) {
		finish(l, DNS_NULL_MX, "%s: the domain accepts no mail (null MX)%s", "");
		return;
	}
	l->nmx = mx_sort(l->mx, l->nmx, mx_random, NULL);
	if (l->nmx == 0) {
		/* RFC 5321 5.1: no MX, so the domain itself is the host (implicit MX) */
		l->is_implicit = 1;
		l->pending = 1;
		query_addrs(l, 0, l->name);
		return;
	}
	l->pending = l->nmx;
	for (size_t i = 0; i < l->nmx; i++)
		query_addrs(l, i, l->mx[i].host);
}

static struct lookup *
lookup_new(struct dns *d, void (*done)(void *ctx, struct dns_result *r), void *ctx)
{
	struct lookup *l = xcalloc(1, sizeof(*l));

	l->d = d;
	l->done = done;
	l->ctx = ctx;
	l->r = xcalloc(1, sizeof(*l->r));
	l->next = d->lookups;
	if (d->lookups)
		d->lookups->prev = l;
	d->lookups = l;
	return l;
}

void
dns_lookup_mail(struct dns *d, const char *name, int use_mx, unsigned port,
    void (*done)(void *ctx, struct dns_result *r), void *ctx)
{
	struct lookup *l = lookup_new(d, done, ctx);
	size_t len = strlen(name);
	union {
		struct sockaddr sa;
		struct sockaddr_in in;
		struct sockaddr_in6 in6;
	} u;

	l->use_mx = use_mx;
	l->port = port;
	if (len >= sizeof(l->name)) {
		snprintf(l->name, sizeof(l->name), "(too long)");
		finish(l, DNS_NO_HOST, "%s: name too long%s", "");
		return;
	}
	memcpy(l->name, name, len + 1);
	memset(&u, 0, sizeof(u));
	if (!use_mx && inet_pton(AF_INET, name, &u.in.sin_addr) == 1) {
		u.in.sin_family = AF_INET;
		l->r->targets = xcalloc(MAX_ADDRS, sizeof(*l->r->targets));
		add_target(l, name, 0, &u.sa, sizeof(u.in));
		finish(l, DNS_OK, NULL, NULL);
	} else if (!use_mx && inet_pton(AF_INET6, name, &u.in6.sin6_addr) == 1) {
		u.in6.sin6_family = AF_INET6;
		l->r->targets = xcalloc(MAX_ADDRS, sizeof(*l->r->targets));
		add_target(l, name, 0, &u.sa, sizeof(u.in6));
		finish(l, DNS_OK, NULL, NULL);
	} else if (d->nrunning < DNS_MAX_RUNNING) {
		lookup_start(l);
	} else {
		/* its turn comes when a running lookup finishes (finish) */
		if (d->waiting_tail != NULL)
			d->waiting_tail->wnext = l;
		else
			d->waiting_head = l;
		d->waiting_tail = l;
	}
}

/*
 * Sends a lookup's first queries. At most DNS_MAX_RUNNING lookups are out
 * at once, the rest wait in order: mail for a thousand new domains would
 * otherwise put thousands of UDP queries in flight in one burst, more than
 * a resolver's socket buffer holds; the ones it drops come back as
 * timeouts, and their messages are deferred for minutes.
 */
static void
lookup_start(struct lookup *l)
{
	struct dns *d = l->d;

	l->is_running = 1;
	d->nrunning++;
	if (!l->use_mx) {
		l->pending = 1;
		query_addrs(l, 0, l->name);
	} else {
		ares_query(d->ch, l->name, ns_c_in, ns_t_mx, on_mx, l);
	}
	dns_rearm_timer(d);
}

void
dns_lookup_lmtp(struct dns *d, const struct config_lmtp_hop *hop,
    void (*done)(void *ctx, struct dns_result *r), void *ctx)
{
	struct lookup *l;
	struct dns_target *t;

	if (hop->sa_len == 0) {
		/* LMTP goes to a host, not to a domain: its addresses, never an MX */
		dns_lookup_mail(d, hop->host, 0, hop->port, done, ctx);
		return;
	}
	/* a socket or an address: nothing to ask, the same answer as any lookup's */
	l = lookup_new(d, done, ctx);
	snprintf(l->name, sizeof(l->name), "%s", hop->host);
	l->r->targets = xcalloc(1, sizeof(*l->r->targets));
	t = &l->r->targets[l->r->ntargets++];
	snprintf(t->host, sizeof(t->host), "%s", hop->host);
	ASSERT(hop->sa_len <= sizeof(t->sa));
	memcpy(&t->sa, &hop->sa, hop->sa_len);
	t->sa_len = hop->sa_len;
	finish(l, DNS_OK, NULL, NULL);
}
