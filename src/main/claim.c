/*
 * claim.c - mailboxes given back to server.user at start (claim.h).
 */
#include "main/claim.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/log.h"

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
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (fchownat(dfd, e->d_name, uid, gid, AT_SYMLINK_NOFOLLOW) == -1)
			ret = -1;
	}
	closedir(d);
	return ret;
}

/* One Maildir: itself, its three folders and their messages. */
static int
claim_maildir(int rootfd, const char *name, uid_t uid, gid_t gid)
{
	static const char *const subs[] = { "tmp", "new", "cur" };
	int fd = openat(rootfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC), ret = 0;

	if (fd == -1 || fchown(fd, uid, gid) == -1) {
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
		if (fchown(sfd, uid, gid) == -1 || chown_dir_entries(sfd, uid, gid) == -1)
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
		    !S_ISDIR(st.st_mode) || st.st_uid == uid)
			continue;
		if (is_root && claim_maildir(rootfd, e->d_name, uid, gid) == 0) {
			log_warn("mailbox %s/%s was owned by uid %u: given to uid %u with its messages",
			    root, e->d_name, (unsigned)st.st_uid, (unsigned)uid);
			continue;
		}
		left++;
		log_err("mailbox %s/%s is owned by uid %u, not by uid %u that delivers: deliveries "
		    "to it will fail until it is given to that user (chown -R)", root, e->d_name,
		    (unsigned)st.st_uid, (unsigned)uid);
	}
	closedir(d);
	close(rootfd);
	return left;
}
