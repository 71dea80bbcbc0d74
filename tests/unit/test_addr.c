/*
 * test_addr.c - the address parser and printer (src/smtp/addr.c).
 * One table spells out the bytes of every path: dot-strings and quoted
 * local parts, IPv4 and IPv6 literals and their canonical form, UTF-8 with
 * and without SMTPUTF8 (overlongs, surrogates, truncation), source routes,
 * bare postmaster, the relay tricks that must stay plain local parts, and
 * malformed domains. Every accepted path is printed and parsed again (the
 * round trip), and every prefix of every path is parsed too. The length
 * limits are checked at their boundary with paths built here.
 * Paths are parsed from exact-size heap copies so that AddressSanitizer
 * sees any read past the bytes given.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smtp/smtp.h"

#define IN(s) (const uint8_t *)(s), sizeof(s) - 1

enum {
	F_NULL = 1 << 0,
	F_QUOTED = 1 << 1,
	F_ROUTE = 1 << 2,
	F_LITERAL = 1 << 3,
	F_UTF8 = 1 << 4,
	F_PM = 1 << 5,
};

struct addr_case {
	const char *name;
	const uint8_t *in;
	size_t len;
	int utf8_ok;
	enum smtp_addr_err want;
	const char *local;	/* with quoting undone */
	const char *domain;
	unsigned flags;
	const char *fmt;	/* what smtp_addr_format() writes */
};

#define OK SMTP_ADDR_OK
#define SYNTAX SMTP_ADDR_SYNTAX
#define NEEDS SMTP_ADDR_NEEDS_UTF8
#define BADU SMTP_ADDR_BAD_UTF8
#define UNSAFE SMTP_ADDR_UNSAFE_UTF8

