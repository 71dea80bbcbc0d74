/*
 * flusher.c - group commit: many sessions' messages share one flush.
 *
 * One thread takes every file finished since its last batch and:
 *   1. syncfs(2) on the spool's file system: the data and inodes of every
 *      file in the batch are on stable storage (one device flush, however
 *      many files: measured ~1 ms for 1 to 20 files where one fdatasync per
 *      file costs ~0.6 ms each and does not merge);
 *   2. renames each file from incoming/ into queue/;
 *   3. fsyncs queue/ once, which makes every rename of the batch durable.
 * Only then is each message's completion posted to the loop, where the
 * session says 250. While a batch is being flushed the next one gathers,
 * so the batch grows with the load. A failed syncfs or directory fsync
 * fails the whole batch and is never retried into a 250 (SECURITY.md 2).
 */
#include "spool/spool_int.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/log.h"
#include "util/xalloc.h"

struct flusher {
	struct spool *sp;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct spool_txn *head, *tail;
	int is_stopping;
};

static void
fail(struct spool *sp, struct spool_txn *t, int err, int is_renamed)
{
	t->err = err;
	t->result = spool_result_of(err);
	/* never acknowledged: the file must not be delivered later */
	if (unlinkat(is_renamed ? sp->queue_fd : sp->incoming_fd, t->qid, 0) == -1 &&
	    errno != ENOENT)
		log_err("%s: cannot remove unacknowledged queue file: %m", t->qid);
}

static void
flush_batch(struct flusher *f, struct spool_txn *batch)
{
	struct spool *sp = f->sp;
	struct spool_txn *t;
	int err = 0, any_renamed = 0;

	if (syncfs(sp->incoming_fd) == -1)
		err = errno;
	for (t = batch; t != NULL; t = t->flush_next) {
		t->result = SPOOL_OK;
		if (err != 0) {
			fail(sp, t, err, 0);
			continue;
		}
		if (renameat(sp->incoming_fd, t->qid, sp->queue_fd, t->qid) == -1) {
			fail(sp, t, errno, 0);
			continue;
		}
		any_renamed = 1;
	}
	if (any_renamed && fsync(sp->queue_fd) == -1) {
		err = errno;
		log_err("spool: fsync of queue/ failed: %s; failing the batch", strerror(err));
		for (t = batch; t != NULL; t = t->flush_next)
			if (t->result == SPOOL_OK)
				fail(sp, t, err, 1);
	}
	if (err != 0)
		log_err("spool: flush failed: %s", strerror(err));
	while (batch != NULL) {
		t = batch;
		batch = t->flush_next;
		workq_post_done(sp->wq, &t->work);
	}
}

static void *
flusher_main(void *arg)
{
	struct flusher *f = arg;

	for (;;) {
		struct spool_txn *batch;

		pthread_mutex_lock(&f->mu);
		while (f->head == NULL && !f->is_stopping)
			pthread_cond_wait(&f->cv, &f->mu);
		batch = f->head;
		f->head = f->tail = NULL;
		pthread_mutex_unlock(&f->mu);
		if (batch == NULL)
			return NULL;
		flush_batch(f, batch);
	}
}

struct flusher *
flusher_new(struct spool *sp)
{
	struct flusher *f = xcalloc(1, sizeof(*f));
	int r;

	f->sp = sp;
	pthread_mutex_init(&f->mu, NULL);
	pthread_cond_init(&f->cv, NULL);
	r = pthread_create(&f->thread, NULL, flusher_main, f);
	ASSERT(r == 0);
	return f;
}

void
flusher_free(struct flusher **fp)
{
	struct flusher *f = *fp;

	if (f == NULL)
		return;
	pthread_mutex_lock(&f->mu);
	f->is_stopping = 1;
	pthread_cond_signal(&f->cv);
	pthread_mutex_unlock(&f->mu);
	pthread_join(f->thread, NULL);
	pthread_cond_destroy(&f->cv);
	pthread_mutex_destroy(&f->mu);
	free(f);
	*fp = NULL;
}

void
flusher_submit(struct flusher *f, struct spool_txn *t)
{
	pthread_mutex_lock(&f->mu);
	t->flush_next = NULL;
	if (f->tail)
		f->tail->flush_next = t;
	else
		f->head = t;
	f->tail = t;
	pthread_cond_signal(&f->cv);
	pthread_mutex_unlock(&f->mu);
}
