/*
 * sweep.c - the Maildir convention for tmp/: a file a delivery left there
 * (a crash between its write and its rename into new/) is removed once it
 * is 36 hours old, so that crashes do not fill the mailboxes' disk with
 * copies nobody sees. The rename into new/ is the delivery: a file still
 * in tmp/ was never delivered, and its recipient is still in the queue.
 * Blocking: run on a worker thread.
 */
#include "deliver/deliver.h"

#include <dirent.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The files of one tmp/ older than before_s: removed; returns how many. */
static unsigned
sweep_tmp(int maildir_fd, int64_t before_s)
{
	int fd = openat(maildir_fd, "tmp", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC), dfd;
	unsigned n = 0;
	struct dirent *e;
	DIR *d;

	if (fd == -1)
		return 0;
	if ((dfd = dup(fd)) == -1 || (d = fdopendir(dfd)) == NULL) {
		if (dfd != -1)
			close(dfd);
		close(fd);
		return 0;
	}
	while ((e = readdir(d)) != NULL) {
		struct stat st;

		if (e->d_name[0] == '.' || fstatat(fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) == -1 ||
		    !S_ISREG(st.st_mode) || (int64_t)st.st_mtime >= before_s)
			continue;
		if (unlinkat(fd, e->d_name, 0) == 0)
			n++;
	}
	closedir(d);
	close(fd);
	return n;
}

unsigned
maildir_sweep(const char *root, int64_t before_s)
{
	int rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC), fd;
	unsigned n = 0;
	struct dirent *e;
	DIR *d;

	if (rootfd == -1)
		return 0;
	if ((fd = dup(rootfd)) == -1 || (d = fdopendir(fd)) == NULL) {
		if (fd != -1)
			close(fd);
		close(rootfd);
		return 0;
	}
	while ((e = readdir(d)) != NULL) {
		int mfd;

		if (e->d_name[0] == '.')
			continue;
		mfd = openat(rootfd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (mfd == -1)
			continue;
		n += sweep_tmp(mfd, before_s);
		close(mfd);
	}
	closedir(d);
	close(rootfd);
	return n;
}
