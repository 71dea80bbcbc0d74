/*
 * client.c - the command line's end of the control socket: a blocking
 * connection, one request line out, reply lines in. The daemon is trusted
 * no further than its bytes: a reply line is bounded and must be a JSON
 * object.
 */
#include "control/control.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "config/config.h"
#include "util/buf.h"
#include "util/xalloc.h"

#define READ_STEP (64 * 1024)

struct ctl_client {
	int fd;
	struct buf in;		/* read: in.data[start..len) is not handed out yet */
	size_t start;
	size_t scanned;		/* bytes after start known to hold no LF */
};

struct ctl_client *
ctl_client_connect(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct ctl_client *c;
	int fd, saved;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return NULL;
	while (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		if (errno == EINTR)
			continue;
		saved = errno;
		close(fd);
		errno = saved;
		return NULL;
	}
	c = xcalloc(1, sizeof(*c));
	c->fd = fd;
	buf_init(&c->in, CTL_MAX_REPLY_LINE + READ_STEP);
	/* data is never NULL then, even before the first read; the ceiling is far above */
	saved = buf_reserve(&c->in, READ_STEP);
	ASSERT(saved == 0);
	return c;
}

static int
write_all(void *ctx, const void *p, size_t n)
{
	struct ctl_client *c = ctx;
	const char *s = p;

	while (n > 0) {
		/* the daemon may be gone: an error, not a SIGPIPE */
		ssize_t w = send(c->fd, s, n, MSG_NOSIGNAL);

		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

static int
dump_cb(const char *p, size_t n, void *ctx)
{
	return write_all(ctx, p, n);
}

int
ctl_client_send(struct ctl_client *c, const json_t *req)
{
	return ctl_json_line(req, dump_cb, c);
}

int
ctl_client_next(struct ctl_client *c, const char **line_out, size_t *len_out, int *is_closed_out,
    char *err, size_t errsize)
{
	uint8_t *lf;
	size_t len;

	*is_closed_out = 0;
	while ((lf = memchr(c->in.data + c->start + c->scanned, '\n',
	    c->in.len - c->start - c->scanned)) == NULL) {
		ssize_t n;

		/* lines handed out go only now, in one move per read rather than one per line */
		buf_consume(&c->in, c->start);
		c->start = 0;
		c->scanned = c->in.len;
		if (c->in.len > CTL_MAX_REPLY_LINE) {
			snprintf(err, errsize, "a reply line is longer than %u bytes",
			    CTL_MAX_REPLY_LINE);
			return -1;
		}
		if (buf_reserve(&c->in, READ_STEP) == -1) {
			snprintf(err, errsize, "out of room for the reply");
			return -1;
		}
		n = read(c->fd, c->in.data + c->in.len, READ_STEP);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			*is_closed_out = 1;
			snprintf(err, errsize, "the daemon closed the connection%s%s",
			    n < 0 ? ": " : "", n < 0 ? strerror(errno) : "");
			return -1;
		}
		c->in.len += (size_t)n;
	}
	len = (size_t)(lf - (c->in.data + c->start));
	*line_out = (const char *)c->in.data + c->start;
	c->start += len + 1;
	c->scanned = 0;
	*len_out = len;
	return 0;
}

json_t *
ctl_client_parse(const char *line, size_t len, char *err, size_t errsize)
{
	json_error_t jerr;
	json_t *j = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);

	if (j == NULL || !json_is_object(j)) {
		snprintf(err, errsize, "a reply that is no JSON object%s%s", j == NULL ? ": " : "",
		    j == NULL ? jerr.text : "");
		json_decref(j);
		return NULL;
	}
	return j;
}

json_t *
ctl_client_read(struct ctl_client *c, int *is_closed_out, char *err, size_t errsize)
{
	const char *line;
	size_t len;

	if (ctl_client_next(c, &line, &len, is_closed_out, err, errsize) == -1)
		return NULL;
	return ctl_client_parse(line, len, err, errsize);
}

void
ctl_client_free(struct ctl_client **cp)
{
	struct ctl_client *c = *cp;

	if (c == NULL)
		return;
	close(c->fd);
	buf_clear(&c->in);
	free(c);
	*cp = NULL;
}

struct ctl_client *
ctl_client_open(const char *config, int *code_out, char *err, size_t errsize)
{
	struct config *cfg;
	struct ctl_client *cl;
	char path[4096];
	int n;

	if ((cfg = config_load_submit(config, err, errsize)) == NULL) {
		*code_out = EX_CONFIG;
		return NULL;
	}
	n = snprintf(path, sizeof(path), "%s/%s", cfg->spool_dir, CTL_SOCKET_NAME);
	config_free(&cfg);
	if (n < 0 || (size_t)n >= sizeof(path)) {
		(void)snprintf(err, errsize, "the spool's path is too long");
		*code_out = EX_CONFIG;
		return NULL;
	}
	if ((cl = ctl_client_connect(path)) == NULL) {
		int e = errno;

		(void)snprintf(err, errsize, "cannot reach the daemon at %s: %s%s", path,
		    strerror(e), e == ENOENT || e == ECONNREFUSED ? " (is it running?)" : "");
		*code_out = e == EACCES || e == EPERM ? EX_NOPERM : EX_UNAVAILABLE;
		return NULL;
	}
	return cl;
}
