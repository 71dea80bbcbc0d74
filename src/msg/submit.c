/*
 * submit.c - one message on its way into the queue (msg.h): the header
 * stage, the content step (content.c) and the spool transaction, in that
 * order.
 *
 * The header stage scans the message's header section as it streams by
 * (header.c). The fields it adds go first in the file, so the spool
 * transaction opens only once they are known: after the first line for
 * mail relayed over SMTP (is there a header section at all?), after the
 * whole header section for a submission (are Message-ID and Date there?).
 * The bytes that came before are held, at most HDRSCAN_MAX_BYTES. The scan
 * goes on to the end of the header section to count Received fields
 * (RFC 5321 6.3).
 *
 * A crash before the commit leaves a file in incoming/ that recovery
 * removes: nothing was acknowledged, so nothing is lost.
 */
#include "msg/msg_int.h"

#include <stdlib.h>
#include <string.h>

#include "msg/header.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/log_event.h"
#include "util/xalloc.h"

#define PREFIX_MAX (16 * 1024)	/* the added fields: every part of them is bounded */
#define WHOLE_PIECE (64 * 1024)	/* msg_sub_write_whole(): bytes per msg_sub_write() */

struct msg_sub {
	struct msg_core *core;
	struct spool_msg *env;
	char entrance[24];
	struct hdrscan scan;
	struct buf held;		/* message bytes before the spool transaction opens */
	struct content ct;		/* the content step, which owns the spool transaction */
	int is_open;			/* the added fields are known: the transaction is open */
	struct verdict verdict;		/* a content filter's, that decided the message */
	void (*done)(void *ctx, const struct msg_result *r);
	void *done_ctx;
	int keep_handover;		/* msg_sub_keep_handover() */
	/* msg_sub_write_whole(): a message held whole, written a piece at a time */
	struct buf whole;
	size_t whole_at;		/* bytes of it written */
	int is_feeding;			/* inside the loop that writes it */
	int is_end_waiting;		/* msg_sub_end() came before its last piece */
};

struct msg_sub *
msg_sub_new(struct msg_core *c, struct spool_msg *env, const char *entrance)
{
	struct msg_sub *s = xcalloc(1, sizeof(*s));

	ASSERT(env->nrcpts > 0);
	s->core = c;
	s->env = env;
	snprintf(s->entrance, sizeof(s->entrance), "%s", entrance);
	hdrscan_init(&s->scan);
	/* the scan ends within HDRSCAN_MAX_BYTES, and nothing is held after it ends */
	buf_init(&s->held, HDRSCAN_MAX_BYTES);
	content_init(&s->ct, c, env, s->entrance);
	c->nsubs++;
	return s;
}

void
msg_sub_keep_handover(struct msg_sub *s)
{
	s->keep_handover = 1;
}

void
msg_hand_over(struct msg_core *c, struct spool_msg **m)
{
	if (*m == NULL)
		return;		/* a content filter discarded it: nothing was stored */
	core_hand_over(c, *m);
	*m = NULL;
}

const struct spool_msg *
msg_sub_env(const struct msg_sub *s)
{
	return s->env;
}

void
msg_sub_add_filter(struct msg_sub *s, const struct msg_filter_ops *ops, void *self)
{
	content_add_filter(&s->ct, ops, self);
}

static void
sub_free(struct msg_sub *s)
{
	s->core->nsubs--;
	content_clear(&s->ct);
	spool_msg_free(&s->env);
	buf_clear(&s->held);
	buf_clear(&s->whole);
	free(s);
}

void
msg_sub_abort(struct msg_sub **sp)
{
	if (*sp == NULL)
		return;
	sub_free(*sp);
	*sp = NULL;
}

static void
on_spool_drain(void *ctx)
{
	struct msg_sub *s = ctx;

	content_spool_drained(&s->ct);
}

void
msg_sub_set_drain_cb(struct msg_sub *s, void (*on_drain)(void *ctx), void *ctx)
{
	s->ct.on_drain = on_drain;
	s->ct.drain_ctx = ctx;
}

/* 1 when the fields to add are known: the spool transaction can open. */
static int
header_known(const struct msg_sub *s)
{
	if (s->scan.is_done)
		return 1;
	return !msg_header_is_submission(s->env) && hdrscan_knows_first_line(&s->scan);
}

/*
 * Opens the spool file with the added fields first: Received, Message-ID and
 * Date when a submission lacks them (a header section longer than the scan
 * bound is left as it is: a field beyond it might exist), and the empty
 * line a message without a header section needs after them (RFC 5322 2.1).
 * Then the held bytes follow. Returns 1 to pause the feeder.
 */
