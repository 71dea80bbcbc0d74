/*
 * filter.h - the content step's filters: what a content filter (a milter,
 * DKIM signing) sees of a message on its way into the queue, and how it
 * answers and changes it.
 *
 * Every message of every entrance passes the content step of its
 * submission (msg.h) between the header stage and the spool. The step
 * holds a chain of filters, fixed at the message's first byte: the
 * entrance's own (msg_sub_add_filter, e.g. an SMTP listener's milters,
 * which already spoke for the connection), then the core's
 * (msg_core_add_filter): the content filters in the order they were added,
 * then the signers (MSG_FILTER_SIGN, DKIM), which sign what the others left.
 *
 * Each filter is fed, in order, as the message streams: each header field
 * (the ones the header stage added first: Received, and Message-ID and
 * Date where a submission lacked them), the end of the header section,
 * the body in pieces. The bytes go to the spool at once, whatever the
 * filters do; a filter that cannot take more for now answers WAIT and
 * later calls msg_filter_resume(): the step then holds back the entrance
 * (msg_sub_write returns 1) until every filter has caught up, so memory
 * stays bounded (a field at most HEADER_LIST_MAX, body pieces at most the
 * entrance's piece) however large the message.
 *
 * At the end of the message each filter in turn, in chain order, gets its
 * end() and answers with msg_filter_answer(), now or later on the loop;
 * between the two it may read the header section as it is then (with the
 * changes of the filters before it) and change it, the envelope, and the
 * body. The next filter's end() comes after the answer, so a signer sees
 * every change made before it. The changes reach the queue file without
 * rewriting the body: the final header section in one record, a new body
 * in records of its own, a changed envelope in records of its own
 * (src/spool/record.h); every reader of the queue sees the changed message.
 *
 * A filter may answer before the end, too: accept (it has seen enough: no
 * more events, no end()), hold, reject, tempfail or discard (the message is
 * decided: every other filter gets abort(), the entrance's bytes are read
 * to the end and dropped, and msg_sub_end reports the verdict).
 *
 * Everything here runs on the loop thread. A filter never frees itself:
 * the step calls free() once, after the message is done with.
 */
#ifndef STERNA_MSG_FILTER_H
#define STERNA_MSG_FILTER_H

#include <stddef.h>
#include <stdint.h>

#include "msg/header_list.h"
#include "spool/spool.h"
#include "util/verdict.h"

struct msg_core;
struct msg_sub;
struct msg_filter;	/* the step's handle on one filter in one message's chain */

/* What a filter says to an event: go on, or wait for msg_filter_resume(). */
enum msg_filter_go {
	MSG_FILTER_MORE,	/* took it; send the next event when it comes */
	MSG_FILTER_WAIT,	/* took it; no further event until msg_filter_resume() */
};

struct msg_filter_ops {
	const char *name;	/* for the log: "dkim", "milter:clamav" */
	/*
	 * The events, each optional (NULL: the filter does not want them).
	 * field is borrowed for the call.
	 */
	enum msg_filter_go (*header)(void *self, struct msg_filter *f,
	    const struct header_field *field);
	enum msg_filter_go (*end_of_header)(void *self, struct msg_filter *f);
	enum msg_filter_go (*body)(void *self, struct msg_filter *f, const uint8_t *p, size_t n);
	/*
	 * A filter before this one replaced the body (at its end()): the body
	 * events that follow are the new body's, from its start. NULL: the
	 * filter keeps the view it was given and gets no more body events.
	 */
	void (*body_replaced)(void *self, struct msg_filter *f);
	/*
	 * Required: the end of the message. Judge, change through the
	 * functions below, then msg_filter_answer(), in this call or later.
	 */
	void (*end)(void *self, struct msg_filter *f);
	/*
	 * A replacement body this filter writes (msg_filter_replace_body
	 * returned 1) can take more bytes. Needed only by filters that
	 * replace bodies.
	 */
	void (*body_drained)(void *self, struct msg_filter *f);
	/* Optional: the message is abandoned (the client left, another filter refused it). */
	void (*abort)(void *self);
	/* Required: frees self; called once, last. */
	void (*free)(void *self);
};

