/*
 * fuzz_addr.c - the address parser and printer.
 * Input layout: bit 0 of byte 0 says whether SMTPUTF8 is in effect, the
 * rest is the path (the bytes between '<' and '>'). An accepted address is
 * printed, parsed again and must be the same mailbox (is_quoted and
 * has_route describe how it was written, and the printer writes the
 * canonical form, so they are left out), and printing that gives the same
 * bytes. A refused address must leave nothing behind in the struct.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtp/smtp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)	do { if (!(cond)) abort(); } while (0)

static int
has_high_byte(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((uint8_t)p[i] >= 0x80)
			return 1;
	return 0;
}

static void
check_addr(const struct smtp_addr *a, int utf8_ok)
{
	CHECK(a->local_len <= SMTP_LOCAL_MAX && a->local[a->local_len] == '\0');
	CHECK(a->domain_len <= SMTP_DOMAIN_MAX && a->domain[a->domain_len] == '\0');
	CHECK(memchr(a->local, '\0', a->local_len) == NULL);
	CHECK(memchr(a->domain, '\0', a->domain_len) == NULL);
	if (a->is_null)
		CHECK(a->local_len == 0 && a->domain_len == 0);
	else if (a->is_bare_postmaster)
		CHECK(a->local_len == 10 && memcmp(a->local, "postmaster", 10) == 0 &&
		    a->domain_len == 0);
	else
		CHECK(a->local_len > 0 && a->domain_len > 0);
	if (a->is_literal)
		CHECK(a->domain[0] == '[' && a->domain[a->domain_len - 1] == ']');
	CHECK(a->has_utf8 == (has_high_byte(a->local, a->local_len) ||
	    has_high_byte(a->domain, a->domain_len)));
	if (!utf8_ok)
		CHECK(!a->has_utf8);
	/* domains are lowercased */
	for (size_t i = 0; i < a->domain_len; i++)
		CHECK(a->domain[i] < 'A' || a->domain[i] > 'Z');
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct smtp_addr zero;
	struct smtp_addr a, b;
	char fmt[SMTP_ADDR_FMT_MAX], again[SMTP_ADDR_FMT_MAX];
	int utf8_ok;

	if (size < 1)
		return 0;
	utf8_ok = data[0] & 1;
	if (smtp_addr_parse((struct slice){ data + 1, size - 1 }, utf8_ok, &a) != SMTP_ADDR_OK) {
		CHECK(memcmp(&a, &zero, sizeof(a)) == 0);
		return 0;
	}
	check_addr(&a, utf8_ok);
	CHECK(smtp_addr_format(&a, fmt, sizeof(fmt)) == 0);
	CHECK(smtp_addr_parse(slice_str(fmt), utf8_ok, &b) == SMTP_ADDR_OK);
	check_addr(&b, utf8_ok);
	CHECK(a.local_len == b.local_len && memcmp(a.local, b.local, a.local_len) == 0);
	CHECK(a.domain_len == b.domain_len && memcmp(a.domain, b.domain, a.domain_len) == 0);
	CHECK(a.is_null == b.is_null && a.is_literal == b.is_literal &&
	    a.has_utf8 == b.has_utf8 && a.is_bare_postmaster == b.is_bare_postmaster);
	/* canonical: no route, and quotes only where a Dot-string will not do */
	CHECK(!b.has_route && b.is_quoted == (fmt[0] == '"'));
	CHECK(smtp_addr_format(&b, again, sizeof(again)) == 0 && strcmp(fmt, again) == 0);
	return 0;
}
