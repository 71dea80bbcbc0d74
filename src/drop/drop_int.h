/*
 * drop_int.h - what the files of src/drop/ share; no other directory includes it.
 * folder.c is the joint (a folder the daemon takes files from); pickup.c
 * and maildrop_in.c say what a file of their folder means.
 */
#ifndef STERNA_DROP_DROP_INT_H
#define STERNA_DROP_DROP_INT_H

#include <stddef.h>
#include <limits.h>
#include <stdint.h>
#include <sys/stat.h>

#include <event2/event.h>

#include "config/config.h"
#include "drop/drop.h"
#include "spool/spool.h"
#include "util/buf.h"
#include "util/workq.h"

/* What a kind's parse makes of one file, on a worker thread. Strings owned. */
struct drop_file {
	char *sender;		/* "" for the null sender */
	char **rcpts;		/* as the file says them; the core resolves them */
	size_t nrcpts;
	struct buf content;	/* CRLF lines, ready for msg_sub_write() */
	int is_8bit;		/* the content holds bytes >= 0x80 */
	long uid;		/* the local user who sent it, -1 for none */
	char *user;		/* that user's name, NULL for none */
};

void drop_file_clear(struct drop_file *df);

/* One kind of folder. */
struct drop_kind {
	const char *entrance;		/* "pickup", "maildrop": in log lines and "received" */
	enum spool_origin origin;
	/*
	 * Names appear only complete (their writer renames them in): a scan
	 * takes any. Otherwise a name found by a scan is taken only once no
	 * write was seen for a while (folder.c, "settled").
	 */
	int is_atomic;
	/*
	 * Worker thread: what the file in[0..len) (whose fstat is st) says, for
	 * cfg. Returns 0 with *out filled, or -1 with why in err: the file then
	 * goes to bad/. content's ceiling is set by the caller.
	 */
	int (*parse)(const uint8_t *in, size_t len, const struct stat *st, const struct config *cfg,
	    struct drop_file *out, char *err, size_t errsize);
};

extern const struct drop_kind drop_kind_pickup;		/* pickup.c */
extern const struct drop_kind drop_kind_maildrop;	/* maildrop_in.c */

struct folder;

/* Where a folder's files are: all three on one file system (files are renamed between them). */
struct folder_paths {
	const char *dir;	/* where files are dropped */
	const char *taken;	/* files being queued, named by queue id */
	const char *bad;	/* files that could not be taken, each beside NAME.reason */
};

/*
 * Opens a folder of kind k (creating taken and bad, mode 0700, when
 * missing), watches dir with inotify and scans it every scan_ms. At once,
 * before serving: a taken file whose queue id is in the spool was queued
 * before a crash and is removed; every other is taken again, first, under
 * the same queue id (and the id generator is moved past it). Returns a new
 * folder that takes nothing until folder_start(), or NULL with why in err.
 * Borrows d's members and wq (its completions are run by the caller).
 */
struct folder *folder_new(const struct drop_deps *d, struct workq *wq, const struct drop_kind *k,
    const struct folder_paths *paths, unsigned scan_ms, char *err, size_t errsize);
/* Starts taking files: a scan now, then on events and every scan_ms. */
void folder_start(struct folder *f);
/*
 * Stops taking files. A message being fed to the core is dropped (its file
 * stays taken: the next start queues it); one being committed finishes.
 */
void folder_stop(struct folder *f);
/* 1 while work is in flight (a worker job, a commit): wait before folder_free. */
int folder_busy(const struct folder *f);
void folder_free(struct folder **f);

/* ---- what folder.c (the loop side) and take.c (the worker side) share ---- */

struct msg_sub;

enum job_kind { J_LIST, J_TAKE, J_REMOVE, J_BAD };

enum take_result {
	TAKE_OK,	/* renamed, read, parsed: file is filled */
	TAKE_GONE,	/* no such file any more, or not one to take (a directory) */
	TAKE_BAD,	/* moved to bad/: reason */
	TAKE_ERR,	/* could not be renamed (our side): left where it is, reason logged */
};

struct pending {
	char *name;
	int is_taken;		/* name is a queue id under taken/, from before a restart or a retry */
};

struct writing {
	char *name;
	uint64_t last_ms;
};

struct job {
	struct work w;			/* first: the workq hands back &w */
	struct folder *f;
	enum job_kind kind;
	/* J_LIST */
	char **names;
	uint8_t *is_reg;		/* names[i] is a regular file (not a link, a FIFO, ...) */
	size_t nnames;
	int is_more;			/* the listing stopped at LIST_MAX */
	/* J_TAKE, J_REMOVE, J_BAD */
	enum take_result result;
	char reason[256];
	char bad_name[NAME_MAX + 1];
	uint64_t size;
	long uid;
};

struct folder {
	const struct drop_kind *k;
	struct drop_deps d;
	struct workq *wq;
	char *dir, *taken, *bad;
	int dir_fd, taken_fd, bad_fd, ino_fd;
	struct event *ino_ev, *scan_ev, *pause_ev;
	unsigned scan_ms;
	struct pending *q;		/* FIFO of names due */
	size_t nq;
	struct writing *wr;
	size_t nwr;
	int is_dirty;			/* a scan is wanted */
	int is_started, is_stopping, is_paused;
	struct job job;			/* the one job in flight */
	int is_job;
	/* the file in hand (cur.name set) */
	struct pending cur;
	char qid[QID_LEN + 1];		/* its queue id: its name under taken/ */
	struct spool_msg *env;		/* until msg_sub_new() takes it */
	struct drop_file file;
	size_t fed;
	struct msg_sub *sub;		/* being fed */
	int is_committing;		/* msg_sub_end() called, done not yet */
	struct spool_msg *kept;		/* committed; handed over once taken/QID is removed */
};

/* Names a folder never takes: dot-names are being written (or are ours), and over-long ones. */
int folder_is_candidate(const char *name);
/* Worker thread: runs the folder's job (take.c). */
void folder_job_run(struct work *w);

#endif
