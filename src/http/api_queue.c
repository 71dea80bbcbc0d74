/*
 * api_queue.c - the endpoints that read the queue and act on it
 * (docs/api.md), through the queue interface (sched/queue.h) and the
 * control socket's JSON (src/qview): the same operations, views and
 * filters as `sterna queue`, not a second implementation.
 *   GET    /v1/health                      no key: 200, or 503 while stopping
 *   GET    /v1/messages/{id}               read, admin: each recipient's state, also
 *                                           once the message is gone (the events')
 *   DELETE /v1/messages/{id}               send (its own messages), admin
 *   GET    /v1/queue                       admin: a page of the listing
 *   GET    /v1/queue/{id}                  admin: one message, in detail
 *   POST   /v1/queue/{id}/{op}             admin: flush, hold, release, delete, bounce
 *   POST   /v1/queue/{op}                  admin: the same on a filter, or "all"
 * Listings go through qview's pager, a slice per turn of the loop. The
 * listing, a message and the operations on one message also take a
 * dashboard session (src/dashboard) in the place of a key.
 */
#include "http/http_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "events/msgstate.h"
#include "qview/qview.h"
#include "util/ascii.h"
#include "util/log_event.h"
#include "util/rfc3339.h"
#include "util/xalloc.h"

#define PAGE_DEFAULT 100
#define PAGE_MAX 1000

struct api {
	struct http *srv;
	struct sched *s;
	struct msgstate *ms;
	struct api_op {
		struct api *a;
		enum sched_op op;
	} ops[5];
};

/* A listing or a lookup in progress for one request. */
struct look {
	struct api *a;
	struct http_req *r;
	struct qview_pager *pager;
	json_t *found;			/* the message(s) as the reply shows them */
	char last_qid[QID_LEN + 1];
	int is_detail, is_api_view, is_owned, is_delete;
	/* a message not in the queue: its recipients' last events were a deletion, ... */
	int is_deleted, is_deferred, is_open;
	struct sched_filter f;		/* a lookup's: f.qid points to qid */
	char qid[QID_LEN + 1];
	struct qview_filter qf;		/* a listing's */
};

/* ---- health ---- */

static void
get_health(struct http_req *r, void *arg)
{
	struct api *a = arg;

	if (a->srv->is_draining) {
		http_reply_retry(r, HTTP_ERR_UNAVAILABLE, 10, "stopping");
		return;
	}
	http_reply_json(r, 200, json_pack("{s:s}", "status", "ok"));
}

/* ---- a message's state, as docs/api.md names states ---- */

/*
 * One recipient as GET /v1/messages/{id} shows it, wherever its state
 * comes from: the queue for what is still to be done, the events
 * (src/events/msgstate.h) for what was done and for a message gone.
 */
struct rcpt_state {
	const char *email, *state;
	unsigned attempts;
	const char *last_reply;
	uint64_t next_attempt_s;
	const struct msgstate_rcpt *ev;	/* its last event, when the events are known */
};

static json_t *
rcpt_state_json(const struct rcpt_state *st)
{
	const struct msgstate_rcpt *e = st->ev;
	char t[32];
	json_t *o = json_pack("{s:o,s:s,s:I,s:o,s:o}", "email", qview_str(st->email),
	    "state", st->state, "attempts", (json_int_t)st->attempts,
	    "last_reply", qview_str(st->last_reply),
	    "next_attempt", qview_time_json(st->next_attempt_s));

	json_object_set_new(o, "reply", e != NULL && (e->code != 0 || e->text != NULL) ?
	    json_pack("{s:i,s:o,s:o}", "code", e->code, "status", qview_str(e->status),
	    "text", qview_str(e->text != NULL ? e->text : "")) : json_null());
	json_object_set_new(o, "bounce", e != NULL && e->bounce_class != BOUNCE_CLASS_NONE ?
	    json_pack("{s:s,s:s}", "class", bounce_class_name(e->bounce_class), "category",
	    bounce_category_name(e->bounce_category)) : json_null());
	if (e != NULL)
		rfc3339_format_ms(e->time_us, t);
	json_object_set_new(o, "time", e != NULL ? json_string(t) : json_null());
	return o;
}

