/*
 * accept_pause.h - accepting paused for want of descriptors or memory
 * (accept_pause.c), for any listening socket: the SMTP listeners, the HTTP
 * ones, the control socket. Its owner stops accepting while is_paused, and
 * resume() is called when a pause is over.
 */
#ifndef STERNA_SERVER_ACCEPT_PAUSE_H
#define STERNA_SERVER_ACCEPT_PAUSE_H

#include <event2/event.h>

struct accept_pause {
	struct event *timer;
	unsigned pause_ms;		/* the last pause; 0 once an accept works again */
	unsigned long failures;		/* accepts refused for want of descriptors, all told */
	int is_paused;
	void (*resume)(void *ctx);	/* the pause is over: accept again, if the owner may */
	void *ctx;
};

void accept_pause_init(struct accept_pause *ap, struct event_base *base, void (*resume)(void *ctx),
    void *ctx);
void accept_pause_clear(struct accept_pause *ap);
/*
 * Accepting on kind's socket name ("listener", "mx") failed with err.
 * A shortage of descriptors or memory, which accepting again at once would
 * only repeat, starts a pause (10 ms, doubling to 1 s while it lasts) with
 * one accept_paused line, and returns 1: the caller stops accepting. Any
 * other error is logged and returns 0.
 */
int accept_pause_on_error(struct accept_pause *ap, const char *kind, const char *name, int err,
    unsigned nconns);
/* An accept worked: the next shortage starts with a short pause again. */
static inline void
accept_pause_reset(struct accept_pause *ap)
{
	ap->pause_ms = 0;
}

#endif
