/*
 * recover.c - the spool at start (SECURITY.md, recovery): incoming/ is
 * emptied (nothing there was acknowledged), every file in queue/ is checked
 * record by record; a bad one goes to corrupt/ with a log line, never
 * deleted; a good one is handed over for delivery, or removed if every
 * recipient is done. Symlinks and non-regular files are never opened.
 *
 * In two steps, so that a large queue does not keep the ports closed: the
 * names first (fast: a directory listing, and the queue id generator moved
 * past every one of them), then the files, a batch at a time on a worker
 * thread while the server already accepts mail.
 */
#include "spool/spool_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/log.h"
#include "util/log_event.h"
#include "util/xalloc.h"

static void
empty_incoming(struct spool *sp)
{
	int fd = dup(sp->incoming_fd);
	DIR *d = fd == -1 ? NULL : fdopendir(fd);
	struct dirent *e;

	if (d == NULL) {
		if (fd != -1)
			close(fd);
		return;
	}
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (unlinkat(sp->incoming_fd, e->d_name, 0) == 0)
			log_ev_removed(e->d_name, "incomplete");
		else
			log_err("spool: cannot remove incoming/%s: %s", e->d_name, strerror(errno));
	}
	closedir(d);
}

static void
quarantine(struct spool *sp, const char *name, const char *why)
{
	char file[LOG_QUOTE_MAX + 8], q[LOG_QUOTE_SIZE], w[LOG_TEXT_SIZE];

	snprintf(file, sizeof(file), "queue/%s", name);
	log_event(LOG_ERR, "-", "corrupt", "file=%s reason=%s", log_quote_str(file, q),
	    log_quote_text(why, w));
	if (renameat(sp->queue_fd, name, sp->corrupt_fd, name) == -1)
		log_err("spool: cannot move queue/%s to corrupt/: %s", name, strerror(errno));
}

int
spool_has(struct spool *sp, const char *qid)
{
	struct stat st;

	if (!qid_valid(qid, strlen(qid)))
		return 0;
	if (fstatat(sp->queue_fd, qid, &st, AT_SYMLINK_NOFOLLOW) == 0 ||
	    fstatat(sp->corrupt_fd, qid, &st, AT_SYMLINK_NOFOLLOW) == 0)
		return 1;
	return errno == ENOENT ? 0 : -1;
}

static int
cmp_qid(const void *a, const void *b)
{
	return memcmp(a, b, QID_LEN);
}

/* Messages one worker job reads: a few ms of disk, then the loop hands them over. */
#define RECOVERY_BATCH 256

struct spool_recovery {
	struct work w;			/* first: the batch in flight */
	struct spool *sp;
	struct workq *wq;
	char (*ids)[QID_LEN + 1];	/* queue/ in queue id order */
	size_t nids, next;		/* next: the first id no batch has read */
	struct spool_msg *batch[RECOVERY_BATCH];
	size_t nbatch;
	long count;			/* handed over so far */
	void (*found)(void *ctx, struct spool_msg *m);
	void (*finished)(void *ctx, long count);
	void *ctx;
	void (*before_remove)(void *ctx, const struct spool_msg *m);	/* worker; may be NULL */
	void *remove_ctx;
	int is_busy, is_stopping;
};

struct spool_recovery *
spool_recovery_new(struct spool *sp, struct qid_gen *gen)
{
	struct spool_recovery *r;
	int fd;
	DIR *d;
	struct dirent *e;
	size_t cap = 0;

	empty_incoming(sp);
	if ((fd = dup(sp->queue_fd)) == -1 || (d = fdopendir(fd)) == NULL) {
		if (fd != -1)
			close(fd);
		return NULL;
	}
	r = xcalloc(1, sizeof(*r));
	r->sp = sp;
	rewinddir(d);
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (!qid_valid(e->d_name, strlen(e->d_name))) {
			quarantine(sp, e->d_name, "not a queue id");
			continue;
		}
		if (r->nids == cap) {
			cap = cap ? cap * 2 : 256;
			r->ids = xrealloc(r->ids, cap * sizeof(*r->ids));
		}
		memcpy(r->ids[r->nids++], e->d_name, QID_LEN + 1);
		/* before any id is handed out: a new message never takes a queued one's name */
		(void)qid_seen(gen, e->d_name);
	}
	closedir(d);
	/* in queue id order (arrival): the scheduler's index takes them fastest so */
	if (r->nids > 1)
		qsort(r->ids, r->nids, sizeof(*r->ids), cmp_qid);
	return r;
}

size_t
spool_recovery_total(const struct spool_recovery *r)
{
	return r->nids;
}

/* Worker thread: checks the next batch of files. */
static void
recovery_run(struct work *w)
{
	struct spool_recovery *r = (struct spool_recovery *)w;

	r->nbatch = 0;
	while (r->next < r->nids && r->nbatch < RECOVERY_BATCH) {
		const char *qid = r->ids[r->next++];
		struct spool_msg *m;
		char err[256];
		size_t pending = 0;

		if ((m = spool_msg_load(r->sp, qid, err, sizeof(err))) == NULL) {
			quarantine(r->sp, qid, err);
			continue;
		}
		for (size_t i = 0; i < m->nrcpts; i++)
			pending += !m->rcpts[i].is_done;
		if (pending == 0) {
			if (r->before_remove != NULL)
				r->before_remove(r->remove_ctx, m);
			(void)spool_msg_remove(r->sp, m->qid);
			log_ev_removed(m->qid, "all recipients done");
			spool_msg_free(&m);
			continue;
		}
		r->batch[r->nbatch++] = m;
	}
}

/* Loop thread: hands the batch over and asks for the next one. */
static void
recovery_done(struct work *w)
{
	struct spool_recovery *r = (struct spool_recovery *)w;

	r->is_busy = 0;
	for (size_t i = 0; i < r->nbatch; i++) {
		if (r->is_stopping) {
			spool_msg_free(&r->batch[i]);	/* still queued: the next start has it */
			continue;
		}
		r->count++;
		r->found(r->ctx, r->batch[i]);
	}
	r->nbatch = 0;
	if (r->is_stopping)
		return;
	if (r->next < r->nids) {
		r->is_busy = 1;
		workq_submit(r->wq, &r->w);
		return;
	}
	free(r->ids);
	r->ids = NULL;
	r->finished(r->ctx, r->count);
}

void
spool_recovery_start(struct spool_recovery *r, struct workq *wq,
    void (*found)(void *ctx, struct spool_msg *m), void (*finished)(void *ctx, long count),
    void *ctx)
{
	r->wq = wq;
	r->found = found;
	r->finished = finished;
	r->ctx = ctx;
	r->w.run = recovery_run;
	r->w.done = recovery_done;
	r->is_busy = 1;
	workq_submit(wq, &r->w);
}

void
spool_recovery_set_remove_hook(struct spool_recovery *r,
    void (*before_remove)(void *ctx, const struct spool_msg *m), void *ctx)
{
	r->before_remove = before_remove;
	r->remove_ctx = ctx;
}

void
spool_recovery_stop(struct spool_recovery *r)
{
	if (r != NULL)
		r->is_stopping = 1;
}

int
spool_recovery_busy(const struct spool_recovery *r)
{
	return r != NULL && r->is_busy;
}

void
spool_recovery_free(struct spool_recovery **rp)
{
	struct spool_recovery *r = *rp;

	if (r == NULL)
		return;
	ASSERT(!r->is_busy);
	free(r->ids);
	free(r);
	*rp = NULL;
}
