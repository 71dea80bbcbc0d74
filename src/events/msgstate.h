/*
 * msgstate.h - what became of each recipient of each message, by queue
 * id, after the message has left the queue (delivered, bounced, expired,
 * deleted): an index of every recipient's last event, kept current by the
 * event stream and read back from the event log's files at start, on a
 * thread of its own. It knows what the retained log knows: messages whose
 * every event has rotated out of the log are dropped with them, and past
 * events.state_memory the least recently changed messages are dropped
 * first, then found again by a scan of the older part of the log (on that
 * thread) when asked for. For GET /v1/messages/{id} (src/http/api_queue.c),
 * which asks the queue first. The loop thread only.
 */
#ifndef STERNA_EVENTS_MSGSTATE_H
#define STERNA_EVENTS_MSGSTATE_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "events/events.h"
#include "events/evlog.h"

/* A recipient's last state: its last event, and the deferrals before it. */
struct msgstate_rcpt {
	const char *email;
	enum event_type type;		/* its last event */
	uint64_t time_us;		/* ... when */
	int code;			/* its reply's code, 0 for none */
	const char *status;		/* ... enhanced status, "" for none */
	const char *text;		/* ... text, or our reason; NULL for none */
	unsigned attempts;		/* failed attempts before (the last deferral's count) */
	uint64_t next_attempt_s;	/* DEFERRED: the next one (wall clock) */
	enum bounce_class bounce_class;	/* BOUNCED, EXPIRED */
	enum bounce_category bounce_category;
};

typedef void msgstate_rcpt_fn(void *ctx, const struct msgstate_rcpt *r);

struct msgstate;

/*
 * The index of log's events (borrowed; its evlog_sink() must be subscribed
 * before msgstate_sink(), whose event's cursor is then evlog_last()),
 * holding at most max_bytes, on base. It starts reading log's files back
 * at once, on a thread of its own.
 */
struct msgstate *msgstate_new(struct evlog *log, size_t max_bytes, struct event_base *base);
/* Frees *ms (a read in progress is waited for); ms may point to NULL. */
void msgstate_free(struct msgstate **ms);
/* An events_sink_fn: ctx is the struct msgstate. */
void msgstate_sink(void *ctx, const struct event *e);
/* The daemon stops: lookups that wait are answered at once (unavailable), reads cut short. */
void msgstate_stop(struct msgstate *ms);

/*
 * What the index knows of qid now, from memory: fn(ctx, r) for each
 * recipient it knows, in the order the message has them (r borrowed for
 * the call). Returns how many; 0 when it knows none. For a message still
 * in the queue, whose recipients the queue knows.
 */
size_t msgstate_get(struct msgstate *ms, const char *qid, msgstate_rcpt_fn *fn, void *ctx);

enum msgstate_found { MSGSTATE_FOUND, MSGSTATE_NONE, MSGSTATE_UNAVAILABLE };

/*
 * What became of qid, a message not in the queue: fn for each recipient,
 * then done(ctx, found) with MSGSTATE_FOUND, MSGSTATE_NONE (the retained
 * log knows no event of it) or MSGSTATE_UNAVAILABLE (stopping, or too many
 * lookups wait). On a later turn of the loop, never inside this call:
 * after the read back at start when that is not over, after a scan of the
 * log when memory dropped what it would have known.
 */
void msgstate_look(struct msgstate *ms, const char *qid, msgstate_rcpt_fn *fn,
    void (*done)(void *ctx, enum msgstate_found found), void *ctx);

#endif
