/*
 * ucl_disk.c - how the daemon's parser reads a configuration file and what it
 * includes: regular files only, bounded in size, each known by device and
 * inode so that an include cycle is found whatever path names the file.
 */
#include "config/ucl_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/xalloc.h"

/* Copies as much of text as fits into why; returns -1 for the caller to pass on. */
static int
set_why(char *why, size_t whysize, const char *text)
{
	size_t n = strlen(text);

	if (whysize == 0)
		return -1;
	if (n >= whysize)
		n = whysize - 1;
	memcpy(why, text, n);
	why[n] = '\0';
	return -1;
}

static int
disk_read(void *ctx, const char *name, size_t max, uint8_t **data_out, size_t *len_out,
    uint64_t id_out[2], char *why, size_t whysize)
{
	struct stat st;
	uint8_t *data = NULL;
	size_t len = 0, cap;
	int fd, ret = -1;

	(void)ctx;
	*data_out = NULL;
	*len_out = 0;
	/* O_NONBLOCK: opening a FIFO by mistake must not hang start-up */
	if ((fd = open(name, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)) == -1)
		return set_why(why, whysize, strerror(errno));
	if (fstat(fd, &st) == -1) {
		set_why(why, whysize, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		set_why(why, whysize, "not a regular file");
		goto out;
	}
	/* read one byte more than allowed, so that a file that grew is caught too */
	cap = st.st_size < 0 || (uint64_t)st.st_size > max ? max + 1 : (size_t)st.st_size + 1;
	data = xmalloc(cap);
	for (;;) {
		ssize_t n;

		if (len == cap) {
			if (cap > max)
				break;
			cap = cap > max / 2 ? max + 1 : cap * 2;
			data = xrealloc(data, cap);
		}
		n = read(fd, data + len, cap - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			set_why(why, whysize, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > max) {
		*len_out = max + 1;
		set_why(why, whysize, "too large");
		goto out;
	}
	id_out[0] = (uint64_t)st.st_dev;
	id_out[1] = (uint64_t)st.st_ino;
	*data_out = data;
	*len_out = len;
	data = NULL;
	ret = 0;
out:
	free(data);
	close(fd);
	return ret;
}

const struct ucl_reader ucl_disk_reader = { disk_read, NULL };
