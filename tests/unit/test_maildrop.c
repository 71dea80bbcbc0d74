/*
 * test_maildrop.c - the maildrop file (src/msg/maildrop.c): what sterna
 * sendmail writes and the daemon reads back as untrusted input.
 * Round trips; every malformed file we can name (bad magic, records missing
 * or out of order, bad addresses, too many recipients, bytes after E);
 * every cut of a good file (a torn write) and every flipped bit; and a
 * golden file (golden/maildrop.d, laid out in golden/README.md) that must
 * match both the encoder's output and the decoder's reading.
 * STERNA_REGEN_GOLDEN=1 rewrites the golden file.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msg/maildrop.h"
#include "smtp/smtp.h"
#include "spool/record.h"
#include "util/crc32c.h"

#define IN(s) (const uint8_t *)(s), sizeof(s) - 1
#define GOLDEN_PATH SRCDIR "/golden/maildrop.d"

static uint32_t
be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* Decodes from an exact-size heap copy, so that ASan sees any read past len. */
static int
decode_exact(const uint8_t *in, size_t len, struct maildrop_msg *m, char *err, size_t errsize,
    uint8_t **copy_out)
{
	uint8_t *copy = malloc(len ? len : 1);
	int r;

	memcpy(copy, in, len);
	r = maildrop_decode(copy, len, m, err, errsize);
	*copy_out = copy;
	return r;
}

/* The content bytes of a decoded file, gathered from its chunks. */
static void
gather(const uint8_t *in, const struct maildrop_msg *m, struct buf *out)
{
	uint64_t total = 0;

	for (size_t i = 0; i < m->nchunks; i++) {
		assert_true(m->chunks[i].len <= REC_MAX_PAYLOAD);
		assert_int_equal(buf_append(out, in + m->chunks[i].off, m->chunks[i].len), 0);
		total += m->chunks[i].len;
	}
	assert_true(total == m->content_bytes);
}

/* ---- round trips ---- */

static void
roundtrip(const char *fullname, const char *sender, const char *const *rcpts, size_t nrcpts,
    const void *content, size_t len, size_t want_chunks)
{
	struct buf f, c;
	struct maildrop_msg m;
	char err[128] = "";
	uint8_t *copy;

	buf_init(&f, 8u << 20);
	buf_init(&c, 8u << 20);
	assert_int_equal(maildrop_encode(&f, fullname, sender, rcpts, nrcpts, content, len), 0);
	assert_memory_equal(f.data, MAILDROP_MAGIC, 8);
	if (decode_exact(f.data, f.len, &m, err, sizeof(err), &copy) != 0)
		fail_msg("decode: %s", err);
	if (fullname == NULL)
		assert_null(m.fullname);
	else
		assert_string_equal(m.fullname, fullname);
	assert_string_equal(m.sender, sender);
	assert_int_equal(m.nrcpts, nrcpts);
	for (size_t i = 0; i < nrcpts; i++)
		assert_string_equal(m.rcpts[i], rcpts[i]);
	assert_int_equal(m.nchunks, want_chunks);
	gather(copy, &m, &c);
	assert_int_equal(c.len, len);
	if (len > 0)
		assert_memory_equal(c.data, content, len);
	maildrop_msg_clear(&m);
	assert_null(m.rcpts);
	maildrop_msg_clear(&m);	/* twice is harmless */
	free(copy);
	buf_clear(&f);
	buf_clear(&c);
}

static void
test_roundtrip(void **state)
{
	static const char *const one[] = { "b@example.net" };
	static const char *const three[] = {
		"b@example.net", "\"john smith\"@example.com", ("j\xc3\xb6rg@b\xc3\xbc" "cher.example"),
	};
	static const char msg[] = "Subject: x\r\n\r\nhi\r\n";
	static const char bin[] = "A\0B\r\n.\r\n\xff\n";

	(void)state;
	roundtrip(NULL, "a@example.org", one, 1, msg, sizeof(msg) - 1, 1);
	roundtrip("Ann Example", "a@example.org", three, 3, msg, sizeof(msg) - 1, 1);
	roundtrip("", "", one, 1, msg, sizeof(msg) - 1, 1);	/* null sender, empty name */
	roundtrip("J\xc3\xb6rg \"the\" (x)", "a@[192.0.2.1]", one, 1, bin, sizeof(bin) - 1, 1);
	roundtrip(NULL, "a@example.org", one, 1, "", 0, 0);	/* no content at all */
}

