/*
 * workq.c - worker threads and a completion mailbox signalled by an eventfd.
 *
 * The two lists have a lock each: work to run (todo_mu: the submitters and
 * the workers) and work finished (done_mu: the workers and the loop), so a
 * worker posting a completion never waits for a submitter, nor the loop
 * collecting completions for a worker taking its next job.
 * Workers sleep on a counting semaphore, one count per job (and one per
 * worker to stop it), not on a condition variable: sem_post makes a system
 * call only when a worker sleeps, and the woken worker takes the lock
 * uncontended. A condition variable cost three futex calls per hand-off (a
 * signal under the lock woke a worker only to sleep on the lock, and
 * glibc marks the lock contended for a woken waiter, so its next unlock
 * made a call too): relaying 4 KiB messages, a third of the daemon's
 * futex calls were that.
 */
#include "workq.h"

#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "xalloc.h"

/* A FIFO of work linked through work.next. */
struct wlist {
	struct work *head, *tail;
};

struct workq {
	pthread_mutex_t todo_mu;	/* todo, is_stopping */
	sem_t ready;			/* a count per job in todo, and per worker to stop */
	struct wlist todo;
	int is_stopping;
	pthread_mutex_t done_mu;	/* finished */
	struct wlist finished;
	int efd;
	unsigned nthreads;
	pthread_t *threads;
};

static void
wlist_push(struct wlist *l, struct work *w)
{
	w->next = NULL;
	if (l->tail)
		l->tail->next = w;
	else
		l->head = w;
	l->tail = w;
}

static struct work *
wlist_take_all(struct wlist *l)
{
	struct work *w = l->head;

	l->head = l->tail = NULL;
	return w;
}

static void
signal_loop(struct workq *q)
{
	uint64_t one = 1;

	/* the counter only overflows after 2^64 posts: a failed write is harmless */
	while (write(q->efd, &one, sizeof(one)) == -1 && errno == EINTR)
		;
}

void
workq_post_done(struct workq *q, struct work *w)
{
	int was_empty;

	if (w->home != NULL)
		q = w->home;
	pthread_mutex_lock(&q->done_mu);
	was_empty = q->finished.head == NULL;
	wlist_push(&q->finished, w);
	pthread_mutex_unlock(&q->done_mu);
	if (was_empty)
		signal_loop(q);
}

static void *
worker_main(void *arg)
{
	struct workq *q = arg;

	for (;;) {
		struct work *w;

		/* a count is a job in todo, or a stop: then todo is empty once the jobs ran */
		while (sem_wait(&q->ready) == -1)
			ASSERT(errno == EINTR);
		pthread_mutex_lock(&q->todo_mu);
		w = q->todo.head;
		if (w == NULL) {
			ASSERT(q->is_stopping);
			pthread_mutex_unlock(&q->todo_mu);
			return NULL;
		}
		q->todo.head = w->next;
		if (q->todo.head == NULL)
			q->todo.tail = NULL;
		pthread_mutex_unlock(&q->todo_mu);
		w->run(w);
		if (w->then != NULL) {
			void (*then)(struct work *) = w->then;

			w->then = NULL;
			then(w);
		} else {
			workq_post_done(q, w);
		}
	}
}

struct workq *
workq_new(unsigned nthreads)
{
	struct workq *q = xcalloc(1, sizeof(*q));

	pthread_mutex_init(&q->todo_mu, NULL);
	pthread_mutex_init(&q->done_mu, NULL);
	ASSERT(sem_init(&q->ready, 0, 0) == 0);
	q->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	ASSERT(q->efd != -1);
	q->threads = xcalloc(nthreads + 1, sizeof(*q->threads));
	for (unsigned i = 0; i < nthreads; i++) {
		int r = pthread_create(&q->threads[i], NULL, worker_main, q);

		ASSERT(r == 0);
	}
	q->nthreads = nthreads;
	return q;
}

void
workq_free(struct workq **qp)
{
	struct workq *q = *qp;

	if (q == NULL)
		return;
	pthread_mutex_lock(&q->todo_mu);
	q->is_stopping = 1;
	pthread_mutex_unlock(&q->todo_mu);
	/* each worker takes the jobs still queued, then one of these counts ends it */
	for (unsigned i = 0; i < q->nthreads; i++)
		sem_post(&q->ready);
	for (unsigned i = 0; i < q->nthreads; i++)
		pthread_join(q->threads[i], NULL);
	close(q->efd);
	sem_destroy(&q->ready);
	pthread_mutex_destroy(&q->done_mu);
	pthread_mutex_destroy(&q->todo_mu);
	free(q->threads);
	free(q);
	*qp = NULL;
}

void
workq_submit(struct workq *q, struct work *w)
{
	pthread_mutex_lock(&q->todo_mu);
	wlist_push(&q->todo, w);
	pthread_mutex_unlock(&q->todo_mu);
	sem_post(&q->ready);
}

int
workq_fd(const struct workq *q)
{
	return q->efd;
}

void
workq_run_done(struct workq *q)
{
	uint64_t count;
	struct work *w, *next;

	(void)read(q->efd, &count, sizeof(count));
	pthread_mutex_lock(&q->done_mu);
	w = wlist_take_all(&q->finished);
	pthread_mutex_unlock(&q->done_mu);
	for (; w != NULL; w = next) {
		next = w->next;	/* done() may free w */
		w->done(w);
	}
}
