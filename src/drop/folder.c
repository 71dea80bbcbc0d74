/*
 * folder.c - a folder the daemon takes message files from: the joint that
 * the pickup folder and the maildrop share. One file at a time per folder,
 * so memory stays bounded by one message.
 *
 *   loop: a name is due (inotify, a scan, or left taken by a crash)
 *   loop: msg_env_new() gives the envelope and its queue id
 *   worker: rename NAME -> taken/QID, fsync taken/; open (no symlinks, no
 *           devices), read (bounded), the kind's parse; or move to bad/
 *   loop: recipients through msg_env_add_rcpt(), then msg_sub_write() in
 *         pieces, honouring its back-pressure, and msg_sub_end()
 *   loop: done says MSG_QUEUED -> worker: unlink taken/QID, fsync taken/
 *   loop: msg_hand_over(): only now may the scheduler deliver it
 *
 * Renaming first means the bytes read are the bytes of the file that is
 * later removed: a writer that replaces NAME meanwhile makes a new file,
 * taken next. The rename is flushed before the message is queued, so after
 * any crash the file is either still under NAME (never queued) or under
 * taken/QID, and the spool tells which: QID in the queue was committed, so
 * the file is removed; otherwise it is queued again under the same QID.
 * The loop never touches the disk: every open, read, rename and unlink is
 * a worker job (take.c; at most one per folder at a time).
 */
#include "drop/drop_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "msg/msg.h"
#include "util/ascii.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/log_event.h"
#include "util/xalloc.h"

#define PENDING_MAX 1024	/* names waiting; past it the next scan finds them */
#define WRITING_MAX 1024	/* names being written in place that the folder remembers */
#define PIECE (64 * 1024)	/* bytes per msg_sub_write() */
/*
 * A name written in place (IN_CREATE, IN_MODIFY) and not closed yet is not
 * taken by a scan until this long after its last write, in case its close
 * was never seen (a hard link has none). Writers that pause longer should
 * write under a dot-name and rename (docs/operations.md).
 */
#define WRITING_FORGET_MS (60 * 1000)

static void kick(struct folder *f);

void
drop_file_clear(struct drop_file *df)
{
	free(df->sender);
	for (size_t i = 0; i < df->nrcpts; i++)
		free(df->rcpts[i]);
	free(df->rcpts);
	buf_clear(&df->content);
	free(df->user);
	memset(df, 0, sizeof(*df));
	df->uid = -1;
}

/* ---- names ---- */

int
folder_is_candidate(const char *name)
{
	return name[0] != '\0' && name[0] != '.' && strlen(name) <= NAME_MAX;
}

static int
pending_has(const struct folder *f, const char *name)
{
	for (size_t i = 0; i < f->nq; i++)
		if (!f->q[i].is_taken && strcmp(f->q[i].name, name) == 0)
			return 1;
	return 0;
}

static void
pending_push(struct folder *f, const char *name, int is_taken, int at_front)
{
	if (!is_taken && pending_has(f, name))
		return;
	if (f->nq >= PENDING_MAX && !is_taken) {
		f->is_dirty = 1;	/* the name is still in the folder: a scan finds it */
		return;
	}
	f->q = xrealloc(f->q, (f->nq + 1) * sizeof(*f->q));
	if (at_front) {
		memmove(f->q + 1, f->q, f->nq * sizeof(*f->q));
		f->q[0] = (struct pending){ xstrdup(name), is_taken };
	} else {
		f->q[f->nq] = (struct pending){ xstrdup(name), is_taken };
	}
	f->nq++;
}

static struct pending
pending_pop(struct folder *f)
{
	struct pending p = f->q[0];

	memmove(f->q, f->q + 1, (f->nq - 1) * sizeof(*f->q));
	f->nq--;
	return p;
}

static struct writing *
writing_find(struct folder *f, const char *name)
{
	for (size_t i = 0; i < f->nwr; i++)
		if (strcmp(f->wr[i].name, name) == 0)
			return &f->wr[i];
	return NULL;
}

static void
writing_forget(struct folder *f, const char *name)
{
	struct writing *w = writing_find(f, name);

	if (w == NULL)
		return;
	free(w->name);
	*w = f->wr[--f->nwr];
}

