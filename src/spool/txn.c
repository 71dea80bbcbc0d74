/*
 * txn.c - a message written to the spool as it arrives (spool_txn_*): its
 * envelope records first, its content as it comes, and at the commit the
 * records that end it; then the group commit (flusher.c) renames it into
 * queue/ and makes it durable before the 250.
 * The loop thread never touches the disk here: it hands bytes to worker
 * jobs, at most one in flight per message so the file is written in order.
 */
#include "spool/spool_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/clock.h"
#include "util/fsutil.h"
#include "util/log.h"
#include "util/xalloc.h"

#define HEAD_MAX (8 * 1024 * 1024)	/* envelope records: thousands of recipients fit */

/* ---- envelope records ---- */

/* A key whose absence means "none": written only when there is a value. */
static int
kv_add_opt(struct buf *p, const char *key, const char *value)
{
	return value == NULL ? 0 : rec_kv_add_str(p, key, value);
}

static int encode_parties(struct buf *out, struct rec_chain *chain, const struct spool_msg *m);

static int
encode_envelope(struct buf *out, struct rec_chain *chain, const struct spool_msg *m)
{
	struct buf p;
	int r = -1;

	buf_init(&p, REC_MAX_PAYLOAD);
	if (buf_append(out, REC_MAGIC, REC_MAGIC_LEN) == -1 ||
	    rec_kv_add_str(&p, "qid", m->qid) == -1 ||
	    rec_kv_add_u64(&p, "arrival_us", m->arrival_us) == -1 ||
	    rec_kv_add_str(&p, "client_ip", m->client_ip ? m->client_ip : "") == -1 ||
	    rec_kv_add_str(&p, "helo", m->helo ? m->helo : "") == -1 ||
	    rec_kv_add_str(&p, "proto", m->proto ? m->proto : "") == -1 ||
	    rec_kv_add_str(&p, "body", m->is_8bitmime ? "8BITMIME" : "7BIT") == -1 ||
	    rec_kv_add_u64(&p, "smtputf8", (uint64_t)m->is_smtputf8) == -1 ||
	    rec_kv_add_str(&p, "origin", spool_origin_name(m->origin)) == -1 ||
	    kv_add_opt(&p, "client_name", m->client_name) == -1 ||
	    kv_add_opt(&p, "tls_version", m->tls_version) == -1 ||
	    kv_add_opt(&p, "tls_cipher", m->tls_cipher) == -1 ||
	    kv_add_opt(&p, "auth_user", m->auth_user) == -1 ||
	    kv_add_opt(&p, "local_user", m->local_user) == -1 ||
	    (m->local_uid >= 0 && rec_kv_add_u64(&p, "local_uid", (uint64_t)m->local_uid) == -1) ||
	    kv_add_opt(&p, "fail_status", m->fail_status) == -1 ||
	    kv_add_opt(&p, "fail_text", m->fail_text) == -1 ||
	    (m->release_s > 0 && rec_kv_add_u64(&p, "release", m->release_s) == -1) ||
	    kv_add_opt(&p, "api_meta", m->api_meta) == -1 ||
	    kv_add_opt(&p, "api_idem", m->api_idem) == -1 ||
	    rec_append(out, REC_META, p.data, p.len, chain) == -1)
		goto out;
	r = encode_parties(out, chain, m);
out:
	buf_clear(&p);
	return r;
}

/* The S and R records of m. */
static int
encode_parties(struct buf *out, struct rec_chain *chain, const struct spool_msg *m)
{
	struct buf p;
	int r = -1;

	buf_init(&p, REC_MAX_PAYLOAD);
	if (rec_kv_add_str(&p, "addr", m->sender) == -1 ||
	    rec_append(out, REC_SENDER, p.data, p.len, chain) == -1)
		goto out;
	for (size_t i = 0; i < m->nrcpts; i++) {
		const struct spool_rcpt *rc = &m->rcpts[i];

		buf_reset(&p);
		if (rec_kv_add_str(&p, "to", rc->to) == -1 ||
		    rec_kv_add_str(&p, "orig", rc->orig) == -1 ||
		    (rc->mailbox && rec_kv_add_str(&p, "mailbox", rc->mailbox) == -1) ||
		    rec_append(out, REC_RCPT, p.data, p.len, chain) == -1)
			goto out;
	}
	r = 0;
out:
	buf_clear(&p);
	return r;
}

