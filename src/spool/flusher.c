/*
 * flusher.c - group commit: many files share one flush.
 *
 * A flush item is a finished, closed file to be made durable and renamed
 * into place: a received message (incoming/ -> queue/) or a delivered copy
 * (a Maildir's tmp/ -> new/); or one only to be made durable where it is:
 * a queued file that delivery appended status records to. One thread takes
 * every item submitted since its last batch and, where one syncfs(2) is a
 * durable flush of a file system:
 *   1. renames each file whose name may become durable with its data into
 *      its target directory: a received message (its owner says so:
 *      is_name_first in spool_int.h), and a Maildir copy whose data the
 *      previous batch made durable;
 *   2. calls syncfs(2) once per file system in the batch: the data and
 *      inodes of every file, and the directories' entries, are on stable
 *      storage (one device flush, however many files: measured ~1 ms for 1
 *      to 20 files where one fsync per file costs ~0.6 ms each and
 *      sequential ones do not merge);
 *   3. reports every item but the Maildir copies seen for the first time:
 *      their data is durable now, and they go on to the next batch for
 *      their rename (a reader must never find a message in new/ whose data
 *      could still be lost). So a batch costs one device flush, where the
 *      order data, rename, directory fsync took two, which every session
 *      of the batch waited for.
 * On a file system where syncfs is not known to be a durable flush (FUSE,
 * NFS, SMB, anything not in fs_kinds[]), each file is fsynced instead, then
 * renamed, then each target directory fsynced once; then it is reported.
 * Reporting an item runs its durable() (its owner's records: a delivery's
 * D record), and once every item's has run, every done().
 * While a batch is being flushed the
 * next one gathers, so the batch grows with the load, and deliveries share
 * the flushes of receiving instead of competing with them: while messages
 * are being received, a batch of only deliveries ("lazy" items) waits up to
 * LAZY_WAIT_US for a received message to ride with, since a session is
 * waiting for that one and nobody is waiting for a delivery. With nothing
 * received lately, deliveries are flushed at once. A failed syncfs, file
 * fsync or directory fsync fails the items it covers and is never retried
 * into a success (SECURITY.md 2); the item says whether its rename
 * happened, so its owner knows which name to remove. An owner may rename
 * its item itself (a received message: never over a file already queued,
 * txn.c).
 */
#include "spool/spool_int.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "metrics/metrics.h"
#include "util/clock.h"
#include "util/fsutil.h"
#include "util/log.h"
#include "util/xalloc.h"

#define LAZY_WAIT_US 2000		/* how long deliveries wait for a received message */
#define RECEIVING_WINDOW_US 50000	/* "receiving lately": an eager item this recently */

/* the figures: files per batch, and seconds from a batch's start until all are durable */
static const double files_bounds[] = { 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024 };
static const double seconds_bounds[] = { 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
	0.25, 0.5, 1, 2.5 };

/*
 * File systems whose syncfs(2) makes every file on them durable: local
 * disk file systems, whose sync_fs writes back all dirty data and commits
 * the journal or log (tmpfs keeps nothing over a power loss anyway).
 * Elsewhere syncfs may flush nothing at all: the kernel sends FUSE_SYNCFS
 * to virtiofs only, so on any other FUSE file system syncfs returns 0 and
 * the server never hears of it; NFS and SMB promise durability through
 * fsync (NFS: COMMIT), not syncfs. There, and on any type not listed, each
 * file gets its own fsync.
 * overlayfs (a container's root) is left out on purpose: whether its
 * syncfs is a flush depends on the file system under it.
 */
static const struct fs_kind {
	unsigned long magic;	/* statfs f_type */
	const char *name;
	int is_syncfs_durable;
} fs_kinds[] = {
	{ 0xEF53, "ext2/ext3/ext4", 1 },
	{ 0x58465342, "xfs", 1 },
	{ 0x9123683E, "btrfs", 1 },
	{ 0xF2F52010, "f2fs", 1 },
	{ 0x01021994, "tmpfs", 1 },
	{ 0x65735546, "fuse", 0 },
	{ 0x6969, "nfs", 0 },
	{ 0xFF534D42, "cifs", 0 },
	{ 0xFE534D42, "smb2", 0 },
	{ 0x794C7630, "overlayfs", 0 },
};

