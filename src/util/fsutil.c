/*
 * fsutil.c - write_all, pread_all, renames that never replace a file,
 * directory flushes, mkdir -p (durable), and small files read whole.
 */
#include "fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int
write_all(int fd, const void *p, size_t n)
{
	const char *s = p;

	while (n > 0) {
		ssize_t w = write(fd, s, n);

		if (w == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (w == 0) {
			errno = EIO;
			return -1;
		}
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

ssize_t
pread_all(int fd, void *p, size_t n, off_t off)
{
	char *s = p;
	size_t got = 0;

	while (got < n) {
		ssize_t r = pread(fd, s + got, n - got, off + (off_t)got);

		if (r == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

/* Applies flush (fsync or syncfs) to the directory at path: 0, or -1 with errno. */
int
rename_noreplace(int from_dirfd, const char *from, int to_dirfd, const char *to)
{
	int err;

	if (renameat2(from_dirfd, from, to_dirfd, to, RENAME_NOREPLACE) == 0)
		return 0;
	/* ENOSYS: a kernel before 3.15, or a filter that does not know the call */
	if (errno != EINVAL && errno != ENOSYS)
		return -1;
	err = errno;
	if (linkat(from_dirfd, from, to_dirfd, to, 0) == -1) {
		if (errno != EEXIST)
			errno = err;	/* no hard links either: the first refusal says why */
		return -1;
	}
	/* the file is under to now, which is what counts */
	(void)unlinkat(from_dirfd, from, 0);
	return 0;
}

static int
flush_dir_with(const char *path, int (*flush)(int fd))
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int r, saved;

	if (fd == -1)
		return -1;
	r = flush(fd);
	saved = errno;
	close(fd);
	errno = saved;
	return r;
}

int
fsync_dir(const char *path)
{
	return flush_dir_with(path, fsync);
}

/*
 * Makes the entry of the directory just made at path durable: a new
 * directory is in its parent, which only a flush of the parent keeps over a
 * power loss (ext4 happens to commit it with the next fsync of anything;
 * other file systems need not). A parent we may write but not read (mode
 * -wx) cannot be opened for fsync: syncfs(2) of its file system is the
 * next best flush there.
 * XXX: a caller that finds (EEXIST) a directory another thread made an
 * instant ago does not wait for that thread's flush of it.
 */
static int
flush_new_dir(char *path)
{
	char *slash = strrchr(path, '/');
	int r;

	if (slash == NULL)
		r = fsync_dir(".");
	else if (slash == path)
		r = fsync_dir("/");
	else {
		*slash = '\0';
		r = fsync_dir(path);
		*slash = '/';
	}
	if (r == 0 || (errno != EACCES && errno != EPERM))
		return r;
	return flush_dir_with(path, syncfs);
}

/*
 * One folder of mkdir_p: made with mode exactly (mkdir(2) takes the umask
 * off, and ignores the set-group-ID bit, which a Maildir asks for), and
 * flushed into its parent. An existing folder is left as it is.
 */
static int
mkdir_one(char *path, mode_t mode)
{
	if (mkdir(path, mode) == -1)
		return errno == EEXIST ? 0 : -1;
	if ((mode & 07077) != 0) {
		/* by descriptor: never through a link that another put in its place meanwhile */
		int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC), rc;

		if (fd == -1)
			return -1;
		rc = fchmod(fd, mode);
		close(fd);
		if (rc == -1)
			return -1;
	}
	return flush_new_dir(path);
}

int
mkdir_p(const char *path, mode_t mode)
{
	char tmp[PATH_MAX];
	size_t n = strlen(path);

	if (n == 0 || n >= sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(tmp, path, n + 1);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir_one(tmp, mode) == -1)
			return -1;
		*p = '/';
	}
	return mkdir_one(tmp, mode);
}

int
fs_read_file(const char *path, struct buf *b, struct stat *st, char *why, size_t whysize)
{
	int fd, ret = -1;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)) == -1) {
		(void)snprintf(why, whysize, "%s", strerror(errno));
		return -1;
	}
	if (fstat(fd, st) == -1) {
		(void)snprintf(why, whysize, "%s", strerror(errno));
		goto out;
	}
	if (!S_ISREG(st->st_mode)) {
		(void)snprintf(why, whysize, "not a regular file");
		goto out;
	}
	for (;;) {
		ssize_t got;

		if (buf_reserve(b, 65536) == -1 &&
		    (b->len == b->max || buf_reserve(b, b->max - b->len) == -1)) {
			ret = -2;
			goto out;
		}
		got = read(fd, b->data + b->len, b->cap - b->len);
		if (got == -1 && errno == EINTR)
			continue;
		if (got == -1) {
			(void)snprintf(why, whysize, "%s", strerror(errno));
			goto out;
		}
		if (got == 0)
			break;
		b->len += (size_t)got;
	}
	ret = 0;
out:
	close(fd);
	return ret;
}
