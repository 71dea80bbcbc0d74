/*
 * content.c - the content step of a submission (filter.h): the bytes the
 * header stage passes on go to the spool at once, and through the chain
 * of filters, which judge and change the message.
 *
 * The step sees the stored content (the header stage's fields first), cuts
 * its header section into fields with the header stage's own scanner (a
 * line starts a field, continues one, or ends the section exactly as
 * hdrscan says), keeps them in a header list, and feeds each filter in
 * order from its own cursor: fields, the end of the header section, the
 * body from a backlog that holds only what some filter has not taken yet.
 * A filter that answers WAIT holds its feeder back (the entrance, or a
 * filter writing a new body): memory is the header section plus a piece
 * or two of body. With no filter at all the step only passes bytes on.
 *
 * At the end each filter's end() follows the answer of the one before, so
 * each sees the changes made before it; the last are the signers'. What
 * changed is told to the spool transaction (F, B, N/S/R, H records) before
 * the commit, and the body is never written twice.
 */
#include "msg/msg_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smtp/smtp.h"
#include "util/ascii.h"
#include "util/log.h"
#include "util/log_event.h"
#include "util/xalloc.h"

#define BODY_PIECE (64 * 1024)		/* body bytes per event */
#define BACKLOG_PAUSE (256 * 1024)	/* body not yet taken by every filter: pause the feeder */

struct msg_filter {
	struct content *ct;
	const struct msg_filter_ops *ops;
	void *self;
	size_t nheaders;	/* header fields sent */
	uint64_t body_sent;	/* body bytes sent (of the new body once it is replaced) */
	int has_eoh;		/* the end of the header section was sent */
	int is_waiting;		/* answered WAIT, not resumed */
	int is_done;		/* answered: gets no more events */
	int is_ended;		/* end() was called */
	int has_no_body;	/* the body was replaced and it wants no new one */
};

static void pump(struct content *ct);
static void end_next(struct content *ct);
static void backlog_add(struct content *ct, const uint8_t *p, size_t n);

/* ---- the chain ---- */

static struct msg_filter *
filter_new(struct content *ct, const struct msg_filter_ops *ops, void *self)
{
	struct msg_filter *f = xcalloc(1, sizeof(*f));

	ASSERT(ops->end != NULL && ops->free != NULL);
	f->ct = ct;
	f->ops = ops;
	f->self = self;
	ct->chain = xrealloc(ct->chain, (ct->nchain + 1) * sizeof(*ct->chain));
	ct->chain[ct->nchain++] = f;
	return f;
}

static void on_pump_later(evutil_socket_t fd, short what, void *arg);

void
content_init(struct content *ct, struct msg_core *c, struct spool_msg *env, const char *entrance)
{
	memset(ct, 0, sizeof(*ct));
	ct->core = c;
	ct->env = env;
	ct->entrance = entrance;
	ct->body_at = UINT64_MAX;
	hdrscan_init(&ct->scan);
	header_list_init(&ct->list);
	/* a field is held until the next line shows it ended: the scan's bound holds both */
	buf_init(&ct->field, HDRSCAN_MAX_BYTES + 1024);
	buf_init(&ct->line, HDRSCAN_MAX_BYTES + 1024);
	/*
	 * A feeder that obeys the pause keeps it under BACKLOG_PAUSE and a
	 * piece; one that hands the whole message over at once (the HTTP API,
	 * a notice) holds it in memory already: the message's bound is its.
	 */
	buf_init(&ct->backlog, c->d.cfg->max_message_bytes + BACKLOG_PAUSE + 2 * BODY_PIECE);
}

void
content_add_filter(struct content *ct, const struct msg_filter_ops *ops, void *self)
{
	ASSERT(!ct->is_open);
	(void)filter_new(ct, ops, self);
}

/* Tells every filter that has not answered that the message is abandoned. */
static void
abort_filters(struct content *ct)
{
	for (size_t i = 0; i < ct->nchain; i++) {
		struct msg_filter *f = ct->chain[i];

		if (!f->is_done && f->ops->abort != NULL)
			f->ops->abort(f->self);
		f->is_done = 1;
	}
}

