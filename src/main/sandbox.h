/*
 * sandbox.h - the daemon confined, once privileges are dropped, to the
 * folders it uses (Landlock, where the kernel has it) and to the system
 * calls it makes (a seccomp filter). server.sandbox = false leaves both off.
 */
#ifndef STERNA_MAIN_SANDBOX_H
#define STERNA_MAIN_SANDBOX_H

#include "config/config.h"

/*
 * Confines the calling process for good: Landlock rules from cfg (what it
 * writes: spool.dir, local.mailbox_root, pickup.dir; what it reads again
 * later: the configuration's folder, the certificates, /etc, /usr, ...),
 * then the system call filter, on every thread (TSYNC). Landlock binds only
 * the calling thread and the threads it creates later, so call it before
 * any thread is started. Borrows cfg. A kernel without Landlock is said
 * once in the log and the filter is applied alone. Returns 0, or -1 after
 * logging why (the daemon should not serve then: it was asked to be confined).
 */
int sandbox_apply(const struct config *cfg);

/*
 * The Landlock ABI version of the running kernel: 1 and up, or 0 when it has
 * none (or it is disabled at boot). For sterna check and the start log.
 */
int sandbox_landlock_abi(void);

#endif
