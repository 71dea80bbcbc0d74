/*
 * msgstate.c - the loop's side of the message states (msgstate.h): the
 * stream's events into the index (msgindex.c) as they come, the log read
 * back at start and scanned for what memory dropped, both on a thread of
 * the index's own (a workq of one), and lookups answered on a turn of the
 * loop of their own. The read back takes the log's events up to the last
 * one logged when it starts; the stream brings every later one, so the two
 * meet without a gap and merge with the stream's newer states winning.
 */
#include "events/msgstate_int.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/log.h"
#include "util/workq.h"
#include "util/xalloc.h"

#define WAITING_MAX 256		/* lookups that wait for the read back or a scan; more: unavailable */

/* A lookup, answered on a later turn of the loop. */
struct look {
	char qid[QID_LEN + 1];
	msgstate_rcpt_fn *fn;
	void (*done)(void *ctx, enum msgstate_found found);
	void *ctx;
	int is_unavailable;
	struct look *next;
};

/* A read of the log on the thread: all of it at start, or one message's events. */
struct job {
	struct work work;		/* first: the workq hands back &work */
	struct msgstate *ms;
	struct ms_index ix;		/* what it found */
	char *dir;
	uint64_t *files;
	size_t nfiles;
	uint64_t upto;			/* no event after this cursor */
	char needle[QID_LEN + 32];	/* a scan: "message_id":"QID" in its lines; "" at start */
	uint64_t not_before_s;		/* a scan: a file last written before cannot hold its events */
	struct look *look;		/* a scan: the lookup it answers */
};

struct msgstate {
	struct ms_index ix;
	struct evlog *log;
	struct event_base *base;
	struct workq *wq;
	struct event *wq_ev, *answer_ev;
	struct look *ready, **ready_tail;	/* to answer on the next turn */
	struct look *parked;		/* waiting for the read back */
	size_t nwaiting;		/* parked, and scans out */
	size_t njobs;			/* jobs on the thread */
	int is_reading;			/* the read back at start is not over */
	int is_freeing;
	atomic_int is_stopping;
};

static void look_start(struct msgstate *ms, struct look *l);

/* ---- the stream ---- */

void
msgstate_sink(void *ctx, const struct event *e)
{
	struct msgstate *ms = ctx;
	struct ms_event ev = {
		.qid = e->message_id,
		.email = e->recipient != NULL ? e->recipient : "",
		.cursor = evlog_last(ms->log),	/* the log took it just before */
		.r = {
			.type = e->type,
			.time_us = e->time_us,
			.code = e->code,
			.status = e->dsn != NULL ? e->dsn : "",
			.text = e->reply != NULL && e->reply[0] != '\0' ? e->reply : NULL,
			.attempts = e->type == EVENT_DEFERRED ? e->attempt : 0,
			.next_attempt_s = e->type == EVENT_DEFERRED ? e->next_attempt_s : 0,
			.bounce_class = e->bounce_class,
			.bounce_category = e->bounce_category,
		},
	};

	if (e->message_id == NULL || !qid_valid(e->message_id, strlen(e->message_id)))
		return;
	ms_apply(&ms->ix, &ev);
	ms_drop_before(&ms->ix, evlog_first(ms->log));
}

/* ---- reading the log, on the thread ---- */

static int
on_line(void *ctx, uint64_t cursor, const char *line, size_t len)
{
	struct job *j = ctx;
	struct ms_event ev;
	void *doc;

	if (atomic_load(&j->ms->is_stopping))
		return 1;
	if (j->needle[0] != '\0' && memmem(line, len, j->needle, strlen(j->needle)) == NULL)
		return 0;
	if (ms_event_parse(line, len, cursor, &ev, &doc) == 0)
		ms_apply(&j->ix, &ev);
	ms_event_release(doc);
	return 0;
}

static void
job_run(struct work *w)
{
	struct job *j = (struct job *)w;

	for (size_t i = 0; i < j->nfiles && !atomic_load(&j->ms->is_stopping); i++) {
		if (j->not_before_s > 0) {
			char path[4096];
			struct stat st;

			(void)snprintf(path, sizeof(path), "%s/%016" PRIu64 ".jsonl", j->dir,
			    j->files[i]);
			if (stat(path, &st) == 0 && (uint64_t)st.st_mtime < j->not_before_s)
				continue;
		}
		/* a file gone meanwhile was rotated away: its events are no longer the log's */
		(void)evlog_file_scan(j->dir, j->files[i], 0, j->upto, on_line, j);
	}
}

