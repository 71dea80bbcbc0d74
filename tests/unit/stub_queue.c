/*
 * stub_queue.c - the two view functions of the queue interface
 * (src/sched/queue.h) that the control protocol's encoding calls, for the
 * unit test and the fuzz target, which link no scheduler: views read from
 * the envelope alone (no recipient is ever active; a mailbox is Maildir).
 * The states' and operations' names are the real ones (queue_names.c).
 */
#include "sched/queue.h"

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
