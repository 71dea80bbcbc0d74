/*
 * evlog.c - the event log's files: NNNNNNNNNNNNNNNN.jsonl, named by the
 * cursor of their first event, EVLOG_FILE_EVENTS events each, one JSON
 * object a line with the cursor first. Lines wait in memory for a tenth of
 * a second (or 256 KiB), are written by the loop, and a thread of the log's
 * own syncs the file: the loop never waits for the disk (but once a file,
 * when it rotates).
 * Readers find the file by its name (the log keeps the list in memory) and
 * the line in it by a bisection over byte offsets (the cursors of a file's
 * lines count up one by one), then read on from there: a page costs a few
 * small reads plus what it returns, however long the file is.
 */
#include "events/evlog.h"

#include <dirent.h>
#include <pthread.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/clock.h"
#include "util/fsutil.h"
#include "util/log.h"
#include "util/rfc3339.h"
#include "util/xalloc.h"

#define PENDING_MAX (256 * 1024)	/* written at once past this */
#define WRITE_DELAY_MS 100
#define NAME_LEN 22			/* a file name's length: 16 digits, ".jsonl" */

struct evlog {
	char *dir;
	int fd;				/* the current file, -1 when it could not be opened */
	uint64_t file_first;		/* its first cursor */
	uint64_t *files;		/* the first cursors of the files kept, oldest first */
	size_t nfiles;
	size_t file_events;
	uint64_t last;			/* the last cursor given */
	struct buf pending;		/* lines not written yet, all for the current file */
	uint64_t retention_s, max_bytes;
	struct event_base *base;
	struct event *timer;
	/* the syncing thread */
	pthread_t thread;
	pthread_mutex_t mu;		/* guards fd (the loop changes it under mu), the flags */
	pthread_cond_t cv;
	int is_sync_wanted, is_stopping;
};

/* ---- the files ---- */

static int
parse_name(const char *name, uint64_t *first_out)
{
	char *end;

	if (strlen(name) != NAME_LEN || strcmp(name + 16, ".jsonl") != 0)
		return -1;
	for (int i = 0; i < 16; i++)
		if (name[i] < '0' || name[i] > '9')
			return -1;
	*first_out = strtoull(name, &end, 10);
	return 0;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The first cursors of the files in dir, sorted: a new array (NULL and 0 when none). */
static uint64_t *
list_files(const char *dir, size_t *n_out)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	uint64_t *v = NULL, first;
	size_t n = 0, cap = 0;

	*n_out = 0;
	if (d == NULL)
		return NULL;
	while ((e = readdir(d)) != NULL) {
		if (parse_name(e->d_name, &first) == -1)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			v = xrealloc(v, cap * sizeof(*v));
		}
		v[n++] = first;
	}
	closedir(d);
	if (n > 0)
		qsort(v, n, sizeof(*v), cmp_u64);
	*n_out = n;
	return v;
}

static void
file_path(const struct evlog *l, uint64_t first, char *out, size_t size)
{
	(void)snprintf(out, size, "%s/%016" PRIu64 ".jsonl", l->dir, first);
}

/* The cursor at the start of a line ({"cursor":"N", ...), or 0 when it has none. */
static uint64_t
line_cursor(const char *p, size_t len)
{
	static const char prefix[] = "{\"cursor\":\"";
	uint64_t c = 0;
	size_t i = sizeof(prefix) - 1;

	if (len < i || memcmp(p, prefix, i) != 0)
		return 0;
	for (; i < len && p[i] >= '0' && p[i] <= '9' && c < UINT64_MAX / 10; i++)
		c = c * 10 + (uint64_t)(p[i] - '0');
	return i < len && p[i] == '"' ? c : 0;
}

/* ---- reading lines ---- */

#define READ_CHUNK (64 * 1024)
#define LINE_MAX_BYTES (64u << 20)	/* a longer line is no line of ours: the read ends */
#define SEEK_BLOCK 4096

/* Whole lines of a file, from an offset on, read a chunk at a time. */
struct line_reader {
	int fd;
	off_t off;			/* the file offset of buf[0] */
	char *buf;
	size_t len, pos, cap;
	int is_eof;
};

