/*
 * queue_names.c - the words of the queue interface (queue.h): states and
 * operations, as the control protocol, the CLI and the log write them.
 * Pure: the control protocol's tests and fuzz target link it without a
 * scheduler.
 */
#include "sched/queue.h"

#include <string.h>

static const char *const state_names[SCHED_NSTATES] = { "queued", "active", "deferred", "held",
	"scheduled" };
static const char *const rcpt_state_names[] = { "pending", "active", "deferred", "delivered",
	"failed" };
static const char *const op_names[] = { "flush", "hold", "release", "delete", "bounce" };

#define NELEMS(a) (sizeof(a) / sizeof((a)[0]))

const char *
sched_state_name(enum sched_state st)
{
	return (size_t)st < NELEMS(state_names) ? state_names[st] : "?";
}

int
sched_state_parse(const char *name, enum sched_state *out)
{
	for (size_t i = 0; i < NELEMS(state_names); i++) {
		if (strcmp(name, state_names[i]) == 0) {
			*out = (enum sched_state)i;
			return 0;
		}
	}
	return -1;
}

const char *
sched_rcpt_state_name(enum sched_rcpt_state st)
{
	return (size_t)st < NELEMS(rcpt_state_names) ? rcpt_state_names[st] : "?";
}

const char *
sched_op_name(enum sched_op op)
{
	return (size_t)op < NELEMS(op_names) ? op_names[op] : "?";
}

int
sched_op_parse(const char *name, enum sched_op *out)
{
	for (size_t i = 0; i < NELEMS(op_names); i++) {
		if (strcmp(name, op_names[i]) == 0) {
			*out = (enum sched_op)i;
			return 0;
		}
	}
	return -1;
}