/* Where a core filter stands in the chain. */
enum msg_filter_place {
	MSG_FILTER_CONTENT,	/* judges and changes the content (milters) */
	MSG_FILTER_SIGN,	/* signs it: after every content filter (DKIM) */
};

/*
 * A filter of the core's: for each message (at its first byte), make(ctx,
 * env, entrance) returns a new instance (self, given to ops) or NULL when
 * it has nothing to do with this message. env is the envelope as it is
 * then (sender, recipients, origin, auth_user, client_ip ...), borrowed
 * for the call.
 */
struct msg_filter_maker {
	const struct msg_filter_ops *ops;
	enum msg_filter_place place;
	void *(*make)(void *ctx, const struct spool_msg *env, const char *entrance);
	void *ctx;
};

/* Adds a maker (copied) to the core, before the first message; ctx must outlive the core. */
void msg_core_add_filter(struct msg_core *c, const struct msg_filter_maker *m);
/*
 * Puts a filter instance of the entrance's (self, taken) into s's chain,
 * before the core's, in the order of the calls; only before the first
 * msg_sub_write().
 */
void msg_sub_add_filter(struct msg_sub *s, const struct msg_filter_ops *ops, void *self);

/* ---- what a filter may call ---- */

/* The envelope as it is now (with the changes made so far). */
const struct spool_msg *msg_filter_env(const struct msg_filter *f);
/* The entrance's name ("c41" for an SMTP connection, "pickup", "api" ...). */
const char *msg_filter_entrance(const struct msg_filter *f);
/* After WAIT: send the next events (on a later turn of the loop, never inside this call). */
void msg_filter_resume(struct msg_filter *f);
/*
 * The filter's answer (v copied). Before its end(): ACCEPT ends its part
 * (no more events, no end()); HOLD the same, and the message is queued
 * on hold; REJECT, TEMPFAIL or DISCARD decide the message. After end():
 * the answer to it; ACCEPT and HOLD pass the message to the next filter.
 * Once per filter; never after the message is decided (the call is ignored).
 */
void msg_filter_answer(struct msg_filter *f, const struct verdict *v);

/*
 * The header section as it is now: the fields so far while it streams,
 * whole from the end of the header section on, with the changes of the
 * filters before this one at its end() (the header stage's fields first).
 */
const struct header_list *msg_filter_headers(const struct msg_filter *f);
/*
 * Between end() and the answer only: changes of the header section
 * (header_list.h's add/insert/change, the same rules). 0, or -1 with the
 * reason in err and nothing changed.
 */
int msg_filter_header_add(struct msg_filter *f, const char *name, const char *value,
    char *err, size_t errsize);
int msg_filter_header_insert(struct msg_filter *f, size_t index, const char *name,
    const char *value, char *err, size_t errsize);
int msg_filter_header_change(struct msg_filter *f, const char *name, unsigned nth,
    const char *value, char *err, size_t errsize);
/*
 * The envelope: addr is an RFC 5321 mailbox without angle brackets ("" for
 * the null sender). A recipient is resolved as for a local entrance
 * (aliases, local users; a filter is trusted configuration). Removing one
 * removes every recipient given as addr (any case); a message left with
 * none is discarded. 0, or -1 with the reason in err (bad syntax, no such
 * local user, no such recipient).
 */
int msg_filter_set_sender(struct msg_filter *f, const char *addr, char *err, size_t errsize);
int msg_filter_add_rcpt(struct msg_filter *f, const char *addr, char *err, size_t errsize);
int msg_filter_del_rcpt(struct msg_filter *f, const char *addr, char *err, size_t errsize);
/*
 * Replaces the body (everything after the header section's empty line)
 * with the bytes of the calls that follow, in order (CRLF lines, not
 * dot-stuffed); the first call starts the new body. Returns 1 when the
 * filter should stop until its body_drained(), 0 otherwise. The filters
 * after this one that have body_replaced() are fed the new body.
 */
int msg_filter_replace_body(struct msg_filter *f, const void *p, size_t n);

#endif
