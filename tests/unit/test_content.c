/*
 * test_content.c - the content step's pure part and its queue records:
 * the header list and the changes filters make to it (msg/header_list.c,
 * the milter's operations, bad values refused byte for byte), and the
 * queue file's F, B and N records as the readers apply them (the final
 * header section in place of the original fields, a new body in place of
 * the old, a new envelope), the spool's own reader on real files, and its
 * transaction writing them (and a hold) into a committed file.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "metrics/metrics.h"
#include "spool_fixture.h"
#include "msg/header_list.h"
#include "spool/record.h"
#include "spool/spool.h"
#include "util/buf.h"
#include "util/qid.h"
#include "util/workq.h"

#define IN(s) (const uint8_t *)(s), sizeof(s) - 1

static void
list_of(struct header_list *l, const char *const *fields)
{
	header_list_init(l);
	for (; *fields != NULL; fields++)
		assert_int_equal(header_list_append_raw(l, (const uint8_t *)*fields,
		    strlen(*fields)), 0);
	assert_false(l->is_changed);
}

static void
assert_list(const struct header_list *l, const char *want)
{
	struct buf b;

	buf_init(&b, 1 << 20);
	assert_int_equal(header_list_write(l, &b), 0);
	assert_int_equal(b.len, l->bytes);
	assert_string_equal(buf_cstr(&b), want);
	buf_clear(&b);
}

static const char *const base[] = {
	"Received: by mx.test (sterna)\r\n\tid X; Sat, 5 Dec 2026 10:00:00 +0000\r\n",
	"From: a@example.org\r\n",
	"X-Tag: one\r\n",
	"Subject: hello\r\n",
	"x-tag:two \r\n",
	NULL,
};
#define BASE \
	"Received: by mx.test (sterna)\r\n\tid X; Sat, 5 Dec 2026 10:00:00 +0000\r\n" \
	"From: a@example.org\r\n" \
	"X-Tag: one\r\n" \
	"Subject: hello\r\n" \
	"x-tag:two \r\n"

static void
test_fields_as_they_came(void **state)
{
	struct header_list l;
	struct header_field f;
	struct slice v;

	(void)state;
	list_of(&l, base);
	assert_int_equal(header_list_count(&l), 5);
	assert_list(&l, BASE);
	f = header_list_get(&l, 0);
	assert_true(header_field_is(&f, "received"));
	v = header_field_value(&f);
	assert_int_equal(v.len, strlen(" by mx.test (sterna)\r\n\tid X; Sat, 5 Dec 2026 10:00:00 +0000"));
	f = header_list_get(&l, 4);
	assert_true(header_field_is(&f, "X-TAG"));
	assert_false(header_field_is(&f, "X-Ta"));
	v = header_field_value(&f);
	assert_true(slice_eq(v, SLICE_LIT("two ")));	/* as it came: trailing space kept */
	/* a raw field without a colon is no field */
	assert_int_equal(header_list_append_raw(&l, IN("no colon\r\n")), -1);
	header_list_clear(&l);
}

static void
test_add_insert(void **state)
{
	struct header_list l;
	char err[128];

	(void)state;
	list_of(&l, base);
	assert_int_equal(header_list_add(&l, "X-Spam", "no", err, sizeof(err)), 0);
	assert_int_equal(header_list_insert(&l, 0, "DKIM-Signature", "v=1;\n\tb=x", err,
	    sizeof(err)), 0);
	assert_int_equal(header_list_insert(&l, 2, "X-Mid", " lead space kept", err,
	    sizeof(err)), 0);
	assert_int_equal(header_list_insert(&l, 999, "X-Last", "end\r\n\tfolded", err,
	    sizeof(err)), 0);
	assert_true(l.is_changed);
	assert_list(&l,
	    "DKIM-Signature: v=1;\r\n\tb=x\r\n"
	    "Received: by mx.test (sterna)\r\n\tid X; Sat, 5 Dec 2026 10:00:00 +0000\r\n"
	    "X-Mid: lead space kept\r\n"
	    "From: a@example.org\r\n"
	    "X-Tag: one\r\n"
	    "Subject: hello\r\n"
	    "x-tag:two \r\n"
	    "X-Spam: no\r\n"
	    "X-Last: end\r\n\tfolded\r\n");
	header_list_clear(&l);
}

