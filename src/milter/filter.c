/*
 * filter.c - a milter as a filter of the content step (src/msg/filter.h):
 * the step's events become the filter's steps (each header field, the end
 * of the header, the body in chunks of at most 65535 bytes, the end of the
 * message), its answers become the step's answers, and the changes it asks
 * for at the end are made through the step, in the order they came:
 * header fields added, inserted, changed and removed, recipients added and
 * removed, the sender changed, the body replaced, the message held
 * (quarantine). A change the step refuses (an address that is none, a
 * field past the bound) is logged and skipped; the filter's verdict stands.
 *
 * An SMTP connection's filters already heard connect, HELO, MAIL, RCPT and
 * DATA through their set (set.c). A message from another entrance gets a
 * connection to each of server.local_milters from its pool, and those steps
 * are played first, from the envelope, as from a client on 127.0.0.1.
 */
#include "milter/milter_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msg/filter.h"
#include "msg/msg.h"
#include "util/log_event.h"
#include "util/xalloc.h"

#define MAX_REFUSED_RCPTS 100	/* recipients a local entrance's filter refused, removed at the end */

enum job { JOB_NONE, JOB_HEADER, JOB_EOH, JOB_BODY, JOB_END };

struct mfilter {
	struct milter_client *mc;
	struct milter_pool *pool;	/* a local entrance's: mc is this message's, from the pool */
	struct msg_filter *f;		/* the step's handle, from the first event on */
	char qid[QID_LEN + 1];
	/* a local entrance's steps before the message: 0 connect, 1 HELO, 2 MAIL, 3.. RCPT, DATA */
	size_t prestep;
	int is_prestepped;
	char **refused;			/* recipients refused at RCPT (local entrances) */
	size_t nrefused;
	/* the event in hand */
	enum job job;
	char hname[1000];
	struct buf data;		/* a field's value, or body bytes not yet sent */
	size_t data_at;
	int is_waiting;			/* a step is out: the event answered WAIT */
	int is_decided;			/* msg_filter_answer() was called */
	int is_quarantined;
	char quarantine[VERDICT_TEXT_MAX - 32];	/* the filter's reason */
};

static void on_answer(void *ctx, const struct milter_action *act);

/* ---- changes ---- */

/* A string of the reply (ends with the packet's NUL) as a C string in out. */
static const char *
cstr(struct slice s, char *out, size_t size)
{
	snprintf(out, size, "%.*s", (int)s.len, (const char *)s.p);
	return out;
}

static void
apply_change(struct mfilter *mf, const struct milter_reply *r)
{
	char err[256], addr[600];
	const char *name = (const char *)r->name.p, *value = (const char *)r->value.p;
	int rc = 0;

	switch (r->cmd) {
	case MILTER_REP_ADDHEADER:
		rc = msg_filter_header_add(mf->f, name, value, err, sizeof(err));
		break;
	case MILTER_REP_INSHEADER:
		rc = msg_filter_header_insert(mf->f, r->index, name, value, err, sizeof(err));
		break;
	case MILTER_REP_CHGHEADER:
		/* index 0 is the first, as 1 is (Postfix); an empty value removes the field */
		rc = msg_filter_header_change(mf->f, name, r->index ? r->index : 1,
		    r->value.len ? value : NULL, err, sizeof(err));
		break;
	case MILTER_REP_ADDRCPT: case MILTER_REP_ADDRCPT_PAR:
		rc = msg_filter_add_rcpt(mf->f, cstr(r->addr, addr, sizeof(addr)), err, sizeof(err));
		break;
	case MILTER_REP_DELRCPT:
		rc = msg_filter_del_rcpt(mf->f, cstr(r->addr, addr, sizeof(addr)), err, sizeof(err));
		break;
	case MILTER_REP_CHGFROM:
		rc = msg_filter_set_sender(mf->f, cstr(r->addr, addr, sizeof(addr)), err,
		    sizeof(err));
		break;
	case MILTER_REP_REPLBODY:
		/* the step may ask us to stop: the filter is read no further until it drains */
		if (msg_filter_replace_body(mf->f, r->value.p, r->value.len) == 1)
			milter_client_pause(mf->mc);
		break;
	case MILTER_REP_QUARANTINE:
		mf->is_quarantined = 1;
		cstr(r->value, mf->quarantine, sizeof(mf->quarantine));
		break;
	default:
		break;
	}
	if (rc == -1)
		log_ev_milter_change_refused(mf->qid, milter_client_name(mf->mc),
		    milter_reply_name(r->cmd), err);
}

