/*
 * sendmail_drop.c - one message into the spool's maildrop folder, durably,
 * so that sendmail needs no running daemon (maildrop.h has the format and
 * the daemon's side).
 * The folder is mode 1730 (owner: the spool's user; group: the users who
 * may submit): a submitter may create files but not list the folder, nor
 * remove or rename another's file (the sticky bit). So a file is written
 * under a dot-name the daemon ignores, flushed, renamed to its final name,
 * and the folder flushed; only then is the message the daemon's, and only
 * then does sendmail exit 0. A submitter cannot open the folder for
 * reading, which fsync of a directory needs; syncfs() of the file system
 * then flushes the rename instead.
 * The file is 0644 whatever the umask: the daemon, another user, must read
 * it. Other submitters could too, if they knew its name; they cannot list
 * the folder, and the name ends in 64 random bits.
 */
#include "main/sendmail.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "msg/maildrop.h"
#include "spool/record.h"
#include "util/fsutil.h"

#define NAME_TRIES 8

int
sm_drop_exit_code(enum sm_drop_err e)
{
	switch (e) {
	case SM_DROP_OK:
		return 0;	/* EX_OK */
	case SM_DROP_NOPERM:
		return 77;	/* EX_NOPERM */
	case SM_DROP_CANTCREAT:
		return 73;	/* EX_CANTCREAT */
	case SM_DROP_TEMPFAIL:
		return 75;	/* EX_TEMPFAIL */
	case SM_DROP_IOERR:
		return 74;	/* EX_IOERR */
	case SM_DROP_DATAERR:
	default:
		return 65;	/* EX_DATAERR */
	}
}

/*
 * What an errno means for the caller: a full disk or a lack of descriptors
 * passes (try again later), a refusal is about who runs us; anything else
 * is otherwise, which is a failure to create the file or to write it
 * (the exit codes differ: sysexits.h).
 */
static enum sm_drop_err
errno_kind(int e, enum sm_drop_err otherwise)
{
	switch (e) {
	case ENOSPC:
	case EDQUOT:
	case EMFILE:
	case ENFILE:
	case ENOMEM:
		return SM_DROP_TEMPFAIL;
	case EACCES:
	case EPERM:
		return SM_DROP_NOPERM;
	case EFBIG:
		/* while writing, a file too big is the message's fault */
		return otherwise == SM_DROP_IOERR ? SM_DROP_DATAERR : otherwise;
	default:
		return otherwise;
	}
}

