/*
 * recent.h - the latest events, kept in memory for the dashboard: a ring
 * of the last RECENT_EVENTS events of any kind (a message's story while
 * it is fresh), and one of the last RECENT_FAILURES recipients that
 * failed for good (recent bounces with their category), so that a burst
 * of deliveries does not push the bounces out. Fed by the event stream,
 * like the event log on disk, which keeps everything for longer (GET
 * /v1/events); strings are copied, cut at fixed lengths. Loop thread.
 */
#ifndef STERNA_METRICS_RECENT_H
#define STERNA_METRICS_RECENT_H

#include <stddef.h>
#include <stdint.h>

#include "events/events.h"
#include "util/qid.h"

#define RECENT_EVENTS 1000
#define RECENT_FAILURES 50

struct recent_event {
	enum event_type type;
	uint64_t time_us;
	char message_id[QID_LEN + 1];
	unsigned rcpt_index;
	char recipient[256];
	char entrance[16];		/* RECEIVED */
	int code;
	char dsn[16];
	char reply[256];
	char relay[128];
	unsigned attempt;		/* DEFERRED */
	uint64_t next_attempt_s;
	enum bounce_class bounce_class;
	enum bounce_category bounce_category;
	int is_tls;
};

struct recent;

struct recent *recent_new(void);
/* Frees *r and sets it to NULL; r may point to NULL. */
void recent_free(struct recent **r);
/* An events_sink_fn: ctx is the struct recent. */
void recent_sink(void *ctx, const struct event *e);
/* Up to max of the latest events, newest first, copied into out: how many. */
size_t recent_events(const struct recent *r, struct recent_event *out, size_t max);
/* Up to max of the latest failures for good, newest first: how many. */
size_t recent_failures(const struct recent *r, struct recent_event *out, size_t max);
/* Up to max of the events of message qid still in the ring, oldest first: how many. */
size_t recent_of_message(const struct recent *r, const char *qid, struct recent_event *out,
    size_t max);

#endif
