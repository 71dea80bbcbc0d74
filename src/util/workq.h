/*
 * workq.h - a pool of threads for blocking work (disk), whose completions
 * come back to the event loop's thread.
 * The loop watches workq_fd() and calls workq_run_done() when it is
 * readable; done() callbacks then run there, one at a time, in the order the
 * work finished. No libevent here: server/ does the watching.
 * A pool of no threads is a mailbox only: each receiving loop but the first
 * has one (src/server), where work whose home it is comes back to, and where
 * other threads post it jobs to run on that loop (workq_post_done).
 */
#ifndef STERNA_UTIL_WORKQ_H
#define STERNA_UTIL_WORKQ_H

struct work {
	/* runs on a worker thread; may block */
	void (*run)(struct work *w);
	/* runs on the loop thread after run() (or after workq_post_done()) */
	void (*done)(struct work *w);
	/*
	 * Optional, set by run() for this run only: the worker calls then(w)
	 * after run() instead of posting w's done(). then() passes w on (to
	 * another thread, which calls workq_post_done() once it is finished),
	 * so that work with a further step elsewhere need not go back by way
	 * of the loop in between.
	 */
	void (*then)(struct work *w);
	/*
	 * Where done() runs: the loop that watches this mailbox (a workq of
	 * its own, of any size); NULL for the loop of the pool the work was
	 * submitted to. For work submitted from a loop that is not the pool's.
	 */
	struct workq *home;
	struct work *next;	/* the queue's link; owners leave it alone */
};

struct workq;

/* Returns a new pool of nthreads threads; 0 makes a mailbox only (see above). */
struct workq *workq_new(unsigned nthreads);
/* Stops the threads once the submitted work has run, and frees q; q may be NULL. */
void workq_free(struct workq **q);
/* Queues w; the caller keeps owning w, which must live until its done() ran. */
void workq_submit(struct workq *q, struct work *w);
/* From any thread: have w->done(w) called on the loop thread (w->home's, when set). */
void workq_post_done(struct workq *q, struct work *w);
/* A descriptor that becomes readable when done() calls are waiting. */
int workq_fd(const struct workq *q);
/* On the loop thread: calls done() for all finished work. */
void workq_run_done(struct workq *q);

#endif
