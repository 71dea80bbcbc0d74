/*
 * recover.c - the spool at start (SECURITY.md, recovery): incoming/ is
 * emptied (nothing there was acknowledged), every file in queue/ is checked
 * record by record; a bad one goes to corrupt/ with a log line, never
 * deleted; a good one is handed over for delivery, or removed if every
 * recipient is done. Symlinks and non-regular files are never opened.
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
	char q[LOG_QUOTE_SIZE], w[LOG_QUOTE_SIZE];

	log_event(LOG_ERR, "spool", "corrupt", "file=queue/%s reason=%s", log_quote_str(name, q),
	    log_quote_str(why, w));
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

long
spool_recover(struct spool *sp, struct qid_gen *gen, void (*found)(void *ctx, struct spool_msg *m),
    void (*finished)(void *ctx, const struct spool_msg *m), void *ctx)
{
	int fd;
	DIR *d;
	struct dirent *e;
	long count = 0;
	char (*ids)[QID_LEN + 1] = NULL;
	size_t nids = 0, capids = 0;

	empty_incoming(sp);
	if ((fd = dup(sp->queue_fd)) == -1 || (d = fdopendir(fd)) == NULL) {
		if (fd != -1)
			close(fd);
		return -1;
	}
	rewinddir(d);
	/* in queue id order (arrival): the scheduler's index takes them fastest so */
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (!qid_valid(e->d_name, strlen(e->d_name))) {
			quarantine(sp, e->d_name, "not a queue id");
			continue;
		}
		if (nids == capids) {
			capids = capids ? capids * 2 : 256;
			ids = xrealloc(ids, capids * sizeof(*ids));
		}
		memcpy(ids[nids++], e->d_name, QID_LEN + 1);
	}
	closedir(d);
	if (nids > 1)
		qsort(ids, nids, sizeof(*ids), cmp_qid);
	for (size_t k = 0; k < nids; k++) {
		struct spool_msg *m;
		char err[256];
		size_t pending = 0;

		if ((m = spool_msg_load(sp, ids[k], err, sizeof(err))) == NULL) {
			quarantine(sp, ids[k], err);
			continue;
		}
		(void)qid_seen(gen, m->qid);
		for (size_t i = 0; i < m->nrcpts; i++)
			pending += !m->rcpts[i].is_done;
		if (pending == 0) {
			if (finished != NULL)
				finished(ctx, m);
			(void)spool_msg_remove(sp, m->qid);
			log_ev_removed(m->qid, "all recipients done");
			spool_msg_free(&m);
			continue;
		}
		count++;
		found(ctx, m);
	}
	free(ids);
	return count;
}
