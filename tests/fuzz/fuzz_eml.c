/*
 * fuzz_eml.c - the folder files' text rules and the pickup file parser.
 * The text is fed whole and split at a fuzzer-chosen point (byte 0 of the
 * input picks it): both must give the same bytes or the same refusal, and
 * what comes out has CRLF line ends only, no NUL and no line over the
 * bound. eml_parse must then accept or refuse with a reason, and what it
 * queues obeys the same rules.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "drop/eml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)	do { if (!(cond)) abort(); } while (0)
#define MAX_LINE 80

/* CRLF only, no NUL, no line past MAX_LINE (its CRLF counted). */
static void
check_text(const struct buf *b)
{
	size_t line = 0;

	for (size_t i = 0; i < b->len; i++) {
		uint8_t c = b->data[i];

		CHECK(c != '\0');
		if (c == '\r') {
			CHECK(i + 1 < b->len && b->data[i + 1] == '\n');
			CHECK(line + 2 <= MAX_LINE);
			line = 0;
			i++;
			continue;
		}
		CHECK(c != '\n');
		line++;
	}
	CHECK(line == 0);	/* the last line has its end */
}

static int
run_text(const uint8_t *p, size_t len, size_t cut, struct buf *out)
{
	struct eml_text t;

	eml_text_init(&t, MAX_LINE);
	if (eml_text_feed(&t, p, cut, out) == -1 || eml_text_feed(&t, p + cut, len - cut, out) == -1 ||
	    eml_text_end(&t, out) == -1) {
		CHECK(t.err[0] != '\0');
		return -1;
	}
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf whole, split, content;
	struct eml_env env;
	char err[256] = "";
	size_t cut;
	int rw, rs;

	if (size < 1)
		return 0;
	cut = size > 1 ? data[0] % size : 0;
	data++;
	size--;
	if (cut > size)
		cut = size;
	buf_init(&whole, 64 * 1024);
	buf_init(&split, 64 * 1024);
	rw = run_text(data, size, size, &whole);
	rs = run_text(data, size, cut, &split);
	CHECK(rw == rs);
	if (rw == 0) {
		CHECK(whole.len == split.len);
		CHECK(whole.len == 0 || memcmp(whole.data, split.data, whole.len) == 0);
		check_text(&whole);
	}
	buf_clear(&whole);
	buf_clear(&split);

	buf_init(&content, 64 * 1024);
	if (eml_parse(data, size, MAX_LINE, 8, "example.test", &env, &content, err,
	    sizeof(err)) == 0) {
		CHECK(env.sender != NULL && env.nrcpts >= 1 && env.nrcpts <= 8);
		for (size_t i = 0; i < env.nrcpts; i++)
			CHECK(env.rcpts[i] != NULL && env.rcpts[i][0] != '\0');
		check_text(&content);
		eml_env_clear(&env);
	} else {
		CHECK(err[0] != '\0' && content.len == 0);
	}
	buf_clear(&content);
	return 0;
}
