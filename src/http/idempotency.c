/*
 * idempotency.c - the Idempotency-Key table and its journal
 * (idempotency.h). The table: entries by API key id and client key
 * (keyed SipHash: clients choose the keys), in arrival order for the 24
 * hours and the bounds, each with the body's hash and the reply to give
 * again; the loop's, but under a lock, for the recovery's worker gives
 * back the keys of the files it removes. The journal: one JSON line per committed message,
 *   {"t":TIME,"k":KEY_ID,"key":CLIENT_KEY,"h":HASH,"n":N,"i":I,"to":TO,"id":QID}
 * in files named by the hour (unix time / 3600), appended by a thread that
 * writes and fdatasyncs what the loop hands it; a reply is rebuilt from a
 * request's lines (a batch's message the lines lack, one the queue did not
 * take, is an error without its address). The envelope's api_idem is the
 * same object without "t" and "id".
 */
#include "http/idempotency.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/clock.h"
#include "util/fsutil.h"
#include "util/htab.h"
#include "util/log.h"
#include "util/siphash.h"
#include "util/xalloc.h"

#define LINE_MAX_BYTES (64 * 1024)	/* a journal line is far shorter: a longer one is no line of ours */
#define FILE_NAME_LEN 16		/* ten digits of the hour, ".jsonl" */
#define SLOT_BYTES 96			/* what a reply's entry costs, beside its strings */

struct idem_entry {
	struct htab_link link;		/* first */
	char *key;			/* key id, NUL, the client's key: one key */
	size_t key_len;
	char hash[65];			/* the body's SHA-256, hex */
	uint64_t time_s;
	int is_done;			/* a reply is kept (else the first request is still out) */
	int status;
	json_t *reply;
	size_t bytes;			/* what the entry costs, for the table's bound */
	struct idem_entry *older, *newer;	/* in arrival order */
};

enum recovery { RECOVERING, RECOVERED, ABANDONED };

struct idem {
	pthread_mutex_t tab_mu;		/* the table: the loop, and the recovery's worker */
	enum recovery recovery;
	void (*waiter)(void *ctx);
	void *waiter_ctx;
	struct htab tab;
	struct siphash_key sip;
	size_t n, max, bytes, max_bytes;
	struct idem_entry *oldest, *newest;
	/* the journal */
	char *dir;
	int fd;				/* the file of hour, -1 before the first line */
	uint64_t hour;
	pthread_t thread;
	pthread_mutex_t mu;		/* guards what follows */
	pthread_cond_t cv, cv_synced;
	struct buf pending;		/* lines handed over, not written yet */
	uint64_t added, synced;		/* lines handed over; made durable (or lost, logged) */
	int is_stopping;
};

/* ---- the table ---- */

struct lookup {
	const char *key;
	size_t len;
};

static int
is_key(const struct htab_link *l, const void *k)
{
	const struct idem_entry *e = (const struct idem_entry *)l;
	const struct lookup *x = k;

	return e->key_len == x->len && memcmp(e->key, x->key, x->len) == 0;
}

/* "ID\0CLIENT_KEY" into *x, a new buffer the caller frees (x->key). */
static void
full_key(const char *key_id, const char *client_key, struct lookup *x)
{
	size_t a = strlen(key_id), b = strlen(client_key);
	char *k = xmalloc(a + 1 + b);

	memcpy(k, key_id, a + 1);
	memcpy(k + a + 1, client_key, b);
	x->key = k;
	x->len = a + 1 + b;
}

static struct idem_entry *
find(const struct idem *t, const struct lookup *x)
{
	return (struct idem_entry *)htab_find(&t->tab, siphash13(&t->sip, x->key, x->len), is_key,
	    x);
}

static void
entry_unlink(struct idem *t, struct idem_entry *e)
{
	htab_remove(&t->tab, &e->link);
	if (e->older)
		e->older->newer = e->newer;
	else
		t->oldest = e->newer;
	if (e->newer)
		e->newer->older = e->older;
	else
		t->newest = e->older;
	t->bytes -= e->bytes;
	t->n--;
	json_decref(e->reply);
	free(e->key);
	free(e);
}

/* Within the bounds again: the oldest go, never keep (the entry just added). */
static void
bound(struct idem *t, const struct idem_entry *keep)
{
	while ((t->n > t->max || t->bytes > t->max_bytes) && t->oldest != NULL &&
	    t->oldest != keep)
		entry_unlink(t, t->oldest);
}

