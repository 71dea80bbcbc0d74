/*
 * stream.c - a queued message's content, read a piece at a time through
 * one fixed buffer, for every delivery agent (the SMTP and LMTP client on
 * the loop, Maildir and the notices on workers): as filters left it, the F
 * record's final header section first, then the C records' bytes past the
 * fields it stands for and up to where the B records' new body takes over,
 * then the B records (record.h). Records outside that view are skipped by
 * their lengths, unread; each record that is read has its CRC checked when
 * its last byte has been read, so a piece handed out is known good only
 * once the stream has reported its end: a reader that meets an error
 * throws away what it was given (the client sends no final dot, the
 * Maildir file is removed).
 */
#include "spool/spool_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/crc32c.h"
#include "util/fsutil.h"
#include "util/xalloc.h"

#define STREAM_STEP (64 * 1024)	/* bytes read from the file at once; the stream's memory */

struct spool_content {
	int fd;
	off_t foff;			/* the file offset of the byte after the buffered ones */
	uint8_t *b;			/* STREAM_STEP bytes: b[pos, len) are read, not yet used */
	size_t pos, len;
	struct buf header;		/* the F record's header fields, handed out first */
	int is_header_out;
	uint64_t skip_to;		/* C bytes before this are the fields F replaced */
	uint64_t stop_at;		/* C bytes from this on are the body B replaced */
	uint64_t at;			/* C bytes passed so far */
	/* the record whose payload is being read */
	enum rec_type type;
	uint32_t left;			/* its payload bytes not read yet */
	uint32_t crc;			/* over its type, length and the payload read so far */
	int want_trailer;		/* its payload is read: check its CRC next */
	int is_end;
};

