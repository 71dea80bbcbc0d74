/*
 * spool.h - the queue on disk.
 *
 * Layout under spool.dir: incoming/ (being written, never acknowledged),
 * queue/ (committed), corrupt/ (failed their check at start; kept for a
 * human). One file per message, named by its queue id, in the format of
 * record.h.
 *
 * Receiving (loop thread): spool_txn_new() with the envelope, then
 * spool_txn_write() of body bytes as they arrive, then spool_txn_commit().
 * The bytes are written by worker threads; the commit joins the next group
 * commit (flusher.c): one syncfs(2) makes every file of the batch durable
 * (an fsync of each file where syncfs is no durable flush: FUSE, NFS, SMB;
 * spool_open logs which), each is renamed into queue/, one fsync of queue/
 * makes the renames durable, and only then does each commit's callback run
 * (and the session say 250). A failure anywhere fails the message, never
 * acknowledges it.
 *
 * Delivering (worker threads): spool_msg_load() reads a committed file,
 * spool_content_open() streams its content (on the loop too), spool_msg_mark() records what
 * happened to its recipients (durably, in the next group commit),
 * spool_msg_remove() ends it.
 */
#ifndef STERNA_SPOOL_SPOOL_H
#define STERNA_SPOOL_SPOOL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/buf.h"
#include "util/qid.h"
#include "util/workq.h"

struct spool;

/*
 * Where a message came in: each entrance of the submission core (src/msg)
 * says which it is, and the queue file keeps it.
 */
enum spool_origin {
	SPOOL_FROM_SMTP,	/* an SMTP client */
	SPOOL_FROM_SENDMAIL,	/* sterna sendmail, through the maildrop */
	SPOOL_FROM_PICKUP,	/* a file in the pickup folder */
	SPOOL_FROM_NOTICE,	/* a delivery status notice of our own */
	SPOOL_FROM_API,		/* the HTTP API (POST /v1/messages) */
};

/* "smtp", "sendmail", "pickup", "notice", "api". */
const char *spool_origin_name(enum spool_origin o);

/*
 * One recipient: the address as given, and its resolved target: the final
 * address and, for local delivery, the mailbox (local user); NULL mailbox
 * means a remote recipient.
 */
struct spool_rcpt {
	char *to;		/* final address */
	char *orig;		/* as given in RCPT TO (or on the command line, or in a header) */
	char *mailbox;		/* local user, or NULL */
	int is_done;		/* a D record says it is finished */
	unsigned attempts;	/* failed attempts so far (T records) */
	uint64_t next_try_s;	/* not before this time (seconds since the epoch) */
	char status[16];	/* the D record's enhanced status ("2.0.0", "5.1.1"); "" before */
	char *reason;		/* the last T record's reason, NULL before any */
};

/*
 * A message's envelope, as written into and read from the spool: the one
 * envelope type of every entrance (src/msg), the scheduler and the queue
 * tools. Strings are owned; NULL where the entrance has nothing to say.
 */
struct spool_msg {
	char qid[QID_LEN + 1];
	enum spool_origin origin;
	char *sender;		/* "" for the null sender */
	uint64_t arrival_us;
	char *client_ip;	/* SMTP: the client's address; others: NULL */
	char *client_name;	/* its verified host name, when known */
	char *helo;		/* the HELO/EHLO name */
	char *proto;		/* SMTP, ESMTPSA, ...; "local" for the other entrances */
	char *tls_version;	/* of the session that brought it, NULL in the clear */
	char *tls_cipher;
	char *auth_user;	/* the authenticated (SMTP AUTH) user */
	char *local_user;	/* sendmail: the local user who ran it, and uid */
	long local_uid;		/* -1 when none */
	/*
	 * Set by an entrance that cannot refuse (sendmail, pickup) when the
	 * message must not be delivered: every recipient is bounced with this
	 * status (e.g. "5.4.6") and text instead.
	 */
	char *fail_status, *fail_text;
	int is_8bitmime, is_smtputf8;
	int is_held;		/* the last H record put it on hold: not delivered until released */
	uint64_t release_s;	/* no attempt before this time (wall clock, s): a scheduled message; 0 */
	/*
	 * The HTTP API's tags and metadata, as one JSON object's text
	 * ({"tags": [...], "metadata": {...}}), for its events; NULL for none.
	 */
	char *api_meta;
	/*
	 * The HTTP API's Idempotency-Key of the request that sent it, with what
	 * a replay of that request needs (src/http/idempotency.h, its format),
	 * committed with the message; NULL for none.
	 */
	char *api_idem;
	struct spool_rcpt *rcpts;
	size_t nrcpts;
	uint64_t content_bytes;	/* the message as stored: added header lines and body */
};