static void
test_change_and_delete(void **state)
{
	struct header_list l;
	char err[128];

	(void)state;
	list_of(&l, base);
	/* the second X-Tag, whatever its case, changed in place */
	assert_int_equal(header_list_change(&l, "X-Tag", 2, "TWO", err, sizeof(err)), 0);
	/* the first deleted (NULL and "" alike) */
	assert_int_equal(header_list_change(&l, "x-TAG", 1, NULL, err, sizeof(err)), 0);
	assert_list(&l,
	    "Received: by mx.test (sterna)\r\n\tid X; Sat, 5 Dec 2026 10:00:00 +0000\r\n"
	    "From: a@example.org\r\n"
	    "Subject: hello\r\n"
	    "X-Tag: TWO\r\n");
	assert_int_equal(header_list_change(&l, "Subject", 1, "", err, sizeof(err)), 0);
	/* past the last one: a deletion is nothing, a value is added (smfi_chgheader) */
	assert_int_equal(header_list_change(&l, "Subject", 3, NULL, err, sizeof(err)), 0);
	assert_int_equal(header_list_change(&l, "X-New", 2, "v", err, sizeof(err)), 0);
	assert_list(&l,
	    "Received: by mx.test (sterna)\r\n\tid X; Sat, 5 Dec 2026 10:00:00 +0000\r\n"
	    "From: a@example.org\r\n"
	    "X-Tag: TWO\r\n"
	    "X-New: v\r\n");
	assert_int_equal(header_list_change(&l, "From", 0, "x", err, sizeof(err)), -1);
	header_list_clear(&l);
}

/* A filter's reply is hostile input: nothing it writes may become a second field or the body. */
static void
test_bad_fields_refused(void **state)
{
	static const struct {
		const char *name, *value, *why;
	} cases[] = {
		{ "", "x", "bad header field name" },
		{ "X Y", "x", "bad header field name" },
		{ "X:Y", "x", "bad header field name" },
		{ "X-\x80", "x", "bad header field name" },
		{ "X", "a\nBcc: evil@example.net", "line break in header field value is no fold" },
		{ "X", "a\r\nBcc: evil@example.net", "line break in header field value is no fold" },
		{ "X", "a\r\n\r\nbody", "line break in header field value is no fold" },
		{ "X", "a\n", "line break in header field value is no fold" },
		{ "X", "a\rb", "bare CR in header field value" },
	};
	struct header_list l;
	char err[128], longv[1200];

	(void)state;
	list_of(&l, base);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = '\0';
		assert_int_equal(header_list_add(&l, cases[i].name, cases[i].value, err,
		    sizeof(err)), -1);
		assert_string_equal(err, cases[i].why);
		assert_int_equal(header_list_insert(&l, 0, cases[i].name, cases[i].value, err,
		    sizeof(err)), -1);
		assert_int_equal(header_list_change(&l, "From", 1, cases[i].value[0] ?
		    cases[i].value : "x", err, sizeof(err)), cases[i].name[0] == 'X' &&
		    cases[i].name[1] == '\0' ? -1 : 0);
	}
	/* RFC 5322 2.1.1: 998 bytes a line, the name and colon counted */
	memset(longv, 'a', sizeof(longv));
	longv[998 - 3] = '\0';	/* "X: " + 995 = 998 */
	assert_int_equal(header_list_add(&l, "X", longv, err, sizeof(err)), 0);
	longv[998 - 3] = 'a';
	longv[998 - 2] = '\0';
	assert_int_equal(header_list_add(&l, "X", longv, err, sizeof(err)), -1);
	assert_string_equal(err, "header field line longer than 998 bytes");
	header_list_clear(&l);
}

