/*
 * stub_queue.c - what the control protocol (src/control/proto.c) needs of
 * the queue interface (src/sched/queue.h), for the unit test and the fuzz
 * target, which link no scheduler: the same names as src/sched/queue.c,
 * and views read from the envelope alone (no recipient is ever active).
 */
#include <string.h>

#include "sched/queue.h"

static const char *const state_names[] = { "queued", "active", "deferred", "held" };
static const char *const rcpt_names[] = { "pending", "active", "deferred", "delivered", "failed" };
static const char *const op_names[] = { "flush", "hold", "release", "delete", "bounce" };

const char *
sched_state_name(enum sched_state st)
{
	return state_names[st];
}

int
sched_state_parse(const char *name, enum sched_state *out)
{
	for (size_t i = 0; i < 4; i++)
		if (strcmp(name, state_names[i]) == 0) {
			*out = (enum sched_state)i;
			return 0;
		}
	return -1;
}

const char *
sched_rcpt_state_name(enum sched_rcpt_state st)
{
	return rcpt_names[st];
}

const char *
sched_op_name(enum sched_op op)
{
	return op_names[op];
}

int
sched_op_parse(const char *name, enum sched_op *out)
{
	for (size_t i = 0; i < 5; i++)
		if (strcmp(name, op_names[i]) == 0) {
			*out = (enum sched_op)i;
			return 0;
		}
	return -1;
}

enum sched_rcpt_state
sched_view_rcpt(const struct sched_view *v, size_t i)
{
	const struct spool_rcpt *r = &v->m->rcpts[i];

	if (r->is_done)
		return r->status[0] == '2' ? SCHED_RCPT_DELIVERED : SCHED_RCPT_FAILED;
	return r->attempts > 0 ? SCHED_RCPT_DEFERRED : SCHED_RCPT_PENDING;
}

const char *
sched_view_agent(const struct sched_view *v, size_t i)
{
	return v->m->rcpts[i].mailbox != NULL ? "maildir" : "smtp";
}