/* A recipient's state in the API's words, from its last event. */
static const char *
event_state(enum event_type t)
{
	switch (t) {
	case EVENT_DEFERRED:
		return "deferred";
	case EVENT_DELIVERED:
		return "delivered";
	case EVENT_BOUNCED:
		return "bounced";
	case EVENT_EXPIRED:
		return "expired";
	case EVENT_SUPPRESSED:
		return "suppressed";
	case EVENT_DELETED:
		return "deleted";
	case EVENT_RECEIVED:
	default:
		return "queued";
	}
}

/* A recipient's state as the events tell it: a message gone, or a recipient done. */
static struct rcpt_state
event_rcpt_state(const struct msgstate_rcpt *e)
{
	return (struct rcpt_state){ .email = e->email, .state = event_state(e->type),
		.attempts = e->attempts, .last_reply = e->text,
		.next_attempt_s = e->type == EVENT_DEFERRED ? e->next_attempt_s : 0, .ev = e };
}

/* What the events know of a queued message's recipients. */
struct known {
	struct msgstate_rcpt *r;
	size_t n, cap;
};

static void
on_known(void *ctx, const struct msgstate_rcpt *r)
{
	struct known *k = ctx;

	if (k->n == k->cap) {
		k->cap = k->cap ? k->cap * 2 : 8;
		k->r = xrealloc(k->r, k->cap * sizeof(*k->r));
	}
	/* the strings stay the index's, unchanged while this view is built */
	k->r[k->n++] = *r;
}

/* Recipient i's (email): the events list recipients in the message's order, as a rule. */
static const struct msgstate_rcpt *
known_of(const struct known *k, size_t i, const char *email)
{
	if (i < k->n && strcmp(k->r[i].email, email) == 0)
		return &k->r[i];
	for (size_t j = 0; j < k->n; j++)
		if (strcmp(k->r[j].email, email) == 0)
			return &k->r[j];
	return NULL;
}

static const char *
waiting_state(const struct sched_view *v, const char *otherwise)
{
	return v->state == SCHED_HELD ? "held" : v->state == SCHED_SCHEDULED ? "scheduled" :
	    otherwise;
}

/* Recipient i of a queued message: the queue's, or for one done, its last event's. */
static struct rcpt_state
queue_rcpt_state(const struct sched_view *v, size_t i, const struct known *k)
{
	const struct spool_rcpt *rc = &v->m->rcpts[i];
	const struct msgstate_rcpt *e = known_of(k, i, rc->to);
	struct rcpt_state st = { .email = rc->to, .attempts = rc->attempts,
		.last_reply = rc->reason, .ev = e };

	switch (sched_view_rcpt(v, i)) {
	case SCHED_RCPT_DELIVERED:
	case SCHED_RCPT_FAILED:
		/* done: its event says how (delivered, bounced, expired, suppressed), with the reply */
		if (e != NULL && e->type != EVENT_RECEIVED && e->type != EVENT_DEFERRED)
			return event_rcpt_state(e);
		st.state = sched_view_rcpt(v, i) == SCHED_RCPT_DELIVERED ? "delivered" :
		    /* RFC 3463 4.4.7: given up after queue.lifetime */
		    strcmp(rc->status, "4.4.7") == 0 ? "expired" : "bounced";
		return st;
	case SCHED_RCPT_DEFERRED:
		st.state = waiting_state(v, "deferred");
		break;
	case SCHED_RCPT_ACTIVE:
		st.state = waiting_state(v, "queued");
		return st;	/* being tried now */
	case SCHED_RCPT_PENDING:
	default:
		st.state = waiting_state(v, "queued");
		break;
	}
	if (v->state != SCHED_HELD)
		st.next_attempt_s = v->state == SCHED_SCHEDULED ? v->m->release_s : rc->next_try_s;
	return st;
}

