/*
 * qview.c - the queue's JSON (qview.h): views of messages, filters read
 * and written, the result of an operation, times. Pure: no sockets, no
 * libevent; the control socket and the HTTP API hand it what the queue
 * interface (sched/queue.h) gives them. tests/unit/test_qview.c feeds it
 * the bad bytes a queue file may hold and the bad filters a client may send.
 */
#include "qview/qview.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "spool/spool.h"
#include "util/xalloc.h"

/* ---- filters ---- */

static int
refuse(char *why, size_t whysize, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int
refuse(char *why, size_t whysize, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(why, whysize, fmt, ap);
	va_end(ap);
	return -1;
}

/* A string of the filter: set, not too long; "" only where empty means something. */
static int
filter_text(const char *key, const json_t *v, int may_be_empty, char **out, char *why,
    size_t whysize)
{
	size_t len;

	if (!json_is_string(v))
		return refuse(why, whysize, "filter: \"%s\" is a string", key);
	len = json_string_length(v);
	/* jansson lets \u0000 through: a NUL would cut the string the queue compares */
	if (len > QVIEW_MAX_TEXT || (len == 0 && !may_be_empty) ||
	    strlen(json_string_value(v)) != len)
		return refuse(why, whysize, "filter: \"%s\" is %s", key,
		    len == 0 ? "empty" : "not a usable string");
	*out = xstrdup(json_string_value(v));
	return 0;
}

static int
filter_age(const char *key, const json_t *v, uint64_t *out, char *why, size_t whysize)
{
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return refuse(why, whysize, "filter: \"%s\" is a number of seconds, 0 or more", key);
	*out = (uint64_t)json_integer_value(v);
	return 0;
}

static int
filter_state(const json_t *v, unsigned *out, char *why, size_t whysize)
{
	const json_t *names = v;
	json_t *one = NULL, *it;
	int rc = 0;
	size_t i;

	/* one name, or a list of names */
	if (json_is_string(v))
		names = one = json_pack("[O]", v);
	if (!json_is_array(names) || json_array_size(names) == 0) {
		rc = refuse(why, whysize, "filter: \"state\" is a state or a list of states");
		goto out;
	}
	json_array_foreach(names, i, it) {
		enum sched_state st;

		if (!json_is_string(it) || sched_state_parse(json_string_value(it), &st) == -1) {
			rc = refuse(why, whysize,
			    "filter: \"state\": %.64s is none of queued, active, deferred, held",
			    json_is_string(it) ? json_string_value(it) : "a value");
			goto out;
		}
		*out |= 1u << st;
	}
out:
	json_decref(one);
	return rc;
}

int
qview_filter_parse(const json_t *fv, struct qview_filter *qf, char *why, size_t whysize)
{
	struct sched_filter *f = &qf->f;
	const char *key;
	json_t *v;
	int rc = 0;

	if (!json_is_object(fv))
		return refuse(why, whysize, "\"filter\" is an object");
	json_object_foreach((json_t *)fv, key, v) {
		if (strcmp(key, "id") == 0) {
			if (!json_is_string(v) ||
			    !qid_valid(json_string_value(v), json_string_length(v)))
				return refuse(why, whysize, "filter: \"id\" is not a queue id");
			memcpy(qf->qid, json_string_value(v), QID_LEN + 1);
			f->qid = qf->qid;
		} else if (strcmp(key, "state") == 0) {
			rc = filter_state(v, &f->states, why, whysize);
		} else if (strcmp(key, "sender") == 0) {
			/* "" is the null sender, <> */
			if ((rc = filter_text(key, v, 1, &qf->sender, why, whysize)) == 0)
				f->sender = qf->sender;
		} else if (strcmp(key, "recipient") == 0) {
			if ((rc = filter_text(key, v, 0, &qf->rcpt, why, whysize)) == 0)
				f->rcpt = qf->rcpt;
		} else if (strcmp(key, "domain") == 0) {
			if ((rc = filter_text(key, v, 0, &qf->domain, why, whysize)) == 0)
				f->domain = qf->domain;
		} else if (strcmp(key, "min_age_s") == 0) {
			rc = filter_age(key, v, &f->min_age_s, why, whysize);
		} else if (strcmp(key, "max_age_s") == 0) {
			rc = filter_age(key, v, &f->max_age_s, why, whysize);
		} else {
			return refuse(why, whysize, "filter: unknown key \"%.64s\"", key);
		}
		if (rc != 0)
			return rc;
	}
	if (f->min_age_s != 0 && f->max_age_s != 0 && f->min_age_s > f->max_age_s)
		return refuse(why, whysize,
		    "filter: \"min_age_s\" is more than \"max_age_s\": nothing could match");
	return 0;
}

void
qview_filter_clear(struct qview_filter *qf)
{
	free(qf->sender);
	free(qf->rcpt);
	free(qf->domain);
	memset(qf, 0, sizeof(*qf));
}

int
qview_filter_is_empty(const struct sched_filter *f)
{
	return f->states == 0 && f->qid == NULL && f->sender == NULL && f->rcpt == NULL &&
	    f->domain == NULL && f->min_age_s == 0 && f->max_age_s == 0;
}

json_t *
qview_filter_json(const struct sched_filter *f)
{
	json_t *fj = json_object();

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
		json_object_set_new(fj, "min_age_s", json_integer((json_int_t)f->min_age_s));
	if (f->max_age_s != 0)
		json_object_set_new(fj, "max_age_s", json_integer((json_int_t)f->max_age_s));
	return fj;
}

/* ---- times ---- */

const char *
qview_time_str(uint64_t t_s, char out[24])
{
	time_t t = (time_t)t_s;
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL || strftime(out, 24, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, 24, "1970-01-01T00:00:00Z");
	return out;
}

int
qview_time_parse(const char *s, uint64_t *t_out)
{
	struct tm tm = { 0 };
	const char *end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
	time_t t;

	if (end == NULL || *end != '\0' || (t = timegm(&tm)) < 0)
		return -1;
	*t_out = (uint64_t)t;
	return 0;
}

json_t *
qview_time_json(uint64_t t_s)
{
	char b[24];

	return t_s == 0 ? json_null() : json_string(qview_time_str(t_s, b));
}

/* ---- strings ---- */

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

json_t *
qview_str(const char *s)
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

/* ---- views ---- */

static json_t *
rcpt_json(const struct sched_view *v, size_t i)
{
	const struct spool_rcpt *r = &v->m->rcpts[i];
	enum sched_rcpt_state st = sched_view_rcpt(v, i);
	int is_waiting = st == SCHED_RCPT_PENDING || st == SCHED_RCPT_DEFERRED;

	json_t *o = json_pack("{s:o,s:o,s:s,s:o,s:I,s:o,s:o,s:o}",
	    "email", qview_str(r->to),
	    "orig", qview_str(r->orig),
	    "state", sched_rcpt_state_name(st),
	    "agent", qview_str(sched_view_agent(v, i)),
	    "attempts", (json_int_t)r->attempts,
	    "last_reply", qview_str(r->reason),
	    "next_attempt", qview_time_json(is_waiting ? r->next_try_s : 0),
	    "status", r->status[0] != '\0' ? qview_str(r->status) : json_null());

	ASSERT(o != NULL);
	return o;
}

/* Where the message came from, for show. */
static void
add_detail(json_t *o, const struct spool_msg *m)
{
	json_object_set_new(o, "origin", json_string(spool_origin_name(m->origin)));
	json_object_set_new(o, "client_ip", qview_str(m->client_ip));
	json_object_set_new(o, "client_name", qview_str(m->client_name));
	json_object_set_new(o, "helo", qview_str(m->helo));
	json_object_set_new(o, "proto", qview_str(m->proto));
	json_object_set_new(o, "tls_version", qview_str(m->tls_version));
	json_object_set_new(o, "tls_cipher", qview_str(m->tls_cipher));
	json_object_set_new(o, "auth_user", qview_str(m->auth_user));
	json_object_set_new(o, "local_user", qview_str(m->local_user));
	json_object_set_new(o, "local_uid", m->local_uid >= 0 ?
	    json_integer((json_int_t)m->local_uid) : json_null());
	json_object_set_new(o, "fail_status", qview_str(m->fail_status));
	json_object_set_new(o, "fail_text", qview_str(m->fail_text));
}

json_t *
qview_msg_json(const struct sched_view *v, int is_detail)
{
	const struct spool_msg *m = v->m;
	json_t *rcpts = json_array(), *o;

	for (size_t i = 0; i < m->nrcpts; i++)
		json_array_append_new(rcpts, rcpt_json(v, i));
	o = json_pack("{s:s,s:s,s:o,s:I,s:o,s:o,s:o}",
	    "id", m->qid,
	    "state", sched_state_name(v->state),
	    "arrival", qview_time_json(m->arrival_us / 1000000u),
	    "size", (json_int_t)m->content_bytes,
	    "sender", qview_str(m->sender != NULL ? m->sender : ""),
	    "next_attempt", qview_time_json(v->next_try_s),
	    "recipients", rcpts);
	ASSERT(o != NULL);
	if (m->release_s > 0)
		json_object_set_new(o, "release_at", qview_time_json(m->release_s));
	if (is_detail)
		add_detail(o, m);
	return o;
}

json_t *
qview_result_json(enum sched_op op, const struct sched_op_result *r)
{
	return json_pack("{s:s,s:I,s:I,s:I}", "op", sched_op_name(op),
	    "matched", (json_int_t)r->matched, "done", (json_int_t)r->done,
	    "failed", (json_int_t)r->failed);
}