/* A file system the flusher has met, and how it flushes files there. */
struct fs_seen {
	dev_t dev;
	int is_syncfs_durable;
};

/* One file system or one directory of a batch, flushed once for all its items. */
struct flush_target {
	dev_t dev;
	ino_t ino;
	int fd;
	int err;
	int is_each;		/* a file system: fsync each file, syncfs is no flush here */
};

struct flusher {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct flush_item *head, *tail;
	unsigned neager;		/* items in the list that someone waits for */
	unsigned nlazy;			/* the others, but for those carried from a batch */
	uint64_t last_eager_us;		/* when the last eager item was submitted or reported (monotonic) */
	int is_stopping;
	struct flush_target *fss, *dirs;	/* the batch's distinct ones, reused */
	size_t nfss, ndirs, fss_cap, dirs_cap;
	struct fs_seen *seen;		/* every file system met so far (flusher thread) */
	size_t nseen, seen_cap;
	struct metric_series *files, *seconds;	/* per batch (histograms, in the registry) */
};

/*
 * The target in *set that fd's file system (is_dir 0) or directory (1)
 * belongs to, added if new; NULL with errno if fd cannot be examined.
 */
static struct flush_target *
target_of(struct flush_target **set, size_t *n, size_t *cap, int fd, int is_dir)
{
	struct stat st;

	/* the spool's own directories come with the same fd every time: no fstat */
	for (size_t i = 0; i < *n; i++)
		if ((*set)[i].fd == fd)
			return &(*set)[i];
	if (fstat(fd, &st) == -1)
		return NULL;
	for (size_t i = 0; i < *n; i++)
		if ((*set)[i].dev == st.st_dev && (!is_dir || (*set)[i].ino == st.st_ino))
			return &(*set)[i];
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 8;
		*set = xrealloc(*set, *cap * sizeof(**set));
	}
	(*set)[*n] = (struct flush_target){ .dev = st.st_dev, .ino = st.st_ino, .fd = fd };
	return &(*set)[(*n)++];
}

/*
 * Whether one syncfs(2) makes the files on fd's file system (device dev)
 * durable. The first time a file system is met, its type is looked up and
 * the flush method logged, naming it by label or else by its device.
 * XXX: a file system mounted later on a device number seen before keeps
 * the first one's method; a daemon's spool and mailboxes stay mounted.
 */
static int
fs_syncfs_is_durable(struct flusher *f, int fd, dev_t dev, const char *label)
{
	const struct fs_kind *kind = NULL;
	struct statfs sfs;
	char name[32] = "type unknown", dev_label[64];

	for (size_t i = 0; i < f->nseen; i++)
		if (f->seen[i].dev == dev)
			return f->seen[i].is_syncfs_durable;
	if (fstatfs(fd, &sfs) == 0) {
		snprintf(name, sizeof(name), "type 0x%lx", (unsigned long)sfs.f_type);
		for (size_t i = 0; i < sizeof(fs_kinds) / sizeof(fs_kinds[0]); i++)
			if ((unsigned long)sfs.f_type == fs_kinds[i].magic)
				kind = &fs_kinds[i];
	}
	if (label == NULL) {
		snprintf(dev_label, sizeof(dev_label), "device %u:%u", major(dev), minor(dev));
		label = dev_label;
	}
	if (kind != NULL && kind->is_syncfs_durable)
		log_info("spool: flush of %s (%s): one syncfs(2) per group commit", label,
		    kind->name);
	else
		log_info("spool: flush of %s (%s): fsync(2) of each file, syncfs(2) is no "
		    "durable flush there", label, kind ? kind->name : name);
	if (f->nseen == f->seen_cap) {
		f->seen_cap = f->seen_cap ? f->seen_cap * 2 : 4;
		f->seen = xrealloc(f->seen, f->seen_cap * sizeof(*f->seen));
	}
	f->seen[f->nseen++] = (struct fs_seen){ .dev = dev,
		.is_syncfs_durable = kind != NULL && kind->is_syncfs_durable };
	return kind != NULL && kind->is_syncfs_durable;
}

/*
 * fsync of the closed file name in dirfd, opened again for it: fsync
 * flushes the file, whichever descriptor it is called on (fsync(2)).
 * 0, or -1 with errno; a close error counts (NFS reports late ones there).
 */