/* A new entry for x (taken over), in time order (a recovered one may be older than the newest). */
static struct idem_entry *
entry_add(struct idem *t, struct lookup *x, const char *hash, uint64_t time_s)
{
	struct idem_entry *e = xcalloc(1, sizeof(*e)), *after = t->newest;

	e->key = (char *)x->key;
	e->key_len = x->len;
	x->key = NULL;
	(void)snprintf(e->hash, sizeof(e->hash), "%s", hash);
	e->time_s = time_s;
	e->bytes = sizeof(*e) + e->key_len;
	htab_add(&t->tab, &e->link, siphash13(&t->sip, e->key, e->key_len));
	while (after != NULL && after->time_s > time_s)
		after = after->older;
	e->older = after;
	e->newer = after != NULL ? after->newer : t->oldest;
	if (e->newer != NULL)
		e->newer->older = e;
	else
		t->newest = e;
	if (after != NULL)
		after->newer = e;
	else
		t->oldest = e;
	t->n++;
	t->bytes += e->bytes;
	return e;
}

enum idem_result
idem_begin(struct idem *t, const char *key_id, const char *client_key, const char *body_hash,
    uint64_t now_s, int *status_out, json_t **reply_out)
{
	struct lookup x;
	struct idem_entry *e;
	enum idem_result res;

	pthread_mutex_lock(&t->tab_mu);
	while (t->oldest != NULL && t->oldest->time_s + IDEM_KEEP_S <= now_s)
		entry_unlink(t, t->oldest);
	full_key(key_id, client_key, &x);
	if ((e = find(t, &x)) != NULL) {
		free((char *)x.key);
		if (strcmp(e->hash, body_hash) != 0) {
			res = IDEM_CONFLICT;
		} else if (!e->is_done) {
			res = IDEM_BUSY;
		} else {
			*status_out = e->status;
			*reply_out = json_incref(e->reply);
			res = IDEM_REPLAY;
		}
	} else if (t->recovery != RECOVERED) {
		free((char *)x.key);
		res = t->recovery == RECOVERING ? IDEM_WAIT : IDEM_UNAVAILABLE;
	} else {
		e = entry_add(t, &x, body_hash, now_s);
		bound(t, e);
		res = IDEM_NEW;
	}
	pthread_mutex_unlock(&t->tab_mu);
	return res;
}

/* What reply costs in the table: its text's length, near enough, without writing it. */
static size_t
reply_bytes(json_t *reply)
{
	json_t *msgs = json_object_get(reply, "messages");

	return SLOT_BYTES + json_array_size(msgs) * SLOT_BYTES;
}

void
idem_end(struct idem *t, const char *key_id, const char *client_key, int status, json_t *reply)
{
	struct lookup x;
	struct idem_entry *e;

	full_key(key_id, client_key, &x);
	pthread_mutex_lock(&t->tab_mu);
	e = find(t, &x);
	free((char *)x.key);
	if (e == NULL) {
		/* pushed out meanwhile */
	} else if (reply == NULL) {
		entry_unlink(t, e);	/* nothing to keep: the key may be used again */
	} else {
		e->is_done = 1;
		e->status = status;
		e->reply = json_incref(reply);
		e->bytes += reply_bytes(reply);
		t->bytes += reply_bytes(reply);
		bound(t, e);
	}
	pthread_mutex_unlock(&t->tab_mu);
}

/* ---- a request's messages, as the envelope and the journal write them ---- */

/* m as a JSON object: the envelope's members, and with is_journal "t" and "id". */
static json_t *
msg_json(const struct idem_msg *m, int is_journal)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:I, s:I}", "k", m->key_id, "key", m->client_key,
	    "h", m->hash, "n", (json_int_t)m->n, "i", (json_int_t)m->i);

	if (o == NULL)
		return NULL;	/* a client's key that is not UTF-8: kept by none */
	if (m->n > 0 && m->to != NULL)
		json_object_set_new(o, "to", json_string(m->to));
	if (is_journal) {
		json_object_set_new(o, "t", json_integer((json_int_t)m->time_s));
		json_object_set_new(o, "id", json_string(m->qid));
	}
	return o;
}

char *
idem_msg_text(const struct idem_msg *m)
{
	json_t *o = msg_json(m, 0);
	char *s = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;

	json_decref(o);
	return s;
}