static json_t *
api_view(const struct api *a, const struct sched_view *v)
{
	json_t *rcpts = json_array();
	const char *state = v->state == SCHED_HELD ? "held" : v->state == SCHED_DEFERRED ?
	    "deferred" : v->state == SCHED_SCHEDULED ? "scheduled" : "queued";
	struct known k = { NULL, 0, 0 };

	if (a->ms != NULL)
		(void)msgstate_get(a->ms, v->m->qid, on_known, &k);
	for (size_t i = 0; i < v->m->nrcpts; i++) {
		struct rcpt_state st = queue_rcpt_state(v, i, &k);

		json_array_append_new(rcpts, rcpt_state_json(&st));
	}
	free(k.r);
	return json_pack("{s:s,s:s,s:o}", "id", v->m->qid, "state", state, "recipients", rcpts);
}

/* A recipient of a message gone, from its last event. */
static void
on_gone_rcpt(void *ctx, const struct msgstate_rcpt *r)
{
	struct look *l = ctx;
	struct rcpt_state st = event_rcpt_state(r);

	l->is_deleted |= r->type == EVENT_DELETED;
	l->is_deferred |= r->type == EVENT_DEFERRED;
	l->is_open |= r->type == EVENT_RECEIVED || r->type == EVENT_DEFERRED;
	json_array_append_new(l->found, rcpt_state_json(&st));
}

static void look_free(struct look *l);

/*
 * A message not in the queue: "done", or "deleted" when an operator or a
 * key deleted it. One whose recipients the events leave open is queued
 * still but not read back yet (at start), or lost its last events in a
 * crash: it is shown as they left it.
 */
static void
on_gone(void *ctx, enum msgstate_found found)
{
	struct look *l = ctx;
	const char *state = l->is_deleted ? "deleted" : !l->is_open ? "done" :
	    l->is_deferred ? "deferred" : "queued";

	if (found == MSGSTATE_FOUND)
		http_reply_json(l->r, 200, json_pack("{s:s,s:s,s:O}", "id", l->qid, "state",
		    state, "recipients", l->found));
	else if (found == MSGSTATE_UNAVAILABLE)
		http_reply_retry(l->r, HTTP_ERR_UNAVAILABLE, 1, "the event log is being read; "
		    "try again");
	else
		http_reply_error(l->r, HTTP_ERR_NOT_FOUND, "no message %s in the queue or in the "
		    "event log", l->qid);
	look_free(l);
}

/* ---- lookups and listings ---- */

static void
look_free(struct look *l)
{
	qview_pager_free(&l->pager);
	json_decref(l->found);
	qview_filter_clear(&l->qf);
	free(l);
}

/* A message sent with key k: the composer writes "apikey:ID" as its auth_user. */
static int
is_own(const struct spool_msg *m, const struct http_key *k)
{
	size_t n = sizeof(HTTP_KEY_OWNER_PREFIX) - 1;

	return m->auth_user != NULL && strncmp(m->auth_user, HTTP_KEY_OWNER_PREFIX, n) == 0 &&
	    strcmp(m->auth_user + n, k->id) == 0;
}

static void
on_look(void *ctx, const struct sched_view *v)
{
	struct look *l = ctx;
	const struct http_key *k = http_req_key(l->r);

	if (l->is_delete) {
		l->is_owned = (k->scopes & HTTP_SCOPE_ADMIN) || is_own(v->m, k);
		l->found = json_true();
		return;
	}
	l->found = l->is_api_view ? api_view(l->a, v) : qview_msg_json(v, 1);
}

static void on_deleted(void *ctx, const struct sched_op_result *res);

static void
on_looked(void *ctx, size_t count, int has_more)
{
	struct look *l = ctx;
	struct http_req *r = l->r;

	(void)has_more;
	qview_pager_free(&l->pager);
	/* gone from the queue: what became of it is the events' */
	if (count == 0 && l->is_api_view && l->a->ms != NULL) {
		l->found = json_array();
		msgstate_look(l->a->ms, l->qid, on_gone_rcpt, on_gone, l);
		return;
	}
	/* a message another key sent is none of this one's: not found, as for any */
	if (count == 0 || (l->is_delete && !l->is_owned)) {
		http_reply_error(r, HTTP_ERR_NOT_FOUND, "no message %s in the queue", l->qid);
		look_free(l);
		return;
	}
	if (l->is_delete) {
		(void)sched_apply(l->a->s, SCHED_OP_DELETE, &l->f, (long)geteuid(), on_deleted, l);
		return;
	}
	http_reply_json(r, 200, l->is_api_view ? json_incref(l->found) :
	    json_pack("{s:O}", "message", l->found));
	look_free(l);
}

