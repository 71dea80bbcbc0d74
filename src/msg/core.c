/*
 * core.c - the submission core (msg.h): new envelopes, recipients resolved
 * for the local entrances, and the hand-over of committed messages to the
 * scheduler.
 * The hand-over is a queue, emptied from an event on the next turn of the
 * loop: an entrance's callback never runs scheduler code inside its own
 * call stack, and whoever consumes committed messages (the scheduler today,
 * a queue index later) is set once in serve.c.
 */
#include "msg/msg_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/policy.h"
#include "smtp/smtp.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/xalloc.h"

static void on_handover(evutil_socket_t fd, short what, void *arg);

struct msg_core *
msg_core_new(const struct msg_core_deps *deps)
{
	struct msg_core *c = xcalloc(1, sizeof(*c));

	c->d = *deps;
	c->cur = config_ref(deps->cfg);
	c->handover_ev = event_new(deps->base, -1, 0, on_handover, c);
	ASSERT(c->handover_ev != NULL);
	return c;
}

void
msg_core_free(struct msg_core **cp)
{
	struct msg_core *c = *cp;

	if (c == NULL)
		return;
	/* committed: each is in the spool, and the next start recovers it */
	while (c->head != NULL) {
		struct handover *h = c->head;

		c->head = h->next;
		spool_msg_free(&h->m);
		free(h);
	}
	event_free(c->handover_ev);
	free(c->makers);
	config_free(&c->cur);
	free(c);
	*cp = NULL;
}

void
msg_core_set_config(struct msg_core *c, const struct config *cfg)
{
	config_free(&c->cur);
	c->cur = config_ref(cfg);
}

void
msg_core_set_consumer(struct msg_core *c, void (*take)(void *ctx, struct spool_msg *m),
    void (*end)(void *ctx), void *ctx)
{
	c->take = take;
	c->take_end = end;
	c->take_ctx = ctx;
	if (c->head != NULL)
		event_active(c->handover_ev, EV_TIMEOUT, 0);
}

void
msg_core_add_filter(struct msg_core *c, const struct msg_filter_maker *m)
{
	c->makers = xrealloc(c->makers, (c->nmakers + 1) * sizeof(*c->makers));
	c->makers[c->nmakers++] = *m;
}

unsigned
msg_core_open_subs(const struct msg_core *c)
{
	return c->nsubs;
}

static void
on_handover(evutil_socket_t fd, short what, void *arg)
{
	struct msg_core *c = arg;

	(void)fd, (void)what;
	while (c->head != NULL && c->take != NULL) {
		struct handover *h = c->head;

		c->head = h->next;
		if (c->head == NULL)
			c->tail = NULL;
		c->take(c->take_ctx, h->m);
		free(h);
	}
	if (c->take != NULL && c->take_end != NULL)
		c->take_end(c->take_ctx);
}

void
core_hand_over(struct msg_core *c, struct spool_msg *m)
{
	struct handover *h = xcalloc(1, sizeof(*h));

	h->m = m;
	if (c->tail != NULL)
		c->tail->next = h;
	else
		c->head = h;
	c->tail = h;
	if (c->take != NULL)
		event_active(c->handover_ev, EV_TIMEOUT, 0);
}

struct spool_msg *
msg_env_new(struct msg_core *c, enum spool_origin origin)
{
	struct spool_msg *m = spool_msg_new();

	m->origin = origin;
	m->arrival_us = clock_wall_us();
	qid_next(c->d.qids, m->arrival_us, m->qid);
	m->sender = xstrdup("");
	/* SMTP names its protocol once the session knows it (EHLO, TLS, AUTH) */
	if (origin != SPOOL_FROM_SMTP)
		m->proto = xstrdup("local");
	return m;
}

int
msg_env_add_rcpt(struct msg_core *c, struct spool_msg *env, const char *addr, char *err,
    size_t errsize)
{
	/* a local entrance speaks for a local user: trusted, like a client of relay.trusted_networks */
	const struct relay_client local = { .ip = "127.0.0.1", .local_ip = "", .is_trusted = 1 };
	struct smtp_addr a;

	if (smtp_addr_parse(slice_str(addr), 1, &a) != SMTP_ADDR_OK || a.is_null) {
		snprintf(err, errsize, "<%s>: bad recipient address syntax", addr);
		return -1;
	}
	if (a.has_route) {
		snprintf(err, errsize, "<%s>: source routes are not accepted", addr);
		return -1;
	}
	switch (policy_rcpt(local_db_of(c->cur), &local, &a, env)) {
	case POLICY_RCPT_ACCEPT:
		return 0;
	case POLICY_RCPT_UNKNOWN:
		snprintf(err, errsize, "<%s>: no such local user", addr);
		return -1;
	case POLICY_RCPT_TRICK:
		snprintf(err, errsize, "<%s>: no '%%', '!' or '@' in the local part", addr);
		return -1;
	case POLICY_RCPT_RELAY_DENIED:
		snprintf(err, errsize, "<%s>: address literals of other hosts are not relayed to",
		    addr);
		return -1;
	case POLICY_RCPT_TEMPFAIL:
	default:
		snprintf(err, errsize, "<%s>: temporary lookup failure", addr);
		return -1;
	}
}
