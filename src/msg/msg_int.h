/*
 * msg_int.h - what the files of src/msg/ share; no other directory includes it.
 */
#ifndef STERNA_MSG_MSG_INT_H
#define STERNA_MSG_MSG_INT_H

#include "msg/msg.h"

/* A committed envelope waiting for the consumer. */
struct handover {
	struct spool_msg *m;
	struct handover *next;
};

struct msg_core {
	struct msg_core_deps d;
	void (*take)(void *ctx, struct spool_msg *m);
	void *take_ctx;
	struct handover *head, *tail;	/* committed, not yet taken */
	struct event *handover_ev;
	unsigned nsubs;			/* submissions not yet ended */
};

/* core.c: queues committed m (taken) for the consumer, on the next turn of the loop. */
void core_hand_over(struct msg_core *c, struct spool_msg *m);

#endif