static const struct addr_case cases[] = {
	/* ---- plain mailboxes (RFC 5321 4.1.2) ---- */
	{ "simple", IN("a@b.test"), 0, OK, "a", "b.test", 0, "a@b.test" },
	{ "null", IN(""), 0, OK, "", "", F_NULL, "" },
	{ "domain lowercased", IN("User.Name+tag@Example.TEST"), 0, OK, "User.Name+tag",
	  "example.test", 0, "User.Name+tag@example.test" },
	{ "all atext", IN("!#$%&'*+-/=?^_`{|}~09AZaz@x.test"), 0, OK,
	  "!#$%&'*+-/=?^_`{|}~09AZaz", "x.test", 0, "!#$%&'*+-/=?^_`{|}~09AZaz@x.test" },
	{ "single label", IN("a@localhost"), 0, OK, "a", "localhost", 0, "a@localhost" },
	{ "digits and hyphens", IN("a@1-2.x-y.3test"), 0, OK, "a", "1-2.x-y.3test", 0,
	  "a@1-2.x-y.3test" },
	/* relay tricks: a '%' or '!' is just a byte of the local part */
	{ "percent hack", IN("user%other.test@example.test"), 0, OK, "user%other.test",
	  "example.test", 0, "user%other.test@example.test" },
	{ "bang path", IN("other.test!user@example.test"), 0, OK, "other.test!user",
	  "example.test", 0, "other.test!user@example.test" },

	/* ---- quoted local parts ---- */
	{ "quoted SP", IN("\"a b\"@x.test"), 0, OK, "a b", "x.test", F_QUOTED, "\"a b\"@x.test" },
	{ "quoted @", IN("\"a@b\"@x.test"), 0, OK, "a@b", "x.test", F_QUOTED, "\"a@b\"@x.test" },
	{ "quoted >", IN("\"a>b\"@x.test"), 0, OK, "a>b", "x.test", F_QUOTED, "\"a>b\"@x.test" },
	{ "quoted pairs", IN("\"a\\\"b\\\\c\"@x.test"), 0, OK, "a\"b\\c", "x.test", F_QUOTED,
	  "\"a\\\"b\\\\c\"@x.test" },
	{ "needless pairs", IN("\"\\a\\b\"@x.test"), 0, OK, "ab", "x.test", F_QUOTED, "ab@x.test" },
	{ "needless quotes", IN("\"abc.def\"@x.test"), 0, OK, "abc.def", "x.test", F_QUOTED,
	  "abc.def@x.test" },
	{ "quoted leading dot", IN("\".a\"@x.test"), 0, OK, ".a", "x.test", F_QUOTED,
	  "\".a\"@x.test" },
	{ "quoted double dot", IN("\"a..b\"@x.test"), 0, OK, "a..b", "x.test", F_QUOTED,
	  "\"a..b\"@x.test" },
	{ "quoted SP only", IN("\" \"@x.test"), 0, OK, " ", "x.test", F_QUOTED, "\" \"@x.test" },
	{ "quoted postmaster", IN("\"postmaster\"@x.test"), 0, OK, "postmaster", "x.test",
	  F_QUOTED, "postmaster@x.test" },

	/* ---- address literals (RFC 5321 4.1.3) ---- */
	{ "ipv4", IN("a@[192.0.2.1]"), 0, OK, "a", "[192.0.2.1]", F_LITERAL, "a@[192.0.2.1]" },
	{ "ipv4 zeros", IN("a@[0.0.0.0]"), 0, OK, "a", "[0.0.0.0]", F_LITERAL, "a@[0.0.0.0]" },
	{ "ipv6", IN("a@[IPv6:2001:DB8::1]"), 0, OK, "a", "[ipv6:2001:db8::1]", F_LITERAL,
	  "a@[ipv6:2001:db8::1]" },
	{ "ipv6 full", IN("a@[ipv6:2001:0db8:0000:0000:0000:0000:0000:0001]"), 0, OK, "a",
	  "[ipv6:2001:db8::1]", F_LITERAL, "a@[ipv6:2001:db8::1]" },
	{ "ipv6 loopback", IN("a@[IPV6:::1]"), 0, OK, "a", "[ipv6:::1]", F_LITERAL,
	  "a@[ipv6:::1]" },
	{ "ipv6 v4 mapped", IN("a@[IPv6:::FFFF:192.0.2.1]"), 0, OK, "a",
	  "[ipv6:::ffff:192.0.2.1]", F_LITERAL, "a@[ipv6:::ffff:192.0.2.1]" },
	{ "ipv6 one zero", IN("a@[IPv6:1::2:3:4:5:6:7]"), 0, OK, "a",
	  "[ipv6:1:0:2:3:4:5:6:7]", F_LITERAL, "a@[ipv6:1:0:2:3:4:5:6:7]" },
	{ "ipv4 too big", IN("a@[192.0.2.256]"), 0, .want = SYNTAX },
	{ "ipv4 three", IN("a@[192.0.2]"), 0, .want = SYNTAX },
	{ "ipv4 five", IN("a@[192.0.2.1.5]"), 0, .want = SYNTAX },
	{ "ipv4 leading zero", IN("a@[192.0.2.01]"), 0, .want = SYNTAX },
	{ "ipv4 empty", IN("a@[]"), 0, .want = SYNTAX },
	{ "ipv4 space", IN("a@[192.0.2.1 ]"), 0, .want = SYNTAX },
	{ "ipv6 without tag", IN("a@[::1]"), 0, .want = SYNTAX },
	{ "ipv6 tag only", IN("a@[IPv6:]"), 0, .want = SYNTAX },
	{ "ipv6 bad hex", IN("a@[IPv6:2001:db8::g]"), 0, .want = SYNTAX },
	{ "ipv6 two ::", IN("a@[IPv6:1::2::3]"), 0, .want = SYNTAX },
	{ "ipv6 too many", IN("a@[IPv6:1:2:3:4:5:6:7:8:9]"), 0, .want = SYNTAX },
	{ "ipv6 holding ipv4", IN("a@[IPv6:192.0.2.1]"), 0, .want = SYNTAX },
	{ "ipv4 with ipv6 tag", IN("a@[IPv4:192.0.2.1]"), 0, .want = SYNTAX },
	{ "general literal", IN("a@[x-tag:foo]"), 0, .want = SYNTAX },
	{ "no ]", IN("a@[192.0.2.1"), 0, .want = SYNTAX },
	{ "after ]", IN("a@[192.0.2.1]x"), 0, .want = SYNTAX },
	{ "literal then label", IN("a@[192.0.2.1].test"), 0, .want = SYNTAX },
	/* a NUL must not cut the text inet_pton() reads */
	{ "literal_nul", IN("a@[192.0.2.1\0junk]"), 0, .want = SYNTAX },
	{ "literal 8-bit", IN("a@[\xc3\xa9]"), 1, .want = SYNTAX },

	/* ---- source routes (RFC 5321 4.1.2, appendix C): dropped ---- */
	{ "route", IN("@a.test,@b.test:u@c.test"), 0, OK, "u", "c.test", F_ROUTE, "u@c.test" },
	{ "route one", IN("@A.test:u@c.test"), 0, OK, "u", "c.test", F_ROUTE, "u@c.test" },
	{ "route to literal", IN("@a.test:u@[192.0.2.1]"), 0, OK, "u", "[192.0.2.1]",
	  F_ROUTE | F_LITERAL, "u@[192.0.2.1]" },
	{ "route no colon", IN("@a.test"), 0, .want = SYNTAX },
	{ "route no mailbox", IN("@a.test:"), 0, .want = SYNTAX },
	{ "route missing @", IN("@a.test,b.test:u@c.test"), 0, .want = SYNTAX },
	{ "route empty", IN("@:u@c.test"), 0, .want = SYNTAX },
	{ "route trailing ,", IN("@a.test,:u@c.test"), 0, .want = SYNTAX },
	{ "route literal", IN("@[192.0.2.1]:u@c.test"), 0, .want = SYNTAX },
	{ "route bad label", IN("@-a.test:u@c.test"), 0, .want = SYNTAX },
	{ "route postmaster", IN("@a.test:postmaster"), 0, .want = SYNTAX },

	/* ---- RFC 5321 4.1.1.3: <Postmaster> ---- */
	{ "postmaster", IN("postmaster"), 0, OK, "postmaster", "", F_PM, "postmaster" },
	{ "Postmaster", IN("PostMaster"), 0, OK, "postmaster", "", F_PM, "postmaster" },
	{ "postmaster at", IN("Postmaster@Example.Test"), 0, OK, "Postmaster", "example.test", 0,
	  "Postmaster@example.test" },
	{ "postmaster quoted", IN("\"postmaster\""), 0, .want = SYNTAX },
	{ "postmaster @", IN("postmaster@"), 0, .want = SYNTAX },
	{ "postmasters", IN("postmasters"), 0, .want = SYNTAX },
	{ "other bare", IN("abuse"), 0, .want = SYNTAX },

	/* ---- UTF-8 (RFC 6531 3.3, RFC 3629 4) ---- */
	{ "utf8 local", IN("\xc3\xa9l\xc3\xa8ve@x.test"), 1, OK, "\xc3\xa9l\xc3\xa8ve", "x.test",
	  F_UTF8, "\xc3\xa9l\xc3\xa8ve@x.test" },
	{ "utf8 domain", IN("a@\xc3\xa9x.TEST"), 1, OK, "a", "\xc3\xa9x.test", F_UTF8,
	  "a@\xc3\xa9x.test" },
	{ "utf8 upper kept", IN("a@X.\xc3\x89"), 1, OK, "a", "x.\xc3\x89", F_UTF8, "a@x.\xc3\x89" },
	{ "utf8 3 bytes", IN("a@b\xe2\x82\xac.test"), 1, OK, "a", "b\xe2\x82\xac.test", F_UTF8,
	  "a@b\xe2\x82\xac.test" },
	{ "utf8 4 bytes", IN("\xf0\x9f\x98\x80@x.test"), 1, OK, "\xf0\x9f\x98\x80", "x.test",
	  F_UTF8, "\xf0\x9f\x98\x80@x.test" },
	{ "utf8 max", IN("\xf4\x8f\xbf\xbf@x.test"), 1, OK, "\xf4\x8f\xbf\xbf", "x.test", F_UTF8,
	  "\xf4\x8f\xbf\xbf@x.test" },
	{ "utf8 quoted", IN("\"\xc3\xa9 b\"@x.test"), 1, OK, "\xc3\xa9 b", "x.test",
	  F_QUOTED | F_UTF8, "\"\xc3\xa9 b\"@x.test" },
	{ "utf8 route only", IN("@\xc3\xa9.test:u@c.test"), 1, OK, "u", "c.test", F_ROUTE,
	  "u@c.test" },
	{ "utf8 without", IN("\xc3\xa9@x.test"), 0, .want = NEEDS },
	{ "utf8 domain without", IN("a@\xc3\xa9.test"), 0, .want = NEEDS },
	{ "utf8 literal without", IN("a@[\xc3\xa9]"), 0, .want = NEEDS },
	{ "utf8 quoted pair", IN("\"\\\xc3\xa9\"@x.test"), 1, .want = SYNTAX },
	{ "overlong C0 AF", IN("\xc0\xaf@x.test"), 1, .want = BADU },
	{ "overlong C0 AF without", IN("\xc0\xaf@x.test"), 0, .want = BADU },
	{ "overlong C1", IN("\xc1\xbf@x.test"), 1, .want = BADU },
	{ "overlong E0", IN("\xe0\x80\xaf@x.test"), 1, .want = BADU },
	{ "overlong F0", IN("\xf0\x80\x80\xaf@x.test"), 1, .want = BADU },
	{ "surrogate ED A0 80", IN("\xed\xa0\x80@x.test"), 1, .want = BADU },
	{ "surrogate without", IN("a@\xed\xbf\xbf.test"), 0, .want = BADU },
	{ "past U+10FFFF", IN("\xf4\x90\x80\x80@x.test"), 1, .want = BADU },
	{ "F5", IN("\xf5\x80\x80\x80@x.test"), 1, .want = BADU },
	{ "FF", IN("\xff@x.test"), 1, .want = BADU },
	{ "stray continuation", IN("\x80@x.test"), 1, .want = BADU },
	{ "truncated 2", IN("\xc3@x.test"), 1, .want = BADU },
	{ "truncated at end", IN("a@x.test\xe2\x82"), 1, .want = BADU },
	{ "truncated 4", IN("\xf0\x9f\x98@x.test"), 1, .want = BADU },
	/* well-formed, but never in an address: they make it read as another (Trojan Source) */
	{ "C1 NEL U+0085", IN("a\xc2\x85" "b@x.test"), 1, .want = UNSAFE },
	{ "C1 first U+0080", IN("\xc2\x80@x.test"), 1, .want = UNSAFE },
	{ "C1 last U+009F", IN("a@x\xc2\x9f.test"), 1, .want = UNSAFE },
	{ "line separator U+2028", IN("a\xe2\x80\xa8@x.test"), 1, .want = UNSAFE },
	{ "paragraph separator U+2029", IN("a\xe2\x80\xa9@x.test"), 1, .want = UNSAFE },
	{ "LRE U+202A", IN("\xe2\x80\xaa@x.test"), 1, .want = UNSAFE },
	{ "RLO U+202E", IN("moc.elpmaxe\xe2\x80\xae@x.test"), 1, .want = UNSAFE },
	{ "LRI U+2066", IN("a@\xe2\x81\xa6x.test"), 1, .want = UNSAFE },
	{ "PDI U+2069", IN("\"a\xe2\x81\xa9\"@x.test"), 1, .want = UNSAFE },
	{ "unsafe without SMTPUTF8", IN("a\xe2\x80\xae@x.test"), 0, .want = UNSAFE },
	/* their neighbours are fine */
	{ "U+00A0 next to C1", IN("a\xc2\xa0" "b@x.test"), 1, OK, "a\xc2\xa0" "b", "x.test", F_UTF8,
	  "a\xc2\xa0" "b@x.test" },
	{ "U+2027 next to U+2028", IN("a\xe2\x80\xa7@x.test"), 1, OK, "a\xe2\x80\xa7", "x.test",
	  F_UTF8, "a\xe2\x80\xa7@x.test" },
	{ "U+202F after the overrides", IN("a\xe2\x80\xaf@x.test"), 1, OK, "a\xe2\x80\xaf",
	  "x.test", F_UTF8, "a\xe2\x80\xaf@x.test" },

	/* ---- malformed ---- */
	{ "no @", IN("a"), 0, .want = SYNTAX },
	{ "no local", IN("@x.test"), 0, .want = SYNTAX },
	{ "no domain", IN("a@"), 0, .want = SYNTAX },
	{ "two @", IN("a@b@x.test"), 0, .want = SYNTAX },
	{ "trailing dot", IN("a@x.test."), 0, .want = SYNTAX },
	{ "leading dot", IN("a@.x.test"), 0, .want = SYNTAX },
	{ "empty label", IN("a@x..test"), 0, .want = SYNTAX },
	{ "label starts with -", IN("a@-x.test"), 0, .want = SYNTAX },
	{ "label ends with -", IN("a@x-.test"), 0, .want = SYNTAX },
	{ "underscore", IN("a@x_y.test"), 0, .want = SYNTAX },
	{ "local trailing dot", IN("a.@x.test"), 0, .want = SYNTAX },
	{ "local leading dot", IN(".a@x.test"), 0, .want = SYNTAX },
	{ "local double dot", IN("a..b@x.test"), 0, .want = SYNTAX },
	{ "local SP", IN("a b@x.test"), 0, .want = SYNTAX },
	{ "local quote inside", IN("a\"b@x.test"), 0, .want = SYNTAX },
	{ "local backslash", IN("a\\b@x.test"), 0, .want = SYNTAX },
	{ "after quoted", IN("\"a\"b@x.test"), 0, .want = SYNTAX },
	{ "quoted then dot", IN("\"a\".b@x.test"), 0, .want = SYNTAX },
	{ "unterminated quote", IN("\"a@x.test"), 0, .want = SYNTAX },
	{ "empty quoted", IN("\"\"@x.test"), 0, .want = SYNTAX },
	{ "quoted control", IN("\"a\x01\"@x.test"), 0, .want = SYNTAX },
	{ "quoted HTAB", IN("\"a\tb\"@x.test"), 0, .want = SYNTAX },
	{ "quoted pair control", IN("\"a\\\x01\"@x.test"), 0, .want = SYNTAX },
	{ "quoted pair at end", IN("\"a\\"), 0, .want = SYNTAX },
	{ "NUL in local", IN("a\0@b.test"), 0, .want = SYNTAX },
	{ "NUL in domain", IN("a@b\0.test"), 0, .want = SYNTAX },
	{ "NUL in quotes", IN("\"a\0\"@b.test"), 0, .want = SYNTAX },
	{ "trailing SP", IN("a@x.test "), 0, .want = SYNTAX },
	{ "brackets inside", IN("<a@x.test>"), 0, .want = SYNTAX },
	{ "comment", IN("a(c)@x.test"), 0, .want = SYNTAX },
	{ "CRLF", IN("a@x.test\r\n"), 0, .want = SYNTAX },
};