static int
fsync_at(int dirfd, const char *name)
{
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	int r, saved;

	if (fd == -1)
		return -1;
	r = fsync(fd);
	saved = errno;
	if (close(fd) == -1 && r == 0)
		return -1;
	errno = saved;
	return r;
}

/*
 * Renames it into place; it->err says why not. Never over a file already
 * there: a Maildir copy's name is unique by its making (time, process,
 * counter, host), and a clash would mean another message in new/ lost, so
 * EEXIST fails the copy instead, which is delivered again under a new name.
 */
static void
rename_item(struct flush_item *it)
{
	int r = it->rename != NULL ? it->rename(it) :
	    rename_noreplace(it->from_dirfd, it->from_name, it->to_dirfd, it->to_name);

	if (r == -1)
		it->err = errno;
	else
		it->is_renamed = 1;
}

/* Whether its file system's syncfs is a durable flush (else: an fsync of each file). */
static int
is_syncfs_fs(const struct flusher *f, const struct flush_item *it)
{
	return it->fs_index != SIZE_MAX && !f->fss[it->fs_index].is_each;
}

/*
 * Whether it is renamed before this batch's syncfs, which makes the name
 * durable with the data: a received message (is_name_first), or a file
 * whose data an earlier batch's syncfs made durable (a Maildir copy).
 */
static int
is_named_before_syncfs(const struct flusher *f, const struct flush_item *it)
{
	return is_syncfs_fs(f, it) && it->to_name != NULL &&
	    (it->is_name_first || it->is_data_durable);
}

/*
 * Whether it goes on to the next batch: a file that must not be named
 * before its data is durable, which this batch's syncfs made so; the next
 * one's makes its name durable (rather than a directory fsync in this one,
 * a second device flush that every 250 of the batch would wait for).
 */
static int
is_carried(const struct flusher *f, const struct flush_item *it)
{
	return it->err == 0 && is_syncfs_fs(f, it) && it->to_name != NULL &&
	    !is_named_before_syncfs(f, it);
}

/*
 * Reports the items of batch, first every durable() (what the owners
 * record once their file is durable), then every done(). So a delivery's
 * D record is written before a later message's 250 can go out, and a crash
 * of the process after that 250 cannot deliver the earlier message again.
 */
static void
report(struct flush_item *batch)
{
	struct flush_item *it, *next;

	for (it = batch; it != NULL; it = it->next)
		if (it->err == 0 && it->durable != NULL)
			it->durable(it);
	for (it = batch; it != NULL; it = next) {
		next = it->next;	/* done() may free the item */
		it->done(it);
	}
}

/*
 * Puts the items of list back in front of the queue, for the next batch;
 * a batch with received messages (has_eager) counts as receiving from its
 * end, when their 250s go out, for the lazy items' wait (take_batch).
 */
static void
carry(struct flusher *f, struct flush_item *list, int has_eager)
{
	struct flush_item *last = list;

	if (list == NULL && !has_eager)
		return;
	pthread_mutex_lock(&f->mu);
	if (has_eager)
		f->last_eager_us = clock_mono_us();
	if (list != NULL) {
		while (last->next != NULL)
			last = last->next;
		last->next = f->head;
		if (f->head == NULL)
			f->tail = last;
		f->head = list;
	}
	pthread_mutex_unlock(&f->mu);
}