void
content_clear(struct content *ct)
{
	abort_filters(ct);
	for (size_t i = 0; i < ct->nchain; i++) {
		ct->chain[i]->ops->free(ct->chain[i]->self);
		free(ct->chain[i]);
	}
	free(ct->chain);
	spool_txn_abort(&ct->txn);
	header_list_clear(&ct->list);
	buf_clear(&ct->field);
	buf_clear(&ct->line);
	buf_clear(&ct->backlog);
	if (ct->pump_ev != NULL)
		event_free(ct->pump_ev);
	memset(ct, 0, sizeof(*ct));
}

void
content_open(struct content *ct, struct spool_txn *txn)
{
	const struct msg_core *c = ct->core;

	ct->txn = txn;
	ct->is_open = 1;
	/* the entrance's filters are in already; then the core's content filters, then signers */
	for (int place = MSG_FILTER_CONTENT; place <= MSG_FILTER_SIGN; place++)
		for (size_t i = 0; i < c->nmakers; i++) {
			const struct msg_filter_maker *m = &c->makers[i];
			void *self;

			if ((int)m->place == place && (self = m->make(m->ctx, ct->env, ct->entrance)))
				(void)filter_new(ct, m->ops, self);
		}
	ct->is_filtered = ct->nchain > 0;
	if (ct->is_filtered) {
		ct->pump_ev = event_new(c->d.base, -1, 0, on_pump_later, ct);
		ASSERT(ct->pump_ev != NULL);
	}
}

/* ---- what decides the message ---- */

/* v decides the message (rule names the decider when v does not): nothing of it is kept. */
/* The message is decided: by a filter's answer (is_filter), or by the step itself. */
static void
decide(struct content *ct, const struct verdict *v, const char *rule, int is_filter)
{
	if (ct->is_decided)
		return;
	ct->is_decided = 1;
	ct->verdict = *v;
	ct->is_filter_verdict = is_filter;
	if (ct->verdict.rule[0] == '\0')
		snprintf(ct->verdict.rule, sizeof(ct->verdict.rule), "%s", rule);
	spool_txn_abort(&ct->txn);
	buf_reset(&ct->backlog);
	ct->is_spool_paused = 0;
	abort_filters(ct);
}

static void
too_large(struct content *ct)
{
	struct verdict v;

	verdict_set(&v, VERDICT_REJECT, 552, "5.3.4", "content",
	    "header section too large to be filtered");
	decide(ct, &v, "content", 0);
}

/* ---- the header section, cut into fields ---- */

/* The field in hand is whole: into the list. */
static void
field_done(struct content *ct)
{
	if (ct->field.len == 0)
		return;
	if (header_list_append_raw(&ct->list, ct->field.data, ct->field.len) == -1)
		too_large(ct);
	buf_reset(&ct->field);
}

/* The header section's fields end at content offset at; the body starts at body_at. */
static void
header_done(struct content *ct, uint64_t at, uint64_t body_at)
{
	field_done(ct);
	ct->is_header_done = 1;
	ct->header_len = at;
	ct->body_at = body_at;
}

/*
 * One whole line of the header section (or the last bytes of a message
 * that ends inside it), at content offset at: a new field, a fold of the
 * one in hand, or the end of the section, as the header stage's scanner
 * judges it.
 */
static void
header_line(struct content *ct, const uint8_t *p, size_t n, uint64_t at)
{
	unsigned before = ct->scan.nfields;

	(void)hdrscan_feed(&ct->scan, p, n);
	if (ct->scan.is_done) {
		if (ct->scan.end == HDRSCAN_END_BOUND) {
			too_large(ct);
			return;
		}
		/* the empty line is no body; a line that is no field is the body's first */
		if (ct->scan.end == HDRSCAN_END_EMPTY_LINE) {
			header_done(ct, at, at + n);
		} else {
			header_done(ct, at, at);
			backlog_add(ct, p, n);
		}
		return;
	}
	if (ct->scan.nfields > before)
		field_done(ct);
	if (!ct->is_decided && buf_append(&ct->field, p, n) == -1)
		too_large(ct);
}

