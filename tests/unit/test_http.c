/*
 * test_http.c - the HTTP API's pure parts (src/http): request framing with
 * the exact bad bytes, each case whole, split at every byte and fed a byte
 * at a time (the verdict must not change); route patterns and request
 * paths (escapes, dot segments, literals over parameters); the error codes
 * and their one JSON shape; the keys file's lines and their reasons, new
 * keys checked back, rates and scopes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/http_int.h"

#define IN(s) (const uint8_t *)(s), sizeof(s) - 1
#define NELEM_OF(a) (sizeof(a) / sizeof((a)[0]))

/* ---- framing ---- */

static const struct http_frame_limits lim = { .max_head_bytes = 256, .max_headers = 6,
	.max_body_bytes = 16 };

enum { OK_END = -1, OK_MORE = -2 };

struct fr_case {
	const uint8_t *in;
	size_t len;
	int want;		/* OK_END, OK_MORE, or an enum http_err */
	size_t used;		/* OK_END: where the first request ends (0: all of it) */
};

static const struct fr_case fr_cases[] = {
	{ IN("GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n"), OK_END, 0 },
	{ IN("GET /v1/health HTTP/1.0\r\n\r\n"), OK_END, 0 },
	/* pipelined: the first ends where it ends */
	{ IN("GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n"), OK_END, 19 },
	{ IN("POST /x HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello"), OK_END, 0 },
	{ IN("POST /x HTTP/1.1\r\ncontent-length:  5 \r\n\r\nhelloGET"), OK_END, 46 },
	{ IN("POST /x HTTP/1.1\r\nContent-Length: 0\r\n\r\n"), OK_END, 0 },
	{ IN("POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"),
	    OK_END, 0 },
	{ IN("POST /x HTTP/1.1\r\nTransfer-Encoding: Chunked\r\n\r\nA\r\n0123456789\r\n"
	    "1\r\nx\r\n0\r\n\r\n"), OK_END, 0 },
	{ IN("POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n00005\r\nhello\r\n000\r\n\r\n"),
	    OK_END, 0 },
	{ IN("POST /x HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\nx"), OK_END, 0 },
	{ IN("HEAD /x HTTP/1.1\r\nContent-Length: 0\r\n\r\n"), OK_END, 0 },
	{ IN("GET /x HTTP/1.1\r\nX: caf\xc3\xa9\r\n\r\n"), OK_END, 0 },	/* obs-text */
	{ IN("GET /x HTTP/1.1\r\nHost: x\r\n"), OK_MORE, 0 },
	{ IN("POST /x HTTP/1.1\r\nContent-Length: 5\r\n\r\nhell"), OK_MORE, 0 },
	/* line ends and bytes the head may not hold */
	{ IN("GET /x HTTP/1.1\nHost: x\r\n\r\n"), HTTP_ERR_INVALID_REQUEST, 0 },
	{ IN("GET /x HTTP/1.1\r\nX: a\rb\r\n\r\n"), HTTP_ERR_INVALID_REQUEST, 0 },
	{ IN("GET /x HTTP/1.1\r\nX: a\0b\r\n\r\n"), HTTP_ERR_INVALID_REQUEST, 0 },
	{ IN("GET /x HTTP/1.1\r\nX: a\x01\r\n\r\n"), HTTP_ERR_INVALID_REQUEST, 0 },
	{ IN("GET /x HTTP/1.1\r\nX: a\x7f\r\n\r\n"), HTTP_ERR_INVALID_REQUEST, 0 },
	{ IN("\r\nGET /x HTTP/1.1\r\n\r\n"), HTTP_ERR_INVALID_REQUEST, 0 },
	/* header lines */
	{ IN("GET /x HTTP/1.1\r\nX: a\r\n b\r\n\r\n"), HTTP_ERR_INVALID_REQUEST, 0 },
	{ IN("GET /x HTTP/1.1\r\nHost : x\r\n\r\n"), HTTP_ERR_INVALID_REQUEST, 0 },
	{ IN("GET /x HTTP/1.1\r\n: x\r\n\r\n"), HTTP_ERR_INVALID_REQUEST, 0 },
	{ IN("GET /x HTTP/1.1\r\nNoColon\r\n\r\n"), HTTP_ERR_INVALID_REQUEST, 0 },
	/* the body's framing: no room for two readings */
	{ IN("POST /x HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx"),
	    HTTP_ERR_INVALID_REQUEST, 0 },
	{ IN("POST /x HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n"),
	    HTTP_ERR_INVALID_REQUEST, 0 },
	{ IN("POST /x HTTP/1.1\r\nContent-Length: +5\r\n\r\n"), HTTP_ERR_INVALID_REQUEST, 0 },
	{ IN("POST /x HTTP/1.1\r\nContent-Length: 5x\r\n\r\n"), HTTP_ERR_INVALID_REQUEST, 0 },
	{ IN("POST /x HTTP/1.1\r\nContent-Length: 0x5\r\n\r\n"), HTTP_ERR_INVALID_REQUEST, 0 },
	{ IN("POST /x HTTP/1.1\r\nContent-Length:\r\n\r\n"), HTTP_ERR_INVALID_REQUEST, 0 },
	{ IN("POST /x HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"),
	    HTTP_ERR_NOT_IMPLEMENTED, 0 },
	{ IN("POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"),
	    HTTP_ERR_INVALID_REQUEST, 0 },
	{ IN("POST /x HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
	    HTTP_ERR_INVALID_REQUEST, 0 },
	{ IN("HEAD /x HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello"), HTTP_ERR_INVALID_REQUEST, 0 },
	{ IN("POST /x HTTP/1.1\r\nExpect: 200-ok\r\n\r\n"), HTTP_ERR_EXPECTATION_FAILED, 0 },
	/* chunks: digits and CRLF only */
	{ IN("POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n0\r\n\r\n"),
	    HTTP_ERR_INVALID_REQUEST, 0 },
	{ IN("POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5 \r\nhello\r\n0\r\n\r\n"),
	    HTTP_ERR_INVALID_REQUEST, 0 },
	{ IN("POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n"),
	    HTTP_ERR_INVALID_REQUEST, 0 },
	{ IN("POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n\r\n5\r\nhello\r\n0\r\n\r\n"),
	    HTTP_ERR_INVALID_REQUEST, 0 },
	{ IN("POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n"),
	    HTTP_ERR_INVALID_REQUEST, 0 },
	{ IN("POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloX\r\n0\r\n\r\n"),
	    HTTP_ERR_INVALID_REQUEST, 0 },
	{ IN("POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: y\r\n\r\n"),
	    HTTP_ERR_INVALID_REQUEST, 0 },
	{ IN("POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n00000000000000001\r\nx\r\n"),
	    HTTP_ERR_INVALID_REQUEST, 0 },
	/* the request line */
	{ IN("BREW /x HTTP/1.1\r\n\r\n"), HTTP_ERR_NOT_IMPLEMENTED, 0 },
	{ IN("get /x HTTP/1.1\r\n\r\n"), HTTP_ERR_NOT_IMPLEMENTED, 0 },
	{ IN("TRACE /x HTTP/1.1\r\n\r\n"), HTTP_ERR_NOT_IMPLEMENTED, 0 },
	{ IN("G(T /x HTTP/1.1\r\n\r\n"), HTTP_ERR_INVALID_REQUEST, 0 },
	{ IN("GET http://a/x HTTP/1.1\r\n\r\n"), HTTP_ERR_INVALID_REQUEST, 0 },
	{ IN("OPTIONS * HTTP/1.1\r\n\r\n"), HTTP_ERR_INVALID_REQUEST, 0 },
	{ IN("GET  /x HTTP/1.1\r\n\r\n"), HTTP_ERR_INVALID_REQUEST, 0 },
	{ IN("GET /x HTTP/2.0\r\n\r\n"), HTTP_ERR_INVALID_REQUEST, 0 },
	{ IN("GET /x HTTP/1.1 \r\n\r\n"), HTTP_ERR_INVALID_REQUEST, 0 },
	{ IN("GET /x\r\n\r\n"), HTTP_ERR_INVALID_REQUEST, 0 },
	{ IN("GET /\xc3\xa9 HTTP/1.1\r\n\r\n"), HTTP_ERR_INVALID_REQUEST, 0 },
	/* bounds: the body at the head (Content-Length) or as it comes (chunked) */
	{ IN("POST /x HTTP/1.1\r\nContent-Length: 16\r\n\r\n0123456789abcdef"), OK_END, 0 },
	{ IN("POST /x HTTP/1.1\r\nContent-Length: 17\r\n\r\n"), HTTP_ERR_BODY_TOO_LARGE, 0 },
	{ IN("POST /x HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n"),
	    HTTP_ERR_INVALID_REQUEST, 0 },
	{ IN("POST /x HTTP/1.1\r\nContent-Length: 9999999999999999999\r\n\r\n"),
	    HTTP_ERR_BODY_TOO_LARGE, 0 },
	{ IN("POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n8\r\n01234567\r\n8\r\n"
	    "89abcdef\r\n0\r\n\r\n"), OK_END, 0 },
	{ IN("POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n8\r\n01234567\r\n9\r\n"),
	    HTTP_ERR_BODY_TOO_LARGE, 0 },
	{ IN("POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\n"),
	    HTTP_ERR_BODY_TOO_LARGE, 0 },
	{ IN("GET /x HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\nE: 5\r\nF: 6\r\n\r\n"), OK_END, 0 },
	{ IN("GET /x HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\nE: 5\r\nF: 6\r\nG: 7\r\n\r\n"),
	    HTTP_ERR_HEADERS_TOO_LARGE, 0 },
};

struct fr_result {
	int verdict;		/* as fr_case.want */
	size_t used;
};

/* The guard's loop over in[0..len) arriving in pieces of step bytes (first piece: first). */
static struct fr_result
drive(const uint8_t *in, size_t len, size_t first, size_t step)
{
	struct http_frame f;
	size_t avail = first < len ? first : len, pos = 0;

	http_frame_init(&f, &lim);
	for (;;) {
		while (pos < avail) {
			size_t n = avail - pos, used = 99;
			enum http_err e;
			const char *why = NULL;
			enum http_frame_step st;

			if (f.state == HTTP_FR_HEAD && n > lim.max_head_bytes)
				n = lim.max_head_bytes;
			st = http_frame_feed(&f, in + pos, n, &used, &e, &why);
			if (st == HTTP_FRAME_MORE) {
				assert_int_equal(used, 0);
				break;
			}
			if (st == HTTP_FRAME_BAD) {
				assert_non_null(why);
				return (struct fr_result){ (int)e, pos };
			}
			assert_true(used <= n);
			pos += used;
			if (st == HTTP_FRAME_END)
				return (struct fr_result){ OK_END, pos };
			assert_true(st == HTTP_FRAME_HEAD || st == HTTP_FRAME_BODY);
		}
		if (avail == len)
			return (struct fr_result){ OK_MORE, pos };
		avail = avail + step < len ? avail + step : len;
	}
}

static void
check_case(size_t i, const struct fr_case *c, struct fr_result got, const char *how)
{
	size_t want_used = c->used ? c->used : c->len;

	if (got.verdict != c->want)
		fail_msg("case %zu (%s): got %d, want %d", i, how, got.verdict, c->want);
	if (c->want == OK_END && got.used != want_used)
		fail_msg("case %zu (%s): ends at %zu, want %zu", i, how, got.used, want_used);
}

static void
test_frame(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM_OF(fr_cases); i++) {
		const struct fr_case *c = &fr_cases[i];

		check_case(i, c, drive(c->in, c->len, c->len, c->len), "whole");
		check_case(i, c, drive(c->in, c->len, 1, 1), "a byte at a time");
		for (size_t k = 1; k < c->len; k++)
			check_case(i, c, drive(c->in, c->len, k, c->len), "split");
	}
}

