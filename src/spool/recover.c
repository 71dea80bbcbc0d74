/*
 * recover.c - the spool at start (SECURITY.md, recovery): incoming/ is
 * emptied (nothing there was acknowledged), every file in queue/ is checked
 * record by record; a bad one goes to corrupt/ with a log line, never
 * deleted; a good one is handed over for delivery, or removed if every
 * recipient is done. Symlinks and non-regular files are never opened.
 *
 * All of it on worker threads while the server already accepts mail, so
 * that a large queue does not keep the ports closed: the names first (a
 * directory listing, the queue id generator moved past each id as it is
 * found), then the files, in batches read two at a time and handed over in
 * order. New messages are committed into queue/ meanwhile: the listing
 * leaves out the ids committed since it began (txn.c keeps them), and a
 * new id that a clock set back made equal to a queued one fails its commit
 * rather than replace the file (txn.c, txn_rename), until the listing has
 * moved the generator past them all.
 */
#include "spool/spool_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/clock.h"
#include "util/fsutil.h"
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

/*
 * Moves queue/name to corrupt/, keeping what corrupt/ holds: under name.1,
 * name.2, ... when an earlier file has the name (a stray name found twice,
 * or an id used again after the clock was set back). Kept for a person to
 * look at, so no file there is ever replaced.
 */
