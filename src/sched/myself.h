/*
 * myself.h - the addresses this server listens on, so that a next hop that
 * points back here is recognised (RFC 5321 5.1: an MTA that finds itself
 * among a domain's MX hosts uses only the ones preferred over itself, and
 * when there are none, the mail loops).
 */
#ifndef STERNA_SCHED_MYSELF_H
#define STERNA_SCHED_MYSELF_H

#include <sys/socket.h>

#include "config/config.h"

struct myself;

/*
 * The listeners of c: each address with its port; for a listener on the
 * wildcard address, every address of this host's interfaces with that port
 * (getifaddrs, once, now). Returns a new set.
 */
struct myself *myself_new(const struct config *c);
void myself_free(struct myself **m);
/* 1 if sa (address and port; an IPv4-mapped IPv6 address counts as IPv4) is one of ours. */
int myself_is(const struct myself *m, const struct sockaddr *sa);

#endif