/* ---- answers ---- */

static void
decide(struct mfilter *mf, const struct verdict *v)
{
	mf->is_decided = 1;
	msg_filter_answer(mf->f, v);
}

/* The local entrance's refused recipients go, now that changes may be made. */
static void
remove_refused(struct mfilter *mf)
{
	char err[256];

	for (size_t i = 0; i < mf->nrefused; i++)
		if (msg_filter_del_rcpt(mf->f, mf->refused[i], err, sizeof(err)) == -1)
			log_ev_milter_change_refused(mf->qid, milter_client_name(mf->mc), "DELRCPT",
			    err);
}

/*
 * The answer to the step out. Returns 1 when the event in hand is over
 * (decided, or the filter is done with the message), 0 to go on with it.
 */
static int
answered(struct mfilter *mf, const struct verdict *v)
{
	if (mf->job == JOB_END) {
		struct verdict held;

		if (v->kind == VERDICT_ACCEPT && mf->is_quarantined) {
			char rule[VERDICT_RULE_MAX + 1];

			snprintf(rule, sizeof(rule), "milter:%s", milter_client_name(mf->mc));
			verdict_set(&held, VERDICT_HOLD, 0, "", rule, "quarantined: %s", mf->quarantine);
			v = &held;
		}
		remove_refused(mf);
		decide(mf, v);
		return 1;
	}
	if (v->kind != VERDICT_ACCEPT) {
		decide(mf, v);
		return 1;
	}
	if (milter_client_msg_is_over(mf->mc)) {
		decide(mf, v);	/* ACCEPT: it has seen enough */
		return 1;
	}
	return 0;
}

/* Asks a local entrance's step before the message (mf->prestep); as the client's steps. */
static int
ask_prestep(struct mfilter *mf, struct milter_action *act)
{
	const struct spool_msg *env = msg_filter_env(mf->f);
	size_t i = mf->prestep;
	char path[600];

	switch (i) {
	case 0:
		return milter_client_connect(mf->mc, "localhost", '4', 0, "127.0.0.1", on_answer, mf,
		    act);
	case 1:
		return milter_client_helo(mf->mc, "localhost", on_answer, mf, act);
	case 2:
		snprintf(path, sizeof(path), "<%s>", env->sender);
		milter_client_set_macro(mf->mc, "{mail_addr}", env->sender);
		return milter_client_mail(mf->mc, (const char *[]){ path }, 1, on_answer, mf, act);
	default:
		if (i - 3 < env->nrcpts) {
			snprintf(path, sizeof(path), "<%s>", env->rcpts[i - 3].to);
			milter_client_set_macro(mf->mc, "{rcpt_addr}", env->rcpts[i - 3].to);
			return milter_client_rcpt(mf->mc, (const char *[]){ path }, 1, on_answer, mf,
			    act);
		}
		return milter_client_data(mf->mc, on_answer, mf, act);
	}
}

/* The answer v to the step just asked; 1 when the event in hand is over. */
static int
step_done(struct mfilter *mf, const struct verdict *v)
{
	if (!mf->is_prestepped) {
		size_t i = mf->prestep++, nrcpts = msg_filter_env(mf->f)->nrcpts;

		if (i >= 3 && i - 3 < nrcpts && v->kind != VERDICT_ACCEPT &&
		    v->kind != VERDICT_DISCARD) {
			/* that recipient alone is refused: it goes at the end */
			if (mf->nrefused < MAX_REFUSED_RCPTS) {
				mf->refused = xrealloc(mf->refused, (mf->nrefused + 1) * sizeof(char *));
				mf->refused[mf->nrefused++] =
				    xstrdup(msg_filter_env(mf->f)->rcpts[i - 3].to);
			}
			return 0;
		}
		if (answered(mf, v))
			return 1;
		if (i == 3 + nrcpts)
			mf->is_prestepped = 1;	/* DATA answered */
		return 0;
	}
	return answered(mf, v);
}