/* ---- helpers ---- */

static enum smtp_addr_err
parse_exact(const uint8_t *in, size_t len, int utf8_ok, struct smtp_addr *out)
{
	uint8_t *copy = malloc(len ? len : 1);
	enum smtp_addr_err err;

	assert_non_null(copy);
	if (len)
		memcpy(copy, in, len);
	err = smtp_addr_parse((struct slice){ copy, len }, utf8_ok, out);
	free(copy);
	return err;
}

static unsigned
flags_of(const struct smtp_addr *a)
{
	return (a->is_null ? F_NULL : 0) | (a->is_quoted ? F_QUOTED : 0) |
	    (a->has_route ? F_ROUTE : 0) | (a->is_literal ? F_LITERAL : 0) |
	    (a->has_utf8 ? F_UTF8 : 0) | (a->is_bare_postmaster ? F_PM : 0);
}

/*
 * The same mailbox: is_quoted and has_route say how the path was written,
 * and the printer writes the canonical form (no route, quotes only when
 * needed), so they are left out.
 */
static int
addr_same(const struct smtp_addr *a, const struct smtp_addr *b)
{
	unsigned mask = ~(unsigned)(F_QUOTED | F_ROUTE);

	return a->local_len == b->local_len && memcmp(a->local, b->local, a->local_len) == 0 &&
	    a->domain_len == b->domain_len && memcmp(a->domain, b->domain, a->domain_len) == 0 &&
	    (flags_of(a) & mask) == (flags_of(b) & mask);
}

