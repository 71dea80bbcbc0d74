/*
 * fuzz_compose.c - the API's sending requests, JSON to message (src/compose).
 * Byte 0 of the input picks the request (message, raw, batch), the rest is
 * JSON (\u0000 kept, as the API may keep it). A request is refused with a
 * code, a status of the API and a message; or it gives an envelope (a
 * sender, 1 to max recipients) and a message within the bound whose lines
 * all end in CRLF, hold no NUL and keep to 998 bytes; a built one is 7-bit
 * but for UTF-8 addresses, names no Bcc in its header, and GMime reads it
 * back as a message.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <gmime/gmime.h>
#include <jansson.h>

#include "compose/compose.h"
#include "util/ascii.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)	do { if (!(cond)) abort(); } while (0)
#define MAX_BYTES (64 * 1024)
#define MAX_RCPTS 8

static void
check_message(const struct compose_result *r, int is_built)
{
	const uint8_t *p = r->message.data, *end;
	size_t line = 0, head;

	CHECK(r->sender != NULL && r->sender[0] != '\0');
	CHECK(r->nrcpts >= 1 && r->nrcpts <= MAX_RCPTS);
	for (size_t i = 0; i < r->nrcpts; i++)
		CHECK(r->rcpts[i] != NULL && r->rcpts[i][0] != '\0');
	CHECK(r->message.len >= 2 && r->message.len <= MAX_BYTES);
	CHECK(p[r->message.len - 2] == '\r' && p[r->message.len - 1] == '\n');
	for (size_t i = 0; i < r->message.len; i++) {
		CHECK(p[i] != '\0');
		CHECK(!is_built || p[i] < 0x80 || r->is_smtputf8);
		if (p[i] == '\r') {
			CHECK(i + 1 < r->message.len && p[i + 1] == '\n');
			i++;
			line = 0;
			continue;
		}
		CHECK(p[i] != '\n');
		CHECK(++line <= 998);
	}
	if (!is_built)
		return;
	end = memmem(p, r->message.len, "\r\n\r\n", 4);
	CHECK(end != NULL);
	head = (size_t)(end - p) + 2;
	for (size_t i = 0; i + 4 <= head; i++)
		CHECK(!((i == 0 || p[i - 1] == '\n') && ascii_casen_eq(p + i, "Bcc:", 4)));
}

/* GMime reads a built message back as a message. */
static void
check_readable(const struct compose_result *r)
{
	GMimeStream *s = g_mime_stream_mem_new_with_buffer((const char *)r->message.data,
	    r->message.len);
	GMimeParser *parser = g_mime_parser_new_with_stream(s);
	GMimeMessage *m = g_mime_parser_construct_message(parser, NULL);

	CHECK(m != NULL && g_mime_message_get_mime_part(m) != NULL);
	g_object_unref(m);
	g_object_unref(parser);
	g_object_unref(s);
}

static void
check_refusal(const struct compose_err *e)
{
	CHECK(e->code != NULL && e->message[0] != '\0');
	CHECK(e->http_status == 400 || e->http_status == 413 || e->http_status == 422);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct compose_limits lim;
	struct compose_result r;
	struct compose_err e;
	json_error_t jerr;
	json_t *req;
	int mode;

	if (size < 1)
		return 0;
	mode = data[0] % 3;
	if ((req = json_loadb((const char *)data + 1, size - 1, JSON_ALLOW_NUL | JSON_DECODE_ANY,
	    &jerr)) == NULL)
		return 0;
	compose_limits_init(&lim);
	lim.hostname = "mx.example.test";
	lim.max_rcpts = MAX_RCPTS;
	lim.max_batch = MAX_RCPTS;
	lim.max_message_bytes = MAX_BYTES;
	if (mode == 2) {
		struct compose_batch *b = compose_batch_new(req, &lim, 1767225600, &e);

		if (b == NULL) {
			check_refusal(&e);
		} else {
			CHECK(compose_batch_count(b) >= 1 && compose_batch_count(b) <= MAX_RCPTS);
			for (size_t i = 0; i < compose_batch_count(b); i++) {
				if (compose_batch_build(b, i, "QID", &r, &e) == -1) {
					CHECK(strcmp(e.code, "body_too_large") == 0);
					continue;
				}
				CHECK(r.nrcpts == 1);
				check_message(&r, 1);
				check_readable(&r);
				compose_result_clear(&r);
			}
			compose_batch_free(&b);
		}
	} else if ((mode == 0 ? compose_message(req, &lim, 1767225600, "QID", &r, &e) :
	    compose_raw(req, &lim, 1767225600, &r, &e)) == 0) {
		check_message(&r, mode == 0);
		if (mode == 0)
			check_readable(&r);
		compose_result_clear(&r);
	} else {
		check_refusal(&e);
	}
	json_decref(req);
	return 0;
}