static void
flush_batch(struct flusher *f, struct flush_item *batch)
{
	struct flush_item *it, *next, *done = NULL, **done_tail = &done, *carried = NULL,
	    **carried_tail = &carried;
	uint64_t start_us = clock_mono_us(), ndone = 0;
	int has_eager = 0;

	f->nfss = f->ndirs = 0;
	for (it = batch; it != NULL; it = it->next) {
		struct flush_target *fs = target_of(&f->fss, &f->nfss, &f->fss_cap, it->from_dirfd, 0);

		has_eager |= !it->is_lazy;
		it->err = fs ? 0 : errno;
		it->is_renamed = 0;
		it->fs_index = fs ? (size_t)(fs - f->fss) : SIZE_MAX;
	}
	for (size_t i = 0; i < f->nfss; i++)
		f->fss[i].is_each = !fs_syncfs_is_durable(f, f->fss[i].fd, f->fss[i].dev, NULL);
	/* 1. the names that the coming syncfs makes durable with their data */
	for (it = batch; it != NULL; it = it->next)
		if (it->err == 0 && is_named_before_syncfs(f, it))
			rename_item(it);
	/* 2. the data of every file, one syncfs per file system */
	for (size_t i = 0; i < f->nfss; i++) {
		struct flush_target *fs = &f->fss[i];

		if (!fs->is_each && syncfs(fs->fd) == -1) {
			fs->err = errno;
			log_err("spool: syncfs failed: %s; failing the files it covers",
			    strerror(errno));
		}
	}
	/* 3. where syncfs is no flush: each file's fsync, its rename, and below its directory's */
	for (it = batch; it != NULL; it = it->next) {
		if (it->err == 0 && f->fss[it->fs_index].err != 0)
			it->err = f->fss[it->fs_index].err;
		if (it->err != 0 || is_syncfs_fs(f, it))
			continue;
		if (fsync_at(it->from_dirfd, it->from_name) == -1)
			it->err = errno;
		else if (it->to_name != NULL)
			rename_item(it);
	}
	for (it = batch; it != NULL; it = it->next) {
		struct flush_target *d;

		if (!it->is_renamed || is_syncfs_fs(f, it))
			continue;
		if ((d = target_of(&f->dirs, &f->ndirs, &f->dirs_cap, it->to_dirfd, 1)) == NULL)
			it->err = errno;
		else
			it->dir_index = (size_t)(d - f->dirs);
	}
	for (size_t i = 0; i < f->ndirs; i++)
		if (fsync(f->dirs[i].fd) == -1) {
			f->dirs[i].err = errno;
			log_err("spool: directory fsync failed: %s; failing the files it covers",
			    strerror(errno));
		}
	/* 4. what is whole now is reported; the rest goes on to the next batch */
	for (it = batch; it != NULL; it = next) {
		next = it->next;
		if (it->is_renamed && it->err == 0 && !is_syncfs_fs(f, it))
			it->err = f->dirs[it->dir_index].err;
		if (is_carried(f, it)) {
			it->is_data_durable = 1;
			*carried_tail = it;
			carried_tail = &it->next;
		} else {
			ndone++;
			*done_tail = it;
			done_tail = &it->next;
		}
	}
	*done_tail = *carried_tail = NULL;
	metric_series_observe(f->files, (double)ndone);
	metric_series_observe(f->seconds, (double)(clock_mono_us() - start_us) / 1e6);
	carry(f, carried, has_eager);
	report(done);
}

/* With f->mu held: waits until there is a batch to flush; NULL when stopping with none. */
static struct flush_item *
take_batch(struct flusher *f)
{
	struct flush_item *batch;

	while (!f->is_stopping && f->neager == 0) {
		uint64_t until;
		struct timespec ts;

		if (f->head == NULL) {
			pthread_cond_wait(&f->cv, &f->mu);
			continue;
		}
		until = clock_mono_us();
		if (until - f->last_eager_us >= RECEIVING_WINDOW_US)
			break;
		/*
		 * only deliveries, while receiving: let the next received message
		 * come along; copies carried for their rename alone (their data is
		 * durable) wait for one as long as receiving goes on, so that their
		 * rename and D record come with a batch that someone waits for, and
		 * a kill -9 after the last 250 finds them before their rename (sent
		 * again, once) rather than between it and their D record
		 */
		until = f->nlazy > 0 ? until + LAZY_WAIT_US : f->last_eager_us + RECEIVING_WINDOW_US;
		ts.tv_sec = (time_t)(until / 1000000u);
		ts.tv_nsec = (long)(until % 1000000u) * 1000;
		if (pthread_cond_timedwait(&f->cv, &f->mu, &ts) == ETIMEDOUT)
			break;
	}
	batch = f->head;
	f->head = f->tail = NULL;
	f->neager = f->nlazy = 0;
	return batch;
}

static void *
flusher_main(void *arg)
{
	struct flusher *f = arg;

	for (;;) {
		struct flush_item *batch;

		pthread_mutex_lock(&f->mu);
		batch = take_batch(f);
		pthread_mutex_unlock(&f->mu);
		if (batch == NULL)
			return NULL;
		flush_batch(f, batch);
	}
}