static void
lr_init(struct line_reader *r, int fd, off_t from)
{
	memset(r, 0, sizeof(*r));
	r->fd = fd;
	r->off = from;
}

static void
lr_clear(struct line_reader *r)
{
	free(r->buf);
	r->buf = NULL;
}

/*
 * The next whole line (without its newline, borrowed until the next call)
 * and its offset: 1; 0 at the end (a last line without its newline is not
 * whole yet: a writer may be in the middle of it); -1 on a read error.
 */
static int
lr_next(struct line_reader *r, const char **line_out, size_t *len_out, off_t *at_out)
{
	for (;;) {
		char *nl = r->pos < r->len ? memchr(r->buf + r->pos, '\n', r->len - r->pos) : NULL;
		ssize_t n;

		if (nl != NULL) {
			*line_out = r->buf + r->pos;
			*len_out = (size_t)(nl - (r->buf + r->pos));
			*at_out = r->off + (off_t)r->pos;
			r->pos = (size_t)(nl - r->buf) + 1;
			return 1;
		}
		if (r->is_eof)
			return 0;
		/* keep the part line, make room for a chunk after it */
		if (r->pos > 0) {
			memmove(r->buf, r->buf + r->pos, r->len - r->pos);
			r->off += (off_t)r->pos;
			r->len -= r->pos;
			r->pos = 0;
		}
		if (r->cap - r->len < READ_CHUNK) {
			if (r->cap >= LINE_MAX_BYTES)
				return -1;
			r->cap = r->cap ? r->cap * 2 : READ_CHUNK;
			r->buf = xrealloc(r->buf, r->cap);
		}
		n = pread_all(r->fd, r->buf + r->len, r->cap - r->len, r->off + (off_t)r->len);
		if (n < 0)
			return -1;
		r->is_eof = (size_t)n < r->cap - r->len;
		r->len += (size_t)n;
	}
}

/*
 * The first line that starts at or after pos (pos > 0) and before end: 1
 * with its offset and cursor (0 when it has none), or 0 when none starts
 * there; -1 on a read error.
 */
static int
line_after(int fd, off_t pos, off_t end, off_t *start_out, uint64_t *cursor_out)
{
	char b[SEEK_BLOCK];
	off_t at = pos - 1;	/* a line starts at pos when the byte before it is a newline */

	for (;;) {
		ssize_t n = at < end ? pread_all(fd, b, sizeof(b), at) : 0;
		char *nl;

		if (n < 0)
			return -1;
		if (n == 0)
			return 0;
		if ((nl = memchr(b, '\n', (size_t)n)) != NULL) {
			*start_out = at + (nl - b) + 1;
			break;
		}
		at += n;
	}
	if (*start_out >= end)
		return 0;
	ssize_t n = pread_all(fd, b, 48, *start_out);

	if (n < 0)
		return -1;
	*cursor_out = line_cursor(b, (size_t)n);
	return 1;
}

/*
 * Where to start reading the file (size bytes, its first line's cursor
 * first) for the lines from cursor target on: the offset of a line before
 * them, at most SEEK_BLOCK bytes (or one long line) short. A bisection
 * over the offsets, a block read per step: the cursors of a file's lines
 * grow with their offsets.
 */
static off_t
seek_cursor(int fd, off_t size, uint64_t first, uint64_t target)
{
	off_t lo = 0, hi = size;	/* lo: a line before target; the first at target is in (lo, hi] */

	if (target <= first)
		return 0;
	while (hi - lo > SEEK_BLOCK) {
		off_t mid = lo + (hi - lo) / 2, start;
		uint64_t c;

		if (line_after(fd, mid, hi, &start, &c) != 1)
			break;		/* one long line across mid, or an error: read on from lo */
		if (c != 0 && c < target)
			lo = start;
		else
			hi = start;
	}
	return lo;
}

/*
 * Opens the file that starts at first for appending; an existing one is
 * cut after its last whole line (a crash in the middle of a write) and its
 * events counted, and its last cursor becomes l->last.
 */