/* Reads o (a journal line, or with t and id given, an envelope's) into *m: 0, or -1. */
static int
msg_read(json_t *o, struct idem_msg *m)
{
	json_int_t n = -1, i = -1, t = 0;
	const char *to = NULL, *qid = NULL;

	if (json_unpack(o, "{s:s, s:s, s:s, s:I, s:I, s?:s, s?:I, s?:s}", "k", &m->key_id,
	    "key", &m->client_key, "h", &m->hash, "n", &n, "i", &i, "to", &to, "t", &t,
	    "id", &qid) == -1 || n < 0 || n > 1000000 || i < 0 || (n > 0 && i >= n) ||
	    (n == 0 && i != 0) || strlen(m->hash) != 64 || t < 0)
		return -1;
	m->n = (size_t)n;
	m->i = (size_t)i;
	m->to = to;
	if (qid != NULL)
		m->qid = qid;
	if (t > 0)
		m->time_s = (uint64_t)t;
	return m->qid != NULL && qid_valid(m->qid, strlen(m->qid)) ? 0 : -1;
}

/* A batch's message the journal does not name (the queue did not take it). */
static json_t *
untaken(void)
{
	return json_pack("{s:n, s:{s:s, s:s}}", "to", "error", "code", "unavailable", "message",
	    "the queue could not take this message");
}

/*
 * Message m of a request that was answered: into the table (a new entry
 * for its key, its place in the reply filled). 1 if the table lacked it.
 */
static int
msg_apply(struct idem *t, const struct idem_msg *m)
{
	struct lookup x;
	struct idem_entry *e;
	json_t *slot, *msgs;

	full_key(m->key_id, m->client_key, &x);
	if ((e = find(t, &x)) == NULL) {
		e = entry_add(t, &x, m->hash, m->time_s);
		e->is_done = 1;
		e->status = 202;
		if (m->n == 0) {
			e->reply = json_pack("{s:s}", "id", m->qid);
		} else {
			msgs = json_array();
			for (size_t k = 0; k < m->n; k++)
				json_array_append_new(msgs, untaken());
			e->reply = json_pack("{s:o}", "messages", msgs);
		}
		e->bytes += reply_bytes(e->reply);
		t->bytes += reply_bytes(e->reply);
		bound(t, e);
		if (m->n == 0)
			return 1;
	}
	free((char *)x.key);	/* NULL when the entry took it */
	if (strcmp(e->hash, m->hash) != 0)
		return 0;	/* another request's: the first one is kept */
	if (m->n == 0)
		return strcmp(json_string_value(json_object_get(e->reply, "id")), m->qid) != 0;
	msgs = json_object_get(e->reply, "messages");
	if (json_array_size(msgs) != m->n)
		return 0;
	slot = json_array_get(msgs, m->i);
	if (json_object_get(slot, "id") != NULL &&
	    strcmp(json_string_value(json_object_get(slot, "id")), m->qid) == 0)
		return 0;
	json_array_set_new(msgs, m->i, json_pack("{s:s, s:s?}", "id", m->qid, "to", m->to));
	return 1;
}

/* ---- the journal ---- */

static uint64_t
now_s(void)
{
	return clock_wall_us() / 1000000u;
}

/* The oldest hour whose file may hold a line younger than IDEM_KEEP_S. */
static uint64_t
oldest_hour(uint64_t now)
{
	return (now > IDEM_KEEP_S ? now - IDEM_KEEP_S : 0) / 3600;
}

static int
parse_name(const char *name, uint64_t *hour_out)
{
	char *end;

	if (strlen(name) != FILE_NAME_LEN || strcmp(name + 10, ".jsonl") != 0 ||
	    name[0] < '0' || name[0] > '9')
		return -1;
	*hour_out = strtoull(name, &end, 10);
	return end == name + 10 ? 0 : -1;
}

/* Hands line (without its newline) to the thread. */
static void
journal_add(struct idem *t, const char *line)
{
	pthread_mutex_lock(&t->mu);
	(void)buf_append_str(&t->pending, line);
	(void)buf_append_byte(&t->pending, '\n');
	t->added++;
	pthread_cond_signal(&t->cv);
	pthread_mutex_unlock(&t->mu);
}

void
idem_committed(struct idem *t, const struct idem_msg *m)
{
	json_t *o = msg_json(m, 1);
	char *line = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;

	json_decref(o);
	if (line == NULL)
		return;
	journal_add(t, line);
	free(line);
}

