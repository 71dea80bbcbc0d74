/*
 * msg.c - committed messages: loading and checking a queue file, and
 * appending what happened to its recipients (stream.c reads the content).
 * Runs on worker threads (and at start-up); blocking is fine here.
 */
#include "spool/spool_int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/clock.h"
#include "util/fsutil.h"
#include "util/log.h"
#include "util/xalloc.h"

/* The origin named v; files written before the key existed say proto=local for notices. */
static enum spool_origin
origin_of(struct slice v, const char *proto)
{
	static const enum spool_origin all[] = { SPOOL_FROM_SMTP, SPOOL_FROM_SENDMAIL,
		SPOOL_FROM_PICKUP, SPOOL_FROM_NOTICE, SPOOL_FROM_API };

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (slice_eq(v, slice_str(spool_origin_name(all[i]))))
			return all[i];
	return proto != NULL && strcmp(proto, "local") == 0 ? SPOOL_FROM_NOTICE : SPOOL_FROM_SMTP;
}

/* Opens queue/qid for reading, refusing symlinks and anything not a regular file. */
static int
open_queued(struct spool *sp, const char *qid)
{
	struct stat st;
	int fd = openat(sp->queue_fd, qid, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);

	if (fd == -1)
		return -1;
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		close(fd);
		errno = EINVAL;
		return -1;
	}
	return fd;
}

static char *
kv_dup(struct slice payload, const char *key)
{
	struct slice v;

	if (rec_kv_get(payload, key, &v) != 1)
		return NULL;
	return xstrndup(v.p, v.len);
}

static int
apply_meta(struct spool_msg *m, struct slice p)
{
	struct slice v;
	uint64_t n = 0;

	if (rec_kv_get(p, "qid", &v) != 1 || v.len != QID_LEN)
		return -1;
	memcpy(m->qid, v.p, QID_LEN);
	m->qid[QID_LEN] = '\0';
	(void)rec_kv_get_u64(p, "arrival_us", &m->arrival_us);
	m->client_ip = kv_dup(p, "client_ip");
	m->helo = kv_dup(p, "helo");
	m->proto = kv_dup(p, "proto");
	m->is_8bitmime = rec_kv_get(p, "body", &v) == 1 && slice_eq(v, SLICE_LIT("8BITMIME"));
	if (rec_kv_get_u64(p, "smtputf8", &n) == 1)
		m->is_smtputf8 = n != 0;
	/* keys added later are optional: files of earlier versions lack them */
	if (rec_kv_get(p, "origin", &v) != 1)
		v = SLICE_LIT("");
	m->origin = origin_of(v, m->proto);
	m->client_name = kv_dup(p, "client_name");
	m->tls_version = kv_dup(p, "tls_version");
	m->tls_cipher = kv_dup(p, "tls_cipher");
	m->auth_user = kv_dup(p, "auth_user");
	m->local_user = kv_dup(p, "local_user");
	m->local_uid = rec_kv_get_u64(p, "local_uid", &n) == 1 && n <= LONG_MAX ? (long)n : -1;
	m->fail_status = kv_dup(p, "fail_status");
	m->fail_text = kv_dup(p, "fail_text");
	if (rec_kv_get_u64(p, "release", &n) == 1)
		m->release_s = n;
	m->api_meta = kv_dup(p, "api_meta");
	m->api_idem = kv_dup(p, "api_idem");
	return 0;
}

static void
rcpt_clear(struct spool_rcpt *r)
{
	free(r->to);
	free(r->orig);
	free(r->mailbox);
	free(r->reason);
}

static int
add_rcpt(struct spool_msg *m, struct slice p)
{
	struct spool_rcpt *r;

	m->rcpts = xrealloc(m->rcpts, (m->nrcpts + 1) * sizeof(*m->rcpts));
	r = &m->rcpts[m->nrcpts];
	memset(r, 0, sizeof(*r));
	r->to = kv_dup(p, "to");
	r->orig = kv_dup(p, "orig");
	r->mailbox = kv_dup(p, "mailbox");
	m->nrcpts++;
	if (r->to == NULL || r->orig == NULL)
		return -1;
	return 0;
}