/* A head longer than max_head_bytes, whatever comes after it. */
static void
test_frame_long_head(void **state)
{
	char head[600];
	struct fr_result r;

	(void)state;
	memset(head, 'a', sizeof(head));
	memcpy(head, "GET /x HTTP/1.1\r\nX: ", 20);
	memcpy(head + sizeof(head) - 4, "\r\n\r\n", 4);
	r = drive((const uint8_t *)head, sizeof(head), sizeof(head), sizeof(head));
	assert_int_equal(r.verdict, HTTP_ERR_HEADERS_TOO_LARGE);
	r = drive((const uint8_t *)head, sizeof(head), 1, 1);
	assert_int_equal(r.verdict, HTTP_ERR_HEADERS_TOO_LARGE);
	/* exactly the bound is fine */
	memcpy(head + lim.max_head_bytes - 4, "\r\n\r\n", 4);
	r = drive((const uint8_t *)head, lim.max_head_bytes, lim.max_head_bytes, 1);
	assert_int_equal(r.verdict, OK_END);
}

/* Requests one after another on a frame made ready again between them. */
static void
test_frame_next(void **state)
{
	static const char two[] = "POST /a HTTP/1.1\r\nContent-Length: 2\r\n\r\nhiGET /b HTTP/1.1\r\n\r\n";
	struct http_frame f;
	enum http_err e;
	const char *why;
	size_t used, pos = 0;

	(void)state;
	http_frame_init(&f, &lim);
	assert_int_equal(http_frame_feed(&f, (const uint8_t *)two, sizeof(two) - 1, &used, &e, &why),
	    HTTP_FRAME_HEAD);
	assert_int_equal(f.method, HTTP_M_POST);
	pos += used;
	assert_int_equal(http_frame_feed(&f, (const uint8_t *)two + pos, sizeof(two) - 1 - pos,
	    &used, &e, &why), HTTP_FRAME_END);
	pos += used;
	http_frame_next_request(&f);
	assert_int_equal(http_frame_feed(&f, (const uint8_t *)two + pos, sizeof(two) - 1 - pos,
	    &used, &e, &why), HTTP_FRAME_END);
	assert_int_equal(f.method, HTTP_M_GET);
	assert_int_equal(pos + used, sizeof(two) - 1);
}