static void
writing_touch(struct folder *f, const char *name)
{
	struct writing *w = writing_find(f, name);
	uint64_t now = clock_mono_ms();

	if (w != NULL) {
		w->last_ms = now;
		return;
	}
	/* forget the oldest to make room: the scan's settle time still guards those */
	if (f->nwr >= WRITING_MAX) {
		size_t oldest = 0;

		for (size_t i = 1; i < f->nwr; i++)
			if (f->wr[i].last_ms < f->wr[oldest].last_ms)
				oldest = i;
		free(f->wr[oldest].name);
		f->wr[oldest] = f->wr[--f->nwr];
	}
	f->wr = xrealloc(f->wr, (f->nwr + 1) * sizeof(*f->wr));
	f->wr[f->nwr++] = (struct writing){ xstrdup(name), now };
}

/* 1 if name is being written in place, as far as the events tell. */
static int
is_being_written(struct folder *f, const char *name)
{
	struct writing *w = writing_find(f, name);

	if (w == NULL)
		return 0;
	if (clock_mono_ms() - w->last_ms < WRITING_FORGET_MS)
		return 1;
	writing_forget(f, name);
	return 0;
}

/* ---- loop side ---- */

static void job_done(struct work *w);

/* reason: J_BAD's, written into the .reason file; NULL for the other jobs. */
static void
job_submit(struct folder *f, enum job_kind kind, const char *reason)
{
	ASSERT(!f->is_job);
	memset(&f->job, 0, sizeof(f->job));
	f->job.w.run = folder_job_run;
	f->job.w.done = job_done;
	f->job.f = f;
	f->job.kind = kind;
	if (reason != NULL)
		snprintf(f->job.reason, sizeof(f->job.reason), "%s", reason);
	f->is_job = 1;
	workq_submit(f->wq, &f->job.w);
}

/* The file in hand is finished with, one way or another. */
static void
hand_clear(struct folder *f)
{
	spool_msg_free(&f->env);
	spool_msg_free(&f->kept);	/* not handed over: the spool has it for the next start */
	drop_file_clear(&f->file);
	free(f->cur.name);
	f->cur.name = NULL;
	f->fed = 0;
}

/* The name the log gives the file in hand. */
static const char *
hand_name(const struct folder *f, char *buf, size_t size)
{
	if (f->cur.is_taken)
		snprintf(buf, size, "%s/%s", strrchr(f->taken, '/') ? strrchr(f->taken, '/') + 1 :
		    f->taken, f->cur.name);
	else
		snprintf(buf, size, "%s", f->cur.name);
	return buf;
}

static void on_sub_done(void *ctx, const struct msg_result *r);

static void
feed(struct folder *f)
{
	while (f->fed < f->file.content.len) {
		size_t n = f->file.content.len - f->fed;
		int is_full;

		if (n > PIECE)
			n = PIECE;
		is_full = msg_sub_write(f->sub, f->file.content.data + f->fed, n) == 1;
		f->fed += n;
		if (is_full)
			return;	/* on_drain goes on */
	}
	buf_clear(&f->file.content);
	f->is_committing = 1;
	msg_sub_end(f->sub, on_sub_done, f);
	f->sub = NULL;
}

static void
on_drain(void *ctx)
{
	struct folder *f = ctx;

	if (f->sub != NULL)
		feed(f);
}

static int
has_8bit_str(const char *s)
{
	return ascii_has_8bit(s, strlen(s));
}

/* The file is read and parsed: its envelope goes to the core, then its bytes. */
static void
submit(struct folder *f)
{
	struct spool_msg *env = f->env;
	char err[256], first_err[300] = "", name[NAME_MAX + 16];
	size_t accepted = 0;

	free(env->sender);	/* msg_env_new's null sender */
	env->sender = f->file.sender;
	f->file.sender = NULL;
	env->local_uid = f->file.uid;
	free(env->local_user);
	env->local_user = f->file.user;
	f->file.user = NULL;
	env->is_8bitmime = f->file.is_8bit;
	env->is_smtputf8 = has_8bit_str(env->sender);
	for (size_t i = 0; i < f->file.nrcpts; i++) {
		const char *a = f->file.rcpts[i];

		if (msg_env_add_rcpt(f->d.core, env, a, err, sizeof(err)) == 0) {
			accepted++;
			env->is_smtputf8 |= has_8bit_str(a);
			continue;
		}
		log_ev_rcpt_refused(env->qid, f->k->entrance, a, err);
		/* the core's reason names the address */
		if (first_err[0] == '\0')
			snprintf(first_err, sizeof(first_err), "no recipient accepted: %s", err);
	}
	if (accepted == 0 || env->nrcpts == 0) {
		job_submit(f, J_BAD, first_err[0] ? first_err : "no recipient");
		return;
	}
	log_ev_taken(env->qid, f->k->entrance, hand_name(f, name, sizeof(name)),
	    f->job.size, f->job.uid);
	f->env = NULL;
	f->sub = msg_sub_new(f->d.core, env, f->k->entrance);
	msg_sub_keep_handover(f->sub);
	msg_sub_set_drain_cb(f->sub, on_drain, f);
	f->fed = 0;
	feed(f);
}

