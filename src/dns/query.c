/*
 * query.c - the DNS questions of the client checks (src/policy/dnsbl.c,
 * rdns.c): A records of a DNSBL name, the PTR names of an address, the
 * A/AAAA addresses of a name. Each is one or two c-ares queries on the
 * channel of dns.c; the reply is put into a struct dns_reply and handed
 * over on a later turn of the loop. c-ares cannot cancel one query of a
 * channel, so a cancelled query stays here, silent, until c-ares is done
 * with it. Replies are hostile: c-ares parses them, and we keep at most
 * DNS_ADDRS_MAX addresses and DNS_NAMES_MAX names.
 */
#include "dns/dns.h"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>

#include "dns/dns_int.h"
#include "util/ascii.h"
#include "util/xalloc.h"

struct sub {
	struct dns_query *q;
	int type;			/* ns_t_a, ns_t_aaaa or ns_t_ptr */
};

struct dns_query {
	struct dns *d;
	void (*done)(void *ctx, const struct dns_reply *r);
	void *ctx;
	struct sub subs[2];		/* A and AAAA at most */
	size_t pending;			/* subs c-ares has not called back for */
	int has_temp;			/* a sub failed for now */
	int has_neg_ttl;		/* a sub found nothing, with a SOA: r.ttl_s is its TTL */
	unsigned neg_ttl_s;
	uint8_t ip[16];			/* PTR: the address asked about, as dns_ip_parse gives it */
	int family;
	int is_cancelled;		/* nobody waits: free when c-ares is done */
	int is_firing;			/* done() is running */
	struct dns_reply r;
	struct event *fire;		/* hands r to done() on a later turn */
	struct dns_query *prev, *next;
};

static void
query_free(struct dns_query *q)
{
	if (q->prev)
		q->prev->next = q->next;
	else
		q->d->queries = q->next;
	if (q->next)
		q->next->prev = q->prev;
	if (q->fire)
		event_free(q->fire);
	free(q);
}

void
dns_queries_drop(struct dns *d)
{
	while (d->queries != NULL)
		query_free(d->queries);
}

static struct dns_query *
query_new(struct dns *d, void (*done)(void *ctx, const struct dns_reply *r), void *ctx)
{
	struct dns_query *q = xcalloc(1, sizeof(*q));

	q->d = d;
	q->done = done;
	q->ctx = ctx;
	q->r.status = DNS_Q_NONE;
	q->next = d->queries;
	if (d->queries)
		d->queries->prev = q;
	d->queries = q;
	return q;
}

static void
on_fire(evutil_socket_t fd, short what, void *arg)
{
	struct dns_query *q = arg;

	(void)fd, (void)what;
	q->is_firing = 1;
	q->done(q->ctx, &q->r);
	query_free(q);
}

/* Every sub is back (or none was asked): the verdict on r, then done() on the next turn. */
static void
finish(struct dns_query *q)
{
	static const struct timeval zero = { 0, 0 };

	if (q->r.naddrs > 0 || q->r.nnames > 0) {
		q->r.status = DNS_Q_FOUND;
	} else if (q->has_temp) {
		q->r.status = DNS_Q_TEMPFAIL;
		q->r.ttl_s = 0;
	} else {
		q->r.status = DNS_Q_NONE;
		q->r.ttl_s = q->has_neg_ttl ? q->neg_ttl_s : 0;
	}
	q->fire = evtimer_new(q->d->base, on_fire, q);
	ASSERT(q->fire != NULL);
	evtimer_add(q->fire, &zero);
}

static void
keep_ttl(struct dns_query *q, int ttl)
{
	unsigned t = ttl < 0 ? 0 : (unsigned)ttl;

	if (q->r.naddrs == 0 || t < q->r.ttl_s)
		q->r.ttl_s = t;
}

static void
add_addr(struct dns_query *q, int family, const void *addr, int ttl)
{
	if (q->r.naddrs >= DNS_ADDRS_MAX)
		return;
	if (inet_ntop(family, addr, q->r.addrs[q->r.naddrs], sizeof(q->r.addrs[0])) == NULL)
		return;
	keep_ttl(q, ttl);
	q->r.naddrs++;
}

/* A PTR name: lowercased, without a final dot, once; names too long are left out. */
static void
add_name(struct dns_query *q, const char *name)
{
	size_t len = strlen(name);
	char *slot;

	if (len > 0 && name[len - 1] == '.')
		len--;
	if (len == 0 || len > DNS_NAME_MAX || q->r.nnames >= DNS_NAMES_MAX)
		return;
	slot = q->r.names[q->r.nnames];
	memcpy(slot, name, len);
	slot[len] = '\0';
	ascii_lower(slot);
	for (size_t i = 0; i < q->r.nnames; i++)
		if (strcmp(q->r.names[i], slot) == 0)
			return;
	q->r.nnames++;
}

