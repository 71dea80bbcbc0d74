/*
 * lock.c - one daemon per spool: a lock file held with flock(2) for the
 * daemon's life. The kernel drops the lock when the process ends, however
 * it ends (kill -9 included), so a stale lock file never blocks a start.
 * The file holds the pid of its holder, for the message a second daemon
 * prints. Tools that only read the spool never take it.
 */
#include "spool/spool.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "util/fsutil.h"
#include "util/xalloc.h"

#define LOCK_NAME "lock"

struct spool_lock {
	int fd;
};

struct spool_lock *
spool_lock(const char *dir, char *err, size_t errsize)
{
	struct spool_lock *l;
	char path[4096], pid[32];
	ssize_t n;
	int fd, len = snprintf(path, sizeof(path), "%s/%s", dir, LOCK_NAME);

	if (len < 0 || (size_t)len >= sizeof(path)) {
		snprintf(err, errsize, "spool %s: path too long", dir);
		return NULL;
	}
	if (mkdir_p(dir, 0700) == -1 ||
	    (fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600)) == -1) {
		snprintf(err, errsize, "spool %s: %s", path, strerror(errno));
		return NULL;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		int saved = errno;

		n = saved == EWOULDBLOCK ? pread(fd, pid, sizeof(pid) - 1, 0) : -1;
		close(fd);
		if (saved != EWOULDBLOCK) {
			snprintf(err, errsize, "spool %s: cannot lock %s: %s", dir, path,
			    strerror(saved));
			return NULL;
		}
		pid[n > 0 ? n : 0] = '\0';
		pid[strcspn(pid, "\n")] = '\0';
		snprintf(err, errsize, "spool %s is in use by another sterna (pid %s); "
		    "one daemon per spool", dir, pid[0] ? pid : "unknown");
		return NULL;
	}
	len = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	/* the pid is for people; a failure to write it does not weaken the lock */
	if (ftruncate(fd, 0) == 0 && lseek(fd, 0, SEEK_SET) == 0)
		(void)write_all(fd, pid, (size_t)len);
	l = xcalloc(1, sizeof(*l));
	l->fd = fd;
	return l;
}

void
spool_unlock(struct spool_lock **lp)
{
	struct spool_lock *l = *lp;

	if (l == NULL)
		return;
	close(l->fd);	/* releases the lock */
	free(l);
	*lp = NULL;
}
