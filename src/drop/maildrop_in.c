/*
 * maildrop_in.c - the daemon's side of the maildrop: a file that sterna
 * sendmail left (msg/maildrop.h), decoded by maildrop_decode() and checked
 * again here as untrusted input: whoever may write the folder may write any
 * bytes into it. The sender of the message is the file's owner (fstat),
 * never what the file says about itself. Also the folder itself: who may
 * write it (maildrop.group), set at every start.
 */
#include "drop/drop_int.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "drop/eml.h"
#include "msg/maildrop.h"
#include "util/xalloc.h"

static int
maildrop_parse(const uint8_t *in, size_t len, const struct stat *st, const struct config *cfg,
    struct drop_file *out, char *err, size_t errsize)
{
	struct maildrop_msg m;
	struct eml_text t;
	struct passwd pw, *found = NULL;
	char pwbuf[4096];

	/*
	 * The owner says who sent it. A second link could be another user's
	 * file linked into the folder (where fs.protected_hardlinks is off),
	 * which would then be sent in that user's name.
	 */
	if (st->st_nlink != 1) {
		snprintf(err, errsize, "%lu links to the file: only its writer may drop it",
		    (unsigned long)st->st_nlink);
		return -1;
	}
	if (maildrop_decode(in, len, &m, err, errsize) == -1)
		return -1;
	if (m.nrcpts > cfg->max_recipients) {
		snprintf(err, errsize, "%zu recipients, more than %u", m.nrcpts, cfg->max_recipients);
		goto fail;
	}
	if (m.content_bytes > cfg->max_message_bytes) {
		snprintf(err, errsize, "over the size limit (%llu bytes)",
		    (unsigned long long)m.content_bytes);
		goto fail;
	}
	/* the writer promises CRLF lines; the same rules as every entrance make sure */
	eml_text_init(&t, cfg->max_text_line_bytes);
	for (size_t i = 0; i < m.nchunks; i++)
		if (eml_text_feed(&t, in + m.chunks[i].off, m.chunks[i].len, &out->content) == -1)
			break;
	if (eml_text_end(&t, &out->content) == -1) {
		snprintf(err, errsize, "%s", t.err);
		goto fail;
	}
	out->is_8bit = t.is_8bit;
	out->sender = m.sender;
	out->rcpts = m.rcpts;
	out->nrcpts = m.nrcpts;
	m.sender = NULL;
	m.rcpts = NULL;
	m.nrcpts = 0;
	maildrop_msg_clear(&m);
	out->uid = (long)st->st_uid;
	/* a uid without a name (a deleted account) is still named by its number */
	if (getpwuid_r(st->st_uid, &pw, pwbuf, sizeof(pwbuf), &found) == 0 && found != NULL)
		out->user = xstrdup(pw.pw_name);
	return 0;
fail:
	maildrop_msg_clear(&m);
	return -1;
}

const struct drop_kind drop_kind_maildrop = {
	.entrance = "maildrop",
	.origin = SPOOL_FROM_SENDMAIL,
	/* sendmail writes ".tmp.NAME" and renames it: a name without a dot is complete */
	.is_atomic = 1,
	.parse = maildrop_parse,
};

int
drop_maildrop_prepare(const struct config *cfg, uid_t uid, gid_t gid, int is_root, char *err,
    size_t errsize)
{
	char path[4096];
	struct group gr, *found = NULL;
	char grbuf[8192];
	int fd = -1, n, ret = -1, has_group = cfg->maildrop_group[0] != '\0';
	mode_t mode = has_group ? 01730 : 0700;

	n = snprintf(path, sizeof(path), "%s/%s", cfg->spool_dir, MAILDROP_DIR);
	if (n < 0 || (size_t)n >= sizeof(path)) {
		snprintf(err, errsize, "%s: path too long", cfg->spool_dir);
		return -1;
	}
	if (has_group) {
		errno = 0;
		if (getgrnam_r(cfg->maildrop_group, &gr, grbuf, sizeof(grbuf), &found) != 0 ||
		    found == NULL) {
			snprintf(err, errsize, "%s: maildrop.group: no such group '%s'", cfg->path,
			    cfg->maildrop_group);
			return -1;
		}
		gid = gr.gr_gid;
	}
	if (mkdir(path, 0700) == -1 && errno != EEXIST) {
		snprintf(err, errsize, "%s: %s", path, strerror(errno));
		return -1;
	}
	if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) == -1) {
		snprintf(err, errsize, "%s: %s", path, strerror(errno));
		return -1;
	}
	/* not root: the owner is us already; the group can be set if we are in it */
	if (fchown(fd, is_root ? uid : (uid_t)-1, is_root || has_group ? gid : (gid_t)-1) == -1) {
		snprintf(err, errsize, "%s: cannot give it to group %s: %s", path,
		    has_group ? cfg->maildrop_group : "of server.user", strerror(errno));
		goto out;
	}
	/* sticky: nobody removes or renames another's file; -wx: nobody lists the folder */
	if (fchmod(fd, mode) == -1) {
		snprintf(err, errsize, "%s: chmod: %s", path, strerror(errno));
		goto out;
	}
	ret = 0;
out:
	close(fd);
	return ret;
}