/* A new, empty envelope: origin SMTP, local_uid -1, every string NULL. */
struct spool_msg *spool_msg_new(void);
/*
 * Adds a recipient unless one with the same mailbox (or, for remote ones,
 * the same final address, in any case) is there already: two routes to
 * one mailbox make one copy. Copies the strings; mailbox may be NULL.
 * Returns 1 if added, 0 if it was a duplicate.
 */
int spool_msg_add_rcpt(struct spool_msg *m, const char *orig, const char *to,
    const char *mailbox);
/* Drops the recipients from index n on (a refusal took back what an RCPT added). */
void spool_msg_truncate_rcpts(struct spool_msg *m, size_t n);
/* Frees a message and its strings; m may point to NULL. */
void spool_msg_free(struct spool_msg **m);

struct metrics;

/*
 * Opens (creating what is missing) the spool in dir, using wq for disk work,
 * with the group commit's figures in m (borrowed; it must outlive the spool).
 * Returns a new spool, or NULL with the reason in err.
 */
struct spool *spool_open(const char *dir, struct workq *wq, struct metrics *m, char *err,
    size_t errsize);
/* Stops the flusher (after the batch in hand) and frees *sp. */
void spool_close(struct spool **sp);

struct spool_lock;

/*
 * Takes the lock of the spool in dir (creating dir if missing): one daemon
 * per spool, held until spool_unlock() or the process ends. Returns the
 * lock, or NULL with the reason in err; when another process holds it,
 * err names the spool and that process's pid. Tools that only read the
 * spool (the queue listing) do not need it.
 */
struct spool_lock *spool_lock(const char *dir, char *err, size_t errsize);
/* Releases and frees *l; l may point to NULL. */
void spool_unlock(struct spool_lock **l);

/* Free bytes in the spool's file system, as last measured (refreshed by spool_refresh_space). */
uint64_t spool_free_bytes(const struct spool *sp);
/* Measures free space now (statvfs; fast, but call it from a timer, not per message). */
void spool_refresh_space(struct spool *sp);

/* ---- receiving ---- */

enum spool_result {
	SPOOL_OK,
	SPOOL_ERR_IO,		/* 451 4.3.0 */
	SPOOL_ERR_NOSPACE,	/* 452 4.3.1 */
};

struct spool_txn;

/*
 * Starts a message with the envelope m (copied; rcpts' is_done and
 * attempts are ignored) and header, the bytes that go before the body (the
 * Received line). Nothing touches the disk until enough bytes are waiting.
 */
struct spool_txn *spool_txn_new(struct spool *sp, const struct spool_msg *m,
    const void *header, size_t header_len);
/*
 * Right after spool_txn_new(), from a loop that is not the spool's workers'
 * (a receiving loop of its own, src/server): the txn's completions (its
 * drain, its commit's done) run on the loop that watches home, its mailbox.
 */
void spool_txn_set_home(struct spool_txn *t, struct workq *home);
/*
 * Appends body bytes. Returns 1 when the caller should stop reading from
 * the client until on_drain is called (too many bytes not yet on disk).
 */
int spool_txn_write(struct spool_txn *t, const void *p, size_t n);
/* Called (loop thread) when a txn that said "stop" can take more bytes. */
void spool_txn_set_drain_cb(struct spool_txn *t, void (*on_drain)(void *ctx), void *ctx);
/*
 * Finishes the message and makes it durable; done(ctx, result) runs on the
 * loop thread when it is (or is not). The txn is freed by the spool after.
 */
void spool_txn_commit(struct spool_txn *t, void (*done)(void *ctx, enum spool_result r),
    void *ctx);
/*
 * Transactions not finished with: being written, committing, or aborted
 * with their file still being removed. A stop waits for none to be left
 * (their last steps run on the loop).
 */