static uint32_t
get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* Makes n bytes (at most STREAM_STEP) readable at b + pos: 0, or -1 (EBADMSG at the file's end). */
static int
need(struct spool_content *sc, size_t n)
{
	while (sc->len - sc->pos < n) {
		ssize_t r;

		if (sc->pos > 0) {
			memmove(sc->b, sc->b + sc->pos, sc->len - sc->pos);
			sc->len -= sc->pos;
			sc->pos = 0;
		}
		do
			r = pread(sc->fd, sc->b + sc->len, STREAM_STEP - sc->len, sc->foff);
		while (r == -1 && errno == EINTR);
		if (r == -1)
			return -1;
		if (r == 0) {
			errno = EBADMSG;	/* torn: the file ends inside a record, or before E */
			return -1;
		}
		sc->len += (size_t)r;
		sc->foff += r;
	}
	return 0;
}

/* Passes over n bytes without reading those not buffered yet. */
static void
skip(struct spool_content *sc, uint64_t n)
{
	size_t have = sc->len - sc->pos;

	if (n <= have) {
		sc->pos += (size_t)n;
		return;
	}
	sc->foff += (off_t)(n - have);
	sc->pos = sc->len = 0;
}

/*
 * The first STREAM_STEP bytes after the magic, into the stream's buffer:
 * all of a message of less, whose records are then found and read with no
 * further read. 0, or -1 with errno.
 */
static int
fill_first(struct spool_content *sc)
{
	ssize_t r;

	do
		r = pread(sc->fd, sc->b, STREAM_STEP, REC_MAGIC_LEN);
	while (r == -1 && errno == EINTR);
	if (r == -1)
		return -1;
	sc->pos = 0;
	sc->len = (size_t)r;
	sc->foff = REC_MAGIC_LEN + r;
	return 0;
}

/*
 * The n bytes of the file at off: in the buffer fill_first() filled when
 * it holds them, else read into tmp (n bytes of room). NULL with errno
 * (EBADMSG when the file ends before them).
 */
static const uint8_t *
bytes_at(const struct spool_content *sc, off_t off, size_t n, uint8_t *tmp)
{
	ssize_t r;

	if (off >= REC_MAGIC_LEN && (uint64_t)(off - REC_MAGIC_LEN) + n <= sc->len)
		return sc->b + (off - REC_MAGIC_LEN);
	r = pread_all(sc->fd, tmp, n, off);
	if (r != (ssize_t)n) {
		if (r >= 0)
			errno = EBADMSG;
		return NULL;
	}
	return tmp;
}

/*
 * Finds the F record of sc's file (the records before it are passed over
 * by their lengths, not read, past the first buffer): 1 with its payload
 * copied into out, 0 if there is none, -1 with errno.
 */
static int
find_header_record(const struct spool_content *sc, struct buf *out)
{
	off_t off = REC_MAGIC_LEN;

	for (;;) {
		uint8_t tmp[REC_HEADER_LEN];
		const uint8_t *h = bytes_at(sc, off, sizeof(tmp), tmp);
		uint32_t len;

		if (h == NULL)
			return -1;
		len = get_be32(h + 1);
		if (len > REC_MAX_PAYLOAD) {
			errno = EBADMSG;
			return -1;
		}
		if (h[0] == REC_END)
			return 0;
		if (h[0] == REC_HEADER) {
			enum rec_type type;
			const uint8_t *rec;
			struct slice p;
			uint32_t crc;
			size_t used, whole = REC_OVERHEAD + len;

			/* the record is read whole and checked, CRC included, before it is believed */
			if (buf_reserve(out, whole) == -1 ||
			    (rec = bytes_at(sc, off, whole, out->data)) == NULL ||
			    rec_decode(rec, whole, &type, &p, &crc, &used) != REC_OK) {
				errno = EBADMSG;
				return -1;
			}
			memmove(out->data, p.p, p.len);
			out->len = p.len;
			return 1;
		}
		off += (off_t)REC_OVERHEAD + len;
	}
}

struct spool_content *
spool_content_open(struct spool *sp, const char *qid)
{
	struct spool_content *sc = xcalloc(1, sizeof(*sc));
	struct stat st;
	int r, saved;

	sc->stop_at = UINT64_MAX;
	buf_init(&sc->header, REC_MAX_PAYLOAD + REC_OVERHEAD);
	sc->fd = openat(sp->queue_fd, qid, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (sc->fd == -1)
		goto fail;
	if (fstat(sc->fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		errno = EINVAL;
		goto fail;
	}
	sc->b = xmalloc(STREAM_STEP);
	if (fill_first(sc) == -1 || (r = find_header_record(sc, &sc->header)) == -1)
		goto fail;
	if (r == 1) {
		uint64_t orig_len, body_at;

		if (rec_header_offsets(buf_slice(&sc->header), &orig_len, &body_at) == -1) {
			errno = EBADMSG;
			goto fail;
		}
		sc->skip_to = orig_len;
		sc->stop_at = body_at;
		buf_consume(&sc->header, REC_HEADER_FIXED);
	}
	return sc;
fail:
	saved = errno;
	spool_content_close(&sc);
	errno = saved;
	return NULL;
}

/* The next record's header: sets what the stream does with its payload; 0, or -1 with errno. */
static int
next_record(struct spool_content *sc)
{
	const uint8_t *h;
	uint32_t len;

	if (need(sc, REC_HEADER_LEN) == -1)
		return -1;
	h = sc->b + sc->pos;
	len = get_be32(h + 1);
	if (len > REC_MAX_PAYLOAD) {
		errno = EBADMSG;
		return -1;
	}
	if (h[0] == REC_END) {
		sc->is_end = 1;
		return 0;
	}
	/* a C record wholly outside the view, and every record but C and B, is passed over */
	if (h[0] == REC_CONTENT && (sc->at + len <= sc->skip_to || sc->at >= sc->stop_at)) {
		sc->at += len;
		skip(sc, REC_OVERHEAD + (uint64_t)len);
		return 0;
	}
	if (h[0] != REC_CONTENT && h[0] != REC_BODY) {
		skip(sc, REC_OVERHEAD + (uint64_t)len);
		return 0;
	}
	sc->type = (enum rec_type)h[0];
	sc->left = len;
	sc->crc = crc32c(0, h, REC_HEADER_LEN);
	sc->pos += REC_HEADER_LEN;
	sc->want_trailer = 1;
	return 0;
}

int
spool_content_next(struct spool_content *sc, struct slice *out)
{
	if (!sc->is_header_out) {
		sc->is_header_out = 1;
		if (sc->header.len > 0) {
			*out = buf_slice(&sc->header);
			return 1;
		}
	}
	for (;;) {
		struct slice piece;
		uint64_t lo, hi;

		if (sc->is_end)
			return 0;
		if (sc->want_trailer && sc->left == 0) {
			if (need(sc, REC_TRAILER_LEN) == -1)
				return -1;
			if (get_be32(sc->b + sc->pos) != sc->crc) {
				errno = EBADMSG;
				return -1;
			}
			sc->pos += REC_TRAILER_LEN;
			sc->want_trailer = 0;
		}
		if (!sc->want_trailer) {
			if (next_record(sc) == -1)
				return -1;
			continue;
		}
		if (need(sc, 1) == -1)
			return -1;
		piece.p = sc->b + sc->pos;
		piece.len = sc->len - sc->pos < sc->left ? sc->len - sc->pos : sc->left;
		sc->crc = crc32c(sc->crc, piece.p, piece.len);
		sc->pos += piece.len;
		sc->left -= (uint32_t)piece.len;
		if (sc->type == REC_BODY) {
			*out = piece;
			return 1;
		}
		/* C: only the bytes inside the view */
		lo = sc->at < sc->skip_to ? sc->skip_to : sc->at;
		hi = sc->at + piece.len > sc->stop_at ? sc->stop_at : sc->at + piece.len;
		if (lo < hi) {
			out->p = piece.p + (lo - sc->at);
			out->len = (size_t)(hi - lo);
		}
		sc->at += piece.len;
		if (lo < hi)
			return 1;
	}
}

void
spool_content_close(struct spool_content **scp)
{
	struct spool_content *sc = *scp;

	if (sc == NULL)
		return;
	if (sc->fd != -1)
		close(sc->fd);
	buf_clear(&sc->header);
	free(sc->b);
	free(sc);
	*scp = NULL;
}

int
spool_msg_read_content(struct spool *sp, const char *qid,
    int (*sink)(void *ctx, const void *p, size_t n), void *ctx)
{
	struct spool_content *sc = spool_content_open(sp, qid);
	struct slice p;
	int r, saved;

	if (sc == NULL)
		return -1;
	while ((r = spool_content_next(sc, &p)) == 1)
		if (sink(ctx, p.p, p.len) == -1) {
			r = -1;
			break;
		}
	saved = errno;
	spool_content_close(&sc);
	errno = saved;
	return r;
}
