/*
 * evlog.c - the event log's files: NNNNNNNNNNNNNNNN.jsonl, named by the
 * cursor of their first event, EVLOG_FILE_EVENTS events each, one JSON
 * object a line with the cursor first. Lines wait in memory for a tenth of
 * a second (or 256 KiB), are written by the loop, and a thread of the log's
 * own syncs the file: the loop never waits for the disk (but once a file,
 * when it rotates).
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
#include "util/xalloc.h"

#define PENDING_MAX (256 * 1024)	/* written at once past this */
#define WRITE_DELAY_MS 100
#define NAME_LEN 22			/* a file name's length: 16 digits, ".jsonl" */

struct evlog {
	char *dir;
	int fd;				/* the current file, -1 when it could not be opened */
	uint64_t file_first;		/* its first cursor */
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

/*
 * Reads the whole file first (its events: at most EVLOG_FILE_EVENTS lines):
 * a new buffer and its length, or NULL.
 */
static char *
read_file(const char *path, size_t *len_out)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	char *p;
	ssize_t n;

	if (fd == -1)
		return NULL;
	if (fstat(fd, &st) == -1 || st.st_size < 0 || (uint64_t)st.st_size > (256u << 20)) {
		close(fd);
		return NULL;
	}
	p = xmalloc((size_t)st.st_size + 1);
	n = pread_all(fd, p, (size_t)st.st_size, 0);
	close(fd);
	if (n < 0) {
		free(p);
		return NULL;
	}
	p[n] = '\0';
	*len_out = (size_t)n;
	return p;
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
	size_t len = 0, whole = 0;
	char *data;

	file_path(l, first, path, sizeof(path));
	l->fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (l->fd == -1)
		return -1;
	l->file_first = first;
	l->file_events = 0;
	if ((data = read_file(path, &len)) == NULL)
		return 0;
	for (size_t i = 0; i < len; i++) {
		if (data[i] != '\n')
			continue;
		uint64_t c = line_cursor(data + whole, i - whole);

		if (c > l->last)
			l->last = c;
		l->file_events++;
		whole = i + 1;
	}
	if (whole < len && ftruncate(l->fd, (off_t)whole) == -1)
		log_warn("%s: cannot cut a partial last line: %s", path, strerror(errno));
	free(data);
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
	if (open_file(l, l->last + 1) == -1)
		log_warn("events: cannot open a new event log file in %s: %s", l->dir,
		    strerror(errno));
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

/* RFC 3339 in UTC with milliseconds: "2026-12-05T09:13:20.123Z". */
static void
format_time(uint64_t us, char out[40])
{
	time_t t = (time_t)(us / 1000000u);
	struct tm tm;
	size_t n;

	gmtime_r(&t, &tm);
	n = strftime(out, 40, "%Y-%m-%dT%H:%M:%S", &tm);
	(void)snprintf(out + n, 40 - n, ".%03uZ", (unsigned)(us / 1000u % 1000u));
}

json_t *
evlog_json(const struct event *e, uint64_t cursor)
{
	char c[24], t[40];
	json_t *o = json_object();

	(void)snprintf(c, sizeof(c), "%" PRIu64, cursor);
	format_time(e->time_us, t);
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
		format_time(e->next_attempt_s * 1000000u, t);
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
	free(v);
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
	free(l->dir);
	free(l);
	*lp = NULL;
}

uint64_t
evlog_last(const struct evlog *l)
{
	return l->last;
}

/* ---- reading ---- */

int
evlog_read(struct evlog *l, uint64_t after, size_t limit, json_t *out, uint64_t *next_out)
{
	uint64_t *v;
	size_t n, start = 0, given = 0;

	*next_out = after;
	if (limit > EVLOG_PAGE_MAX)
		limit = EVLOG_PAGE_MAX;
	write_pending(l);	/* what was logged is readable at once */
	if ((v = list_files(l->dir, &n)) == NULL)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (v[i] <= after + 1)
			start = i;
	for (size_t i = start; i < n && given < limit; i++) {
		char path[4096], *data;
		size_t len = 0, from = 0;

		file_path(l, v[i], path, sizeof(path));
		if ((data = read_file(path, &len)) == NULL)
			continue;	/* expired meanwhile */
		for (size_t k = 0; k < len && given < limit; k++) {
			uint64_t c;
			json_t *o;

			if (data[k] != '\n')
				continue;
			c = line_cursor(data + from, k - from);
			if (c > after && (o = json_loadb(data + from, k - from, 0, NULL)) != NULL) {
				json_array_append_new(out, o);
				*next_out = c;
				given++;
			}
			from = k + 1;
		}
		free(data);
	}
	free(v);
	return 0;
}
