/*
 * drop.h - the folder entrances: directories the daemon takes message files
 * from and queues through the submission core (msg.h).
 *
 *   the maildrop  <spool.dir>/maildrop: files `sterna sendmail` writes
 *                 (msg/maildrop.h); origin sendmail, entrance "maildrop"
 *   the pickup    pickup.dir: ready-made messages (.eml) that applications
 *                 drop; origin pickup, entrance "pickup"
 *
 * A file is taken once complete (inotify IN_CLOSE_WRITE or IN_MOVED_TO; a
 * scan at start and on an interval catches the rest), read and checked on
 * a worker thread, renamed to a name holding its queue id before it is
 * queued, and removed only after the core says it is queued. A file that
 * cannot be taken moves to a bad/ folder beside NAME.reason; one that
 * cannot be queued now (disk full) stays and is tried again. The crash
 * story is in docs/architecture.md ("The folder entrances").
 */
#ifndef STERNA_DROP_DROP_H
#define STERNA_DROP_DROP_H

#include <stddef.h>
#include <sys/types.h>

#include <event2/event.h>

#include "config/config.h"
#include "spool/spool.h"
#include "util/qid.h"

struct msg_core;

/* What the folders use, borrowed; all must outlive them. */
struct drop_deps {
	struct event_base *base;
	struct msg_core *core;
	struct spool *spool;
	const struct config *cfg;
	struct qid_gen *qids;
};

struct drops;

/*
 * At start, before privileges are dropped: creates <spool.dir>/maildrop
 * if missing and (re)sets its owner and mode: uid, and the group of
 * maildrop.group with mode 1730 (its members may drop files, none may read
 * or remove another's), or gid with mode 0700 when no group is set (only
 * root and the daemon's user may). Never world-writable. Returns 0, or -1
 * with why in err.
 */
int drop_maildrop_prepare(const struct config *cfg, uid_t uid, gid_t gid, int is_root, char *err,
    size_t errsize);

/*
 * After the spool is recovered, before serving: opens the maildrop and, if
 * pickup.dir is set, the pickup folder (which must not be world-writable),
 * and settles what a crash left half taken (drop_int.h, folder_new).
 * Returns a new set that takes nothing until drops_start(), or NULL with
 * why in err.
 */
struct drops *drops_new(const struct drop_deps *d, char *err, size_t errsize);
void drops_start(struct drops *ds);
/* SIGTERM: take no more files; a commit in hand finishes (drops_busy). */
void drops_stop(struct drops *ds);
/* 1 while a folder has work in flight. */
int drops_busy(const struct drops *ds);
/* Frees *ds; call once drops_busy() is 0 (or the loop is gone). */
void drops_free(struct drops **ds);

#endif
