/*
 * deliver.h - delivery agents. maildir.c: local mailboxes.
 * Agents run on delivery worker threads and block.
 */
#ifndef STERNA_DELIVER_DELIVER_H
#define STERNA_DELIVER_DELIVER_H

#include <stddef.h>
#include <stdint.h>

#include "spool/spool.h"

/*
 * The modes of what a delivery makes, whatever the umask: Maildir folders
 * are group-writable and set-group-ID, so that every folder and message
 * below the mailbox root takes the root's group (local.mailbox_group) and
 * a reader in that group (Dovecot's mail user) may move messages to cur/
 * and keep its index files beside them; a message is readable by that
 * group and by nobody else.
 */
#define MAILDIR_DIR_MODE 02770
#define MAILDIR_FILE_MODE 0640

/*
 * Delivers message m (its content read from sp) to its recipient number
 * rcpt, into the Maildir at maildir (tmp/, new/ and cur/ are created when
 * missing, MAILDIR_DIR_MODE; the file is MAILDIR_FILE_MODE), with "Return-Path: <sender>" and "Delivered-To: <the
 * recipient>" on top and LF line ends. The file is flushed, renamed into
 * new/, and new/ is flushed, in the spool's group commit (shared with other
 * deliveries and with receiving); then the recipient is recorded done
 * (spool_deliver_rename) and this returns 0 (SECURITY.md 5: the mailbox is
 * durable before the recipient is marked done). Returns -1 with the reason
 * in err on failure; nothing is left in new/ then.
 */
int maildir_deliver(struct spool *sp, const struct spool_msg *m, size_t rcpt,
    const char *maildir, const char *hostname, char *err, size_t errsize);

/*
 * Removes the files in the tmp/ folder of every Maildir under root (user
 * u's is root/u) last changed before before_s (seconds since the epoch):
 * what deliveries cut short by a crash left there (sweep.c). Links are not
 * followed. Blocks; returns how many files were removed.
 */
unsigned maildir_sweep(const char *root, int64_t before_s);

#endif