/* ---- paths ---- */

static void
test_patterns(void **state)
{
	static const struct { const char *p; int ok; } cases[] = {
		{ "/v1/messages/{id}", 1 }, { "/v1/health", 1 }, { "/v1/queue/{id}/hold", 1 },
		{ "v1/x", 0 }, { "/v1//x", 0 }, { "/v1/x/", 0 }, { "/", 0 }, { "/v1/{a-b}", 0 },
		{ "/v1/{}", 0 }, { "/v1/a%20b", 0 }, { "/v1/a?b", 0 },
		{ "/1/2/3/4/5/6/7/8/9/10/11/12/13/14/15/16", 1 },
		{ "/1/2/3/4/5/6/7/8/9/10/11/12/13/14/15/16/17", 0 },
	};
	struct http_pattern pat;
	const char *why;

	(void)state;
	for (size_t i = 0; i < NELEM_OF(cases); i++) {
		int rc = http_pattern_parse(cases[i].p, &pat, &why);

		if ((rc == 0) != cases[i].ok)
			fail_msg("pattern %s: got %d", cases[i].p, rc);
		http_pattern_clear(&pat);
	}
}

static void
test_paths(void **state)
{
	static const struct { const char *p; int ok; const char *last; } cases[] = {
		{ "/v1/messages/6C7EAJ89TX000", 1, "6C7EAJ89TX000" },
		{ "/v1/messages/%36C7EAJ89TX000", 1, "6C7EAJ89TX000" },
		{ "/v1/a%20b", 1, "a b" },
		{ "/v1//x", 0, NULL }, { "/v1/x/", 0, NULL }, { "/", 0, NULL }, { "", 0, NULL },
		{ "v1", 0, NULL }, { "/v1/%2F", 0, NULL }, { "/v1/%2f", 0, NULL },
		{ "/v1/%00", 0, NULL }, { "/v1/%zz", 0, NULL }, { "/v1/%4", 0, NULL },
		{ "/v1/%", 0, NULL }, { "/v1/..", 0, NULL }, { "/v1/.", 0, NULL },
		{ "/v1/%2e%2e", 0, NULL }, { "/v1/...", 1, "..." },
	};
	struct http_path p;

	(void)state;
	for (size_t i = 0; i < NELEM_OF(cases); i++) {
		int rc = http_path_split(cases[i].p, &p);

		if ((rc == 0) != cases[i].ok)
			fail_msg("path %s: got %d", cases[i].p, rc);
		if (rc == 0)
			assert_string_equal(p.seg[p.nseg - 1], cases[i].last);
		http_path_clear(&p);
	}
}