/* Bytes of the header section: whole lines are judged, a partial one waits. Returns those used. */
static size_t
header_feed(struct content *ct, const uint8_t *p, size_t n)
{
	size_t used = 0;

	while (used < n && !ct->is_header_done && !ct->is_decided) {
		const uint8_t *lf = memchr(p + used, '\n', n - used);
		size_t take = lf != NULL ? (size_t)(lf - (p + used)) + 1 : n - used;

		if (buf_append(&ct->line, p + used, take) == -1) {
			too_large(ct);
			break;
		}
		used += take;
		if (lf != NULL) {
			header_line(ct, ct->line.data, ct->line.len, ct->bytes + used - ct->line.len);
			buf_reset(&ct->line);
		}
	}
	return used;
}

/* ---- feeding the filters ---- */

static int
is_blocking(const struct content *ct)
{
	for (size_t i = 0; i < ct->nchain; i++)
		if (ct->chain[i]->is_waiting && !ct->chain[i]->is_done)
			return 1;
	return 0;
}

static int
wants_body(const struct msg_filter *f)
{
	return !f->is_done && !f->is_ended && !f->has_no_body && f->ops->body != NULL;
}

/* Drops the backlog's bytes that every filter has taken. */
static void
backlog_trim(struct content *ct)
{
	uint64_t low = ct->backlog_base + ct->backlog.len;

	for (size_t i = 0; i < ct->nchain; i++)
		if (wants_body(ct->chain[i]) && ct->chain[i]->body_sent < low)
			low = ct->chain[i]->body_sent;
	if (low > ct->backlog_base) {
		buf_consume(&ct->backlog, (size_t)(low - ct->backlog_base));
		ct->backlog_base = low;
	}
}

/* Sends f what it has not had yet; stops at a WAIT or an answer. */
static void
feed(struct content *ct, struct msg_filter *f)
{
	enum msg_filter_go go = MSG_FILTER_MORE;

	while (!f->is_waiting && !ct->is_decided && !f->is_done && !f->is_ended &&
	    go == MSG_FILTER_MORE) {
		/* header events come from the stream: once the ends begin, the list is the filters' */
		if (!ct->is_end_phase && f->nheaders < header_list_count(&ct->list)) {
			struct header_field fld = header_list_get(&ct->list, f->nheaders++);

			if (f->ops->header != NULL)
				go = f->ops->header(f->self, f, &fld);
		} else if (!ct->is_end_phase && ct->is_header_done && !f->has_eoh) {
			f->has_eoh = 1;
			if (f->ops->end_of_header != NULL)
				go = f->ops->end_of_header(f->self, f);
		} else if (f->has_eoh && wants_body(f) &&
		    f->body_sent < ct->backlog_base + ct->backlog.len) {
			uint64_t n = ct->backlog_base + ct->backlog.len - f->body_sent;
			const uint8_t *p = ct->backlog.data + (f->body_sent - ct->backlog_base);

			if (n > BODY_PIECE)
				n = BODY_PIECE;
			f->body_sent += n;
			go = f->ops->body(f->self, f, p, (size_t)n);
		} else {
			break;
		}
		if (go == MSG_FILTER_WAIT && !f->is_done)
			f->is_waiting = 1;
	}
}

/* 1 if the feeder (the entrance, or a filter writing a new body) must wait. */
static int
is_held_back(const struct content *ct)
{
	return !ct->is_decided &&
	    (ct->is_spool_paused || is_blocking(ct) || ct->backlog.len >= BACKLOG_PAUSE);
}

/* Tells the feeder it may go on, once nothing holds it back. */
static void
maybe_drain(struct content *ct)
{
	struct msg_filter *w = ct->body_writer;

	if (!ct->is_feeder_paused || is_held_back(ct))
		return;
	ct->is_feeder_paused = 0;
	if (w != NULL) {
		if (w->ops->body_drained != NULL)
			w->ops->body_drained(w->self, w);
	} else if (ct->on_drain != NULL) {
		ct->on_drain(ct->drain_ctx);
	}
}

