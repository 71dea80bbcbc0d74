/*
 * claim.c - mailboxes given to the user that delivers and to their group
 * at start (claim.h).
 */
#include "main/claim.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/config.h"
#include "deliver/deliver.h"
#include "util/fsutil.h"
#include "util/log.h"

int
claim_mailbox_gid(const struct config *c, gid_t fallback, gid_t *gid_out)
{
	struct group gr, *found = NULL;
	char buf[4096];

	if (c->mailbox_group[0] == '\0') {
		*gid_out = fallback;
		return 0;
	}
	if (getgrnam_r(c->mailbox_group, &gr, buf, sizeof(buf), &found) != 0 || found == NULL) {
		log_err("%s: local.mailbox_group: no such group '%s'", c->path, c->mailbox_group);
		return -1;
	}
	*gid_out = found->gr_gid;
	return 0;
}

int
claim_mailbox_root(const char *root, uid_t uid, gid_t gid, int is_root)
{
	struct stat st;
	const char *step = NULL;

	if (mkdir_p(root, MAILDIR_DIR_MODE) == -1 || stat(root, &st) == -1) {
		log_err("%s: %s", root, strerror(errno));
		return -1;
	}
	if ((st.st_uid != uid || st.st_gid != gid) && chown(root, uid, gid) == -1)
		step = "chown";
	else if ((st.st_mode & 07777) != MAILDIR_DIR_MODE && chmod(root, MAILDIR_DIR_MODE) == -1)
		step = "chmod";
	if (step == NULL)
		return 0;
	if (is_root) {
		log_err("%s %s (uid %u gid %u mode %04o): %s", step, root, (unsigned)uid,
		    (unsigned)gid, (unsigned)MAILDIR_DIR_MODE, strerror(errno));
		return -1;
	}
	log_warn("%s %s (uid %u gid %u mode %04o): %s: folders made below it may not take "
	    "that group", step, root, (unsigned)uid, (unsigned)gid, (unsigned)MAILDIR_DIR_MODE,
	    strerror(errno));
	return 0;
}

/* Gives dir (a descriptor) and the entries in it, links untouched, to uid:gid. */
static int
chown_dir_entries(int dfd, uid_t uid, gid_t gid)
{
	int fd = dup(dfd), ret = 0;
	DIR *d = fd == -1 ? NULL : fdopendir(fd);
	struct dirent *e;

	if (d == NULL) {
		if (fd != -1)
			close(fd);
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		struct stat st;

		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (fchownat(dfd, e->d_name, uid, gid, AT_SYMLINK_NOFOLLOW) == -1 ||
		    fstatat(dfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) == -1)
			ret = -1;
		/* never through a link put in the file's place meanwhile (as root) */
		else if (S_ISREG(st.st_mode) &&
		    fchmodat(dfd, e->d_name, MAILDIR_FILE_MODE, AT_SYMLINK_NOFOLLOW) == -1)
			ret = -1;
	}
	closedir(d);
	return ret;
}

/* Gives the folder fd to uid:gid with the Maildir folders' mode. */
static int
claim_dir(int fd, uid_t uid, gid_t gid)
{
	return fchown(fd, uid, gid) == -1 || fchmod(fd, MAILDIR_DIR_MODE) == -1 ? -1 : 0;
}

/* One Maildir: itself, its three folders and their messages. */
static int
claim_maildir(int rootfd, const char *name, uid_t uid, gid_t gid)
{
	static const char *const subs[] = { "tmp", "new", "cur" };
	int fd = openat(rootfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC), ret = 0;

	if (fd == -1 || claim_dir(fd, uid, gid) == -1) {
		if (fd != -1)
			close(fd);
		return -1;
	}
	for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
		int sfd = openat(fd, subs[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

		if (sfd == -1) {
			if (errno != ENOENT)
				ret = -1;
			continue;
		}
		if (claim_dir(sfd, uid, gid) == -1 || chown_dir_entries(sfd, uid, gid) == -1)
			ret = -1;
		close(sfd);
	}
	close(fd);
	return ret;
}

unsigned
claim_mailboxes(const char *root, uid_t uid, gid_t gid, int is_root)
{
	int rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC), fd;
	unsigned left = 0;
	struct dirent *e;
	DIR *d;

	if (rootfd == -1 || (fd = dup(rootfd)) == -1 || (d = fdopendir(fd)) == NULL) {
		log_err("%s: cannot look at the mailboxes: %s", root, strerror(errno));
		if (rootfd != -1)
			close(rootfd);
		return 0;
	}
	while ((e = readdir(d)) != NULL) {
		struct stat st;

		if (e->d_name[0] == '.' ||
		    fstatat(rootfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) == -1 ||
		    !S_ISDIR(st.st_mode) || (st.st_uid == uid && st.st_gid == gid &&
		    (st.st_mode & 07777) == MAILDIR_DIR_MODE))
			continue;
		/* our own we may give to any group of ours; another user's only as root */
		if ((is_root || st.st_uid == uid) && claim_maildir(rootfd, e->d_name, uid, gid) == 0) {
			log_warn("mailbox %s/%s was owned by uid %u gid %u mode %04o: given to uid %u "
			    "gid %u mode %04o with its messages", root, e->d_name, (unsigned)st.st_uid,
			    (unsigned)st.st_gid, (unsigned)(st.st_mode & 07777), (unsigned)uid,
			    (unsigned)gid, (unsigned)MAILDIR_DIR_MODE);
			continue;
		}
		left++;
		log_err("mailbox %s/%s is owned by uid %u gid %u, not by uid %u gid %u that deliver "
		    "(mode %04o): deliveries to it may fail and readers in that group be refused "
		    "until it is given to them (chown -R, chmod)", root, e->d_name,
		    (unsigned)st.st_uid, (unsigned)st.st_gid, (unsigned)uid, (unsigned)gid,
		    (unsigned)MAILDIR_DIR_MODE);
	}
	closedir(d);
	close(rootfd);
	return left;
}
