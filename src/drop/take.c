/*
 * take.c - the worker side of a folder (folder.c): listing it, taking a
 * file (renamed to its taken name, flushed, opened without following links
 * or opening devices, read with a bound, parsed by its kind), removing a
 * queued file, and moving a file that cannot be taken to bad/ with its
 * reason. Blocking calls only; each runs as the folder's one job in flight,
 * so it owns the folder's file in hand while it runs.
 */
#include "drop/drop_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/clock.h"
#include "util/fsutil.h"
#include "util/log.h"
#include "util/xalloc.h"

#define LIST_MAX 256		/* names per scan job; more are found by the next one */
/* a file may be bigger than its message: envelope lines, maildrop framing */
#define READ_SLACK(max) (1024 * 1024 + (max) / 64)

/*
 * Lists up to LIST_MAX candidate names. In a folder whose names may appear
 * before their file is complete, a name counts once its file has not
 * changed for one scan interval: a writer in the middle of a write changes
 * the time on every write.
 */
static void
run_list(struct job *j)
{
	struct folder *f = j->f;
	int fd = dup(f->dir_fd);
	DIR *d = fd == -1 ? NULL : fdopendir(fd);
	struct dirent *e;
	int64_t now_s = (int64_t)(clock_wall_us() / 1000000u);
	int64_t settle_s = (int64_t)(f->scan_ms + 999) / 1000;

	if (d == NULL) {
		if (fd != -1)
			close(fd);
		snprintf(j->reason, sizeof(j->reason), "%s", strerror(errno));
		return;
	}
	rewinddir(d);
	while ((e = readdir(d)) != NULL) {
		struct stat st = { .st_mode = S_IFREG };

		if (!folder_is_candidate(e->d_name))
			continue;
		if (e->d_type == DT_DIR)
			continue;
		if (!f->k->is_atomic) {
			if (fstatat(f->dir_fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) == -1)
				continue;
			if (S_ISREG(st.st_mode) && (now_s - (int64_t)st.st_mtim.tv_sec < settle_s ||
			    now_s - (int64_t)st.st_ctim.tv_sec < settle_s))
				continue;
		}
		if (j->nnames == LIST_MAX) {
			j->is_more = 1;
			break;
		}
		j->names = xrealloc(j->names, (j->nnames + 1) * sizeof(*j->names));
		j->is_reg = xrealloc(j->is_reg, j->nnames + 1);
		j->is_reg[j->nnames] = S_ISREG(st.st_mode);
		j->names[j->nnames++] = xstrdup(e->d_name);
	}
	closedir(d);
}

/* Appends the .reason file beside a bad file: why, for whoever looks at bad/. */
static void
write_reason(struct folder *f, const char *bad_name, const char *qid, const char *from,
    const char *reason)
{
	char name[NAME_MAX + 16], part[NAME_MAX + 16], text[1024];
	int fd, n, r = -1;

	n = snprintf(name, sizeof(name), "%s.reason", bad_name);
	if (n < 0 || (size_t)n >= sizeof(name))
		return;
	/* written under a dot name, then renamed: whoever reads NAME.reason reads it whole */
	n = snprintf(part, sizeof(part), ".%s", name);
	if (n < 0 || (size_t)n >= sizeof(part))
		return;
	n = snprintf(text, sizeof(text), "%s\nfile: %s\nqueue id: %s\n", reason, from, qid);
	if (n < 0 || (size_t)n >= sizeof(text))
		n = (int)strlen(text);
	fd = openat(f->bad_fd, part, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0640);
	if (fd != -1 && write_all(fd, text, (size_t)n) == 0)
		r = renameat(f->bad_fd, part, f->bad_fd, name);
	if (r == -1) {
		log_err("%s: %s/%s: %s", f->k->entrance, f->bad, name, strerror(errno));
		(void)unlinkat(f->bad_fd, part, 0);
	}
	if (fd != -1)
		close(fd);
}

/*
 * Moves taken/QID to bad/ under its folder name (or QID when taken again
 * after a restart; NAME.QID when bad/ has a NAME already), with its reason.
 */
static void
move_bad(struct job *j, const char *qid, const char *from)
{
	struct folder *f = j->f;
	int n, r;

	snprintf(j->bad_name, sizeof(j->bad_name), "%s", from);
	r = renameat2(f->taken_fd, qid, f->bad_fd, j->bad_name, RENAME_NOREPLACE);
	if (r == -1 && errno == EEXIST) {
		n = snprintf(j->bad_name, sizeof(j->bad_name), "%.200s.%s", from, qid);
		if (n < 0 || (size_t)n >= sizeof(j->bad_name))
			snprintf(j->bad_name, sizeof(j->bad_name), "%s", qid);
		r = renameat2(f->taken_fd, qid, f->bad_fd, j->bad_name, RENAME_NOREPLACE);
	}
	/* a file that cannot be moved stays taken: the next start looks at it again */
	if (r == -1) {
		log_err("%s: cannot move %s/%s to %s: %s", f->k->entrance, f->taken, qid, f->bad,
		    strerror(errno));
		j->bad_name[0] = '\0';
		return;
	}
	write_reason(f, j->bad_name, qid, from, j->reason);
}