/* An accepted address prints, parses back the same, and prints the same again. */
static void
check_roundtrip(const char *name, const struct smtp_addr *a, int utf8_ok, char *fmt_out)
{
	char fmt[SMTP_ADDR_FMT_MAX], again[SMTP_ADDR_FMT_MAX];
	struct smtp_addr b;
	enum smtp_addr_err err;

	if (a->local_len > SMTP_LOCAL_MAX || a->local[a->local_len] != '\0' ||
	    a->domain_len > SMTP_DOMAIN_MAX || a->domain[a->domain_len] != '\0')
		fail_msg("%s: lengths or terminators wrong", name);
	if (smtp_addr_format(a, fmt, sizeof(fmt)) != 0)
		fail_msg("%s: format failed", name);
	err = parse_exact((const uint8_t *)fmt, strlen(fmt), utf8_ok, &b);
	if (err != SMTP_ADDR_OK)
		fail_msg("%s: '%s' does not parse back (%d)", name, fmt, (int)err);
	if (!addr_same(a, &b))
		fail_msg("%s: '%s' parses back to another address", name, fmt);
	if (b.has_route || b.is_quoted != (fmt[0] == '"'))
		fail_msg("%s: '%s' is not canonical", name, fmt);
	if (smtp_addr_format(&b, again, sizeof(again)) != 0 || strcmp(fmt, again) != 0)
		fail_msg("%s: '%s' prints again as '%s'", name, fmt, again);
	if (fmt_out != NULL)
		memcpy(fmt_out, fmt, strlen(fmt) + 1);
}

