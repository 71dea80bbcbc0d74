/*
 * listfile.c - the files of policy.*_file: one entry per line, as the
 * configuration writes them (config_entry_parse()), read at start and
 * read again when they change.
 * A change is seen by looking (stat) at most once a second per file, when
 * the list is consulted: no thread, no inotify (the daemon is short of
 * inotify instances, and a file replaced by rename would need its folder
 * watched anyway). A file that turns bad, or goes away, leaves the entries
 * read before in use, and says so in the log: a half-written list must not
 * open (or close) the door.
 */
#include "policy/lists_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/ascii.h"
#include "util/fsutil.h"
#include "util/log.h"
#include "util/xalloc.h"

/*
 * An entry for a message: printable ASCII as it is, other bytes as \xNN,
 * cut after 60 bytes; out holds 256 bytes. A list file may hold anything,
 * and a message goes to a terminal or a log.
 */
static const char *
show_entry(const uint8_t *p, size_t len, char out[256])
{
	size_t o = 0;

	for (size_t i = 0; i < len && i < 60; i++) {
		if (ascii_isgraph(p[i]) && p[i] != '\\')
			out[o++] = (char)p[i];
		else
			o += (size_t)snprintf(out + o, 5, "\\x%02x", p[i]);
	}
	if (len > 60) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
	return out;
}

static int
is_blank(uint8_t c)
{
	return c == ' ' || c == '\t';
}

int
lists_file_parse(enum config_list_kind kind, const char *path, const uint8_t *data,
    size_t len, struct lists_table *t, char *err, size_t errsize)
{
	unsigned line = 0;

	for (size_t pos = 0; pos < len;) {
		const uint8_t *p = data + pos, *nl = memchr(p, '\n', len - pos);
		size_t n = nl != NULL ? (size_t)(nl - p) : len - pos;
		struct config_entry e;
		const char *why;
		char shown[256];

		line++;
		pos += n + (nl != NULL);
		if (n > 0 && p[n - 1] == '\r')
			n--;	/* CRLF: a file written on another system */
		/* a comment starts a line or follows a blank: "a#b@example.com" is an address */
		for (size_t i = 0; i < n; i++) {
			if (p[i] == '#' && (i == 0 || is_blank(p[i - 1]))) {
				n = i;
				break;
			}
		}
		while (n > 0 && is_blank(p[n - 1]))
			n--;
		while (n > 0 && is_blank(p[0])) {
			p++;
			n--;
		}
		if (n == 0)
			continue;
		if ((why = config_entry_parse(kind, p, n, &e)) != NULL) {
			/* a message cut short is still the message */
			(void)snprintf(err, errsize, "%s:%u: '%s' %s", path, line,
			    show_entry(p, n, shown), why);
			return -1;
		}
		lists_table_add(t, &e);
		lists_table_keep_text(t, p, n, line);
	}
	return 0;
}

/* Remembers st as what f was when last read: a file is read again only once it changes. */
static void
remember(struct lists_file *f, const struct stat *st)
{
	f->dev = st->st_dev;
	f->ino = st->st_ino;
	f->size = st->st_size;
	f->mtime = st->st_mtim;
	f->has_read = 1;
}

static int
is_same(const struct lists_file *f, const struct stat *st)
{
	return f->has_read && f->dev == st->st_dev && f->ino == st->st_ino &&
	    f->size == st->st_size && f->mtime.tv_sec == st->st_mtim.tv_sec &&
	    f->mtime.tv_nsec == st->st_mtim.tv_nsec;
}

int
lists_file_read(struct lists_file *f, char *err, size_t errsize)
{
	struct lists_table t;
	struct buf data;
	struct stat st;
	char why[256];
	int rc = -1;

	/* one byte past the bound, so that a file just too large is seen to be */
	buf_init(&data, (size_t)LISTS_FILE_MAX + 1);
	switch (fs_read_file(f->path, &data, &st, why, sizeof(why))) {
	case -1:
		(void)snprintf(err, errsize, "%s", why);
		buf_clear(&data);
		return LISTS_FILE_UNREADABLE;
	case -2:
		data.len = data.max;
		break;
	}
	remember(f, &st);
	if (data.len > LISTS_FILE_MAX) {
		(void)snprintf(err, errsize, "larger than %u MiB", LISTS_FILE_MAX >> 20);
		buf_clear(&data);
		return LISTS_FILE_UNREADABLE;
	}
	lists_table_init(&t);
	if (lists_file_parse(config_list_kind(f->id), f->path, data.data, data.len, &t, err,
	    errsize) == 0) {
		lists_table_clear(&f->t);
		f->t = t;
		rc = 0;
	} else {
		lists_table_clear(&t);
	}
	buf_clear(&data);
	return rc;
}

void
lists_file_refresh(struct lists_file *f, uint64_t now_ms)
{
	struct stat st;
	char err[512];

	if (now_ms - f->checked_ms < LISTS_CHECK_EVERY_MS)
		return;
	f->checked_ms = now_ms;
	if (stat(f->path, &st) == -1) {
		if (!f->is_missing)
			log_warn("policy.%s_file: %s: %s; keeping the entries read before (%zu)",
			    config_list_name(f->id), f->path, strerror(errno), f->t.n);
		f->is_missing = 1;
		return;
	}
	if (f->is_missing)
		log_info("policy.%s_file: %s is back", config_list_name(f->id), f->path);
	f->is_missing = 0;
	if (is_same(f, &st))
		return;
	/* what the read finds replaces it; a file that cannot be opened is not tried again unchanged */
	remember(f, &st);
	switch (lists_file_read(f, err, sizeof(err))) {
	case 0:
		break;
	case LISTS_FILE_UNREADABLE:
		log_warn("policy.%s_file: cannot read %s: %s; keeping the entries read before (%zu)",
		    config_list_name(f->id), f->path, err, f->t.n);
		return;
	default:
		log_warn("policy.%s_file: %s; keeping the entries read before (%zu)",
		    config_list_name(f->id), err, f->t.n);
		return;
	}
	log_info("policy.%s_file: %s read again (entries: %zu)", config_list_name(f->id), f->path,
	    f->t.n);
}
