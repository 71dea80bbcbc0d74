/*
 * fuzz_maildrop.c - libFuzzer target for the maildrop file reader
 * (src/msg/maildrop.c), which reads files any permitted local user writes.
 * An input that starts with the magic is decoded as it is. Any other input
 * is a recipe, so that mutations get past the CRCs to the order, key/value
 * and address checks: byte 0 holds flags (bit 0: append the E record,
 * bit 1: with a wrong count), then records as type (1 byte), length
 * (2 bytes BE), payload, framed with correct CRCs after the magic.
 * Whatever the decoder accepts must hold together: the addresses parse,
 * the chunks lie inside the input, the encoder takes the same fields back
 * and its file decodes to them again, and a cut of the input is refused.
 * Any violation aborts.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msg/maildrop.h"
#include "smtp/smtp.h"
#include "spool/record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) \
	do { \
		if (!(cond)) { \
			fprintf(stderr, "fuzz_maildrop.c:%d: %s\n", __LINE__, #cond); \
			abort(); \
		} \
	} while (0)

/* Frames a recipe into a file with good CRCs (see the top of this file). */
static void
build(const uint8_t *data, size_t size, struct buf *out)
{
	struct rec_chain chain = { 0, 0 };
	uint8_t flags = data[0];
	size_t off = 1;

	CHECK(buf_append(out, MAILDROP_MAGIC, REC_MAGIC_LEN) == 0);
	while (off + 3 <= size) {
		uint8_t type = data[off];
		size_t len = (size_t)data[off + 1] << 8 | data[off + 2];

		off += 3;
		if (len > size - off)
			len = size - off;
		/* an unknown type is simply not written: rec_append refuses it */
		(void)rec_append(out, (enum rec_type)type, data + off, len, &chain);
		off += len;
	}
	if (flags & 1) {
		if (flags & 2)
			chain.count++;
		CHECK(rec_append_end(out, &chain) == 0);
	}
}

static void
check_same(const struct maildrop_msg *a, const struct maildrop_msg *b, const uint8_t *ina,
    const uint8_t *inb)
{
	CHECK((a->fullname == NULL) == (b->fullname == NULL));
	if (a->fullname != NULL)
		CHECK(strcmp(a->fullname, b->fullname) == 0);
	CHECK(strcmp(a->sender, b->sender) == 0);
	CHECK(a->nrcpts == b->nrcpts);
	for (size_t i = 0; i < a->nrcpts; i++)
		CHECK(strcmp(a->rcpts[i], b->rcpts[i]) == 0);
	CHECK(a->content_bytes == b->content_bytes);
	/* compare the content byte by byte across different chunkings */
	for (size_t i = 0, j = 0, oi = 0, oj = 0; i < a->nchunks && j < b->nchunks;) {
		if (oi == a->chunks[i].len) {
			i++, oi = 0;
			continue;
		}
		if (oj == b->chunks[j].len) {
			j++, oj = 0;
			continue;
		}
		CHECK(ina[a->chunks[i].off + oi] == inb[b->chunks[j].off + oj]);
		oi++, oj++;
	}
}

static void
check_accepted(const uint8_t *in, size_t len, const struct maildrop_msg *m)
{
	struct maildrop_msg again, third;
	struct buf content, file, file2;
	struct smtp_addr a;
	char err[128];

	CHECK(m->sender != NULL);
	CHECK(m->nrcpts >= 1 && m->nrcpts <= MAILDROP_MAX_RCPTS);
	CHECK(m->sender[0] == '\0' ||
	    smtp_addr_parse(slice_str(m->sender), 1, &a) == SMTP_ADDR_OK);
	for (size_t i = 0; i < m->nrcpts; i++) {
		CHECK(smtp_addr_parse(slice_str(m->rcpts[i]), 1, &a) == SMTP_ADDR_OK);
		CHECK(!a.is_null && a.domain_len > 0);
	}
	buf_init(&content, len);
	for (size_t i = 0; i < m->nchunks; i++) {
		CHECK(m->chunks[i].off <= len && m->chunks[i].len <= len - m->chunks[i].off);
		CHECK(buf_append(&content, in + m->chunks[i].off, m->chunks[i].len) == 0);
	}
	CHECK(content.len == m->content_bytes);

	/* what the decoder takes, the encoder writes, and reads back the same */
	buf_init(&file, 2 * len + 1024);
	CHECK(maildrop_encode(&file, m->fullname, m->sender, (const char *const *)m->rcpts,
	    m->nrcpts, content.data, content.len) == 0);
	CHECK(maildrop_decode(file.data, file.len, &again, err, sizeof(err)) == 0);
	check_same(m, &again, in, file.data);
	/* and the encoder's own file is a fixed point */
	buf_init(&file2, 2 * len + 1024);
	CHECK(maildrop_encode(&file2, again.fullname, again.sender,
	    (const char *const *)again.rcpts, again.nrcpts, content.data, content.len) == 0);
	CHECK(file2.len == file.len && memcmp(file2.data, file.data, file.len) == 0);

	/* a torn copy is never taken: cut it where its own bytes say */
	{
		size_t cut = (size_t)in[len - 1] * 257 % len;

		CHECK(maildrop_decode(in, cut, &third, err, sizeof(err)) == -1);
		CHECK(third.rcpts == NULL && third.sender == NULL);
	}
	maildrop_msg_clear(&again);
	buf_clear(&content);
	buf_clear(&file);
	buf_clear(&file2);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct maildrop_msg m;
	struct buf built;
	const uint8_t *in = data;
	size_t len = size;
	char err[128];
	int r;

	buf_init(&built, size + 64 * 1024);
	if (size > 0 && (size < REC_MAGIC_LEN || memcmp(data, MAILDROP_MAGIC, REC_MAGIC_LEN) != 0)) {
		build(data, size, &built);
		in = built.data;
		len = built.len;
	}
	err[0] = '\0';
	r = maildrop_decode(in, len, &m, err, sizeof(err));
	CHECK(r == 0 || r == -1);
	if (r == 0) {
		check_accepted(in, len, &m);
		maildrop_msg_clear(&m);
	} else {
		/* every refusal says why, and leaves nothing to free */
		CHECK(err[0] != '\0' && memchr(err, '\0', sizeof(err)) != NULL);
		CHECK(m.fullname == NULL && m.sender == NULL && m.rcpts == NULL && m.chunks == NULL);
	}
	buf_clear(&built);
	return 0;
}
