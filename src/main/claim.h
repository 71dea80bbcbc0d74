/*
 * claim.h - mailboxes left to the wrong owner (a run as root before
 * server.user was set): given back at start while sterna is still root,
 * or named in the log when it cannot, instead of every delivery to them
 * being deferred with "Permission denied" for ever.
 */
#ifndef STERNA_MAIN_CLAIM_H
#define STERNA_MAIN_CLAIM_H

#include <sys/types.h>

/*
 * Looks at each Maildir at the first level of root. One not owned by uid
 * is given to uid:gid with its tmp/, new/ and cur/ and the messages in
 * them when is_root, each logged; otherwise an error line says which and
 * what to run. Symbolic links are never followed. Returns how many
 * Maildirs are still not uid's.
 */
unsigned claim_mailboxes(const char *root, uid_t uid, gid_t gid, int is_root);

#endif
