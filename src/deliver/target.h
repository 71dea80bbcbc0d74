/*
 * target.h - a delivery target's address as the SMTP and LMTP client uses
 * it: named for the logs, and the source address a socket to it binds.
 */
#ifndef STERNA_DELIVER_TARGET_H
#define STERNA_DELIVER_TARGET_H

#include <stddef.h>

#include "dns/dns.h"

/* "host[ip]:port", or "unix:/path" for a UNIX socket, into out (size bytes). */
void target_name(const struct dns_target *t, char *out, size_t size);
/*
 * Binds fd (of family) to src when src is an address of that family; an
 * empty or NULL src, or one of the other family, binds nothing. 0, or -1
 * with errno.
 */
int target_bind_source(int fd, int family, const char *src);

#endif
