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
 * that never changes for the same cause, never ignored.
 */
#include "control/control.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "spool/spool.h"
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

/*
 * 1 if no array or object in p[0..n) lies deeper than max. Brackets inside
 * strings do not count; whatever else is wrong with the text is left to
 * the parser, which then never nests deeper than max.
 */
static int
depth_ok(const uint8_t *p, size_t n, unsigned max)
{
	unsigned depth = 0;
	int is_str = 0, is_esc = 0;

	for (size_t i = 0; i < n; i++) {
		uint8_t c = p[i];

		if (is_str) {
			if (is_esc)
				is_esc = 0;
			else if (c == '\\')
				is_esc = 1;
			else if (c == '"')
				is_str = 0;
		} else if (c == '"') {
			is_str = 1;
		} else if (c == '[' || c == '{') {
			if (++depth > max)
				return 0;
		} else if ((c == ']' || c == '}') && depth > 0) {
			depth--;
		}
	}
	return 1;
}

static const struct {
	const char *name;
	enum ctl_kind kind;
} kinds[] = {
	{ "list", CTL_LIST },
	{ "show", CTL_SHOW },
	{ "status", CTL_STATUS },
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
	case CTL_STATUS:
	default:
		return 0;
	}
}

/* A string of the filter: set, not too long; "" only where empty means something. */
static enum ctl_err
filter_text(const char *key, const json_t *v, int may_be_empty, char **out, char *why,
    size_t whysize)
{
	size_t len;

	if (!json_is_string(v))
		return refuse(why, whysize, CTL_ERR_BAD_FILTER, "filter: \"%s\" is a string", key);
	len = json_string_length(v);
	if (len > CTL_MAX_TEXT || (len == 0 && !may_be_empty) ||
	    strlen(json_string_value(v)) != len)
		return refuse(why, whysize, CTL_ERR_BAD_FILTER,
		    "filter: \"%s\" is %s", key, len == 0 ? "empty" : "not a usable string");
	*out = xstrdup(json_string_value(v));
	return CTL_ERR_NONE;
}

static enum ctl_err
filter_age(const char *key, const json_t *v, uint64_t *out, char *why, size_t whysize)
{
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return refuse(why, whysize, CTL_ERR_BAD_FILTER,
		    "filter: \"%s\" is a number of seconds, 0 or more", key);
	*out = (uint64_t)json_integer_value(v);
	return CTL_ERR_NONE;
}

static enum ctl_err
filter_state(const json_t *v, unsigned *out, char *why, size_t whysize)
{
	const json_t *names = v;
	json_t *one = NULL;
	enum ctl_err e = CTL_ERR_NONE;
	size_t i;
	json_t *it;

	/* one name, or a list of names */
	if (json_is_string(v))
		names = one = json_pack("[O]", v);
	if (!json_is_array(names) || json_array_size(names) == 0) {
		e = refuse(why, whysize, CTL_ERR_BAD_FILTER,
		    "filter: \"state\" is a state or a list of states");
		goto out;
	}
	json_array_foreach(names, i, it) {
		enum sched_state st;

		if (!json_is_string(it) || sched_state_parse(json_string_value(it), &st) == -1) {
			e = refuse(why, whysize, CTL_ERR_BAD_FILTER,
			    "filter: \"state\": %.64s is none of queued, active, deferred, held",
			    json_is_string(it) ? json_string_value(it) : "a value");
			goto out;
		}
		*out |= 1u << st;
	}
out:
	json_decref(one);
	return e;
}