/* A D, T or H record after E: which recipient (or the message), and what. A bad one is ignored. */
static void
apply_status(struct spool_msg *m, enum rec_type type, struct slice p)
{
	struct spool_rcpt *r;
	struct slice v;
	uint64_t i, n;

	if (type == REC_HOLD) {
		if (rec_kv_get_u64(p, "held", &n) == 1)
			m->is_held = n != 0;
		return;
	}
	if (rec_kv_get_u64(p, "rcpt", &i) != 1 || i >= m->nrcpts)
		return;
	r = &m->rcpts[i];
	if (type == REC_DONE) {
		r->is_done = 1;
		if (rec_kv_get(p, "status", &v) == 1 && v.len < sizeof(r->status)) {
			memcpy(r->status, v.p, v.len);
			r->status[v.len] = '\0';
		}
		return;
	}
	if (rec_kv_get_u64(p, "attempts", &n) == 1)
		r->attempts = (unsigned)n;
	if (rec_kv_get_u64(p, "next", &n) == 1)
		r->next_try_s = n;
	free(r->reason);
	r->reason = kv_dup(p, "reason");
}

struct spool_msg *
spool_msg_load(struct spool *sp, const char *qid, char *err, size_t errsize)
{
	struct spool_msg *m = spool_msg_new();
	struct rec_reader rd;
	struct rec_chain chain = { 0, 0 };
	char magic[REC_MAGIC_LEN];
	enum rec_type type;
	struct slice p;
	uint32_t crc;
	int fd, r, is_ended = 0, has_meta = 0, has_sender = 0, has_header = 0;
	uint64_t content = 0, body = 0, header = 0, orig_len = 0, body_at = REC_BODY_KEPT;
	const char *why = NULL;

	if ((fd = open_queued(sp, qid)) == -1) {
		snprintf(err, errsize, "open: %s", strerror(errno));
		free(m);
		return NULL;
	}
	if (pread_all(fd, magic, sizeof(magic), 0) != (ssize_t)sizeof(magic) ||
	    memcmp(magic, REC_MAGIC, REC_MAGIC_LEN) != 0 ||
	    lseek(fd, REC_MAGIC_LEN, SEEK_SET) == -1) {
		why = "not a queue file (bad magic)";
		goto out;
	}
	rec_reader_init(&rd, fd);
	while ((r = rec_reader_next(&rd, &type, &p, &crc)) == 1) {
		if (is_ended) {
			if (type == REC_DONE || type == REC_DEFER || type == REC_HOLD)
				apply_status(m, type, p);
			continue;
		}
		if (type == REC_END) {
			if (rec_end_check(p, &chain) == -1) {
				why = "end record does not match the records before it";
				break;
			}
			is_ended = 1;
			continue;
		}
		rec_chain_add(&chain, crc);
		if (type == REC_META) {
			if (has_meta++ || apply_meta(m, p) == -1)
				why = "bad meta record";
		} else if (type == REC_SENDER) {
			if (has_sender++ || (m->sender = kv_dup(p, "addr")) == NULL)
				why = "bad sender record";
		} else if (type == REC_RCPT) {
			if (add_rcpt(m, p) == -1)
				why = "bad recipient record";
		} else if (type == REC_CONTENT) {
			content += p.len;
		} else if (type == REC_BODY) {
			body += p.len;
		} else if (type == REC_HEADER) {
			if (has_header++ || rec_header_offsets(p, &orig_len, &body_at) == -1)
				why = "bad header record";
			header = p.len - REC_HEADER_FIXED;
		} else if (type == REC_NEWENV) {
			/* a filter changed the envelope: the S and R records that follow replace these */
			free(m->sender);
			m->sender = NULL;
			has_sender = 0;
			for (size_t i = 0; i < m->nrcpts; i++)
				rcpt_clear(&m->rcpts[i]);
			m->nrcpts = 0;
		} else {
			why = "status record before the end record";
		}
		if (why)
			break;
	}
	/* a torn record after E is a status append cut short: ignored, at worst a redelivery */
	if (why == NULL && r == -1 && !is_ended)
		why = errno == EBADMSG ? "torn or corrupt record" : strerror(errno);
	if (why == NULL && !is_ended)
		why = "no end record";
	if (why == NULL && (!has_meta || !has_sender || m->nrcpts == 0))
		why = "incomplete envelope";
	if (why == NULL && strcmp(m->qid, qid) != 0)
		why = "queue id does not match the file name";
	if (why == NULL && has_header && (orig_len > content ||
	    (body_at != REC_BODY_KEPT && (body_at < orig_len || body_at > content))))
		why = "header record beyond the content";
	if (why == NULL) {
		m->content_bytes = !has_header ? content : header +
		    ((body_at != REC_BODY_KEPT ? body_at : content) - orig_len) + body;
	}
	rec_reader_clear(&rd);
out:
	close(fd);
	if (why != NULL) {
		snprintf(err, errsize, "%s", why);
		spool_msg_free(&m);
	}
	return m;
}

