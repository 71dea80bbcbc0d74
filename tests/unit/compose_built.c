/*
 * compose_built.c - test_compose's messages read back with GMime's parser:
 * the MIME tree of each combination of parts, decoded names and subjects,
 * bodies and attachments byte for byte, the encodings chosen, no Bcc, every
 * line CRLF, 7-bit and at most 998 bytes; the envelope; a batch of 1,000;
 * raw messages kept as given.
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
#include "util/xalloc.h"

/* ---- reading back ---- */

static GMimeMessage *
parse(const struct buf *b)
{
	GMimeStream *s = g_mime_stream_mem_new_with_buffer((const char *)b->data, b->len);
	GMimeParser *p = g_mime_parser_new_with_stream(s);
	GMimeMessage *m = g_mime_parser_construct_message(p, NULL);

	g_object_unref(p);
	g_object_unref(s);
	assert_non_null(m);
	return m;
}

/* The decoded content of a leaf part, NUL-terminated after len bytes (owned). */
static char *
content(GMimeObject *o, size_t *len_out)
{
	GMimeDataWrapper *w = g_mime_part_get_content(GMIME_PART(o));
	GMimeStream *ms = g_mime_stream_mem_new();
	GByteArray *ba;
	char *s;

	g_mime_data_wrapper_write_to_stream(w, ms);
	ba = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(ms));
	s = xstrndup(ba->data != NULL ? (const char *)ba->data : "", ba->len);
	*len_out = ba->len;
	g_object_unref(ms);
	return s;
}

static void
assert_content(GMimeObject *o, const char *want, size_t want_len)
{
	size_t len;
	char *got = content(o, &len);

	if (len != want_len || memcmp(got, want, len) != 0)
		fail_msg("content: %zu bytes \"%.60s\", want %zu \"%.60s\"", len, got, want_len,
		    want);
	free(got);
}

/* The tree: "multipart/mixed(text/plain,image/png)". */
static void
describe(GMimeObject *o, struct buf *out)
{
	char *t = g_mime_content_type_get_mime_type(g_mime_object_get_content_type(o));

	buf_append_str(out, t);
	g_free(t);
	if (!GMIME_IS_MULTIPART(o))
		return;
	buf_append_byte(out, '(');
	for (int i = 0; i < g_mime_multipart_get_count(GMIME_MULTIPART(o)); i++) {
		if (i > 0)
			buf_append_byte(out, ',');
		describe(g_mime_multipart_get_part(GMIME_MULTIPART(o), i), out);
	}
	buf_append_byte(out, ')');
}

static GMimeObject *
part_at(GMimeMessage *m, const int *path, size_t n)
{
	GMimeObject *o = g_mime_message_get_mime_part(m);

	for (size_t i = 0; i < n; i++) {
		assert_true(GMIME_IS_MULTIPART(o));
		o = g_mime_multipart_get_part(GMIME_MULTIPART(o), path[i]);
		assert_non_null(o);
	}
	return o;
}
#define PART(m, ...) part_at((m), (const int[]){ __VA_ARGS__ }, \
	sizeof((const int[]){ __VA_ARGS__ }) / sizeof(int))

/* Every line CRLF-ended, at most 998 bytes, and 7-bit unless allowed. */
static void
check_lines(const struct buf *b, int is_8bit_ok)
{
	size_t line = 0;

	assert_true(b->len >= 2 && memcmp(b->data + b->len - 2, "\r\n", 2) == 0);
	for (size_t i = 0; i < b->len; i++) {
		if (b->data[i] == '\r') {
			assert_true(i + 1 < b->len && b->data[i + 1] == '\n');
			i++;
			line = 0;
			continue;
		}
		assert_true(b->data[i] != '\n' && b->data[i] != '\0');
		assert_true(is_8bit_ok || b->data[i] < 0x80);
		assert_true(++line <= 998);
	}
}

static void
build(json_t *req, struct compose_result *r)
{
	struct compose_err e;

	if (compose_message(req, &lim, NOW, "QID0", r, &e) == -1)
		fail_msg("refused: %d %s %s: %s", e.http_status, e.code, e.field, e.message);
	json_decref(req);
}

/* ---- a message with everything ---- */