/* Content past one record's limit is split into C records in order. */
static void
test_roundtrip_large(void **state)
{
	static const char *const one[] = { "b@example.net" };
	size_t len = 2 * REC_MAX_PAYLOAD + 17;
	uint8_t *big = malloc(len);

	(void)state;
	for (size_t i = 0; i < len; i++)
		big[i] = (uint8_t)(i * 31 + i / 7);
	roundtrip(NULL, "a@example.org", one, 1, big, len, 3);
	roundtrip(NULL, "a@example.org", one, 1, big, REC_MAX_PAYLOAD, 1);
	roundtrip(NULL, "a@example.org", one, 1, big, REC_MAX_PAYLOAD + 1, 2);
	free(big);
}

/* The most recipients a file may carry, and not one more. */
static void
test_max_rcpts(void **state)
{
	size_t n = MAILDROP_MAX_RCPTS + 1;
	char **names = malloc(n * sizeof(*names));
	struct buf f;
	struct maildrop_msg m;
	char err[128];
	uint8_t *copy;

	(void)state;
	for (size_t i = 0; i < n; i++) {
		names[i] = malloc(32);
		assert_true(snprintf(names[i], 32, "u%zu@example.net", i) < 32);
	}
	buf_init(&f, 4u << 20);
	assert_int_equal(maildrop_encode(&f, NULL, "a@example.org", (const char *const *)names,
	    n, "x\r\n", 3), -1);
	assert_int_equal(f.len, 0);
	assert_int_equal(maildrop_encode(&f, NULL, "a@example.org", (const char *const *)names,
	    n - 1, "x\r\n", 3), 0);
	assert_int_equal(decode_exact(f.data, f.len, &m, err, sizeof(err), &copy), 0);
	assert_int_equal(m.nrcpts, MAILDROP_MAX_RCPTS);
	assert_string_equal(m.rcpts[n - 2], names[n - 2]);
	maildrop_msg_clear(&m);
	free(copy);

	/* one more R record, spliced in by hand before C and E: refused */
	{
		struct buf g, p;
		struct rec_chain chain = { 0, 0 };

		buf_init(&g, 4u << 20);
		buf_init(&p, 256);
		assert_int_equal(buf_append(&g, MAILDROP_MAGIC, 8), 0);
		assert_int_equal(rec_append(&g, REC_META, "", 0, &chain), 0);
		assert_int_equal(rec_kv_add_str(&p, "addr", "a@example.org"), 0);
		assert_int_equal(rec_append(&g, REC_SENDER, p.data, p.len, &chain), 0);
		for (size_t i = 0; i < n; i++) {
			buf_reset(&p);
			assert_int_equal(rec_kv_add_str(&p, "addr", names[i]), 0);
			assert_int_equal(rec_append(&g, REC_RCPT, p.data, p.len, &chain), 0);
		}
		assert_int_equal(rec_append_end(&g, &chain), 0);
		assert_int_equal(decode_exact(g.data, g.len, &m, err, sizeof(err), &copy), -1);
		assert_non_null(strstr(err, "more than 10000 recipients"));
		assert_null(m.rcpts);
		free(copy);
		buf_clear(&g);
		buf_clear(&p);
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	buf_clear(&f);
}

/* The encoder refuses what the decoder would, and leaves out as it was. */
static void
test_encode_refuses(void **state)
{
	static const char *const ok[] = { "b@example.net" };
	static const char *const bare[] = { "alice" };
	static const char *const pm[] = { "postmaster" };
	static const char *const empty[] = { "" };
	static const char *const bad[] = { "b@@example.net" };
	static const char *const crlf[] = { "b@example.net\r\nRCPT TO:<c@example.com>" };
	char longname[MAILDROP_FULLNAME_MAX + 2], longaddr[400];
	struct buf f;

	(void)state;
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	memset(longaddr, 'a', sizeof(longaddr) - 1);
	memcpy(longaddr + sizeof(longaddr) - 13, "@example.net", 13);
	const char *const longrcpt[] = { longaddr };

	buf_init(&f, 1 << 16);
	assert_int_equal(buf_append(&f, "keep", 4), 0);
	assert_int_equal(maildrop_encode(&f, NULL, "a@example.org", ok, 0, "x", 1), -1);
	assert_int_equal(maildrop_encode(&f, NULL, "a@example.org", bare, 1, "x", 1), -1);
	assert_int_equal(maildrop_encode(&f, NULL, "a@example.org", pm, 1, "x", 1), -1);
	assert_int_equal(maildrop_encode(&f, NULL, "a@example.org", empty, 1, "x", 1), -1);
	assert_int_equal(maildrop_encode(&f, NULL, "a@example.org", bad, 1, "x", 1), -1);
	assert_int_equal(maildrop_encode(&f, NULL, "a@example.org", crlf, 1, "x", 1), -1);
	assert_int_equal(maildrop_encode(&f, NULL, "a@example.org", longrcpt, 1, "x", 1), -1);
	assert_int_equal(maildrop_encode(&f, NULL, "alice", ok, 1, "x", 1), -1);
	assert_int_equal(maildrop_encode(&f, "A\r\nBcc: x@y", "a@example.org", ok, 1, "x", 1), -1);
	assert_int_equal(maildrop_encode(&f, "tab\there", "a@example.org", ok, 1, "x", 1), -1);
	assert_int_equal(maildrop_encode(&f, longname, "a@example.org", ok, 1, "x", 1), -1);
	assert_int_equal(f.len, 4);
	buf_clear(&f);

	/* a buffer too small for the whole file keeps what it held */
	buf_init(&f, 60);
	assert_int_equal(buf_append(&f, "keep", 4), 0);
	assert_int_equal(maildrop_encode(&f, NULL, "a@example.org", ok, 1,
	    "0123456789012345678901234567890123456789", 40), -1);
	assert_int_equal(f.len, 4);
	assert_memory_equal(f.data, "keep", 4);
	buf_clear(&f);
}

/* ---- malformed files, built record by record ---- */

struct rspec {
	enum rec_type type;
	const uint8_t *p;
	size_t len;
};
#define R(t, s) { t, (const uint8_t *)(s), sizeof(s) - 1 }
#define M0 R(REC_META, "")
#define S0 R(REC_SENDER, "addr\0a@example.org\0")
#define R0 R(REC_RCPT, "addr\0b@example.net\0")
#define C0 R(REC_CONTENT, "Subject: x\r\n\r\nhi\r\n")
#define MAXREC 8

enum end_kind { END_GOOD, END_NONE, END_WRONG_COUNT, END_TRAILING };

static const struct bad_case {
	const char *name;
	struct rspec recs[MAXREC];
	size_t n;
	enum end_kind end;
	const char *want;	/* a part of the reason */
} bad_cases[] = {
	{ "no E",		{ M0, S0, R0, C0 }, 4, END_NONE,	"no end record" },
	{ "no E, no C",		{ M0, S0, R0 }, 3, END_NONE,		"no end record" },
	{ "only magic",		{ M0 }, 0, END_NONE,			"no end record" },
	{ "no M",		{ S0, R0, C0 }, 3, END_GOOD,		"no meta record" },
	{ "no S",		{ M0, R0, C0 }, 3, END_GOOD,		"no sender" },
	{ "no S, no R",		{ M0, C0 }, 2, END_GOOD,		"no sender" },
	{ "no R",		{ M0, S0, C0 }, 3, END_GOOD,		"no recipient" },
	{ "no R, no C",		{ M0, S0 }, 2, END_GOOD,		"no recipient" },
	{ "E first",		{ M0 }, 0, END_GOOD,			"no meta record" },
	{ "two M",		{ M0, M0, S0, R0 }, 4, END_GOOD,	"no sender" },
	{ "two S",		{ M0, S0, S0, R0 }, 4, END_GOOD,	"no recipient" },
	{ "S after R",		{ M0, S0, R0, S0 }, 4, END_GOOD,	"out of order" },
	{ "R after C",		{ M0, S0, R0, C0, R0 }, 5, END_GOOD,	"out of order" },
	{ "M after C",		{ M0, S0, R0, C0, M0 }, 5, END_GOOD,	"out of order" },
	{ "R before S",		{ M0, R0, S0, C0 }, 4, END_GOOD,	"no sender" },
	{ "D record",		{ M0, S0, R0, R(REC_DONE, "rcpt\0" "0\0") }, 4, END_GOOD,
	    "out of order" },
	{ "T record",		{ M0, S0, R0, R(REC_DEFER, "rcpt\0" "0\0") }, 4, END_GOOD,
	    "out of order" },
	{ "E twice",		{ M0, S0, R0 }, 3, END_TRAILING,	"after the end" },
	{ "E count wrong",	{ M0, S0, R0, C0 }, 4, END_WRONG_COUNT,	"end record" },
	{ "M malformed",	{ R(REC_META, "fullname\0x"), S0, R0 }, 3, END_GOOD, "malformed" },
	{ "M name CRLF",	{ R(REC_META, "fullname\0A\r\nBcc: x@y\0"), S0, R0 }, 3, END_GOOD,
	    "full name" },
	{ "S no addr",		{ M0, R(REC_SENDER, "from\0a@example.org\0"), R0 }, 3, END_GOOD,
	    "no addr" },
	{ "S malformed",	{ M0, R(REC_SENDER, "addr\0a@example.org"), R0 }, 3, END_GOOD,
	    "malformed" },
	{ "S NUL in addr",	{ M0, R(REC_SENDER, "addr\0a\0@example.org\0"), R0 }, 3, END_GOOD,
	    "malformed" },
	{ "S no domain",	{ M0, R(REC_SENDER, "addr\0alice\0"), R0 }, 3, END_GOOD, "syntax" },
	{ "S syntax",		{ M0, R(REC_SENDER, "addr\0<a@example.org>\0"), R0 }, 3, END_GOOD,
	    "syntax" },
	{ "R NUL in addr",	{ M0, S0, R(REC_RCPT, "addr\0b\0@example.net\0") }, 3, END_GOOD,
	    "malformed" },
	/* a NUL that splits one address into an extra key/value pair */
	{ "R NUL split",	{ M0, S0, R(REC_RCPT, "addr\0b\0x\0@example.net\0") }, 3, END_GOOD,
	    "syntax" },
	{ "R empty",		{ M0, S0, R(REC_RCPT, "addr\0\0") }, 3, END_GOOD,	"empty" },
	{ "R null",		{ M0, S0, R(REC_RCPT, "addr\0<>\0") }, 3, END_GOOD,	"syntax" },
	{ "R bare name",	{ M0, S0, R(REC_RCPT, "addr\0bob\0") }, 3, END_GOOD,	"syntax" },
	{ "R postmaster",	{ M0, S0, R(REC_RCPT, "addr\0postmaster\0") }, 3, END_GOOD,
	    "domain" },
	{ "R CRLF",		{ M0, S0, R(REC_RCPT, "addr\0b@example.net\r\nX: y\0") }, 3,
	    END_GOOD, "syntax" },
	{ "R bad UTF-8",	{ M0, S0, R(REC_RCPT, "addr\0b\xc0\xaf@example.net\0") }, 3,
	    END_GOOD, "syntax" },
	{ "R no addr",		{ M0, S0, R(REC_RCPT, "\0\0") }, 3, END_GOOD,		"no addr" },
	{ "R too long",		{ M0, S0, R(REC_RCPT, "addr\0"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@"
	    "example.net\0") }, 3, END_GOOD, "too long" },
};

/* Builds magic + records + the E that end says into f (each record chained). */
static void
build(struct buf *f, const uint8_t *magic, const struct rspec *recs, size_t n,
    enum end_kind end)
{
	struct rec_chain chain = { 0, 0 };

	assert_int_equal(buf_append(f, magic, 8), 0);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(rec_append(f, recs[i].type, recs[i].p, recs[i].len, &chain), 0);
	switch (end) {
	case END_NONE:
		break;
	case END_GOOD:
		assert_int_equal(rec_append_end(f, &chain), 0);
		break;
	case END_WRONG_COUNT:
		chain.count++;
		assert_int_equal(rec_append_end(f, &chain), 0);
		break;
	case END_TRAILING:
		assert_int_equal(rec_append_end(f, &chain), 0);
		assert_int_equal(rec_append_end(f, &chain), 0);
		break;
	}
}

static void
expect_refused(const uint8_t *in, size_t len, const char *want, const char *name)
{
	struct maildrop_msg m;
	char err[128] = "";
	uint8_t *copy;

	memset(&m, 0x5a, sizeof(m));
	if (decode_exact(in, len, &m, err, sizeof(err), &copy) != -1)
		fail_msg("%s: accepted", name);
	if (want != NULL && strstr(err, want) == NULL)
		fail_msg("%s: reason \"%s\", want \"%s\"", name, err, want);
	/* nothing is left to free after a refusal */
	assert_null(m.fullname);
	assert_null(m.sender);
	assert_null(m.rcpts);
	assert_null(m.chunks);
	free(copy);
}

static void
test_bad_files(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		struct buf f;

		buf_init(&f, 1 << 16);
		build(&f, (const uint8_t *)MAILDROP_MAGIC, bad_cases[i].recs, bad_cases[i].n,
		    bad_cases[i].end);
		expect_refused(f.data, f.len, bad_cases[i].want, bad_cases[i].name);
		buf_clear(&f);
	}
}