static void
quarantine(struct spool *sp, const char *name, const char *why)
{
	char file[LOG_QUOTE_MAX + 8], q[LOG_QUOTE_SIZE], w[LOG_TEXT_SIZE], to[NAME_MAX + 1];
	int r;

	snprintf(file, sizeof(file), "queue/%s", name);
	log_event(LOG_ERR, "-", "corrupt", "file=%s reason=%s", log_quote_str(file, q),
	    log_quote_text(why, w));
	r = rename_noreplace(sp->queue_fd, name, sp->corrupt_fd, name);
	for (unsigned n = 1; r == -1 && errno == EEXIST && n < 1000; n++) {
		snprintf(to, sizeof(to), "%.240s.%u", name, n);
		r = rename_noreplace(sp->queue_fd, name, sp->corrupt_fd, to);
	}
	if (r == -1)
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
/*
 * Batches read at once, on as many workers: most of a batch's time is
 * the worker's (open, read, check), little the loop's hand-over.
 */
#define RECOVERY_JOBS 2
/* Names the listing reads between two looks at a stop. */
#define LISTING_STOP_EVERY 4096

/* One batch: the ids [from, to) read on a worker, handed over in the order of seq. */
struct recovery_job {
	struct work w;			/* first: the workq hands back &w */
	struct spool_recovery *r;
	size_t from, to;
	uint64_t seq;
	int is_out;			/* on a worker */
	int is_read;			/* back, not handed over yet (an earlier one is not) */
	struct spool_msg *batch[RECOVERY_BATCH];
	size_t nbatch;
};

struct spool_recovery {
	struct work listing;		/* the listing's job */
	struct spool *sp;
	struct workq *wq;
	struct qid_gen *gen;
	DIR *queue_dir;			/* until the listing job has read it */
	uint64_t listed_us;		/* how long the listing took */
	char (*ids)[QID_LEN + 1];	/* queue/ in queue id order */
	size_t nids, next;		/* next: the first id no batch has taken */
	struct recovery_job jobs[RECOVERY_JOBS];
	uint64_t next_seq, next_handed;	/* the next batch to go out, and to be handed over */
	long count;			/* handed over so far */
	void (*found)(void *ctx, struct spool_msg *m);
	void (*finished)(void *ctx, long count);
	void *ctx;
	void (*before_remove)(void *ctx, const struct spool_msg *m);	/* worker; may be NULL */
	void *remove_ctx;
	int is_listing_out;
	atomic_int is_stopping;		/* set by the loop, read by the listing too */
};

struct spool_recovery *
spool_recovery_new(struct spool *sp, struct qid_gen *gen)
{
	struct spool_recovery *r;
	int fd;
	DIR *d;

	empty_incoming(sp);
	if ((fd = dup(sp->queue_fd)) == -1 || (d = fdopendir(fd)) == NULL) {
		if (fd != -1)
			close(fd);
		return NULL;
	}
	rewinddir(d);
	r = xcalloc(1, sizeof(*r));
	r->sp = sp;
	r->gen = gen;
	r->queue_dir = d;
	/* before any commit: every id committed from now on is kept apart from the listing */
	spool_listing_begin(sp);
	return r;
}

/* Worker: the ids in queue/, but those committed since the listing began, in id order. */
static void
list_queue(struct spool_recovery *r)
{
	uint64_t start_us = clock_mono_us();
	char (*committed)[QID_LEN + 1];
	size_t cap = 0, ncommitted, nkept = 0;
	struct dirent *e;
	unsigned long nread = 0;

	while ((e = readdir(r->queue_dir)) != NULL) {
		if (++nread % LISTING_STOP_EVERY == 0 && atomic_load(&r->is_stopping))
			break;
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (!qid_valid(e->d_name, strlen(e->d_name))) {
			quarantine(r->sp, e->d_name, "not a queue id");
			continue;
		}
		if (r->nids == cap) {
			cap = cap ? cap * 2 : 256;
			r->ids = xrealloc(r->ids, cap * sizeof(*r->ids));
		}
		memcpy(r->ids[r->nids++], e->d_name, QID_LEN + 1);
		/* as soon as it is found: a new message's id stops colliding with it */
		(void)qid_seen(r->gen, e->d_name);
	}
	closedir(r->queue_dir);
	r->queue_dir = NULL;
	/* in queue id order (arrival): the scheduler's index takes them fastest so */
	if (r->nids > 1)
		qsort(r->ids, r->nids, sizeof(*r->ids), cmp_qid);
	/*
	 * What the server committed while the names were read is its own, not
	 * found at start; the same name twice (a directory changed while it
	 * was read) is one file.
	 */
	spool_listing_end(r->sp, &committed, &ncommitted);
	if (ncommitted > 1)
		qsort(committed, ncommitted, sizeof(*committed), cmp_qid);
	for (size_t i = 0, c = 0; i < r->nids; i++) {
		while (c < ncommitted && cmp_qid(committed[c], r->ids[i]) < 0)
			c++;
		if ((c < ncommitted && cmp_qid(committed[c], r->ids[i]) == 0) ||
		    (nkept > 0 && cmp_qid(r->ids[nkept - 1], r->ids[i]) == 0))
			continue;
		memmove(r->ids[nkept++], r->ids[i], QID_LEN + 1);
	}
	free(committed);
	r->nids = nkept;
	r->listed_us = clock_mono_us() - start_us;
}

/* Worker thread: lists queue/. */
static void
listing_run(struct work *w)
{
	list_queue((struct spool_recovery *)w);
}

/* Worker thread: checks the files of one batch. */
static void
batch_run(struct work *w)
{
	struct recovery_job *j = (struct recovery_job *)w;
	struct spool_recovery *r = j->r;

	j->nbatch = 0;
	for (size_t k = j->from; k < j->to; k++) {
		const char *qid = r->ids[k];
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
		j->batch[j->nbatch++] = m;
	}
}

static void batch_done(struct work *w);

/* Loop: sends every idle job out with the next batch of ids. */
static void
send_batches(struct spool_recovery *r)
{
	for (size_t i = 0; i < RECOVERY_JOBS && r->next < r->nids; i++) {
		struct recovery_job *j = &r->jobs[i];

		if (j->is_out || j->is_read)
			continue;
		j->r = r;
		j->from = r->next;
		j->to = r->nids - r->next < RECOVERY_BATCH ? r->nids : r->next + RECOVERY_BATCH;
		r->next = j->to;
		j->seq = r->next_seq++;
		j->is_out = 1;
		j->w = (struct work){ .run = batch_run, .done = batch_done };
		workq_submit(r->wq, &j->w);
	}
}

/* Loop: the next batches out, or, with none left to read or hand over, the end. */
static void
send_batches_or_finish(struct spool_recovery *r)
{
	send_batches(r);
	for (size_t i = 0; i < RECOVERY_JOBS; i++)
		if (r->jobs[i].is_out || r->jobs[i].is_read)
			return;
	free(r->ids);
	r->ids = NULL;
	r->finished(r->ctx, r->count);
}

/* Loop: the batches read so far, handed over in queue id order; then more, or the end. */
static void
batch_done(struct work *w)
{
	struct recovery_job *j = (struct recovery_job *)w;
	struct spool_recovery *r = j->r;
	int is_found;

	j->is_out = 0;
	j->is_read = 1;
	do {
		is_found = 0;
		for (size_t i = 0; i < RECOVERY_JOBS; i++) {
			struct recovery_job *h = &r->jobs[i];

			if (!h->is_read || h->seq != r->next_handed)
				continue;
			for (size_t k = 0; k < h->nbatch; k++) {
				if (r->is_stopping) {
					/* still queued: the next start has it */
					spool_msg_free(&h->batch[k]);
					continue;
				}
				r->count++;
				r->found(r->ctx, h->batch[k]);
			}
			h->nbatch = 0;
			h->is_read = 0;
			r->next_handed++;
			is_found = 1;
		}
	} while (is_found);
	if (r->is_stopping)
		return;
	send_batches_or_finish(r);
}

/* Loop: the listing is over; the batches begin. */
static void
listing_done(struct work *w)
{
	struct spool_recovery *r = (struct spool_recovery *)w;

	r->is_listing_out = 0;
	if (r->is_stopping)
		return;
	if (r->nids > 0)
		log_info("spool: reading %zu queued messages (queue/ listed in %.2f s)", r->nids,
		    (double)r->listed_us / 1e6);
	send_batches_or_finish(r);
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
	r->listing = (struct work){ .run = listing_run, .done = listing_done };
	r->is_listing_out = 1;
	workq_submit(wq, &r->listing);
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
	if (r == NULL)
		return 0;
	for (size_t i = 0; i < RECOVERY_JOBS; i++)
		if (r->jobs[i].is_out)
			return 1;
	return r->is_listing_out;
}

void
spool_recovery_free(struct spool_recovery **rp)
{
	struct spool_recovery *r = *rp;

	if (r == NULL)
		return;
	ASSERT(!spool_recovery_busy(r));
	/* read, not handed over: a stop came first; still queued, the next start has them */
	for (size_t i = 0; i < RECOVERY_JOBS; i++)
		for (size_t k = 0; k < r->jobs[i].nbatch; k++)
			spool_msg_free(&r->jobs[i].batch[k]);
	if (r->queue_dir != NULL) {
		/* never listed (never started): nothing to keep apart any more */
		char (*committed)[QID_LEN + 1];
		size_t n;

		closedir(r->queue_dir);
		spool_listing_end(r->sp, &committed, &n);
		free(committed);
	}
	free(r->ids);
	free(r);
	*rp = NULL;
}
