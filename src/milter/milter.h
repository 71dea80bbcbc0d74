/*
 * milter.h - content filters spoken to with the milter protocol, on the
 * event loop: the daemon's side of src/milter (the protocol itself is the
 * pure proto.h and session.h).
 *
 * Three layers:
 * - a client (client.c) is one connection to one filter: a bufferevent,
 *   the session, the timeouts of the configuration, and what happens when
 *   the filter is down, too slow or breaks the protocol: its default action
 *   (tempfail, or accept as if it were not there) for the rest of the
 *   connection, with one log line;
 * - a set (set.c) is the filters of one SMTP connection, in the order of
 *   its listener's milters: asked at connect, HELO, MAIL, RCPT (per
 *   recipient) and DATA after policy, the first refusal answering;
 * - a content filter (filter.c) puts each filter into a message's content
 *   step (src/msg/filter.h): the header fields, the end of the header, the
 *   body in chunks, and at the end the filter's changes applied through the
 *   step and its verdict. For the entrances that are not SMTP (sendmail,
 *   pickup, the HTTP API) a maker gives each message its own connection to
 *   each of server.local_milters, which hears the connect, HELO, MAIL and
 *   RCPT steps first, as from a client on 127.0.0.1.
 * Everything runs on the loop thread.
 */
#ifndef STERNA_MILTER_MILTER_H
#define STERNA_MILTER_MILTER_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "config/config.h"
#include "milter/session.h"
#include "smtp/session.h"
#include "util/verdict.h"

struct metrics;
struct msg_core;
struct msg_sub;
struct milter_client;
struct milter_pool;
struct milter_set;

/* ---- the idle connections to each filter (pool.c) ---- */

/*
 * The pools of every milter section of cfg (borrowed, with base and
 * metrics: they must outlive the pools): sets and local entrances take
 * their connections here and give them back, and one that can serve
 * another session waits here, idle, within milter.NAME.idle_connections
 * and idle_timeout. Counted in sterna_milter_connections_total.
 */
struct milter_pool *milter_pool_new(struct event_base *base, const struct config *cfg,
    struct metrics *metrics);
/* Closes the idle connections and frees *p; after every set and local entrance. */
void milter_pool_free(struct milter_pool **p);

/* ---- one filter ---- */

/*
 * Hears what the filter said about the step asked (the action's kind is
 * MILTER_ANSWER, or MILTER_CHANGE at the end of a message, before its
 * answer); a failure has become the default action's answer already.
 */
typedef void (*milter_client_cb)(void *ctx, const struct milter_action *act);

/*
 * Starts connecting to the filter conf (borrowed; must outlive the client).
 * log_id names whose connection it is in log lines ("c41", a queue id).
 */
struct milter_client *milter_client_new(struct event_base *base, const struct config_milter *conf,
    const struct milter_limits *lim, const char *log_id);
/* Says QUIT when the filter is idle, closes, frees *mc; safe inside its own callback. */
void milter_client_free(struct milter_client **mc);
/* As milter_set_macro() (session.h). */
void milter_client_set_macro(struct milter_client *mc, const char *name, const char *value);

/*
 * The steps, as in session.h. Each returns 1 with the answer in *now, or 0:
 * the answer (and changes) come to cb later. Only one step at a time; one
 * asked before the filter is connected waits for it (its strings copied).
 */
int milter_client_connect(struct milter_client *mc, const char *hostname, char family,
    uint16_t port, const char *addr, milter_client_cb cb, void *ctx, struct milter_action *now);
int milter_client_helo(struct milter_client *mc, const char *helo, milter_client_cb cb,
    void *ctx, struct milter_action *now);
/* args[0] is the path in angle brackets, then the ESMTP parameters: n in all, 1 to MILTER_MAX_ARGS. */
int milter_client_mail(struct milter_client *mc, const char *const *args, size_t n,
    milter_client_cb cb, void *ctx, struct milter_action *now);
int milter_client_rcpt(struct milter_client *mc, const char *const *args, size_t n,
    milter_client_cb cb, void *ctx, struct milter_action *now);
int milter_client_data(struct milter_client *mc, milter_client_cb cb, void *ctx,
    struct milter_action *now);
