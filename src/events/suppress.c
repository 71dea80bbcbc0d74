/*
 * suppress.c - the list in memory (a hash table of lowercase addresses)
 * and on disk (one JSON line per change: {"op":"add",...} or
 * {"op":"remove",...}), compacted when it is opened. Changes are written
 * at once and synced when the list is closed: a crash may forget the last
 * additions, which the next hard bounce makes again.
 */
#include "events/suppress.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/ascii.h"
#include "util/fsutil.h"
#include "util/htab.h"
#include "util/log.h"
#include "util/siphash.h"
#include "util/xalloc.h"

#define ADDR_MAX 512

struct entry {
	struct htab_link link;		/* first */
	char *addr;			/* lowercase */
	char *reason;
	uint64_t time_s;
};

struct suppress {
	char *path;
	int fd;
	unsigned categories;
	struct htab tab;		/* of entries by address */
	struct siphash_key sip;		/* random: the addresses come from peers */
};

static uint64_t
hash_of(const struct suppress *s, const char *lower)
{
	return siphash13(&s->sip, lower, strlen(lower));
}

static int
is_addr(const struct htab_link *l, const void *lower)
{
	return strcmp(((const struct entry *)l)->addr, lower) == 0;
}

static void
lower_copy(const char *in, char out[ADDR_MAX + 1])
{
	size_t n = 0;

	for (; in[n] != '\0' && n < ADDR_MAX; n++)
		out[n] = (char)ascii_tolower((unsigned char)in[n]);
	out[n] = '\0';
}

static struct entry *
find(const struct suppress *s, const char *lower)
{
	return (struct entry *)htab_find(&s->tab, hash_of(s, lower), is_addr, lower);
}

static void
entry_free(struct entry *e)
{
	free(e->addr);
	free(e->reason);
	free(e);
}

/* The table only: 1 added, 0 there already. */
static int
put(struct suppress *s, const char *addr, const char *reason, uint64_t time_s)
{
	char lower[ADDR_MAX + 1];
	struct entry *e;

	lower_copy(addr, lower);
	if (find(s, lower) != NULL)
		return 0;
	e = xcalloc(1, sizeof(*e));
	e->addr = xstrdup(lower);
	/* xstrndup copies n bytes: the reason's own length, cut at the bound */
	reason = reason != NULL ? reason : "";
	e->reason = xstrndup(reason, strnlen(reason, SUPPRESS_REASON_MAX));
	e->time_s = time_s;
	htab_add(&s->tab, &e->link, hash_of(s, e->addr));
	return 1;
}

static int
take(struct suppress *s, const char *addr)
{
	char lower[ADDR_MAX + 1];
	struct entry *e;

	lower_copy(addr, lower);
	if ((e = find(s, lower)) == NULL)
		return 0;
	htab_remove(&s->tab, &e->link);
	entry_free(e);
	return 1;
}

/* One change as a line in the file. */
static void
append(struct suppress *s, json_t *line)
{
	char *text = json_dumps(line, JSON_COMPACT);

	json_decref(line);
	if (text == NULL)
		return;
	if (s->fd == -1 || write_all(s->fd, text, strlen(text)) == -1 ||
	    write_all(s->fd, "\n", 1) == -1)
		log_warn("suppression list %s: cannot write: %s", s->path, strerror(errno));
	free(text);
}

static json_t *
entry_json(const struct entry *e)
{
	return json_pack("{s:s, s:s, s:I}", "email", e->addr, "reason", e->reason,
	    "time", (json_int_t)e->time_s);
}

/* Reads the file's changes into the table; a line that does not read is passed over. */
static void
load(struct suppress *s, FILE *f)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	while ((n = getline(&line, &cap, f)) > 0) {
		json_t *o = json_loadb(line, (size_t)n, 0, NULL);
		const char *op = json_string_value(json_object_get(o, "op"));
		const char *addr = json_string_value(json_object_get(o, "email"));

		if (op != NULL && addr != NULL && strcmp(op, "add") == 0)
			(void)put(s, addr, json_string_value(json_object_get(o, "reason")),
			    (uint64_t)json_integer_value(json_object_get(o, "time")));
		else if (op != NULL && addr != NULL && strcmp(op, "remove") == 0)
			(void)take(s, addr);
		json_decref(o);
	}
	free(line);
}

