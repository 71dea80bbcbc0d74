/*
 * webhook.h - events POSTed to the configured URLs (events { webhook
 * "NAME" { } }), one event a request, in cursor order per webhook, signed:
 * `Sterna-Signature: t=UNIX_TIME,v1=HEX`, v1 = HMAC-SHA256(secret,
 * "UNIX_TIME." + body). Each webhook reads the event log from its own
 * cursor, kept in a file beside the log, so that a restart goes on where
 * it was (an event may come twice after a crash: receivers dedupe by
 * cursor), and a failing or slow receiver only falls behind: mail never
 * waits for it. A failure is retried with growing pauses (1 s doubling to
 * 5 min) until events.webhook_retry_for after the event, then dropped with
 * a log line.
 */
#ifndef STERNA_EVENTS_WEBHOOK_H
#define STERNA_EVENTS_WEBHOOK_H

#include <stddef.h>

#include <event2/event.h>

#include "config/config.h"
#include "dns/dns.h"
#include "events/evlog.h"

struct webhooks;

/*
 * The webhooks of c, reading log, on base, resolving host names with dns
 * (all borrowed); their cursors in state_dir (made if missing). A webhook
 * without a cursor yet starts after the last event logged now. NULL with
 * the reason in err.
 */
struct webhooks *webhooks_new(const struct config *c, struct evlog *log, struct event_base *base,
    struct dns *dns, const char *state_dir, char *err, size_t errsize);
/* Stops (a request out is dropped: sent again at the next start), saves cursors, frees *w. */
void webhooks_free(struct webhooks **w);
/* An events_sink_fn (ctx: the struct webhooks): idle webhooks look for the new event. */
void webhooks_sink(void *ctx, const struct event *e);
/*
 * The signature header's value for body at time t: "t=T,v1=HEX" into out
 * (size bytes, at least 96). Pure; for receivers' tests too.
 */
void webhook_signature(const char *secret, long long t, const char *body, size_t len, char *out,
    size_t size);

#endif
