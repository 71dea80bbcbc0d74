/*
 * evlog.h - the event log: every event of the stream (events.h) as one
 * JSON line with a cursor, in files of <spool>/events/ that rotate and
 * expire, for the HTTP API's event feed (GET /v1/events) and webhooks.
 *
 * Cursors are decimal sequence numbers, one more for each event, kept
 * across restarts (the last line tells where to go on). Lines are written
 * from the loop a tenth of a second after their event, and made durable by
 * a thread of the log's own at once: a crash may lose the last moments of events
 * (never mail), and a reader never sees a line half-written.
 */
#ifndef STERNA_EVENTS_EVLOG_H
#define STERNA_EVENTS_EVLOG_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>
#include <jansson.h>

#include "events/events.h"

#define EVLOG_DIR "events"		/* in spool.dir */
#define EVLOG_FILE_EVENTS 10000		/* events per file, so a reader seeks by file name */
#define EVLOG_PAGE_MAX 1000		/* events in one evlog_read() */

struct evlog;

/*
 * Opens (making it, 0700) the folder dir and goes on after its last event;
 * keeps files while they are younger than retention_s and the folder holds
 * less than max_bytes. Writes on base (borrowed); syncs on a thread of its
 * own. NULL with the reason in err.
 */
struct evlog *evlog_open(const char *dir, uint64_t retention_s, uint64_t max_bytes,
    struct event_base *base, char *err, size_t errsize);
/* Writes what is waiting and frees *l; l may point to NULL. */
void evlog_free(struct evlog **l);
/* An events_sink_fn: ctx is the struct evlog. */
void evlog_sink(void *ctx, const struct event *e);
/* The cursor of the last event logged; 0 before the first. */
uint64_t evlog_last(const struct evlog *l);
/*
 * The first cursor of the oldest file kept: events before it have been
 * rotated away (evlog_last() + 1 when there is no file).
 */
uint64_t evlog_first(const struct evlog *l);
/* The log's folder (borrowed, for readers on other threads). */
const char *evlog_dir(const struct evlog *l);
/*
 * The first cursors of the files kept, oldest first (the last is the one
 * being written): a new array, their count in *n_out. Loop thread.
 */
uint64_t *evlog_files(const struct evlog *l, size_t *n_out);
/*
 * Up to limit (at most EVLOG_PAGE_MAX) events after cursor `after` (0: from
 * the oldest kept), appended to the JSON array out, oldest first;
 * *next_out is the cursor to ask after next (the last one given, or
 * `after` when none came). Costs a bisection of one file (a few reads of
 * 4 KiB) and the bytes of the page, not the files' sizes. 0, or -1 when
 * the files cannot be read.
 */
int evlog_read(struct evlog *l, uint64_t after, size_t limit, json_t *out, uint64_t *next_out);

/* A line of the log (without its newline, borrowed for the call): non-zero stops the scan. */
typedef int evlog_line_fn(void *ctx, uint64_t cursor, const char *line, size_t len);
/*
 * Any thread: fn(ctx, ...) for each whole line with a cursor in (after,
 * upto] of the file of dir whose first cursor is first (an evlog_files()
 * entry), in order, until fn returns non-zero. It starts near after (a
 * bisection), reads what it hands out, and stops at upto, at the end, or at
 * a line still being written. 0, or -1 when the file cannot be read (it
 * expired meanwhile).
 */
int evlog_file_scan(const char *dir, uint64_t first, uint64_t after, uint64_t upto,
    evlog_line_fn *fn, void *ctx);
/* The JSON object of e at cursor (for webhooks and tests); a new reference. */
json_t *evlog_json(const struct event *e, uint64_t cursor);

#endif