static void
expect_zeroed(const char *name, const struct smtp_addr *a)
{
	static const struct smtp_addr zero;

	if (memcmp(a, &zero, sizeof(zero)) != 0)
		fail_msg("%s: a refused address left bytes behind", name);
}

/* ---- tests ---- */

static void
test_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct addr_case *c = &cases[i];
		struct smtp_addr a;
		char fmt[SMTP_ADDR_FMT_MAX];
		enum smtp_addr_err err = parse_exact(c->in, c->len, c->utf8_ok, &a);

		if (err != c->want)
			fail_msg("%s: %d, want %d", c->name, (int)err, (int)c->want);
		if (err != SMTP_ADDR_OK) {
			expect_zeroed(c->name, &a);
			continue;
		}
		if (a.local_len != strlen(c->local) || memcmp(a.local, c->local, a.local_len) != 0)
			fail_msg("%s: local '%.*s'", c->name, (int)a.local_len, a.local);
		if (a.domain_len != strlen(c->domain) ||
		    memcmp(a.domain, c->domain, a.domain_len) != 0)
			fail_msg("%s: domain '%.*s'", c->name, (int)a.domain_len, a.domain);
		if (flags_of(&a) != c->flags)
			fail_msg("%s: flags %#x, want %#x", c->name, flags_of(&a), c->flags);
		check_roundtrip(c->name, &a, c->utf8_ok, fmt);
		if (strcmp(fmt, c->fmt) != 0)
			fail_msg("%s: printed '%s', want '%s'", c->name, fmt, c->fmt);
	}
}

