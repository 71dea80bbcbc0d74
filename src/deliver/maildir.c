/*
 * maildir.c - delivery into a Maildir (the tmp -> new protocol).
 * The stored message has CRLF line ends throughout (bare CR and LF never
 * get into the spool), so turning each CRLF into LF, as Unix mailbox tools
 * expect, is exact and reversible.
 */
#include "deliver/deliver.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/fsutil.h"
#include "util/xalloc.h"

#define OUT_CHUNK (64 * 1024)

static atomic_uint delivery_seq;

struct lf_writer {
	int fd;
	struct buf out;
	int has_cr;		/* the previous chunk ended with CR */
	int err;
};

static int
lf_flush(struct lf_writer *w)
{
	if (w->out.len > 0 && write_all(w->fd, w->out.data, w->out.len) == -1) {
		w->err = errno;
		return -1;
	}
	buf_reset(&w->out);
	return 0;
}

/* Sink for the stored content: CRLF -> LF, written in large pieces. */
static int
lf_sink(void *ctx, const void *p, size_t n)
{
	struct lf_writer *w = ctx;
	const uint8_t *s = p, *end = s + n;

	if (w->has_cr && n > 0) {
		w->has_cr = 0;
		if (*s != '\n' && buf_append_byte(&w->out, '\r') == -1)
			return -1;
	}
	while (s < end) {
		const uint8_t *cr = memchr(s, '\r', (size_t)(end - s));
		size_t run = (size_t)((cr ? cr : end) - s);

		if (w->out.len + run > OUT_CHUNK && lf_flush(w) == -1)
			return -1;
		if (run > OUT_CHUNK) {
			if (write_all(w->fd, s, run) == -1) {
				w->err = errno;
				return -1;
			}
		} else if (buf_append(&w->out, s, run) == -1) {
			return -1;
		}
		if (cr == NULL)
			break;
		if (cr + 1 == end) {
			w->has_cr = 1;	/* decided by the next chunk */
			break;
		}
		if (cr[1] != '\n' && buf_append_byte(&w->out, '\r') == -1)
			return -1;
		s = cr + 1;
	}
	return 0;
}

static int
subdir_path(const char *maildir, const char *name, char *out, size_t size)
{
	int n = snprintf(out, size, "%s/%s", maildir, name);

	if (n < 0 || (size_t)n >= size) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

static int
open_dir(const char *path)
{
	return open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

/*
 * Opens the Maildir's tmp/ and new/, creating the Maildir (tmp, new and
 * cur) only when it is missing: the common case costs two opens, not a
 * mkdir per path component.
 */
static int
open_maildir(const char *maildir, int *tmp_fd, int *new_fd)
{
	static const char *const subdirs[] = { "tmp", "new", "cur" };
	char path[NELEM(subdirs)][PATH_MAX];

	for (size_t i = 0; i < NELEM(subdirs); i++)
		if (subdir_path(maildir, subdirs[i], path[i], sizeof(path[i])) == -1)
			return -1;
	for (int pass = 0; pass < 2; pass++) {
		int saved;

		if ((*tmp_fd = open_dir(path[0])) != -1 && (*new_fd = open_dir(path[1])) != -1)
			return 0;
		saved = errno;
		if (*tmp_fd != -1)
			close(*tmp_fd);
		*tmp_fd = *new_fd = -1;
		errno = saved;
		if (saved != ENOENT || pass == 1)
			return -1;
		for (size_t i = 0; i < NELEM(subdirs); i++)
			if (mkdir_p(path[i], MAILDIR_DIR_MODE) == -1)
				return -1;
	}
	return -1;
}

int
maildir_deliver(struct spool *sp, const struct spool_msg *m, size_t rcpt, const char *maildir,
    const char *hostname, char *err, size_t errsize)
{
	char name[256];
	struct lf_writer w = { .fd = -1 };
	struct timeval tv;
	const char *step = "open";
	int tmp_fd = -1, new_fd = -1, is_created = 0, is_renamed = 0, ret = -1, n;

	buf_init(&w.out, OUT_CHUNK + 2);
	if (open_maildir(maildir, &tmp_fd, &new_fd) == -1)
		goto out;
	/* unique: time, microseconds, pid, a counter, the queue id, the host (maildir(5)) */
	gettimeofday(&tv, NULL);
	n = snprintf(name, sizeof(name), "%lld.M%06ldP%dQ%u_%s.%s", (long long)tv.tv_sec,
	    (long)tv.tv_usec, (int)getpid(), atomic_fetch_add(&delivery_seq, 1) + 1, m->qid, hostname);
	if (n < 0 || (size_t)n >= sizeof(name)) {
		errno = ENAMETOOLONG;
		goto out;
	}
	if ((w.fd = openat(tmp_fd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    MAILDIR_FILE_MODE)) == -1)
		goto out;
	is_created = 1;
	/* the group's read right, which a umask such as systemd's UMask=0077 takes off */
	if (fchmod(w.fd, MAILDIR_FILE_MODE) == -1)
		goto out;
	step = "write";
	if (buf_printf(&w.out, "Return-Path: <%s>\nDelivered-To: %s\n", m->sender,
	    m->rcpts[rcpt].to) == -1 ||
	    spool_msg_read_content(sp, m->qid, lf_sink, &w) == -1 || lf_flush(&w) == -1)
		goto out;
	if (w.has_cr && (buf_append_byte(&w.out, '\r') == -1 || lf_flush(&w) == -1))
		goto out;
	step = "close";
	n = close(w.fd);
	w.fd = -1;
	if (n == -1)
		goto out;
	/* the file's flush, the rename into new/ and new/'s flush, shared with other messages */
	step = "flush";
	if (spool_deliver_rename(sp, tmp_fd, name, new_fd, name, m->qid, rcpt, &is_renamed) == -1)
		goto out;
	ret = 0;
out:
	if (ret == -1) {
		snprintf(err, errsize, "%s %s: %s", step, maildir,
		    strerror(w.err ? w.err : errno ? errno : EIO));
		if (w.fd != -1)
			close(w.fd);
		/* not known to be durable: take it back, the retry delivers it again */
		if (is_renamed)
			(void)unlinkat(new_fd, name, 0);
		else if (is_created)
			(void)unlinkat(tmp_fd, name, 0);
	}
	if (tmp_fd != -1)
		close(tmp_fd);
	if (new_fd != -1)
		close(new_fd);
	buf_clear(&w.out);
	return ret;
}