/* ---- receiving ----
 * Fields of a txn belong to one side at a time: the loop sets the job's
 * kind (job_final, job_cleanup) and swaps the buffers before submitting;
 * the worker owns fd, is_created, err, chain, scratch and inflight while
 * the job runs; the loop reads err again only in txn_job_done().
 */

static void txn_job_run(struct work *w);
static void txn_job_done(struct work *w);
static void txn_to_flusher(struct work *w);

struct spool_txn *
spool_txn_new(struct spool *sp, const struct spool_msg *m, const void *header, size_t header_len)
{
	struct spool_txn *t = xcalloc(1, sizeof(*t));

	atomic_fetch_add(&sp->ntxns, 1);
	t->sp = sp;
	t->fd = -1;
	t->body_from = UINT64_MAX;
	memcpy(t->qid, m->qid, sizeof(t->qid));
	buf_init(&t->head, HEAD_MAX);
	buf_init(&t->tail, HEAD_MAX + REC_MAX_PAYLOAD + REC_OVERHEAD);
	buf_init(&t->after_end, 4096);
	buf_init(&t->pending, SPOOL_PAUSE_BYTES + 2 * SPOOL_CHUNK);
	buf_init(&t->inflight, SPOOL_PAUSE_BYTES + 2 * SPOOL_CHUNK);
	/* the last job's records: the content in hand, then what filters changed, E, and H */
	buf_init(&t->scratch, SPOOL_PAUSE_BYTES + 2 * SPOOL_CHUNK + 64 * REC_OVERHEAD + 64 +
	    HEAD_MAX + REC_MAX_PAYLOAD + REC_OVERHEAD + 4096);
	/* the envelope is counted into the chain here, before any job exists */
	if (encode_envelope(&t->head, &t->chain, m) == -1 ||
	    buf_append(&t->pending, header, header_len) == -1) {
		t->err = t->loop_err = EFBIG;
		log_note(LOG_ERR, t->qid, "cannot write %s/incoming/%s: the envelope exceeds the "
		    "queue file's bounds", sp->dir, t->qid);
	}
	return t;
}

void
spool_txn_set_home(struct spool_txn *t, struct workq *home)
{
	ASSERT(!t->is_inflight);
	t->work.home = home;
}

static void
txn_free(struct spool_txn *t)
{
	buf_clear(&t->head);
	buf_clear(&t->pending);
	buf_clear(&t->inflight);
	buf_clear(&t->scratch);
	buf_clear(&t->tail);
	buf_clear(&t->after_end);
	atomic_fetch_sub(&t->sp->ntxns, 1);
	free(t);
}

static void
txn_submit(struct spool_txn *t, int is_final, int is_cleanup)
{
	ASSERT(!t->is_inflight);
	t->job_final = is_final;
	t->job_cleanup = is_cleanup;
	t->job_body_from = t->body_from;
	t->is_inflight = 1;
	t->work.run = txn_job_run;
	t->work.done = txn_job_done;
	workq_submit(t->sp->wq, &t->work);
}

/* Hands the waiting bytes to a worker (is_final: and finish the file). */
static void
txn_start_job(struct spool_txn *t, int is_final)
{
	struct buf tmp = t->inflight;

	t->inflight = t->pending;
	t->pending = tmp;
	buf_reset(&t->pending);
	txn_submit(t, is_final, 0);
}

int
spool_txn_write(struct spool_txn *t, const void *p, size_t n)
{
	if (t->loop_err != 0)
		return 0;	/* failed already: swallow the rest, the commit reports it */
	t->loop_bytes += n;
	if (buf_append(&t->pending, p, n) == -1) {
		t->loop_err = EFBIG;
		log_note(LOG_ERR, t->qid, "cannot write %s/incoming/%s: more bytes waiting than the "
		    "spool holds back", t->sp->dir, t->qid);
		return 0;
	}
	if (t->pending.len >= SPOOL_CHUNK && !t->is_inflight)
		txn_start_job(t, 0);
	if (t->pending.len >= SPOOL_PAUSE_BYTES) {
		t->is_paused = 1;
		return 1;
	}
	return 0;
}

void
spool_txn_set_drain_cb(struct spool_txn *t, void (*on_drain)(void *ctx), void *ctx)
{
	t->on_drain = on_drain;
	t->drain_ctx = ctx;
}