static void
on_pause_over(evutil_socket_t fd, short what, void *arg)
{
	struct folder *f = arg;

	(void)fd, (void)what;
	f->is_paused = 0;
	kick(f);
}

static void
on_sub_done(void *ctx, const struct msg_result *r)
{
	struct folder *f = ctx;
	char name[NAME_MAX + 16], why[320];

	f->is_committing = 0;
	if (r->status == MSG_QUEUED) {
		f->kept = r->kept;
		job_submit(f, J_REMOVE, NULL);
		return;
	}
	if (r->status == MSG_TEMPFAIL) {
		struct timeval tv = { f->scan_ms / 1000, (f->scan_ms % 1000) * 1000 };

		/* disk full, I/O: the file stays taken and is the first tried after a pause */
		log_ev_file_deferred(f->qid, f->k->entrance, hand_name(f, name, sizeof(name)),
		    r->text, f->scan_ms / 1000);
		pending_push(f, f->qid, 1, 1);
		hand_clear(f);
		f->is_paused = 1;
		evtimer_add(f->pause_ev, &tv);
		return;
	}
	/* MSG_REFUSED: no folder entrance expects it, but a refusal is a reason, kept with the file */
	snprintf(why, sizeof(why), "refused: %d %s %s", r->code, r->dsn, r->text);
	job_submit(f, J_BAD, why);
}

static void
list_done(struct folder *f, struct job *j)
{
	if (j->reason[0] != '\0')
		log_err("%s: cannot list %s: %s", f->k->entrance, f->dir, j->reason);
	for (size_t i = 0; i < j->nnames; i++) {
		/* a symlink or a FIFO has no close to wait for: it goes (to bad/) at once */
		if (f->k->is_atomic || !j->is_reg[i] || !is_being_written(f, j->names[i]))
			pending_push(f, j->names[i], 0, 0);
		free(j->names[i]);
	}
	free(j->names);
	free(j->is_reg);
	j->names = NULL;
	j->is_reg = NULL;
	if (j->is_more)
		f->is_dirty = 1;
}

static void
take_done(struct folder *f, struct job *j)
{
	char name[NAME_MAX + 16];

	switch (j->result) {
	case TAKE_OK:
		if (f->is_stopping) {
			hand_clear(f);	/* stays taken: the next start queues it */
			return;
		}
		submit(f);
		return;
	case TAKE_BAD:
		log_ev_file_bad(f->qid, f->k->entrance, hand_name(f, name, sizeof(name)),
		    j->bad_name[0] ? j->bad_name : "-", j->reason);
		break;
	case TAKE_ERR:
		log_err("%s: %s: %s", f->k->entrance, f->cur.name, j->reason);
		break;
	case TAKE_GONE:
		break;
	}
	hand_clear(f);
}

static void
job_done(struct work *w)
{
	struct job *j = (struct job *)w;
	struct folder *f = j->f;
	char name[NAME_MAX + 16];

	f->is_job = 0;
	switch (j->kind) {
	case J_LIST:
		list_done(f, j);
		break;
	case J_TAKE:
		take_done(f, j);
		break;
	case J_REMOVE:
		/* only now may it be delivered: see msg_sub_keep_handover() */
		msg_hand_over(f->d.core, &f->kept);
		hand_clear(f);
		break;
	case J_BAD:
		log_ev_file_bad(f->qid, f->k->entrance, hand_name(f, name, sizeof(name)),
		    j->bad_name[0] ? j->bad_name : "-", j->reason);
		hand_clear(f);
		break;
	}
	kick(f);
}

/* Starts the next piece of work, if the folder is free for it. */
static void
kick(struct folder *f)
{
	if (!f->is_started || f->is_stopping || f->is_job || f->cur.name != NULL || f->is_paused)
		return;
	if (f->nq > 0) {
		f->cur = pending_pop(f);
		f->env = msg_env_new(f->d.core, f->k->origin);
		/*
		 * A file taken before keeps its queue id (msg_env_new's is unused):
		 * the spool is asked by that id, and the generator is past it.
		 */
		if (f->cur.is_taken)
			memcpy(f->env->qid, f->cur.name, sizeof(f->env->qid));
		memcpy(f->qid, f->env->qid, sizeof(f->qid));
		drop_file_clear(&f->file);
		job_submit(f, J_TAKE, NULL);
		return;
	}
	if (f->is_dirty) {
		f->is_dirty = 0;
		job_submit(f, J_LIST, NULL);
	}
}