static void
test_bound(void **state)
{
	struct header_list l;
	char err[128], v[900];
	int r = 0;
	size_t n = 0;

	(void)state;
	header_list_init(&l);
	memset(v, 'v', sizeof(v) - 1);
	v[sizeof(v) - 1] = '\0';
	while ((r = header_list_add(&l, "X-Fill", v, err, sizeof(err))) == 0)
		n++;
	assert_string_equal(err, "header section too large");
	assert_true(l.bytes <= HEADER_LIST_MAX);
	assert_int_equal(header_list_count(&l), n);
	header_list_clear(&l);
}

/* ---- the queue file's records of changes, read back by the spool ---- */

struct sink {
	struct buf b;
};

static int
to_buf(void *ctx, const void *p, size_t n)
{
	return buf_append(&((struct sink *)ctx)->b, p, n);
}

static void
kv(struct buf *p, const char *k, const char *v)
{
	assert_int_equal(rec_kv_add_str(p, k, v), 0);
}

/* F's payload: the two offsets, then the header bytes. */
static void
add_f(struct buf *out, struct rec_chain *chain, uint64_t orig_len, uint64_t body_at,
    const char *header)
{
	struct buf p;
	uint8_t fixed[REC_HEADER_FIXED];

	for (int i = 0; i < 8; i++) {
		fixed[i] = (uint8_t)(orig_len >> (56 - 8 * i));
		fixed[8 + i] = (uint8_t)(body_at >> (56 - 8 * i));
	}
	buf_init(&p, 1 << 20);
	assert_int_equal(buf_append(&p, fixed, sizeof(fixed)), 0);
	assert_int_equal(buf_append_str(&p, header), 0);
	assert_int_equal(rec_append(out, REC_HEADER, p.data, p.len, chain), 0);
	buf_clear(&p);
}

#define ORIG_FIELDS "Received: by mx.test\r\nFrom: a@example.org\r\nSubject: hi\r\n"
#define ORIG_BODY "line 1\r\nline 2\r\n"

/*
 * A queue file as the content step writes one: the content as it came in
 * two C records (cut inside the header section), then what changed.
 */
static void
write_file(const char *dir, const char *qid, int is_newenv, int is_newbody, int has_f,
    uint64_t orig_len)
{
	struct rec_chain chain = { 0, 0 };
	struct buf out, p;
	char path[512];
	FILE *fp;

	buf_init(&out, 4 << 20);
	buf_init(&p, 1 << 20);
	assert_int_equal(buf_append(&out, REC_MAGIC, REC_MAGIC_LEN), 0);
	kv(&p, "qid", qid);
	kv(&p, "proto", "ESMTP");
	assert_int_equal(rec_append(&out, REC_META, p.data, p.len, &chain), 0);
	buf_reset(&p);
	kv(&p, "addr", "a@example.org");
	assert_int_equal(rec_append(&out, REC_SENDER, p.data, p.len, &chain), 0);
	buf_reset(&p);
	kv(&p, "to", "b@example.net");
	kv(&p, "orig", "b@example.net");
	assert_int_equal(rec_append(&out, REC_RCPT, p.data, p.len, &chain), 0);
	assert_int_equal(rec_append(&out, REC_CONTENT, IN("Received: by mx.test\r\nFrom: a@ex"),
	    &chain), 0);
	assert_int_equal(rec_append(&out, REC_CONTENT,
	    IN("ample.org\r\nSubject: hi\r\n\r\n" ORIG_BODY), &chain), 0);
	if (is_newbody) {
		assert_int_equal(rec_append(&out, REC_BODY, IN("new "), &chain), 0);
		assert_int_equal(rec_append(&out, REC_BODY, IN("body\r\n"), &chain), 0);
	}
	if (is_newenv) {
		assert_int_equal(rec_append(&out, REC_NEWENV, "", 0, &chain), 0);
		buf_reset(&p);
		kv(&p, "addr", "bounces@example.org");
		assert_int_equal(rec_append(&out, REC_SENDER, p.data, p.len, &chain), 0);
		for (int i = 0; i < 2; i++) {
			buf_reset(&p);
			kv(&p, "to", i ? "d@example.net" : "c@example.net");
			kv(&p, "orig", i ? "d@example.net" : "c@example.net");
			assert_int_equal(rec_append(&out, REC_RCPT, p.data, p.len, &chain), 0);
		}
	}
	if (has_f)
		add_f(&out, &chain, orig_len, is_newbody ? strlen(ORIG_FIELDS "\r\n") : REC_BODY_KEPT,
		    "DKIM-Signature: v=1\r\n" "Received: by mx.test\r\nFrom: a@example.org\r\n");
	assert_int_equal(rec_append_end(&out, &chain), 0);
	snprintf(path, sizeof(path), "%s/queue/%s", dir, qid);
	assert_non_null(fp = fopen(path, "wb"));
	assert_int_equal(fwrite(out.data, 1, out.len, fp), out.len);
	assert_int_equal(fclose(fp), 0);
	buf_clear(&out);
	buf_clear(&p);
}

