/*
 * pager.c - a listing of the queue handed out on the loop a slice at a
 * time (qview.h): the control socket streams whole listings through it,
 * the HTTP API one page per request. A slice is SLICE messages, on the
 * loop's background priority, so mail events always go first. While the
 * daemon has mail to handle, a slice is followed by a pause PACE times as
 * long as it took (at most MAX_PAUSE_US), so that listing a large queue
 * takes at most a quarter of a core: the loop's own mail work makes a
 * slice start late, and the other threads' (receiving loops, disk
 * workers, flusher) shows in their CPU time. On a daemon with nothing else
 * to do, the next slice follows at once.
 * A caller whose output is full stops the listing until it drains, so a
 * reader that stops reading holds a cursor, not the daemon's memory.
 */
#include "qview/qview.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "util/clock.h"
#include "util/loop_prio.h"
#include "util/xalloc.h"

#define SLICE 500			/* messages per turn of the loop */
#define PACE 3				/* a slice's time x this: the pause before the next */
#define MAX_PAUSE_US 50000
#define BUSY_LATE_US 1000	/* a slice started this late, and later than the last took */
#define BUSY_OTHERS_SHARE 10		/* the other threads' CPU over wall time, in %: busy */

struct qview_pager {
	struct sched_cursor *cur;
	const struct qview_pager_ops *ops;
	void *ctx;
	struct event *step_ev;
	uint64_t due_us;		/* when the next slice was to start */
	uint64_t last_us, last_others_us;	/* at the last slice's start: time, others' CPU */
	uint64_t took_us;		/* what the last slice took */
	size_t max, count;
	int is_waiting;			/* is_full said 1: until qview_pager_resume() */
	int is_peeking;			/* max reached: is there one more? */
	int has_more;
};

static void
on_view(void *arg, const struct sched_view *v)
{
	struct qview_pager *p = arg;

	p->count++;
	p->ops->each(p->ctx, v);
}

static void
on_peek(void *arg, const struct sched_view *v)
{
	struct qview_pager *p = arg;

	(void)v;
	p->has_more = 1;
}

/* CPU time of the whole daemon less this thread's: what its other threads have done. */
static uint64_t
others_cpu_us(void)
{
	struct timespec all, own;
	int64_t us;

	if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &all) == -1 ||
	    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &own) == -1)
		return 0;
	us = ((int64_t)all.tv_sec - (int64_t)own.tv_sec) * 1000000 +
	    ((int64_t)all.tv_nsec - (int64_t)own.tv_nsec) / 1000;
	return us > 0 ? (uint64_t)us : 0;
}

/*
 * Whether mail kept the daemon busy since the last slice: this one
 * started late (the loop spent longer on other events than on the slice,
 * more than sending a slice's output takes), or the other threads used a
 * share of the time.
 */
static int
is_daemon_busy(struct qview_pager *p, uint64_t now_us)
{
	uint64_t others = others_cpu_us(), wall = now_us - p->last_us;
	uint64_t late = now_us > p->due_us ? now_us - p->due_us : 0;
	/* the two clocks are read one after the other: a few microseconds back is none */
	uint64_t used = others > p->last_others_us ? others - p->last_others_us : 0;
	int is_busy = (late > BUSY_LATE_US && late > p->took_us) ||
	    used * 100 > wall * BUSY_OTHERS_SHARE;

	p->last_us = now_us;
	p->last_others_us = others;
	return is_busy;
}

static void
step_after(struct qview_pager *p, uint64_t pause_us)
{
	struct timeval tv = { 0, 0 };

	if (pause_us > MAX_PAUSE_US)
		pause_us = MAX_PAUSE_US;
	p->due_us = clock_mono_us() + pause_us;
	tv.tv_usec = (suseconds_t)pause_us;
	evtimer_add(p->step_ev, &tv);
}

/* The listing is over: the caller hears it on a turn of its own and may free p in the call. */
static void
finish(struct qview_pager *p)
{
	sched_cursor_free(&p->cur);
	p->ops->done(p->ctx, p->count, p->has_more);
}

static void
on_step(evutil_socket_t fd, short what, void *arg)
{
	struct qview_pager *p = arg;
	uint64_t t0 = clock_mono_us();
	int is_busy = is_daemon_busy(p, t0);
	size_t want, got;

	(void)fd, (void)what;
	if (p->is_peeking) {
		/* the page is full: one more match says whether a next page has anything */
		(void)sched_cursor_next(p->cur, 1, on_peek, p);
		finish(p);
		return;
	}
	want = p->max - p->count < SLICE ? p->max - p->count : SLICE;
	got = sched_cursor_next(p->cur, want, on_view, p);
	if (got < want) {
		/* fewer than asked: the cursor reached the end of the queue */
		finish(p);
		return;
	}
	if (p->count == p->max)
		p->is_peeking = 1;
	p->took_us = clock_mono_us() - t0;
	if (p->ops->is_full != NULL && p->ops->is_full(p->ctx))
		p->is_waiting = 1;
	else
		step_after(p, is_busy ? p->took_us * PACE : 0);
}

struct qview_pager *
qview_pager_new(struct event_base *base, struct sched *s, const struct sched_filter *f,
    const char *after_qid, size_t max, const struct qview_pager_ops *ops, void *ctx)
{
	struct qview_pager *p = xcalloc(1, sizeof(*p));

	p->cur = after_qid != NULL ? sched_cursor_new_after(s, f, after_qid) :
	    sched_cursor_new(s, f);
	p->ops = ops;
	p->ctx = ctx;
	p->max = max;
	p->last_us = clock_mono_us();
	p->last_others_us = others_cpu_us();
	p->step_ev = evtimer_new(base, on_step, p);
	ASSERT(p->step_ev != NULL);
	/* every slice, the first too, waits while mail has something to do on the loop */
	(void)event_priority_set(p->step_ev, LOOP_PRIORITY_BACKGROUND);
	if (max == 0)
		p->is_peeking = 1;
	step_after(p, 0);
	return p;
}

void
qview_pager_resume(struct qview_pager *p)
{
	if (!p->is_waiting)
		return;
	p->is_waiting = 0;
	step_after(p, 0);
}

void
qview_pager_free(struct qview_pager **pp)
{
	struct qview_pager *p = *pp;

	if (p == NULL)
		return;
	sched_cursor_free(&p->cur);
	event_free(p->step_ev);
	free(p);
	*pp = NULL;
}