static void
on_scan_timer(evutil_socket_t fd, short what, void *arg)
{
	struct folder *f = arg;

	(void)fd, (void)what;
	f->is_dirty = 1;
	kick(f);
}

/* inotify: names that are complete are due at once; the rest says who is being written. */
static void
on_inotify(evutil_socket_t fd, short what, void *arg)
{
	struct folder *f = arg;
	char buf[16 * 1024] __attribute__((aligned(__alignof__(struct inotify_event))));

	(void)what;
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n <= 0)
			break;
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *e = (const struct inotify_event *)p;

			p += sizeof(*e) + e->len;
			if (e->mask & IN_Q_OVERFLOW) {
				f->is_dirty = 1;	/* events were lost: the scan finds the files */
				continue;
			}
			if (e->mask & (IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF)) {
				log_err("%s: %s was removed or moved: only scans will find files",
				    f->k->entrance, f->dir);
				continue;
			}
			if (e->len == 0 || (e->mask & IN_ISDIR) || !folder_is_candidate(e->name))
				continue;
			if (e->mask & (IN_CLOSE_WRITE | IN_MOVED_TO)) {
				writing_forget(f, e->name);
				pending_push(f, e->name, 0, 0);
			} else if (e->mask & (IN_DELETE | IN_MOVED_FROM)) {
				writing_forget(f, e->name);
			} else if (f->k->is_atomic && (e->mask & IN_CREATE)) {
				/*
				 * Its writers rename names in: a name created in place
				 * is a link, a FIFO or a file written against the rules,
				 * which goes to bad/ now rather than at the next scan.
				 */
				pending_push(f, e->name, 0, 0);
			} else if (e->mask & (IN_CREATE | IN_MODIFY)) {
				writing_touch(f, e->name);
			}
		}
	}
	kick(f);
}

/* ---- start, stop ---- */

/*
 * Opens the folder at path; is_ours: the daemon's own (taken/, bad/),
 * created when missing, and refused unless the daemon's user owns it and
 * nobody else may write it: a file put into taken/ would be queued.
 */
