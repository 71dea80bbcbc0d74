/*
 * dnsbl_cache.c - a hash table of DNSBL answers with expiry. Open
 * addressing with a bounded probe: a lookup touches at most PROBE slots
 * whatever the table holds, and the hash is seeded at random, so that a
 * client choosing its addresses (an IPv6 /64 holds plenty) cannot make one
 * neighbourhood hold them all on purpose.
 */
#include "policy/dnsbl_cache.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

#define PROBE 8

struct entry {
	uint64_t expires_ms;		/* 0: a free slot */
	uint8_t ip[16];
	uint16_t zone;
	uint8_t is_found;
	uint8_t naddrs;
	uint32_t addrs[DNSBL_CACHE_ADDRS];	/* IPv4, network order */
};

struct dnsbl_cache {
	struct entry *slots;
	size_t nslots;
	uint64_t seed;
};

struct dnsbl_cache *
dnsbl_cache_new(size_t max_entries)
{
	struct dnsbl_cache *c = xcalloc(1, sizeof(*c));

	c->nslots = max_entries;
	c->slots = max_entries ? xcalloc(max_entries, sizeof(*c->slots)) : NULL;
	c->seed = (uint64_t)arc4random() << 32 | arc4random();
	return c;
}

void
dnsbl_cache_free(struct dnsbl_cache **cp)
{
	if (*cp == NULL)
		return;
	free((*cp)->slots);
	free(*cp);
	*cp = NULL;
}

/* FNV-1a over the seed, the zone and the address: the slot a probe starts at. */
static size_t
home(const struct dnsbl_cache *c, unsigned zone, const uint8_t ip[16])
{
	uint64_t h = 0xcbf29ce484222325ull;
	uint8_t key[8 + 2 + 16];

	memcpy(key, &c->seed, 8);
	key[8] = (uint8_t)(zone >> 8);
	key[9] = (uint8_t)zone;
	memcpy(key + 10, ip, 16);
	for (size_t i = 0; i < sizeof(key); i++) {
		h ^= key[i];
		h *= 0x100000001b3ull;
	}
	return (size_t)(h % c->nslots);
}

static int
is_live(const struct entry *e, uint64_t now_ms)
{
	return e->expires_ms > now_ms;
}

static size_t
nprobe(const struct dnsbl_cache *c)
{
	return c->nslots < PROBE ? c->nslots : PROBE;
}

void
dnsbl_cache_put(struct dnsbl_cache *c, unsigned zone, const uint8_t ip[16],
    const struct dns_reply *r, uint64_t now_ms)
{
	struct entry *e = NULL, *soonest = NULL;
	uint64_t ttl_s = r->ttl_s;
	size_t h;

	if (c->nslots == 0 || (r->status != DNS_Q_FOUND && r->status != DNS_Q_NONE))
		return;
	h = home(c, zone, ip);
	for (size_t i = 0; i < nprobe(c); i++) {
		struct entry *s = &c->slots[(h + i) % c->nslots];

		if (is_live(s, now_ms) && s->zone == zone && memcmp(s->ip, ip, 16) == 0) {
			e = s;
			break;
		}
		if (!is_live(s, now_ms) && e == NULL)
			e = s;
		if (soonest == NULL || s->expires_ms < soonest->expires_ms)
			soonest = s;
	}
	if (e == NULL)
		e = soonest;	/* a full neighbourhood: the answer closest to expiry goes */
	memset(e, 0, sizeof(*e));
	if (ttl_s < DNSBL_CACHE_MIN_S)
		ttl_s = DNSBL_CACHE_MIN_S;
	if (ttl_s > DNSBL_CACHE_MAX_S)
		ttl_s = DNSBL_CACHE_MAX_S;
	e->expires_ms = now_ms + ttl_s * 1000;
	memcpy(e->ip, ip, 16);
	e->zone = (uint16_t)zone;
	e->is_found = r->status == DNS_Q_FOUND;
	for (size_t i = 0; i < r->naddrs && e->naddrs < DNSBL_CACHE_ADDRS; i++)
		if (inet_pton(AF_INET, r->addrs[i], &e->addrs[e->naddrs]) == 1)
			e->naddrs++;
	/* an answer of addresses none of which we could keep is asked again */
	if (e->is_found && e->naddrs == 0)
		e->expires_ms = 0;
}

int
dnsbl_cache_get(const struct dnsbl_cache *c, unsigned zone, const uint8_t ip[16],
    uint64_t now_ms, struct dns_reply *r_out)
{
	size_t h;

	if (c->nslots == 0)
		return 0;
	h = home(c, zone, ip);
	for (size_t i = 0; i < nprobe(c); i++) {
		const struct entry *e = &c->slots[(h + i) % c->nslots];

		if (!is_live(e, now_ms) || e->zone != zone || memcmp(e->ip, ip, 16) != 0)
			continue;
		memset(r_out, 0, sizeof(*r_out));
		r_out->status = e->is_found ? DNS_Q_FOUND : DNS_Q_NONE;
		r_out->ttl_s = (unsigned)((e->expires_ms - now_ms + 999) / 1000);
		for (size_t k = 0; k < e->naddrs; k++)
			if (inet_ntop(AF_INET, &e->addrs[k], r_out->addrs[r_out->naddrs],
			    sizeof(r_out->addrs[0])) != NULL)
				r_out->naddrs++;
		return 1;
	}
	return 0;
}

size_t
dnsbl_cache_count(const struct dnsbl_cache *c, uint64_t now_ms)
{
	size_t n = 0;

	for (size_t i = 0; i < c->nslots; i++)
		n += is_live(&c->slots[i], now_ms);
	return n;
}