unsigned spool_txns_open(struct spool *sp);
/* Drops an unfinished message; its temporary file is removed. */
void spool_txn_abort(struct spool_txn **t);

/*
 * What content filters changed (src/msg/filter.h), told before the commit;
 * the file keeps the content as it came and these beside it, so a large
 * body is never written twice, and every reader sees the changed message.
 */
/*
 * From this call on, the bytes written are a new body that takes the place
 * of the content from offset body_at (where the original body starts) on.
 */
void spool_txn_begin_body(struct spool_txn *t, uint64_t body_at);
/*
 * The final header section: header[0..len) (copied) takes the place of the
 * first orig_len content bytes (the fields as they came). 0, or -1 if it
 * does not fit one record.
 */
int spool_txn_set_header(struct spool_txn *t, uint64_t orig_len, const void *header, size_t len);
/* The envelope changed: its sender and recipients are recorded again (copied). */
void spool_txn_set_envelope(struct spool_txn *t, const struct spool_msg *m);
/* The message is to be held (an H record, as an operator's hold would write). */
void spool_txn_set_held(struct spool_txn *t);

/* ---- recovery and delivery (worker threads, or start-up) ---- */

/*
 * At start (recover.c). spool_recovery_new() removes everything in
 * incoming/ and opens queue/; NULL with errno if it cannot be read. From
 * then on, until its listing is over, the ids committed into queue/ are
 * kept apart, so call it before anything can commit. spool_recovery_start()
 * then, on wq's threads, lists queue/ (moving names that are no queue id to
 * corrupt/, making gen continue after every id there as it finds it, and
 * leaving out what was committed meanwhile), then checks the files in
 * batches, two at a time, moves bad ones to corrupt/ (with a log line),
 * removes those with no recipient left, and calls found(ctx, m) on the loop
 * thread for every other (the callee takes m), in queue id order;
 * finished(ctx, count) once all are read (an empty queue too).
 * spool_recovery_stop()
 * reads no further batch (the rest stay queued for the next start); free
 * once spool_recovery_busy() says no job is out.
 */
struct spool_recovery;
struct spool_recovery *spool_recovery_new(struct spool *sp, struct qid_gen *gen);
void spool_recovery_start(struct spool_recovery *r, struct workq *wq,
    void (*found)(void *ctx, struct spool_msg *m), void (*finished)(void *ctx, long count),
    void *ctx);
/*
 * Before the recovery removes a file whose recipients are all done, it
 * calls before_remove(ctx, m) on the worker thread (m borrowed for the
 * call): it may block, to make durable what must outlive the file.
 */
void spool_recovery_set_remove_hook(struct spool_recovery *r,
    void (*before_remove)(void *ctx, const struct spool_msg *m), void *ctx);
void spool_recovery_stop(struct spool_recovery *r);
int spool_recovery_busy(const struct spool_recovery *r);
void spool_recovery_free(struct spool_recovery **r);
/* Reads and checks the message qid: a new spool_msg, or NULL with the reason in err. */
struct spool_msg *spool_msg_load(struct spool *sp, const char *qid, char *err, size_t errsize);
/*
 * qid's content (header and body, CRLF line ends, not dot-stuffed), read a
 * piece at a time (stream.c): as filters left it (the final header
 * section, a new body) when they changed it. A stream holds one open file
 * and a fixed buffer of 64 KiB (and the final header section, when a
 * filter changed it), whatever the message's size. Its reads are brief
 * (the file was written moments ago, and is in the page cache but after a
 * restart), so the loop thread may use it as well as workers; one stream
 * is used by one thread at a time.
 */
struct spool_content;
/* Opens qid's content: a new stream, or NULL with errno (EBADMSG for a bad file). */
struct spool_content *spool_content_open(struct spool *sp, const char *qid);
/*
 * The next piece of content: 1 with *out borrowing from the stream until
 * the next call, 0 at the end, -1 with errno (EBADMSG: a torn or corrupt
 * record). Each record's checksum is checked after its last byte is read,
 * so the pieces are known good only when 0 has been returned: after a -1,
 * throw away what was read.
 */