/*
 * Worker: the write of t's file failed in step what, with errno (EFBIG for
 * a record that cannot be encoded): the commit will say 451 or 452, and
 * the log says which file and why, once.
 */
static void
txn_fail(struct spool_txn *t, const char *what, int err)
{
	t->err = err;
	log_note(LOG_ERR, t->qid, "cannot %s %s/incoming/%s: %s", what, t->sp->dir, t->qid,
	    strerror(err));
}

/*
 * Worker: the bytes in flight as records: C for the content as it came, B
 * from job_body_from on (a filter's new body), in chunks of SPOOL_CHUNK.
 */
static int
encode_content(struct spool_txn *t)
{
	size_t off = 0;

	while (off < t->inflight.len) {
		uint64_t at = t->worker_bytes;
		size_t n = t->inflight.len - off < SPOOL_CHUNK ? t->inflight.len - off : SPOOL_CHUNK;
		enum rec_type type = at >= t->job_body_from ? REC_BODY : REC_CONTENT;

		/* a chunk never straddles the start of the new body */
		if (at < t->job_body_from && t->job_body_from - at < n)
			n = (size_t)(t->job_body_from - at);
		if (rec_append(&t->scratch, type, t->inflight.data + off, n, &t->chain) == -1)
			return -1;
		off += n;
		t->worker_bytes += n;
	}
	return 0;
}

/* Worker: the records the loop encoded for before E (tail), counted into the chain in order. */
static int
encode_tail(struct spool_txn *t)
{
	size_t off = 0;

	while (off < t->tail.len) {
		enum rec_type type;
		struct slice pl;
		uint32_t crc;
		size_t used;

		ASSERT(rec_decode(t->tail.data + off, t->tail.len - off, &type, &pl, &crc, &used) ==
		    REC_OK);
		rec_chain_add(&t->chain, crc);
		off += used;
	}
	return buf_append(&t->scratch, t->tail.data, t->tail.len);
}