/* The same records under other magics, and inputs too short for one. */
static void
test_bad_magic(void **state)
{
	static const struct rspec good[] = { M0, S0, R0, C0 };
	static const char *const magics[] = {
		"STERNAQ1",	/* a queue file is not a maildrop file */
		"STERNAD2", "sternad1", "\0\0\0\0\0\0\0\0", "STERNAD\0",
	};
	struct buf f;

	(void)state;
	for (size_t i = 0; i < sizeof(magics) / sizeof(magics[0]); i++) {
		buf_init(&f, 1 << 16);
		build(&f, (const uint8_t *)magics[i], good, 4, END_GOOD);
		expect_refused(f.data, f.len, "magic", magics[i]);
		buf_clear(&f);
	}
	expect_refused(IN(""), "magic", "empty");
	expect_refused(IN("STERNAD"), "magic", "seven bytes");
	/* the proof that the table's records are good under the right magic */
	buf_init(&f, 1 << 16);
	build(&f, (const uint8_t *)MAILDROP_MAGIC, good, 4, END_GOOD);
	{
		struct maildrop_msg m;
		char err[128];
		uint8_t *copy;

		if (decode_exact(f.data, f.len, &m, err, sizeof(err), &copy) != 0)
			fail_msg("good file refused: %s", err);
		maildrop_msg_clear(&m);
		free(copy);
	}
	buf_clear(&f);
}

