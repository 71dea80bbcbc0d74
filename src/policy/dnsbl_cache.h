/*
 * dnsbl_cache.h - the answers of DNS blocklists, kept for their TTL (within
 * bounds) per zone and client address, so that a client that connects
 * again and again costs one query per list and TTL. The table has a fixed
 * number of slots: a client cycling through addresses cannot grow it, and
 * a full neighbourhood gives up the entry closest to expiry. Only real
 * answers are kept (listed or not); failures and timeouts are asked again.
 * Pure: the caller passes the time, so tests need no clock. For dnsbl.c.
 */
#ifndef STERNA_POLICY_DNSBL_CACHE_H
#define STERNA_POLICY_DNSBL_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "dns/answer.h"

#define DNSBL_CACHE_MIN_S 30		/* a TTL of 0 must not mean a query per connection */
#define DNSBL_CACHE_MAX_S 3600		/* a delisting shows within the hour */
#define DNSBL_CACHE_ADDRS 8		/* returned addresses kept per answer */

struct dnsbl_cache;

/* Returns a new cache of max_entries answers; with 0 it keeps nothing. */
struct dnsbl_cache *dnsbl_cache_new(size_t max_entries);
/* Frees *c and sets it to NULL; c may point to NULL. */
void dnsbl_cache_free(struct dnsbl_cache **c);

/*
 * Keeps r (FOUND or NONE; anything else is ignored) for zone (the caller's
 * number for it) and ip (16 bytes, as dns_ip_parse gives), from now_ms for
 * r's TTL, at least DNSBL_CACHE_MIN_S and at most DNSBL_CACHE_MAX_S.
 * Replaces an earlier answer for the same pair.
 */
void dnsbl_cache_put(struct dnsbl_cache *c, unsigned zone, const uint8_t ip[16],
    const struct dns_reply *r, uint64_t now_ms);
/*
 * 1 and the answer in *r_out (its ttl_s what is left of it) if one for
 * zone and ip is kept and has not expired at now_ms; 0 otherwise.
 */
int dnsbl_cache_get(const struct dnsbl_cache *c, unsigned zone, const uint8_t ip[16],
    uint64_t now_ms, struct dns_reply *r_out);
/* The answers kept that have not expired at now_ms. */
size_t dnsbl_cache_count(const struct dnsbl_cache *c, uint64_t now_ms);

#endif
