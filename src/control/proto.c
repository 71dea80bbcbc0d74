/*
 * proto.c - the control protocol's pure parts (docs/control.md): request
 * lines into requests, and the queue's views, results and errors into the
 * JSON objects of the replies. No sockets: control.c and client.c move the
 * bytes, and the unit tests (tests/unit/test_control.c) feed this file the
 * bad ones.
 *
 * A request line is hostile input, even from root: its length is bounded
 * by the caller (ctl_line_find), its nesting before jansson sees it (a
 * parser that recurses must not be handed a thousand brackets), and every
 * key and value is checked; what is not understood is refused with a code
 * that never changes for the same cause, never ignored. Filters, views and
 * results are src/qview's, shared with the HTTP API.
 */
#include "control/control.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "events/suppress.h"
#include "metrics/metrics.h"
#include "smtp/smtp.h"
#include "spool/spool.h"
#include "util/jdepth.h"
#include "util/xalloc.h"

enum ctl_line
ctl_line_find(const uint8_t *p, size_t n, size_t *len_out)
{
	size_t lim = n < CTL_MAX_LINE ? n : CTL_MAX_LINE;
	const uint8_t *lf = memchr(p, '\n', lim);

	if (lf != NULL) {
		*len_out = (size_t)(lf - p);
		return CTL_LINE_OK;
	}
	/* CTL_MAX_LINE counts the LF: that many bytes without one is too long */
	return n >= CTL_MAX_LINE ? CTL_LINE_TOO_LONG : CTL_LINE_MORE;
}

static const char *const err_codes[CTL_NERRS] = {
	[CTL_ERR_NONE] = "",
	[CTL_ERR_LINE_TOO_LONG] = "line_too_long",
	[CTL_ERR_BAD_JSON] = "bad_json",
	[CTL_ERR_TOO_DEEP] = "too_deep",
	[CTL_ERR_BAD_REQUEST] = "bad_request",
	[CTL_ERR_UNKNOWN_OP] = "unknown_op",
	[CTL_ERR_BAD_FILTER] = "bad_filter",
	[CTL_ERR_FILTER_REQUIRED] = "filter_required",
	[CTL_ERR_NOT_FOUND] = "not_found",
	[CTL_ERR_FORBIDDEN] = "forbidden",
	[CTL_ERR_BUSY] = "busy",
	[CTL_ERR_RELOAD_REFUSED] = "reload_refused",
};

const char *
ctl_err_code(enum ctl_err e)
{
	ASSERT((unsigned)e < CTL_NERRS);
	return err_codes[e];
}

int
ctl_err_parse(const char *code, enum ctl_err *out)
{
	for (unsigned i = CTL_ERR_NONE + 1; i < CTL_NERRS; i++)
		if (strcmp(code, err_codes[i]) == 0) {
			*out = (enum ctl_err)i;
			return 0;
		}
	return -1;
}

