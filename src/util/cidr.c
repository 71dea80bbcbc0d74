/*
 * cidr.c - CIDR networks (RFC 4632 3.1 for IPv4, RFC 4291 2.3 for IPv6):
 * parsing with inet_pton (numeric only, nothing resolved) and prefix matching
 * on the address bytes.
 */
#include "util/cidr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "util/ascii.h"

/* 1 if the first bits of a and b (byte arrays) are equal. */
static int
prefix_eq(const uint8_t *a, const uint8_t *b, unsigned bits)
{
	unsigned whole = bits / 8, rest = bits % 8;

	if (memcmp(a, b, whole) != 0)
		return 0;
	if (rest == 0)
		return 1;
	return ((a[whole] ^ b[whole]) & (uint8_t)(0xff << (8 - rest))) == 0;
}

enum cidr_err
cidr_parse(const char *s, struct cidr *out)
{
	char host[INET6_ADDRSTRLEN];
	const char *slash = strchr(s, '/');
	size_t hostlen = slash ? (size_t)(slash - s) : strlen(s);
	unsigned max_bits;
	uint64_t bits;
	uint8_t masked[16];

	memset(out, 0, sizeof(*out));
	if (hostlen == 0 || hostlen >= sizeof(host))
		return CIDR_SYNTAX;
	memcpy(host, s, hostlen);
	host[hostlen] = '\0';
	if (inet_pton(AF_INET, host, out->addr) == 1) {
		out->family = AF_INET;
		max_bits = 32;
	} else if (inet_pton(AF_INET6, host, out->addr) == 1) {
		out->family = AF_INET6;
		max_bits = 128;
	} else {
		return CIDR_SYNTAX;
	}
	bits = max_bits;
	if (slash != NULL) {
		struct slice b = slice_str(slash + 1);

		/* "/08" and "/+8" are refused: one spelling per network */
		if (b.len == 0 || b.len > 3 || (b.len > 1 && b.p[0] == '0') ||
		    ascii_parse_u64(b, &bits) == -1 || bits > max_bits)
			return CIDR_SYNTAX;
	}
	out->prefix_bits = (unsigned)bits;
	/* the bits after the prefix must be zero: "10.1.2.3/8" means something else to everyone */
	memcpy(masked, out->addr, sizeof(masked));
	for (unsigned i = out->prefix_bits; i < max_bits; i++)
		masked[i / 8] &= (uint8_t)~(0x80u >> (i % 8));
	if (memcmp(masked, out->addr, max_bits / 8) != 0) {
		memcpy(out->addr, masked, sizeof(masked));
		return CIDR_HOST_BITS;
	}
	return CIDR_OK;
}

int
cidr_format(const struct cidr *c, char *out, size_t size)
{
	char text[INET6_ADDRSTRLEN];
	int n;

	if (inet_ntop(c->family, c->addr, text, sizeof(text)) == NULL)
		return -1;
	n = snprintf(out, size, "%s/%u", text, c->prefix_bits);
	return n < 0 || (size_t)n >= size ? -1 : 0;
}

int
cidr_match_text(const struct cidr *c, const char *ip)
{
	uint8_t a[16];
	static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	if (inet_pton(AF_INET, ip, a) == 1) {
		if (c->family == AF_INET)
			return prefix_eq(a, c->addr, c->prefix_bits);
		/* an IPv4 client against an IPv6 network: as its mapped form ::ffff:a.b.c.d */
		uint8_t m[16];

		memcpy(m, v4mapped, 12);
		memcpy(m + 12, a, 4);
		return prefix_eq(m, c->addr, c->prefix_bits);
	}
	if (inet_pton(AF_INET6, ip, a) != 1)
		return 0;
	if (c->family == AF_INET6)
		return prefix_eq(a, c->addr, c->prefix_bits);
	/* ::ffff:a.b.c.d is the IPv4 client a.b.c.d on a dual-stack socket */
	return memcmp(a, v4mapped, 12) == 0 && prefix_eq(a + 12, c->addr, c->prefix_bits);
}

int
cidr_list_match(const struct cidr *list, size_t n, const char *ip)
{
	for (size_t i = 0; i < n; i++)
		if (cidr_match_text(&list[i], ip))
			return 1;
	return 0;
}