/*
 * Every prefix of every path, with and without SMTPUTF8: no read past the
 * end, nothing half-filled on refusal, and the round trip for whatever is
 * accepted.
 */
static void
test_table_prefixes(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct addr_case *c = &cases[i];

		for (size_t k = 0; k <= c->len; k++) {
			for (int utf8_ok = 0; utf8_ok <= 1; utf8_ok++) {
				struct smtp_addr a;

				if (parse_exact(c->in, k, utf8_ok, &a) == SMTP_ADDR_OK)
					check_roundtrip(c->name, &a, utf8_ok, NULL);
				else
					expect_zeroed(c->name, &a);
			}
		}
	}
}

/* Fills p with n copies of c and returns p + n. */
static uint8_t *
fill(uint8_t *p, uint8_t c, size_t n)
{
	memset(p, c, n);
	return p + n;
}

static uint8_t *
put(uint8_t *p, const char *s)
{
	size_t n = strlen(s);

	memcpy(p, s, n);
	return p + n;
}

/* RFC 5321 4.5.3.1.1: a local part of 64 octets as sent, quotes included. */
static void
test_local_limit(void **state)
{
	uint8_t in[128], *p;
	struct smtp_addr a;

	(void)state;
	p = put(fill(in, 'l', SMTP_LOCAL_MAX), "@x.test");
	assert_int_equal(parse_exact(in, (size_t)(p - in), 0, &a), SMTP_ADDR_OK);
	assert_int_equal(a.local_len, SMTP_LOCAL_MAX);
	check_roundtrip("local 64", &a, 0, NULL);
	p = put(fill(in, 'l', SMTP_LOCAL_MAX + 1), "@x.test");
	assert_int_equal(parse_exact(in, (size_t)(p - in), 0, &a), SMTP_ADDR_TOO_LONG);
	expect_zeroed("local 65", &a);

	/* quoted: 64 with the quotes is 62 inside */
	p = put(fill(put(in, "\""), ' ', SMTP_LOCAL_MAX - 2), "\"@x.test");
	assert_int_equal(parse_exact(in, (size_t)(p - in), 0, &a), SMTP_ADDR_OK);
	assert_int_equal(a.local_len, SMTP_LOCAL_MAX - 2);
	check_roundtrip("quoted 64", &a, 0, NULL);
	p = put(fill(put(in, "\""), ' ', SMTP_LOCAL_MAX - 1), "\"@x.test");
	assert_int_equal(parse_exact(in, (size_t)(p - in), 0, &a), SMTP_ADDR_TOO_LONG);

	/* counted as sent: 32 quoted-pairs are 64 octets of 32 bytes */
	p = put(in, "\"");
	for (int i = 0; i < 31; i++)
		p = put(p, "\\\"");
	p = put(p, "\"@x.test");
	assert_int_equal(parse_exact(in, (size_t)(p - in), 0, &a), SMTP_ADDR_OK);
	assert_int_equal(a.local_len, 31);
	check_roundtrip("pairs 64", &a, 0, NULL);
	p = put(in, "\"");
	for (int i = 0; i < 31; i++)
		p = put(p, "\\\"");
	p = put(p, "x\"@x.test");
	assert_int_equal(parse_exact(in, (size_t)(p - in), 0, &a), SMTP_ADDR_TOO_LONG);

	/* a syntax error is reported before the length */
	p = put(fill(in, 'l', SMTP_LOCAL_MAX + 1), "@x..test");
	assert_int_equal(parse_exact(in, (size_t)(p - in), 0, &a), SMTP_ADDR_SYNTAX);
}