static enum ctl_err
refuse(char *why, size_t whysize, enum ctl_err e, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static enum ctl_err
refuse(char *why, size_t whysize, enum ctl_err e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(why, whysize, fmt, ap);
	va_end(ap);
	return e;
}

static const struct {
	const char *name;
	enum ctl_kind kind;
} kinds[] = {
	{ "list", CTL_LIST },
	{ "show", CTL_SHOW },
	{ "status", CTL_STATUS },
	{ "suppressions", CTL_SUPPRESSIONS },
	{ "suppress", CTL_SUPPRESS },
	{ "unsuppress", CTL_UNSUPPRESS },
	{ "metrics", CTL_METRICS },
	{ "reload", CTL_RELOAD },
};

/* The keys each kind of request may have besides "op". */
static int
key_allowed(enum ctl_kind k, const char *key)
{
	switch (k) {
	case CTL_LIST:
		return strcmp(key, "filter") == 0;
	case CTL_SHOW:
		return strcmp(key, "id") == 0;
	case CTL_APPLY:
		return strcmp(key, "filter") == 0 || strcmp(key, "all") == 0;
	case CTL_SUPPRESS:
		return strcmp(key, "email") == 0 || strcmp(key, "reason") == 0;
	case CTL_UNSUPPRESS:
		return strcmp(key, "email") == 0;
	case CTL_SUPPRESSIONS:
	case CTL_STATUS:
	case CTL_METRICS:
	case CTL_RELOAD:
	default:
		return 0;
	}
}

/* The request's "filter": a bad one is the request's bad_filter. */
static enum ctl_err
filter_parse(const json_t *fv, struct ctl_req *r, char *why, size_t whysize)
{
	return qview_filter_parse(fv, &r->qf, why, whysize) == 0 ? CTL_ERR_NONE :
	    CTL_ERR_BAD_FILTER;
}

/* The kind (and operation) that op names. */
static int
kind_parse(const char *op, struct ctl_req *r)
{
	for (size_t i = 0; i < NELEM(kinds); i++)
		if (strcmp(op, kinds[i].name) == 0) {
			r->kind = kinds[i].kind;
			return 0;
		}
	if (sched_op_parse(op, &r->op) == 0) {
		r->kind = CTL_APPLY;
		return 0;
	}
	return -1;
}

/* "email" (an address) and, to suppress, "reason" (text). */
static enum ctl_err
suppression_fill(const json_t *root, struct ctl_req *r, char *why, size_t whysize)
{
	const json_t *ev = json_object_get(root, "email"), *rv = json_object_get(root, "reason");
	struct smtp_addr a;

	if (!json_is_string(ev) || json_string_length(ev) > 512 ||
	    smtp_addr_parse(slice_str(json_string_value(ev)), 1, &a) != SMTP_ADDR_OK || a.is_null)
		return refuse(why, whysize, CTL_ERR_BAD_REQUEST,
		    "\"email\" is an email address, and it is missing or not one");
	if (rv != NULL && (!json_is_string(rv) || json_string_length(rv) > SUPPRESS_REASON_MAX ||
	    strlen(json_string_value(rv)) != json_string_length(rv)))
		return refuse(why, whysize, CTL_ERR_BAD_REQUEST,
		    "\"reason\" is text of at most %d bytes", SUPPRESS_REASON_MAX);
	r->email = xstrdup(json_string_value(ev));
	if (rv != NULL)
		r->reason = xstrdup(json_string_value(rv));
	return CTL_ERR_NONE;
}

static enum ctl_err
req_fill(const json_t *root, struct ctl_req *r, char *why, size_t whysize)
{
	const json_t *opv = json_object_get(root, "op"), *v;
	const char *key;
	enum ctl_err e;

	if (!json_is_string(opv))
		return refuse(why, whysize, CTL_ERR_BAD_REQUEST, "no \"op\" (a string)");
	if (kind_parse(json_string_value(opv), r) == -1)
		return refuse(why, whysize, CTL_ERR_UNKNOWN_OP, "unknown op \"%.64s\"",
		    json_string_value(opv));
	json_object_foreach((json_t *)root, key, v) {
		if (strcmp(key, "op") != 0 && !key_allowed(r->kind, key))
			return refuse(why, whysize, CTL_ERR_BAD_REQUEST,
			    "%s: unknown key \"%.64s\"", json_string_value(opv), key);
	}
	if (r->kind == CTL_SUPPRESS || r->kind == CTL_UNSUPPRESS)
		return suppression_fill(root, r, why, whysize);
	if (r->kind == CTL_SHOW) {
		v = json_object_get(root, "id");
		if (!json_is_string(v) || !qid_valid(json_string_value(v), json_string_length(v)))
			return refuse(why, whysize, CTL_ERR_BAD_FILTER,
			    "show: \"id\" is a queue id, and it is missing or not one");
		memcpy(r->qf.qid, json_string_value(v), QID_LEN + 1);
		r->qf.f.qid = r->qf.qid;
		return CTL_ERR_NONE;
	}
	if ((v = json_object_get(root, "filter")) != NULL &&
	    (e = filter_parse(v, r, why, whysize)) != CTL_ERR_NONE)
		return e;
	if (r->kind != CTL_APPLY)
		return CTL_ERR_NONE;
	if ((v = json_object_get(root, "all")) != NULL) {
		if (!json_is_boolean(v))
			return refuse(why, whysize, CTL_ERR_BAD_REQUEST,
			    "\"all\" is true or false");
		r->is_all = json_is_true(v);
	}
	/* an operation on the whole queue is never a default: it must be asked for */
	if (qview_filter_is_empty(&r->qf.f) && !r->is_all)
		return refuse(why, whysize, CTL_ERR_FILTER_REQUIRED,
		    "%s: no filter: give one, or \"all\": true for the whole queue",
		    json_string_value(opv));
	return CTL_ERR_NONE;
}

enum ctl_err
ctl_req_parse(const uint8_t *p, size_t len, struct ctl_req *r, char *why, size_t whysize)
{
	json_error_t jerr;
	json_t *root;
	enum ctl_err e;

	memset(r, 0, sizeof(*r));
	why[0] = '\0';
	if (!jdepth_ok(p, len, CTL_MAX_DEPTH))
		return refuse(why, whysize, CTL_ERR_TOO_DEEP, "nested deeper than %d levels",
		    CTL_MAX_DEPTH);
	/* no NUL (raw or \u0000), UTF-8 only, one text and nothing after it */
	root = json_loadb((const char *)p, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL)
		return refuse(why, whysize, CTL_ERR_BAD_JSON, "%s (byte %d)", jerr.text,
		    jerr.position);
	if (!json_is_object(root))
		e = refuse(why, whysize, CTL_ERR_BAD_REQUEST, "a request is a JSON object");
	else
		e = req_fill(root, r, why, whysize);
	json_decref(root);
	if (e != CTL_ERR_NONE)
		ctl_req_clear(r);
	return e;
}

void
ctl_req_clear(struct ctl_req *r)
{
	qview_filter_clear(&r->qf);
	free(r->email);
	free(r->reason);
	memset(r, 0, sizeof(*r));
}

const char *
ctl_req_op_name(const struct ctl_req *r)
{
	switch (r->kind) {
	case CTL_LIST:
		return "list";
	case CTL_SHOW:
		return "show";
	case CTL_STATUS:
		return "status";
	case CTL_SUPPRESSIONS:
		return "suppressions";
	case CTL_SUPPRESS:
		return "suppress";
	case CTL_UNSUPPRESS:
		return "unsuppress";
	case CTL_METRICS:
		return "metrics";
	case CTL_RELOAD:
		return "reload";
	case CTL_APPLY:
	default:
		return sched_op_name(r->op);
	}
}

json_t *
ctl_req_new(const char *op, const struct sched_filter *f, int is_all)
{
	json_t *req = json_pack("{s:s}", "op", op);

	if (strcmp(op, "show") == 0) {
		ASSERT(f != NULL && f->qid != NULL);
		json_object_set_new(req, "id", json_string(f->qid));
		return req;
	}
	if (f != NULL && !qview_filter_is_empty(f))
		json_object_set_new(req, "filter", qview_filter_json(f));
	if (is_all)
		json_object_set_new(req, "all", json_true());
	return req;
}

/* ---- replies ---- */

json_t *
ctl_reply_error(enum ctl_err e, const char *message)
{
	return json_pack("{s:b,s:{s:s,s:s}}", "ok", 0, "error", "code", ctl_err_code(e),
	    "message", message);
}

json_t *
ctl_reply_end(size_t count)
{
	return json_pack("{s:b,s:I}", "ok", 1, "count", (json_int_t)count);
}

json_t *
ctl_reply_result(enum sched_op op, const struct sched_op_result *r)
{
	json_t *o = json_pack("{s:b}", "ok", 1), *res = qview_result_json(op, r);

	/* "ok" first, then the view every queue client shares */
	json_object_update(o, res);
	json_decref(res);
	return o;
}

json_t *
ctl_reply_msg(json_t *msg)
{
	return json_pack("{s:o}", "msg", msg);
}

json_t *
ctl_reply_status(const struct ctl_status *s)
{
	const struct sched_stats *st = &s->st;
	size_t total = 0;

	for (unsigned i = 0; i < SCHED_NSTATES; i++)
		total += st->by_state[i];
	return json_pack("{s:b,s:{s:s,s:o,s:I,s:I,s:I,s:{s:I,s:I,s:I,s:I,s:I,s:I},s:I,s:o,"
	    "s:{s:I,s:I,s:I},s:I}}",
	    "ok", 1, "status",
	    "version", STERNA_VERSION,
	    "started", qview_time_json(s->started_s),
	    "uptime_s", (json_int_t)s->uptime_s,
	    "sessions", (json_int_t)s->sessions,
	    "control_connections", (json_int_t)s->controls,
	    "queue",
	    "total", (json_int_t)total,
	    "queued", (json_int_t)st->by_state[SCHED_QUEUED],
	    "active", (json_int_t)st->by_state[SCHED_ACTIVE],
	    "deferred", (json_int_t)st->by_state[SCHED_DEFERRED],
	    "held", (json_int_t)st->by_state[SCHED_HELD],
	    "scheduled", (json_int_t)st->by_state[SCHED_SCHEDULED],
	    "recipients", (json_int_t)st->recipients,
	    "oldest_arrival", qview_time_json(st->oldest_arrival_us / 1000000u),
	    "last_minute",
	    "delivered", (json_int_t)st->delivered_last_min,
	    "deferred", (json_int_t)st->deferred_last_min,
	    "failed", (json_int_t)st->failed_last_min,
	    "outbound_connections", (json_int_t)st->connections);
}

/* The family being read, in the object being made. */
struct metrics_json {
	json_t *families;
	json_t *series;		/* the current family's */
};

static void
metrics_json_reading(void *ctx, const struct metric_reading *r)
{
	static const char *const types[] = { "counter", "gauge", "histogram" };
	struct metrics_json *mj = ctx;
	json_t *labels, *s;

	if (r->values == NULL) {
		labels = json_array();
		for (size_t k = 0; k < r->nlabels; k++)
			json_array_append_new(labels, json_string(r->labels[k]));
		mj->series = json_array();
		json_object_set_new(mj->families, r->name, json_pack("{s:s,s:s,s:o,s:o}",
		    "type", types[r->kind], "help", r->help, "labels", labels, "series",
		    mj->series));
		return;
	}
	labels = json_object();
	for (size_t k = 0; k < r->nlabels; k++)
		json_object_set_new(labels, r->labels[k], json_string(r->values[k]));
	if (r->kind == METRIC_COUNTER) {
		s = json_pack("{s:o,s:I}", "labels", labels, "value", (json_int_t)r->count);
	} else if (r->kind == METRIC_GAUGE) {
		s = json_pack("{s:o,s:f}", "labels", labels, "value", r->value);
	} else {
		json_t *buckets = json_array();

		for (size_t b = 0; b < r->nbounds; b++)
			json_array_append_new(buckets, json_pack("[f,I]", r->bounds[b],
			    (json_int_t)r->cumulative[b]));
		s = json_pack("{s:o,s:I,s:f,s:o}", "labels", labels, "count", (json_int_t)r->count,
		    "sum", r->value, "buckets", buckets);
	}
	json_array_append_new(mj->series, s);
}

json_t *
ctl_reply_metrics(struct metrics *m)
{
	struct metrics_json mj = { .families = json_object() };

	metrics_read(m, metrics_json_reading, &mj);
	return json_pack("{s:b,s:o}", "ok", 1, "metrics", mj.families);
}

int
ctl_json_line(const json_t *j, json_dump_callback_t write, void *ctx)
{
	if (json_dump_callback(j, write, ctx, JSON_COMPACT) == -1)
		return -1;
	return write("\n", 1, ctx);
}

json_t *
ctl_reply_reload(const struct ctl_reload *r)
{
	json_t *keys, *rep;
	const char *k = r->restart_keys;

	if (!r->is_done) {
		rep = ctl_reply_error(CTL_ERR_RELOAD_REFUSED, r->error);
		json_object_set_new(json_object_get(rep, "error"), "generation",
		    json_integer((json_int_t)r->generation));
		return rep;
	}
	keys = json_array();
	while (*k != '\0') {
		size_t n = strcspn(k, ",");

		json_array_append_new(keys, json_stringn(k, n));
		k += n;
		k += strspn(k, ", ");
	}
	return json_pack("{s:b,s:s,s:I,s:o}", "ok", 1, "op", "reload", "generation",
	    (json_int_t)r->generation, "restart", keys);
}
