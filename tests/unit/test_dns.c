/*
 * test_dns.c - the pure parts of src/dns the client checks use
 * (answer.c): DNSBL and reverse query names for IPv4, IPv6 and
 * IPv4-mapped addresses, address comparison, and the negative TTL of a
 * reply (RFC 2308 5) read from hostile bytes. MX ordering is
 * test_outbound.c's.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "dns/answer.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* ---- query names ---- */

static const struct {
	const char *ip, *zone;
	size_t size;
	const char *want;	/* NULL: -1 */
} name_cases[] = {
	{ "127.0.0.2", "zen.example", 256, "2.0.0.127.zen.example" },
	{ "192.0.2.99", NULL, 256, "99.2.0.192.in-addr.arpa" },
	{ "::ffff:127.0.0.2", "bl.test", 256, "2.0.0.127.bl.test" },	/* mapped: as IPv4 */
	{ "::FFFF:7f00:2", "bl.test", 256, "2.0.0.127.bl.test" },
	{ "::1", NULL, 256,
	    "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa" },
	{ "2001:DB8::567:89ab", "bl.test", 256,
	    "b.a.9.8.7.6.5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.bl.test" },
	{ "127.0.0.2", "zen.example", 22, "2.0.0.127.zen.example" },	/* just fits */
	{ "127.0.0.2", "zen.example", 21, NULL },
	{ "::1", "bl.test", 72, "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0."
	    "bl.test" },
	{ "::1", "bl.test", 71, NULL },
	{ "::1", "bl.test", 40, NULL },
	{ "127.0.0", "bl.test", 256, NULL },
	{ "", "bl.test", 256, NULL },
	{ "localhost", "bl.test", 256, NULL },
	{ "127.0.0.2 ", "bl.test", 256, NULL },
	{ "fe80::1%lo", "bl.test", 256, NULL },
};

static void
test_reverse_name(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(name_cases); i++) {
		char out[300];
		int rc;

		memset(out, 'x', sizeof(out));
		rc = dns_reverse_name(name_cases[i].ip, name_cases[i].zone, out, name_cases[i].size);
		if (name_cases[i].want == NULL) {
			if (rc != -1)
				fail_msg("case %zu (%s): want -1, got %s", i, name_cases[i].ip, out);
			continue;
		}
		if (rc != 0 || strcmp(out, name_cases[i].want) != 0)
			fail_msg("case %zu (%s): want %s, got %d %s", i, name_cases[i].ip,
			    name_cases[i].want, rc, rc == 0 ? out : "");
	}
}

/* A name longer than DNS allows is refused even when the buffer has room. */
static void
test_reverse_name_too_long(void **state)
{
	char zone[200], out[512];

	(void)state;
	memset(zone, 'a', 189);
	zone[189] = '\0';
	for (size_t i = 63; i < 189; i += 64)
		zone[i] = '.';
	/* 64 bytes of nibbles and a 189-byte zone: 253, the most DNS allows */
	assert_int_equal(dns_reverse_name("::1", zone, out, sizeof(out)), 0);
	assert_int_equal(strlen(out), 253);
	zone[189] = 'a';
	zone[190] = '\0';
	assert_int_equal(dns_reverse_name("::1", zone, out, sizeof(out)), -1);
	/* an IPv4 name has room for more zone */
	assert_int_equal(dns_reverse_name("127.0.0.2", zone, out, sizeof(out)), 0);
}

static void
test_ip_equal(void **state)
{
	(void)state;
	assert_true(dns_ip_equal("127.0.0.9", "127.0.0.9"));
	assert_true(dns_ip_equal("127.0.0.9", "::ffff:127.0.0.9"));
	assert_true(dns_ip_equal("2001:DB8::1", "2001:db8:0::1"));
	assert_false(dns_ip_equal("127.0.0.9", "127.0.0.8"));
	assert_false(dns_ip_equal("::1", "127.0.0.1"));
	assert_false(dns_ip_equal("::7f00:9", "127.0.0.9"));	/* IPv4-compatible is not mapped */
	assert_false(dns_ip_equal("host.test", "host.test"));
}

/* ---- the negative TTL (RFC 2308 5) ---- */

/*
 * NXDOMAIN for x.bl.test A, with bl.test's SOA in the authority section:
 * TTL 300, MINIMUM 42 (names compressed against the question's).
 */
static const uint8_t nxdomain[] = {
	0x12, 0x34, 0x81, 0x83, 0, 1, 0, 0, 0, 1, 0, 0,
	1, 'x', 2, 'b', 'l', 4, 't', 'e', 's', 't', 0, 0, 1, 0, 1,
	0xc0, 14, 0, 6, 0, 1, 0, 0, 0x01, 0x2c, 0, 29,
	2, 'n', 's', 0xc0, 14, 1, 'h', 0xc0, 14,
	0, 0, 0, 1, 0, 0, 0x0e, 0x10, 0, 0, 0x02, 0x58, 0, 1, 0x51, 0x80, 0, 0, 0, 42,
};
#define TTL_AT 33		/* where the SOA record's TTL is */
#define MINIMUM_AT (sizeof(nxdomain) - 4)

static void
test_negative_ttl(void **state)
{
	uint8_t m[sizeof(nxdomain)];
	unsigned ttl = 7;

	(void)state;
	assert_int_equal(dns_negative_ttl(nxdomain, sizeof(nxdomain), &ttl), 0);
	assert_int_equal(ttl, 42);	/* MINIMUM is the smaller */
	memcpy(m, nxdomain, sizeof(m));
	m[TTL_AT + 3] = 10;
	m[TTL_AT + 2] = 0;
	assert_int_equal(dns_negative_ttl(m, sizeof(m), &ttl), 0);
	assert_int_equal(ttl, 10);	/* the record's TTL is */
	m[TTL_AT] = 0x80;		/* RFC 2181 8: top bit set means 0 */
	assert_int_equal(dns_negative_ttl(m, sizeof(m), &ttl), 0);
	assert_int_equal(ttl, 0);
	/* every cut of the reply is refused, not read past its end */
	for (size_t len = 0; len < sizeof(nxdomain); len++)
		if (dns_negative_ttl(nxdomain, len, &ttl) != -1)
			fail_msg("a reply cut at %zu bytes was read", len);
	assert_int_equal(dns_negative_ttl(NULL, 0, &ttl), -1);
	/* the SOA counted as an answer, not as authority: no negative TTL */
	memcpy(m, nxdomain, sizeof(m));
	m[7] = 1, m[9] = 0;
	assert_int_equal(dns_negative_ttl(m, sizeof(m), &ttl), -1);
	/* no SOA at all */
	memcpy(m, nxdomain, sizeof(m));
	m[9] = 0;
	assert_int_equal(dns_negative_ttl(m, sizeof(m), &ttl), -1);
	/* another record type in its place */
	memcpy(m, nxdomain, sizeof(m));
	m[TTL_AT - 3] = 2;	/* NS */
	assert_int_equal(dns_negative_ttl(m, sizeof(m), &ttl), -1);
	/* a label of an extended type (0x40) */
	memcpy(m, nxdomain, sizeof(m));
	m[12] = 0x41;
	assert_int_equal(dns_negative_ttl(m, sizeof(m), &ttl), -1);
	/* more records claimed than there are */
	memcpy(m, nxdomain, sizeof(m));
	m[5] = 2;
	assert_int_equal(dns_negative_ttl(m, sizeof(m), &ttl), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reverse_name),
		cmocka_unit_test(test_reverse_name_too_long),
		cmocka_unit_test(test_ip_equal),
		cmocka_unit_test(test_negative_ttl),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
