/*
 * maildrop.c - encode and decode the file that sterna sendmail leaves in
 * the spool's maildrop/ folder (layout in maildrop.h and
 * tests/unit/golden/README.md).
 * Pure code: bytes in, bytes or a verdict out. Writing, flushing and
 * renaming the file are sendmail's; reading it, learning its owner and
 * queueing it are the daemon's. The framing is spool/record.c's, so one
 * reader of records is fuzzed for both.
 * The file is written by any user the administrator lets submit, so the
 * decoder treats it as hostile: it is total (any bytes give 0 or -1 with a
 * reason), walks the records in one fixed order, and bounds what it keeps
 * (MAILDROP_MAX_RCPTS recipients, addresses no longer than a formatted
 * RFC 5321 mailbox, each one a valid path by smtp_addr_parse).
 */
#include "msg/maildrop.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smtp/smtp.h"
#include "spool/record.h"
#include "util/xalloc.h"

static void
set_err(char *err, size_t errsize, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errsize == 0)
		return;
	va_start(ap, fmt);
	/* a reason cut short is still a reason: truncation is fine here */
	(void)vsnprintf(err, errsize, fmt, ap);
	va_end(ap);
}

/*
 * 0 if the full name may stand in a header field phrase: bounded, and no
 * control bytes (a CR or LF would let the name add header fields).
 */
static int
fullname_check(const uint8_t *p, size_t n)
{
	if (n > MAILDROP_FULLNAME_MAX)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (p[i] < 0x20 || p[i] == 0x7f)
			return -1;
	return 0;
}

/*
 * 0 if p[0..n) is an address the file may carry: a mailbox with a domain
 * (RFC 5321 4.1.2, UTF-8 allowed), or "" when is_sender (the null sender).
 * A NUL cannot reach here from a key/value payload, but it is refused by
 * name all the same, since the bytes may come from elsewhere.
 */
static int
addr_check(const uint8_t *p, size_t n, int is_sender, const char **why)
{
	struct smtp_addr a;

	if (n == 0) {
		*why = "empty address";
		return is_sender ? 0 : -1;
	}
	if (n >= SMTP_ADDR_FMT_MAX) {
		*why = "address too long";
		return -1;
	}
	if (memchr(p, '\0', n) != NULL) {
		*why = "NUL in address";
		return -1;
	}
	switch (smtp_addr_parse((struct slice){ p, n }, 1, &a)) {
	case SMTP_ADDR_OK:
		break;
	case SMTP_ADDR_TOO_LONG:
		*why = "address too long";
		return -1;
	default:
		*why = "bad address syntax";
		return -1;
	}
	/* sendmail qualifies every name, so one without a domain is not ours */
	if (a.is_bare_postmaster || a.domain_len == 0) {
		*why = "address without a domain";
		return -1;
	}
	return 0;
}

int
maildrop_encode(struct buf *out, const char *fullname, const char *sender,
    const char *const *rcpts, size_t nrcpts, const void *content, size_t len)
{
	struct rec_chain chain = { 0, 0 };
	struct buf p;
	const uint8_t *c = content;
	size_t start = out->len;
	const char *why;
	int ret = -1;

	/* never write what maildrop_decode() would refuse */
	if (nrcpts == 0 || nrcpts > MAILDROP_MAX_RCPTS)
		return -1;
	if (fullname != NULL && fullname_check((const uint8_t *)fullname, strlen(fullname)) == -1)
		return -1;
	if (addr_check((const uint8_t *)sender, strlen(sender), 1, &why) == -1)
		return -1;
	for (size_t i = 0; i < nrcpts; i++)
		if (addr_check((const uint8_t *)rcpts[i], strlen(rcpts[i]), 0, &why) == -1)
			return -1;

	buf_init(&p, SMTP_ADDR_FMT_MAX + MAILDROP_FULLNAME_MAX + 64);
	if (buf_append(out, MAILDROP_MAGIC, REC_MAGIC_LEN) == -1)
		goto out;
	if (fullname != NULL && rec_kv_add_str(&p, "fullname", fullname) == -1)
		goto out;
	if (rec_append(out, REC_META, p.data, p.len, &chain) == -1)
		goto out;
	buf_reset(&p);
	if (rec_kv_add_str(&p, "addr", sender) == -1 ||
	    rec_append(out, REC_SENDER, p.data, p.len, &chain) == -1)
		goto out;
	for (size_t i = 0; i < nrcpts; i++) {
		buf_reset(&p);
		if (rec_kv_add_str(&p, "addr", rcpts[i]) == -1 ||
		    rec_append(out, REC_RCPT, p.data, p.len, &chain) == -1)
			goto out;
	}
	for (size_t off = 0; off < len;) {
		size_t n = len - off < REC_MAX_PAYLOAD ? len - off : REC_MAX_PAYLOAD;

		if (rec_append(out, REC_CONTENT, c + off, n, &chain) == -1)
			goto out;
		off += n;
	}
	if (rec_append_end(out, &chain) == -1)
		goto out;
	ret = 0;
out:
	buf_clear(&p);
	/* a full buffer is left as it was, never holding half a file */
	if (ret == -1)
		out->len = start;
	return ret;
}

/* Where decoding is: each record type is allowed only from some of these. */
enum md_stage {
	MD_WANT_M,
	MD_WANT_S,
	MD_WANT_R,	/* after S: at least one R */
	MD_IN_R,	/* R, C or E */
	MD_IN_C,	/* C or E */
	MD_DONE,	/* after E: nothing */
};

