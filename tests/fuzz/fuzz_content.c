/*
 * fuzz_content.c - what a content filter may send us (its replies are
 * hostile input, SECURITY.md 9), and what DKIM makes of the message:
 *  - header list changes (add, insert, change, delete) with fuzzer-chosen
 *    names and values: after each, the header section written out must
 *    still be only header fields (a name of ftext, a colon, line breaks
 *    only as CRLF and a fold; no empty line, no bare CR or LF), within
 *    HEADER_LIST_MAX; a refused change changes nothing;
 *  - DKIM's relaxed body canonicalization, fed whole and split at a
 *    fuzzer-chosen point: the same hash;
 *  - the relaxed form of a field: a lowercase name, one colon, no CR, LF,
 *    tab or double space inside, the final CRLF.
 * Input: byte 0 picks the split; then NUL-separated operations, each
 * "OP INDEX name NUL value NUL" (OP and INDEX one byte each).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dkim/dkim.h"
#include "msg/header_list.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)	do { if (!(cond)) abort(); } while (0)

/* Only header fields: each line starts a field (ftext name, colon) or folds one. */
static void
check_section(const struct header_list *l)
{
	struct buf b;
	size_t i = 0;

	buf_init(&b, 2 * HEADER_LIST_MAX);
	CHECK(header_list_write(l, &b) == 0);
	CHECK(b.len == l->bytes && b.len <= HEADER_LIST_MAX);
	while (i < b.len) {
		size_t start = i, n = 0;

		/* a field's first line: a name of ftext and a colon */
		while (i < b.len && b.data[i] != ':') {
			CHECK(b.data[i] >= 33 && b.data[i] <= 126);
			i++, n++;
		}
		CHECK(n > 0 && i < b.len);
		for (;;) {
			while (i < b.len && b.data[i] != '\r' && b.data[i] != '\n')
				i++;
			CHECK(i + 1 < b.len && b.data[i] == '\r' && b.data[i + 1] == '\n');
			i += 2;
			/* the next line folds this field, or starts another */
			if (i < b.len && (b.data[i] == ' ' || b.data[i] == '\t'))
				continue;
			break;
		}
		CHECK(i > start);
	}
	buf_clear(&b);
}

static void
fuzz_edits(const uint8_t *p, size_t n)
{
	static const char *const base[] = { "Received: by x\r\n\tid Y\r\n", "From: a@b\r\n",
		"Subject: s\r\n", "x-a: 1\r\n", "X-A: 2\r\n" };
	struct header_list l;
	char err[128], name[256], value[2048];

	header_list_init(&l);
	for (size_t i = 0; i < sizeof(base) / sizeof(base[0]); i++)
		CHECK(header_list_append_raw(&l, (const uint8_t *)base[i], strlen(base[i])) == 0);
	while (n >= 2) {
		uint8_t op = p[0], index = p[1];
		size_t k = 2, nl = 0, vl = 0;
		size_t before = l.bytes, count = header_list_count(&l);
		int r;

		while (k < n && p[k] != '\0' && nl + 1 < sizeof(name))
			name[nl++] = (char)p[k++];
		name[nl] = '\0';
		k++;
		while (k < n && p[k] != '\0' && vl + 1 < sizeof(value))
			value[vl++] = (char)p[k++];
		value[vl] = '\0';
		k++;
		switch (op % 4) {
		case 0:
			r = header_list_add(&l, name, value, err, sizeof(err));
			break;
		case 1:
			r = header_list_insert(&l, index, name, value, err, sizeof(err));
			break;
		case 2:
			r = header_list_change(&l, name, index % 4, value, err, sizeof(err));
			break;
		default:
			r = header_list_change(&l, name, index % 4, NULL, err, sizeof(err));
			break;
		}
		if (r == -1)
			CHECK(l.bytes == before && header_list_count(&l) == count);
		check_section(&l);
		p += k < n ? k : n;
		n -= k < n ? k : n;
	}
	header_list_clear(&l);
}

static void
fuzz_canon(const uint8_t *p, size_t n, size_t cut)
{
	struct dkim_body whole, split;
	uint8_t a[32], b[32];
	struct buf h;

	dkim_body_init(&whole);
	dkim_body_feed(&whole, p, n);
	dkim_body_final(&whole, a);
	dkim_body_init(&split);
	dkim_body_feed(&split, p, cut);
	dkim_body_feed(&split, p + cut, n - cut);
	dkim_body_final(&split, b);
	CHECK(memcmp(a, b, 32) == 0);
	buf_init(&h, 2 * n + 16);
	if (dkim_canon_header(p, n, 1, &h) == 0) {
		const uint8_t *colon = memchr(h.data, ':', h.len);

		CHECK(colon != NULL && h.len >= 3);
		CHECK(h.data[h.len - 2] == '\r' && h.data[h.len - 1] == '\n');
		for (const uint8_t *q = h.data; q < colon; q++)
			CHECK(!(*q >= 'A' && *q <= 'Z'));
		for (size_t i = (size_t)(colon - h.data) + 1; i + 2 < h.len; i++) {
			CHECK(h.data[i] != '\r' && h.data[i] != '\n' && h.data[i] != '\t');
			CHECK(!(h.data[i] == ' ' && (i + 3 == h.len || h.data[i + 1] == ' ')));
		}
		CHECK(h.data[(size_t)(colon - h.data) + 1] != ' ');	/* none after the colon */
	}
	buf_clear(&h);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t cut;

	if (size < 1)
		return 0;
	cut = size > 1 ? data[0] % size : 0;
	data++;
	size--;
	if (cut > size)
		cut = size;
	fuzz_edits(data, size);
	fuzz_canon(data, size, cut);
	return 0;
}
