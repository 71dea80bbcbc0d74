/*
 * key_checks.c - the checks of single values that key table rows name
 * (host names, domains, addresses, next hops), and the pure parsers that
 * the rest of the program shares with them.
 */
#include "config/keys_int.h"


#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "smtp/smtp.h"
#include "util/ascii.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/xalloc.h"

/* ---- value checks ---- */

int
cfg_is_domain(const char *s)
{
	size_t len = strlen(s), label = 0;

	if (len == 0 || len > 253)
		return 0;
	for (size_t i = 0; i <= len; i++) {
		uint8_t c = (uint8_t)s[i];

		if (c == '.' || c == '\0') {
			/* RFC 1035 2.3.1: 1..63 bytes, no hyphen at either end */
			if (label == 0 || label > 63 || s[i - 1] == '-' || s[i - label] == '-')
				return 0;
			label = 0;
		} else if (ascii_isalnum(c) || c == '-') {
			label++;
		} else {
			return 0;
		}
	}
	return 1;
}

int
cfg_is_local_name(const char *s)
{
	size_t len = strlen(s);

	if (len == 0 || len > 64 || s[0] == '.')
		return 0;
	for (size_t i = 0; i < len; i++) {
		uint8_t c = (uint8_t)s[i];

		if (!(ascii_isdigit(c) || (c >= 'a' && c <= 'z') || c == '.' || c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

int
cfg_check_hostname(const char *s)
{
	return cfg_is_domain(s);
}

int
cfg_check_domain_or_empty(const char *s)
{
	return s[0] == '\0' || cfg_is_domain(s);
}

int
config_is_ip(const char *s)
{
	struct in6_addr a6;
	struct in_addr a4;

	return inet_pton(AF_INET, s, &a4) == 1 || inet_pton(AF_INET6, s, &a6) == 1;
}

int
cfg_check_ip_or_empty(const char *s)
{
	return s[0] == '\0' || config_is_ip(s);
}

/* "" (resolv.conf), "ip", "ip:port" or "[ip6]:port": what c-ares takes as a server. */
int
cfg_check_resolver(const char *s)
{
	struct config_nexthop h;
	const char *colon = strchr(s, ':');
	char ip[INET_ADDRSTRLEN];
	uint64_t port;

	if (s[0] == '\0' || config_is_ip(s))
		return 1;
	if (s[0] == '[')
		return config_nexthop_parse(s, &h) == 0 && config_is_ip(h.host);
	if (colon == NULL || (size_t)(colon - s) >= sizeof(ip))
		return 0;
	memcpy(ip, s, (size_t)(colon - s));
	ip[colon - s] = '\0';
	return strchr(ip, ':') == NULL && config_is_ip(ip) &&
	    ascii_parse_u64(slice_str(colon + 1), &port) == 0 && port >= 1 && port <= 65535;
}

int
cfg_check_nexthop_or_empty(const char *s)
{
	struct config_nexthop h;

	return s[0] == '\0' || config_nexthop_parse(s, &h) == 0;
}

int
cfg_check_lmtp_or_empty(const char *s)
{
	struct config_lmtp_hop h;

	return s[0] == '\0' || config_lmtp_hop_parse(s, &h) == 0;
}

int
cfg_check_lmtp_or_maildir(const char *s)
{
	return strcmp(s, "maildir") == 0 || cfg_check_lmtp_or_empty(s);
}

/* "ADDRESS" or "ADDRESS HELO-NAME" */
int
cfg_check_source(const char *s)
{
	const char *sp = strchr(s, ' ');
	char ip[64];

	if (sp == NULL)
		return config_is_ip(s);
	if ((size_t)(sp - s) >= sizeof(ip))
		return 0;
	memcpy(ip, s, (size_t)(sp - s));
	ip[sp - s] = '\0';
	return config_is_ip(ip) && cfg_is_domain(sp + 1);
}

/* "" or local@domain, plain ASCII: where bounces of null-sender mail go. */
int
cfg_check_address_or_empty(const char *s)
{
	const char *at = strrchr(s, '@');

	if (s[0] == '\0')
		return 1;
	if (at == NULL || at == s || (size_t)(at - s) > 64)
		return 0;
	for (const char *p = s; p < at; p++)
		if (!ascii_isgraph((uint8_t)*p) || strchr("<>()[]\\,;:\"@", *p) != NULL)
			return 0;
	return cfg_is_domain(at + 1);
}

int
config_nexthop_parse(const char *s, struct config_nexthop *out)
{
	const char *host = s, *end, *port = NULL;
	size_t len;
	uint64_t p = 0;

	memset(out, 0, sizeof(*out));
	if (s[0] == '[') {
		end = strchr(s, ']');
		if (end == NULL)
			return -1;
		host = s + 1;
		if (end[1] == ':')
			port = end + 2;
		else if (end[1] != '\0')
			return -1;
		out->is_literal = 1;
	} else {
		end = strchr(s, ':');
		if (end != NULL)
			port = end + 1;
		else
			end = s + strlen(s);
	}
	len = (size_t)(end - host);
	if (len == 0 || len >= sizeof(out->host))
		return -1;
	memcpy(out->host, host, len);
	out->host[len] = '\0';
	ascii_lower(out->host);
	if (port != NULL && (ascii_parse_u64(slice_str(port), &p) == -1 || p < 1 || p > 65535))
		return -1;
	out->port = (unsigned)p;
	/* a name in brackets is looked up by A/AAAA only; an address only in brackets */
	if (config_is_ip(out->host))
		return out->is_literal ? 0 : -1;
	return cfg_is_domain(out->host) ? 0 : -1;
}

const char *
config_map_get(const struct config_map *map, const char *key)
{
	for (size_t i = 0; i < map->n; i++)
		if (strcmp(map->v[i].key, key) == 0)
			return map->v[i].value;
	return NULL;
}

/* "" (do not switch) or a POSIX-portable user name, looked up at start. */
int
cfg_check_server_user(const char *s)
{
	size_t len = strlen(s);

	if (len == 0)
		return 1;
	if (len > 32 || s[0] == '-')
		return 0;
	for (size_t i = 0; i < len; i++) {
		uint8_t c = (uint8_t)s[i];

		if (!(ascii_isalnum(c) || c == '.' || c == '_' || c == '-'))
			return 0;
	}
	return 1;
}


/* server.log_format: as util/log.c reads it. */
int
cfg_check_log_format(const char *s)
{
	enum log_format f;

	return log_format_parse(s, &f) == 0;
}

int
cfg_check_log_output(const char *s)
{
	return strcmp(s, "stderr") == 0 || strcmp(s, "syslog") == 0;
}

int
cfg_check_syslog_facility(const char *s)
{
	int code;

	return log_syslog_facility_parse(s, &code) == 0;
}

/* A path that fits sun_path with its NUL. */
int
cfg_check_unix_socket_path(const char *s)
{
	struct sockaddr_un sa;

	return strlen(s) < sizeof(sa.sun_path);
}