static void
pump(struct content *ct)
{
	if (ct->is_pumping)
		return;		/* a filter called back inside an event: the loop below goes on */
	ct->is_pumping = 1;
	for (size_t i = 0; i < ct->nchain && !ct->is_decided; i++)
		feed(ct, ct->chain[i]);
	ct->is_pumping = 0;
	backlog_trim(ct);
	maybe_drain(ct);
	if (ct->is_ending && !ct->is_in_end)
		end_next(ct);
}

static void
on_pump_later(evutil_socket_t fd, short what, void *arg)
{
	(void)fd, (void)what;
	pump(arg);
}

/* Schedules a pump on the next turn of the loop (never inside a filter's call). */
static void
pump_later(struct content *ct)
{
	event_active(ct->pump_ev, EV_TIMEOUT, 0);
}

void
content_spool_drained(struct content *ct)
{
	ct->is_spool_paused = 0;
	maybe_drain(ct);
}

/* Appends body bytes for the filters (the new body's too). */
static void
backlog_add(struct content *ct, const uint8_t *p, size_t n)
{
	/* the feeder stops at BACKLOG_PAUSE: the ceiling is never reached by a feeder that obeys */
	if (buf_append(&ct->backlog, p, n) == -1) {
		struct verdict v;

		verdict_set(&v, VERDICT_TEMPFAIL, 451, "4.3.0", "content",
		    "content filters fell behind");
		decide(ct, &v, "content", 0);
	}
}

int
content_write(struct content *ct, const void *p, size_t n)
{
	const uint8_t *b = p;

	if (ct->is_decided || n == 0)
		return 0;	/* read to the end and dropped: the verdict comes at the end */
	if (spool_txn_write(ct->txn, p, n) == 1)
		ct->is_spool_paused = 1;
	if (!ct->is_filtered)
		ct->bytes += n;
	/* in pieces: what every filter takes at once never piles up in the backlog */
	for (size_t off = 0; off < n && ct->is_filtered && !ct->is_decided;) {
		size_t take = n - off < BODY_PIECE ? n - off : BODY_PIECE, used = 0;

		if (!ct->is_header_done)
			used = header_feed(ct, b + off, take);
		if (used < take && !ct->is_decided)
			backlog_add(ct, b + off + used, take - used);
		ct->bytes += take;
		off += take;
		pump(ct);
	}
	if (is_held_back(ct)) {
		ct->is_feeder_paused = 1;
		return 1;
	}
	return 0;
}

/* ---- the end of the message ---- */

/* Every filter has answered (or the message is decided): the changes go to the spool. */
static void
finish(struct content *ct)
{
	struct spool_msg *env = ct->env;
	int is_rewritten = ct->list.is_changed || ct->is_body_new;
	struct buf h;

	ct->is_finished = 1;
	if (!ct->is_decided && ct->is_env_changed && env->nrcpts == 0) {
		struct verdict v;

		verdict_set(&v, VERDICT_DISCARD, 0, "", "content", "no recipients left");
		decide(ct, &v, "content", 0);
	}
	buf_init(&h, HEADER_LIST_MAX);
	if (!ct->is_decided && is_rewritten && header_list_write(&ct->list, &h) == -1) {
		struct verdict v;

		verdict_set(&v, VERDICT_TEMPFAIL, 451, "4.3.0", "content",
		    "the changed header section does not fit the queue file");
		decide(ct, &v, "content", 0);
	}
	if (!ct->is_decided) {
		/* the file's order: B (written already), N S R, F, E, H */
		if (ct->is_env_changed)
			spool_txn_set_envelope(ct->txn, env);
		if (is_rewritten)
			(void)spool_txn_set_header(ct->txn, ct->header_len, h.data, h.len);
		if (ct->is_held) {
			spool_txn_set_held(ct->txn);
			env->is_held = 1;	/* the scheduler takes it held, as the file says */
		}
	}
	/* the size every reader will see */
	env->content_bytes = !is_rewritten ? ct->bytes : h.len +
	    ((ct->is_body_new ? ct->body_at : ct->bytes) - ct->header_len) + ct->new_body_bytes;
	buf_clear(&h);
	ct->done(ct->done_ctx, ct->is_decided ? &ct->verdict : NULL);
}

