/*
 * dnsbl_int.h - what dnsbl.c (the lists) and rdns.c (reverse DNS) share:
 * the struct dnsbl both kinds of check start from, and its count of checks
 * still running. Nothing outside src/policy includes it.
 */
#ifndef STERNA_POLICY_DNSBL_INT_H
#define STERNA_POLICY_DNSBL_INT_H

#include "policy/dnsbl.h"
#include "policy/dnsbl_cache.h"

struct dnsbl {
	const struct config *c;
	struct dns *dns;
	struct event_base *base;
	struct dnsbl_cache *cache;
	const char *zones[CONFIG_DNSBL_MAX];	/* each distinct zone once, the config's */
	size_t nzones;
	unsigned zone_of[CONFIG_DNSBL_MAX];	/* list -> its index in zones */
	unsigned nchecks;			/* checks of either kind still running */
	int is_released;			/* dnsbl_free was called: go with the last check */
};

/* A check starts: b stays until it ends. */
void dnsbl_hold(struct dnsbl *b);
/* A check ends: the last one frees b if dnsbl_free was called. */
void dnsbl_drop(struct dnsbl *b);

#endif
