/*
 * test_compose.c - the API's sending requests (src/compose): every refusal
 * with its exact bad input, code and field; messages built and read back
 * with GMime's parser (structure, decoded names and subject, bodies and
 * attachments byte for byte, no Bcc, 7-bit lines of at most 998 bytes);
 * the envelope; batches of 1,000 with substitutions; raw messages;
 * send_at's bounds (its syntax is util/rfc3339's, tested in test_util.c);
 * the base64 reader; the size bounds.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gmime/gmime.h>

#include "compose/compose_int.h"
#include "compose_built.h"
#include "mime/mime.h"
#include "util/xalloc.h"

#define OK_BASE "\"from\": \"a@x.example\", \"to\": [\"b@y.example\"], \"text\": \"t\""

enum mode { MSG, RAW, BATCH };

struct compose_limits lim;

json_t *
load(const char *text)
{
	json_error_t e;
	/* the API may keep \u0000 (JSON_ALLOW_NUL): the checks must not depend on it being cut */
	json_t *j = json_loads(text, JSON_ALLOW_NUL | JSON_DECODE_ANY, &e);

	if (j == NULL)
		fail_msg("bad test JSON: %s: %s", e.text, text);
	return j;
}

/* Runs a request: 0 with *out, or -1 with *err. */
static int
run(enum mode m, json_t *req, struct compose_result *out, struct compose_err *err)
{
	struct compose_batch *b;
	int r;

	memset(err, 0, sizeof(*err));
	if (m == MSG)
		return compose_message(req, &lim, NOW, "QID0", out, err);
	if (m == RAW)
		return compose_raw(req, &lim, NOW, out, err);
	memset(out, 0, sizeof(*out));
	if ((b = compose_batch_new(req, &lim, NOW, err)) == NULL)
		return -1;
	r = compose_batch_build(b, 0, "QID0", out, err);
	compose_batch_free(&b);
	return r;
}

/* ---- refusals ---- */

