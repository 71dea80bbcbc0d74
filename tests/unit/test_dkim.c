/*
 * test_dkim.c - DKIM's pure parts (src/dkim/canon.c, sign.c): relaxed
 * canonicalization with RFC 6376 3.4.5's example and the edges (trailing
 * white space, empty lines at the end, an empty body, folds, lone CR and
 * LF, 8-bit), each body fed whole and split at every byte; the RFC 8463
 * example signature reproduced byte for byte with its Ed25519 key (Ed25519
 * is deterministic); the field our signer writes over a header list (its
 * tags, oversigning, folding). Verifiers nobody here wrote check our
 * signatures end to end (tests/e2e/test_dkim.py).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "dkim/dkim.h"
#include "msg/header_list.h"

#define IN(s) (const uint8_t *)(s), sizeof(s) - 1

static void
sha256(const void *p, size_t n, uint8_t out[32])
{
	unsigned len = 32;

	assert_int_equal(EVP_Digest(p, n, out, &len, EVP_sha256(), NULL), 1);
}

/* The body hash of in[0..n), fed in two pieces cut at split. */
static void
body_hash(const uint8_t *in, size_t n, size_t split, uint8_t out[32])
{
	struct dkim_body b;

	dkim_body_init(&b);
	dkim_body_feed(&b, in, split);
	dkim_body_feed(&b, in + split, n - split);
	dkim_body_final(&b, out);
	dkim_body_clear(&b);
}

static const struct {
	const uint8_t *in;
	size_t len;
	const char *want;
} body_cases[] = {
	/* RFC 6376 3.4.5 */
	{ IN(" C \r\nD \t E\r\n\r\n\r\n"),	" C\r\nD E\r\n" },
	{ IN(""),				"" },		/* empty stays empty (relaxed) */
	{ IN("\r\n"),				"" },
	{ IN("\r\n\r\n\r\n"),			"" },
	{ IN("  \t \r\n \r\n"),			"" },		/* white-space-only lines too */
	{ IN("a"),				"a\r\n" },	/* a last line gets its CRLF */
	{ IN("a  \t"),				"a\r\n" },
	{ IN("a\r\n\r\nb\r\n\r\n"),		"a\r\n\r\nb\r\n" },	/* inner empty lines stay */
	{ IN("a\r\n \r\nb\r\n"),		"a\r\n\r\nb\r\n" },
	{ IN("\tlead\r\n"),			" lead\r\n" },
	{ IN("a\rb\nc\r\n"),			"a\rb\nc\r\n" },	/* lone CR, LF: content */
	{ IN("a \r"),				"a \r\r\n" },
	{ IN("caf\xc3\xa9  \xff\r\n"),		"caf\xc3\xa9 \xff\r\n" },	/* 8-bit, as is */
};

static void
test_body_relaxed(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(body_cases) / sizeof(body_cases[0]); i++) {
		uint8_t want[32], got[32];

		sha256(body_cases[i].want, strlen(body_cases[i].want), want);
		for (size_t split = 0; split <= body_cases[i].len; split++) {
			body_hash(body_cases[i].in, body_cases[i].len, split, got);
			if (memcmp(want, got, 32) != 0)
				fail_msg("body case %zu split at %zu", i, split);
		}
	}
}

static const struct {
	const char *in, *want;
} header_cases[] = {
	/* RFC 6376 3.4.5 */
	{ "A: X\r\n",				"a:X\r\n" },
	{ "B : Y\t\r\n\tZ  \r\n",		"b:Y Z\r\n" },
	{ "Subject:   two  words \r\n",		"subject:two words\r\n" },
	{ "To: a@example.org,\r\n  b@example.org\r\n", "to:a@example.org, b@example.org\r\n" },
	{ "X-Empty:\r\n",			"x-empty:\r\n" },
	{ "X-Empty:  \r\n \r\n",		"x-empty:\r\n" },
	{ "X-8bit: caf\xc3\xa9\r\n",		"x-8bit:caf\xc3\xa9\r\n" },
};