int spool_content_next(struct spool_content *sc, struct slice *out);
/* Closes and frees *sc; sc may point to NULL. */
void spool_content_close(struct spool_content **sc);
/*
 * Streams qid's content, as spool_content_next() reads it, to sink(ctx, p,
 * n), which returns 0 or -1 to stop. Returns 0, or -1 with errno.
 */
int spool_msg_read_content(struct spool *sp, const char *qid,
    int (*sink)(void *ctx, const void *p, size_t n), void *ctx);
/* What happened to one recipient, for spool_msg_mark(). */
struct spool_mark {
	size_t i;		/* the recipient */
	int is_done;		/* 1: done (delivered or bounced): a D record; 0: deferred: a T record */
	const char *status;	/* D: its enhanced status ("2.0.0", "5.1.1") */
	unsigned attempts;	/* T: failed attempts so far */
	uint64_t next_try_s;	/* T: not before (seconds since the epoch) */
	const char *reason;	/* T: why (cut at 512 bytes) */
};
/*
 * Durably records the n marks of qid's recipients, all at once: one write,
 * made durable by the spool's next group commit, whose flush they share
 * with received messages and other deliveries (a message to many
 * destinations pays no flush per recipient). Worker threads only (it waits
 * for the flush). 0, or -1 with errno (then any of them may be lost).
 */
int spool_msg_mark(struct spool *sp, const char *qid, const struct spool_mark *marks, size_t n);
/* One message's marks, for spool_msgs_mark_then(). */
struct spool_mark_set {
	const char *qid;
	const struct spool_mark *marks;	/* borrowed */
	size_t n;
	int err;			/* out: 0, or the errno (then any of them may be lost) */
};
/*
 * spool_msg_mark() for n messages at once, without waiting: each one's
 * records are written, and all of them join one group commit; once it has
 * made them durable (or failed: each set's err), done(ctx) runs on the
 * spool's flush thread (at once, on the caller's, when there was nothing to
 * flush). It must be quick: pass the rest on (workq_submit). sets (and the
 * qids) are borrowed until then. So a worker thread is not held for the
 * flush, where other work (removals, which wait for none) would queue
 * behind it. For many messages deferred together (a destination found down).
 */
void spool_msgs_mark_then(struct spool *sp, struct spool_mark_set *sets, size_t n,
    void (*done)(void *ctx), void *ctx);
/*
 * Durably records that an operator (uid) put qid on hold (is_held 1) or
 * released it (0): an H record, so a held message stays held across a
 * restart. 0, or -1 with errno.
 */
int spool_msg_mark_held(struct spool *sp, const char *qid, int is_held, long uid);
/*
 * Removes qid from the queue (all recipients done): 0, or -1 with errno.
 * Not flushed: a removal lost in a crash delivers the message again (a
 * duplicate, never a loss); the next group commit makes it durable.
 */
int spool_msg_remove(struct spool *sp, const char *qid);

/*
 * 1 if qid was committed and is still in the spool (queue/, or corrupt/
 * where a bad committed file is kept), 0 if not (never committed, or
 * finished and removed), -1 with errno when that cannot be told. Blocking
 * (a stat): worker threads and start-up. The folder entrances (src/drop)
 * ask it to tell a file that was queued before a crash from one that was not.
 */
int spool_has(struct spool *sp, const char *qid);

/*
 * For delivery agents writing their own files (a Maildir's tmp/ -> new/):
 * makes the closed file from (in from_dirfd) durable, renames it to to (in
 * to_dirfd) and makes the rename durable, in the spool's next group commit,
 * so deliveries share the flushes of receiving. As soon as that is done,
 * and before any other file of the batch is reported (a later message's
 * 250), recipient rcpt of qid is recorded done (a D record, which the next
 * group commit's syncfs flushes, or an fdatasync of its own where the spool
 * is flushed file by file): a crash of the process after that cannot
 * deliver the recipient again; a power loss before that flush can, once.
 * Blocks the calling worker thread (never the loop) until then. Returns 0,
 * or -1 with errno; either way *is_renamed says which of the two names the
 * file has now.
 */
int spool_deliver_rename(struct spool *sp, int from_dirfd, const char *from, int to_dirfd,
    const char *to, const char *qid, size_t rcpt, int *is_renamed);

#endif