static const struct qview_pager_ops look_ops = { .each = on_look, .done = on_looked };

/* Looks the message {id} up, then answers as l says. */
static void
look_up(struct api *a, struct http_req *r, int is_api_view, int is_delete)
{
	const char *id = http_req_param(r, "id");
	struct look *l;

	if (id == NULL || !qid_valid(id, strlen(id))) {
		http_reply_error(r, HTTP_ERR_NOT_FOUND, "not a queue id");
		return;
	}
	l = xcalloc(1, sizeof(*l));
	l->a = a;
	l->r = r;
	l->is_api_view = is_api_view;
	l->is_delete = is_delete;
	memcpy(l->qid, id, QID_LEN + 1);
	l->f.qid = l->qid;
	l->pager = qview_pager_new(a->srv->d.base, a->s, &l->f, NULL, 1, &look_ops, l);
}

static void
on_deleted(void *ctx, const struct sched_op_result *res)
{
	struct look *l = ctx;
	const struct http_key *k = http_req_key(l->r);

	log_ev_http_op(http_req_id(l->r), k->id, "delete", res->matched, res->done, res->failed);
	if (res->matched == 0)
		http_reply_error(l->r, HTTP_ERR_NOT_FOUND, "no message %s in the queue", l->qid);
	else if (res->failed > 0)
		http_reply_retry(l->r, HTTP_ERR_UNAVAILABLE, 10, "the deletion could not be "
		    "recorded (the log says why)");
	else
		http_reply_json(l->r, 200, json_pack("{s:s,s:s}", "id", l->qid, "state", "deleted"));
	look_free(l);
}

static void
get_message(struct http_req *r, void *arg)
{
	look_up(arg, r, 1, 0);
}

static void
delete_message(struct http_req *r, void *arg)
{
	look_up(arg, r, 0, 1);
}

static void
get_queue_message(struct http_req *r, void *arg)
{
	look_up(arg, r, 0, 0);
}

/* ---- the listing ---- */

static void
on_list(void *ctx, const struct sched_view *v)
{
	struct look *l = ctx;

	json_array_append_new(l->found, qview_msg_json(v, 0));
	memcpy(l->last_qid, v->m->qid, QID_LEN + 1);
}

static void
on_listed(void *ctx, size_t count, int has_more)
{
	struct look *l = ctx;

	qview_pager_free(&l->pager);
	/* the cursor is the last id shown: the next page starts after it */
	http_reply_json(l->r, 200, json_pack("{s:O,s:o}", "messages", l->found,
	    "next", has_more && count > 0 ? json_string(l->last_qid) : json_null()));
	look_free(l);
}

static const struct qview_pager_ops list_ops = { .each = on_list, .done = on_listed };

/* A whole number of the query: 0 and *out, or -1. */
static int
query_number(const char *s, uint64_t max, uint64_t *out)
{
	if (ascii_parse_u64(slice_str(s), out) == -1 || *out > max)
		return -1;
	return 0;
}

/*
 * The query's filter as the control socket's JSON filter, read by the same
 * parser: state=held,deferred&sender=&recipient=&domain=&min_age_s=&max_age_s=.
 */
static int
query_filter(struct http_req *r, struct qview_filter *qf, char *why, size_t whysize)
{
	static const char *const texts[] = { "sender", "recipient", "domain" };
	static const char *const ages[] = { "min_age_s", "max_age_s" };
	json_t *fj = json_object();
	const char *v;
	uint64_t n;
	int rc = -1;

	if ((v = http_req_query(r, "state")) != NULL) {
		json_t *states = json_array();
		char *copy = xstrdup(v), *save = NULL;

		for (char *t = strtok_r(copy, ",", &save); t != NULL; t = strtok_r(NULL, ",", &save))
			json_array_append_new(states, json_string(t));
		free(copy);
		json_object_set_new(fj, "state", states);
	}
	for (size_t i = 0; i < NELEM(texts); i++)
		if ((v = http_req_query(r, texts[i])) != NULL) {
			json_t *s = json_string(v);

			if (s == NULL) {
				snprintf(why, whysize, "%s is not UTF-8", texts[i]);
				goto out;
			}
			json_object_set_new(fj, texts[i], s);
		}
	for (size_t i = 0; i < NELEM(ages); i++)
		if ((v = http_req_query(r, ages[i])) != NULL) {
			if (query_number(v, INT64_MAX, &n) == -1) {
				snprintf(why, whysize, "%s is a number of seconds", ages[i]);
				goto out;
			}
			json_object_set_new(fj, ages[i], json_integer((json_int_t)n));
		}
	rc = qview_filter_parse(fj, qf, why, whysize);
out:
	json_decref(fj);
	return rc;
}