static int
header_open(struct msg_sub *s)
{
	const struct config *cfg = s->core->d.cfg;
	const struct spool_msg *env = s->env;
	int64_t now = (int64_t)(env->arrival_us / 1000000u);
	struct spool_txn *txn;
	struct buf prefix;
	int r;

	/* RFC 5321 6.3: an entrance that cannot refuse still must not pass a loop on */
	if (env->origin != SPOOL_FROM_SMTP && s->scan.nreceived > cfg->max_hops &&
	    s->env->fail_status == NULL) {
		s->env->fail_status = xstrdup("5.4.6");
		s->env->fail_text = xstrdup("Too many hops (mail loop?)");
	}
	buf_init(&prefix, PREFIX_MAX);
	/* every part is bounded: the prefix cannot outgrow PREFIX_MAX */
	(void)msg_header_received(env, cfg->hostname, now, &prefix);
	if (!s->scan.is_truncated)
		(void)msg_header_added(env, cfg->hostname, now, s->scan.seen, &prefix);
	if (hdrscan_needs_separator(&s->scan))
		(void)buf_append(&prefix, "\r\n", 2);
	txn = spool_txn_new(s->core->d.spool, env, NULL, 0);
	if (s->core->d.home != NULL)
		spool_txn_set_home(txn, s->core->d.home);
	spool_txn_set_drain_cb(txn, on_spool_drain, s);
	s->is_open = 1;
	content_open(&s->ct, txn);
	/* the added fields are the first bytes of the content, for the filters as for the file */
	r = content_write(&s->ct, prefix.data, prefix.len);
	buf_clear(&prefix);
	r |= content_write(&s->ct, s->held.data, s->held.len);
	buf_clear(&s->held);
	return r;
}

int
msg_sub_write(struct msg_sub *s, const void *p, size_t n)
{
	int r;

	if (!s->scan.is_done)
		(void)hdrscan_feed(&s->scan, p, n);
	if (s->is_open)
		return content_write(&s->ct, p, n);
	if (!header_known(s)) {
		/* the scan has not ended, so fewer than HDRSCAN_MAX_BYTES came: they fit */
		r = buf_append(&s->held, p, n);
		ASSERT(r == 0);
		return 0;
	}
	r = header_open(s);
	return content_write(&s->ct, p, n) | r;
}

/*
 * The entrance an event names: where the message came from, and for SMTP
 * whether the client logged in, which makes it a submission (RFC 6409)
 * whichever listener it used.
 */
static const char *
entrance_of(const struct spool_msg *m)
{
	if (m->origin == SPOOL_FROM_SMTP && m->auth_user != NULL)
		return "submission";
	return spool_origin_name(m->origin);
}

/* One RECEIVED event per recipient: the event stream counts recipients, as the API does. */
void
msg_emit_received(struct events *ev, const struct spool_msg *m)
{
	struct event e = {
		.type = EVENT_RECEIVED,
		.time_us = clock_wall_us(),
		.message_id = m->qid,
		.sender = m->sender,
		.entrance = entrance_of(m),
		.api_meta = m->api_meta,
		.arrival_us = m->arrival_us,
		.size = m->content_bytes,
		.tls_version = m->tls_version,
	};

	for (size_t i = 0; i < m->nrcpts; i++) {
		e.rcpt_index = i;
		e.recipient = m->rcpts[i].to;
		events_emit(ev, &e);
	}
}

/* Tells the entrance, logs, and hands a committed envelope over; frees s. */
static void
finish(struct msg_sub *s, enum msg_status status, int code, const char *dsn, const char *text)
{
	struct msg_result r = { .status = status, .code = code, .dsn = dsn, .text = text,
		.qid = s->env->qid };

	if (s->verdict.rule[0] != '\0') {
		/* a content filter decided: a refusal is the entrance's to tell, a discard ours */
		r.rule = s->verdict.rule;
		r.is_filter_text = s->ct.is_filter_verdict;
		r.is_discarded = s->verdict.kind == VERDICT_DISCARD;
		if (r.is_discarded)
			log_event(LOG_INFO, s->env->qid, "discard", "conn=%s rule=%s", s->entrance,
			    s->verdict.rule);
		s->done(s->done_ctx, &r);
		sub_free(s);
		return;
	}
	if (status == MSG_QUEUED) {
		log_ev_received(s->env->qid, s->entrance, s->env->sender, s->env->content_bytes,
		    (unsigned)s->env->nrcpts, s->env->proto ? s->env->proto : "local",
		    spool_origin_name(s->env->origin));
		/* a receiving loop's core has none: its consumer emits them on the main loop */
		msg_emit_received(s->core->d.events, s->env);
	}
	if (status == MSG_QUEUED && s->keep_handover) {
		r.kept = s->env;
		s->env = NULL;
	}
	s->done(s->done_ctx, &r);
	if (status == MSG_QUEUED && s->env != NULL) {
		core_hand_over(s->core, s->env);
		s->env = NULL;
	}
	sub_free(s);
}

