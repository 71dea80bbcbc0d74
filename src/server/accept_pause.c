/*
 * accept_pause.c - accepting paused for want of descriptors or memory,
 * for every listening socket the daemon has: the SMTP listeners, the HTTP
 * listeners and the control socket.
 * Out of descriptors (EMFILE, ENFILE) or kernel memory, a connection waits
 * in the kernel's backlog, and accepting again at once would fail again at
 * once: a busy loop writing a log line each time. Accepting stops for a
 * pause instead, doubling while the shortage lasts (10 ms to 1 s), with one
 * log line per pause; the sessions in hand go on (their spool and mailbox
 * files come from the descriptors kept in reserve, main/fdlimit.c). The
 * next shortage after an accept that worked starts short again.
 */
#include "server/accept_pause.h"

#include <errno.h>
#include <string.h>

#include "util/log.h"
#include "util/log_event.h"
#include "util/xalloc.h"

#define ACCEPT_PAUSE_MIN_MS 10
#define ACCEPT_PAUSE_MAX_MS 1000

static int
is_shortage(int err)
{
	return err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM;
}

static void
on_pause_over(evutil_socket_t fd, short what, void *arg)
{
	struct accept_pause *ap = arg;

	(void)fd, (void)what;
	ap->is_paused = 0;
	ap->resume(ap->ctx);
}

void
accept_pause_init(struct accept_pause *ap, struct event_base *base, void (*resume)(void *ctx),
    void *ctx)
{
	*ap = (struct accept_pause){ .resume = resume, .ctx = ctx };
	ap->timer = evtimer_new(base, on_pause_over, ap);
	ASSERT(ap->timer != NULL);
}

void
accept_pause_clear(struct accept_pause *ap)
{
	if (ap->timer != NULL)
		event_free(ap->timer);
	ap->timer = NULL;
}

int
accept_pause_on_error(struct accept_pause *ap, const char *kind, const char *name, int err,
    unsigned nconns)
{
	struct timeval tv;

	if (!is_shortage(err)) {
		log_err("%s %s: accept: %s", kind, name, strerror(err));
		return 0;
	}
	ap->failures++;
	ap->pause_ms = ap->pause_ms == 0 ? ACCEPT_PAUSE_MIN_MS :
	    ap->pause_ms * 2 > ACCEPT_PAUSE_MAX_MS ? ACCEPT_PAUSE_MAX_MS : ap->pause_ms * 2;
	ap->is_paused = 1;
	tv = (struct timeval){ ap->pause_ms / 1000, (ap->pause_ms % 1000) * 1000 };
	evtimer_add(ap->timer, &tv);
	log_ev_accept_paused(name, strerror(err), ap->pause_ms, ap->failures, nconns);
	return 1;
}
