/*
 * dns_int.h - what dns.c (the resolver on the loop, mail lookups) and
 * query.c (the queries of the client checks) share; nothing outside
 * src/dns includes it.
 */
#ifndef STERNA_DNS_DNS_INT_H
#define STERNA_DNS_DNS_INT_H

#include <ares.h>

#include "dns/dns.h"

#define DNS_MAX_SOCKS 16	/* c-ares keeps one socket per server and protocol */

struct dns_sock {
	ares_socket_t fd;
	struct event *ev;
	short what;
};

struct lookup;

/* Mail host lookups out at once; the rest wait their turn (dns.c, lookup_start). */
#define DNS_MAX_RUNNING 64

struct dns {
	struct event_base *base;
	ares_channel ch;
	struct dns_sock socks[DNS_MAX_SOCKS];
	struct event *timer;
	struct lookup *lookups;
	unsigned nrunning;		/* lookups with queries out (dns.c) */
	struct lookup *waiting_head, *waiting_tail;	/* the others, in order */
	struct dns_query *queries;	/* query.c's, until their callback has run */
	int is_destroying;		/* c-ares's callbacks during ares_destroy touch nothing */
};

/* Sets the timer to c-ares's next timeout: after each new query and each event. */
void dns_rearm_timer(struct dns *d);
/* Frees every query of d, running no callback: dns_free, after ares_destroy. */
void dns_queries_drop(struct dns *d);

#endif