static void
on_committed(void *ctx, enum spool_result r)
{
	struct msg_sub *s = ctx;

	switch (r) {
	case SPOOL_OK:
		finish(s, MSG_QUEUED, 250, "2.0.0", "");
		break;
	case SPOOL_ERR_NOSPACE:
		finish(s, MSG_TEMPFAIL, 452, "4.3.1", "insufficient system storage");
		break;
	case SPOOL_ERR_IO:
	default:
		finish(s, MSG_TEMPFAIL, 451, "4.3.0", "queue file write error");
		break;
	}
}

/* A refusal is told on the next turn of the loop, as a commit's result would be. */
static void
on_refused_later(evutil_socket_t fd, short what, void *arg)
{
	(void)fd, (void)what;
	finish(arg, MSG_REFUSED, 554, "5.4.6", "too many hops");
}

/* A content filter's verdict decided the message: told on the next turn of the loop. */
static void
on_decided_later(evutil_socket_t fd, short what, void *arg)
{
	struct msg_sub *s = arg;
	const struct verdict *v = &s->verdict;

	(void)fd, (void)what;
	if (v->kind == VERDICT_REJECT)
		finish(s, MSG_REFUSED, v->code, v->dsn, v->text);
	else if (v->kind == VERDICT_TEMPFAIL)
		finish(s, MSG_TEMPFAIL, v->code, v->dsn, v->text);
	else
		finish(s, MSG_QUEUED, 250, "2.0.0", "");
}

/* The filters have answered: commit what they left, or tell their verdict. */
static void
on_content_done(void *ctx, const struct verdict *v)
{
	struct msg_sub *s = ctx;
	struct timeval now = { 0, 0 };
	struct spool_txn *txn = s->ct.txn;
	int r;

	if (v == NULL) {
		s->ct.txn = NULL;	/* the spool frees it after the commit */
		spool_txn_commit(txn, on_committed, s);
		return;
	}
	s->verdict = *v;
	r = event_base_once(s->core->d.base, -1, EV_TIMEOUT, on_decided_later, s, &now);
	ASSERT(r == 0);
}

static void end_now(struct msg_sub *s);

/*
 * Writes the whole message's next pieces until the step asks for a pause
 * (its drain calls again) or every byte is in; then the end, if it waits.
 */
static void
feed_whole(struct msg_sub *s)
{
	if (s->is_feeding)
		return;		/* a drain inside the write: the loop in hand goes on */
	s->is_feeding = 1;
	while (s->whole_at < s->whole.len) {
		const uint8_t *p = s->whole.data + s->whole_at;
		size_t n = s->whole.len - s->whole_at;

		if (n > WHOLE_PIECE)
			n = WHOLE_PIECE;
		s->whole_at += n;
		if (msg_sub_write(s, p, n) == 1) {
			s->is_feeding = 0;
			return;
		}
	}
	s->is_feeding = 0;
	buf_clear(&s->whole);
	if (s->is_end_waiting) {
		s->is_end_waiting = 0;
		end_now(s);
	}
}

static void
on_whole_drain(void *ctx)
{
	feed_whole(ctx);
}

void
msg_sub_write_whole(struct msg_sub *s, struct buf *message)
{
	size_t max = message->max;

	ASSERT(s->whole.data == NULL && !s->is_end_waiting);
	s->whole = *message;
	buf_init(message, max);
	s->whole_at = 0;
	msg_sub_set_drain_cb(s, on_whole_drain, s);
	feed_whole(s);
}

void
msg_sub_end(struct msg_sub *s, void (*done)(void *ctx, const struct msg_result *r), void *ctx)
{
	s->done = done;
	s->done_ctx = ctx;
	if (s->whole_at < s->whole.len) {
		s->is_end_waiting = 1;	/* after the last piece of msg_sub_write_whole() */
		return;
	}
	end_now(s);
}

static void
end_now(struct msg_sub *s)
{
	struct timeval now = { 0, 0 };
	int r;

	/* a message that ended inside its header section, or had no body */
	if (!s->is_open)
		(void)header_open(s);
	if (s->env->origin == SPOOL_FROM_SMTP && s->scan.nreceived > s->core->d.cfg->max_hops) {
		spool_txn_abort(&s->ct.txn);
		r = event_base_once(s->core->d.base, -1, EV_TIMEOUT, on_refused_later, s, &now);
		ASSERT(r == 0);
		return;
	}
	content_end(&s->ct, on_content_done, s);
}