static int
open_dir(const char *path, int is_ours, char *err, size_t errsize)
{
	struct stat st;
	int fd;

	if (is_ours && mkdir(path, 0700) == -1 && errno != EEXIST) {
		snprintf(err, errsize, "%s: %s", path, strerror(errno));
		return -1;
	}
	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1) {
		snprintf(err, errsize, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (is_ours && (fstat(fd, &st) == -1 || st.st_uid != geteuid() ||
	    (st.st_mode & (S_IWGRP | S_IWOTH)))) {
		snprintf(err, errsize, "%s: must belong to the daemon's user and be writable by it "
		    "alone", path);
		close(fd);
		return -1;
	}
	return fd;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * Start-up, before serving: what a crash left in taken/. A queue id the
 * spool has was committed: the file goes. Any other is due again, oldest
 * first, under its queue id, which the generator must never hand out again.
 */
static int
settle_taken(struct folder *f, char *err, size_t errsize)
{
	int fd = dup(f->taken_fd);
	DIR *d = fd == -1 ? NULL : fdopendir(fd);
	struct dirent *e;
	char **names = NULL;
	size_t n = 0;

	if (d == NULL) {
		if (fd != -1)
			close(fd);
		snprintf(err, errsize, "%s: %s", f->taken, strerror(errno));
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (!qid_valid(e->d_name, strlen(e->d_name))) {
			log_warn("%s: %s/%s is no queue id: left alone", f->k->entrance, f->taken,
			    e->d_name);
			continue;
		}
		names = xrealloc(names, (n + 1) * sizeof(*names));
		names[n++] = xstrdup(e->d_name);
	}
	closedir(d);
	if (n > 1)
		qsort(names, n, sizeof(*names), name_cmp);
	for (size_t i = 0; i < n; i++) {
		int has = spool_has(f->d.spool, names[i]);

		(void)qid_seen(f->d.qids, names[i]);
		if (has == 1) {
			/* committed, then the crash came before the removal */
			if (unlinkat(f->taken_fd, names[i], 0) == 0)
				log_ev_file_removed(names[i], f->k->entrance, "queued before a restart");
			else
				log_err("%s: cannot remove %s/%s: %s", f->k->entrance, f->taken,
				    names[i], strerror(errno));
		} else if (has == 0) {
			pending_push(f, names[i], 1, 0);
		} else {
			/* queued or not cannot be told: left for a start that can tell */
			log_err("%s: %s/%s left alone: cannot look it up in the queue: %s",
			    f->k->entrance, f->taken, names[i], strerror(errno));
		}
		free(names[i]);
	}
	free(names);
	if (n > 0 && fsync(f->taken_fd) == -1)
		log_err("%s: fsync %s: %s", f->k->entrance, f->taken, strerror(errno));
	return 0;
}

struct folder *
folder_new(const struct drop_deps *d, struct workq *wq, const struct drop_kind *k,
    const struct folder_paths *paths, unsigned scan_ms, char *err, size_t errsize)
{
	struct folder *f = xcalloc(1, sizeof(*f));
	uint32_t mask = IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_ONLYDIR | IN_DONT_FOLLOW |
	    IN_DELETE | IN_MOVED_FROM | IN_DELETE_SELF | IN_MOVE_SELF;

	f->k = k;
	f->d = *d;
	f->wq = wq;
	f->scan_ms = scan_ms;
	f->dir = xstrdup(paths->dir);
	f->taken = xstrdup(paths->taken);
	f->bad = xstrdup(paths->bad);
	f->dir_fd = f->taken_fd = f->bad_fd = f->ino_fd = -1;
	f->file.uid = -1;
	if ((f->dir_fd = open_dir(f->dir, 0, err, errsize)) == -1 ||
	    (f->taken_fd = open_dir(f->taken, 1, err, errsize)) == -1 ||
	    (f->bad_fd = open_dir(f->bad, 1, err, errsize)) == -1)
		goto fail;
	if (!k->is_atomic)
		mask |= IN_MODIFY;
	/* the watch comes before the first scan, so no file falls between the two */
	if ((f->ino_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) == -1 ||
	    inotify_add_watch(f->ino_fd, f->dir, mask) == -1) {
		/* e.g. out of watches: the scans still find every file, later */
		log_warn("%s: inotify on %s: %s; scanning every %u ms only", k->entrance, f->dir,
		    strerror(errno), scan_ms);
		if (f->ino_fd != -1)
			close(f->ino_fd);
		f->ino_fd = -1;
	}
	if (settle_taken(f, err, errsize) == -1)
		goto fail;
	f->scan_ev = event_new(d->base, -1, EV_PERSIST, on_scan_timer, f);
	f->pause_ev = evtimer_new(d->base, on_pause_over, f);
	if (f->ino_fd != -1)
		f->ino_ev = event_new(d->base, f->ino_fd, EV_READ | EV_PERSIST, on_inotify, f);
	return f;
fail:
	folder_free(&f);
	return NULL;
}

void
folder_start(struct folder *f)
{
	struct timeval tv = { f->scan_ms / 1000, (f->scan_ms % 1000) * 1000 };

	f->is_started = 1;
	if (f->ino_ev != NULL)
		event_add(f->ino_ev, NULL);
	event_add(f->scan_ev, &tv);
	f->is_dirty = 1;
	kick(f);
}

void
folder_stop(struct folder *f)
{
	f->is_stopping = 1;
	if (f->ino_ev != NULL)
		event_del(f->ino_ev);
	if (f->scan_ev != NULL)
		event_del(f->scan_ev);
	if (f->pause_ev != NULL)
		event_del(f->pause_ev);
	if (f->sub != NULL) {
		/* not ended: nothing is stored, the file stays taken and the next start queues it */
		msg_sub_abort(&f->sub);
		hand_clear(f);
	}
}

int
folder_busy(const struct folder *f)
{
	return f->is_job || f->is_committing;
}

void
folder_free(struct folder **fp)
{
	struct folder *f = *fp;

	if (f == NULL)
		return;
	if (f->sub != NULL)
		msg_sub_abort(&f->sub);
	hand_clear(f);
	for (size_t i = 0; i < f->nq; i++)
		free(f->q[i].name);
	free(f->q);
	for (size_t i = 0; i < f->nwr; i++)
		free(f->wr[i].name);
	free(f->wr);
	if (f->ino_ev != NULL)
		event_free(f->ino_ev);
	if (f->scan_ev != NULL)
		event_free(f->scan_ev);
	if (f->pause_ev != NULL)
		event_free(f->pause_ev);
	if (f->ino_fd != -1)
		close(f->ino_fd);
	if (f->dir_fd != -1)
		close(f->dir_fd);
	if (f->taken_fd != -1)
		close(f->taken_fd);
	if (f->bad_fd != -1)
		close(f->bad_fd);
	free(f->dir);
	free(f->taken);
	free(f->bad);
	free(f);
	*fp = NULL;
}