/* RFC 1035 2.3.4: a label of 63 octets. */
static void
test_label_limit(void **state)
{
	uint8_t in[128], *p;
	struct smtp_addr a;

	(void)state;
	p = put(fill(put(in, "a@"), 'd', 63), ".test");
	assert_int_equal(parse_exact(in, (size_t)(p - in), 0, &a), SMTP_ADDR_OK);
	assert_int_equal(a.domain_len, 68);
	p = put(fill(put(in, "a@"), 'd', 64), ".test");
	assert_int_equal(parse_exact(in, (size_t)(p - in), 0, &a), SMTP_ADDR_SYNTAX);
	p = fill(put(in, "a@x."), 'd', 64);
	assert_int_equal(parse_exact(in, (size_t)(p - in), 0, &a), SMTP_ADDR_SYNTAX);
}

/*
 * RFC 5321 4.5.3.1.3: 256 octets with the angle brackets, 254 between them.
 * With that the domain limit (255, 4.5.3.1.2) cannot be reached.
 */
static void
test_path_limit(void **state)
{
	uint8_t in[300], *p;
	struct smtp_addr a;
	size_t want = SMTP_PATH_MAX - 2;

	(void)state;
	/* "a@" then labels of 63 'd' and a dot, topped up to 254 */
	p = put(in, "a@");
	while ((size_t)(p - in) + 64 < want)
		p = put(fill(p, 'd', 63), ".");
	p = fill(p, 'e', want - (size_t)(p - in));
	assert_int_equal((size_t)(p - in), want);
	assert_int_equal(parse_exact(in, want, 0, &a), SMTP_ADDR_OK);
	assert_int_equal(a.domain_len, want - 2);
	check_roundtrip("path 254", &a, 0, NULL);
	/* one more byte in the last label */
	*p++ = 'e';
	assert_int_equal(parse_exact(in, want + 1, 0, &a), SMTP_ADDR_TOO_LONG);
	expect_zeroed("path 255", &a);

	/* a route counts too: it goes into the 254 and is then dropped */
	p = put(in, "@r.test:a@");
	while ((size_t)(p - in) + 64 < want)
		p = put(fill(p, 'd', 63), ".");
	p = fill(p, 'e', want - (size_t)(p - in));
	assert_int_equal(parse_exact(in, want, 0, &a), SMTP_ADDR_OK);
	assert_true(a.has_route);
	*p++ = 'e';
	assert_int_equal(parse_exact(in, want + 1, 0, &a), SMTP_ADDR_TOO_LONG);

	/* too long beats everything else: it bounds the work */
	memset(in, 0xff, want + 1);
	assert_int_equal(parse_exact(in, want + 1, 1, &a), SMTP_ADDR_TOO_LONG);
}