static enum ctl_err
filter_parse(const json_t *fv, struct ctl_req *r, char *why, size_t whysize)
{
	struct sched_filter *f = &r->f;
	const char *key;
	json_t *v;
	enum ctl_err e = CTL_ERR_NONE;

	if (!json_is_object(fv))
		return refuse(why, whysize, CTL_ERR_BAD_FILTER, "\"filter\" is an object");
	json_object_foreach((json_t *)fv, key, v) {
		if (strcmp(key, "id") == 0) {
			if (!json_is_string(v) ||
			    !qid_valid(json_string_value(v), json_string_length(v)))
				return refuse(why, whysize, CTL_ERR_BAD_FILTER,
				    "filter: \"id\" is not a queue id");
			memcpy(r->qid, json_string_value(v), QID_LEN + 1);
			f->qid = r->qid;
		} else if (strcmp(key, "state") == 0) {
			e = filter_state(v, &f->states, why, whysize);
		} else if (strcmp(key, "sender") == 0) {
			/* "" is the null sender, <> */
			if ((e = filter_text(key, v, 1, &r->sender, why, whysize)) == CTL_ERR_NONE)
				f->sender = r->sender;
		} else if (strcmp(key, "recipient") == 0) {
			if ((e = filter_text(key, v, 0, &r->rcpt, why, whysize)) == CTL_ERR_NONE)
				f->rcpt = r->rcpt;
		} else if (strcmp(key, "domain") == 0) {
			if ((e = filter_text(key, v, 0, &r->domain, why, whysize)) == CTL_ERR_NONE)
				f->domain = r->domain;
		} else if (strcmp(key, "min_age_s") == 0) {
			e = filter_age(key, v, &f->min_age_s, why, whysize);
		} else if (strcmp(key, "max_age_s") == 0) {
			e = filter_age(key, v, &f->max_age_s, why, whysize);
		} else {
			return refuse(why, whysize, CTL_ERR_BAD_FILTER,
			    "filter: unknown key \"%.64s\"", key);
		}
		if (e != CTL_ERR_NONE)
			return e;
	}
	if (f->min_age_s != 0 && f->max_age_s != 0 && f->min_age_s > f->max_age_s)
		return refuse(why, whysize, CTL_ERR_BAD_FILTER,
		    "filter: \"min_age_s\" is more than \"max_age_s\": nothing could match");
	return CTL_ERR_NONE;
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
	if (r->kind == CTL_SHOW) {
		v = json_object_get(root, "id");
		if (!json_is_string(v) || !qid_valid(json_string_value(v), json_string_length(v)))
			return refuse(why, whysize, CTL_ERR_BAD_FILTER,
			    "show: \"id\" is a queue id, and it is missing or not one");
		memcpy(r->qid, json_string_value(v), QID_LEN + 1);
		r->f.qid = r->qid;
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
	if (ctl_filter_is_empty(&r->f) && !r->is_all)
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
	if (!depth_ok(p, len, CTL_MAX_DEPTH))
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
	free(r->sender);
	free(r->rcpt);
	free(r->domain);
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
	case CTL_APPLY:
	default:
		return sched_op_name(r->op);
	}
}

int
ctl_filter_is_empty(const struct sched_filter *f)
{
	return f->states == 0 && f->qid == NULL && f->sender == NULL && f->rcpt == NULL &&
	    f->domain == NULL && f->min_age_s == 0 && f->max_age_s == 0;
}

json_t *
ctl_req_new(const char *op, const struct sched_filter *f, int is_all)
{
	json_t *req = json_pack("{s:s}", "op", op), *fj;

	if (strcmp(op, "show") == 0) {
		ASSERT(f != NULL && f->qid != NULL);
		json_object_set_new(req, "id", json_string(f->qid));
		return req;
	}
	if (f != NULL && !ctl_filter_is_empty(f)) {
		fj = json_object();
		if (f->qid != NULL)
			json_object_set_new(fj, "id", json_string(f->qid));
		if (f->states != 0) {
			json_t *names = json_array();

			for (unsigned st = 0; st < SCHED_NSTATES; st++)
				if (f->states & (1u << st))
					json_array_append_new(names,
					    json_string(sched_state_name((enum sched_state)st)));
			json_object_set_new(fj, "state", names);
		}
		if (f->sender != NULL)
			json_object_set_new(fj, "sender", json_string(f->sender));
		if (f->rcpt != NULL)
			json_object_set_new(fj, "recipient", json_string(f->rcpt));
		if (f->domain != NULL)
			json_object_set_new(fj, "domain", json_string(f->domain));
		if (f->min_age_s != 0)
			json_object_set_new(fj, "min_age_s",
			    json_integer((json_int_t)f->min_age_s));
		if (f->max_age_s != 0)
			json_object_set_new(fj, "max_age_s",
			    json_integer((json_int_t)f->max_age_s));
		json_object_set_new(req, "filter", fj);
	}
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
	return json_pack("{s:b,s:s,s:I,s:I,s:I}", "ok", 1, "op", sched_op_name(op),
	    "matched", (json_int_t)r->matched, "done", (json_int_t)r->done,
	    "failed", (json_int_t)r->failed);
}

const char *
ctl_time_str(uint64_t t_s, char out[24])
{
	time_t t = (time_t)t_s;
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL || strftime(out, 24, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, 24, "1970-01-01T00:00:00Z");
	return out;
}

int
ctl_time_parse(const char *s, uint64_t *t_out)
{
	struct tm tm = { 0 };
	const char *end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
	time_t t;

	if (end == NULL || *end != '\0' || (t = timegm(&tm)) < 0)
		return -1;
	*t_out = (uint64_t)t;
	return 0;
}

static json_t *
jtime(uint64_t t_s)
{
	char b[24];

	return t_s == 0 ? json_null() : json_string(ctl_time_str(t_s, b));
}