/* How appended records are made durable. */
enum flush_how {
	FLUSH_NONE,	/* the flusher's own next syncfs covers them */
	FLUSH_NOW,	/* an fdatasync of the file, here */
	FLUSH_GROUP,	/* the next group commit (flusher_sync_wait): a worker thread only */
};

/* Appends records (whole, in one write) to queue/qid and makes them durable as how says. */
static int
append_records(struct spool *sp, const char *qid, const struct buf *recs, enum flush_how how)
{
	int fd, ret = -1, saved;

	fd = openat(sp->queue_fd, qid, O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC);
	if (fd != -1 && write_all(fd, recs->data, recs->len) == 0 &&
	    (how != FLUSH_NOW || fdatasync(fd) == 0))
		ret = 0;
	saved = errno;
	if (fd != -1 && close(fd) == -1 && ret == 0) {
		ret = -1;
		saved = errno;
	}
	if (ret == 0 && how == FLUSH_GROUP && flusher_sync_wait(sp->fl, sp->queue_fd, qid) == -1) {
		ret = -1;
		saved = errno;
	}
	errno = saved;
	return ret;
}

/* Adds mark's D or T record to recs: 0, or -1 with errno. */
static int
add_mark_record(struct buf *recs, const struct spool_mark *mark)
{
	struct buf p;
	int r = -1;

	buf_init(&p, 4096);
	if (mark->is_done ? rec_kv_add_u64(&p, "rcpt", mark->i) == 0 &&
	    rec_kv_add_str(&p, "status", mark->status) == 0 :
	    rec_kv_add_u64(&p, "rcpt", mark->i) == 0 &&
	    rec_kv_add_u64(&p, "attempts", mark->attempts) == 0 &&
	    rec_kv_add_u64(&p, "next", mark->next_try_s) == 0 &&
	    rec_kv_add(&p, "reason", mark->reason, strnlen(mark->reason, 512)) == 0)
		r = rec_append(recs, mark->is_done ? REC_DONE : REC_DEFER, p.data, p.len, NULL);
	buf_clear(&p);
	if (r == -1)
		errno = EFBIG;
	return r;
}

static int
mark_with(struct spool *sp, const char *qid, const struct spool_mark *marks, size_t n,
    enum flush_how how)
{
	struct buf recs;
	int r = 0;

	/* a record is at most its 4 KiB of keys and values and its frame */
	buf_init(&recs, n * (4096 + REC_OVERHEAD));
	for (size_t k = 0; k < n && r == 0; k++)
		r = add_mark_record(&recs, &marks[k]);
	if (r == 0 && n > 0)
		r = append_records(sp, qid, &recs, how);
	buf_clear(&recs);
	return r;
}

int
spool_msg_mark(struct spool *sp, const char *qid, const struct spool_mark *marks, size_t n)
{
	return mark_with(sp, qid, marks, n, FLUSH_GROUP);
}

/* The flush of a spool_msgs_mark_then(): one item per file, and who to tell at the end. */
struct marks_flush {
	struct flush_item *items;
	struct spool_mark_set *sets;
	size_t *which;			/* items[k] is the file of sets[which[k]] */
	size_t n, left;
	void (*done)(void *ctx);
	void *ctx;
};

struct marks_flush_item {
	struct flush_item it;		/* first: done() gets it */
	struct marks_flush *mf;
	size_t k;
};

/* Flusher thread (every item's done() runs there, so left needs no lock). */
static void
marks_flushed(struct flush_item *it)
{
	struct marks_flush_item *mi = (struct marks_flush_item *)it;
	struct marks_flush *mf = mi->mf;

	mf->sets[mf->which[mi->k]].err = it->err;
	if (--mf->left > 0)
		return;
	mf->done(mf->ctx);
	free(mf->items);
	free(mf->which);
	free(mf);
}