/*
 * Goes on with the event in hand as far as it can: 1 when it is done (or
 * the message decided), 0 while a step is out (its answer calls again).
 */
static int
work(struct mfilter *mf)
{
	struct milter_action act;

	while (!mf->is_decided && !mf->is_prestepped) {
		if (!ask_prestep(mf, &act))
			return 0;
		if (step_done(mf, &act.v))
			return 1;
	}
	if (mf->is_decided)
		return 1;
	switch (mf->job) {
	case JOB_HEADER:
		mf->job = JOB_NONE;
		if (!milter_client_header(mf->mc, mf->hname, buf_slice(&mf->data), on_answer, mf,
		    &act))
			return 0;
		break;
	case JOB_EOH:
		mf->job = JOB_NONE;
		if (!milter_client_eoh(mf->mc, on_answer, mf, &act))
			return 0;
		break;
	case JOB_BODY:
		while (mf->data_at < mf->data.len && !milter_client_body_unwanted(mf->mc)) {
			size_t n = mf->data.len - mf->data_at;

			if (n > MILTER_CHUNK)
				n = MILTER_CHUNK;
			mf->data_at += n;
			if (!milter_client_body(mf->mc, mf->data.data + mf->data_at - n, n, on_answer,
			    mf, &act))
				return 0;
			if (step_done(mf, &act.v))
				return 1;
		}
		mf->job = JOB_NONE;
		return 1;
	case JOB_END:
		if (!milter_client_eom(mf->mc, on_answer, mf, &act))
			return 0;
		break;
	default:
		return 1;
	}
	(void)step_done(mf, &act.v);
	return 1;
}

static void
on_answer(void *ctx, const struct milter_action *act)
{
	struct mfilter *mf = ctx;

	if (act->kind == MILTER_CHANGE) {
		apply_change(mf, act->change);
		return;
	}
	if (step_done(mf, &act->v))
		return;
	if (work(mf) && mf->is_waiting && !mf->is_decided) {
		mf->is_waiting = 0;
		msg_filter_resume(mf->f);
	}
}

/* ---- the step's events ---- */

static enum msg_filter_go
go(struct mfilter *mf, struct msg_filter *f)
{
	mf->f = f;
	if (work(mf))
		return MSG_FILTER_MORE;
	mf->is_waiting = 1;
	return MSG_FILTER_WAIT;
}

static enum msg_filter_go
ev_header(void *self, struct msg_filter *f, const struct header_field *field)
{
	struct mfilter *mf = self;
	struct slice v = header_field_value(field);

	if (mf->is_decided)
		return MSG_FILTER_MORE;
	snprintf(mf->hname, sizeof(mf->hname), "%.*s", (int)field->name_len,
	    (const char *)field->raw);
	buf_reset(&mf->data);
	/* a field is at most HEADER_LIST_MAX: the buffer's bound */
	(void)buf_append(&mf->data, v.p, v.len);
	mf->job = JOB_HEADER;
	return go(mf, f);
}

static enum msg_filter_go
ev_end_of_header(void *self, struct msg_filter *f)
{
	struct mfilter *mf = self;

	if (mf->is_decided)
		return MSG_FILTER_MORE;
	mf->job = JOB_EOH;
	return go(mf, f);
}

static enum msg_filter_go
ev_body(void *self, struct msg_filter *f, const uint8_t *p, size_t n)
{
	struct mfilter *mf = self;

	if (mf->is_decided || milter_client_body_unwanted(mf->mc))
		return MSG_FILTER_MORE;
	buf_reset(&mf->data);
	mf->data_at = 0;
	if (buf_append(&mf->data, p, n) == -1)
		return MSG_FILTER_MORE;	/* a piece is far below the bound */
	mf->job = JOB_BODY;
	return go(mf, f);
}

static void
ev_end(void *self, struct msg_filter *f)
{
	struct mfilter *mf = self;

	mf->f = f;
	if (mf->is_decided)
		return;
	mf->job = JOB_END;
	(void)work(mf);
}

static void
ev_body_drained(void *self, struct msg_filter *f)
{
	struct mfilter *mf = self;

	mf->f = f;
	milter_client_resume(mf->mc);
}

static void
ev_abort(void *self)
{
	struct mfilter *mf = self;

	mf->is_decided = 1;
	milter_client_abort(mf->mc, mf);
}