static void
test_match(void **state)
{
	struct http_pattern lit, par, two;
	struct http_path p;
	const char *params[HTTP_MAX_PARAMS] = { 0 };
	const char *why;

	(void)state;
	assert_int_equal(http_pattern_parse("/v1/queue/flush", &lit, &why), 0);
	assert_int_equal(http_pattern_parse("/v1/queue/{id}", &par, &why), 0);
	assert_int_equal(http_pattern_parse("/v1/queue/{id}/{op}", &two, &why), 0);
	assert_int_equal(http_path_split("/v1/queue/flush", &p), 0);
	/* the literal wins over the parameter */
	assert_true(http_pattern_match(&lit, &p, NULL) > http_pattern_match(&par, &p, NULL));
	assert_int_equal(http_pattern_match(&two, &p, NULL), 0);
	http_path_clear(&p);
	assert_int_equal(http_path_split("/v1/queue/6C7EAJ89TX000/hold", &p), 0);
	assert_int_equal(http_pattern_match(&lit, &p, NULL), 0);
	assert_int_equal(http_pattern_match(&par, &p, NULL), 0);
	assert_int_not_equal(http_pattern_match(&two, &p, params), 0);
	assert_string_equal(params[0], "6C7EAJ89TX000");
	assert_string_equal(params[1], "hold");
	http_path_clear(&p);
	http_pattern_clear(&lit);
	http_pattern_clear(&par);
	http_pattern_clear(&two);
}