static void
job_free(struct job *j)
{
	ms_index_clear(&j->ix);
	free(j->files);
	free(j->dir);
	free(j);
}

/* A read of the log's files that may hold events up to upto; submitted by job_submit(). */
static struct job *
job_new(struct msgstate *ms, uint64_t upto, void (*done)(struct work *w))
{
	struct job *j = xcalloc(1, sizeof(*j));
	size_t n = 0;

	j->ms = ms;
	ms_index_init(&j->ix, ms->ix.max_bytes);
	j->dir = xstrdup(evlog_dir(ms->log));
	j->files = evlog_files(ms->log, &j->nfiles);
	/* a file's events all come before the next file's first */
	while (n < j->nfiles && j->files[n] <= upto)
		n++;
	j->nfiles = n;
	j->upto = upto;
	j->work.run = job_run;
	j->work.done = done;
	return j;
}

/* From now on the job is the thread's, until its done() on the loop. */
static void
job_submit(struct job *j)
{
	j->ms->njobs++;
	workq_submit(j->ms->wq, &j->work);
}

/* ---- answers ---- */

static void
answer_later(struct msgstate *ms, struct look *l)
{
	l->next = NULL;
	*ms->ready_tail = l;
	ms->ready_tail = &l->next;
	event_active(ms->answer_ev, EV_TIMEOUT, 0);
}

/* Answers l from m (NULL: nothing known) and frees l. */
static void
answer(struct look *l, const struct ms_msg *m)
{
	struct msgstate_rcpt r;

	if (l->is_unavailable) {
		l->done(l->ctx, MSGSTATE_UNAVAILABLE);
		free(l);
		return;
	}
	for (size_t i = 0; m != NULL && i < m->n; i++) {
		ms_rcpt_view(m, i, &r);
		l->fn(l->ctx, &r);
	}
	l->done(l->ctx, m != NULL && m->n > 0 ? MSGSTATE_FOUND : MSGSTATE_NONE);
	free(l);
}

static void
on_answer(evutil_socket_t fd, short what, void *arg)
{
	struct msgstate *ms = arg;
	struct look *l;

	(void)fd, (void)what;
	while ((l = ms->ready) != NULL) {
		ms->ready = l->next;
		if (ms->ready == NULL)
			ms->ready_tail = &ms->ready;
		answer(l, ms_find(&ms->ix, l->qid));
	}
}

/* The read back is over: merged under what the stream brought meanwhile. */
static void
read_back_done(struct work *w)
{
	struct job *j = (struct job *)w;
	struct msgstate *ms = j->ms;
	struct look *parked = ms->parked;

	ms->njobs--;
	ms->is_reading = 0;
	ms_merge_older(&ms->ix, &j->ix);
	ms_drop_before(&ms->ix, evlog_first(ms->log));
	job_free(j);
	if (ms->is_freeing)
		return;
	log_info("events: the states of %zu messages read back from the event log",
	    ms->ix.tab.n);
	ms->parked = NULL;
	while (parked != NULL) {
		struct look *l = parked;

		parked = l->next;
		ms->nwaiting--;
		look_start(ms, l);
	}
}

/* A scan for one message is over: what it found completes what memory has, or answers alone. */
static void
scan_done(struct work *w)
{
	struct job *j = (struct job *)w;
	struct msgstate *ms = j->ms;
	struct look *l = j->look;
	struct ms_msg *m;

	ms->njobs--;
	ms->nwaiting--;
	if (ms->is_freeing) {
		free(l);
		job_free(j);
		return;
	}
	l->is_unavailable = atomic_load(&ms->is_stopping);
	if ((m = ms_find(&ms->ix, l->qid)) != NULL) {
		ms_merge_older(&ms->ix, &j->ix);
		if ((m = ms_find(&ms->ix, l->qid)) != NULL)
			m->is_scanned = 1;
		answer(l, m);
	} else {
		answer(l, ms_find(&j->ix, l->qid));
	}
	job_free(j);
}

/*
 * Whether memory may lack events of qid (m: what it has) that the log
 * still holds: messages were dropped for memory whose events the log has
 * not rotated away, and m is not known whole.
 */
static int
needs_scan(struct msgstate *ms, const struct ms_msg *m)
{
	return ms->ix.evicted_upto >= evlog_first(ms->log) &&
	    (m == NULL || (m->is_partial && !m->is_scanned));
}