/* seconds.microseconds.pid.random (maildrop.h): unique, and not guessable. */
static int
make_name(char *out, size_t size)
{
	struct timeval tv;
	uint64_t rnd;
	int n;

	if (getrandom(&rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		return -1;
	gettimeofday(&tv, NULL);
	n = snprintf(out, size, "%lld.%06ld.%ld.%016llx", (long long)tv.tv_sec,
	    (long)tv.tv_usec, (long)getpid(), (unsigned long long)rnd);
	return n > 0 && (size_t)n < size ? 0 : -1;
}

/*
 * Makes the folder's entries durable: fsync of the folder when it can be
 * opened (the spool's user, root), else syncfs() of the file system the
 * file fd is on. 0, or -1 with errno.
 */
static int
flush_folder(const char *dir, int fd)
{
	if (fsync_dir(dir) == 0)
		return 0;
	if (errno != EACCES && errno != EPERM)
		return -1;
	return syncfs(fd);
}

enum sm_drop_err
sm_drop_write(const char *spool_dir, const char *fullname, const char *sender,
    const struct sm_rcpts *rcpts, const void *msg, size_t len, char *name_out,
    size_t name_size, char *err, size_t errsize)
{
	char dir[4096], name[96], tmp[104];
	struct buf file;
	enum sm_drop_err ret = SM_DROP_IOERR;
	int dfd = -1, fd = -1, is_created = 0, is_renamed = 0, n;
	size_t max = len + (len / REC_MAX_PAYLOAD + 2) * REC_OVERHEAD + 8 +
	    (rcpts->n + 1) * (SMTP_ADDR_FMT_MAX + 16) + MAILDROP_FULLNAME_MAX + 64;

	n = snprintf(dir, sizeof(dir), "%s/%s", spool_dir, MAILDROP_DIR);
	if (n < 0 || (size_t)n >= sizeof(dir)) {
		snprintf(err, errsize, "spool.dir is too long");
		return SM_DROP_CANTCREAT;
	}
	buf_init(&file, max);
	if (maildrop_encode(&file, fullname, sender, (const char *const *)rcpts->v, rcpts->n, msg,
	    len) == -1) {
		snprintf(err, errsize, "cannot encode the message for the maildrop "
		    "(no recipient, too many, or a bad address)");
		ret = SM_DROP_DATAERR;
		goto out;
	}
	/* O_PATH: a submitter may search the folder but not read it */
	if ((dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC)) == -1) {
		ret = errno_kind(errno, SM_DROP_CANTCREAT);
		snprintf(err, errsize, "%s: %s%s", dir, strerror(errno), errno == ENOENT ?
		    " (the daemon makes it when it starts)" : ret == SM_DROP_NOPERM ?
		    " (not in the group that may submit mail?)" : "");
		goto out;
	}
	for (int i = 0; fd == -1 && i < NAME_TRIES; i++) {
		if (make_name(name, sizeof(name)) == -1) {
			snprintf(err, errsize, "cannot make a file name: %s", strerror(errno));
			ret = SM_DROP_TEMPFAIL;
			goto out;
		}
		n = snprintf(tmp, sizeof(tmp), ".tmp.%s", name);
		if (n < 0 || (size_t)n >= sizeof(tmp))
			goto out;
		/* O_EXCL and O_NOFOLLOW: never write through a file or link someone left there */
		fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
		if (fd == -1 && errno != EEXIST) {
			ret = errno_kind(errno, SM_DROP_CANTCREAT);
			snprintf(err, errsize, "cannot create a file in %s: %s%s", dir,
			    strerror(errno), ret == SM_DROP_NOPERM ?
			    " (not in the group that may submit mail?)" : "");
			goto out;
		}
	}
	if (fd == -1) {
		snprintf(err, errsize, "cannot create a file in %s: names keep existing", dir);
		ret = SM_DROP_TEMPFAIL;
		goto out;
	}
	is_created = 1;
	/* the umask may have taken the daemon's read permission away */
	if (fchmod(fd, 0644) == -1 || write_all(fd, file.data, file.len) == -1 ||
	    fsync(fd) == -1) {
		ret = errno_kind(errno, SM_DROP_IOERR);
		snprintf(err, errsize, "cannot write %s/%s: %s", dir, tmp, strerror(errno));
		goto out;
	}
	if (renameat(dfd, tmp, dfd, name) == -1) {
		ret = errno_kind(errno, SM_DROP_IOERR);
		snprintf(err, errsize, "cannot rename %s/%s: %s", dir, tmp, strerror(errno));
		goto out;
	}
	is_renamed = 1;
	if (flush_folder(dir, fd) == -1) {
		ret = errno_kind(errno, SM_DROP_IOERR);
		snprintf(err, errsize, "cannot flush %s: %s", dir, strerror(errno));
		goto out;
	}
	/* a close error after fsync is still an error: never exit 0 on one */
	n = close(fd);
	fd = -1;
	if (n == -1) {
		ret = errno_kind(errno, SM_DROP_IOERR);
		snprintf(err, errsize, "cannot write %s/%s: %s", dir, name, strerror(errno));
		goto out;
	}
	if (name_out != NULL)
		snprintf(name_out, name_size, "%s", name);
	ret = SM_DROP_OK;
out:
	if (fd != -1)
		close(fd);
	if (ret != SM_DROP_OK && is_created) {
		/*
		 * Not durable, so not ours to leave: the caller hears of a
		 * failure and may send again. A daemon that took the file in
		 * between delivers it once more at worst (at least once).
		 */
		(void)unlinkat(dfd, is_renamed ? name : tmp, 0);
	}
	if (dfd != -1)
		close(dfd);
	buf_clear(&file);
	return ret;
}