/* ---- errors ---- */

static void
test_errors(void **state)
{
	/* docs/api.md's list: code and status */
	static const struct { enum http_err e; const char *code; int status; } want[] = {
		{ HTTP_ERR_INVALID_JSON, "invalid_json", 400 },
		{ HTTP_ERR_INVALID_REQUEST, "invalid_request", 400 },
		{ HTTP_ERR_UNAUTHORIZED, "unauthorized", 401 },
		{ HTTP_ERR_FORBIDDEN, "forbidden", 403 },
		{ HTTP_ERR_NOT_FOUND, "not_found", 404 },
		{ HTTP_ERR_METHOD_NOT_ALLOWED, "method_not_allowed", 405 },
		{ HTTP_ERR_REQUEST_TIMEOUT, "request_timeout", 408 },
		{ HTTP_ERR_IDEMPOTENCY_CONFLICT, "idempotency_conflict", 409 },
		{ HTTP_ERR_BODY_TOO_LARGE, "body_too_large", 413 },
		{ HTTP_ERR_UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", 415 },
		{ HTTP_ERR_EXPECTATION_FAILED, "expectation_failed", 417 },
		{ HTTP_ERR_INVALID_FIELD, "invalid_field", 422 },
		{ HTTP_ERR_TOO_MANY_RECIPIENTS, "too_many_recipients", 422 },
		{ HTTP_ERR_RATE_LIMITED, "rate_limited", 429 },
		{ HTTP_ERR_HEADERS_TOO_LARGE, "headers_too_large", 431 },
		{ HTTP_ERR_NOT_IMPLEMENTED, "not_implemented", 501 },
		{ HTTP_ERR_UNAVAILABLE, "unavailable", 503 },
	};
	json_t *j;
	char *s;

	(void)state;
	assert_int_equal(NELEM_OF(want), HTTP_NERRS);
	for (size_t i = 0; i < NELEM_OF(want); i++) {
		assert_string_equal(http_err_code(want[i].e), want[i].code);
		assert_int_equal(http_err_status(want[i].e), want[i].status);
		assert_string_not_equal(http_status_text(want[i].status), "Unknown");
	}
	j = http_error_json(HTTP_ERR_INVALID_FIELD, "\"to\" is not an address", "to");
	s = json_dumps(j, JSON_COMPACT);
	assert_string_equal(s, "{\"error\":{\"code\":\"invalid_field\",\"message\":"
	    "\"\\\"to\\\" is not an address\",\"field\":\"to\"}}");
	free(s);
	json_decref(j);
	/* a message that is not UTF-8 still gives the shape */
	j = http_error_json(HTTP_ERR_NOT_FOUND, "no \xff here", NULL);
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "error"), "code")),
	    "not_found");
	assert_non_null(json_string_value(json_object_get(json_object_get(j, "error"),
	    "message")));
	json_decref(j);
}