static void
get_queue(struct http_req *r, void *arg)
{
	static const char *const known[] = { "state", "sender", "recipient", "domain",
		"min_age_s", "max_age_s", "limit", "after", NULL };
	struct api *a = arg;
	const char *v, *after = http_req_query(r, "after"), *other;
	uint64_t limit = PAGE_DEFAULT;
	struct look *l;
	char why[256];

	if (http_req_query_has_other(r, known, &other)) {
		http_reply_error(r, HTTP_ERR_INVALID_REQUEST, "unknown parameter \"%.64s\"", other);
		return;
	}
	if ((v = http_req_query(r, "limit")) != NULL &&
	    (query_number(v, PAGE_MAX, &limit) == -1 || limit == 0)) {
		http_reply_error(r, HTTP_ERR_INVALID_REQUEST, "limit is a number from 1 to %d",
		    PAGE_MAX);
		return;
	}
	if (after != NULL && !qid_valid(after, strlen(after))) {
		http_reply_error(r, HTTP_ERR_INVALID_REQUEST, "after is the \"next\" of a page");
		return;
	}
	l = xcalloc(1, sizeof(*l));
	l->a = a;
	l->r = r;
	if (query_filter(r, &l->qf, why, sizeof(why)) == -1) {
		http_reply_error(r, HTTP_ERR_INVALID_REQUEST, "%s", why);
		look_free(l);
		return;
	}
	l->found = json_array();
	l->pager = qview_pager_new(a->srv->d.base, a->s, &l->qf.f, after, (size_t)limit,
	    &list_ops, l);
}

/* ---- operations ---- */

struct op_call {
	struct http_req *r;
	enum sched_op op;
	char qid[QID_LEN + 1];		/* one message's, or "" */
	struct qview_filter qf;
};

static void
on_applied(void *ctx, const struct sched_op_result *res)
{
	struct op_call *o = ctx;
	struct http_req *r = o->r;

	log_ev_http_op(http_req_id(r), http_req_key(r)->id, sched_op_name(o->op), res->matched,
	    res->done, res->failed);
	if (o->qid[0] != '\0' && res->matched == 0)
		http_reply_error(r, HTTP_ERR_NOT_FOUND, "no message %s in the queue", o->qid);
	else if (o->qid[0] != '\0' && res->failed > 0)
		http_reply_retry(r, HTTP_ERR_UNAVAILABLE, 10, "%s could not be recorded (the log "
		    "says why)", sched_op_name(o->op));
	else
		http_reply_json(r, 200, qview_result_json(o->op, res));
	qview_filter_clear(&o->qf);
	free(o);
}

/* POST /v1/queue/{id}/OP */
static void
post_message_op(struct http_req *r, void *arg)
{
	struct api_op *ao = arg;
	const char *id = http_req_param(r, "id");
	struct op_call *o;

	if (!qid_valid(id, strlen(id))) {
		http_reply_error(r, HTTP_ERR_NOT_FOUND, "not a queue id");
		return;
	}
	o = xcalloc(1, sizeof(*o));
	o->r = r;
	o->op = ao->op;
	memcpy(o->qid, id, QID_LEN + 1);
	o->qf.f.qid = o->qid;
	(void)sched_apply(ao->a->s, o->op, &o->qf.f, (long)geteuid(), on_applied, o);
}