static int
open_file(struct evlog *l, uint64_t first)
{
	char path[4096];
	struct line_reader r;
	const char *line;
	size_t len;
	off_t at, whole = 0;
	int rc;

	file_path(l, first, path, sizeof(path));
	l->fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (l->fd == -1)
		return -1;
	l->file_first = first;
	l->file_events = 0;
	lr_init(&r, l->fd, 0);
	while ((rc = lr_next(&r, &line, &len, &at)) == 1) {
		uint64_t c = line_cursor(line, len);

		if (c > l->last)
			l->last = c;
		l->file_events++;
		whole = at + (off_t)len + 1;
	}
	lr_clear(&r);
	if (rc == 0 && lseek(l->fd, 0, SEEK_END) > whole && ftruncate(l->fd, whole) == -1)
		log_warn("%s: cannot cut a partial last line: %s", path, strerror(errno));
	return 0;
}

/* Removes the oldest files past retention or the size bound; never the current one. */
static void
expire_files(struct evlog *l)
{
	uint64_t *v, total = 0, now = clock_wall_us() / 1000000u;
	size_t n;
	char path[4096];
	struct stat st;

	if ((v = list_files(l->dir, &n)) == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		file_path(l, v[i], path, sizeof(path));
		if (stat(path, &st) == 0)
			total += (uint64_t)st.st_size;
	}
	for (size_t i = 0; i + 1 < n; i++) {
		file_path(l, v[i], path, sizeof(path));
		if (stat(path, &st) == -1)
			continue;
		if (total <= l->max_bytes && (uint64_t)st.st_mtime + l->retention_s > now)
			break;
		if (unlink(path) == 0)
			total -= (uint64_t)st.st_size;
	}
	free(v);
	/* what is left, for readers: once a rotation, never once a read */
	free(l->files);
	l->files = list_files(l->dir, &l->nfiles);
}

/* ---- writing ---- */

/*
 * The syncing thread: it makes the file durable whenever lines were written
 * since its last sync; requests that come while it syncs are one more sync.
 * It reads l->fd under the lock; a file rotated away meanwhile was synced by
 * the loop before it was closed, so a sync of a stale number is harmless.
 */
static void *
sync_main(void *arg)
{
	struct evlog *l = arg;

	pthread_mutex_lock(&l->mu);
	for (;;) {
		while (!l->is_sync_wanted && !l->is_stopping)
			pthread_cond_wait(&l->cv, &l->mu);
		if (!l->is_sync_wanted)
			break;
		l->is_sync_wanted = 0;
		int fd = l->fd;

		pthread_mutex_unlock(&l->mu);
		if (fd != -1 && fdatasync(fd) == -1 && errno != EBADF)
			log_warn("events: cannot sync the event log: %s", strerror(errno));
		pthread_mutex_lock(&l->mu);
	}
	pthread_mutex_unlock(&l->mu);
	return NULL;
}

static void
start_sync(struct evlog *l)
{
	pthread_mutex_lock(&l->mu);
	l->is_sync_wanted = 1;
	pthread_cond_signal(&l->cv);
	pthread_mutex_unlock(&l->mu);
}

/* Writes the pending lines to the current file. */
static void
write_pending(struct evlog *l)
{
	if (l->pending.len == 0)
		return;
	if (l->fd == -1 || write_all(l->fd, l->pending.data, l->pending.len) == -1)
		log_warn("events: cannot write the event log in %s: %s", l->dir,
		    l->fd == -1 ? "no file" : strerror(errno));
	buf_reset(&l->pending);
	start_sync(l);
}

/*
 * The current file is full: it is synced here, once in EVLOG_FILE_EVENTS
 * events (the thread only ever syncs the current one), and the next event
 * starts a new file.
 */
static void
rotate(struct evlog *l)
{
	int old;

	write_pending(l);
	pthread_mutex_lock(&l->mu);
	old = l->fd;
	if (open_file(l, l->last + 1) == -1) {
		log_warn("events: cannot open a new event log file in %s: %s", l->dir,
		    strerror(errno));
	} else {
		l->files = xrealloc(l->files, (l->nfiles + 1) * sizeof(*l->files));
		l->files[l->nfiles++] = l->file_first;
	}
	pthread_mutex_unlock(&l->mu);
	if (old != -1) {
		(void)fdatasync(old);
		close(old);
	}
	expire_files(l);
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd, (void)what;
	write_pending(arg);
}

