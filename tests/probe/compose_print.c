/*
 * compose_print.c - builds the messages of a sending request (src/compose)
 * from a JSON file, for tests/e2e/test_compose.py, which reads them back
 * with Python's email package: a second MIME reader, written by others.
 *
 *   compose_print message FILE		the message on standard output
 *   compose_print raw FILE		the same for /v1/messages/raw
 *   compose_print batch FILE DIR	DIR/0.eml, DIR/1.eml, ... one per recipient
 *
 * The JSON is read as the API reads it, \u0000 kept (so that the NUL
 * checks are reached). Each envelope is one JSON line on standard error
 * ({"sender", "rcpts", "smtputf8", "8bitmime", "send_at", "tags",
 * "metadata"}); a refusal is {"error": {"status", "code", "field",
 * "message"}} there, with exit status 2. The time of the request is
 * COMPOSE_NOW (seconds since the epoch) or 2026-01-01T00:00:00Z; the
 * Message-ID's left side is "QID" and the message's index; the host name
 * mx.example.test.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "compose/compose.h"
#include "mime/mime.h"

static void
print_env(const struct compose_result *r)
{
	json_t *o = json_object(), *rc = json_array();
	char *s;

	for (size_t i = 0; i < r->nrcpts; i++)
		json_array_append_new(rc, json_string(r->rcpts[i]));
	json_object_set_new(o, "sender", json_string(r->sender));
	json_object_set_new(o, "rcpts", rc);
	json_object_set_new(o, "smtputf8", json_boolean(r->is_smtputf8));
	json_object_set_new(o, "8bitmime", json_boolean(r->is_8bitmime));
	json_object_set_new(o, "send_at", json_integer(r->send_at_s));
	json_object_set(o, "tags", r->tags != NULL ? r->tags : json_null());
	json_object_set(o, "metadata", r->metadata != NULL ? r->metadata : json_null());
	s = json_dumps(o, JSON_COMPACT);
	fprintf(stderr, "%s\n", s);
	free(s);
	json_decref(o);
}

static int
refused(const struct compose_err *e)
{
	json_t *o = json_pack("{s:{s:i,s:s,s:s,s:s}}", "error", "status", e->http_status,
	    "code", e->code, "field", e->field, "message", e->message);
	char *s = json_dumps(o, JSON_COMPACT);

	fprintf(stderr, "%s\n", s);
	free(s);
	json_decref(o);
	return 2;
}

static int
write_file(const char *path, const struct buf *b)
{
	FILE *f = fopen(path, "wb");
	int r = 0;

	if (f == NULL || fwrite(b->data, 1, b->len, f) != b->len)
		r = -1;
	if (f != NULL && fclose(f) != 0)
		r = -1;
	return r;
}

static int
run(const char *mode, json_t *req, const char *dir, const struct compose_limits *lim,
    int64_t now)
{
	struct compose_result r;
	struct compose_err e;

	if (strcmp(mode, "batch") == 0) {
		struct compose_batch *b = compose_batch_new(req, lim, now, &e);

		if (b == NULL)
			return refused(&e);
		for (size_t i = 0; i < compose_batch_count(b); i++) {
			char id[32], path[4096];

			snprintf(id, sizeof(id), "QID%zu", i);
			snprintf(path, sizeof(path), "%s/%zu.eml", dir, i);
			if (compose_batch_build(b, i, id, &r, &e) == -1) {
				compose_batch_free(&b);
				return refused(&e);
			}
			print_env(&r);
			if (write_file(path, &r.message) == -1) {
				perror(path);
				exit(1);
			}
			compose_result_clear(&r);
		}
		compose_batch_free(&b);
		return 0;
	}
	if ((strcmp(mode, "raw") == 0 ? compose_raw(req, lim, now, &r, &e) :
	    compose_message(req, lim, now, "QID0", &r, &e)) == -1)
		return refused(&e);
	print_env(&r);
	fwrite(r.message.data, 1, r.message.len, stdout);
	compose_result_clear(&r);
	return 0;
}

int
main(int argc, char **argv)
{
	struct compose_limits lim;
	json_error_t jerr;
	json_t *req;
	const char *now_env = getenv("COMPOSE_NOW");
	int64_t now = now_env != NULL ? strtoll(now_env, NULL, 10) : 1767225600;
	int r;

	if (argc < 3 || (strcmp(argv[1], "batch") == 0 && argc < 4)) {
		fprintf(stderr, "usage: compose_print message|raw FILE, or batch FILE DIR\n");
		return 1;
	}
	if ((req = json_load_file(argv[2], JSON_ALLOW_NUL, &jerr)) == NULL) {
		fprintf(stderr, "%s:%d: %s\n", argv[2], jerr.line, jerr.text);
		return 1;
	}
	compose_limits_init(&lim);
	lim.hostname = "mx.example.test";
	if (getenv("COMPOSE_MAX_BYTES") != NULL)
		lim.max_message_bytes = strtoull(getenv("COMPOSE_MAX_BYTES"), NULL, 10);
	r = run(argv[1], req, argc > 3 ? argv[3] : NULL, &lim, now);
	json_decref(req);
	mime_shutdown();
	return r;
}
