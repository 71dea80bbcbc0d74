/*
 * msgstate_int.h - what msgstate.c (the loop's side) and msgindex.c (the
 * index, pure, on any one thread at a time) share; the unit tests too.
 *
 * The index: messages by queue id, each with its recipients' last states
 * (by address: the event log's lines name a recipient by its address),
 * in the order of their last event's cursor, so that the least recently
 * changed go first when memory runs short, and those whose every event the
 * event log has rotated away go when it rotates.
 */
#ifndef STERNA_EVENTS_MSGSTATE_INT_H
#define STERNA_EVENTS_MSGSTATE_INT_H

#include <stddef.h>
#include <stdint.h>

#include "events/msgstate.h"
#include "util/htab.h"
#include "util/qid.h"

/* One event as the index takes it: from the stream, or read back from a line of the log. */
struct ms_event {
	const char *qid;
	const char *email;
	uint64_t cursor;
	struct msgstate_rcpt r;		/* r.email unused: email above */
};

struct ms_rcpt {
	char *email;
	char *text;			/* the reply's text or our reason; NULL for none */
	char status[16];
	uint64_t cursor;		/* of its last event */
	uint64_t time_us, next_attempt_s;
	unsigned attempts;
	int code;
	unsigned char type, bounce_class, bounce_category;
};

struct ms_msg {
	struct htab_link link;		/* first */
	char qid[QID_LEN + 1];
	struct ms_rcpt *rcpts;
	size_t n, cap, hint;		/* hint: where the next recipient is looked for first */
	uint64_t first_cursor, last_cursor;
	size_t bytes;
	int is_partial;			/* the first event known is not RECEIVED: older ones are missing */
	int is_scanned;			/* ... and the log was searched for them once */
	struct ms_msg *older, *newer;	/* by last_cursor */
};

struct ms_index {
	struct htab tab;
	struct ms_msg *oldest, *newest;
	size_t bytes, max_bytes;
	uint64_t evicted_upto;		/* the newest last cursor of a message dropped for memory; 0 */
};

void ms_index_init(struct ms_index *ix, size_t max_bytes);
void ms_index_clear(struct ms_index *ix);
/* The message qid, or NULL. */
struct ms_msg *ms_find(const struct ms_index *ix, const char *qid);
/*
 * Applies ev: the recipient's state becomes ev's unless it knows a later
 * one (a higher cursor); the attempts are the most any event said. Then
 * the index is brought within its memory bound.
 */
void ms_apply(struct ms_index *ix, const struct ms_event *ev);
/* Drops the messages whose every event is before cursor first (rotated out of the log). */
void ms_drop_before(struct ms_index *ix, uint64_t first);
/*
 * Moves what older knows into ix: older (emptied, then clearable) holds
 * only events before every event in ix, e.g. the log read back at start.
 */
void ms_merge_older(struct ms_index *ix, struct ms_index *older);
/* m's recipient i as msgstate.h shows it (borrowing from m). */
void ms_rcpt_view(const struct ms_msg *m, size_t i, struct msgstate_rcpt *out);
/*
 * A line of the event log into *ev (borrowing from *doc, a new reference
 * to release): 0, or -1 when it is no event the index can take.
 */
int ms_event_parse(const char *line, size_t len, uint64_t cursor, struct ms_event *ev,
    void **doc);
void ms_event_release(void *doc);

#endif