/*
 * The next filter's end(), once every filter has taken every event (a new
 * body included), or the end of the chain. A filter that answers inside
 * its end() is followed here; one that answers later, through pump().
 */
static void
end_next(struct content *ct)
{
	ct->is_in_end = 1;
	while (!ct->is_finished) {
		struct msg_filter *f;

		if (ct->is_decided) {
			finish(ct);
			break;
		}
		if (ct->in_end != NULL || is_blocking(ct))
			break;
		while (ct->end_index < ct->nchain && ct->chain[ct->end_index]->is_done)
			ct->end_index++;
		if (ct->end_index == ct->nchain) {
			finish(ct);
			break;
		}
		f = ct->chain[ct->end_index];
		ct->is_end_phase = 1;
		ct->in_end = f;
		f->is_ended = 1;
		f->ops->end(f->self, f);
		/* answered already: a new body it wrote reaches the next filters first */
		if (ct->in_end == NULL)
			pump(ct);
	}
	ct->is_in_end = 0;
}

void
content_end(struct content *ct, void (*done)(void *ctx, const struct verdict *v), void *ctx)
{
	ct->done = done;
	ct->done_ctx = ctx;
	ct->on_drain = NULL;
	if (!ct->is_filtered && !ct->is_decided) {
		ct->is_finished = 1;
		ct->env->content_bytes = ct->bytes;
		done(ctx, NULL);
		return;
	}
	if (!ct->is_header_done && !ct->is_decided) {
		/* the message ended inside its header section (or without its last line end) */
		if (ct->line.len > 0) {
			header_line(ct, ct->line.data, ct->line.len, ct->bytes - ct->line.len);
			buf_reset(&ct->line);
		}
		if (!ct->is_header_done && !ct->is_decided)
			header_done(ct, ct->bytes, ct->bytes);
	}
	ct->is_ending = 1;
	pump(ct);
}

/* ---- what a filter may call ---- */

const struct spool_msg *
msg_filter_env(const struct msg_filter *f)
{
	return f->ct->env;
}

const char *
msg_filter_entrance(const struct msg_filter *f)
{
	return f->ct->entrance;
}

void
msg_filter_resume(struct msg_filter *f)
{
	f->is_waiting = 0;
	pump_later(f->ct);
}

void
msg_filter_answer(struct msg_filter *f, const struct verdict *v)
{
	struct content *ct = f->ct;

	if (f->is_done || ct->is_decided || ct->is_finished)
		return;
	f->is_done = 1;
	f->is_waiting = 0;
	switch (v->kind) {
	case VERDICT_HOLD:
		ct->is_held = 1;
		break;
	case VERDICT_REJECT:
	case VERDICT_TEMPFAIL:
	case VERDICT_DISCARD:
		decide(ct, v, f->ops->name, 1);
		break;
	case VERDICT_ACCEPT:
	default:
		break;
	}
	if (ct->in_end == f) {
		ct->in_end = NULL;
		ct->body_writer = NULL;
		ct->end_index++;
	}
	/* the next events (or the next end) come on the next turn, not inside the filter's call */
	pump_later(ct);
}

/* The changes of msg_filter_*: only between end() and the answer. */
static int
may_change(const struct msg_filter *f, char *err, size_t errsize)
{
	if (f->ct->in_end == f && !f->ct->is_decided)
		return 0;
	snprintf(err, errsize, "changes are made at the end of the message only");
	return -1;
}

const struct header_list *
msg_filter_headers(const struct msg_filter *f)
{
	return &f->ct->list;
}