static char tmpdir[] = "/tmp/sterna-test-content-XXXXXX";
static struct metrics *spool_metrics;	/* the group commit's figures, for the spool open */

static struct spool *
open_spool(void)
{
	char err[256];
	struct spool *sp;

	assert_non_null(mkdtemp(tmpdir));
	spool_metrics = metrics_new();
	sp = spool_open(tmpdir, NULL, spool_metrics, err, sizeof(err));
	assert_non_null(sp);
	return sp;
}

static void
close_spool(struct spool **sp)
{
	char cmd[600];

	spool_close(sp);
	metrics_free(&spool_metrics);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	assert_int_equal(system(cmd), 0);
	memcpy(tmpdir + strlen(tmpdir) - 6, "XXXXXX", 6);
}

static void
read_back(struct spool *sp, const char *qid, const char *want, const char *sender, size_t nrcpts)
{
	struct sink s;
	struct spool_msg *m;
	char err[256];

	m = spool_msg_load(sp, qid, err, sizeof(err));
	if (m == NULL)
		fail_msg("%s: %s", qid, err);
	assert_string_equal(m->sender, sender);
	assert_int_equal(m->nrcpts, nrcpts);
	assert_int_equal(m->content_bytes, strlen(want));
	spool_msg_free(&m);
	buf_init(&s.b, 1 << 20);
	assert_int_equal(spool_msg_read_content(sp, qid, to_buf, &s), 0);
	assert_string_equal(buf_cstr(&s.b), want);
	buf_clear(&s.b);
}

static void
test_spool_applies_changes(void **state)
{
	struct spool *sp = open_spool();
	uint64_t fields = strlen(ORIG_FIELDS);
	char err[256];

	(void)state;
	/* nothing changed: the content as it came */
	write_file(tmpdir, "AAAAAAAAAAAAA", 0, 0, 0, 0);
	read_back(sp, "AAAAAAAAAAAAA", ORIG_FIELDS "\r\n" ORIG_BODY, "a@example.org", 1);
	/* the header section changed (a field added on top, Subject gone): F in place of the fields */
	write_file(tmpdir, "AAAAAAAAAAAAB", 0, 0, 1, fields);
	read_back(sp, "AAAAAAAAAAAAB", "DKIM-Signature: v=1\r\nReceived: by mx.test\r\n"
	    "From: a@example.org\r\n\r\n" ORIG_BODY, "a@example.org", 1);
	/* and the body replaced: B in place of the body, the empty line kept */
	write_file(tmpdir, "AAAAAAAAAAAAC", 0, 1, 1, fields);
	read_back(sp, "AAAAAAAAAAAAC", "DKIM-Signature: v=1\r\nReceived: by mx.test\r\n"
	    "From: a@example.org\r\n\r\nnew body\r\n", "a@example.org", 1);
	/* the envelope changed: the S and R records after N are the envelope */
	write_file(tmpdir, "AAAAAAAAAAAAD", 1, 0, 0, 0);
	read_back(sp, "AAAAAAAAAAAAD", ORIG_FIELDS "\r\n" ORIG_BODY, "bounces@example.org", 2);
	/* an F that claims more original bytes than there are: the file is bad, not misread */
	write_file(tmpdir, "AAAAAAAAAAAAE", 0, 0, 1, 4096);
	assert_null(spool_msg_load(sp, "AAAAAAAAAAAAE", err, sizeof(err)));
	assert_string_equal(err, "header record beyond the content");
	close_spool(&sp);
}

