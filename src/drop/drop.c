/*
 * drop.c - the folder entrances the configuration asks for: the maildrop
 * always, the pickup folder when pickup.dir is set; and the worker thread
 * they share, so that reading a big file never delays a spool write.
 */
#include "drop/drop_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "msg/maildrop.h"
#include "util/log.h"
#include "util/xalloc.h"

/* The maildrop is watched by inotify on a local disk: the scan is only a fallback. */
#define MAILDROP_SCAN_MS (60 * 1000)

struct drops {
	struct workq *wq;
	struct event *wq_ev;
	struct folder *maildrop, *pickup;
};

static void
on_workq(evutil_socket_t fd, short what, void *arg)
{
	(void)fd, (void)what;
	workq_run_done(((struct drops *)arg)->wq);
}

static int
path_join(char *out, size_t size, const char *dir, const char *name, char *err, size_t errsize)
{
	int n = snprintf(out, size, "%s/%s", dir, name);

	if (n < 0 || (size_t)n >= size) {
		snprintf(err, errsize, "%s: path too long", dir);
		return -1;
	}
	return 0;
}

/*
 * Whoever may write the pickup folder may send any mail to anyone: one
 * every local user may write is refused, so that it cannot be left so.
 */
static int
check_pickup_dir(const char *dir, char *err, size_t errsize)
{
	struct stat st;

	if (lstat(dir, &st) == -1) {
		snprintf(err, errsize, "pickup.dir: %s: %s", dir, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errsize, "pickup.dir: %s: not a directory", dir);
		return -1;
	}
	if (st.st_mode & S_IWOTH) {
		snprintf(err, errsize, "pickup.dir: %s is writable by every user, who could all send "
		    "mail anywhere: allow only the users who may (docs/operations.md)", dir);
		return -1;
	}
	return 0;
}

struct drops *
drops_new(const struct drop_deps *d, char *err, size_t errsize)
{
	const struct config *cfg = d->cfg;
	struct drops *ds = xcalloc(1, sizeof(*ds));
	char dir[4096], taken[4096], bad[4096];
	struct folder_paths p = { dir, taken, bad };

	ds->wq = workq_new(1);
	ds->wq_ev = event_new(d->base, workq_fd(ds->wq), EV_READ | EV_PERSIST, on_workq, ds);
	event_add(ds->wq_ev, NULL);
	/*
	 * The maildrop's taken and bad folders are beside it, not in it: its
	 * writers may create any name inside it.
	 */
	if (path_join(dir, sizeof(dir), cfg->spool_dir, MAILDROP_DIR, err, errsize) == -1 ||
	    path_join(taken, sizeof(taken), cfg->spool_dir, MAILDROP_DIR "-taken", err,
	    errsize) == -1 ||
	    path_join(bad, sizeof(bad), cfg->spool_dir, MAILDROP_DIR "-bad", err, errsize) == -1 ||
	    (ds->maildrop = folder_new(d, ds->wq, &drop_kind_maildrop, &p, MAILDROP_SCAN_MS, err,
	    errsize)) == NULL)
		goto fail;
	if (cfg->pickup_dir[0] != '\0') {
		if (check_pickup_dir(cfg->pickup_dir, err, errsize) == -1 ||
		    path_join(taken, sizeof(taken), cfg->pickup_dir, ".taken", err, errsize) == -1 ||
		    path_join(bad, sizeof(bad), cfg->pickup_dir, "bad", err, errsize) == -1)
			goto fail;
		p.dir = cfg->pickup_dir;
		if ((ds->pickup = folder_new(d, ds->wq, &drop_kind_pickup, &p,
		    cfg->pickup_scan_interval_ms, err, errsize)) == NULL)
			goto fail;
	}
	return ds;
fail:
	drops_free(&ds);
	return NULL;
}

void
drops_start(struct drops *ds)
{
	folder_start(ds->maildrop);
	if (ds->pickup != NULL)
		folder_start(ds->pickup);
}

void
drops_stop(struct drops *ds)
{
	if (ds == NULL)
		return;
	folder_stop(ds->maildrop);
	if (ds->pickup != NULL)
		folder_stop(ds->pickup);
}

int
drops_busy(const struct drops *ds)
{
	if (ds == NULL)
		return 0;
	return folder_busy(ds->maildrop) || (ds->pickup != NULL && folder_busy(ds->pickup));
}

void
drops_free(struct drops **dsp)
{
	struct drops *ds = *dsp;

	if (ds == NULL)
		return;
	/* first the thread: a job still running uses its folder */
	workq_free(&ds->wq);
	if (ds->wq_ev != NULL)
		event_free(ds->wq_ev);
	folder_free(&ds->maildrop);
	folder_free(&ds->pickup);
	free(ds);
	*dsp = NULL;
}