static char *
b64(const void *p, size_t n)
{
	gchar *g = g_base64_encode(p, n);
	char *s = xstrdup(g);

	g_free(g);
	return s;
}

void
test_full_message(void **state)
{
	uint8_t pdf[1000];
	char *long_line = malloc(3001), *text, *pdf64, *txt64, *png64;
	const char *subject = "Gr\xc3\xbc\xc3\x9f" "e \xe2\x80\x94 \xc3\xbcn\xc3\xaf" "c\xc3\xb6" "d\xc3\xa9 "
	    "and a rather long subject line that has to be folded somewhere along its way";
	struct compose_result r;
	struct buf tree;
	GMimeMessage *m;
	InternetAddressList *l;
	GMimeObject *o;
	size_t len;

	(void)state;
	for (size_t i = 0; i < sizeof(pdf); i++)
		pdf[i] = (uint8_t)(i * 7);
	memset(long_line, 'x', 3000);
	long_line[3000] = '\0';
	assert_true(asprintf(&text, "Hello\nline two \xc3\xa9\n%s\n.\nFrom here\n", long_line) > 0);
	pdf64 = b64(pdf, sizeof(pdf));
	txt64 = b64("a\nb\n", 4);
	png64 = b64("\x89PNG\r\n\x1a\n", 8);
	build(json_pack("{s:{s:s,s:s},s:[s,{s:s,s:s}],s:s,s:[s],s:s,s:s,s:s,s:s,"
	    "s:[{s:s,s:s,s:s},{s:s,s:s,s:s},{s:s,s:s,s:s,s:s}],s:{s:s,s:s}}",
	    "from", "email", "news@example.org", "name", "J\xc3\xb6rg \xc3\x84rger, \"Q\"",
	    "to", "a@example.net", "email", "b@b\xc3\xbc" "cher.example", "name", "Zo\xc3\xab \xc3\x91" "and\xc3\xba",
	    "cc", "c@example.net", "bcc", "hidden@example.net", "reply_to", "r@example.org",
	    "subject", subject, "text", text, "html", "<p>Hi <img src=\"cid:logo@x\"></p>\n",
	    "attachments",
	    "filename", "report.pdf", "content_type", "application/pdf", "content", pdf64,
	    "filename", "r\xc3\xa9sum\xc3\xa9.txt", "content_type", "text/plain; charset=utf-8",
	    "content", txt64,
	    "filename", "logo.png", "content_type", "image/png", "content", png64, "content_id",
	    "<logo@x>",
	    "headers", "X-Campaign", "spring", "X-Note", "Gr\xc3\xbc\xc3\x9f" "e aus K\xc3\xb6ln"), &r);
	check_lines(&r.message, 0);
	assert_null(memmem(r.message.data, r.message.len, "hidden", 6));
	m = parse(&r.message);
	/* the header: names and subject decoded as they were given */
	l = g_mime_message_get_from(m);
	assert_int_equal(internet_address_list_length(l), 1);
	assert_string_equal(internet_address_get_name(internet_address_list_get_address(l, 0)),
	    "J\xc3\xb6rg \xc3\x84rger, \"Q\"");
	l = g_mime_message_get_to(m);
	assert_int_equal(internet_address_list_length(l), 2);
	assert_string_equal(internet_address_get_name(internet_address_list_get_address(l, 1)),
	    "Zo\xc3\xab \xc3\x91" "and\xc3\xba");
	/* the domain goes out in A-labels; GMime's reader shows it in U-labels again */
	assert_non_null(memmem(r.message.data, r.message.len, "<b@xn--bcher-kva.example>", 25));
	assert_string_equal(internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(
	    internet_address_list_get_address(l, 1))), "b@b\xc3\xbc" "cher.example");
	assert_int_equal(internet_address_list_length(g_mime_message_get_cc(m)), 1);
	assert_int_equal(internet_address_list_length(g_mime_message_get_bcc(m)), 0);
	assert_null(g_mime_object_get_header(GMIME_OBJECT(m), "Bcc"));
	assert_string_equal(g_mime_message_get_subject(m), subject);
	assert_string_equal(g_mime_message_get_message_id(m), "QID0@" HOST);
	assert_string_equal(g_mime_object_get_header(GMIME_OBJECT(m), "Date"),
	    "Thu, 1 Jan 2026 00:00:00 +0000");
	assert_string_equal(g_mime_object_get_header(GMIME_OBJECT(m), "MIME-Version"), "1.0");
	assert_string_equal(g_mime_object_get_header(GMIME_OBJECT(m), "X-Campaign"), "spring");
	assert_string_equal(g_mime_object_get_header(GMIME_OBJECT(m), "X-Note"),
	    "Gr\xc3\xbc\xc3\x9f" "e aus K\xc3\xb6ln");
	/* the tree, then every leaf byte for byte (text in canonical CRLF form) */
	buf_init(&tree, 4096);
	describe(g_mime_message_get_mime_part(m), &tree);
	assert_string_equal(buf_cstr(&tree), "multipart/mixed(multipart/alternative(text/plain,"
	    "multipart/related(text/html,image/png)),application/pdf,text/plain)");
	buf_clear(&tree);
	free(text);
	assert_true(asprintf(&text, "Hello\r\nline two \xc3\xa9\r\n%s\r\n.\r\nFrom here\r\n",
	    long_line) > 0);
	o = PART(m, 0, 0);
	assert_int_equal(g_mime_part_get_content_encoding(GMIME_PART(o)),
	    GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE);
	assert_string_equal(g_mime_object_get_content_type_parameter(o, "charset"), "utf-8");
	assert_content(o, text, strlen(text));
	assert_content(PART(m, 0, 1, 0), "<p>Hi <img src=\"cid:logo@x\"></p>\r\n", 34);
	o = PART(m, 0, 1);
	assert_string_equal(g_mime_object_get_content_type_parameter(o, "type"), "text/html");
	o = PART(m, 0, 1, 1);
	assert_string_equal(g_mime_part_get_content_id(GMIME_PART(o)), "logo@x");
	assert_string_equal(g_mime_object_get_disposition(o), "inline");
	assert_content(o, "\x89PNG\r\n\x1a\n", 8);
	o = PART(m, 1);
	assert_string_equal(g_mime_part_get_filename(GMIME_PART(o)), "report.pdf");
	assert_string_equal(g_mime_object_get_disposition(o), "attachment");
	assert_content(o, (const char *)pdf, sizeof(pdf));
	o = PART(m, 2);
	assert_string_equal(g_mime_part_get_filename(GMIME_PART(o)), "r\xc3\xa9sum\xc3\xa9.txt");
	/* an attachment is bytes: its LF line ends stay LF */
	assert_content(o, "a\nb\n", 4);
	g_object_unref(m);
	assert_string_equal(r.sender, "news@example.org");
	assert_int_equal(r.nrcpts, 4);
	assert_string_equal(r.rcpts[3], "hidden@example.net");
	assert_false(r.is_smtputf8);
	assert_false(r.is_8bitmime);
	compose_result_clear(&r);
	(void)len;
	free(long_line);
	free(text);
	free(pdf64);
	free(txt64);
	free(png64);
}

