/*
 * fdlimit.h - file descriptors: how many sterna may open, and how many SMTP
 * sessions fit beside what receiving and delivering need, so that sessions
 * already open can always commit (a full descriptor table must refuse new
 * clients, never fail a message in hand with 451).
 */
#ifndef STERNA_MAIN_FDLIMIT_H
#define STERNA_MAIN_FDLIMIT_H

#include <stddef.h>
#include <stdint.h>

#include "config/config.h"

/*
 * Descriptors kept for everything but sessions: the listeners, the spool's
 * directories and the files its workers hold, mailbox files, DNS sockets,
 * outbound connections (queue.max_connections), the folder entrances,
 * the HTTP API's listeners and connections (http.max_connections), the
 * log and libevent's own.
 */
unsigned fdlimit_reserve(const struct config *c);
/*
 * Raises the soft RLIMIT_NOFILE to the hard limit (a start as root can,
 * any process may go up to its hard limit). Returns the soft limit now.
 */
uint64_t fdlimit_raise(void);
/* The hard RLIMIT_NOFILE: what fdlimit_raise() would reach. */
uint64_t fdlimit_hard(void);
/*
 * How many sessions fit in limit descriptors: server.max_sessions, or
 * fewer when it and the reserve do not fit (then why says so, in one line
 * for the start log and sterna check; else why is ""). Never less than 1.
 */
unsigned fdlimit_sessions(const struct config *c, uint64_t limit, char *why, size_t size);

#endif