static void
look_start(struct msgstate *ms, struct look *l)
{
	struct ms_msg *m = ms_find(&ms->ix, l->qid);
	struct job *j;
	uint64_t upto;

	if (atomic_load(&ms->is_stopping)) {
		l->is_unavailable = 1;
		answer_later(ms, l);
		return;
	}
	if (!ms->is_reading && !needs_scan(ms, m)) {
		answer_later(ms, l);
		return;
	}
	if (ms->nwaiting >= WAITING_MAX) {
		l->is_unavailable = 1;
		answer_later(ms, l);
		return;
	}
	ms->nwaiting++;
	if (ms->is_reading) {
		l->next = ms->parked;
		ms->parked = l;
		return;
	}
	/* only events memory dropped, and older than any it has of the message */
	upto = ms->ix.evicted_upto;
	if (m != NULL && m->first_cursor - 1 < upto)
		upto = m->first_cursor - 1;
	j = job_new(ms, upto, scan_done);
	(void)snprintf(j->needle, sizeof(j->needle), "\"message_id\":\"%s\"", l->qid);
	/* a message's events all come after its queue id was made (a second of slack) */
	j->not_before_s = qid_time_us(l->qid) / 1000000u;
	j->not_before_s = j->not_before_s > 1 ? j->not_before_s - 1 : 1;
	j->look = l;
	job_submit(j);
}

void
msgstate_look(struct msgstate *ms, const char *qid, msgstate_rcpt_fn *fn,
    void (*done)(void *ctx, enum msgstate_found found), void *ctx)
{
	struct look *l = xcalloc(1, sizeof(*l));

	(void)snprintf(l->qid, sizeof(l->qid), "%s", qid);
	l->fn = fn;
	l->done = done;
	l->ctx = ctx;
	look_start(ms, l);
}

size_t
msgstate_get(struct msgstate *ms, const char *qid, msgstate_rcpt_fn *fn, void *ctx)
{
	const struct ms_msg *m = ms_find(&ms->ix, qid);
	struct msgstate_rcpt r;

	for (size_t i = 0; m != NULL && i < m->n; i++) {
		ms_rcpt_view(m, i, &r);
		fn(ctx, &r);
	}
	return m != NULL ? m->n : 0;
}

/* ---- life ---- */

static void
on_wq(evutil_socket_t fd, short what, void *arg)
{
	(void)fd, (void)what;
	workq_run_done(((struct msgstate *)arg)->wq);
}

struct msgstate *
msgstate_new(struct evlog *log, size_t max_bytes, struct event_base *base)
{
	struct msgstate *ms = xcalloc(1, sizeof(*ms));

	ms_index_init(&ms->ix, max_bytes);
	ms->log = log;
	ms->base = base;
	ms->ready_tail = &ms->ready;
	ms->wq = workq_new(1);
	ms->wq_ev = event_new(base, workq_fd(ms->wq), EV_READ | EV_PERSIST, on_wq, ms);
	ms->answer_ev = event_new(base, -1, 0, on_answer, ms);
	ASSERT(ms->wq_ev != NULL && ms->answer_ev != NULL);
	event_add(ms->wq_ev, NULL);
	/* every event logged so far; the stream brings the later ones */
	ms->is_reading = 1;
	job_submit(job_new(ms, evlog_last(log), read_back_done));
	return ms;
}

void
msgstate_stop(struct msgstate *ms)
{
	struct look *l;

	atomic_store(&ms->is_stopping, 1);
	while ((l = ms->parked) != NULL) {
		ms->parked = l->next;
		ms->nwaiting--;
		l->is_unavailable = 1;
		answer_later(ms, l);
	}
}

void
msgstate_free(struct msgstate **msp)
{
	struct msgstate *ms = *msp;
	struct look *l;

	if (ms == NULL)
		return;
	atomic_store(&ms->is_stopping, 1);
	ms->is_freeing = 1;
	/* the jobs out end early, and their ends free them */
	while (ms->njobs > 0) {
		struct pollfd p = { .fd = workq_fd(ms->wq), .events = POLLIN };

		(void)poll(&p, 1, 1000);
		workq_run_done(ms->wq);
	}
	workq_free(&ms->wq);
	while ((l = ms->parked) != NULL) {
		ms->parked = l->next;
		free(l);
	}
	while ((l = ms->ready) != NULL) {
		ms->ready = l->next;
		free(l);
	}
	event_free(ms->wq_ev);
	event_free(ms->answer_ev);
	ms_index_clear(&ms->ix);
	free(ms);
	*msp = NULL;
}