/* ---- which parts make which tree ---- */

#define FROM_TO "\"from\": \"a@x.example\", \"to\": [\"b@y.example\"]"
#define ATT(name, cid) "{\"filename\": \"" name "\", \"content\": \"aGk=\"" cid "}"

void
test_shapes(void **state)
{
	static const struct {
		const char *json, *tree;
	} cases[] = {
		{ "{" FROM_TO ", \"text\": \"t\"}", "text/plain" },
		{ "{" FROM_TO ", \"html\": \"<p>h</p>\"}", "text/html" },
		{ "{" FROM_TO ", \"text\": \"\"}", "text/plain" },
		{ "{" FROM_TO ", \"text\": \"t\", \"html\": \"h\"}",
		  "multipart/alternative(text/plain,text/html)" },
		{ "{" FROM_TO ", \"html\": \"h\", \"attachments\": [" ATT("i.png", ", \"content_id\": \"i\"") "]}",
		  "multipart/related(text/html,application/octet-stream)" },
		/* without html nothing refers to the inline part: it goes with the attachments */
		{ "{" FROM_TO ", \"text\": \"t\", \"attachments\": [" ATT("i.png", ", \"content_id\": \"i\"") "]}",
		  "multipart/mixed(text/plain,application/octet-stream)" },
		{ "{" FROM_TO ", \"text\": \"t\", \"attachments\": [" ATT("a", "") "," ATT("b", "") "]}",
		  "multipart/mixed(text/plain,application/octet-stream,application/octet-stream)" },
		{ "{" FROM_TO ", \"text\": \"t\", \"html\": \"h\", \"attachments\": [" ATT("a", "") ","
		  ATT("i", ", \"content_id\": \"i\"") "]}",
		  "multipart/mixed(multipart/alternative(text/plain,multipart/related(text/html,"
		  "application/octet-stream)),application/octet-stream)" },
	};

	(void)state;
	for (size_t i = 0; i < NELEM(cases); i++) {
		struct compose_result r;
		struct buf tree;
		GMimeMessage *m;

		build(load(cases[i].json), &r);
		check_lines(&r.message, 0);
		m = parse(&r.message);
		buf_init(&tree, 4096);
		describe(g_mime_message_get_mime_part(m), &tree);
		if (strcmp(buf_cstr(&tree), cases[i].tree) != 0)
			fail_msg("%s: %s", cases[i].json, buf_cstr(&tree));
		buf_clear(&tree);
		g_object_unref(m);
		compose_result_clear(&r);
	}
}