/* The length of the valid UTF-8 sequence at p[0..n) (no overlong form, no surrogate), or 0. */
static size_t
utf8_seq(const uint8_t *p, size_t n)
{
	uint8_t c = p[0];
	size_t len;
	uint32_t cp, min;

	if (c < 0x80)
		return 1;
	if ((c & 0xe0) == 0xc0)
		len = 2, cp = c & 0x1f, min = 0x80;
	else if ((c & 0xf0) == 0xe0)
		len = 3, cp = c & 0x0f, min = 0x800;
	else if ((c & 0xf8) == 0xf0)
		len = 4, cp = c & 0x07, min = 0x10000;
	else
		return 0;
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

/*
 * A JSON string of s, NULL giving null. JSON strings are UTF-8, and a
 * queue file may hold other bytes (a remote server's reply, an 8-bit
 * address): each byte that is not part of valid UTF-8 becomes U+FFFD.
 */
static json_t *
jstr(const char *s)
{
	const uint8_t *p = (const uint8_t *)s;
	size_t n;
	char *fixed, *w;
	json_t *j;

	if (s == NULL)
		return json_null();
	if ((j = json_string(s)) != NULL)
		return j;
	n = strlen(s);
	w = fixed = xmalloc(n * 3 + 1);
	for (size_t i = 0; i < n;) {
		size_t len = utf8_seq(p + i, n - i);

		if (len == 0) {
			memcpy(w, "\xef\xbf\xbd", 3);
			w += 3;
			i++;
		} else {
			memcpy(w, p + i, len);
			w += len;
			i += len;
		}
	}
	*w = '\0';
	j = json_string(fixed);
	free(fixed);
	ASSERT(j != NULL);
	return j;
}

static json_t *
rcpt_json(const struct sched_view *v, size_t i)
{
	const struct spool_rcpt *r = &v->m->rcpts[i];
	enum sched_rcpt_state st = sched_view_rcpt(v, i);
	int is_waiting = st == SCHED_RCPT_PENDING || st == SCHED_RCPT_DEFERRED;

	json_t *o = json_pack("{s:o,s:o,s:s,s:o,s:I,s:o,s:o,s:o}",
	    "email", jstr(r->to),
	    "orig", jstr(r->orig),
	    "state", sched_rcpt_state_name(st),
	    "agent", jstr(sched_view_agent(v, i)),
	    "attempts", (json_int_t)r->attempts,
	    "last_reply", jstr(r->reason),
	    "next_attempt", jtime(is_waiting ? r->next_try_s : 0),
	    "status", r->status[0] != '\0' ? jstr(r->status) : json_null());

	ASSERT(o != NULL);
	return o;
}

/* Where the message came from, for show. */
static void
add_detail(json_t *o, const struct spool_msg *m)
{
	json_object_set_new(o, "origin", json_string(spool_origin_name(m->origin)));
	json_object_set_new(o, "client_ip", jstr(m->client_ip));
	json_object_set_new(o, "client_name", jstr(m->client_name));
	json_object_set_new(o, "helo", jstr(m->helo));
	json_object_set_new(o, "proto", jstr(m->proto));
	json_object_set_new(o, "tls_version", jstr(m->tls_version));
	json_object_set_new(o, "tls_cipher", jstr(m->tls_cipher));
	json_object_set_new(o, "auth_user", jstr(m->auth_user));
	json_object_set_new(o, "local_user", jstr(m->local_user));
	json_object_set_new(o, "local_uid", m->local_uid >= 0 ?
	    json_integer((json_int_t)m->local_uid) : json_null());
	json_object_set_new(o, "fail_status", jstr(m->fail_status));
	json_object_set_new(o, "fail_text", jstr(m->fail_text));
}

json_t *
ctl_view_json(const struct sched_view *v, int is_detail)
{
	const struct spool_msg *m = v->m;
	json_t *rcpts = json_array(), *o;

	for (size_t i = 0; i < m->nrcpts; i++)
		json_array_append_new(rcpts, rcpt_json(v, i));
	o = json_pack("{s:s,s:s,s:o,s:I,s:o,s:o,s:o}",
	    "id", m->qid,
	    "state", sched_state_name(v->state),
	    "arrival", jtime(m->arrival_us / 1000000u),
	    "size", (json_int_t)m->content_bytes,
	    "sender", jstr(m->sender != NULL ? m->sender : ""),
	    "next_attempt", jtime(v->next_try_s),
	    "recipients", rcpts);
	ASSERT(o != NULL);
	if (m->release_s > 0)
		json_object_set_new(o, "release_at", jtime(m->release_s));
	if (is_detail)
		add_detail(o, m);
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
	    "started", jtime(s->started_s),
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
	    "oldest_arrival", jtime(st->oldest_arrival_us / 1000000u),
	    "last_minute",
	    "delivered", (json_int_t)st->delivered_last_min,
	    "deferred", (json_int_t)st->deferred_last_min,
	    "failed", (json_int_t)st->failed_last_min,
	    "outbound_connections", (json_int_t)st->connections);
}

int
ctl_json_line(const json_t *j, json_dump_callback_t write, void *ctx)
{
	if (json_dump_callback(j, write, ctx, JSON_COMPACT) == -1)
		return -1;
	return write("\n", 1, ctx);
}