/* The file qid in the spool's queue/, as bytes (its whole length in *len). */
static uint8_t *
slurp(const char *qid, size_t *len)
{
	char path[512];
	uint8_t *data;
	FILE *fp;
	long n;

	snprintf(path, sizeof(path), "%s/queue/%s", tmpdir, qid);
	assert_non_null(fp = fopen(path, "rb"));
	assert_int_equal(fseek(fp, 0, SEEK_END), 0);
	assert_true((n = ftell(fp)) > 0);
	rewind(fp);
	assert_non_null(data = malloc((size_t)n));
	assert_int_equal(fread(data, 1, (size_t)n, fp), (size_t)n);
	assert_int_equal(fclose(fp), 0);
	*len = (size_t)n;
	return data;
}

static void
spill(const char *qid, const uint8_t *data, size_t len)
{
	char path[512];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/queue/%s", tmpdir, qid);
	assert_non_null(fp = fopen(path, "wb"));
	assert_int_equal(fwrite(data, 1, len, fp), len);
	assert_int_equal(fclose(fp), 0);
}

/* The content is read through the stream's fixed buffer: a short read says EBADMSG. */
static void
assert_content_bad(struct spool *sp, const char *qid)
{
	struct sink s;

	buf_init(&s.b, 1 << 20);
	errno = 0;
	assert_int_equal(spool_msg_read_content(sp, qid, to_buf, &s), -1);
	assert_int_equal(errno, EBADMSG);
	buf_clear(&s.b);
}

static void
test_stream_checks_what_it_reads(void **state)
{
	struct spool *sp = open_spool();
	uint8_t *data;
	const uint8_t *at;
	size_t len;

	(void)state;
	write_file(tmpdir, "AAAAAAAAAAAAG", 0, 0, 1, strlen(ORIG_FIELDS));
	data = slurp("AAAAAAAAAAAAG", &len);
	/* a byte of the body changed on the disk: its record's checksum says so */
	assert_non_null(at = memmem(data, len, "line 2", 6));
	data[at - data] = 'L';
	spill("AAAAAAAAAAAAG", data, len);
	assert_content_bad(sp, "AAAAAAAAAAAAG");
	data[at - data] = 'l';
	/* a file cut inside a content record, or before its end record */
	spill("AAAAAAAAAAAAG", data, (size_t)(at - data));
	assert_content_bad(sp, "AAAAAAAAAAAAG");
	spill("AAAAAAAAAAAAG", data, len - REC_OVERHEAD - 8);
	assert_content_bad(sp, "AAAAAAAAAAAAG");
	/* whole again: read as filters left it */
	spill("AAAAAAAAAAAAG", data, len);
	read_back(sp, "AAAAAAAAAAAAG", "DKIM-Signature: v=1\r\nReceived: by mx.test\r\n"
	    "From: a@example.org\r\n\r\n" ORIG_BODY, "a@example.org", 1);
	free(data);
	close_spool(&sp);
}