json_t *
evlog_json(const struct event *e, uint64_t cursor)
{
	char c[24], t[32];
	json_t *o = json_object();

	(void)snprintf(c, sizeof(c), "%" PRIu64, cursor);
	rfc3339_format_ms(e->time_us, t);
	/* the cursor first: readers find it without parsing the line */
	json_object_set_new(o, "cursor", json_string(c));
	json_object_set_new(o, "type", json_string(event_type_name(e->type)));
	json_object_set_new(o, "time", json_string(t));
	json_object_set_new(o, "message_id", json_string(e->message_id));
	json_object_set_new(o, "recipient", json_string(e->recipient ? e->recipient : ""));
	json_object_set_new(o, "sender", json_string(e->sender ? e->sender : ""));
	if (e->type == EVENT_RECEIVED)
		json_object_set_new(o, "entrance", json_string(e->entrance ? e->entrance : ""));
	if (e->code != 0 || (e->reply != NULL && e->reply[0] != '\0'))
		json_object_set_new(o, "reply", json_pack("{s:i, s:s, s:s}", "code", e->code,
		    "status", e->dsn ? e->dsn : "", "text", e->reply ? e->reply : ""));
	if (e->relay != NULL && e->relay[0] != '\0')
		json_object_set_new(o, "relay", json_string(e->relay));
	if (e->type == EVENT_DEFERRED) {
		json_object_set_new(o, "attempt", json_integer(e->attempt));
		rfc3339_format_ms(e->next_attempt_s * 1000000u, t);
		json_object_set_new(o, "next_attempt", json_string(t));
	}
	if (e->api_meta != NULL) {
		/* the API's tags and metadata come back in every event of the message */
		json_t *m = json_loads(e->api_meta, 0, NULL);

		if (json_object_get(m, "tags") != NULL)
			json_object_set(o, "tags", json_object_get(m, "tags"));
		if (json_object_get(m, "metadata") != NULL)
			json_object_set(o, "metadata", json_object_get(m, "metadata"));
		json_decref(m);
	}
	if (e->bounce_class != BOUNCE_CLASS_NONE)
		json_object_set_new(o, "bounce", json_pack("{s:s, s:s}", "class",
		    bounce_class_name(e->bounce_class), "category",
		    bounce_category_name(e->bounce_category)));
	return o;
}

void
evlog_sink(void *ctx, const struct event *e)
{
	struct evlog *l = ctx;
	struct timeval delay = { 0, WRITE_DELAY_MS * 1000 };
	json_t *o;
	char *line;

	if (l->file_events >= EVLOG_FILE_EVENTS)
		rotate(l);
	o = evlog_json(e, ++l->last);
	line = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (line == NULL)
		return;
	(void)buf_append_str(&l->pending, line);
	(void)buf_append_byte(&l->pending, '\n');
	free(line);
	l->file_events++;
	if (l->pending.len >= PENDING_MAX)
		write_pending(l);
	else if (!evtimer_pending(l->timer, NULL))
		evtimer_add(l->timer, &delay);
}

/* ---- life ---- */

struct evlog *
evlog_open(const char *dir, uint64_t retention_s, uint64_t max_bytes, struct event_base *base,
    char *err, size_t errsize)
{
	struct evlog *l;
	uint64_t *v;
	size_t n;
	int r;

	if (mkdir_p(dir, 0700) == -1) {
		(void)snprintf(err, errsize, "cannot make %s: %s", dir, strerror(errno));
		return NULL;
	}
	l = xcalloc(1, sizeof(*l));
	l->dir = xstrdup(dir);
	l->retention_s = retention_s;
	l->max_bytes = max_bytes;
	l->base = base;
	buf_init(&l->pending, SIZE_MAX);
	v = list_files(dir, &n);
	if (open_file(l, n > 0 ? v[n - 1] : 1) == -1) {
		(void)snprintf(err, errsize, "cannot open the event log in %s: %s", dir,
		    strerror(errno));
		free(v);
		buf_clear(&l->pending);
		free(l->dir);
		free(l);
		return NULL;
	}
	/* a file cut to nothing still names where its cursors start */
	if (l->last + 1 < l->file_first)
		l->last = l->file_first - 1;
	if (n == 0) {
		v = xmalloc(sizeof(*v));
		v[n++] = l->file_first;
	}
	l->files = v;
	l->nfiles = n;
	l->timer = evtimer_new(base, on_timer, l);
	ASSERT(l->timer != NULL);
	pthread_mutex_init(&l->mu, NULL);
	pthread_cond_init(&l->cv, NULL);
	r = pthread_create(&l->thread, NULL, sync_main, l);
	/* like running out of memory: nothing sensible goes on without threads */
	ASSERT(r == 0);
	return l;
}

