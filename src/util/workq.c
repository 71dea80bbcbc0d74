/*
 * workq.c - worker threads and a completion mailbox signalled by an eventfd.
 */
#include "workq.h"

#include <errno.h>
#include <pthread.h>
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
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct wlist todo, finished;
	int is_stopping;
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
	pthread_mutex_lock(&q->mu);
	was_empty = q->finished.head == NULL;
	wlist_push(&q->finished, w);
	pthread_mutex_unlock(&q->mu);
	if (was_empty)
		signal_loop(q);
}

static void *
worker_main(void *arg)
{
	struct workq *q = arg;

	for (;;) {
		struct work *w;

		pthread_mutex_lock(&q->mu);
		while (q->todo.head == NULL && !q->is_stopping)
			pthread_cond_wait(&q->cv, &q->mu);
		w = q->todo.head;
		if (w == NULL) {
			pthread_mutex_unlock(&q->mu);
			return NULL;
		}
		q->todo.head = w->next;
		if (q->todo.head == NULL)
			q->todo.tail = NULL;
		pthread_mutex_unlock(&q->mu);
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

	pthread_mutex_init(&q->mu, NULL);
	pthread_cond_init(&q->cv, NULL);
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
	pthread_mutex_lock(&q->mu);
	q->is_stopping = 1;
	pthread_cond_broadcast(&q->cv);
	pthread_mutex_unlock(&q->mu);
	for (unsigned i = 0; i < q->nthreads; i++)
		pthread_join(q->threads[i], NULL);
	close(q->efd);
	pthread_cond_destroy(&q->cv);
	pthread_mutex_destroy(&q->mu);
	free(q->threads);
	free(q);
	*qp = NULL;
}

void
workq_submit(struct workq *q, struct work *w)
{
	pthread_mutex_lock(&q->mu);
	wlist_push(&q->todo, w);
	pthread_cond_signal(&q->cv);
	pthread_mutex_unlock(&q->mu);
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
	pthread_mutex_lock(&q->mu);
	w = wlist_take_all(&q->finished);
	pthread_mutex_unlock(&q->mu);
	for (; w != NULL; w = next) {
		next = w->next;	/* done() may free w */
		w->done(w);
	}
}