/* ---- encodings and line ends ---- */

void
test_encodings(void **state)
{
	static const struct {
		const char *text, *want;
		GMimeContentEncoding enc;
	} cases[] = {
		{ "plain words\n", "plain words\r\n", GMIME_CONTENT_ENCODING_7BIT },
		{ "a\rb\r\nc\nd", "a\r\nb\r\nc\r\nd\r\n", GMIME_CONTENT_ENCODING_7BIT },
		{ "mostly ASCII, caf\xc3\xa9\n", "mostly ASCII, caf\xc3\xa9\r\n",
		  GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE },
		{ "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe3\x81\xae\xe3\x83\x86\xe3\x82\xad\xe3\x82\xb9"
		  "\xe3\x83\x88\n", "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe3\x81\xae\xe3\x83\x86\xe3\x82"
		  "\xad\xe3\x82\xb9\xe3\x83\x88\r\n", GMIME_CONTENT_ENCODING_BASE64 },
	};
	char *long_text = malloc(6003), *subject = malloc(901);
	struct compose_result r;
	GMimeMessage *m;

	(void)state;
	for (size_t i = 0; i < NELEM(cases); i++) {
		GMimeObject *o;

		build(json_pack("{s:s,s:[s],s:s}", "from", "a@x.example", "to", "b@y.example", "text",
		    cases[i].text), &r);
		check_lines(&r.message, 0);
		m = parse(&r.message);
		o = g_mime_message_get_mime_part(m);
		if (g_mime_part_get_content_encoding(GMIME_PART(o)) != cases[i].enc &&
		    !(cases[i].enc == GMIME_CONTENT_ENCODING_7BIT &&
		    g_mime_part_get_content_encoding(GMIME_PART(o)) == GMIME_CONTENT_ENCODING_DEFAULT))
			fail_msg("case %zu: encoding %d", i,
			    (int)g_mime_part_get_content_encoding(GMIME_PART(o)));
		assert_content(o, cases[i].want, strlen(cases[i].want));
		g_object_unref(m);
		compose_result_clear(&r);
	}
	/* a line of 6000 bytes, and a subject of one 900-byte word: both within 998 */
	memset(long_text, 'y', 6000);
	memcpy(long_text + 6000, "\r\n", 3);
	memset(subject, 's', 900);
	subject[900] = '\0';
	build(json_pack("{s:s,s:[s],s:s,s:s}", "from", "a@x.example", "to", "b@y.example", "text",
	    long_text, "subject", subject), &r);
	check_lines(&r.message, 0);
	m = parse(&r.message);
	assert_string_equal(g_mime_message_get_subject(m), subject);
	assert_content(g_mime_message_get_mime_part(m), long_text, 6002);
	g_object_unref(m);
	compose_result_clear(&r);
	free(long_text);
	free(subject);
}

/* ---- the envelope ---- */