/* The file again, with one "add" per entry: through a new file and a rename. */
static int
compact(struct suppress *s)
{
	char tmp[4200];
	int fd;

	(void)snprintf(tmp, sizeof(tmp), "%s.new", s->path);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) == -1)
		return -1;
	s->fd = fd;
	HTAB_FOREACH(&s->tab, l) {
		json_t *o = entry_json((const struct entry *)l);

		json_object_set_new(o, "op", json_string("add"));
		append(s, o);
	}
	if (fdatasync(fd) == -1 || rename(tmp, s->path) == -1) {
		close(fd);
		s->fd = -1;
		return -1;
	}
	return 0;
}

struct suppress *
suppress_open(const char *path, unsigned categories, char *err, size_t errsize)
{
	struct suppress *s = xcalloc(1, sizeof(*s));
	FILE *f;

	s->path = xstrdup(path);
	s->fd = -1;
	s->categories = categories;
	htab_init(&s->tab, 64);
	siphash_key_random(&s->sip);
	if ((f = fopen(path, "re")) != NULL) {
		load(s, f);
		fclose(f);
	} else if (errno != ENOENT) {
		(void)snprintf(err, errsize, "cannot read %s: %s", path, strerror(errno));
		suppress_free(&s);
		return NULL;
	}
	if (compact(s) == -1) {
		(void)snprintf(err, errsize, "cannot write %s: %s", path, strerror(errno));
		suppress_free(&s);
		return NULL;
	}
	return s;
}

void
suppress_free(struct suppress **sp)
{
	struct suppress *s = *sp;

	if (s == NULL)
		return;
	if (s->fd != -1) {
		(void)fdatasync(s->fd);
		close(s->fd);
	}
	HTAB_FOREACH(&s->tab, l)
		entry_free((struct entry *)l);
	htab_clear(&s->tab);
	free(s->path);
	free(s);
	*sp = NULL;
}

int
suppress_has(const struct suppress *s, const char *addr)
{
	char lower[ADDR_MAX + 1];

	lower_copy(addr, lower);
	return find(s, lower) != NULL;
}

int
suppress_add(struct suppress *s, const char *addr, const char *reason, uint64_t time_s)
{
	char lower[ADDR_MAX + 1];
	json_t *o;

	if (!put(s, addr, reason, time_s))
		return 0;
	lower_copy(addr, lower);
	o = entry_json(find(s, lower));
	json_object_set_new(o, "op", json_string("add"));
	append(s, o);
	return 1;
}

int
suppress_remove(struct suppress *s, const char *addr)
{
	char lower[ADDR_MAX + 1];

	if (!take(s, addr))
		return 0;
	lower_copy(addr, lower);
	append(s, json_pack("{s:s, s:s}", "op", "remove", "email", lower));
	return 1;
}

json_t *
suppress_get(const struct suppress *s, const char *addr)
{
	char lower[ADDR_MAX + 1];
	const struct entry *e;

	lower_copy(addr, lower);
	return (e = find(s, lower)) != NULL ? entry_json(e) : NULL;
}

size_t
suppress_count(const struct suppress *s)
{
	return s->tab.n;
}

static int
cmp_entry(const void *a, const void *b)
{
	return strcmp((*(const struct entry *const *)a)->addr,
	    (*(const struct entry *const *)b)->addr);
}

size_t
suppress_list(const struct suppress *s, const char *after, size_t limit, json_t *out)
{
	const struct entry **v = xcalloc(s->tab.n ? s->tab.n : 1, sizeof(*v));
	char lower[ADDR_MAX + 1];
	size_t n = 0, given = 0;

	lower_copy(after, lower);
	HTAB_FOREACH(&s->tab, l) {
		const struct entry *e = (const struct entry *)l;

		if (strcmp(e->addr, lower) > 0)
			v[n++] = e;
	}
	qsort(v, n, sizeof(*v), cmp_entry);
	for (; given < n && given < limit; given++)
		json_array_append_new(out, entry_json(v[given]));
	free(v);
	return given;
}

void
suppress_sink(void *ctx, const struct event *e)
{
	struct suppress *s = ctx;
	char reason[SUPPRESS_REASON_MAX + 1], b[LOG_ADDR_SIZE];

	if (e->type != EVENT_BOUNCED || e->bounce_class != BOUNCE_HARD ||
	    !((s->categories >> e->bounce_category) & 1))
		return;
	(void)snprintf(reason, sizeof(reason), "hard bounce (%s): %d %s %s",
	    bounce_category_name(e->bounce_category), e->code, e->dsn ? e->dsn : "",
	    e->reply ? e->reply : "");
	if (suppress_add(s, e->recipient, reason, e->time_us / 1000000u))
		log_event(LOG_INFO, e->message_id, "suppression_added", "to=%s category=%s",
		    log_addr(e->recipient, b),
		    bounce_category_name(e->bounce_category));
}
