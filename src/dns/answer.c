/*
 * answer.c - names to ask and replies to read for the client checks:
 * DNSBL and reverse names (RFC 1035 3.5, RFC 3596 2.5), address
 * comparison across the IPv4 and IPv4-mapped forms, and the negative TTL
 * of RFC 2308 5, read from a reply's authority section (c-ares 1.18
 * parses a SOA only from the answer section). Pure.
 */
#include "dns/answer.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#define NS_T_SOA 6
#define HEADER_BYTES 12

int
dns_ip_parse(const char *ip, uint8_t out[16], int *family_out)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	struct in_addr a4;

	if (inet_pton(AF_INET, ip, &a4) == 1) {
		memcpy(out, mapped, sizeof(mapped));
		memcpy(out + 12, &a4, 4);
		*family_out = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, ip, out) != 1)
		return -1;
	*family_out = memcmp(out, mapped, sizeof(mapped)) == 0 ? AF_INET : AF_INET6;
	return 0;
}

int
dns_ip_equal(const char *a, const char *b)
{
	uint8_t x[16], y[16];
	int fx, fy;

	return dns_ip_parse(a, x, &fx) == 0 && dns_ip_parse(b, y, &fy) == 0 &&
	    memcmp(x, y, sizeof(x)) == 0;
}

int
dns_reverse_name(const char *ip, const char *zone, char *out, size_t size)
{
	static const char hex[] = "0123456789abcdef";
	uint8_t a[16];
	size_t used = 0;
	int family, n;

	if (dns_ip_parse(ip, a, &family) == -1 || size == 0)
		return -1;
	if (family == AF_INET) {
		n = snprintf(out, size, "%u.%u.%u.%u.%s", a[15], a[14], a[13], a[12],
		    zone != NULL ? zone : "in-addr.arpa");
		return n < 0 || (size_t)n >= size || n > DNS_NAME_MAX ? -1 : 0;
	}
	/* RFC 3596 2.5: the low nibble of the last byte comes first */
	for (int i = 15; i >= 0; i--) {
		if (used + 4 >= size)
			return -1;
		out[used++] = hex[a[i] & 0xf];
		out[used++] = '.';
		out[used++] = hex[a[i] >> 4];
		out[used++] = '.';
	}
	n = snprintf(out + used, size - used, "%s", zone != NULL ? zone : "ip6.arpa");
	return n < 0 || (size_t)n >= size - used || used + (size_t)n > DNS_NAME_MAX ? -1 : 0;
}

/* Skips the (possibly compressed) name at *pos: 0, or -1 past the end or on a bad label. */
static int
skip_name(const uint8_t *msg, size_t len, size_t *pos)
{
	size_t p = *pos;

	for (;;) {
		if (p >= len)
			return -1;
		if ((msg[p] & 0xc0) == 0xc0) {
			/* a pointer ends the name where it stands (RFC 1035 4.1.4) */
			if (p + 2 > len)
				return -1;
			*pos = p + 2;
			return 0;
		}
		if ((msg[p] & 0xc0) != 0)
			return -1;	/* the extended label types of RFC 6891 are gone */
		if (msg[p] == 0) {
			*pos = p + 1;
			return 0;
		}
		p += 1 + msg[p];
	}
}

static uint32_t
get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* RFC 2181 8: a TTL with the top bit set is to be taken as 0. */
static unsigned
ttl_value(uint32_t t)
{
	return t & 0x80000000u ? 0 : (unsigned)t;
}

int
dns_negative_ttl(const uint8_t *msg, size_t len, unsigned *ttl_out)
{
	size_t pos = HEADER_BYTES;
	unsigned qd, an, ns;

	if (msg == NULL || len < HEADER_BYTES)
		return -1;
	qd = (unsigned)msg[4] << 8 | msg[5];
	an = (unsigned)msg[6] << 8 | msg[7];
	ns = (unsigned)msg[8] << 8 | msg[9];
	for (unsigned i = 0; i < qd; i++) {
		if (skip_name(msg, len, &pos) == -1 || pos + 4 > len)
			return -1;
		pos += 4;	/* QTYPE, QCLASS */
	}
	for (unsigned i = 0; i < an + ns; i++) {
		unsigned type, rdlen;
		uint32_t ttl;

		if (skip_name(msg, len, &pos) == -1 || pos + 10 > len)
			return -1;
		type = (unsigned)msg[pos] << 8 | msg[pos + 1];
		ttl = get32(msg + pos + 4);
		rdlen = (unsigned)msg[pos + 8] << 8 | msg[pos + 9];
		pos += 10;
		if (pos + rdlen > len)
			return -1;
		/*
		 * RDATA: MNAME, RNAME, then five 32-bit fields, MINIMUM last
		 * (RFC 1035 3.3.13): the two names take at least a byte each.
		 */
		if (i >= an && type == NS_T_SOA && rdlen >= 22) {
			unsigned min = ttl_value(get32(msg + pos + rdlen - 4));

			*ttl_out = ttl_value(ttl) < min ? ttl_value(ttl) : min;
			return 0;
		}
		pos += rdlen;
	}
	return -1;
}
