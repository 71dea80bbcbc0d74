/*
 * policy.h - decisions about envelopes, never replies: the session turns a
 * decision into the reply of docs/smtp.md.
 * Local recipients (local.c): users, aliases (nested), postmaster in every
 * local domain, plus-addressing. Everything else is relaying, which is
 * refused until authenticated submission exists.
 */
#ifndef STERNA_POLICY_POLICY_H
#define STERNA_POLICY_POLICY_H

#include "config/config.h"
#include "smtp/session.h"
#include "smtp/smtp.h"

struct local_db;

/* Returns a new lookup index over c's users and aliases; borrows c, which must outlive it. */
struct local_db *local_db_new(const struct config *c);
void local_db_free(struct local_db **db);

/*
 * Decides on the recipient a. On SMTP_RCPT_ACCEPT the final local targets
 * have been added to txn (one per mailbox).
 */
enum smtp_rcpt_decision policy_rcpt(const struct local_db *db, const struct smtp_addr *a,
    struct smtp_txn *txn);

#endif
