/*
 * mx.h - what to make of an MX answer, pure (no DNS, no sockets): the order
 * in which to try the hosts (RFC 5321 5.1) and the null MX of RFC 7505.
 */
#ifndef STERNA_DNS_MX_H
#define STERNA_DNS_MX_H

#include <stddef.h>
#include <stdint.h>

struct dns_mx {
	char host[256];		/* "" for the root, which is what a null MX names */
	unsigned pref;
	uint32_t tiebreak;	/* set by mx_sort */
};

/*
 * Sorts v by preference, lowest first, in a random order among equal
 * preferences (RFC 5321 5.1: spread the load), taking the random numbers
 * from rnd(rctx). Drops hosts named "." from a set that has others (a null
 * MX must stand alone to mean anything). Returns the count kept.
 */
size_t mx_sort(struct dns_mx *v, size_t n, uint32_t (*rnd)(void *rctx), void *rctx);

struct ares_mx_reply;

/*
 * The MX records of a reply as c-ares parsed it (hostile input: names of
 * any length and bytes), into out[0..max): each host without its final
 * dot, "" for the root; names too long for dns_mx are left out. Returns the
 * count written.
 */
size_t mx_from_replies(const struct ares_mx_reply *list, struct dns_mx *out, size_t max);

/* 1 if v (n records, as received) is a null MX: one record naming the root (RFC 7505 3). */
int mx_is_null(const struct dns_mx *v, size_t n);

#endif
