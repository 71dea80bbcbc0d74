/*
 * suppress.h - the suppression list: addresses not to be mailed again,
 * because they bounced hard (a subscriber of the event stream adds them,
 * for the categories suppression.categories names) or an operator said so.
 * The scheduler consults it before every attempt: a suppressed recipient
 * is not tried, fails with 5.1.1, and its event is SUPPRESSED. Addresses
 * are compared without regard to case (as the relay services compare
 * them). Kept in <spool>/suppressions.jsonl, one change a line, rewritten
 * compact at start; the loop thread only.
 */
#ifndef STERNA_EVENTS_SUPPRESS_H
#define STERNA_EVENTS_SUPPRESS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "events/events.h"

#define SUPPRESS_FILE "suppressions.jsonl"	/* in spool.dir */
#define SUPPRESS_REASON_MAX 300

struct suppress;

/*
 * Reads path (missing: an empty list), writes it again without the
 * changes that cancel out, and keeps it open for appending; categories is
 * a bit per enum bounce_category whose hard bounces add the address. NULL
 * with the reason in err.
 */
struct suppress *suppress_open(const char *path, unsigned categories, char *err,
    size_t errsize);
/* Frees *s (its file is synced and closed); s may point to NULL. */
void suppress_free(struct suppress **s);
/* 1 if addr is on the list. */
int suppress_has(const struct suppress *s, const char *addr);
/* Adds addr with reason at time_s: 1, or 0 when it was there (its entry unchanged). */
int suppress_add(struct suppress *s, const char *addr, const char *reason, uint64_t time_s);
/* Removes addr: 1, or 0 when it was not there. */
int suppress_remove(struct suppress *s, const char *addr);
/* addr's entry as {"email", "reason", "time"} (a new reference), or NULL when it is not there. */
json_t *suppress_get(const struct suppress *s, const char *addr);
size_t suppress_count(const struct suppress *s);
/*
 * Up to limit entries after address `after` ("" from the first), in
 * address order, appended to the array out as {"email", "reason", "time"}.
 * Returns how many.
 */
size_t suppress_list(const struct suppress *s, const char *after, size_t limit, json_t *out);
/* An events_sink_fn (ctx: the struct suppress): hard bounces of the chosen categories. */
void suppress_sink(void *ctx, const struct event *e);

#endif