static const struct {
	enum mode mode;
	const char *json;
	int status;
	const char *code, *field;
} bad[] = {
	{ MSG, "[]", 400, "invalid_request", "" },
	{ MSG, "\"x\"", 400, "invalid_request", "" },
	{ MSG, "{}", 422, "invalid_field", "from" },
	{ MSG, "{" OK_BASE ", \"attachements\": []}", 422, "invalid_field", "attachements" },
	/* from */
	{ MSG, "{\"from\": 5, \"to\": [\"b@y.example\"], \"text\": \"t\"}", 422, "invalid_field", "from" },
	{ MSG, "{\"from\": \"no address\", \"to\": [\"b@y.example\"], \"text\": \"t\"}", 422, "invalid_field", "from" },
	{ MSG, "{\"from\": \"\", \"to\": [\"b@y.example\"], \"text\": \"t\"}", 422, "invalid_field", "from" },
	{ MSG, "{\"from\": \"<>\", \"to\": [\"b@y.example\"], \"text\": \"t\"}", 422, "invalid_field", "from" },
	{ MSG, "{\"from\": \"a\\u0000b@x.example\", \"to\": [\"b@y.example\"], \"text\": \"t\"}", 422, "invalid_field", "from" },
	{ MSG, "{\"from\": \"postmaster\", \"to\": [\"b@y.example\"], \"text\": \"t\"}", 422, "invalid_field", "from" },
	{ MSG, "{\"from\": \"@r.example:a@x.example\", \"to\": [\"b@y.example\"], \"text\": \"t\"}", 422, "invalid_field", "from" },
	{ MSG, "{\"from\": \"a@x.example\\r\\nRCPT TO:<c@z>\", \"to\": [\"b@y.example\"], \"text\": \"t\"}", 422, "invalid_field", "from" },
	{ MSG, "{\"from\": \"a@x..example\", \"to\": [\"b@y.example\"], \"text\": \"t\"}", 422, "invalid_field", "from" },
	/* no valid Punycode: GMime would write it back as UTF-8 (found by fuzz_compose) */
	{ MSG, "{\"from\": \"a@x.xn--excmple\", \"to\": [\"b@y.example\"], \"text\": \"t\"}", 422, "invalid_field", "from" },
	{ MSG, "{\"from\": \"a@x.b\u00fc.xn--excmple\", \"to\": [\"b@y.example\"], \"text\": \"t\"}", 422, "invalid_field", "from" },
	{ MSG, "{\"from\": {\"email\": \"a@x.example\", \"name\": \"A\\r\\nBcc: e@evil.example\"}, \"to\": [\"b@y.example\"], \"text\": \"t\"}", 422, "invalid_field", "from.name" },
	{ MSG, "{\"from\": {\"email\": \"a@x.example\", \"nick\": \"A\"}, \"to\": [\"b@y.example\"], \"text\": \"t\"}", 422, "invalid_field", "from.nick" },
	{ MSG, "{\"from\": {\"name\": \"A\"}, \"to\": [\"b@y.example\"], \"text\": \"t\"}", 422, "invalid_field", "from.email" },
	{ MSG, "{\"from\": [\"a@x.example\"], \"to\": [\"b@y.example\"], \"text\": \"t\"}", 422, "invalid_field", "from" },
	/* recipients */
	{ MSG, "{\"from\": \"a@x.example\", \"text\": \"t\"}", 422, "invalid_field", "to" },
	{ MSG, "{\"from\": \"a@x.example\", \"to\": [], \"text\": \"t\"}", 422, "invalid_field", "to" },
	{ MSG, "{\"from\": \"a@x.example\", \"to\": [5], \"text\": \"t\"}", 422, "invalid_field", "to[0]" },
	{ MSG, "{\"from\": \"a@x.example\", \"to\": [\"b@y.example\", \"bad\"], \"text\": \"t\"}", 422, "invalid_field", "to[1]" },
	{ MSG, "{\"from\": \"a@x.example\", \"to\": [{\"email\": \"b@y.example\", \"name\": 7}], \"text\": \"t\"}", 422, "invalid_field", "to[0].name" },
	{ MSG, "{\"from\": \"a@x.example\", \"to\": 5, \"text\": \"t\"}", 422, "invalid_field", "to" },
	{ MSG, "{\"from\": \"a@x.example\", \"bcc\": [\"b@y.example\", \"c@y.example\", \"\"], \"text\": \"t\"}", 422, "invalid_field", "bcc[2]" },
	{ MSG, "{" OK_BASE ", \"reply_to\": [\"r@x.example\"]}", 422, "invalid_field", "reply_to" },
	/* subject, text, html */
	{ MSG, "{" OK_BASE ", \"subject\": \"hi\\r\\nBcc: e@evil.example\"}", 422, "invalid_field", "subject" },
	{ MSG, "{" OK_BASE ", \"subject\": \"a\\u0000b\"}", 422, "invalid_field", "subject" },
	{ MSG, "{" OK_BASE ", \"subject\": 5}", 422, "invalid_field", "subject" },
	{ MSG, "{\"from\": \"a@x.example\", \"to\": [\"b@y.example\"]}", 422, "invalid_field", "text" },
	{ MSG, "{\"from\": \"a@x.example\", \"to\": [\"b@y.example\"], \"text\": 5}", 422, "invalid_field", "text" },
	{ MSG, "{\"from\": \"a@x.example\", \"to\": [\"b@y.example\"], \"text\": \"a\\u0000b\"}", 422, "invalid_field", "text" },
	{ MSG, "{\"from\": \"a@x.example\", \"to\": [\"b@y.example\"], \"html\": [\"x\"]}", 422, "invalid_field", "html" },
	/* extra header fields */
	{ MSG, "{" OK_BASE ", \"headers\": []}", 422, "invalid_field", "headers" },
	{ MSG, "{" OK_BASE ", \"headers\": {\"Bcc\": \"e@evil.example\"}}", 422, "invalid_field", "headers.Bcc" },
	{ MSG, "{" OK_BASE ", \"headers\": {\"content-type\": \"text/html\"}}", 422, "invalid_field", "headers.content-type" },
	{ MSG, "{" OK_BASE ", \"headers\": {\"Message-ID\": \"<x@y>\"}}", 422, "invalid_field", "headers.Message-ID" },
	{ MSG, "{" OK_BASE ", \"headers\": {\"RECEIVED\": \"from x\"}}", 422, "invalid_field", "headers.RECEIVED" },
	{ MSG, "{" OK_BASE ", \"headers\": {\"DKIM-Signature\": \"v=1\"}}", 422, "invalid_field", "headers.DKIM-Signature" },
	{ MSG, "{" OK_BASE ", \"headers\": {\"Resent-From\": \"a@x.example\"}}", 422, "invalid_field", "headers.Resent-From" },
	{ MSG, "{" OK_BASE ", \"headers\": {\"ARC-Seal\": \"i=1\"}}", 422, "invalid_field", "headers.ARC-Seal" },
	{ MSG, "{" OK_BASE ", \"headers\": {\"Authentication-Results\": \"x\"}}", 422, "invalid_field", "headers.Authentication-Results" },
	{ MSG, "{" OK_BASE ", \"headers\": {\"MIME-Version\": \"1.0\"}}", 422, "invalid_field", "headers.MIME-Version" },
	{ MSG, "{" OK_BASE ", \"headers\": {\"Date\": \"today\"}}", 422, "invalid_field", "headers.Date" },
	{ MSG, "{" OK_BASE ", \"headers\": {\"X-A\": \"b\\r\\nBcc: e@evil.example\"}}", 422, "invalid_field", "headers.X-A" },
	{ MSG, "{" OK_BASE ", \"headers\": {\"X-A\": \"b\\nc\"}}", 422, "invalid_field", "headers.X-A" },
	{ MSG, "{" OK_BASE ", \"headers\": {\"X-A\": \"b\\u0000c\"}}", 422, "invalid_field", "headers.X-A" },
	{ MSG, "{" OK_BASE ", \"headers\": {\"X-A\": 5}}", 422, "invalid_field", "headers.X-A" },
	{ MSG, "{" OK_BASE ", \"headers\": {\"X A\": \"b\"}}", 422, "invalid_field", "headers.X A" },
	{ MSG, "{" OK_BASE ", \"headers\": {\"X:A\": \"b\"}}", 422, "invalid_field", "headers.X:A" },
	{ MSG, "{" OK_BASE ", \"headers\": {\"X\\r\\nBcc\": \"b\"}}", 422, "invalid_field", "headers.X??Bcc" },
	{ MSG, "{" OK_BASE ", \"headers\": {\"\": \"b\"}}", 422, "invalid_field", "headers." },
	{ MSG, "{" OK_BASE ", \"headers\": {\"X-\xc3\x9c\": \"b\"}}", 422, "invalid_field", "headers.X-\xc3\x9c" },
	/* attachments */
	{ MSG, "{" OK_BASE ", \"attachments\": {}}", 422, "invalid_field", "attachments" },
	{ MSG, "{" OK_BASE ", \"attachments\": [5]}", 422, "invalid_field", "attachments[0]" },
	{ MSG, "{" OK_BASE ", \"attachments\": [{\"content\": \"aGk=\"}]}", 422, "invalid_field", "attachments[0].filename" },
	{ MSG, "{" OK_BASE ", \"attachments\": [{\"filename\": \"a\"}]}", 422, "invalid_field", "attachments[0].content" },
	{ MSG, "{" OK_BASE ", \"attachments\": [{\"filename\": \"a\", \"content\": \"a-b_\"}]}", 422, "invalid_field", "attachments[0].content" },
	{ MSG, "{" OK_BASE ", \"attachments\": [{\"filename\": \"a\", \"content\": \"aGk\"}]}", 422, "invalid_field", "attachments[0].content" },
	{ MSG, "{" OK_BASE ", \"attachments\": [{\"filename\": \"a\", \"content\": \"a===\"}]}", 422, "invalid_field", "attachments[0].content" },
	{ MSG, "{" OK_BASE ", \"attachments\": [{\"filename\": \"a\", \"content\": \"aGk=aGk=\"}]}", 422, "invalid_field", "attachments[0].content" },
	{ MSG, "{" OK_BASE ", \"attachments\": [{\"filename\": \"a\", \"content\": \"aGk=\\u0000\"}]}", 422, "invalid_field", "attachments[0].content" },
	{ MSG, "{" OK_BASE ", \"attachments\": [{\"filename\": \"a\", \"content\": 5}]}", 422, "invalid_field", "attachments[0].content" },
	{ MSG, "{" OK_BASE ", \"attachments\": [{\"filename\": \"a\\nb\", \"content\": \"aGk=\"}]}", 422, "invalid_field", "attachments[0].filename" },
	{ MSG, "{" OK_BASE ", \"attachments\": [{\"filename\": \"\", \"content\": \"aGk=\"}]}", 422, "invalid_field", "attachments[0].filename" },
	{ MSG, "{" OK_BASE ", \"attachments\": [{\"filename\": \"a\", \"content\": \"aGk=\", \"content_type\": \"text\"}]}", 422, "invalid_field", "attachments[0].content_type" },
	{ MSG, "{" OK_BASE ", \"attachments\": [{\"filename\": \"a\", \"content\": \"aGk=\", \"content_type\": \"multipart/mixed\"}]}", 422, "invalid_field", "attachments[0].content_type" },
	{ MSG, "{" OK_BASE ", \"attachments\": [{\"filename\": \"a\", \"content\": \"aGk=\", \"content_type\": \"message/rfc822\"}]}", 422, "invalid_field", "attachments[0].content_type" },
	{ MSG, "{" OK_BASE ", \"attachments\": [{\"filename\": \"a\", \"content\": \"aGk=\", \"content_type\": \"text/plain\\r\\nBcc: e\"}]}", 422, "invalid_field", "attachments[0].content_type" },
	{ MSG, "{" OK_BASE ", \"attachments\": [{\"filename\": \"a\", \"content\": \"aGk=\", \"content_type\": \"t\xc3\xa9xt/plain\"}]}", 422, "invalid_field", "attachments[0].content_type" },
	{ MSG, "{" OK_BASE ", \"attachments\": [{\"filename\": \"a\", \"content\": \"aGk=\", \"content_type\": \"text/pl@in\"}]}", 422, "invalid_field", "attachments[0].content_type" },
	{ MSG, "{" OK_BASE ", \"attachments\": [{\"filename\": \"a\", \"content\": \"aGk=\", \"content_id\": \"a b\"}]}", 422, "invalid_field", "attachments[0].content_id" },
	{ MSG, "{" OK_BASE ", \"attachments\": [{\"filename\": \"a\", \"content\": \"aGk=\", \"content_id\": \"<>\"}]}", 422, "invalid_field", "attachments[0].content_id" },
	{ MSG, "{" OK_BASE ", \"attachments\": [{\"filename\": \"a\", \"content\": \"aGk=\", \"content_id\": \"x>\"}]}", 422, "invalid_field", "attachments[0].content_id" },
	{ MSG, "{" OK_BASE ", \"attachments\": [{\"filename\": \"a\", \"content\": \"aGk=\", \"content_id\": \"c@x\"}, {\"filename\": \"b\", \"content\": \"aGk=\", \"content_id\": \"<c@x>\"}]}", 422, "invalid_field", "attachments[1].content_id" },
	{ MSG, "{" OK_BASE ", \"attachments\": [{\"filename\": \"a\", \"content\": \"aGk=\", \"disposition\": \"inline\"}]}", 422, "invalid_field", "attachments[0].disposition" },
	/* tags, metadata */
	{ MSG, "{" OK_BASE ", \"tags\": \"x\"}", 422, "invalid_field", "tags" },
	{ MSG, "{" OK_BASE ", \"tags\": [1]}", 422, "invalid_field", "tags[0]" },
	{ MSG, "{" OK_BASE ", \"tags\": [\"a\", \"\"]}", 422, "invalid_field", "tags[1]" },
	{ MSG, "{" OK_BASE ", \"tags\": [\"a\\nb\"]}", 422, "invalid_field", "tags[0]" },
	{ MSG, "{" OK_BASE ", \"tags\": [\"1\",\"2\",\"3\",\"4\",\"5\",\"6\",\"7\",\"8\",\"9\",\"10\",\"11\"]}", 422, "invalid_field", "tags" },
	{ MSG, "{" OK_BASE ", \"metadata\": []}", 422, "invalid_field", "metadata" },
	{ MSG, "{" OK_BASE ", \"metadata\": {\"k\": 1}}", 422, "invalid_field", "metadata.k" },
	{ MSG, "{" OK_BASE ", \"metadata\": {\"k\": {\"a\": \"b\"}}}", 422, "invalid_field", "metadata.k" },
	{ MSG, "{" OK_BASE ", \"metadata\": {\"k\": \"a\\u0000\"}}", 422, "invalid_field", "metadata.k" },
	{ MSG, "{" OK_BASE ", \"metadata\": {\"\": \"a\"}}", 422, "invalid_field", "metadata." },
	/* send_at, against NOW = 2026-01-01T00:00:00Z and 30 days */
	{ MSG, "{" OK_BASE ", \"send_at\": \"tomorrow\"}", 422, "invalid_field", "send_at" },
	{ MSG, "{" OK_BASE ", \"send_at\": \"2026-01-02T10:00:00\"}", 422, "invalid_field", "send_at" },
	{ MSG, "{" OK_BASE ", \"send_at\": \"2025-12-31T23:58:59Z\"}", 422, "invalid_field", "send_at" },
	{ MSG, "{" OK_BASE ", \"send_at\": \"2026-01-31T00:00:01Z\"}", 422, "invalid_field", "send_at" },
	{ MSG, "{" OK_BASE ", \"send_at\": \"2026-02-30T00:00:00Z\"}", 422, "invalid_field", "send_at" },
	{ MSG, "{" OK_BASE ", \"send_at\": 1767225600}", 422, "invalid_field", "send_at" },
	/* raw */
	{ RAW, "[1]", 400, "invalid_request", "" },
	{ RAW, "{\"to\": [\"b@y.example\"], \"message\": \"From: a@x.example\\r\\n\\r\\nhi\"}", 422, "invalid_field", "from" },
	{ RAW, "{\"from\": \"a@x.example\", \"message\": \"From: a@x.example\\r\\n\\r\\nhi\"}", 422, "invalid_field", "to" },
	{ RAW, "{\"from\": \"a@x.example\", \"to\": [\"b@y.example\"]}", 422, "invalid_field", "message" },
	{ RAW, "{\"from\": \"a@x.example\", \"to\": [\"b@y.example\"], \"message\": \"From: a@x.example\\r\\n\\r\\nhi\", \"message_base64\": \"\"}", 422, "invalid_field", "message" },
	{ RAW, "{\"from\": \"a@x.example\", \"to\": [\"b@y.example\"], \"cc\": [\"c@y.example\"], \"message\": \"From: a@x.example\\r\\n\\r\\nhi\"}", 422, "invalid_field", "cc" },
	{ RAW, "{\"from\": \"a@x.example\", \"to\": [\"b@y.example\"], \"message\": 5}", 422, "invalid_field", "message" },
	{ RAW, "{\"from\": \"a@x.example\", \"to\": [\"b@y.example\"], \"message\": \"\"}", 422, "invalid_field", "message" },
	{ RAW, "{\"from\": \"a@x.example\", \"to\": [\"b@y.example\"], \"message\": \"From: a@x.example\\r\\n\\r\\nh\\u0000i\"}", 422, "invalid_field", "message" },
	{ RAW, "{\"from\": \"a@x.example\", \"to\": [\"b@y.example\"], \"message\": \"hello\\r\\n\"}", 422, "invalid_field", "message" },
	{ RAW, "{\"from\": \"a@x.example\", \"to\": [\"b@y.example\"], \"message\": \"Subject: x\\r\\n\\r\\nhi\\r\\n\"}", 422, "invalid_field", "message" },
	{ RAW, "{\"from\": \"a@x.example\", \"to\": [\"b@y.example\"], \"message\": \" From: a@x.example\\r\\n\\r\\nhi\"}", 422, "invalid_field", "message" },
	{ RAW, "{\"from\": \"a@x.example\", \"to\": [\"b@y.example\"], \"message\": \"From: a@x.example\\r\\nnot a field\\r\\n\\r\\nhi\"}", 422, "invalid_field", "message" },
	{ RAW, "{\"from\": \"a@x.example\", \"to\": [\"b@y.example\"], \"message_base64\": \"!!!!\"}", 422, "invalid_field", "message_base64" },
	/* "From: a\0" */
	{ RAW, "{\"from\": \"a@x.example\", \"to\": [\"b@y.example\"], \"message_base64\": \"RnJvbTogYQA=\"}", 422, "invalid_field", "message_base64" },
	/* batch */
	{ BATCH, "{\"from\": \"a@x.example\", \"to\": [\"b@y.example\"], \"text\": \"t\", \"recipients\": [{\"to\": \"c@y.example\"}]}", 422, "invalid_field", "to" },
	{ BATCH, "{\"from\": \"a@x.example\", \"bcc\": [\"b@y.example\"], \"text\": \"t\", \"recipients\": [{\"to\": \"c@y.example\"}]}", 422, "invalid_field", "bcc" },
	{ BATCH, "{\"from\": \"a@x.example\", \"text\": \"t\"}", 422, "invalid_field", "recipients" },
	{ BATCH, "{\"from\": \"a@x.example\", \"text\": \"t\", \"recipients\": []}", 422, "invalid_field", "recipients" },
	{ BATCH, "{\"from\": \"a@x.example\", \"text\": \"t\", \"recipients\": [5]}", 422, "invalid_field", "recipients[0]" },
	{ BATCH, "{\"from\": \"a@x.example\", \"text\": \"t\", \"recipients\": [{}]}", 422, "invalid_field", "recipients[0].to" },
	{ BATCH, "{\"from\": \"a@x.example\", \"text\": \"t\", \"recipients\": [{\"to\": \"bad\"}]}", 422, "invalid_field", "recipients[0].to" },
	{ BATCH, "{\"from\": \"a@x.example\", \"text\": \"t\", \"recipients\": [{\"to\": \"c@y.example\", \"x\": 1}]}", 422, "invalid_field", "recipients[0].x" },
	{ BATCH, "{\"from\": \"a@x.example\", \"text\": \"t\", \"recipients\": [{\"to\": \"c@y.example\"}, {\"to\": \"C@Y.example\"}]}", 422, "invalid_field", "recipients[1].to" },
	{ BATCH, "{\"from\": \"a@x.example\", \"text\": \"t\", \"recipients\": [{\"to\": \"c@y.example\", \"substitutions\": []}]}", 422, "invalid_field", "recipients[0].substitutions" },
	{ BATCH, "{\"from\": \"a@x.example\", \"text\": \"t\", \"recipients\": [{\"to\": \"c@y.example\", \"substitutions\": {\"bad name\": \"x\"}}]}", 422, "invalid_field", "recipients[0].substitutions.bad name" },
	{ BATCH, "{\"from\": \"a@x.example\", \"text\": \"t\", \"recipients\": [{\"to\": \"c@y.example\", \"substitutions\": {\"n\": 5}}]}", 422, "invalid_field", "recipients[0].substitutions.n" },
	{ BATCH, "{\"from\": \"a@x.example\", \"text\": \"t\", \"recipients\": [{\"to\": \"c@y.example\", \"substitutions\": {\"n\": \"a\\u0000\"}}]}", 422, "invalid_field", "recipients[0].substitutions.n" },
	/* a value for the subject goes into a header field: no line breaks */
	{ BATCH, "{\"from\": \"a@x.example\", \"subject\": \"Hi {{n}}\", \"text\": \"t\", \"recipients\": [{\"to\": \"c@y.example\", \"substitutions\": {\"n\": \"x\\r\\nBcc: e@evil.example\"}}]}", 422, "invalid_field", "recipients[0].substitutions.n" },
};