/* A good file torn at every byte is refused; only the whole file is taken. */
static void
test_torn_every_cut(void **state)
{
	static const char *const rcpts[] = { "b@example.net", "c@example.com" };
	struct buf f;

	(void)state;
	buf_init(&f, 1 << 16);
	assert_int_equal(maildrop_encode(&f, "Ann", "a@example.org", rcpts, 2,
	    "Subject: x\r\n\r\nhi\r\n", 18), 0);
	for (size_t cut = 0; cut < f.len; cut++) {
		char name[32];

		assert_true(snprintf(name, sizeof(name), "cut at %zu", cut) < (int)sizeof(name));
		expect_refused(f.data, cut, NULL, name);
	}
	buf_clear(&f);
}

/* Every single flipped bit of a good file is refused (CRCs, magic, chain). */
static void
test_bitflip_every_bit(void **state)
{
	static const char *const rcpts[] = { "b@example.net" };
	struct buf f;

	(void)state;
	buf_init(&f, 1 << 16);
	assert_int_equal(maildrop_encode(&f, NULL, "a@example.org", rcpts, 1, "hi\r\n", 4), 0);
	for (size_t i = 0; i < f.len; i++)
		for (int bit = 0; bit < 8; bit++) {
			char name[48];

			f.data[i] ^= (uint8_t)(1u << bit);
			assert_true(snprintf(name, sizeof(name), "bit %d of byte %zu", bit, i) <
			    (int)sizeof(name));
			expect_refused(f.data, f.len, NULL, name);
			f.data[i] ^= (uint8_t)(1u << bit);
		}
	buf_clear(&f);
}

