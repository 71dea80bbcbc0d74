/*
 * events.h - one stream of what happens to mail: a message received, and
 * each recipient delivered, deferred, bounced, expired, suppressed or
 * deleted. Producers (the submission core, the scheduler's outcomes and
 * its queue operations) emit on the event loop;
 * consumers subscribe: the event log (evlog.c, for the HTTP API's event
 * feed and webhooks), the suppression list (suppress.c) and the metrics
 * registry's figures (figures.c), instead of each keeping its own.
 * Emitting costs one call per subscriber; nothing is copied unless a
 * subscriber keeps it.
 */
#ifndef STERNA_EVENTS_EVENTS_H
#define STERNA_EVENTS_EVENTS_H

#include <stddef.h>
#include <stdint.h>

enum event_type {
	EVENT_RECEIVED,		/* in the queue: one event per recipient */
	EVENT_DELIVERED,	/* to a mailbox, or accepted by the next hop */
	EVENT_DEFERRED,		/* a failed attempt; another comes at next_attempt_s */
	EVENT_BOUNCED,		/* failed for good (a notice goes to the sender, if any) */
	EVENT_EXPIRED,		/* queue.lifetime passed: failed for good after retries */
	EVENT_SUPPRESSED,	/* not tried: the address is on the suppression list (failed) */
	EVENT_DELETED,		/* not to be tried: an operator took the message out of the queue */
	EVENT_TYPE_N,		/* the names are config_event_types' (config/config.h) */
};

/* What a failure means to a sender: the API's "bounce" object. */
enum bounce_class { BOUNCE_CLASS_NONE, BOUNCE_HARD, BOUNCE_SOFT };
enum bounce_category {
	BOUNCE_CAT_NONE,
	BOUNCE_BAD_MAILBOX,	/* no such user, bad address syntax, mailbox disabled */
	BOUNCE_MAILBOX_FULL,	/* over quota */
	BOUNCE_POLICY,		/* refused by the receiver's rules (relaying, authentication, size) */
	BOUNCE_SPAM_BLOCK,	/* refused as spam, or the sending address is blocklisted */
	BOUNCE_DNS,		/* the domain does not exist or takes no mail */
	BOUNCE_OTHER,
};

struct event {
	enum event_type type;
	uint64_t time_us;		/* wall clock */
	const char *message_id;		/* the queue id */
	size_t rcpt_index;		/* the recipient's index in the message ("QID.N": N - 1) */
	const char *recipient;		/* the address */
	const char *sender;		/* the envelope sender, "" for <> */
	const char *entrance;		/* RECEIVED: smtp, submission, sendmail, pickup, notice ... */
	int code;			/* the reply's code (the remote one, or ours); 0: none */
	const char *dsn;		/* its enhanced status, "" for none */
	const char *reply;		/* its text, or our reason; "" for none */
	const char *relay;		/* "host[ip]:port", "" for a local delivery or none */
	const char *agent;		/* after an attempt: "maildir", "lmtp", "smtp"; "" for none */
	unsigned attempt;		/* DEFERRED: the attempts made so far */
	uint64_t next_attempt_s;	/* DEFERRED: wall clock, seconds */
	enum bounce_class bounce_class;	/* BOUNCED, EXPIRED */
	enum bounce_category bounce_category;
	const char *api_meta;		/* the API's {"tags", "metadata"} as JSON text; NULL */
	uint64_t arrival_us;		/* when the message was received (wall clock): latencies */
	uint64_t size;			/* RECEIVED: the message's bytes */
	/*
	 * RECEIVED: the TLS version of the session that brought the message;
	 * DELIVERED, DEFERRED, BOUNCED: of the session that carried the
	 * attempt. NULL or "" in the clear (and for local deliveries).
	 */
	const char *tls_version;
	/* The outbound connection that carried the attempt ("o12", as its log lines); NULL: none */
	const char *conn;
};

struct events;

typedef void events_sink_fn(void *ctx, const struct event *e);

struct events *events_new(void);
/* Frees *ev and sets it to NULL; ev may point to NULL. */
void events_free(struct events **ev);
/* Adds a consumer: fn(ctx, e) for every event from now on, e borrowed for the call. */
void events_subscribe(struct events *ev, events_sink_fn *fn, void *ctx);
/* Hands e to every consumer in the order they subscribed; the loop thread only. */
void events_emit(struct events *ev, const struct event *e);

/* "received", "delivered", "deferred", "bounced", "expired", "suppressed", "deleted". */
const char *event_type_name(enum event_type t);
/* "hard", "soft"; "" for none. */
const char *bounce_class_name(enum bounce_class c);
/* "bad_mailbox", "mailbox_full", "policy", "spam_block", "dns", "other"; "" for none. */
const char *bounce_category_name(enum bounce_category c);
/*
 * What a failure means (classify.c, pure): from the reply's code, its
 * enhanced status (RFC 3463; "" when there is none) and text. A 5xx is
 * hard when it says the address or the domain is bad, soft when the
 * mailbox is full or the refusal is of this message or this sender (policy,
 * spam: the address exists and a later message may pass); a 4xx, or an
 * expiry, is soft.
 */
void events_classify(int code, const char *dsn, const char *text, enum bounce_class *class_out,
    enum bounce_category *category_out);
/*
 * A comma-separated list of category names ("bad_mailbox,dns"; "" for
 * none) as bits (1u << enum bounce_category) in *bits_out: 0, or -1.
 */
int bounce_categories_parse(const char *s, unsigned *bits_out);

#endif
