/*
 * answer.h - what the client checks ask of DNS and get back, pure (no
 * sockets, no c-ares calls): the names to ask (a DNSBL query name, a
 * reverse name), the reply as the checks see it (found, not found,
 * temporary failure, with the addresses or names and a TTL), and the
 * negative TTL of an answer that found nothing (RFC 2308 5). The queries
 * themselves are dns.h's.
 */
#ifndef STERNA_DNS_ANSWER_H
#define STERNA_DNS_ANSWER_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#define DNS_NAME_MAX 253		/* RFC 1035 2.3.4, in text without the final dot */
#define DNS_ADDRS_MAX 16		/* addresses kept from one reply */
#define DNS_NAMES_MAX 8			/* PTR names kept from one reply */
#define DNS_IP_TEXT_MAX INET6_ADDRSTRLEN

enum dns_qstatus {
	DNS_Q_FOUND,		/* at least one record of the type asked */
	DNS_Q_NONE,		/* NXDOMAIN, or the name has no record of that type */
	DNS_Q_TEMPFAIL,		/* SERVFAIL, REFUSED, a timeout, a malformed reply: ask later */
};

/*
 * A reply to one of the queries of dns.h. Addresses are in text, as
 * inet_ntop writes them; names are lowercased, without the final dot, and
 * each appears once.
 */
struct dns_reply {
	enum dns_qstatus status;
	/*
	 * FOUND: the smallest TTL among the records kept. NONE: the negative
	 * TTL when the reply carried the zone's SOA (dns_negative_ttl), else 0.
	 */
	unsigned ttl_s;
	size_t naddrs;
	char addrs[DNS_ADDRS_MAX][DNS_IP_TEXT_MAX];
	size_t nnames;
	char names[DNS_NAMES_MAX][DNS_NAME_MAX + 1];
};

/*
 * The name to ask for ip (text: IPv4, IPv6, or IPv4-mapped IPv6, which is
 * taken as the IPv4 address it is) under zone: the 4 octets of an IPv4
 * address in reverse order ("2.0.0.127.zen.example"), the 32 nibbles of an
 * IPv6 address in reverse order, lowercase hex (RFC 3596 2.5). zone NULL
 * means the reverse tree: "in-addr.arpa" or "ip6.arpa". Writes into out
 * (size bytes): 0, or -1 when ip is no address or the name does not fit
 * (or is longer than DNS_NAME_MAX).
 */
int dns_reverse_name(const char *ip, const char *zone, char *out, size_t size);

/*
 * ip (text) as 16 bytes, an IPv4 address in its mapped form ::ffff:a.b.c.d,
 * so that both spellings of one IPv4 client are one key; *family_out is
 * the address's real family (AF_INET for a mapped one). 0, or -1.
 */
int dns_ip_parse(const char *ip, uint8_t out[16], int *family_out);
/* 1 if a and b (text) are the same address, an IPv4 one in either form. */
int dns_ip_equal(const char *a, const char *b);

/*
 * The negative TTL of a reply (the len bytes at msg, as received: hostile)
 * that found nothing: min(TTL of the SOA record, its MINIMUM field) from
 * the authority section (RFC 2308 5). 0 and the TTL in *ttl_out, or -1
 * when the reply has no SOA there or is malformed. A TTL with the top bit
 * set counts as 0 (RFC 2181 8).
 */
int dns_negative_ttl(const uint8_t *msg, size_t len, unsigned *ttl_out);

#endif
