/*
 * keyring.c - the keys file as the daemon holds it: read at start (a bad
 * line stops the start), read again when it changes, the way policy's list
 * files are (src/policy/listfile.c): looked at (stat) at most once a second,
 * when a request needs a key, and at SIGHUP. A file that turns bad, or goes
 * away, leaves the keys read before in use and says so in the log: a
 * half-written file must neither lock everyone out nor let anyone in.
 * Each key has a rate table of its own (src/policy/ratelimit.h), made at
 * its first request and kept across readings while its rate stays the same.
 */
#include "http/http_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "policy/ratelimit.h"
#include "util/buf.h"
#include "util/fsutil.h"
#include "util/log.h"
#include "util/xalloc.h"

#define FILE_MAX (16u * 1024u * 1024u)
#define CHECK_EVERY_MS 1000

struct http_keyring {
	char *path;
	unsigned default_rate;		/* per minute; 0: no limit */
	struct http_key *keys;		/* sorted by id */
	struct ratelimit **rl;		/* per key: NULL until its first request */
	size_t n;
	/* what was last read, well or not: a change is a new reading */
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
	int has_read, is_missing;
	uint64_t checked_ms;
};

/* The rate k is held to: its own, or http.requests_per_minute. */
static void
rate_of(const struct http_keyring *kr, const struct http_key *k, unsigned *rate,
    uint32_t *window_ms)
{
	if (k->has_rate) {
		*rate = k->rate;
		*window_ms = k->rate_window_ms;
	} else {
		*rate = kr->default_rate;
		*window_ms = 60000;
	}
}

static void
remember(struct http_keyring *kr, const struct stat *st)
{
	kr->dev = st->st_dev;
	kr->ino = st->st_ino;
	kr->size = st->st_size;
	kr->mtime = st->st_mtim;
	kr->has_read = 1;
}

static int
is_same(const struct http_keyring *kr, const struct stat *st)
{
	return kr->has_read && kr->dev == st->st_dev && kr->ino == st->st_ino &&
	    kr->size == st->st_size && kr->mtime.tv_sec == st->st_mtim.tv_sec &&
	    kr->mtime.tv_nsec == st->st_mtim.tv_nsec;
}

/*
 * Reads the file; on success its keys replace kr's, each keeping its rate
 * table when it had one at the same rate. 0, or -1 with why in err.
 */
static int
read_keys(struct http_keyring *kr, char *err, size_t errsize)
{
	struct buf data;
	struct stat st;
	struct http_key *keys;
	struct ratelimit **rl;
	size_t n;
	char why[256];
	int rc;

	/* one byte past the bound, so that a file just too large is seen to be */
	buf_init(&data, (size_t)FILE_MAX + 1);
	rc = fs_read_file(kr->path, &data, &st, why, sizeof(why));
	if (rc == -1) {
		(void)snprintf(err, errsize, "%s: %s", kr->path, why);
		buf_clear(&data);
		return -1;
	}
	remember(kr, &st);
	if (rc == -2 || data.len > FILE_MAX) {
		(void)snprintf(err, errsize, "%s: larger than %u MiB", kr->path, FILE_MAX >> 20);
		buf_clear(&data);
		return -1;
	}
	rc = http_keys_parse(kr->path, data.data, data.len, &keys, &n, err, errsize);
	buf_clear(&data);
	if (rc == -1)
		return -1;
	rl = xcalloc(n ? n : 1, sizeof(*rl));
	for (size_t i = 0; i < n; i++) {
		const struct http_key *old = http_keys_find(kr->keys, kr->n, keys[i].id);
		unsigned r0, r1;
		uint32_t w0, w1;

		if (old == NULL)
			continue;
		rate_of(kr, old, &r0, &w0);
		rate_of(kr, &keys[i], &r1, &w1);
		if (r0 == r1 && w0 == w1) {
			rl[i] = kr->rl[old - kr->keys];
			kr->rl[old - kr->keys] = NULL;
		}
	}
	for (size_t i = 0; i < kr->n; i++)
		ratelimit_free(&kr->rl[i]);
	free(kr->rl);
	free(kr->keys);
	kr->keys = keys;
	kr->rl = rl;
	kr->n = n;
	return 0;
}

struct http_keyring *
http_keyring_new(const char *path, unsigned default_rate_per_min, char *err, size_t errsize)
{
	struct http_keyring *kr = xcalloc(1, sizeof(*kr));

	kr->path = xstrdup(path);
	kr->default_rate = default_rate_per_min;
	if (read_keys(kr, err, errsize) == -1) {
		http_keyring_free(&kr);
		return NULL;
	}
	return kr;
}

void
http_keyring_free(struct http_keyring **krp)
{
	struct http_keyring *kr = *krp;

	if (kr == NULL)
		return;
	for (size_t i = 0; i < kr->n; i++)
		ratelimit_free(&kr->rl[i]);
	free(kr->rl);
	free(kr->keys);
	free(kr->path);
	free(kr);
	*krp = NULL;
}

void
http_keyring_refresh(struct http_keyring *kr, uint64_t now_ms, int is_forced)
{
	struct stat st;
	char err[512];

	if (!is_forced && now_ms - kr->checked_ms < CHECK_EVERY_MS)
		return;
	kr->checked_ms = now_ms;
	if (stat(kr->path, &st) == -1) {
		if (!kr->is_missing)
			log_warn("http.keys_file: %s: %s; keeping the keys read before (%zu)",
			    kr->path, strerror(errno), kr->n);
		kr->is_missing = 1;
		return;
	}
	if (kr->is_missing)
		log_info("http.keys_file: %s is back", kr->path);
	kr->is_missing = 0;
	if (!is_forced && is_same(kr, &st))
		return;
	/* what the reading finds replaces it: a bad file is not read again unchanged */
	remember(kr, &st);
	if (read_keys(kr, err, sizeof(err)) == -1) {
		log_warn("http.keys_file: %s; keeping the keys read before (%zu)", err, kr->n);
		return;
	}
	log_info("http.keys_file: %s read again (keys: %zu)", kr->path, kr->n);
}

const struct http_key *
http_keyring_check(const struct http_keyring *kr, const char *token, size_t len)
{
	return http_keys_match(kr->keys, kr->n, token, len);
}

const struct http_key *
http_keyring_find(const struct http_keyring *kr, const char *id)
{
	return http_keys_find(kr->keys, kr->n, id);
}

int
http_keyring_hit(struct http_keyring *kr, const struct http_key *k, uint64_t now_ms,
    unsigned *retry_after_s_out)
{
	size_t i = (size_t)(k - kr->keys);
	unsigned rate;
	uint32_t window_ms;
	int64_t retry_ms = 0;

	ASSERT(i < kr->n);
	rate_of(kr, k, &rate, &window_ms);
	*retry_after_s_out = 0;
	if (rate == 0)
		return 1;
	if (kr->rl[i] == NULL)
		kr->rl[i] = ratelimit_new(rate, window_ms, 1);
	if (ratelimit_hit(kr->rl[i], k->id, strlen(k->id), (int64_t)now_ms, &retry_ms))
		return 1;
	/* whole seconds, rounded up: a client that waits as told is let in */
	*retry_after_s_out = retry_ms <= 0 ? 1 : (unsigned)((retry_ms + 999) / 1000);
	return 0;
}

size_t
http_keyring_count(const struct http_keyring *kr)
{
	return kr->n;
}