/* ---- the golden maildrop file ---- */

static const char *const golden_rcpts[] = { "b@example.net", "c@example.com" };
#define GOLDEN_CONTENT "Subject: x\r\n\r\nhi\r\n"

static void
golden_build(struct buf *out)
{
	assert_int_equal(maildrop_encode(out, "Ann Example", "a@example.org", golden_rcpts, 2,
	    GOLDEN_CONTENT, sizeof(GOLDEN_CONTENT) - 1), 0);
}

static size_t
golden_read(uint8_t *data, size_t cap)
{
	FILE *f = fopen(GOLDEN_PATH, "rb");
	size_t n;

	if (f == NULL)
		fail_msg("cannot open %s (STERNA_REGEN_GOLDEN=1 writes it)", GOLDEN_PATH);
	n = fread(data, 1, cap, f);
	assert_false(ferror(f));
	assert_true(n < cap);
	fclose(f);
	return n;
}

static void
test_golden_encode(void **state)
{
	struct buf b;
	uint8_t file[4096];
	size_t n;
	const char *regen = getenv("STERNA_REGEN_GOLDEN");

	(void)state;
	buf_init(&b, 4096);
	golden_build(&b);
	if (regen != NULL && strcmp(regen, "1") == 0) {
		FILE *f = fopen(GOLDEN_PATH, "wb");

		assert_non_null(f);
		assert_int_equal(fwrite(b.data, 1, b.len, f), b.len);
		assert_int_equal(fclose(f), 0);
	}
	n = golden_read(file, sizeof(file));
	for (size_t i = 0; i < n && i < b.len; i++)
		if (file[i] != b.data[i])
			fail_msg("golden/maildrop.d differs at byte %zu: file %02x, encoder %02x",
			    i, file[i], b.data[i]);
	if (n != b.len)
		fail_msg("golden/maildrop.d has %zu bytes, the encoder wrote %zu", n, b.len);
	buf_clear(&b);
}

