/*
 * qview.h - the queue as JSON, for everyone who shows it to a program: the
 * control socket (src/control, docs/control.md) and the HTTP API
 * (src/http, docs/api.md) give the same view of a message, read the same
 * filters and report an operation the same way, so that a script may move
 * from one to the other. Both reach the queue through sched/queue.h.
 *
 *   qview.c   pure: views, filters, results and times as JSON
 *   pager.c   the loop's side: a listing handed out a slice per turn of
 *             the loop, paced, so that no listing holds up mail
 */
#ifndef STERNA_QVIEW_QVIEW_H
#define STERNA_QVIEW_QVIEW_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "sched/queue.h"
#include "util/qid.h"

#define QVIEW_MAX_TEXT 1024	/* a string of a filter (sender, recipient, domain) */

/* ---- filters (qview.c) ---- */

/* A filter read from JSON, with the strings it points to: it owns them. */
struct qview_filter {
	struct sched_filter f;		/* f.qid, f.sender, ... point into the members below */
	char qid[QID_LEN + 1];
	char *sender, *rcpt, *domain;
};

/*
 * Reads the filter object fv (docs/control.md, "filter": id, state as a
 * name or a list of names, sender ("" is <>), recipient, domain,
 * min_age_s, max_age_s) into *qf, which must be zeroed or cleared. Every
 * key and value is checked: an unknown key, a wrong type, a string longer
 * than QVIEW_MAX_TEXT or holding a NUL, min over max are refused. Returns
 * 0, or -1 with a sentence for people in why (*qf then holds what was read
 * so far: clear it).
 */
int qview_filter_parse(const json_t *fv, struct qview_filter *qf, char *why, size_t whysize);
/* Frees what *qf owns and zeroes it. */
void qview_filter_clear(struct qview_filter *qf);
/* 1 if f selects nothing in particular (it would match the whole queue). */
int qview_filter_is_empty(const struct sched_filter *f);
/* f as the object qview_filter_parse() reads back: a new object ({} for an empty f). */
json_t *qview_filter_json(const struct sched_filter *f);

/* ---- views, results, times (qview.c) ---- */

/*
 * A message as listings show it: id, state, arrival, size, sender,
 * next_attempt and recipients (each with email, orig, state, agent,
 * attempts, last_reply, next_attempt, status); with is_detail also where
 * it came from (origin, client, helo, proto, TLS, user). Reads v only
 * during the call. Returns a new object.
 */
json_t *qview_msg_json(const struct sched_view *v, int is_detail);
/* {"op":...,"matched":N,"done":N,"failed":N}: a new object. */
json_t *qview_result_json(enum sched_op op, const struct sched_op_result *r);
/*
 * A JSON string of s (NULL gives null). A queue file may hold bytes that
 * are not UTF-8 (a remote server's reply, an 8-bit address): each becomes
 * U+FFFD, since a JSON string is UTF-8. Returns a new value.
 */
json_t *qview_str(const char *s);
/* qview_time_str() of t_s as a string, or null for 0: a new value. */
json_t *qview_time_json(uint64_t t_s);
/* An RFC 3339 UTC time, "2026-12-24T08:00:00Z", into out (24 bytes): out. */
const char *qview_time_str(uint64_t t_s, char out[24]);
/* The inverse for what qview_time_str writes: 0 and *t_out, or -1. */
int qview_time_parse(const char *s, uint64_t *t_out);

/* ---- paced listings (pager.c, on the loop) ---- */

struct event_base;
struct qview_pager;

struct qview_pager_ops {
	/* One matching message, in queue id order; v is valid during the call only. */
	void (*each)(void *ctx, const struct sched_view *v);
	/*
	 * May be NULL. 1 while the caller cannot take more now (its output is
	 * full): the listing waits for qview_pager_resume().
	 */
	int (*is_full)(void *ctx);
	/*
	 * The listing is over: count messages were handed out, and has_more
	 * says that it stopped at its max with more to come. Called once, on
	 * a turn of the loop of its own; the caller then frees the pager (it
	 * may do so inside the call).
	 */
	void (*done)(void *ctx, size_t count, int has_more);
};

/*
 * Starts a listing of the messages that f (copied) matches, after the
 * queue id after_qid when it is not NULL (the cursor of a previous page:
 * it need not be in the queue any more), at most max of them (SIZE_MAX: no
 * bound). Messages are handed out a slice per turn of the loop, starting
 * on the next turn (never inside this call), with a pause after each slice
 * three times as long as the slice took, on the loop's background
 * priority: mail goes first. ops (borrowed, must outlive the pager) and ctx
 * are the caller's. Returns a new pager.
 */
struct qview_pager *qview_pager_new(struct event_base *base, struct sched *s,
    const struct sched_filter *f, const char *after_qid, size_t max,
    const struct qview_pager_ops *ops, void *ctx);
/* The caller can take more again (is_full said 1 before): the listing goes on. */
void qview_pager_resume(struct qview_pager *p);
/* Stops the listing (no more calls) and frees *p; p may point to NULL. */
void qview_pager_free(struct qview_pager **p);

#endif