struct flusher *
flusher_new(int fd, const char *label, struct metrics *m, int *is_syncfs_durable_out)
{
	struct flusher *f = xcalloc(1, sizeof(*f));
	struct stat st;
	int r;

	pthread_condattr_t ca;

	f->files = metric_series(metrics_histogram(m, "sterna_spool_flush_files",
	    "Files made durable by one group commit: messages received, copies delivered to "
	    "Maildirs, queue files with new status records.", NULL, files_bounds,
	    NELEM(files_bounds)), NULL);
	f->seconds = metric_series(metrics_histogram(m, "sterna_spool_flush_seconds",
	    "How long one group commit took, from its start until every file of it was "
	    "durable.", NULL, seconds_bounds, NELEM(seconds_bounds)), NULL);

	/* before the thread starts: f->seen is the thread's from then on */
	*is_syncfs_durable_out = fstat(fd, &st) == 0 &&
	    fs_syncfs_is_durable(f, fd, st.st_dev, label);
	pthread_mutex_init(&f->mu, NULL);
	/* the lazy wait is measured on the monotonic clock, like clock_mono_us() */
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&f->cv, &ca);
	pthread_condattr_destroy(&ca);
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
	/* how well flushes were shared, from the figures the batches kept */
	log_info("spool: %.0f files made durable in %llu group flushes",
	    metric_series_value(f->files), (unsigned long long)metric_series_count(f->files));
	pthread_cond_destroy(&f->cv);
	pthread_mutex_destroy(&f->mu);
	free(f->fss);
	free(f->dirs);
	free(f->seen);
	free(f);
	*fp = NULL;
}

void
flusher_submit(struct flusher *f, struct flush_item *it)
{
	pthread_mutex_lock(&f->mu);
	it->next = NULL;
	if (!it->is_lazy) {
		f->neager++;
		f->last_eager_us = clock_mono_us();
	} else {
		f->nlazy++;
	}
	if (f->tail)
		f->tail->next = it;
	else
		f->head = it;
	f->tail = it;
	pthread_mutex_unlock(&f->mu);
	/* after the unlock, so the flusher does not wake only to wait for the lock (workq.c) */
	pthread_cond_signal(&f->cv);
}

/* A caller that waits for its item: the blocking form of flusher_submit. */
struct flush_wait {
	struct flush_item it;	/* first: done() gets it */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int is_done;
	void (*durable)(void *ctx);
	void *durable_ctx;
};

static void
wait_durable(struct flush_item *it)
{
	struct flush_wait *w = (struct flush_wait *)it;

	w->durable(w->durable_ctx);
}

static void
wait_done(struct flush_item *it)
{
	struct flush_wait *w = (struct flush_wait *)it;

	pthread_mutex_lock(&w->mu);
	w->is_done = 1;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

int
flusher_sync_wait(struct flusher *f, int dirfd, const char *name)
{
	int is_renamed;

	return flusher_rename_wait(f, dirfd, name, -1, NULL, NULL, NULL, &is_renamed);
}

int
flusher_rename_wait(struct flusher *f, int from_dirfd, const char *from, int to_dirfd,
    const char *to, void (*durable)(void *ctx), void *ctx, int *is_renamed)
{
	struct flush_wait w = {
		.it = { .from_dirfd = from_dirfd, .from_name = from, .to_dirfd = to_dirfd,
		    .to_name = to, .durable = durable ? wait_durable : NULL, .done = wait_done,
		    .is_lazy = 1 },
		.durable = durable,
		.durable_ctx = ctx,
	};

	pthread_mutex_init(&w.mu, NULL);
	pthread_cond_init(&w.cv, NULL);
	flusher_submit(f, &w.it);
	pthread_mutex_lock(&w.mu);
	while (!w.is_done)
		pthread_cond_wait(&w.cv, &w.mu);
	pthread_mutex_unlock(&w.mu);
	pthread_cond_destroy(&w.cv);
	pthread_mutex_destroy(&w.mu);
	*is_renamed = w.it.is_renamed;
	if (w.it.err != 0) {
		errno = w.it.err;
		return -1;
	}
	return 0;
}