void
test_envelope(void **state)
{
	struct compose_result r;
	json_t *tags = json_pack("[s,s]", "welcome", "t2"), *md = json_pack("{s:s}", "user", "42");
	GMimeMessage *m;

	(void)state;
	build(json_pack("{s:s,s:[s,s],s:[s],s:[s],s:s,s:s,s:O,s:O}", "from",
	    "\"john doe\"@X.Example", "to", "A@Example.NET", "a@example.net", "cc",
	    "a@EXAMPLE.net", "bcc", "\xc3\xb8@b\xc3\xa6r.example", "text", "t",
	    "send_at", "2026-01-30T00:00:00+01:00", "tags", tags, "metadata", md), &r);
	/* formatted as RCPT TO takes them; copies merged, ASCII case ignored */
	assert_string_equal(r.sender, "\"john doe\"@x.example");
	assert_int_equal(r.nrcpts, 2);
	assert_string_equal(r.rcpts[0], "A@example.net");
	assert_string_equal(r.rcpts[1], "\xc3\xb8@xn--br-1ia.example");
	/* a UTF-8 local part needs SMTPUTF8 on the way; the message itself stays 7-bit */
	assert_true(r.is_smtputf8);
	assert_false(r.is_8bitmime);
	check_lines(&r.message, 0);
	assert_int_equal(r.send_at_s, 1769727600);
	assert_true(json_equal(r.tags, tags) && r.tags != tags);
	assert_true(json_equal(r.metadata, md) && r.metadata != md);
	m = parse(&r.message);
	assert_string_equal(internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(
	    internet_address_list_get_address(g_mime_message_get_from(m), 0))),
	    "\"john doe\"@x.example");
	g_object_unref(m);
	compose_result_clear(&r);
	json_decref(tags);
	json_decref(md);
	/* bcc alone: To says no one is named; a send_at within the slack means now */
	build(load("{\"from\": \"a@x.example\", \"bcc\": [\"b@y.example\"], \"text\": \"t\", "
	    "\"send_at\": \"2025-12-31T23:59:30Z\"}"), &r);
	assert_non_null(memmem(r.message.data, r.message.len,
	    "\r\nTo: undisclosed-recipients: ;\r\n", 33));
	assert_int_equal(r.send_at_s, 0);
	assert_null(r.tags);
	compose_result_clear(&r);
}

/* ---- batches ---- */

void
test_batch(void **state)
{
	json_t *req = load("{\"from\": {\"email\": \"news@x.example\", \"name\": \"News\"}, "
	    "\"subject\": \"Hi {{name}}\", \"text\": \"Dear {{name}}, {{missing}} {{ name }}\\n\", "
	    "\"html\": \"<p>{{name}}</p>\", \"attachments\": [" ATT("a.txt", "") "], "
	    "\"tags\": [\"nl\"], \"recipients\": []}");
	json_t *rcpts = json_object_get(req, "recipients");
	struct compose_batch *b;
	struct compose_result r;
	struct compose_err e;

	(void)state;
	for (int i = 0; i < 1000; i++) {
		char to[64], name[64];

		snprintf(to, sizeof(to), "user%d@y.example", i);
		snprintf(name, sizeof(name), "N%d & co <b>", i);
		json_array_append_new(rcpts, i == 999 ? json_pack("{s:s}", "to", to) :
		    json_pack("{s:{s:s,s:s},s:{s:s}}", "to", "email", to, "name", name,
		    "substitutions", "name", name));
	}
	b = compose_batch_new(req, &lim, NOW, &e);
	if (b == NULL)
		fail_msg("%s %s: %s", e.code, e.field, e.message);
	assert_int_equal(compose_batch_count(b), 1000);
	for (size_t i = 0; i < 1000; i++) {
		char id[32], to[64], want[256];
		InternetAddressList *l;
		GMimeMessage *m;
		size_t n;

		snprintf(id, sizeof(id), "QID%zu", i);
		snprintf(to, sizeof(to), "user%zu@y.example", i);
		assert_int_equal(compose_batch_build(b, i, id, &r, &e), 0);
		assert_int_equal(r.nrcpts, 1);
		assert_string_equal(r.rcpts[0], to);
		assert_string_equal(r.sender, "news@x.example");
		assert_true(json_equal(r.tags, json_object_get(req, "tags")));
		check_lines(&r.message, 0);
		m = parse(&r.message);
		l = g_mime_message_get_to(m);
		assert_int_equal(internet_address_list_length(l), 1);
		assert_string_equal(internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(
		    internet_address_list_get_address(l, 0))), to);
		assert_string_equal(g_mime_message_get_message_id(m), strcat(id, "@" HOST));
		if (i == 999) {
			/* no substitutions: each {{NAME}} left as written */
			assert_string_equal(g_mime_message_get_subject(m), "Hi {{name}}");
			assert_content(PART(m, 0, 0), "Dear {{name}}, {{missing}} {{ name }}\r\n", 39);
		} else {
			snprintf(want, sizeof(want), "Hi N%zu & co <b>", i);
			assert_string_equal(g_mime_message_get_subject(m), want);
			n = (size_t)snprintf(want, sizeof(want),
			    "Dear N%zu & co <b>, {{missing}} {{ name }}\r\n", i);
			assert_content(PART(m, 0, 0), want, n);
			/* text, not markup: escaped in html */
			n = (size_t)snprintf(want, sizeof(want), "<p>N%zu &amp; co &lt;b&gt;</p>\r\n", i);
			assert_content(PART(m, 0, 1), want, n);
		}
		assert_content(PART(m, 1), "hi", 2);
		g_object_unref(m);
		compose_result_clear(&r);
	}
	compose_batch_free(&b);
	assert_null(b);
	/* one more is too many */
	json_array_append_new(rcpts, json_pack("{s:s}", "to", "last@y.example"));
	assert_null(compose_batch_new(req, &lim, NOW, &e));
	assert_string_equal(e.code, "too_many_recipients");
	assert_string_equal(e.field, "recipients");
	assert_int_equal(e.http_status, 422);
	json_decref(req);
}