/* An answer with records of the type asked: 0, or -1 when there are none (or it is malformed). */
static int
take_records(struct dns_query *q, int type, unsigned char *abuf, int alen, int *rc_out)
{
	struct ares_addrttl a4[DNS_ADDRS_MAX];
	struct ares_addr6ttl a6[DNS_ADDRS_MAX];
	struct hostent *h = NULL;
	int n = DNS_ADDRS_MAX;

	switch (type) {
	case ns_t_a:
		if ((*rc_out = ares_parse_a_reply(abuf, alen, NULL, a4, &n)) != ARES_SUCCESS)
			return -1;
		for (int i = 0; i < n; i++)
			add_addr(q, AF_INET, &a4[i].ipaddr, a4[i].ttl);
		return n > 0 ? 0 : -1;
	case ns_t_aaaa:
		if ((*rc_out = ares_parse_aaaa_reply(abuf, alen, NULL, a6, &n)) != ARES_SUCCESS)
			return -1;
		for (int i = 0; i < n; i++)
			add_addr(q, AF_INET6, &a6[i].ip6addr, a6[i].ttl);
		return n > 0 ? 0 : -1;
	default:
		*rc_out = ares_parse_ptr_reply(abuf, alen, q->family == AF_INET ? q->ip + 12 : q->ip,
		    q->family == AF_INET ? 4 : 16, q->family, &h);
		if (*rc_out != ARES_SUCCESS)
			return -1;
		/* c-ares puts the first name in h_name and every name, the first too, in h_aliases */
		add_name(q, h->h_name);
		for (char **p = h->h_aliases; p != NULL && *p != NULL; p++)
			add_name(q, *p);
		ares_free_hostent(h);
		return q->r.nnames > 0 ? 0 : -1;
	}
}

static void
on_reply(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	struct sub *s = arg;
	struct dns_query *q = s->q;
	unsigned ttl;
	int rc;

	(void)timeouts;
	if (q->d->is_destroying)
		return;		/* dns_free frees q */
	q->pending--;
	if (q->is_cancelled) {
		if (q->pending == 0)
			query_free(q);
		return;
	}
	if (status == ARES_SUCCESS && take_records(q, s->type, abuf, alen, &rc) == -1)
		status = rc == ARES_SUCCESS ? ARES_ENODATA : rc;
	if (status == ARES_ENOTFOUND || status == ARES_ENODATA || status == ARES_EBADNAME) {
		/* nothing there, for as long as the zone's SOA says (RFC 2308 5) */
		if (abuf != NULL && alen > 0 && dns_negative_ttl(abuf, (size_t)alen, &ttl) == 0 &&
		    (!q->has_neg_ttl || ttl < q->neg_ttl_s)) {
			q->has_neg_ttl = 1;
			q->neg_ttl_s = ttl;
		}
	} else if (status != ARES_SUCCESS) {
		/* SERVFAIL, REFUSED (c-ares says ECONNREFUSED once every server has), a timeout */
		q->has_temp = 1;
	}
	if (q->pending == 0)
		finish(q);
}

/* Asks the subs set up in q (their names in names[]), all before any can answer. */
static void
ask(struct dns_query *q, const char *const *names, size_t nsubs)
{
	q->pending = nsubs;
	for (size_t i = 0; i < nsubs; i++) {
		q->subs[i].q = q;
		/* the reply may come inside ares_query (a bad name): pending counts them all first */
		ares_query(q->d->ch, names[i], ns_c_in, q->subs[i].type, on_reply, &q->subs[i]);
	}
	dns_rearm_timer(q->d);
}

struct dns_query *
dns_query_a(struct dns *d, const char *name, void (*done)(void *ctx, const struct dns_reply *r),
    void *ctx)
{
	struct dns_query *q = query_new(d, done, ctx);

	if (strlen(name) > DNS_NAME_MAX) {
		finish(q);	/* no such name can exist */
		return q;
	}
	q->subs[0].type = ns_t_a;
	ask(q, &name, 1);
	return q;
}

struct dns_query *
dns_query_ptr(struct dns *d, const char *ip, void (*done)(void *ctx, const struct dns_reply *r),
    void *ctx)
{
	struct dns_query *q = query_new(d, done, ctx);
	char name[DNS_NAME_MAX + 1];
	const char *names[1] = { name };

	if (dns_ip_parse(ip, q->ip, &q->family) == -1 ||
	    dns_reverse_name(ip, NULL, name, sizeof(name)) == -1) {
		finish(q);
		return q;
	}
	q->subs[0].type = ns_t_ptr;
	ask(q, names, 1);
	return q;
}

struct dns_query *
dns_query_addrs(struct dns *d, const char *name, int family,
    void (*done)(void *ctx, const struct dns_reply *r), void *ctx)
{
	struct dns_query *q = query_new(d, done, ctx);
	const char *names[2] = { name, name };
	size_t n = 0;

	if (strlen(name) > DNS_NAME_MAX) {
		finish(q);
		return q;
	}
	if (family != AF_INET6)
		q->subs[n++].type = ns_t_a;
	if (family != AF_INET)
		q->subs[n++].type = ns_t_aaaa;
	ask(q, names, n);
	return q;
}

void
dns_query_cancel(struct dns_query **qp)
{
	struct dns_query *q = *qp;

	*qp = NULL;
	if (q == NULL || q->is_firing)
		return;		/* from its own callback: on_fire frees it on return */
	if (q->pending > 0) {
		q->is_cancelled = 1;	/* on_reply frees it when the last sub is back */
		q->done = NULL;
		q->ctx = NULL;
		return;
	}
	query_free(q);
}
