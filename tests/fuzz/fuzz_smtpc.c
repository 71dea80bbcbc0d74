/*
 * fuzz_smtpc.c - the SMTP client's reply reader: what a remote server says,
 * which may be anything. The input is read as replies until it ends or a
 * reply is bad, once whole and once split at a point that byte 0 picks;
 * both runs must see the same replies. Checked for each reply: a code
 * from 200 to 599, an enhanced status that is empty or "D.D.D" of its
 * class, text within SMTPC_TEXT with no CR, LF or NUL.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "deliver/smtpc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)	do { if (!(cond)) abort(); } while (0)
#define MAX_REPLIES 64

struct run {
	struct smtpc_reply r[MAX_REPLIES];
	size_t n;
	int is_bad;
};

static void
check_reply(const struct smtpc_reply *r)
{
	size_t len = strnlen(r->text, sizeof(r->text));

	CHECK(r->code >= 200 && r->code <= 599);
	CHECK(len < sizeof(r->text));
	CHECK(memchr(r->text, '\r', len) == NULL && memchr(r->text, '\n', len) == NULL);
	CHECK(strnlen(r->status, sizeof(r->status)) < sizeof(r->status));
	if (r->status[0] != '\0')
		CHECK(r->status[0] == '0' + r->code / 100 && r->status[1] == '.');
}

/* Reads in[0..len) in the pieces [0, cut) and [cut, len). */
static void
read_all(const uint8_t *in, size_t len, size_t cut, struct run *out)
{
	struct smtpc_reader rd;
	size_t at = 0, end = cut;

	memset(out, 0, sizeof(*out));
	smtpc_reader_init(&rd);
	while (out->n < MAX_REPLIES) {
		size_t used = 0;
		enum smtpc_parse p = smtpc_reader_feed(&rd, in + at, end - at, &used,
		    &out->r[out->n]);

		CHECK(used <= end - at);
		at += used;
		if (p == SMTPC_PARSE_BAD) {
			out->is_bad = 1;
			break;
		}
		if (p == SMTPC_PARSE_OK) {
			check_reply(&out->r[out->n++]);
			continue;
		}
		CHECK(at == end);	/* MORE takes every byte */
		if (end == len)
			break;
		end = len;
	}
	smtpc_reader_clear(&rd);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct run whole, split;
	size_t cut;

	if (size < 1)
		return 0;
	cut = data[0];
	data++;
	size--;
	if (cut > size)
		cut = size;
	read_all(data, size, size, &whole);
	read_all(data, size, cut, &split);
	CHECK(whole.n == split.n && whole.is_bad == split.is_bad);
	for (size_t i = 0; i < whole.n; i++)
		CHECK(memcmp(&whole.r[i], &split.r[i], sizeof(whole.r[i])) == 0);
	return 0;
}