void
evlog_free(struct evlog **lp)
{
	struct evlog *l = *lp;

	if (l == NULL)
		return;
	write_pending(l);
	event_free(l->timer);
	pthread_mutex_lock(&l->mu);
	l->is_stopping = 1;
	pthread_cond_signal(&l->cv);
	pthread_mutex_unlock(&l->mu);
	pthread_join(l->thread, NULL);	/* it syncs what was written first */
	pthread_cond_destroy(&l->cv);
	pthread_mutex_destroy(&l->mu);
	if (l->fd != -1)
		close(l->fd);
	buf_clear(&l->pending);
	free(l->files);
	free(l->dir);
	free(l);
	*lp = NULL;
}

uint64_t
evlog_last(const struct evlog *l)
{
	return l->last;
}

uint64_t
evlog_first(const struct evlog *l)
{
	return l->nfiles > 0 ? l->files[0] : l->last + 1;
}

const char *
evlog_dir(const struct evlog *l)
{
	return l->dir;
}

uint64_t *
evlog_files(const struct evlog *l, size_t *n_out)
{
	uint64_t *v = xmalloc((l->nfiles + 1) * sizeof(*v));

	memcpy(v, l->files, l->nfiles * sizeof(*v));
	*n_out = l->nfiles;
	return v;
}

/* ---- reading ---- */

int
evlog_file_scan(const char *dir, uint64_t first, uint64_t after, uint64_t upto,
    evlog_line_fn *fn, void *ctx)
{
	char path[4096];
	struct line_reader r;
	struct stat st;
	const char *line;
	size_t len;
	off_t at;
	int fd, rc;

	(void)snprintf(path, sizeof(path), "%s/%016" PRIu64 ".jsonl", dir, first);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	if (fstat(fd, &st) == -1) {
		close(fd);
		return -1;
	}
	lr_init(&r, fd, seek_cursor(fd, st.st_size, first, after + 1));
	while ((rc = lr_next(&r, &line, &len, &at)) == 1) {
		uint64_t c = line_cursor(line, len);

		if (c > upto)
			break;
		if (c > after && fn(ctx, c, line, len) != 0)
			break;
	}
	lr_clear(&r);
	close(fd);
	return rc == -1 ? -1 : 0;
}

/* A page being read: what evlog_read() gives, line by line. */
struct page {
	json_t *out;
	size_t given, limit;
	uint64_t next;
};

static int
page_line(void *ctx, uint64_t cursor, const char *line, size_t len)
{
	struct page *p = ctx;
	json_t *o = json_loadb(line, len, 0, NULL);

	if (o != NULL) {
		json_array_append_new(p->out, o);
		p->next = cursor;
		p->given++;
	}
	return p->given >= p->limit;
}

int
evlog_read(struct evlog *l, uint64_t after, size_t limit, json_t *out, uint64_t *next_out)
{
	struct page p = { .out = out, .limit = limit, .next = after };
	size_t lo = 0, hi = l->nfiles;

	if (p.limit > EVLOG_PAGE_MAX)
		p.limit = EVLOG_PAGE_MAX;
	write_pending(l);	/* what was logged is readable at once */
	/* the file of after + 1: the last one that starts at or before it */
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (l->files[mid] <= after + 1)
			lo = mid;
		else
			hi = mid;
	}
	for (size_t i = lo; i < l->nfiles && p.given < p.limit; i++)
		(void)evlog_file_scan(l->dir, l->files[i], after, UINT64_MAX, page_line, &p);
	*next_out = p.next;
	return 0;
}