int
msg_filter_header_add(struct msg_filter *f, const char *name, const char *value, char *err,
    size_t errsize)
{
	return may_change(f, err, errsize) == -1 ? -1 :
	    header_list_add(&f->ct->list, name, value, err, errsize);
}

int
msg_filter_header_insert(struct msg_filter *f, size_t index, const char *name, const char *value,
    char *err, size_t errsize)
{
	return may_change(f, err, errsize) == -1 ? -1 :
	    header_list_insert(&f->ct->list, index, name, value, err, errsize);
}

int
msg_filter_header_change(struct msg_filter *f, const char *name, unsigned nth, const char *value,
    char *err, size_t errsize)
{
	return may_change(f, err, errsize) == -1 ? -1 :
	    header_list_change(&f->ct->list, name, nth, value, err, errsize);
}

int
msg_filter_set_sender(struct msg_filter *f, const char *addr, char *err, size_t errsize)
{
	struct smtp_addr a;

	if (may_change(f, err, errsize) == -1)
		return -1;
	if (addr[0] != '\0' && (smtp_addr_parse(slice_str(addr), 1, &a) != SMTP_ADDR_OK ||
	    a.has_route)) {
		snprintf(err, errsize, "<%s>: bad sender address syntax", addr);
		return -1;
	}
	free(f->ct->env->sender);
	f->ct->env->sender = xstrdup(addr);
	f->ct->is_env_changed = 1;
	return 0;
}

int
msg_filter_add_rcpt(struct msg_filter *f, const char *addr, char *err, size_t errsize)
{
	if (may_change(f, err, errsize) == -1 ||
	    msg_env_add_rcpt(f->ct->core, f->ct->env, addr, err, errsize) == -1)
		return -1;
	f->ct->is_env_changed = 1;
	return 0;
}

int
msg_filter_del_rcpt(struct msg_filter *f, const char *addr, char *err, size_t errsize)
{
	struct spool_msg *env = f->ct->env;
	size_t kept = 0, n = strlen(addr);

	if (may_change(f, err, errsize) == -1)
		return -1;
	for (size_t i = 0; i < env->nrcpts; i++) {
		struct spool_rcpt *r = &env->rcpts[i];

		if ((strlen(r->orig) == n && ascii_casen_eq(r->orig, addr, n)) ||
		    (strlen(r->to) == n && ascii_casen_eq(r->to, addr, n))) {
			free(r->to);
			free(r->orig);
			free(r->mailbox);
			free(r->reason);
			continue;
		}
		env->rcpts[kept++] = *r;
	}
	if (kept == env->nrcpts) {
		snprintf(err, errsize, "<%s>: no such recipient", addr);
		return -1;
	}
	env->nrcpts = kept;
	f->ct->is_env_changed = 1;
	return 0;
}

int
msg_filter_replace_body(struct msg_filter *f, const void *p, size_t n)
{
	struct content *ct = f->ct;
	char err[64];

	if (may_change(f, err, sizeof(err)) == -1)
		return 0;
	if (!ct->is_body_new || ct->body_writer != f) {
		/* the first piece: the original body is replaced from its start, for every reader */
		ASSERT(!ct->is_body_new);
		ct->is_body_new = 1;
		ct->body_writer = f;
		spool_txn_begin_body(ct->txn, ct->body_at);
		buf_reset(&ct->backlog);
		ct->backlog_base = 0;
		for (size_t i = 0; i < ct->nchain; i++) {
			struct msg_filter *g = ct->chain[i];

			if (g->is_done || g->is_ended)
				continue;
			g->body_sent = 0;
			if (g->ops->body_replaced != NULL)
				g->ops->body_replaced(g->self, g);
			else
				g->has_no_body = 1;
		}
	}
	if (n == 0)
		return 0;
	ct->new_body_bytes += n;
	if (spool_txn_write(ct->txn, p, n) == 1)
		ct->is_spool_paused = 1;
	backlog_add(ct, p, n);
	pump(ct);
	if (is_held_back(ct)) {
		ct->is_feeder_paused = 1;
		return 1;
	}
	return 0;
}
