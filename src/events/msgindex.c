/*
 * msgindex.c - the index of msgstate_int.h: messages in an intrusive hash
 * table by queue id (our own ids: FNV-1a will do), in a list by their last
 * event's cursor; recipients in the order their first events came, found
 * by address from a hint (a message's events come recipient after
 * recipient). Memory is counted per message: what it allocated. And the
 * event log's lines read back into events. Pure: no I/O, one thread.
 */
#include "events/msgstate_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "config/config.h"
#include "util/rfc3339.h"
#include "util/xalloc.h"

#define HTAB_SLOT_BYTES 16		/* a bucket's pointer, and the chains' share */

static uint64_t
hash_qid(const char *qid)
{
	uint64_t h = 1469598103934665603u;

	for (const char *p = qid; *p != '\0'; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211u;
	return h;
}

static int
is_qid(const struct htab_link *l, const void *key)
{
	return strcmp(((const struct ms_msg *)l)->qid, key) == 0;
}

void
ms_index_init(struct ms_index *ix, size_t max_bytes)
{
	memset(ix, 0, sizeof(*ix));
	htab_init(&ix->tab, 1024);
	ix->max_bytes = max_bytes;
}

static void
msg_free(struct ms_msg *m)
{
	for (size_t i = 0; i < m->n; i++) {
		free(m->rcpts[i].email);
		free(m->rcpts[i].text);
	}
	free(m->rcpts);
	free(m);
}

/* Takes m out of the index (it stays allocated). */
static void
unlink_msg(struct ms_index *ix, struct ms_msg *m)
{
	htab_remove(&ix->tab, &m->link);
	if (m->older)
		m->older->newer = m->newer;
	else
		ix->oldest = m->newer;
	if (m->newer)
		m->newer->older = m->older;
	else
		ix->newest = m->older;
	m->older = m->newer = NULL;
	ix->bytes -= m->bytes;
}

void
ms_index_clear(struct ms_index *ix)
{
	while (ix->oldest != NULL) {
		struct ms_msg *m = ix->oldest;

		unlink_msg(ix, m);
		msg_free(m);
	}
	htab_clear(&ix->tab);
}

struct ms_msg *
ms_find(const struct ms_index *ix, const char *qid)
{
	return (struct ms_msg *)htab_find(&ix->tab, hash_qid(qid), is_qid, qid);
}

/* Links m in after `after` (NULL: first) in cursor order. */
static void
link_after(struct ms_index *ix, struct ms_msg *m, struct ms_msg *after)
{
	m->older = after;
	m->newer = after != NULL ? after->newer : ix->oldest;
	if (m->newer != NULL)
		m->newer->older = m;
	else
		ix->newest = m;
	if (after != NULL)
		after->newer = m;
	else
		ix->oldest = m;
}

/* m's last cursor grew: further towards the newest end (for the stream's events, the end). */
static void
move_up(struct ms_index *ix, struct ms_msg *m)
{
	struct ms_msg *after = ix->newest;

	if (m->newer == NULL || m->newer->last_cursor > m->last_cursor)
		return;
	m->newer->older = m->older;
	if (m->older)
		m->older->newer = m->newer;
	else
		ix->oldest = m->newer;
	while (after->last_cursor > m->last_cursor)
		after = after->older;
	link_after(ix, m, after);
}

static void
bound(struct ms_index *ix, const struct ms_msg *keep)
{
	while (ix->bytes > ix->max_bytes && ix->oldest != NULL && ix->oldest != keep) {
		struct ms_msg *m = ix->oldest;

		if (m->last_cursor > ix->evicted_upto)
			ix->evicted_upto = m->last_cursor;
		unlink_msg(ix, m);
		msg_free(m);
	}
}

void
ms_drop_before(struct ms_index *ix, uint64_t first)
{
	while (ix->oldest != NULL && ix->oldest->last_cursor < first) {
		struct ms_msg *m = ix->oldest;

		unlink_msg(ix, m);
		msg_free(m);
	}
}

static size_t
str_bytes(const char *s)
{
	return s != NULL ? strlen(s) + 1 : 0;
}

/* What m holds, counted afresh. */
static size_t
msg_bytes(const struct ms_msg *m)
{
	size_t n = sizeof(*m) + HTAB_SLOT_BYTES + m->cap * sizeof(*m->rcpts);

	for (size_t i = 0; i < m->n; i++)
		n += str_bytes(m->rcpts[i].email) + str_bytes(m->rcpts[i].text);
	return n;
}

/* The recipient email of m: its place, or m->n when m has none by that address. */
static size_t
rcpt_find(struct ms_msg *m, const char *email)
{
	for (size_t k = 0; k < m->n; k++) {
		size_t i = (m->hint + k) % m->n;

		if (strcmp(m->rcpts[i].email, email) == 0) {
			m->hint = i + 1;
			return i;
		}
	}
	return m->n;
}

/* A new recipient at the end of m. */
static struct ms_rcpt *
rcpt_add(struct ms_index *ix, struct ms_msg *m, const char *email)
{
	struct ms_rcpt *r;

	if (m->n == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 1;

		m->rcpts = xrealloc(m->rcpts, cap * sizeof(*m->rcpts));
		m->bytes += (cap - m->cap) * sizeof(*m->rcpts);
		ix->bytes += (cap - m->cap) * sizeof(*m->rcpts);
		m->cap = cap;
	}
	r = &m->rcpts[m->n++];
	memset(r, 0, sizeof(*r));
	r->email = xstrdup(email);
	m->bytes += str_bytes(email);
	ix->bytes += str_bytes(email);
	m->hint = m->n;
	return r;
}

/* r becomes what ev says (ev's cursor is r's last). */
static void
rcpt_set(struct ms_index *ix, struct ms_msg *m, struct ms_rcpt *r, const struct ms_event *ev)
{
	const struct msgstate_rcpt *s = &ev->r;
	size_t old = str_bytes(r->text), now = str_bytes(s->text);

	free(r->text);
	r->text = s->text != NULL ? xstrdup(s->text) : NULL;
	m->bytes += now - old;
	ix->bytes += now - old;
	(void)snprintf(r->status, sizeof(r->status), "%s", s->status ? s->status : "");
	r->cursor = ev->cursor;
	r->time_us = s->time_us;
	r->next_attempt_s = s->next_attempt_s;
	r->code = s->code;
	r->type = (unsigned char)s->type;
	r->bounce_class = (unsigned char)s->bounce_class;
	r->bounce_category = (unsigned char)s->bounce_category;
}

void
ms_apply(struct ms_index *ix, const struct ms_event *ev)
{
	struct ms_msg *m = ms_find(ix, ev->qid);
	struct ms_rcpt *r;
	size_t i;

	if (m == NULL) {
		m = xcalloc(1, sizeof(*m));
		(void)snprintf(m->qid, sizeof(m->qid), "%s", ev->qid);
		m->first_cursor = m->last_cursor = ev->cursor;
		m->is_partial = ev->r.type != EVENT_RECEIVED;
		m->bytes = sizeof(*m) + HTAB_SLOT_BYTES;
		ix->bytes += m->bytes;
		htab_add(&ix->tab, &m->link, hash_qid(m->qid));
		link_after(ix, m, ix->newest);
	}
	if ((i = rcpt_find(m, ev->email)) == m->n)
		r = rcpt_add(ix, m, ev->email);
	else
		r = &m->rcpts[i];
	if (ev->r.attempts > r->attempts)
		r->attempts = ev->r.attempts;
	if (r->cursor < ev->cursor)
		rcpt_set(ix, m, r, ev);
	if (ev->cursor < m->first_cursor) {
		m->first_cursor = ev->cursor;
		if (ev->r.type == EVENT_RECEIVED)
			m->is_partial = 0;
	}
	if (ev->cursor > m->last_cursor) {
		m->last_cursor = ev->cursor;
		move_up(ix, m);
	}
	bound(ix, m);
}

/* Moves recipient r of `from` into m, whose own (newer) state wins where both have one. */
static void
rcpt_merge(struct ms_index *ix, struct ms_msg *m, struct ms_rcpt *r)
{
	size_t i = rcpt_find(m, r->email);
	struct ms_rcpt *into;

	if (i == m->n) {
		into = rcpt_add(ix, m, r->email);
		*into = (struct ms_rcpt){ .email = into->email };
	} else {
		into = &m->rcpts[i];
	}
	if (r->attempts > into->attempts)
		into->attempts = r->attempts;
	if (into->cursor < r->cursor) {
		char *email = into->email;
		size_t old = str_bytes(into->text), now = str_bytes(r->text);

		free(into->text);
		*into = *r;
		into->email = email;
		r->text = NULL;
		m->bytes += now - old;
		ix->bytes += now - old;
	}
}

void
ms_merge_older(struct ms_index *ix, struct ms_index *older)
{
	/* newest first: each goes in at the oldest end, before what ix had */
	while (older->newest != NULL) {
		struct ms_msg *o = older->newest, *m;

		unlink_msg(older, o);
		if ((m = ms_find(ix, o->qid)) == NULL) {
			htab_add(&ix->tab, &o->link, hash_qid(o->qid));
			link_after(ix, o, NULL);
			ix->bytes += o->bytes;
			continue;
		}
		/* its recipients in the order the older events had them, the newer ones after */
		struct ms_rcpt *mine = m->rcpts;
		size_t nmine = m->n;

		m->rcpts = o->rcpts;
		m->n = o->n;
		m->cap = o->cap;
		o->rcpts = mine;
		o->n = nmine;
		for (size_t k = 0; k < nmine; k++)
			rcpt_merge(ix, m, &o->rcpts[k]);
		ix->bytes -= m->bytes;
		m->bytes = msg_bytes(m);
		ix->bytes += m->bytes;
		if (o->first_cursor < m->first_cursor) {
			m->first_cursor = o->first_cursor;
			m->is_partial = o->is_partial;
		}
		msg_free(o);
	}
	if (older->evicted_upto > ix->evicted_upto)
		ix->evicted_upto = older->evicted_upto;
	bound(ix, NULL);
}

void
ms_rcpt_view(const struct ms_msg *m, size_t i, struct msgstate_rcpt *out)
{
	const struct ms_rcpt *r = &m->rcpts[i];

	*out = (struct msgstate_rcpt){
		.email = r->email,
		.type = (enum event_type)r->type,
		.time_us = r->time_us,
		.code = r->code,
		.status = r->status,
		.text = r->text,
		.attempts = r->attempts,
		.next_attempt_s = r->next_attempt_s,
		.bounce_class = (enum bounce_class)r->bounce_class,
		.bounce_category = (enum bounce_category)r->bounce_category,
	};
}

/* ---- lines of the log ---- */

/* The index of name in names[n], or -1. */
static int
name_of(const char *name, const char *const *names, size_t n)
{
	for (size_t i = 0; name != NULL && i < n; i++)
		if (names[i][0] != '\0' && strcmp(names[i], name) == 0)
			return (int)i;
	return -1;
}

static int
time_of(json_t *o, const char *key, uint64_t *us_out)
{
	json_t *v = json_object_get(o, key);

	return json_is_string(v) && rfc3339_parse_us(json_string_value(v), json_string_length(v),
	    us_out) == 0 ? 0 : -1;
}

int
ms_event_parse(const char *line, size_t len, uint64_t cursor, struct ms_event *ev, void **doc)
{
	json_t *o = json_loadb(line, len, 0, NULL), *reply, *bounce;
	const char *qid, *email;
	int type;
	uint64_t us;

	*doc = o;
	memset(ev, 0, sizeof(*ev));
	if (o == NULL)
		return -1;
	qid = json_string_value(json_object_get(o, "message_id"));
	email = json_string_value(json_object_get(o, "recipient"));
	type = name_of(json_string_value(json_object_get(o, "type")), config_event_types,
	    CONFIG_EVENT_TYPES);
	if (qid == NULL || !qid_valid(qid, strlen(qid)) || email == NULL || type < 0 ||
	    time_of(o, "time", &ev->r.time_us) == -1)
		return -1;
	ev->qid = qid;
	ev->email = email;
	ev->cursor = cursor;
	ev->r.type = (enum event_type)type;
	ev->r.status = "";
	if ((reply = json_object_get(o, "reply")) != NULL) {
		ev->r.code = (int)json_integer_value(json_object_get(reply, "code"));
		if (json_is_string(json_object_get(reply, "status")))
			ev->r.status = json_string_value(json_object_get(reply, "status"));
		ev->r.text = json_string_value(json_object_get(reply, "text"));
		if (ev->r.text != NULL && ev->r.text[0] == '\0')
			ev->r.text = NULL;	/* as the stream says none */
	}
	if (type == EVENT_DEFERRED) {
		ev->r.attempts = (unsigned)json_integer_value(json_object_get(o, "attempt"));
		if (time_of(o, "next_attempt", &us) == 0)
			ev->r.next_attempt_s = us / 1000000u;
	}
	if ((bounce = json_object_get(o, "bounce")) != NULL) {
		const char *c = json_string_value(json_object_get(bounce, "class"));
		int k = name_of(json_string_value(json_object_get(bounce, "category")),
		    config_bounce_categories, CONFIG_BOUNCE_CATEGORIES);

		for (enum bounce_class b = BOUNCE_HARD; c != NULL && b <= BOUNCE_SOFT; b++)
			if (strcmp(c, bounce_class_name(b)) == 0)
				ev->r.bounce_class = b;
		ev->r.bounce_category = k > 0 ? (enum bounce_category)k : BOUNCE_CAT_NONE;
	}
	return 0;
}

void
ms_event_release(void *doc)
{
	json_decref(doc);
}