/* ---- keys ---- */

#define HASH "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

static void
test_keys_file(void **state)
{
	static const struct { const char *text; const char *err; size_t n; } cases[] = {
		{ "", NULL, 0 },
		{ "# nothing\n\n   \t\n", NULL, 0 },
		{ "abcdefghijklmn23 " HASH " scopes=send\n", NULL, 1 },
		{ "abcdefghijklmn23 " HASH " scopes=send,read,admin rate=10/s name=a.b-c_d # ok\r\n"
		    "bbcdefghijklmn23\t" HASH "\tscopes=admin rate=none", NULL, 2 },
		{ "\n\nabcdefghijklmn2 " HASH " scopes=send\n",
		    "k:3: 'abcdefghijklmn2' is not a key id (16 characters of a-z and 2-7, as sterna "
		    "apikey new writes it)", 0 },
		{ "ABCDEFGHIJKLMN23 " HASH " scopes=send\n",
		    "k:1: 'ABCDEFGHIJKLMN23' is not a key id (16 characters of a-z and 2-7, as sterna "
		    "apikey new writes it)", 0 },
		{ "abcdefghijklmn23 sha256:9f86 scopes=send\n",
		    "k:1: the second field is the key's hash, sha256: and 64 hex digits", 0 },
		{ "abcdefghijklmn23\n", "k:1: the second field is the key's hash, sha256: and 64 hex "
		    "digits", 0 },
		{ "abcdefghijklmn23 " HASH "\n", "k:1: no scopes= (send, read, admin)", 0 },
		{ "abcdefghijklmn23 " HASH " scopes=send,send\n", "k:1: scopes: 'send,send' is not "
		    "a list of send, read, admin (once each, comma-separated)", 0 },
		{ "abcdefghijklmn23 " HASH " scopes=root\n", "k:1: scopes: 'root' is not a list of "
		    "send, read, admin (once each, comma-separated)", 0 },
		{ "abcdefghijklmn23 " HASH " scopes=send rate=0/min\n", "k:1: rate: '0/min' is not "
		    "N/s, N/min or N/h (N from 1 to 1000000), or none", 0 },
		{ "abcdefghijklmn23 " HASH " scopes=send rate=5/day\n", "k:1: rate: '5/day' is not "
		    "N/s, N/min or N/h (N from 1 to 1000000), or none", 0 },
		{ "abcdefghijklmn23 " HASH " scopes=send name=a/b\n", "k:1: name: 'a/b' is not a "
		    "name (1 to 64 of A-Z a-z 0-9 . _ -, once)", 0 },
		{ "abcdefghijklmn23 " HASH " scopes=send owner=x\n", "k:1: unknown field 'owner=x' "
		    "(scopes=, rate=, name=)", 0 },
		{ "abcdefghijklmn23 " HASH " scopes=send\x01\n", "k:1: scopes: 'send\\x01' is not a "
		    "list of send, read, admin (once each, comma-separated)", 0 },
		{ "abcdefghijklmn23 " HASH " scopes=send\n# x\nabcdefghijklmn23 " HASH
		    " scopes=read\n", "k:3: key abcdefghijklmn23 is at line 1 already", 0 },
	};
	char err[512];

	(void)state;
	for (size_t i = 0; i < NELEM_OF(cases); i++) {
		struct http_key *keys = NULL;
		size_t n = 99;
		int rc;

		err[0] = '\0';
		rc = http_keys_parse("k", (const uint8_t *)cases[i].text, strlen(cases[i].text),
		    &keys, &n, err, sizeof(err));
		if (cases[i].err == NULL) {
			if (rc != 0)
				fail_msg("case %zu: %s", i, err);
			assert_int_equal(n, cases[i].n);
		} else {
			if (rc != -1)
				fail_msg("case %zu: accepted", i);
			assert_string_equal(err, cases[i].err);
		}
		free(keys);
	}
}