/* ---- raw messages ---- */

void
test_raw(void **state)
{
	static const struct {
		const char *json, *want;
		int is_8bit, is_utf8;
	} cases[] = {
		{ "\"message\": \"From: a@x.example\\nSubject: x\\n\\nline\\rnext\\r\\nend\"",
		  "From: a@x.example\r\nSubject: x\r\n\r\nline\r\nnext\r\nend\r\n", 0, 0 },
		{ "\"message\": \"From: a@x.example\"", "From: a@x.example\r\n", 0, 0 },
		/* kept as given, Bcc and all: the client built it */
		{ "\"message\": \"from: a@x.example\\r\\nBcc: z@x.example\\r\\n\\tcont\\r\\n\\r\\nb\\r\\n\"",
		  "from: a@x.example\r\nBcc: z@x.example\r\n\tcont\r\n\r\nb\r\n", 0, 0 },
		{ "\"message\": \"From: a@x.example\\r\\n\\r\\nGr\\u00fc\\u00dfe\"",
		  "From: a@x.example\r\n\r\nGr\xc3\xbc\xc3\x9f" "e\r\n", 1, 0 },
		/* "From: Jörg <a@x.example>\r\n\r\nhi\r\n": UTF-8 in the header (RFC 6532) */
		{ "\"message_base64\": \"RnJvbTogSsO2cmcgPGFAeC5leGFtcGxlPg0KDQpoaQ0K\"",
		  "From: J\xc3\xb6rg <a@x.example>\r\n\r\nhi\r\n", 1, 1 },
	};

	(void)state;
	for (size_t i = 0; i < NELEM(cases); i++) {
		struct compose_result r;
		struct compose_err e;
		char *text;
		json_t *req;

		assert_true(asprintf(&text, "{\"from\": \"a@x.example\", \"to\": [\"b@y.example\", "
		    "\"B@y.example\"], \"tags\": [\"t\"], %s}", cases[i].json) > 0);
		req = load(text);
		if (compose_raw(req, &lim, NOW, &r, &e) == -1)
			fail_msg("%s: %s %s: %s", text, e.code, e.field, e.message);
		if (r.message.len != strlen(cases[i].want) ||
		    memcmp(r.message.data, cases[i].want, r.message.len) != 0)
			fail_msg("%s: got \"%.*s\"", text, (int)r.message.len, r.message.data);
		assert_int_equal(r.is_8bitmime, cases[i].is_8bit);
		assert_int_equal(r.is_smtputf8, cases[i].is_utf8);
		assert_int_equal(r.nrcpts, 1);
		assert_string_equal(r.sender, "a@x.example");
		assert_non_null(r.tags);
		compose_result_clear(&r);
		json_decref(req);
		free(text);
	}
}