void
spool_msgs_mark_then(struct spool *sp, struct spool_mark_set *sets, size_t n,
    void (*done)(void *ctx), void *ctx)
{
	struct marks_flush *mf = xcalloc(1, sizeof(*mf));
	struct marks_flush_item *items;

	mf->which = xcalloc(n > 0 ? n : 1, sizeof(*mf->which));
	/* every file's records first; then one flush item each, all in one batch */
	for (size_t k = 0; k < n; k++) {
		sets[k].err = 0;
		if (sets[k].n == 0)
			continue;
		if (mark_with(sp, sets[k].qid, sets[k].marks, sets[k].n, FLUSH_NONE) == -1) {
			sets[k].err = errno;
			continue;
		}
		mf->which[mf->n++] = k;
	}
	if (mf->n == 0) {
		free(mf->which);
		free(mf);
		done(ctx);
		return;
	}
	items = xcalloc(mf->n, sizeof(*items));
	mf->items = &items[0].it;
	mf->sets = sets;
	mf->left = mf->n;
	mf->done = done;
	mf->ctx = ctx;
	for (size_t k = 0, n_items = mf->n; k < n_items; k++) {
		items[k].it = (struct flush_item){ .from_dirfd = sp->queue_fd,
			.from_name = sets[mf->which[k]].qid, .to_dirfd = -1, .done = marks_flushed,
			.is_lazy = 1 };
		items[k].mf = mf;
		items[k].k = k;
	}
	/* mf is the flusher's from the first submission: n_items, not mf->n, from here on */
	for (size_t k = 0, n_items = mf->n; k < n_items; k++)
		flusher_submit(sp->fl, &items[k].it);
}

int
spool_msg_mark_held(struct spool *sp, const char *qid, int is_held, long uid)
{
	struct buf p;
	int r = -1;

	buf_init(&p, 256);
	if (rec_kv_add_u64(&p, "held", is_held != 0) == 0 &&
	    rec_kv_add_u64(&p, "uid", uid < 0 ? UINT32_MAX : (uint64_t)uid) == 0 &&
	    rec_kv_add_u64(&p, "time", clock_wall_us() / 1000000u) == 0) {
		struct buf rec;

		buf_init(&rec, p.len + REC_OVERHEAD);
		if ((r = rec_append(&rec, REC_HOLD, p.data, p.len, NULL)) == 0)
			r = append_records(sp, qid, &rec, FLUSH_NOW);
		buf_clear(&rec);
	}
	buf_clear(&p);
	return r;
}

int
spool_msg_remove(struct spool *sp, const char *qid)
{
	return unlinkat(sp->queue_fd, qid, 0);
}

struct delivered {
	struct spool *sp;
	const char *qid;
	size_t rcpt;
};

/*
 * Flusher thread: the delivered copy is durable; record it before anyone
 * hears of the batch. The next group commit's syncfs flushes the record;
 * where the spool is flushed file by file, nothing would: it is flushed here.
 */
static void
record_delivered(void *ctx)
{
	struct delivered *d = ctx;
	struct spool_mark done = { .i = d->rcpt, .is_done = 1, .status = "2.0.0" };

	/* on this thread no flush can be waited for: where syncfs is none, an fdatasync */
	if (mark_with(d->sp, d->qid, &done, 1, d->sp->is_syncfs_durable ? FLUSH_NONE :
	    FLUSH_NOW) == -1) {
		char rid[64];

		snprintf(rid, sizeof(rid), "%s.%zu", d->qid, d->rcpt + 1);
		log_note(LOG_ERR, rid, "delivered, but cannot record it (%s): a restart may deliver "
		    "it again", strerror(errno));
	}
}

int
spool_deliver_rename(struct spool *sp, int from_dirfd, const char *from, int to_dirfd,
    const char *to, const char *qid, size_t rcpt, int *is_renamed)
{
	struct delivered d = { .sp = sp, .qid = qid, .rcpt = rcpt };

	return flusher_rename_wait(sp->fl, from_dirfd, from, to_dirfd, to, record_delivered, &d,
	    is_renamed);
}
