/*
 * fuzz_dns.c - an MX answer as a DNS server may send it (any bytes), parsed
 * by c-ares as the daemon has it parsed, then taken as dns.c takes it
 * (mx_from_replies, mx_is_null, mx_sort). Checked: every host is a short
 * NUL-terminated name, at most the maximum is kept,
 * the sorted list runs by preference, a null MX is the one record naming
 * the root, and no root record survives the sort beside other hosts.
 * The same bytes as a reply that found nothing, for its negative TTL
 * (dns_negative_ttl, RFC 2308): read within bounds, a TTL below 2^31.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <ares.h>

#include "dns/answer.h"
#include "dns/mx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)	do { if (!(cond)) abort(); } while (0)
#define MAX 16

static uint32_t
counter(void *ctx)
{
	return (*(uint32_t *)ctx)++ * 2654435761u;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ares_mx_reply *mx = NULL;
	struct dns_mx v[MAX];
	uint32_t seed = 1;
	size_t n, kept;
	unsigned ttl = 0;

	if (dns_negative_ttl(data, size, &ttl) == 0)
		CHECK(ttl < 0x80000000u);
	if (size > 65535 || ares_parse_mx_reply(data, (int)size, &mx) != ARES_SUCCESS) {
		if (mx != NULL)
			ares_free_data(mx);
		return 0;
	}
	n = mx_from_replies(mx, v, MAX);
	ares_free_data(mx);
	CHECK(n <= MAX);
	for (size_t i = 0; i < n; i++) {
		size_t len = strnlen(v[i].host, sizeof(v[i].host));

		/* a final dot may stay when c-ares escaped it (a "\\." inside a label): harmless */
		CHECK(len < sizeof(v[i].host));
	}
	if (mx_is_null(v, n)) {
		CHECK(n == 1 && v[0].host[0] == '\0');
		return 0;
	}
	kept = mx_sort(v, n, counter, &seed);
	CHECK(kept <= n);
	for (size_t i = 1; i < kept; i++)
		CHECK(v[i - 1].pref <= v[i].pref);
	for (size_t i = 0; i < kept && kept > 1; i++)
		CHECK(v[i].host[0] != '\0');
	return 0;
}