/*
 * The golden bytes, spelled out independently of the encoder: the record
 * offsets and CRCs golden/README.md documents, then the decoder's reading.
 */
static const struct {
	size_t off;
	enum rec_type type;
	const uint8_t *payload;
	size_t len;
	uint32_t crc;
} golden_recs[] = {
	{ 8,	REC_META,	IN("fullname\0" "Ann Example\0"),	0x970f1f5f },
	{ 38,	REC_SENDER,	IN("addr\0" "a@example.org\0"),		0xcaf365b4 },
	{ 66,	REC_RCPT,	IN("addr\0" "b@example.net\0"),		0x5e80b2b3 },
	{ 94,	REC_RCPT,	IN("addr\0" "c@example.com\0"),		0x9ce9d9de },
	{ 122,	REC_CONTENT,	IN(GOLDEN_CONTENT),			0xb22107c4 },
	{ 149,	REC_END,	IN("\0\0\0\x05" "\x6d\xc6\x61\x54"),	0x97686863 },
};
#define GOLDEN_LEN 166

static void
test_golden_decode(void **state)
{
	uint8_t file[4096];
	size_t n;
	struct maildrop_msg m;
	char err[128];

	(void)state;
	n = golden_read(file, sizeof(file));
	assert_int_equal(n, GOLDEN_LEN);
	assert_memory_equal(file, "STERNAD1", 8);
	for (size_t i = 0; i < sizeof(golden_recs) / sizeof(golden_recs[0]); i++) {
		size_t off = golden_recs[i].off, len = golden_recs[i].len;

		assert_int_equal(file[off], golden_recs[i].type);
		assert_int_equal(be32(file + off + 1), len);
		assert_memory_equal(file + off + REC_HEADER_LEN, golden_recs[i].payload, len);
		assert_int_equal(be32(file + off + REC_HEADER_LEN + len), golden_recs[i].crc);
		assert_int_equal(be32(file + off + REC_HEADER_LEN + len),
		    crc32c(0, file + off, REC_HEADER_LEN + len));
		if (i + 1 < sizeof(golden_recs) / sizeof(golden_recs[0]))
			assert_int_equal(off + REC_OVERHEAD + len, golden_recs[i + 1].off);
	}
	if (maildrop_decode(file, n, &m, err, sizeof(err)) != 0)
		fail_msg("golden file refused: %s", err);
	assert_string_equal(m.fullname, "Ann Example");
	assert_string_equal(m.sender, "a@example.org");
	assert_int_equal(m.nrcpts, 2);
	assert_string_equal(m.rcpts[0], "b@example.net");
	assert_string_equal(m.rcpts[1], "c@example.com");
	assert_int_equal(m.nchunks, 1);
	assert_int_equal(m.chunks[0].off, 122 + REC_HEADER_LEN);
	assert_int_equal(m.chunks[0].len, sizeof(GOLDEN_CONTENT) - 1);
	assert_true(m.content_bytes == sizeof(GOLDEN_CONTENT) - 1);
	maildrop_msg_clear(&m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_roundtrip_large),
		cmocka_unit_test(test_max_rcpts),
		cmocka_unit_test(test_encode_refuses),
		cmocka_unit_test(test_bad_files),
		cmocka_unit_test(test_bad_magic),
		cmocka_unit_test(test_torn_every_cut),
		cmocka_unit_test(test_bitflip_every_bit),
		cmocka_unit_test(test_golden_encode),
		cmocka_unit_test(test_golden_decode),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