/* POST /v1/queue/OP with {"filter": {...}} or {"all": true}, as the control socket's request. */
static void
post_queue_op(struct http_req *r, void *arg)
{
	struct api_op *ao = arg;
	json_t *body = http_req_json(r), *v;
	const char *key;
	struct op_call *o = xcalloc(1, sizeof(*o));
	char why[256];
	int is_all = 0;

	o->r = r;
	o->op = ao->op;
	json_object_foreach(body, key, v) {
		if (strcmp(key, "filter") == 0) {
			if (qview_filter_parse(v, &o->qf, why, sizeof(why)) == -1) {
				http_reply_field(r, "filter", "%s", why);
				goto bad;
			}
		} else if (strcmp(key, "all") == 0) {
			if (!json_is_boolean(v)) {
				http_reply_field(r, "all", "\"all\" is true or false");
				goto bad;
			}
			is_all = json_is_true(v);
		} else {
			http_reply_error(r, HTTP_ERR_INVALID_REQUEST, "unknown key \"%.64s\" (filter, "
			    "all)", key);
			goto bad;
		}
	}
	/* an operation on the whole queue is never a default: it must be asked for */
	if (qview_filter_is_empty(&o->qf.f) && !is_all) {
		http_reply_error(r, HTTP_ERR_INVALID_REQUEST, "%s: no filter: give one, or "
		    "\"all\": true for the whole queue", sched_op_name(o->op));
		goto bad;
	}
	(void)sched_apply(ao->a->s, o->op, &o->qf.f, (long)geteuid(), on_applied, o);
	return;
bad:
	qview_filter_clear(&o->qf);
	free(o);
}

/* ---- the table ---- */

int
http_api_queue_add(struct http *srv, struct sched *s, struct msgstate *ms, char *err,
    size_t errsize)
{
	static const struct {
		enum sched_op op;
		const char *one, *all;
	} ops[] = {
		{ SCHED_OP_FLUSH, "/v1/queue/{id}/flush", "/v1/queue/flush" },
		{ SCHED_OP_HOLD, "/v1/queue/{id}/hold", "/v1/queue/hold" },
		{ SCHED_OP_RELEASE, "/v1/queue/{id}/release", "/v1/queue/release" },
		{ SCHED_OP_DELETE, "/v1/queue/{id}/delete", "/v1/queue/delete" },
		{ SCHED_OP_BOUNCE, "/v1/queue/{id}/bounce", "/v1/queue/bounce" },
	};
	/* the routes borrow it: the server frees it with itself */
	struct api *a = xcalloc(1, sizeof(*a));
	const unsigned admin = HTTP_SCOPE_ADMIN;
	const struct http_route routes[] = {
		{ "GET", "/v1/health", 0, 0, get_health, a },
		{ "GET", "/v1/messages/{id}", HTTP_SCOPE_READ | admin, 0, get_message, a },
		{ "DELETE", "/v1/messages/{id}", HTTP_SCOPE_SEND | admin, 0, delete_message, a },
		/* the dashboard's page reads and acts on the queue through these too */
		{ "GET", "/v1/queue", admin, HTTP_ROUTE_SESSION, get_queue, a },
		{ "GET", "/v1/queue/{id}", admin, HTTP_ROUTE_SESSION, get_queue_message, a },
	};

	ASSERT(NELEM(ops) == NELEM(a->ops));
	a->srv = srv;
	a->s = s;
	a->ms = ms;
	free(srv->api_queue);
	srv->api_queue = a;
	for (size_t i = 0; i < NELEM(routes); i++)
		if (http_route_add(srv, &routes[i], err, errsize) == -1)
			return -1;
	for (size_t i = 0; i < NELEM(ops); i++) {
		const struct http_route one = { "POST", ops[i].one, admin, HTTP_ROUTE_SESSION,
			post_message_op, &a->ops[i] };
		const struct http_route all = { "POST", ops[i].all, admin, HTTP_ROUTE_JSON_BODY,
			post_queue_op, &a->ops[i] };

		a->ops[i] = (struct api_op){ a, ops[i].op };
		if (http_route_add(srv, &one, err, errsize) == -1 ||
		    http_route_add(srv, &all, err, errsize) == -1)
			return -1;
	}
	return 0;
}