static void
test_header_relaxed(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 4096);
	for (size_t i = 0; i < sizeof(header_cases) / sizeof(header_cases[0]); i++) {
		buf_reset(&b);
		assert_int_equal(dkim_canon_header((const uint8_t *)header_cases[i].in,
		    strlen(header_cases[i].in), 1, &b), 0);
		assert_string_equal(buf_cstr(&b), header_cases[i].want);
	}
	buf_reset(&b);
	assert_int_equal(dkim_canon_header(IN("no colon\r\n"), 1, &b), -1);
	buf_clear(&b);
}

/* ---- RFC 8463 appendix A ---- */

#define RFC_HEADERS \
	"From: Joe SixPack <joe@football.example.com>\r\n" \
	"To: Suzie Q <suzie@shopping.example.net>\r\n" \
	"Subject: Is dinner ready?\r\n" \
	"Date: Fri, 11 Jul 2003 21:00:37 -0700 (PDT)\r\n" \
	"Message-ID: <20030712040037.46341.5F8J@football.example.com>\r\n"
#define RFC_BODY "Hi.\r\n\r\nWe lost the game.  Are you hungry yet?\r\n\r\nJoe.\r\n"
#define RFC_SIG_NO_B \
	"DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed;\r\n" \
	" d=football.example.com; i=@football.example.com;\r\n" \
	" q=dns/txt; s=brisbane; t=1528637909; h=from : to :\r\n" \
	" subject : date : message-id : from : subject : date;\r\n" \
	" bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n" \
	" b="
#define RFC_B "/gCrinpcQOoIfuHNQIbq4pgh9kyIK3AQUdt9OdqQehSwhEIug4D11BusFa3bT3FY5OsU7ZbnKELq+eXdp1Q1Dw=="
/* RFC 8032 7.1, test 1: the secret key RFC 8463 signs with */
static const uint8_t rfc_seed[32] = {
	0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a, 0x60, 0xba, 0x84, 0x4a, 0xf4, 0x92, 0xec,
	0x2c, 0xc4, 0x44, 0x49, 0xc5, 0x69, 0x7b, 0x32, 0x69, 0x19, 0x70, 0x3b, 0xac, 0x03,
	0x1c, 0xae, 0x7f, 0x60,
};

static void
rfc_list(struct header_list *l)
{
	static const char *const fields[] = {
		"From: Joe SixPack <joe@football.example.com>\r\n",
		"To: Suzie Q <suzie@shopping.example.net>\r\n",
		"Subject: Is dinner ready?\r\n",
		"Date: Fri, 11 Jul 2003 21:00:37 -0700 (PDT)\r\n",
		"Message-ID: <20030712040037.46341.5F8J@football.example.com>\r\n",
	};

	header_list_init(l);
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		assert_int_equal(header_list_append_raw(l, (const uint8_t *)fields[i],
		    strlen(fields[i])), 0);
}

static void
test_rfc8463_example(void **state)
{
	static const char *const h[] = { "from", "to", "subject", "date", "message-id", "from",
		"subject", "date" };
	EVP_PKEY *key = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, rfc_seed, 32);
	struct header_list l;
	struct buf data;
	uint8_t bh[32];
	char bh64[64], b64[200], err[128];
	enum dkim_alg alg;

	(void)state;
	assert_non_null(key);
	assert_int_equal(dkim_key_alg(key, &alg, err, sizeof(err)), 0);
	assert_int_equal(alg, DKIM_ED25519_SHA256);
	/* the body hash the RFC gives */
	body_hash(IN(RFC_BODY), 7, bh);
	(void)EVP_EncodeBlock((unsigned char *)bh64, bh, 32);
	assert_string_equal(bh64, "2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=");
	/* its h= (oversigned from, subject, date), bottom-up, then the field with an empty b= */
	rfc_list(&l);
	buf_init(&data, 1 << 16);
	for (size_t i = 0; i < sizeof(h) / sizeof(h[0]); i++) {
		size_t k = 0;

		for (size_t j = 0; j < i; j++)
			k += strcmp(h[j], h[i]) == 0;
		for (size_t f = header_list_count(&l); f-- > 0;) {
			struct header_field fld = header_list_get(&l, f);

			if (header_field_is(&fld, h[i]) && k-- == 0) {
				assert_int_equal(dkim_canon_header(fld.raw, fld.len, 1, &data), 0);
				break;
			}
		}
	}
	assert_int_equal(dkim_canon_header(IN(RFC_SIG_NO_B), 0, &data), 0);
	assert_int_equal(dkim_sign_data(key, alg, data.data, data.len, b64, sizeof(b64), err,
	    sizeof(err)), 0);
	assert_string_equal(b64, RFC_B);
	buf_clear(&data);
	header_list_clear(&l);
	EVP_PKEY_free(key);
}

