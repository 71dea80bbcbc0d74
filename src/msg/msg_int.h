/*
 * msg_int.h - what the files of src/msg/ share; no other directory includes it.
 */
#ifndef STERNA_MSG_MSG_INT_H
#define STERNA_MSG_MSG_INT_H

#include "msg/filter.h"
#include "msg/header.h"
#include "msg/header_list.h"
#include "msg/msg.h"
#include "util/verdict.h"

/* A committed envelope waiting for the consumer. */
struct handover {
	struct spool_msg *m;
	struct handover *next;
};

struct msg_core {
	struct msg_core_deps d;
	struct config *cur;		/* msg_core_set_config()'s (a reference) */
	void (*take)(void *ctx, struct spool_msg *m);
	void (*take_end)(void *ctx);
	void *take_ctx;
	struct handover *head, *tail;	/* committed, not yet taken */
	struct event *handover_ev;
	unsigned nsubs;			/* submissions not yet ended */
	struct msg_filter_maker *makers;	/* the core's filters (msg_core_add_filter) */
	size_t nmakers;
};

/* content.c: the content step of one submission (filter.h). */
struct content {
	struct msg_core *core;
	struct spool_msg *env;		/* the submission's, borrowed */
	const char *entrance;
	struct spool_txn *txn;		/* owned from content_open on; NULL once decided */
	struct msg_filter **chain;
	size_t nchain;
	struct hdrscan scan;		/* where the header section's lines start fields, and end */
	struct buf line;		/* a header line not yet whole */
	struct buf field;		/* the header field in hand */
	struct header_list list;
	struct buf backlog;		/* body bytes some filter has not taken yet */
	uint64_t backlog_base;		/* the body offset of backlog's first byte */
	uint64_t bytes;			/* content bytes written (the header stage's fields first) */
	uint64_t header_len;		/* content bytes of the header fields, once known */
	uint64_t body_at;		/* the content offset where the body starts, once known */
	uint64_t new_body_bytes;
	struct event *pump_ev;
	struct msg_filter *in_end;	/* the filter whose end() awaits its answer */
	struct msg_filter *body_writer;	/* the filter writing a new body */
	size_t end_index;		/* the next filter to get end() */
	struct verdict verdict;		/* once decided */
	int is_filter_verdict;		/* ... by a filter's answer, in its words (not the step's own) */
	void (*on_drain)(void *ctx);	/* the entrance's */
	void *drain_ctx;
	void (*done)(void *ctx, const struct verdict *v);
	void *done_ctx;
	int is_open, is_filtered, is_header_done, is_decided, is_held, is_env_changed;
	int is_body_new, is_spool_paused, is_feeder_paused, is_pumping;
	int is_ending, is_in_end, is_end_phase, is_finished;
};

/* Sets up ct for env (borrowed, the submission's) from entrance (a string that outlives ct). */
void content_init(struct content *ct, struct msg_core *c, struct spool_msg *env,
    const char *entrance);
/* An entrance's filter, before content_open. */
void content_add_filter(struct content *ct, const struct msg_filter_ops *ops, void *self);
/* The spool transaction is open (taken): the chain is made, the core's filters last. */
void content_open(struct content *ct, struct spool_txn *txn);
/* Content bytes (the header stage's fields first): 1 to pause the feeder. */
int content_write(struct content *ct, const void *p, size_t n);
/* The spool can take more (its drain). */
void content_spool_drained(struct content *ct);
/*
 * The message ended: the filters' ends, in order; then done(ctx, v) with
 * v NULL when the message is to be committed (ct->txn, with the changes
 * told to it), or the verdict that decided it (the txn is gone). done may
 * run inside this call.
 */
void content_end(struct content *ct, void (*done)(void *ctx, const struct verdict *v), void *ctx);
/* Frees what ct holds; filters that have not answered get abort(); an open txn is dropped. */
void content_clear(struct content *ct);

/* core.c: queues committed m (taken) for the consumer, on the next turn of the loop. */
void core_hand_over(struct msg_core *c, struct spool_msg *m);

#endif