void
idem_recovered(struct idem *t, const struct spool_msg *m, int is_done)
{
	json_t *o;
	struct idem_msg im = { .qid = m->qid, .time_s = m->arrival_us / 1000000u };

	if (m->api_idem == NULL || im.time_s + IDEM_KEEP_S <= now_s())
		return;
	if ((o = json_loads(m->api_idem, 0, NULL)) == NULL || msg_read(o, &im) == -1) {
		log_note(LOG_WARN, m->qid, "its Idempotency-Key cannot be read back: it is "
		    "forgotten");
		json_decref(o);
		return;
	}
	/* a crash before its line was written: written now */
	pthread_mutex_lock(&t->tab_mu);
	if (msg_apply(t, &im))
		idem_committed(t, &im);
	pthread_mutex_unlock(&t->tab_mu);
	json_decref(o);
	if (is_done)
		idem_wait_durable(t);
}

void
idem_recovery_over(struct idem *t, int is_complete)
{
	if (t->recovery != RECOVERING)
		return;
	pthread_mutex_lock(&t->tab_mu);
	t->recovery = is_complete ? RECOVERED : ABANDONED;
	pthread_mutex_unlock(&t->tab_mu);
	if (t->waiter != NULL)
		t->waiter(t->waiter_ctx);
}

void
idem_set_waiter(struct idem *t, void (*fn)(void *ctx), void *ctx)
{
	t->waiter = fn;
	t->waiter_ctx = ctx;
}

void
idem_wait_durable(struct idem *t)
{
	uint64_t target;

	pthread_mutex_lock(&t->mu);
	target = t->added;
	while (t->synced < target)
		pthread_cond_wait(&t->cv_synced, &t->mu);
	pthread_mutex_unlock(&t->mu);
}

