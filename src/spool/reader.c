/*
 * reader.c - walks the records of a queue file with a bounded buffer
 * (one record at most, REC_MAX_PAYLOAD plus framing).
 */
#include "spool/spool_int.h"

#include <errno.h>
#include <unistd.h>

#define READ_STEP (64 * 1024)

void
rec_reader_init(struct rec_reader *r, int fd)
{
	r->fd = fd;
	buf_init(&r->b, REC_MAX_PAYLOAD + REC_OVERHEAD + READ_STEP);
	r->off = 0;
	r->is_eof = 0;
}

void
rec_reader_clear(struct rec_reader *r)
{
	buf_clear(&r->b);
}

/* Reads more bytes behind the unread ones: >0 read, 0 at end of file, -1 on error. */
static ssize_t
fill(struct rec_reader *r)
{
	ssize_t n;

	if (r->off > 0) {
		buf_consume(&r->b, r->off);
		r->off = 0;
	}
	if (buf_reserve(&r->b, READ_STEP) == -1) {
		errno = EBADMSG;
		return -1;
	}
	do
		n = read(r->fd, r->b.data + r->b.len, READ_STEP);
	while (n == -1 && errno == EINTR);
	if (n > 0)
		r->b.len += (size_t)n;
	return n;
}

int
rec_reader_next(struct rec_reader *r, enum rec_type *type, struct slice *payload, uint32_t *crc)
{
	for (;;) {
		size_t used = 0;
		ssize_t n;

		switch (rec_decode(r->b.data + r->off, r->b.len - r->off, type, payload, crc, &used)) {
		case REC_OK:
			r->off += used;
			return 1;
		case REC_BAD:
			errno = EBADMSG;
			return -1;
		case REC_SHORT:
			break;
		}
		if (r->is_eof) {
			if (r->b.len == r->off)
				return 0;
			errno = EBADMSG;	/* torn: the file ends inside a record */
			return -1;
		}
		if ((n = fill(r)) == -1)
			return -1;
		if (n == 0)
			r->is_eof = 1;
	}
}