static void
test_refusals(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(bad); i++) {
		json_t *req = load(bad[i].json);
		struct compose_result r;
		struct compose_err e;

		if (run(bad[i].mode, req, &r, &e) != -1)
			fail_msg("accepted: %s", bad[i].json);
		if (e.http_status != bad[i].status || e.code == NULL ||
		    strcmp(e.code, bad[i].code) != 0 || strcmp(e.field, bad[i].field) != 0)
			fail_msg("%s: got %d %s \"%s\" (%s)", bad[i].json, e.http_status,
			    e.code ? e.code : "(null)", e.field, e.message);
		assert_true(e.message[0] != '\0');
		/* a refusal leaves nothing behind to free or to send */
		assert_null(r.sender);
		assert_null(r.message.data);
		compose_result_clear(&r);
		json_decref(req);
	}
}

/* Requests too large to write in the table: each with a text made here. */
static char *
repeat(char c, size_t n)
{
	char *s = malloc(n + 1);

	memset(s, c, n);
	s[n] = '\0';
	return s;
}

static void
expect_at(int line, enum mode m, json_t *req, int status, const char *code, const char *field)
{
	struct compose_result r;
	struct compose_err e;

	if (run(m, req, &r, &e) != -1)
		fail_msg("line %d: accepted", line);
	if (e.http_status != status || strcmp(e.code, code) != 0 || strcmp(e.field, field) != 0)
		fail_msg("line %d: got %d %s \"%s\" (%s), want %s %s", line, e.http_status, e.code,
		    e.field, e.message, code, field);
	json_decref(req);
}

