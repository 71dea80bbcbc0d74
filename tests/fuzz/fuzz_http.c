/*
 * fuzz_http.c - the HTTP API's parsers of hostile bytes (src/http): the
 * request framing, fed the input whole and again in two pieces cut where
 * the first byte says (the verdict and where the request ends must not
 * change), a request path, and the keys file. Checked: what the framing
 * takes never passes the input, a refusal always says why, and keys read
 * from a file are sorted and unique.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/http_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)	do { if (!(cond)) abort(); } while (0)

static const struct http_frame_limits lim = { .max_head_bytes = 512, .max_headers = 16,
	.max_body_bytes = 1024 };

/* The guard's loop: the verdict (-1 end, -2 more, or the error) and where it stopped. */
static int
drive(const uint8_t *in, size_t len, size_t first, size_t *pos_out)
{
	struct http_frame f;
	size_t avail = first, pos = 0;

	http_frame_init(&f, &lim);
	for (;;) {
		while (pos < avail) {
			size_t n = avail - pos, used;
			enum http_err e;
			const char *why = NULL;
			enum http_frame_step st;

			if (f.state == HTTP_FR_HEAD && n > lim.max_head_bytes)
				n = lim.max_head_bytes;
			st = http_frame_feed(&f, in + pos, n, &used, &e, &why);
			if (st == HTTP_FRAME_MORE)
				break;
			if (st == HTTP_FRAME_BAD) {
				CHECK(why != NULL && (unsigned)e < HTTP_NERRS);
				*pos_out = pos;
				return (int)e;
			}
			CHECK(used <= n);
			pos += used;
			if (st == HTTP_FRAME_END) {
				*pos_out = pos;
				return -1;
			}
		}
		if (avail == len) {
			*pos_out = pos;
			return -2;
		}
		avail = len;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t cut, p1, p2;
	struct http_path path;
	struct http_key *keys;
	char err[512], *s;
	size_t n;
	int v1, v2;

	if (size < 1)
		return 0;
	cut = size > 1 ? data[0] % size : 0;
	v1 = drive(data + 1, size - 1, size - 1, &p1);
	v2 = drive(data + 1, size - 1, cut, &p2);
	CHECK(v1 == v2);
	CHECK(v1 != -1 || p1 == p2);

	s = malloc(size);
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	if (http_path_split(s, &path) == 0) {
		for (size_t i = 0; i < path.nseg; i++)
			CHECK(path.seg[i][0] != '\0' && strchr(path.seg[i], '/') == NULL);
		http_path_clear(&path);
	}
	free(s);

	if (http_keys_parse("k", data, size, &keys, &n, err, sizeof(err)) == 0) {
		for (size_t i = 1; i < n; i++)
			CHECK(strcmp(keys[i - 1].id, keys[i].id) < 0);
		for (size_t i = 0; i < n; i++)
			CHECK(keys[i].scopes != 0);
		free(keys);
	} else {
		CHECK(strncmp(err, "k:", 2) == 0);
	}
	return 0;
}
