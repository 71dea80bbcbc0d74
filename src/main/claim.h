/*
 * claim.h - the mailbox root and the Maildirs under it, given to the user
 * that delivers and to local.mailbox_group at start: a run as root before
 * server.user was set, or before the group was, left them to the wrong
 * owner, group or mode. Given back while sterna is still root, or named
 * in the log when it cannot, instead of every delivery to them being
 * deferred with "Permission denied" for ever, or Dovecot refusing them.
 */
#ifndef STERNA_MAIN_CLAIM_H
#define STERNA_MAIN_CLAIM_H

#include <sys/types.h>

struct config;

/*
 * The group the Maildirs belong to: local.mailbox_group, or when that is
 * empty fallback (the group of the user that delivers). 0 with *gid_out,
 * or -1 after logging "FILE: local.mailbox_group: no such group".
 */
int claim_mailbox_gid(const struct config *c, gid_t fallback, gid_t *gid_out);

/*
 * Creates the mailbox root when missing and gives it to uid:gid with
 * MAILDIR_DIR_MODE (deliver.h), so that every folder made under it takes
 * gid. That needs root, or uid being ours and gid one of our groups: when
 * not is_root, a root that cannot be given is only a warning (an
 * administrator may have prepared it otherwise). 0, or -1 after logging why.
 */
int claim_mailbox_root(const char *root, uid_t uid, gid_t gid, int is_root);

/*
 * Looks at each Maildir at the first level of root. One not owned by
 * uid:gid or not of MAILDIR_DIR_MODE is given to uid:gid with its tmp/,
 * new/ and cur/ and the messages in them, with the modes of deliver.h,
 * when is_root or when it is uid's already, each logged; otherwise an
 * error line says which and what to run. Symbolic links are never
 * followed. Returns how many Maildirs are still not right.
 */
unsigned claim_mailboxes(const char *root, uid_t uid, gid_t gid, int is_root);

#endif