int milter_client_header(struct milter_client *mc, const char *name, struct slice value,
    milter_client_cb cb, void *ctx, struct milter_action *now);
int milter_client_eoh(struct milter_client *mc, milter_client_cb cb, void *ctx,
    struct milter_action *now);
/* At most MILTER_CHUNK bytes. */
int milter_client_body(struct milter_client *mc, const uint8_t *p, size_t n, milter_client_cb cb,
    void *ctx, struct milter_action *now);
int milter_client_eom(struct milter_client *mc, milter_client_cb cb, void *ctx,
    struct milter_action *now);
/*
 * The message of asker ctx ended without its end: ABORT if due; its step in
 * flight, if any, is dropped (its reply read and ignored). A step of another
 * asker (the next message's MAIL, pipelined) is left alone.
 */
void milter_client_abort(struct milter_client *mc, const void *ctx);
/* No more of what the filter sends is read until milter_client_resume() (a body being written). */
void milter_client_pause(struct milter_client *mc);
void milter_client_resume(struct milter_client *mc);
/* 1 when the filter wants no more of this message (or of this connection). */
int milter_client_msg_is_over(const struct milter_client *mc);
/* 1 when it wants no body chunks. */
int milter_client_body_unwanted(const struct milter_client *mc);
const char *milter_client_name(const struct milter_client *mc);

/* ---- the filters of one SMTP connection ---- */

/* What the filters hear of the connection, borrowed for the call. */
struct milter_conn_info {
	const char *conn_id;		/* "c41", for logs */
	const char *hostname;		/* our name: the macro j */
	const char *daemon_name;	/* the listener's name */
	const char *daemon_addr;	/* the server's address on the connection */
	unsigned daemon_port;
	const char *client_ip;
	unsigned client_port;
	int is_v6;
};

/*
 * A new set of the listener's filters (idx into gen's milters, n of them),
 * their connections taken from pool (borrowed): an idle one, or a new one
 * connecting now. The pool has the filters of the configuration it was
 * made with (milters need a restart); a filter of gen is found in it by
 * name, and one it does not know (added by a reload) is left out until
 * the restart the reload asked for.
 */
struct milter_set *milter_set_new(struct milter_pool *pool, const struct config *gen,
    const size_t *idx, size_t n, const struct milter_conn_info *info);
/* Gives each connection back to the pool (or says QUIT) and frees *s; cancels a question out. */
void milter_set_free(struct milter_set **s);
/* What the filters hear of the session besides its question: each NULL when unknown or none. */
struct milter_session_info {
	const char *tls_version, *tls_cipher;
	const char *cert_subject, *cert_issuer;	/* CNs of the client's certificate, if it gave one */
	const char *client_ptr;		/* the PTR name of the client's address (unverified) */
	const char *client_name;	/* ... a name that resolves back to it */
};

/*
 * Asks the filters about the session's question q (CONNECT, HELO, MAIL,
 * RCPT, DATA; other stages are accepted at once), in order, after
 * policy accepted it; info is copied. Returns 1 with the verdict in *now,
 * or 0: done(ctx, v) comes later on the loop. The first filter that does
 * not accept answers.
 */
int milter_set_ask(struct milter_set *s, const struct smtp_ask *q,
    const struct milter_session_info *info, void (*done)(void *ctx, const struct verdict *v),
    void *ctx, struct verdict *now);
/*
 * Puts each filter of the set into sub's content step (msg_sub_add_filter),
 * before the message's first byte, with qid for the macro i.
 */
void milter_set_add_filters(struct milter_set *s, struct msg_sub *sub, const char *qid);

/* ---- the entrances that are not SMTP ---- */

struct milter_local;

/*
 * Adds a maker to core for each of cfg->local_milters: each message from
 * sendmail, pickup or the HTTP API (not notices) gets a connection to that
 * filter from pool (borrowed) for itself, given back at its end. cfg and
 * pool must outlive core. Returns the makers, to be freed after core
 * (NULL when there are none).
 */
struct milter_local *milter_local_new(struct msg_core *core, struct milter_pool *pool,
    const struct config *cfg);
void milter_local_free(struct milter_local **l);

#endif