#define expect(...) expect_at(__LINE__, __VA_ARGS__)

static void
test_bounds(void **state)
{
	char *s = repeat('a', 999), *w = repeat('w', 1000), *v = repeat('v', 4097);
	json_t *req, *a;

	(void)state;
	expect(MSG, json_pack("{s:s,s:[s],s:s,s:s}", "from", "a@x.example", "to", "b@y.example",
	    "text", "t", "subject", s), 422, "invalid_field", "subject");
	/* a word no fold can break: the line would pass 998 */
	expect(MSG, json_pack("{s:s,s:[s],s:s,s:{s:s}}", "from", "a@x.example", "to",
	    "b@y.example", "text", "t", "headers", "X-Word", w), 422, "invalid_field",
	    "headers.X-Word");
	expect(MSG, json_pack("{s:s,s:[s],s:s,s:{s:s}}", "from", "a@x.example", "to",
	    "b@y.example", "text", "t", "headers", "X-Big", v), 422, "invalid_field",
	    "headers.X-Big");
	/* 51 entries, counted as given: copies do not make room */
	req = json_pack("{s:s,s:s}", "from", "a@x.example", "text", "t");
	a = json_array();
	for (int i = 0; i < 30; i++)
		json_array_append_new(a, json_string("same@y.example"));
	json_object_set_new(req, "to", a);
	a = json_array();
	for (int i = 0; i < 21; i++)
		json_array_append_new(a, json_string("same@y.example"));
	json_object_set_new(req, "cc", a);
	expect(MSG, req, 422, "too_many_recipients", "cc");
	/* 51 extra header fields */
	req = json_pack("{s:s,s:[s],s:s,s:{}}", "from", "a@x.example", "to", "b@y.example",
	    "text", "t", "headers");
	for (int i = 0; i < 51; i++) {
		char name[16];

		snprintf(name, sizeof(name), "X-H%d", i);
		json_object_set_new(json_object_get(req, "headers"), name, json_string("v"));
	}
	expect(MSG, req, 422, "invalid_field", "headers");
	/* the message bound: the text alone, then what only the build finds (QP growth) */
	lim.max_message_bytes = 2000;
	expect(MSG, json_pack("{s:s,s:[s],s:s}", "from", "a@x.example", "to", "b@y.example",
	    "text", v), 413, "body_too_large", "text");
	memset(s, '=', 900);
	expect(MSG, json_pack("{s:s,s:[s],s:s}", "from", "a@x.example", "to", "b@y.example",
	    "text", s), 413, "body_too_large", "");
	for (size_t i = 0; i + 16 <= 4096; i += 16)
		memcpy(v + i, "aGVsbG8gd29ybGQK", 16);	/* 3 KiB decoded */
	expect(MSG, json_pack("{s:s,s:[s],s:s,s:[{s:s,s:s}]}", "from", "a@x.example", "to",
	    "b@y.example", "text", "t", "attachments", "filename", "a", "content", v),
	    413, "body_too_large", "attachments[0].content");
	/* each fits alone, not both together */
	v[1024] = '\0';
	expect(MSG, json_pack("{s:s,s:[s],s:s,s:[{s:s,s:s},{s:s,s:s}]}", "from", "a@x.example",
	    "to", "b@y.example", "text", "t", "attachments", "filename", "a", "content", v,
	    "filename", "b", "content", v), 413, "body_too_large", "attachments");
	memset(v, 'v', 4096);
	expect(RAW, json_pack("{s:s,s:[s],s:s}", "from", "a@x.example", "to", "b@y.example",
	    "message", v), 413, "body_too_large", "message");
	compose_limits_init(&lim);
	lim.hostname = HOST;
	/* a line of 999 bytes in a raw message */
	memcpy(v, "From: a@x.example\r\n\r\n", 21);
	v[21 + 999] = '\0';
	expect(RAW, json_pack("{s:s,s:[s],s:s}", "from", "a@x.example", "to", "b@y.example",
	    "message", v), 422, "invalid_field", "message");
	free(s);
	free(w);
	free(v);
}