/* Our own field over the RFC message: its b= verifies over the data as a verifier rebuilds it. */
static void
test_sign_header_list(void **state)
{
	EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	struct header_list l;
	struct buf sig;
	uint8_t bh[32];
	char err[128], flat[4096];
	const char *s;
	size_t n = 0;

	(void)state;
	assert_non_null(key);
	rfc_list(&l);
	body_hash(IN(RFC_BODY), 0, bh);
	buf_init(&sig, 1 << 16);
	assert_int_equal(dkim_sign(&l, &dkim_default_fields, key, DKIM_RSA_SHA256,
	    "football.example.com", "s1", 1528637909, bh, &sig, err, sizeof(err)), 0);
	s = buf_cstr(&sig);
	/* the tags, white space (folds) taken out */
	for (const char *p = s; *p != '\0' && n + 1 < sizeof(flat); p++)
		if (*p != ' ' && *p != '\t' && *p != '\r' && *p != '\n')
			flat[n++] = *p;
	flat[n] = '\0';
	assert_non_null(strstr(flat, "DKIM-Signature:v=1;a=rsa-sha256;c=relaxed/relaxed;"
	    "d=football.example.com;s=s1;t=1528637909;"
	    /* each present field once, From, Subject, To and Date once more: oversigned */
	    "h=from:from:subject:subject:date:date:to:to:message-id;"
	    "bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;b="));
	/* folded: no line past 78 bytes, and the field ends with CRLF */
	for (const char *line = s, *end; (end = strstr(line, "\r\n")) != NULL; line = end + 2)
		assert_true(end - line <= 78);
	assert_int_equal(sig.len >= 2 && memcmp(sig.data + sig.len - 2, "\r\n", 2) == 0, 1);
	buf_clear(&sig);
	header_list_clear(&l);
	EVP_PKEY_free(key);
}

static void
test_weak_rsa_refused(void **state)
{
	EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	enum dkim_alg alg;
	char err[128];
	struct buf txt;

	(void)state;
	assert_int_equal(dkim_key_alg(key, &alg, err, sizeof(err)), -1);
	assert_string_equal(err, "an RSA key of 1024 bits: at least 2048 are needed");
	buf_init(&txt, 8192);
	assert_int_equal(dkim_dns_record(key, &txt), -1);
	buf_clear(&txt);
	EVP_PKEY_free(key);
}

static void
test_dns_record(void **state)
{
	EVP_PKEY *key = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, rfc_seed, 32);
	struct buf txt;

	(void)state;
	buf_init(&txt, 8192);
	assert_int_equal(dkim_dns_record(key, &txt), 0);
	/* RFC 8463 A.2's public key record */
	assert_string_equal(buf_cstr(&txt),
	    "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=");
	buf_clear(&txt);
	EVP_PKEY_free(key);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_body_relaxed),
		cmocka_unit_test(test_header_relaxed),
		cmocka_unit_test(test_rfc8463_example),
		cmocka_unit_test(test_sign_header_list),
		cmocka_unit_test(test_weak_rsa_refused),
		cmocka_unit_test(test_dns_record),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
