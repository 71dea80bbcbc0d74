/*
 * lmtp_hop.c - an LMTP next hop (RFC 2033) as written in configuration,
 * into where to connect: a UNIX socket, an address and port, or a host
 * name to look up by its A/AAAA records. Pure: the configuration checks
 * and the scheduler both read a hop through it, so they never disagree.
 * LMTP goes to a mailbox server, not to a domain: there is no MX lookup,
 * and so brackets only set an address apart, as they do for SMTP next hops
 * (config_nexthop_parse, whose syntax the TCP form shares).
 */
#include "config/config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stddef.h>
#include <string.h>
#include <sys/un.h>

static int
parse_unix(const char *path, struct config_lmtp_hop *out)
{
	struct sockaddr_un *su = (struct sockaddr_un *)(void *)&out->sa;
	size_t len = strlen(path);

	/* relative to what? the daemon's directory is nobody's business */
	if (path[0] != '/' || len >= sizeof(su->sun_path))
		return -1;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)path[i] < 0x20 || path[i] == 0x7f)
			return -1;	/* it reaches logs as the relay's name */
	su->sun_family = AF_UNIX;
	memcpy(su->sun_path, path, len + 1);
	out->sa_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + 1);
	return 0;
}

int
config_lmtp_hop_parse(const char *s, struct config_lmtp_hop *out)
{
	struct config_nexthop h;

	memset(out, 0, sizeof(*out));
	if (strncmp(s, "unix:", 5) == 0)
		return parse_unix(s + 5, out);
	/* LMTP has no port of its own, and "MUST NOT be used on TCP port 25" (RFC 2033) */
	if (config_nexthop_parse(s, &h) == -1 || h.port == 0 || h.port == 25)
		return -1;
	memcpy(out->host, h.host, sizeof(out->host));
	out->port = h.port;
	if (config_is_ip(h.host)) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)(void *)&out->sa;
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)(void *)&out->sa;

		if (inet_pton(AF_INET, h.host, &s4->sin_addr) == 1) {
			s4->sin_family = AF_INET;
			s4->sin_port = htons((uint16_t)h.port);
			out->sa_len = sizeof(*s4);
		} else if (inet_pton(AF_INET6, h.host, &s6->sin6_addr) == 1) {
			s6->sin6_family = AF_INET6;
			s6->sin6_port = htons((uint16_t)h.port);
			out->sa_len = sizeof(*s6);
		}
	}
	return 0;
}