static void
test_keys_round_trip(void **state)
{
	char key[HTTP_KEY_LEN + 1], line[512], err[512], id[HTTP_KEY_ID_LEN + 1], bad[HTTP_KEY_LEN + 1];
	struct http_key k, *keys;
	uint8_t hash[32];
	size_t n;

	(void)state;
	assert_int_equal(http_key_generate(key, &k), 0);
	assert_int_equal(strlen(key), HTTP_KEY_LEN);
	assert_memory_equal(key, HTTP_KEY_PREFIX, strlen(HTTP_KEY_PREFIX));
	k.scopes = HTTP_SCOPE_SEND | HTTP_SCOPE_READ;
	assert_int_equal(http_rate_parse("600/min", &k.rate, &k.rate_window_ms), 0);
	k.has_rate = 1;
	strcpy(k.name, "billing");
	assert_int_equal(http_key_line(&k, line, sizeof(line)), 0);
	assert_non_null(strstr(line, " scopes=send,read rate=600/min name=billing\n"));
	assert_int_equal(http_keys_parse("k", (const uint8_t *)line, strlen(line), &keys, &n, err,
	    sizeof(err)), 0);
	assert_int_equal(n, 1);
	assert_int_equal(keys[0].rate, 600);
	assert_int_equal(keys[0].rate_window_ms, 60000);
	assert_ptr_equal(http_keys_match(keys, n, key, strlen(key)), &keys[0]);
	assert_int_equal(http_key_split(key, strlen(key), id, hash), 0);
	assert_string_equal(id, k.id);
	/* a wrong secret, a wrong length, a wrong prefix, a byte off the alphabet */
	memcpy(bad, key, sizeof(bad));
	bad[HTTP_KEY_LEN - 1] = bad[HTTP_KEY_LEN - 1] == 'a' ? 'b' : 'a';
	assert_null(http_keys_match(keys, n, bad, strlen(bad)));
	assert_null(http_keys_match(keys, n, key, strlen(key) - 1));
	memcpy(bad, key, sizeof(bad));
	bad[0] = 'S';
	assert_null(http_keys_match(keys, n, bad, strlen(bad)));
	memcpy(bad, key, sizeof(bad));
	bad[HTTP_KEY_LEN - 1] = '1';
	assert_int_equal(http_key_split(bad, strlen(bad), id, hash), -1);
	assert_null(http_keys_match(keys, n, "", 0));
	free(keys);
	/* two keys are never alike */
	{
		char key2[HTTP_KEY_LEN + 1];
		struct http_key k2;

		assert_int_equal(http_key_generate(key2, &k2), 0);
		assert_string_not_equal(key, key2);
		assert_string_not_equal(k.id, k2.id);
	}
}

static void
test_scopes_rates(void **state)
{
	unsigned s, r;
	uint32_t w;
	char out[32];

	(void)state;
	assert_int_equal(http_scopes_parse("admin,send", &s), 0);
	assert_int_equal(s, HTTP_SCOPE_ADMIN | HTTP_SCOPE_SEND);
	assert_string_equal(http_scopes_str(s, out), "send,admin");
	assert_int_equal(http_scopes_parse("", &s), -1);
	assert_int_equal(http_scopes_parse("send,", &s), -1);
	assert_int_equal(http_scopes_parse("Send", &s), -1);
	assert_int_equal(http_rate_parse("1/s", &r, &w), 0);
	assert_int_equal(r, 1);
	assert_int_equal(w, 1000);
	assert_int_equal(http_rate_parse("1000000/h", &r, &w), 0);
	assert_int_equal(w, 3600000);
	assert_int_equal(http_rate_parse("none", &r, &w), 0);
	assert_int_equal(r, 0);
	assert_int_equal(http_rate_parse("1000001/h", &r, &w), -1);
	assert_int_equal(http_rate_parse("10", &r, &w), -1);
	assert_int_equal(http_rate_parse("/min", &r, &w), -1);
	assert_int_equal(http_rate_parse("-1/min", &r, &w), -1);
}

int
main(void)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_frame),
		cmocka_unit_test(test_frame_long_head),
		cmocka_unit_test(test_frame_next),
		cmocka_unit_test(test_patterns),
		cmocka_unit_test(test_paths),
		cmocka_unit_test(test_match),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_keys_file),
		cmocka_unit_test(test_keys_round_trip),
		cmocka_unit_test(test_scopes_rates),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