static void
test_format_limits(void **state)
{
	struct smtp_addr a, b;
	char out[SMTP_ADDR_FMT_MAX + 8];

	(void)state;
	assert_int_equal(parse_exact(IN("a@b.test"), 0, &a), SMTP_ADDR_OK);
	/* "a@b.test" is 8 bytes and needs 9 with its NUL */
	assert_int_equal(smtp_addr_format(&a, out, 9), 0);
	assert_string_equal(out, "a@b.test");
	memset(out, 'x', sizeof(out));
	assert_int_equal(smtp_addr_format(&a, out, 8), -1);
	assert_int_equal(out[0], '\0');
	assert_int_equal(smtp_addr_format(&a, out, 0), -1);

	assert_int_equal(parse_exact(IN(""), 0, &a), SMTP_ADDR_OK);
	assert_int_equal(smtp_addr_format(&a, out, 1), 0);
	assert_string_equal(out, "");

	/* the worst case a caller can build: every byte escaped, longest domain */
	memset(&b, 0, sizeof(b));
	memset(b.local, '"', SMTP_LOCAL_MAX);
	b.local_len = SMTP_LOCAL_MAX;
	memset(b.domain, 'd', SMTP_DOMAIN_MAX);
	b.domain_len = SMTP_DOMAIN_MAX;
	assert_int_equal(smtp_addr_format(&b, out, SMTP_ADDR_FMT_MAX), 0);
	assert_int_equal(strlen(out), SMTP_ADDR_FMT_MAX - 1);
	assert_int_equal(smtp_addr_format(&b, out, SMTP_ADDR_FMT_MAX - 1), -1);
	/* lengths past the arrays are refused, never read */
	b.local_len = SMTP_LOCAL_MAX + 1;
	assert_int_equal(smtp_addr_format(&b, out, sizeof(out)), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_table_prefixes),
		cmocka_unit_test(test_local_limit),
		cmocka_unit_test(test_label_limit),
		cmocka_unit_test(test_path_limit),
		cmocka_unit_test(test_format_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