/* The journal's thread: the file of the current hour, older files removed. */
static void
journal_file(struct idem *t, uint64_t hour)
{
	char path[4096];
	DIR *d;
	struct dirent *de;
	uint64_t h;

	if (t->fd != -1 && t->hour == hour)
		return;
	if (t->fd != -1)
		close(t->fd);	/* synced with its last lines */
	(void)snprintf(path, sizeof(path), "%s/%010" PRIu64 ".jsonl", t->dir, hour);
	t->fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	t->hour = hour;
	/* the new name must outlive a power cut as its lines do */
	if (t->fd == -1 || fsync_dir(t->dir) == -1)
		log_err("idempotency: cannot start %s: %s", path, strerror(errno));
	if ((d = opendir(t->dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL)
		if (parse_name(de->d_name, &h) == 0 && h + 1 < oldest_hour(hour * 3600 + 3599)) {
			(void)snprintf(path, sizeof(path), "%s/%s", t->dir, de->d_name);
			(void)unlink(path);
		}
	closedir(d);
}

static void *
journal_main(void *arg)
{
	struct idem *t = arg;
	struct buf b;

	buf_init(&b, SIZE_MAX);
	pthread_mutex_lock(&t->mu);
	for (;;) {
		uint64_t target;
		struct buf swap;

		while (t->pending.len == 0 && !t->is_stopping)
			pthread_cond_wait(&t->cv, &t->mu);
		if (t->pending.len == 0)
			break;
		swap = t->pending;
		t->pending = b;
		b = swap;
		target = t->added;
		pthread_mutex_unlock(&t->mu);
		journal_file(t, now_s() / 3600);
		if (t->fd == -1 || write_all(t->fd, b.data, b.len) == -1 || fdatasync(t->fd) == -1)
			log_err("idempotency: cannot write the journal in %s (%s): the keys of %zu "
			    "bytes of lines may be forgotten at a restart", t->dir,
			    t->fd == -1 ? "no file" : strerror(errno), b.len);
		buf_reset(&b);
		pthread_mutex_lock(&t->mu);
		t->synced = target;
		pthread_cond_broadcast(&t->cv_synced);
	}
	pthread_mutex_unlock(&t->mu);
	buf_clear(&b);
	return NULL;
}

/*
 * At start: the lines of one file into the table (lines older than the
 * keys' 24 hours skipped); a last line a crash cut short is cut off the file.
 */
static void
load_file(struct idem *t, const char *path, uint64_t now)
{
	struct buf b;
	struct stat st;
	char why[128];
	size_t from = 0;

	buf_init(&b, 256u << 20);
	if (fs_read_file(path, &b, &st, why, sizeof(why)) != 0) {
		log_warn("idempotency: cannot read %s: %s", path, why);
		buf_clear(&b);
		return;
	}
	for (size_t k = 0; k < b.len; k++) {
		json_t *o;
		struct idem_msg m = { 0 };

		if (b.data[k] != '\n')
			continue;
		if (k - from <= LINE_MAX_BYTES &&
		    (o = json_loadb((const char *)b.data + from, k - from, 0, NULL)) != NULL) {
			if (msg_read(o, &m) == 0 && m.time_s + IDEM_KEEP_S > now)
				(void)msg_apply(t, &m);
			json_decref(o);
		}
		from = k + 1;
	}
	if (from < b.len) {
		/* the next line would be appended to it (ftruncate: the sandbox has no truncate) */
		int fd = open(path, O_WRONLY | O_CLOEXEC);

		if (fd == -1 || ftruncate(fd, (off_t)from) == -1)
			log_warn("idempotency: cannot cut a partial last line off %s: %s", path,
			    strerror(errno));
		if (fd != -1)
			close(fd);
	}
	buf_clear(&b);
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* At start: the files young enough, oldest first; the others removed. */
static int
load(struct idem *t)
{
	DIR *d = opendir(t->dir);
	struct dirent *de;
	uint64_t *hours = NULL, h, now = now_s();
	size_t n = 0, cap = 0;
	char path[4096];

	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (parse_name(de->d_name, &h) == -1)
			continue;
		(void)snprintf(path, sizeof(path), "%s/%s", t->dir, de->d_name);
		if (h < oldest_hour(now)) {
			(void)unlink(path);
			continue;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 32;
			hours = xrealloc(hours, cap * sizeof(*hours));
		}
		hours[n++] = h;
	}
	closedir(d);
	if (n > 0)
		qsort(hours, n, sizeof(*hours), cmp_u64);
	for (size_t i = 0; i < n; i++) {
		(void)snprintf(path, sizeof(path), "%s/%010" PRIu64 ".jsonl", t->dir, hours[i]);
		load_file(t, path, now);
	}
	free(hours);
	return 0;
}

struct idem *
idem_open(const char *dir, size_t max_entries, size_t max_bytes, char *err, size_t errsize)
{
	struct idem *t;
	int r;

	if (mkdir_p(dir, 0700) == -1) {
		(void)snprintf(err, errsize, "cannot make %s: %s", dir, strerror(errno));
		return NULL;
	}
	t = xcalloc(1, sizeof(*t));
	pthread_mutex_init(&t->tab_mu, NULL);
	t->recovery = RECOVERING;
	htab_init(&t->tab, 1024);
	siphash_key_random(&t->sip);
	t->max = max_entries;
	t->max_bytes = max_bytes;
	t->dir = xstrdup(dir);
	t->fd = -1;
	buf_init(&t->pending, SIZE_MAX);
	if (load(t) == -1) {
		(void)snprintf(err, errsize, "cannot read %s: %s", dir, strerror(errno));
		buf_clear(&t->pending);
		htab_clear(&t->tab);
		pthread_mutex_destroy(&t->tab_mu);
		free(t->dir);
		free(t);
		return NULL;
	}
	pthread_mutex_init(&t->mu, NULL);
	pthread_cond_init(&t->cv, NULL);
	pthread_cond_init(&t->cv_synced, NULL);
	r = pthread_create(&t->thread, NULL, journal_main, t);
	/* like running out of memory: nothing sensible goes on without threads */
	ASSERT(r == 0);
	if (t->n > 0)
		log_info("idempotency: %zu keys of the last 24 hours read back from %s", t->n, dir);
	return t;
}

void
idem_free(struct idem **tp)
{
	struct idem *t = *tp;

	if (t == NULL)
		return;
	pthread_mutex_lock(&t->mu);
	t->is_stopping = 1;
	pthread_cond_signal(&t->cv);
	pthread_mutex_unlock(&t->mu);
	pthread_join(t->thread, NULL);	/* it writes and syncs what is waiting first */
	pthread_cond_destroy(&t->cv_synced);
	pthread_cond_destroy(&t->cv);
	pthread_mutex_destroy(&t->mu);
	if (t->fd != -1)
		close(t->fd);
	while (t->oldest != NULL)
		entry_unlink(t, t->oldest);
	htab_clear(&t->tab);
	pthread_mutex_destroy(&t->tab_mu);
	buf_clear(&t->pending);
	free(t->dir);
	free(t);
	*tp = NULL;
}
