/*
 * fdlimit.c - how many SMTP sessions fit in the descriptor limit (fdlimit.h).
 */
#include "main/fdlimit.h"
#include "main/recvloops.h"

#include <stdio.h>
#include <sys/resource.h>

#define FD_BASE 64	/* stdio, the log, the event loop, eventfds, signals, spool dirs, DNS */

unsigned
fdlimit_reserve(const struct config *c)
{
	/* the HTTP API's connections have a bound of their own (http.max_connections) */
	unsigned http = c->nhttp_listeners > 0 ?
	    (unsigned)c->nhttp_listeners + c->http_max_connections : 0;

	/*
	 * each disk worker holds at most a queue file and a mailbox file at
	 * once; each receiving loop beyond the first its epoll, mailbox,
	 * signer's mailbox and resolver's sockets
	 */
	return FD_BASE + (unsigned)c->nlisteners + 2 * c->io_threads + c->max_connections + http +
	    8 * (recv_loops_wanted(c) - 1);
}

uint64_t
fdlimit_hard(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return 1024;
	return rl.rlim_max == RLIM_INFINITY ? UINT64_MAX : (uint64_t)rl.rlim_max;
}

uint64_t
fdlimit_raise(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return 1024;
	if (rl.rlim_cur != rl.rlim_max) {
		rlim_t want = rl.rlim_max;

		rl.rlim_cur = want;
		/* Linux refuses RLIM_INFINITY for descriptors: keep what we had then */
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1 && getrlimit(RLIMIT_NOFILE, &rl) == -1)
			return 1024;
	}
	return rl.rlim_cur == RLIM_INFINITY ? UINT64_MAX : (uint64_t)rl.rlim_cur;
}

unsigned
fdlimit_sessions(const struct config *c, uint64_t limit, char *why, size_t size)
{
	uint64_t reserve = fdlimit_reserve(c), fit;

	why[0] = '\0';
	if (limit >= reserve + c->max_sessions)
		return c->max_sessions;
	/* too small a limit even for the reserve: a few sessions still, and the log says why */
	fit = limit > reserve ? limit - reserve : limit / 4;
	if (fit == 0)
		fit = 1;
	snprintf(why, size, "server.max_sessions = %u needs %llu file descriptors with the %llu "
	    "kept for the spool, mailboxes, DNS and delivery, but only %llu may be open "
	    "(RLIMIT_NOFILE): at most %llu sessions at once; raise the limit (LimitNOFILE= in "
	    "systemd, ulimit -n) or lower server.max_sessions",
	    c->max_sessions, (unsigned long long)(reserve + c->max_sessions),
	    (unsigned long long)reserve, (unsigned long long)limit, (unsigned long long)fit);
	return (unsigned)fit;
}
