/*
 * privdrop.c - the start's last steps as root (serve.c): the spool, the
 * mailbox root and the maildrop made and given to server.user, the
 * capability bounding set emptied, and then the switch to that user, for
 * good (no way back to root, no set-id gains). Started as another user, the
 * folders are only made.
 */
#include "main/privdrop.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/config.h"
#include "deliver/deliver.h"
#include "drop/drop.h"
#include "main/claim.h"
#include "util/fsutil.h"
#include "util/log.h"

/* Creates dir and gives it to uid/gid (started as root). */
static int
prepare_dir(const char *dir, uid_t uid, gid_t gid, int is_root)
{
	if (mkdir_p(dir, 0700) == -1) {
		log_err("%s: %s", dir, strerror(errno));
		return -1;
	}
	if (is_root && chown(dir, uid, gid) == -1) {
		log_err("chown %s: %s", dir, strerror(errno));
		return -1;
	}
	return 0;
}

/* The maildrop folder, given to uid and maildrop.group while we may still chown. */
static int
prepare_maildrop(const struct config *c, uid_t uid, gid_t gid, int is_root)
{
	char err[1024];

	if (drop_maildrop_prepare(c, uid, gid, is_root, err, sizeof(err)) == -1) {
		log_err("%s", err);
		return -1;
	}
	return 0;
}

/* Drops every capability from the bounding set (root only): 0, or -1 after saying why. */
static int
drop_bounding_set(void)
{
	int has;

	/* only those still in it: a service manager may have taken the rest already */
	for (unsigned long cap = 0; (has = prctl(PR_CAPBSET_READ, cap, 0, 0, 0)) >= 0; cap++) {
		if (has == 1 && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) == -1) {
			log_err("cannot drop capability %lu from the bounding set: %s", cap,
			    strerror(errno));
			return -1;
		}
	}
	return 0;
}

int
privdrop(const struct config *c)
{
	char sub[4096];
	struct passwd *pw;
	gid_t mail_gid;
	int is_root = geteuid() == 0;
	static const char *const spool_subdirs[] = { "incoming", "queue", "corrupt" };

	if (!is_root) {
		if (c->user[0] != '\0')
			log_info("not started as root: server.user '%s' not applied", c->user);
		if (prepare_dir(c->spool_dir, 0, 0, 0) == -1 ||
		    claim_mailbox_gid(c, getegid(), &mail_gid) == -1 ||
		    claim_mailbox_root(c->mailbox_root, geteuid(), mail_gid, 0) == -1 ||
		    prepare_maildrop(c, geteuid(), getegid(), 0) == -1)
			return -1;
		/* what others own here, we cannot give ourselves: the log says which */
		(void)claim_mailboxes(c->mailbox_root, geteuid(), mail_gid, 0);
		return 0;
	}
	if (c->user[0] == '\0') {
		log_warn("running as root: set server.user to an unprivileged user");
		if (claim_mailbox_gid(c, 0, &mail_gid) == -1 ||
		    claim_mailbox_root(c->mailbox_root, 0, mail_gid, 1) == -1)
			return -1;
		(void)claim_mailboxes(c->mailbox_root, 0, mail_gid, 1);
		return prepare_dir(c->spool_dir, 0, 0, 0) == 0 && prepare_maildrop(c, 0, 0, 1) == 0 ?
		    0 : -1;
	}
	if ((pw = getpwnam(c->user)) == NULL) {
		log_err("%s: server.user: no such user '%s'", c->path, c->user);
		return -1;
	}
	if (claim_mailbox_gid(c, pw->pw_gid, &mail_gid) == -1 ||
	    prepare_dir(c->spool_dir, pw->pw_uid, pw->pw_gid, 1) == -1 ||
	    claim_mailbox_root(c->mailbox_root, pw->pw_uid, mail_gid, 1) == -1)
		return -1;
	for (size_t i = 0; i < sizeof(spool_subdirs) / sizeof(spool_subdirs[0]); i++) {
		int n = snprintf(sub, sizeof(sub), "%s/%s", c->spool_dir, spool_subdirs[i]);

		if (n < 0 || (size_t)n >= sizeof(sub) || prepare_dir(sub, pw->pw_uid, pw->pw_gid, 1) == -1)
			return -1;
	}
	if (prepare_maildrop(c, pw->pw_uid, pw->pw_gid, 1) == -1)
		return -1;
	(void)claim_mailboxes(c->mailbox_root, pw->pw_uid, mail_gid, 1);
	/*
	 * Empty the capability bounding set while root may still do so: no
	 * program this process could ever run gets a capability back, whatever
	 * its file capabilities say.
	 */
	if (drop_bounding_set() == -1)
		return -1;
	/*
	 * The mailboxes' group as the one supplementary group: a Maildir that
	 * the reader in that group made (Dovecot) is ours to deliver into too.
	 */
	if (setgroups(mail_gid != pw->pw_gid, &mail_gid) == -1 || setgid(pw->pw_gid) == -1 ||
	    setuid(pw->pw_uid) == -1) {
		log_err("cannot become %s: %s", c->user, strerror(errno));
		return -1;
	}
	/* never go back: a setuid(0) that works now means the drop failed */
	if (setuid(0) == 0) {
		log_err("privileges could not be dropped");
		return -1;
	}
	/* and no set-id program gains anything for us either (execve keeps this) */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1) {
		log_err("cannot set no_new_privs: %s", strerror(errno));
		return -1;
	}
	log_info("running as %s (uid %u); mailboxes: group %u, folders %04o, messages %04o", c->user,
	    (unsigned)pw->pw_uid, (unsigned)mail_gid, (unsigned)MAILDIR_DIR_MODE,
	    (unsigned)MAILDIR_FILE_MODE);
	return 0;
}