/* Records larger than the stream's buffer, and more of them than fit at once. */
static void
test_stream_big_records(void **state)
{
	struct spool *sp = open_spool();
	struct rec_chain chain = { 0, 0 };
	struct spool_content *sc;
	struct buf out, p, want, got;
	struct slice piece;
	size_t sizes[] = { 1, 300 * 1024, 65536 - 9, 65536, 200000, 7 };
	char path[512];
	FILE *fp;
	int r;

	(void)state;
	buf_init(&out, 8 << 20);
	buf_init(&p, 1 << 20);
	buf_init(&want, 8 << 20);
	buf_init(&got, 8 << 20);
	assert_int_equal(buf_append(&out, REC_MAGIC, REC_MAGIC_LEN), 0);
	kv(&p, "qid", "AAAAAAAAAAAAH");
	assert_int_equal(rec_append(&out, REC_META, p.data, p.len, &chain), 0);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		buf_reset(&p);
		for (size_t k = 0; k < sizes[i]; k++)
			assert_int_equal(buf_append_byte(&p, (uint8_t)('a' + (i * 7 + k) % 26)), 0);
		assert_int_equal(rec_append(&out, REC_CONTENT, p.data, p.len, &chain), 0);
		assert_int_equal(buf_append(&want, p.data, p.len), 0);
	}
	assert_int_equal(rec_append_end(&out, &chain), 0);
	snprintf(path, sizeof(path), "%s/queue/AAAAAAAAAAAAH", tmpdir);
	assert_non_null(fp = fopen(path, "wb"));
	assert_int_equal(fwrite(out.data, 1, out.len, fp), out.len);
	assert_int_equal(fclose(fp), 0);
	assert_non_null(sc = spool_content_open(sp, "AAAAAAAAAAAAH"));
	while ((r = spool_content_next(sc, &piece)) == 1) {
		/* one buffer's worth at most: the stream's memory does not follow the message */
		assert_true(piece.len > 0 && piece.len <= 64 * 1024);
		assert_int_equal(buf_append(&got, piece.p, piece.len), 0);
	}
	assert_int_equal(r, 0);
	assert_int_equal(spool_content_next(sc, &piece), 0);
	spool_content_close(&sc);
	assert_null(sc);
	assert_int_equal(got.len, want.len);
	assert_memory_equal(got.data, want.data, want.len);
	errno = 0;
	assert_null(spool_content_open(sp, "AAAAAAAAAAAAZ"));
	assert_int_equal(errno, ENOENT);
	buf_clear(&out);
	buf_clear(&p);
	buf_clear(&want);
	buf_clear(&got);
	close_spool(&sp);
}

/*
 * The F record where the stream's first buffer ends: before it, across it
 * (its header or its payload cut by the buffer's end), and past it. The
 * records within the first buffer are found there; the rest are read.
 */
static void
test_stream_header_record_at_the_first_buffer_end(void **state)
{
	static const char fhdr[] = "DKIM-Signature: v=1\r\nFrom: a@example.org\r\n";
	const long at[] = { -4000, -40, -12, -3, 0, 5, 3000 };
	struct spool *sp = open_spool();
	struct buf out, p, want;
	struct sink s;

	(void)state;
	buf_init(&out, 4 << 20);
	buf_init(&p, 1 << 20);
	buf_init(&want, 4 << 20);
	for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
		struct rec_chain chain = { 0, 0 };
		char qid[QID_LEN + 1];
		size_t empty_at, pad;

		snprintf(qid, sizeof(qid), "AAAAAAAAAAAJ%c", (char)('A' + i));
		/* where F would start with an empty body, so that it starts at 64 KiB + at[i] */
		buf_reset(&out);
		buf_reset(&p);
		assert_int_equal(buf_append(&out, REC_MAGIC, REC_MAGIC_LEN), 0);
		kv(&p, "qid", qid);
		assert_int_equal(rec_append(&out, REC_META, p.data, p.len, &chain), 0);
		empty_at = out.len + REC_OVERHEAD + strlen(ORIG_FIELDS "\r\n");
		pad = (size_t)((long)REC_MAGIC_LEN + 64 * 1024 + at[i] - (long)empty_at);
		buf_reset(&p);
		assert_int_equal(buf_append_str(&p, ORIG_FIELDS "\r\n"), 0);
		for (size_t k = 0; k < pad; k++)
			assert_int_equal(buf_append_byte(&p, (uint8_t)('a' + k % 26)), 0);
		assert_int_equal(rec_append(&out, REC_CONTENT, p.data, p.len, &chain), 0);
		assert_int_equal(out.len, (size_t)((long)REC_MAGIC_LEN + 64 * 1024 + at[i]));
		add_f(&out, &chain, strlen(ORIG_FIELDS), REC_BODY_KEPT, fhdr);
		assert_int_equal(rec_append_end(&out, &chain), 0);
		spill(qid, out.data, out.len);
		/* as filters left it: F's fields, then the content past the original ones */
		buf_reset(&want);
		assert_int_equal(buf_append_str(&want, fhdr), 0);
		assert_int_equal(buf_append(&want, p.data + strlen(ORIG_FIELDS),
		    p.len - strlen(ORIG_FIELDS)), 0);
		buf_init(&s.b, 4 << 20);
		assert_int_equal(spool_msg_read_content(sp, qid, to_buf, &s), 0);
		assert_int_equal(s.b.len, want.len);
		assert_memory_equal(s.b.data, want.data, want.len);
		buf_clear(&s.b);
	}
	buf_clear(&out);
	buf_clear(&p);
	buf_clear(&want);
	close_spool(&sp);
}