/* Worker: writes the bytes in flight as records, and the end when final; or cleans up. */
static void
txn_job_run(struct work *w)
{
	struct spool_txn *t = (struct spool_txn *)w;
	struct spool *sp = t->sp;

	if (t->job_cleanup) {
		if (t->fd != -1)
			close(t->fd);
		t->fd = -1;
		if (t->is_created && unlinkat(sp->incoming_fd, t->qid, 0) == -1 && errno != ENOENT)
			log_note(LOG_ERR, t->qid, "cannot remove incoming/%s: %s", t->qid,
			    strerror(errno));
		t->is_created = 0;
		return;
	}
	if (t->err != 0)
		return;
	buf_reset(&t->scratch);
	if (t->fd == -1) {
		t->fd = openat(sp->incoming_fd, t->qid,
		    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (t->fd == -1) {
			txn_fail(t, "create", errno);
			return;
		}
		t->is_created = 1;
		if (write_all(t->fd, t->head.data, t->head.len) == -1) {
			txn_fail(t, "write", errno);
			return;
		}
		buf_clear(&t->head);
	}
	if (encode_content(t) == -1) {
		txn_fail(t, "encode a record of", EFBIG);
		return;
	}
	if (t->job_final && (encode_tail(t) == -1 ||
	    rec_append_end(&t->scratch, &t->chain) == -1 ||
	    buf_append(&t->scratch, t->after_end.data, t->after_end.len) == -1)) {
		txn_fail(t, "encode the end records of", EFBIG);
		return;
	}
	if (write_all(t->fd, t->scratch.data, t->scratch.len) == -1) {
		txn_fail(t, "write", errno);
		return;
	}
	buf_reset(&t->inflight);
	if (t->job_final) {
		int r;

		/*
		 * The group commit renames the file into queue/ before its syncfs
		 * (is_name_first): its data's writeback starts now, so that its
		 * blocks and size are on their way before its new name is, and a
		 * journal commit that takes the rename early (anyone's fsync) most
		 * likely takes them too. No wait and no device flush here: the
		 * syncfs is that.
		 */
		if (sp->is_syncfs_durable &&
		    sync_file_range(t->fd, 0, 0, SYNC_FILE_RANGE_WRITE) == -1) {
			txn_fail(t, "write", errno);
			return;
		}
		/* close can report a delayed write error (NFS): it counts like any other */
		r = close(t->fd);
		t->fd = -1;
		if (r == -1)
			txn_fail(t, "close", errno);
		/* the file is whole: on to the group commit from here, not by way of the loop */
		if (t->err == 0 && t->loop_err == 0)
			t->work.then = txn_to_flusher;
	}
}

/*
 * Flusher thread: t's file into queue/, never over a file there. Queue ids
 * follow the clock, and one set back could give a new message the id of a
 * queued one, whose file a plain rename would replace: that message is
 * lost. So the new one fails instead (451: its client sends it again, under
 * a new id) and the queued file stays as it was.
 */
static int
txn_rename(struct flush_item *it)
{
	struct spool_txn *t = (struct spool_txn *)((char *)it - offsetof(struct spool_txn, flush));
	struct spool *sp = t->sp;
	int r, err;

	pthread_mutex_lock(&sp->listing_mu);
	r = rename_noreplace(it->from_dirfd, it->from_name, it->to_dirfd, it->to_name);
	err = errno;
	if (r == 0 && sp->is_listing) {
		if (sp->ncommitted == sp->committed_cap) {
			sp->committed_cap = sp->committed_cap ? 2 * sp->committed_cap : 256;
			sp->committed = xrealloc(sp->committed,
			    sp->committed_cap * sizeof(*sp->committed));
		}
		memcpy(sp->committed[sp->ncommitted++], t->qid, QID_LEN + 1);
	}
	pthread_mutex_unlock(&sp->listing_mu);
	if (r == 0)
		return 0;
	if (err == EEXIST)
		log_note(LOG_ERR, t->qid, "cannot commit %s/incoming/%s: %s/queue/%s exists already "
		    "(a clock set back?); the queued file is kept, the new message refused for now",
		    sp->dir, t->qid, sp->dir, t->qid);
	errno = err;
	return -1;
}

/*
 * Flusher thread: t's file is in queue/ and durable, or failed. A failed
 * file was never acknowledged and must not be delivered later: remove it
 * under whichever name it has.
 */
static void
txn_flushed(struct flush_item *it)
{
	struct spool_txn *t = (struct spool_txn *)((char *)it - offsetof(struct spool_txn, flush));
	struct spool *sp = t->sp;

	t->result = SPOOL_OK;
	if (it->err != 0) {
		t->err = it->err;
		t->result = spool_result_of(it->err);
		if (it->err != EEXIST)	/* txn_rename said why */
			log_note(LOG_ERR, t->qid, "cannot make %s/%s/%s durable: %s", sp->dir,
			    it->is_renamed ? "queue" : "incoming", t->qid, strerror(it->err));
		if (unlinkat(it->is_renamed ? sp->queue_fd : sp->incoming_fd, t->qid, 0) == -1 &&
		    errno != ENOENT)
			log_note(LOG_ERR, t->qid, "cannot remove the unacknowledged %s/%s/%s: %m", sp->dir,
			    it->is_renamed ? "queue" : "incoming", t->qid);
	}
	workq_post_done(sp->wq, &t->work);
}

/* Loop: the group commit is over for t. */
static void
txn_commit_done(struct work *w)
{
	struct spool_txn *t = (struct spool_txn *)w;

	t->done(t->done_ctx, t->result);
	txn_free(t);
}

/*
 * Worker, after the final job wrote the whole file: the commit joins the
 * next group flush; txn_flushed then posts t's completion to the loop. The
 * loop's side of t is settled by then: a committed txn is never aborted,
 * and the loop writes nothing of it until the completion.
 */
static void
txn_to_flusher(struct work *w)
{
	struct spool_txn *t = (struct spool_txn *)w;

	t->work.done = txn_commit_done;
	t->flush = (struct flush_item){
		.from_dirfd = t->sp->incoming_fd, .from_name = t->qid,
		.to_dirfd = t->sp->queue_fd, .to_name = t->qid, .done = txn_flushed,
		.rename = txn_rename, .is_name_first = 1,
	};
	flusher_submit(t->sp->fl, &t->flush);
}

/* Loop: a worker job of t finished (a final job only when it failed). */
static void
txn_job_done(struct work *w)
{
	struct spool_txn *t = (struct spool_txn *)w;

	t->is_inflight = 0;
	if (t->err != 0 && t->loop_err == 0)
		t->loop_err = t->err;
	if (t->job_cleanup) {
		txn_free(t);
		return;
	}
	if (t->is_aborted || (t->job_final && t->loop_err != 0)) {
		if (t->job_final && !t->is_aborted)
			t->done(t->done_ctx, spool_result_of(t->loop_err));
		if (t->is_created || t->fd != -1)
			txn_submit(t, 0, 1);
		else
			txn_free(t);
		return;
	}
	ASSERT(!t->job_final);	/* a final job that wrote the whole file went on to txn_to_flusher */
	if (t->want_commit)
		txn_start_job(t, 1);
	else if (t->pending.len >= SPOOL_CHUNK)
		txn_start_job(t, 0);
	if (t->is_paused && t->pending.len < SPOOL_PAUSE_BYTES) {
		t->is_paused = 0;
		if (t->on_drain)
			t->on_drain(t->drain_ctx);
	}
}

void
spool_txn_commit(struct spool_txn *t, void (*done)(void *ctx, enum spool_result r), void *ctx)
{
	t->done = done;
	t->done_ctx = ctx;
	t->on_drain = NULL;
	t->want_commit = 1;
	if (t->loop_err != 0 && !t->is_inflight && !t->is_created) {
		/* nothing reached the disk: a job that only reports the failure */
		t->err = t->loop_err;
		txn_submit(t, 1, 0);
		return;
	}
	if (!t->is_inflight)
		txn_start_job(t, 1);
}

void
spool_txn_begin_body(struct spool_txn *t, uint64_t body_at)
{
	ASSERT(t->body_from == UINT64_MAX && body_at <= t->loop_bytes);
	t->body_from = t->loop_bytes;
	t->body_at = body_at;
}

int
spool_txn_set_header(struct spool_txn *t, uint64_t orig_len, const void *header, size_t len)
{
	struct buf p;
	uint8_t fixed[REC_HEADER_FIXED];
	uint64_t body_at = t->body_from == UINT64_MAX ? REC_BODY_KEPT : t->body_at;
	int r;

	for (int i = 0; i < 8; i++) {
		fixed[i] = (uint8_t)(orig_len >> (56 - 8 * i));
		fixed[8 + i] = (uint8_t)(body_at >> (56 - 8 * i));
	}
	buf_init(&p, REC_MAX_PAYLOAD);
	r = buf_append(&p, fixed, sizeof(fixed)) == -1 || buf_append(&p, header, len) == -1 ||
	    rec_append(&t->tail, REC_HEADER, p.data, p.len, NULL) == -1 ? -1 : 0;
	buf_clear(&p);
	return r;
}

void
spool_txn_set_envelope(struct spool_txn *t, const struct spool_msg *m)
{
	if (rec_append(&t->tail, REC_NEWENV, "", 0, NULL) == -1 ||
	    encode_parties(&t->tail, NULL, m) == -1) {
		t->loop_err = EFBIG;
		log_note(LOG_ERR, t->qid, "cannot write %s/incoming/%s: the changed envelope exceeds "
		    "the queue file's bounds", t->sp->dir, t->qid);
	}
}

void
spool_txn_set_held(struct spool_txn *t)
{
	struct buf p;

	buf_init(&p, 256);
	/* the uid of nobody in particular: the content step, not an operator */
	if (rec_kv_add_u64(&p, "held", 1) == -1 || rec_kv_add_u64(&p, "uid", UINT32_MAX) == -1 ||
	    rec_kv_add_u64(&p, "time", clock_wall_us() / 1000000u) == -1 ||
	    rec_append(&t->after_end, REC_HOLD, p.data, p.len, NULL) == -1)
		t->loop_err = EFBIG;
	buf_clear(&p);
}

unsigned
spool_txns_open(struct spool *sp)
{
	return atomic_load(&sp->ntxns);
}

void
spool_txn_abort(struct spool_txn **tp)
{
	struct spool_txn *t = *tp;

	if (t == NULL)
		return;
	*tp = NULL;
	t->is_aborted = 1;
	t->on_drain = NULL;
	if (t->is_inflight)
		return;		/* txn_job_done cleans up */
	if (t->is_created)
		txn_submit(t, 0, 1);
	else
		txn_free(t);
}
