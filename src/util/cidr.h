/*
 * cidr.h - IPv4 and IPv6 networks in CIDR notation ("192.0.2.0/24",
 * "2001:db8::/32"), and whether an address lies in one.
 * An IPv4 client seen on a dual-stack socket as ::ffff:a.b.c.d is matched
 * as the IPv4 address it is, so one "127.0.0.0/8" covers both forms.
 */
#ifndef STERNA_UTIL_CIDR_H
#define STERNA_UTIL_CIDR_H

#include <stddef.h>
#include <stdint.h>

struct cidr {
	int family;		/* AF_INET or AF_INET6 */
	unsigned prefix_bits;	/* 0..32 or 0..128 */
	uint8_t addr[16];	/* network bytes; only the first 4 for AF_INET */
};

enum cidr_err {
	CIDR_OK,
	CIDR_SYNTAX,		/* not "ADDRESS" or "ADDRESS/BITS" */
	CIDR_HOST_BITS,		/* bits set past the prefix ("10.1.2.3/8"): a typo, most likely */
};

/*
 * Parses "ADDRESS/BITS" or a bare ADDRESS (a single host: /32 or /128)
 * from the NUL-terminated s into *out. Numeric only; BITS is decimal with
 * no sign and no leading zero.
 */
enum cidr_err cidr_parse(const char *s, struct cidr *out);
/* Writes c in canonical form ("10.0.0.0/8") into out (size bytes): 0, or -1 if it does not fit. */
int cidr_format(const struct cidr *c, char *out, size_t size);
/* 1 if the address in text (IPv4, IPv6, or IPv4-mapped IPv6) is inside c; 0 otherwise or if unparsable. */
int cidr_match_text(const struct cidr *c, const char *ip);
/* 1 if ip is inside any of the n networks of list. */
int cidr_list_match(const struct cidr *list, size_t n, const char *ip);

#endif