/* ---- the spool transaction writes them: a new body, envelope, header section, hold ---- */

static void
test_txn_writes_changes(void **state)
{
	static const char content[] = "Received: by mx.test\r\nSubject: hi\r\n\r\nold body\r\n";
	struct workq *wq = workq_new(1);
	struct spool_msg *env = spool_msg_new(), *m;
	struct committed c = { 0, SPOOL_ERR_IO };
	struct spool_txn *t;
	struct sink snk;
	struct spool *sp;
	char err[256];
	const uint64_t fields = strlen("Received: by mx.test\r\nSubject: hi\r\n");

	(void)state;
	assert_non_null(mkdtemp(tmpdir));
	spool_metrics = metrics_new();
	assert_non_null(sp = spool_open(tmpdir, wq, spool_metrics, err, sizeof(err)));
	memcpy(env->qid, "AAAAAAAAAAAAF", QID_LEN + 1);
	env->sender = strdup("a@example.org");
	assert_int_equal(spool_msg_add_rcpt(env, "b@example.net", "b@example.net", NULL), 1);
	t = spool_txn_new(sp, env, NULL, 0);
	assert_int_equal(spool_txn_write(t, content, sizeof(content) - 1), 0);
	/* a filter replaces the body, changes the envelope and the header section, holds it */
	spool_txn_begin_body(t, fields + 2);
	assert_int_equal(spool_txn_write(t, "new ", 4), 0);
	assert_int_equal(spool_txn_write(t, "body\r\n", 6), 0);
	free(env->sender);
	env->sender = strdup("bounces@example.org");
	assert_int_equal(spool_msg_add_rcpt(env, "c@example.net", "c@example.net", NULL), 1);
	spool_txn_set_envelope(t, env);
	assert_int_equal(spool_txn_set_header(t, fields, "X-Spam: no\r\nReceived: by mx.test\r\n",
	    strlen("X-Spam: no\r\nReceived: by mx.test\r\n")), 0);
	spool_txn_set_held(t);
	spool_txn_commit(t, spool_fixture_on_commit, &c);
	spool_fixture_wait(wq, &c.is_done);
	assert_int_equal(c.r, SPOOL_OK);
	/* read back as every reader reads it */
	assert_non_null(m = spool_msg_load(sp, "AAAAAAAAAAAAF", err, sizeof(err)));
	assert_string_equal(m->sender, "bounces@example.org");
	assert_int_equal(m->nrcpts, 2);
	assert_true(m->is_held);
	assert_int_equal(m->content_bytes,
	    strlen("X-Spam: no\r\nReceived: by mx.test\r\n\r\nnew body\r\n"));
	spool_msg_free(&m);
	buf_init(&snk.b, 1 << 20);
	assert_int_equal(spool_msg_read_content(sp, "AAAAAAAAAAAAF", to_buf, &snk), 0);
	assert_string_equal(buf_cstr(&snk.b),
	    "X-Spam: no\r\nReceived: by mx.test\r\n\r\nnew body\r\n");
	buf_clear(&snk.b);
	spool_msg_free(&env);
	close_spool(&sp);
	workq_free(&wq);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fields_as_they_came),
		cmocka_unit_test(test_add_insert),
		cmocka_unit_test(test_change_and_delete),
		cmocka_unit_test(test_bad_fields_refused),
		cmocka_unit_test(test_bound),
		cmocka_unit_test(test_spool_applies_changes),
		cmocka_unit_test(test_stream_checks_what_it_reads),
		cmocka_unit_test(test_stream_big_records),
		cmocka_unit_test(test_stream_header_record_at_the_first_buffer_end),
		cmocka_unit_test(test_txn_writes_changes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
