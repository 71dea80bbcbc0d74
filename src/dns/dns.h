/*
 * dns.h - asynchronous DNS for mail routing, with c-ares on the libevent
 * loop: c-ares's sockets are watched by libevent events and its timeouts
 * by one libevent timer, so a lookup never blocks the loop and no thread
 * is involved (the c-ares of Debian 12, 1.18, has no event thread of its
 * own). Results always arrive on a later turn of the loop, never inside the
 * call that asked.
 */
#ifndef STERNA_DNS_DNS_H
#define STERNA_DNS_DNS_H

#include <stddef.h>
#include <sys/socket.h>

#include <event2/event.h>

#include "dns/answer.h"

struct dns;
struct config_lmtp_hop;

enum dns_status {
	DNS_OK,			/* targets holds at least one address */
	DNS_NXDOMAIN,		/* the domain does not exist: bounce 5.1.2 */
	DNS_NULL_MX,		/* RFC 7505: the domain takes no mail: bounce 556 5.1.10 */
	DNS_NO_HOST,		/* no MX and no address: bounce 5.4.4 */
	DNS_TEMPFAIL,		/* SERVFAIL, timeout, refused: try again later */
};

/* One address to try, in the order to try it. */
struct dns_target {
	char host[256];			/* the MX host, the domain for an implicit MX; "" for a socket */
	unsigned pref;			/* its MX preference (0 for an implicit MX) */
	struct sockaddr_storage sa;	/* port set to the one asked for */
	socklen_t sa_len;
};

struct dns_result {
	enum dns_status status;
	char why[160];			/* what went wrong, for logs and bounces */
	struct dns_target *targets;
	size_t ntargets;
};

/*
 * Returns a new resolver on base, asking resolver ("" for the servers of
 * /etc/resolv.conf; else "ip", "ip:port" or "[ip6]:port"), each try
 * waiting timeout_ms. NULL with the reason in err on failure.
 */
struct dns *dns_new(struct event_base *base, const char *resolver, unsigned timeout_ms,
    char *err, size_t errsize);
/*
 * Frees *d. Lookups and queries in flight are dropped: their callbacks
 * never run, and the handles of queries become invalid, so the owners of
 * queries cancel them first.
 */
void dns_free(struct dns **d);

/*
 * Finds where mail for name goes, as a list of addresses with port. With
 * use_mx, name's MX hosts in preference order (random among equals), each
 * host's IPv6 and IPv4 addresses, falling back to name's own addresses
 * when it has no MX (RFC 5321 5.1, implicit MX); without it (a bracketed
 * next hop), name's own addresses, or name itself when it is an IP
 * address. done(ctx, r) runs later on the loop and takes ownership of r
 * (free it with dns_result_free).
 */
void dns_lookup_mail(struct dns *d, const char *name, int use_mx, unsigned port,
    void (*done)(void *ctx, struct dns_result *r), void *ctx);
/*
 * Where an LMTP next hop (config_lmtp_hop_parse) goes, with the contract
 * of dns_lookup_mail: a UNIX socket or an address is the one target,
 * asking nobody (its host "" for a socket); a host name's A/AAAA
 * addresses at the hop's port, never an MX lookup (RFC 2033: LMTP goes to
 * a host). hop is borrowed for the call only.
 */
void dns_lookup_lmtp(struct dns *d, const struct config_lmtp_hop *hop,
    void (*done)(void *ctx, struct dns_result *r), void *ctx);
/* Frees *r; r may point to NULL. */
void dns_result_free(struct dns_result **r);

/*
 * ---- queries for the client checks (query.c) ----
 * Each returns a new handle at once; done(ctx, r) runs exactly once, on a
 * later turn of the loop (never inside the call), unless the query is
 * cancelled first. r is borrowed for the callback only. The handle is the
 * query's until done has returned, then it is gone: the asker forgets it
 * in done (or before, with dns_query_cancel). A query's time is bounded by
 * dns.timeout per try, two tries; askers that need less use a timer of
 * their own and cancel.
 */
struct dns_query;

/*
 * The A records of name ("2.0.0.127.zen.example"): FOUND with the
 * addresses (IPv4 text) and the smallest TTL; NONE with the negative TTL.
 * name is copied.
 */
struct dns_query *dns_query_a(struct dns *d, const char *name,
    void (*done)(void *ctx, const struct dns_reply *r), void *ctx);
/*
 * The PTR names of ip (text; an IPv4-mapped IPv6 address is asked as
 * IPv4): FOUND with up to DNS_NAMES_MAX names. An ip that is no address is
 * NONE.
 */
struct dns_query *dns_query_ptr(struct dns *d, const char *ip,
    void (*done)(void *ctx, const struct dns_reply *r), void *ctx);
/*
 * The addresses of name: family AF_INET asks A, AF_INET6 AAAA, AF_UNSPEC
 * both at once (FOUND when either has addresses; else TEMPFAIL when either
 * failed; else NONE). CNAME chains are followed by the resolver.
 */
struct dns_query *dns_query_addrs(struct dns *d, const char *name, int family,
    void (*done)(void *ctx, const struct dns_reply *r), void *ctx);
/*
 * Cancels *q, whose callback then never runs, and sets *q to NULL; *q may
 * be NULL. Calling it from q's own callback does nothing but clear *q.
 * What c-ares still has in flight is freed when it comes back.
 */
void dns_query_cancel(struct dns_query **q);

#endif
