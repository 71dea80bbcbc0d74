/*
 * spool_int.h - what the files of src/spool/ share; no other directory includes it.
 */
#ifndef STERNA_SPOOL_SPOOL_INT_H
#define STERNA_SPOOL_SPOOL_INT_H

#include <pthread.h>
#include <stdatomic.h>

#include "spool/record.h"
#include "spool/spool.h"
#include "util/buf.h"
#include "util/workq.h"

#define SPOOL_CHUNK (256 * 1024)		/* body bytes per C record and per write job */
#define SPOOL_PAUSE_BYTES (4 * SPOOL_CHUNK)	/* waiting bytes past which reading pauses */

struct flusher;

/*
 * A closed file to make durable and rename into place (flusher.c); with
 * to_name NULL, only to make durable where it is (records appended to a
 * queued file).
 */
struct flush_item {
	int from_dirfd, to_dirfd;
	const char *from_name, *to_name;
	/* flusher thread, optional: the file is durable; runs before any done() of the batch */
	void (*durable)(struct flush_item *it);
	void (*done)(struct flush_item *it);	/* flusher thread, after the batch */
	/* flusher thread, optional: renames it instead of renameat(2); 0, or -1 with errno */
	int (*rename)(struct flush_item *it);
	int is_lazy;		/* nobody waits on the wire: may wait for a batch to ride with */
	/*
	 * The file may be renamed before its flush where one syncfs(2) flushes
	 * its file system, so that the one syncfs makes its name durable with
	 * its data: nobody reads the target directory but recovery, which
	 * checks every file it finds (a queue file: docs/architecture.md, "One
	 * flush per batch"). Otherwise (a Maildir copy) the name waits for the
	 * next batch.
	 */
	int is_name_first;
	int err;		/* set before done(): 0, or the errno that failed the item */
	int is_renamed;		/* set before done(): the file is under to_dirfd now */
	int is_data_durable;	/* the flusher's own: carried to a second batch for its name */
	size_t fs_index, dir_index;	/* the flusher's own */
	struct flush_item *next;
};

struct spool {
	char *dir;
	int incoming_fd, queue_fd, corrupt_fd;
	struct workq *wq;
	struct flusher *fl;
	int is_syncfs_durable;		/* the group commit's syncfs flushes the spool */
	_Atomic uint64_t free_bytes;
	_Atomic unsigned ntxns;		/* transactions not freed yet, aborted ones included */
	/*
	 * While the recovery lists queue/ (recover.c) the server already
	 * commits into it: the ids committed meanwhile, which the listing must
	 * not take for files found at start. Held across each commit's rename,
	 * so that a name the listing sees is either in committed or was there
	 * before.
	 */
	pthread_mutex_t listing_mu;
	int is_listing;
	char (*committed)[QID_LEN + 1];
	size_t ncommitted, committed_cap;
};

/*
 * recover.c: from now until spool_listing_end(), the ids committed into
 * queue/ are kept (txn.c's commit, under listing_mu).
 */
void spool_listing_begin(struct spool *sp);
/*
 * Ends the keeping of committed ids; the ids committed since
 * spool_listing_begin() go to *ids_out (a new array, *n_out of them).
 */
void spool_listing_end(struct spool *sp, char (**ids_out)[QID_LEN + 1], size_t *n_out);

struct spool_txn {
	struct work work;		/* the job in flight, then the commit's completion */
	struct spool *sp;
	char qid[QID_LEN + 1];
	struct buf head;		/* magic and envelope records, written first */
	struct buf pending;		/* body bytes the loop has, not yet handed over */
	struct buf inflight;		/* body bytes a worker is writing */
	struct buf scratch;		/* a worker's encoded records */
	struct rec_chain chain;
	int fd;				/* worker side */
	int is_created;			/* worker side: the file exists in incoming/ */
	int err;			/* worker side: first errno */
	int job_final, job_cleanup;	/* the kind of the job in flight, set by the loop */
	int is_inflight, want_commit, is_aborted, is_paused;	/* loop side */
	int loop_err;			/* loop side: the first error the loop knows of */
	enum spool_result result;
	void (*done)(void *ctx, enum spool_result r);
	void *done_ctx;
	void (*on_drain)(void *ctx);
	void *drain_ctx;
	struct flush_item flush;	/* incoming/qid -> queue/qid */
	/* what filters changed (spool_txn_begin_body and the others), loop side until the final job */
	uint64_t loop_bytes;		/* content bytes handed over so far */
	uint64_t body_from;		/* content offset from which bytes are B records; UINT64_MAX */
	uint64_t body_at;		/* where the original body starts (F's second offset) */
	uint64_t job_body_from;		/* body_from as the job in flight sees it */
	uint64_t worker_bytes;		/* worker side: content bytes encoded so far */
	struct buf tail;		/* B/N/S/R/F records, encoded, that go before E */
	struct buf after_end;		/* records after E (H), encoded */
};

struct metrics;

/*
 * flusher.c: group commit of finished files. Starts the thread; fd is on
 * the spool's file system, named label in the log line that says how files
 * are flushed there; *is_syncfs_durable_out says whether by one syncfs(2)
 * per batch (1) or by an fsync of each file (0: nothing else flushes the
 * spool's files there, so what is appended to them needs its own fsync).
 * Each batch's size and time go to m (borrowed).
 */
struct flusher *flusher_new(int fd, const char *label, struct metrics *m,
    int *is_syncfs_durable_out);
/* Flushes the batch in hand, stops the thread, frees *f. */
void flusher_free(struct flusher **f);
/* Any thread: joins the next batch; it->done() runs on the flusher's thread. */
void flusher_submit(struct flusher *f, struct flush_item *it);
/*
 * Any thread but the loop: the same as a lazy item (see flusher.c), waiting
 * until it is reported (a rename: two batches where syncfs is a flush);
 * durable(ctx), if not NULL, is its item's durable(). Returns
 * 0, or -1 with errno; *is_renamed says which name the file has either way.
 */
int flusher_rename_wait(struct flusher *f, int from_dirfd, const char *from, int to_dirfd,
    const char *to, void (*durable)(void *ctx), void *ctx, int *is_renamed);
/* The same for a file that stays where it is (to_name NULL): 0, or -1 with errno. */
int flusher_sync_wait(struct flusher *f, int dirfd, const char *name);

/* reader.c: records from a file, one at a time. */
struct rec_reader {
	int fd;
	struct buf b;
	size_t off;
	int is_eof;
};
void rec_reader_init(struct rec_reader *r, int fd);
void rec_reader_clear(struct rec_reader *r);
/* 1 with a record, 0 at a clean end of file, -1 for a torn or bad record (errno EBADMSG) or a read error. */
int rec_reader_next(struct rec_reader *r, enum rec_type *type, struct slice *payload, uint32_t *crc);

/* Maps a write errno to the reply class. */
enum spool_result spool_result_of(int err);

#endif