/* Takes the "addr" value of an S or R payload: 0 with *value_out, or -1. */
static int
kv_addr(struct slice payload, int is_sender, struct slice *value_out, const char **why)
{
	switch (rec_kv_get(payload, "addr", value_out)) {
	case 1:
		break;
	case 0:
		*why = "no addr key";
		return -1;
	default:
		*why = "malformed key/value payload";
		return -1;
	}
	return addr_check(value_out->p, value_out->len, is_sender, why);
}

int
maildrop_decode(const uint8_t *in, size_t len, struct maildrop_msg *out, char *err,
    size_t errsize)
{
	struct rec_chain chain = { 0, 0 };
	enum md_stage stage = MD_WANT_M;
	size_t off = REC_MAGIC_LEN, nrec = 0, rcap = 0, ccap = 0;
	const char *why = NULL;

	memset(out, 0, sizeof(*out));
	if (len < REC_MAGIC_LEN || memcmp(in, MAILDROP_MAGIC, REC_MAGIC_LEN) != 0) {
		set_err(err, errsize, "not a maildrop file (bad magic)");
		return -1;
	}
	while (stage != MD_DONE) {
		enum rec_type type;
		struct slice pl, v;
		uint32_t crc;
		size_t used;

		if (off == len) {
			set_err(err, errsize, "no end record (torn or unfinished file)");
			goto fail;
		}
		switch (rec_decode(in + off, len - off, &type, &pl, &crc, &used)) {
		case REC_OK:
			break;
		case REC_SHORT:
			set_err(err, errsize, "record %zu at byte %zu is torn", nrec, off);
			goto fail;
		case REC_BAD:
			set_err(err, errsize, "record %zu at byte %zu is damaged", nrec, off);
			goto fail;
		}
		switch (type) {
		case REC_META:
			if (stage != MD_WANT_M)
				goto order;
			switch (rec_kv_get(pl, "fullname", &v)) {
			case 1:
				if (fullname_check(v.p, v.len) == -1) {
					set_err(err, errsize, "bad full name");
					goto fail;
				}
				out->fullname = xstrndup(v.p, v.len);
				break;
			case 0:
				break;
			default:
				set_err(err, errsize, "record M: malformed key/value payload");
				goto fail;
			}
			stage = MD_WANT_S;
			break;
		case REC_SENDER:
			if (stage != MD_WANT_S)
				goto order;
			if (kv_addr(pl, 1, &v, &why) == -1) {
				set_err(err, errsize, "sender: %s", why);
				goto fail;
			}
			out->sender = xstrndup(v.p, v.len);
			stage = MD_WANT_R;
			break;
		case REC_RCPT:
			if (stage != MD_WANT_R && stage != MD_IN_R)
				goto order;
			if (out->nrcpts == MAILDROP_MAX_RCPTS) {
				set_err(err, errsize, "more than %d recipients", MAILDROP_MAX_RCPTS);
				goto fail;
			}
			if (kv_addr(pl, 0, &v, &why) == -1) {
				set_err(err, errsize, "recipient %zu: %s", out->nrcpts + 1, why);
				goto fail;
			}
			if (out->nrcpts == rcap) {
				rcap = rcap ? 2 * rcap : 8;
				out->rcpts = xrealloc(out->rcpts, rcap * sizeof(*out->rcpts));
			}
			out->rcpts[out->nrcpts++] = xstrndup(v.p, v.len);
			stage = MD_IN_R;
			break;
		case REC_CONTENT:
			if (stage != MD_IN_R && stage != MD_IN_C)
				goto order;
			/*
			 * No count limit needed: each C record costs at least
			 * REC_OVERHEAD bytes of input, so the chunk table is
			 * bounded by the file the caller chose to read.
			 */
			if (out->nchunks == ccap) {
				ccap = ccap ? 2 * ccap : 8;
				out->chunks = xrealloc(out->chunks, ccap * sizeof(*out->chunks));
			}
			out->chunks[out->nchunks].off = (size_t)(pl.p - in);
			out->chunks[out->nchunks].len = pl.len;
			out->nchunks++;
			out->content_bytes += pl.len;
			stage = MD_IN_C;
			break;
		case REC_END:
			if (stage == MD_WANT_R) {
				set_err(err, errsize, "no recipient");
				goto fail;
			}
			if (stage != MD_IN_R && stage != MD_IN_C)
				goto order;
			if (rec_end_check(pl, &chain) == -1) {
				set_err(err, errsize, "end record does not match the records before it");
				goto fail;
			}
			stage = MD_DONE;
			break;
		default:
			/* D and T belong to queue files, never to a maildrop file */
			goto order;
		}
		/* E is not counted in its own chain */
		if (type != REC_END)
			rec_chain_add(&chain, crc);
		off += used;
		nrec++;
	}
	if (off != len) {
		set_err(err, errsize, "bytes after the end record");
		goto fail;
	}
	return 0;

order:
	/* the first record that breaks M S R... C... E, named by what was missing */
	if (stage == MD_WANT_M)
		set_err(err, errsize, "record %zu: no meta record first", nrec);
	else if (stage == MD_WANT_S)
		set_err(err, errsize, "record %zu: no sender record", nrec);
	else if (stage == MD_WANT_R)
		set_err(err, errsize, "record %zu: no recipient", nrec);
	else
		set_err(err, errsize, "record %zu: records out of order", nrec);
fail:
	maildrop_msg_clear(out);
	return -1;
}

void
maildrop_msg_clear(struct maildrop_msg *m)
{
	if (m == NULL)
		return;
	free(m->fullname);
	free(m->sender);
	for (size_t i = 0; i < m->nrcpts; i++)
		free(m->rcpts[i]);
	free(m->rcpts);
	free(m->chunks);
	memset(m, 0, sizeof(*m));
}