static int
take_bad(struct job *j, const char *why, int err)
{
	if (err != 0)
		snprintf(j->reason, sizeof(j->reason), "%s: %s", why, strerror(err));
	else
		snprintf(j->reason, sizeof(j->reason), "%s", why);
	j->result = TAKE_BAD;
	move_bad(j, j->f->qid, j->f->cur.name);
	return -1;
}

/* Reads the whole file, at most max bytes: 0, or -1 (over max: *is_big; else errno). */
static int
read_bounded(int fd, uint64_t max, struct buf *b, int *is_big)
{
	uint8_t tmp[64 * 1024];

	for (;;) {
		ssize_t n = read(fd, tmp, sizeof(tmp));

		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		if (n == 0)
			return 0;
		if (b->len + (size_t)n > max || buf_append(b, tmp, (size_t)n) == -1) {
			*is_big = 1;
			return -1;
		}
	}
}

static void
run_take(struct job *j)
{
	struct folder *f = j->f;
	const struct config *cfg = f->d.cfg;
	const char *qid = f->qid;
	uint64_t max_file = cfg->max_message_bytes + READ_SLACK(cfg->max_message_bytes);
	struct stat st, st2;
	struct buf in;
	char why[256];
	int fd = -1, is_big = 0;

	buf_init(&in, max_file);
	j->uid = -1;
	if (!f->cur.is_taken) {
		if (fstatat(f->dir_fd, f->cur.name, &st, AT_SYMLINK_NOFOLLOW) == -1 ||
		    S_ISDIR(st.st_mode)) {
			j->result = TAKE_GONE;	/* taken or removed by someone else; or a folder */
			goto out;
		}
		if (renameat(f->dir_fd, f->cur.name, f->taken_fd, qid) == -1) {
			j->result = errno == ENOENT ? TAKE_GONE : TAKE_ERR;
			snprintf(j->reason, sizeof(j->reason), "cannot rename to %s/%s: %s",
			    f->taken, qid, strerror(errno));
			goto out;
		}
		/*
		 * The new name must be on disk before the message can be: after a
		 * power loss a file back under its old name would be queued twice.
		 * A flush that fails is logged and the file still queued: the risk
		 * is that duplicate, after a power loss, never a loss.
		 */
		if (fsync(f->taken_fd) == -1)
			log_err("%s: fsync %s: %s", f->k->entrance, f->taken, strerror(errno));
	}
	/* the type first: opening a device or a FIFO can block or have effects */
	if (fstatat(f->taken_fd, qid, &st, AT_SYMLINK_NOFOLLOW) == -1) {
		j->result = TAKE_GONE;
		goto out;
	}
	if (S_ISLNK(st.st_mode)) {
		take_bad(j, "a symbolic link", 0);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		take_bad(j, "not a regular file", 0);
		goto out;
	}
	if ((uint64_t)st.st_size > max_file) {
		snprintf(why, sizeof(why), "over the size limit (%llu bytes)",
		    (unsigned long long)st.st_size);
		take_bad(j, why, 0);
		goto out;
	}
	fd = openat(f->taken_fd, qid, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd == -1) {
		take_bad(j, "unreadable", errno);
		goto out;
	}
	if (fstat(fd, &st2) == -1 || st2.st_ino != st.st_ino || st2.st_dev != st.st_dev ||
	    !S_ISREG(st2.st_mode)) {
		take_bad(j, "changed while it was opened", 0);
		goto out;
	}
	if (read_bounded(fd, max_file, &in, &is_big) == -1) {
		if (is_big)
			take_bad(j, "over the size limit", 0);
		else
			take_bad(j, "unreadable", errno);
		goto out;
	}
	j->size = in.len;
	j->uid = (long)st2.st_uid;
	buf_init(&f->file.content, cfg->max_message_bytes);
	if (f->k->parse(in.data, in.len, &st2, cfg, &f->file, why, sizeof(why)) == -1) {
		drop_file_clear(&f->file);
		take_bad(j, why, 0);
		goto out;
	}
	j->result = TAKE_OK;
out:
	if (fd != -1)
		close(fd);
	buf_clear(&in);
}

/* Taken/QID is queued: it goes, durably, so that a restart cannot queue it again. */
static void
run_remove(struct job *j)
{
	struct folder *f = j->f;

	if (unlinkat(f->taken_fd, f->qid, 0) == -1 && errno != ENOENT)
		log_err("%s: cannot remove %s/%s: %s", f->k->entrance, f->taken, f->qid,
		    strerror(errno));
	else if (fsync(f->taken_fd) == -1)
		log_err("%s: fsync %s: %s", f->k->entrance, f->taken, strerror(errno));
}

void
folder_job_run(struct work *w)
{
	struct job *j = (struct job *)w;

	switch (j->kind) {
	case J_LIST:
		run_list(j);
		break;
	case J_TAKE:
		run_take(j);
		break;
	case J_REMOVE:
		run_remove(j);
		break;
	case J_BAD:
		move_bad(j, j->f->qid, j->f->cur.name);
		break;
	}
}
