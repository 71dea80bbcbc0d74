/*
 * spool.c - the spool: its folders opened, its free space, and the listing
 * of queue/ that recovery makes while messages are committed. Writing a
 * message is txn.c's, reading one msg.c's and stream.c's, the group
 * commit flusher.c's.
 */
#include "spool/spool_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "util/clock.h"
#include "util/fsutil.h"
#include "util/log.h"
#include "util/xalloc.h"

enum spool_result
spool_result_of(int err)
{
	return (err == ENOSPC || err == EDQUOT) ? SPOOL_ERR_NOSPACE : SPOOL_ERR_IO;
}

/* ---- opening ---- */

static int
open_subdir(const char *dir, const char *name, char *err, size_t errsize)
{
	char path[4096];
	int fd, n = snprintf(path, sizeof(path), "%s/%s", dir, name);

	if (n < 0 || (size_t)n >= sizeof(path)) {
		snprintf(err, errsize, "%s: path too long", dir);
		return -1;
	}
	if (mkdir_p(path, 0700) == -1 ||
	    (fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) == -1) {
		snprintf(err, errsize, "%s: %s", path, strerror(errno));
		return -1;
	}
	return fd;
}

struct spool *
spool_open(const char *dir, struct workq *wq, struct metrics *m, char *err, size_t errsize)
{
	struct spool *sp = xcalloc(1, sizeof(*sp));

	sp->dir = xstrdup(dir);
	sp->wq = wq;
	sp->incoming_fd = sp->queue_fd = sp->corrupt_fd = -1;
	pthread_mutex_init(&sp->listing_mu, NULL);
	if ((sp->incoming_fd = open_subdir(dir, "incoming", err, errsize)) == -1 ||
	    (sp->queue_fd = open_subdir(dir, "queue", err, errsize)) == -1 ||
	    (sp->corrupt_fd = open_subdir(dir, "corrupt", err, errsize)) == -1) {
		spool_close(&sp);
		return NULL;
	}
	/* the renames below must stay inside one file system, and syncfs covers it */
	spool_refresh_space(sp);
	sp->fl = flusher_new(sp->queue_fd, dir, m, &sp->is_syncfs_durable);
	return sp;
}

void
spool_close(struct spool **spp)
{
	struct spool *sp = *spp;

	if (sp == NULL)
		return;
	flusher_free(&sp->fl);
	if (sp->incoming_fd != -1)
		close(sp->incoming_fd);
	if (sp->queue_fd != -1)
		close(sp->queue_fd);
	if (sp->corrupt_fd != -1)
		close(sp->corrupt_fd);
	pthread_mutex_destroy(&sp->listing_mu);
	free(sp->committed);
	free(sp->dir);
	free(sp);
	*spp = NULL;
}

void
spool_refresh_space(struct spool *sp)
{
	struct statvfs st;

	if (fstatvfs(sp->queue_fd, &st) == 0)
		atomic_store(&sp->free_bytes, (uint64_t)st.f_bavail * st.f_frsize);
}

uint64_t
spool_free_bytes(const struct spool *sp)
{
	return atomic_load(&((struct spool *)sp)->free_bytes);
}

/* ---- the listing of queue/ and the commits it must not miss (txn.c, txn_rename) ---- */

void
spool_listing_begin(struct spool *sp)
{
	pthread_mutex_lock(&sp->listing_mu);
	sp->is_listing = 1;
	sp->ncommitted = 0;
	pthread_mutex_unlock(&sp->listing_mu);
}

void
spool_listing_end(struct spool *sp, char (**ids_out)[QID_LEN + 1], size_t *n_out)
{
	pthread_mutex_lock(&sp->listing_mu);
	sp->is_listing = 0;
	*ids_out = sp->committed;
	*n_out = sp->ncommitted;
	sp->committed = NULL;
	sp->ncommitted = sp->committed_cap = 0;
	pthread_mutex_unlock(&sp->listing_mu);
}