/* ---- base64, alone ---- */

static void
test_b64(void **state)
{
	static const struct {
		const char *in;
		int want;
		const char *out;
		size_t len;
	} cases[] = {
		{ "", 0, "", 0 },
		{ "aGk=", 0, "hi", 2 },
		{ "aGVsbG8=", 0, "hello", 5 },
		{ "aGVs\r\nbG8h", 0, "hello!", 6 },
		{ " aG k= ", 0, "hi", 2 },
		{ "AA==", 0, "\0", 1 },
		{ "aGk", -1, NULL, 0 },
		{ "a", -1, NULL, 0 },
		{ "aG==x", -1, NULL, 0 },
		{ "aGk=aGk=", -1, NULL, 0 },
		{ "a===", -1, NULL, 0 },
		{ "====", -1, NULL, 0 },
		{ "aGk==", -1, NULL, 0 },
		{ "a-b_", -1, NULL, 0 },
		{ "aGk=\x00", -1, NULL, 0 },
	};

	(void)state;
	for (size_t i = 0; i < NELEM(cases); i++) {
		struct buf b;
		int r;

		buf_init(&b, 1024);
		r = compose_b64_decode(cases[i].in, strlen(cases[i].in) + (i == NELEM(cases) - 1),
		    &b);
		if (r != cases[i].want || (r == 0 && (b.len != cases[i].len ||
		    (b.len > 0 && memcmp(b.data, cases[i].out, b.len) != 0))))
			fail_msg("\"%s\": %d, %zu bytes", cases[i].in, r, b.len);
		buf_clear(&b);
	}
}

static int
setup(void **state)
{
	(void)state;
	compose_limits_init(&lim);
	lim.hostname = HOST;
	setenv("TZ", "UTC", 1);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	mime_shutdown();
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_b64),
		cmocka_unit_test(test_full_message),
		cmocka_unit_test(test_shapes),
		cmocka_unit_test(test_encodings),
		cmocka_unit_test(test_envelope),
		cmocka_unit_test(test_batch),
		cmocka_unit_test(test_raw),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