static void
ev_free(void *self)
{
	struct mfilter *mf = self;

	if (mf->pool != NULL)
		milter_pool_give(mf->pool, &mf->mc);
	else if (!mf->is_decided)
		/* given up unanswered; once answered, the connection may be on the next message */
		milter_client_abort(mf->mc, mf);
	for (size_t i = 0; i < mf->nrefused; i++)
		free(mf->refused[i]);
	free(mf->refused);
	buf_clear(&mf->data);
	free(mf);
}

static const struct msg_filter_ops milter_filter_ops = {
	.name = "milter",
	.header = ev_header,
	.end_of_header = ev_end_of_header,
	.body = ev_body,
	.body_replaced = NULL,	/* a filter saw the body as it came: it cannot see it again */
	.end = ev_end,
	.body_drained = ev_body_drained,
	.abort = ev_abort,
	.free = ev_free,
};

static struct mfilter *
mfilter_new(struct milter_client *mc, struct milter_pool *pool, const char *qid)
{
	struct mfilter *mf = xcalloc(1, sizeof(*mf));

	mf->mc = mc;
	mf->pool = pool;
	mf->is_prestepped = pool == NULL;
	snprintf(mf->qid, sizeof(mf->qid), "%s", qid);
	buf_init(&mf->data, HEADER_LIST_MAX);
	milter_client_set_macro(mc, "i", qid);
	return mf;
}

/* ---- the SMTP connection's filters ---- */

void
milter_filters_add(struct milter_client *const *clients, size_t n, struct msg_sub *sub,
    const char *qid)
{
	for (size_t i = 0; i < n; i++) {
		if (milter_client_msg_is_over(clients[i]))
			continue;	/* accepted the connection or the message, or down with accept */
		msg_sub_add_filter(sub, &milter_filter_ops, mfilter_new(clients[i], NULL, qid));
	}
}

/* ---- the other entrances ---- */

struct local_maker {
	struct milter_pool *pool;
	const struct config *cfg;
	size_t idx;			/* the filter, in cfg->milters */
	struct msg_filter_maker maker;
};

static void *
make_local(void *ctx, const struct spool_msg *env, const char *entrance)
{
	struct local_maker *lm = ctx;
	struct milter_client *mc;

	/* SMTP has its listener's filters; the queue's own notices are not filtered */
	if (env->origin == SPOOL_FROM_SMTP || env->origin == SPOOL_FROM_NOTICE)
		return NULL;
	mc = milter_pool_take(lm->pool, lm->idx, env->qid);
	milter_client_set_macro(mc, "j", lm->cfg->hostname);
	milter_client_set_macro(mc, "v", "sterna " STERNA_VERSION);
	milter_client_set_macro(mc, "_", "localhost [127.0.0.1]");
	milter_client_set_macro(mc, "{daemon_name}", entrance);
	milter_client_set_macro(mc, "{client_addr}", "127.0.0.1");
	milter_client_set_macro(mc, "{client_name}", "localhost");
	milter_client_set_macro(mc, "{auth_authen}", env->auth_user ? env->auth_user :
	    env->local_user);
	return mfilter_new(mc, lm->pool, env->qid);
}

struct milter_local {
	struct local_maker makers[CONFIG_MILTERS_MAX];
};

struct milter_local *
milter_local_new(struct msg_core *core, struct milter_pool *pool, const struct config *cfg)
{
	struct milter_local *l;

	if (cfg->nlocal_milters == 0)
		return NULL;
	l = xcalloc(1, sizeof(*l));
	for (size_t i = 0; i < cfg->nlocal_milters; i++) {
		/* the core keeps a pointer to each maker's ctx: they live in l, after the core */
		struct local_maker *lm = &l->makers[i];

		lm->pool = pool;
		lm->cfg = cfg;
		lm->idx = cfg->local_milter_idx[i];
		lm->maker.ops = &milter_filter_ops;
		lm->maker.place = MSG_FILTER_CONTENT;
		lm->maker.make = make_local;
		lm->maker.ctx = lm;
		msg_core_add_filter(core, &lm->maker);
	}
	return l;
}

void
milter_local_free(struct milter_local **l)
{
	free(*l);
	*l = NULL;
}
