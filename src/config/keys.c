/*
 * keys.c - the key table: one row per configuration key with its type,
 * default, bounds and place in struct config, and the walk that reads the
 * parsed tree against it. Every value is checked on its own here (type,
 * bounds, syntax of names and addresses); what concerns several keys at
 * once (aliases against users, listeners against each other) is load.c's.
 * docs/configuration.md describes every row; keep the two in step.
 */
#include "config/ucl_int.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smtp/smtp.h"
#include "util/ascii.h"
#include "util/buf.h"
#include "util/xalloc.h"

enum key_type {
	KT_STRING,	/* a string; a bare word is taken as written */
	KT_PATH,	/* a string naming a file or directory (load.c makes it absolute) */
	KT_COUNT,	/* a whole number; k, m, g multiply */
	KT_SIZE,	/* bytes; k, m, g, kb, mb, gb */
	KT_DURATION,	/* ms, s, min, h, d, w, y; a plain number is seconds, as in UCL */
	KT_LOG_LEVEL,
	KT_DOMAINS,	/* a list of domain names, lowercased */
	KT_NAMES,	/* a list of local user names, lowercased */
	KT_DELIMITER,	/* one character of "+-_=", or "" */
	KT_ALIASES,	/* an object: NAME = [targets] or NAME = "t1, t2" */
	KT_ADDRESS,	/* numeric "IPv4:port" or "[IPv6]:port" */
	KT_MAP,		/* a list of "DOMAIN VALUE" strings; check() judges each VALUE */
	KT_CIDRS,	/* a list of networks, "192.0.2.0/24" or "2001:db8::/32" */
	KT_BOOL,	/* true/false, yes/no, on/off */
};

enum key_store { KS_NONE, KS_UNSIGNED, KS_SIZE, KS_U64, KS_STR };

enum key_base { KB_CONFIG, KB_LISTENER, KB_CERT };

struct key_row {
	const char *path;	/* "smtp.max_line_bytes"; '*' stands for a section name */
	enum key_type type;
	enum key_store store;
	enum key_base base;	/* which struct off is an offset into */
	size_t off;
	uint64_t def;		/* numbers: in bytes, or in ms for durations */
	const char *def_str;
	uint64_t min, max;	/* the same unit as def */
	unsigned scale_ms;	/* durations: 1 stores ms, 1000 stores seconds */
	const char *why;	/* said after a bound, e.g. the RFC that sets it */
	int (*check)(const char *s);
	const char *check_msg;	/* "'%s' is not ..." for a value that check() refuses */
};

#define CFG(f) KB_CONFIG, offsetof(struct config, f)
#define LIS(f) KB_LISTENER, offsetof(struct config_listener, f)
#define CRT(f) KB_CERT, offsetof(struct config_cert, f)
#define SEC 1000ull
#define MIN (60 * SEC)
#define HOUR (60 * MIN)
#define DAY (24 * HOUR)
#define KIB 1024ull
#define MIB (1024 * KIB)
#define GIB (1024 * MIB)

static int check_server_user(const char *s);
static int check_hostname(const char *s);
static int check_domain_or_empty(const char *s);
static int check_ip_or_empty(const char *s);
static int check_resolver(const char *s);
static int check_nexthop_or_empty(const char *s);
static int check_lmtp_or_empty(const char *s);
static int check_lmtp_or_maildir(const char *s);
static int check_source(const char *s);
static int check_address_or_empty(const char *s);

static const struct key_row rows[] = {
	{ "server.hostname", KT_STRING, KS_STR, CFG(hostname), 0, NULL, 0, 0, 0, NULL,
	    check_hostname, "'%s' is not a valid domain name" },
	{ "server.user", KT_STRING, KS_STR, CFG(user), 0, "", 0, 0, 0, NULL,
	    check_server_user, "'%s' is not a valid user name" },
	{ "server.max_sessions", KT_COUNT, KS_UNSIGNED, CFG(max_sessions), 1000, NULL,
	    1, 1000000, 0, NULL, NULL, NULL },
	{ "server.max_sessions_per_client", KT_COUNT, KS_UNSIGNED, CFG(max_sessions_per_client),
	    50, NULL, 1, 1000000, 0, NULL, NULL, NULL },
	{ "server.io_threads", KT_COUNT, KS_UNSIGNED, CFG(io_threads), 2, NULL,
	    1, 64, 0, NULL, NULL, NULL },
	{ "server.log_level", KT_LOG_LEVEL, KS_NONE, CFG(log_level), 0, "info",
	    0, 0, 0, NULL, NULL, NULL },
	{ "server.sandbox", KT_BOOL, KS_UNSIGNED, CFG(is_sandboxed), 1, NULL, 0, 1, 0, NULL,
	    NULL, NULL },

	{ "listen.*.address", KT_ADDRESS, KS_STR, LIS(address), 0, NULL, 0, 0, 0, NULL,
	    NULL, NULL },
	{ "listen.*.greeting_delay", KT_DURATION, KS_UNSIGNED, LIS(greeting_delay_ms), 0, NULL,
	    0, 60 * SEC, 1, NULL, NULL, NULL },
	{ "listen.*.starttls", KT_BOOL, KS_UNSIGNED, LIS(offers_starttls), 1, NULL, 0, 1, 0, NULL,
	    NULL, NULL },
	{ "listen.*.implicit_tls", KT_BOOL, KS_UNSIGNED, LIS(is_implicit_tls), 0, NULL, 0, 1, 0, NULL,
	    NULL, NULL },

	{ "tls.handshake_timeout", KT_DURATION, KS_UNSIGNED, CFG(tls_handshake_timeout_ms),
	    30 * SEC, NULL, SEC, 5 * MIN, 1, NULL, NULL, NULL },
	{ "tls.cert.*.chain", KT_PATH, KS_STR, CRT(chain), 0, NULL, 0, 0, 0, NULL, NULL, NULL },
	{ "tls.cert.*.key", KT_PATH, KS_STR, CRT(key), 0, NULL, 0, 0, 0, NULL, NULL, NULL },
	{ "listen.*.auth", KT_BOOL, KS_UNSIGNED, LIS(is_auth), 1, NULL, 0, 1, 0, NULL,
	    NULL, NULL },
	{ "listen.*.auth_without_tls", KT_BOOL, KS_UNSIGNED, LIS(is_auth_without_tls), 0, NULL,
	    0, 1, 0, NULL, NULL, NULL },
	{ "listen.*.require_auth", KT_BOOL, KS_UNSIGNED, LIS(is_auth_required), 0, NULL,
	    0, 1, 0, NULL, NULL, NULL },

	{ "smtp.max_line_bytes", KT_SIZE, KS_SIZE, CFG(max_line_bytes), 512, NULL,
	    512, 64 * KIB, 0, " (RFC 5321 4.5.3.1.4)", NULL, NULL },
	{ "smtp.max_text_line_bytes", KT_SIZE, KS_SIZE, CFG(max_text_line_bytes), 1000, NULL,
	    1000, 64 * KIB, 0, " (RFC 5321 4.5.3.1.6)", NULL, NULL },
	{ "smtp.max_message_bytes", KT_SIZE, KS_U64, CFG(max_message_bytes), 35 * MIB, NULL,
	    KIB, 4 * GIB, 0, NULL, NULL, NULL },
	{ "smtp.max_recipients", KT_COUNT, KS_UNSIGNED, CFG(max_recipients), 100, NULL,
	    1, 100000, 0, NULL, NULL, NULL },
	{ "smtp.max_errors", KT_COUNT, KS_UNSIGNED, CFG(max_errors), 20, NULL,
	    1, 1000, 0, NULL, NULL, NULL },
	{ "smtp.max_hops", KT_COUNT, KS_UNSIGNED, CFG(max_hops), 100, NULL,
	    1, 1000, 0, " (RFC 5321 6.3)", NULL, NULL },
	{ "smtp.data_timeout", KT_DURATION, KS_UNSIGNED, CFG(in_data_timeout_ms), 20 * MIN, NULL,
	    SEC, DAY, 1, NULL, NULL, NULL },
	{ "smtp.session_timeout", KT_DURATION, KS_UNSIGNED, CFG(session_timeout_ms), HOUR, NULL,
	    SEC, DAY, 1, NULL, NULL, NULL },
	{ "smtp.idle_timeout", KT_DURATION, KS_UNSIGNED, CFG(idle_timeout_ms), 5 * MIN, NULL,
	    SEC, HOUR, 1, NULL, NULL, NULL },

	{ "spool.dir", KT_PATH, KS_STR, CFG(spool_dir), 0, "/var/spool/sterna",
	    0, 0, 0, NULL, NULL, NULL },
	{ "spool.min_free", KT_SIZE, KS_U64, CFG(min_free_bytes), 0, NULL,
	    0, UINT64_MAX, 0, NULL, NULL, NULL },

	{ "local.domains", KT_DOMAINS, KS_NONE, CFG(local_domains), 0, NULL, 0, 0, 0, NULL,
	    NULL, NULL },
	{ "local.users", KT_NAMES, KS_NONE, CFG(local_users), 0, NULL, 0, 0, 0, NULL,
	    NULL, NULL },
	{ "local.mailbox_root", KT_PATH, KS_STR, CFG(mailbox_root), 0, "/var/mail",
	    0, 0, 0, NULL, NULL, NULL },
	{ "local.recipient_delimiter", KT_DELIMITER, KS_NONE, CFG(recipient_delimiter), 0, "+",
	    0, 0, 0, NULL, NULL, NULL },
	{ "local.aliases", KT_ALIASES, KS_NONE, CFG(aliases), 0, NULL, 0, 0, 0, NULL,
	    NULL, NULL },
	{ "local.max_alias_targets", KT_COUNT, KS_UNSIGNED, CFG(max_alias_targets), 1000, NULL,
	    1, 100000, 0, NULL, NULL, NULL },
	{ "local.lmtp", KT_STRING, KS_STR, CFG(lmtp), 0, "", 0, 0, 0, NULL,
	    check_lmtp_or_empty, "'%s' is not an LMTP next hop (unix:/path, host:port or "
	    "[address]:port)" },
	{ "local.lmtp_routes", KT_MAP, KS_NONE, CFG(lmtp_routes), 0, NULL, 0, 0, 0, NULL,
	    check_lmtp_or_maildir, "'%s' is not an LMTP next hop (unix:/path, host:port or "
	    "[address]:port) or maildir" },

	{ "relay.trusted_networks", KT_CIDRS, KS_NONE, CFG(trusted_networks), 0, NULL,
	    0, 0, 0, NULL, NULL, NULL },

	{ "auth.users_file", KT_PATH, KS_STR, CFG(users_file), 0, "", 0, 0, 0, NULL, NULL, NULL },
	{ "auth.fail_delay", KT_DURATION, KS_UNSIGNED, CFG(auth_fail_delay_ms), SEC, NULL,
	    0, 30 * SEC, 1, NULL, NULL, NULL },
	{ "auth.max_failures", KT_COUNT, KS_UNSIGNED, CFG(auth_max_failures), 3, NULL,
	    1, 100, 0, NULL, NULL, NULL },
	{ "auth.client_max_failures", KT_COUNT, KS_UNSIGNED, CFG(auth_client_max_failures), 10, NULL,
	    1, 100000, 0, NULL, NULL, NULL },
	{ "auth.client_window", KT_DURATION, KS_UNSIGNED, CFG(auth_client_window_s), 15 * MIN, NULL,
	    SEC, DAY, 1000, NULL, NULL, NULL },

	{ "queue.retry_min", KT_DURATION, KS_UNSIGNED, CFG(retry_min_s), 5 * MIN, NULL,
	    SEC, DAY, 1000, NULL, NULL, NULL },
	{ "queue.retry_max", KT_DURATION, KS_UNSIGNED, CFG(retry_max_s), HOUR, NULL,
	    SEC, DAY, 1000, NULL, NULL, NULL },
	{ "queue.lifetime", KT_DURATION, KS_UNSIGNED, CFG(lifetime_s), 5 * DAY, NULL,
	    SEC, 30 * DAY, 1000, NULL, NULL, NULL },
	{ "queue.max_connections", KT_COUNT, KS_UNSIGNED, CFG(max_connections), 100, NULL,
	    1, 100000, 0, NULL, NULL, NULL },
	{ "queue.max_connections_per_destination", KT_COUNT, KS_UNSIGNED,
	    CFG(max_connections_per_dest), 10, NULL, 1, 10000, 0, NULL, NULL, NULL },
	{ "queue.max_messages_per_minute", KT_COUNT, KS_UNSIGNED, CFG(max_messages_per_minute),
	    0, NULL, 0, 10000000, 0, NULL, NULL, NULL },

	{ "bounce.delay_notice", KT_DURATION, KS_UNSIGNED, CFG(delay_notice_s), 4 * HOUR, NULL,
	    0, 30 * DAY, 1000, NULL, NULL, NULL },
	{ "bounce.null_sender_to", KT_STRING, KS_STR, CFG(null_sender_to), 0, "", 0, 0, 0, NULL,
	    check_address_or_empty, "'%s' is not an address such as postmaster@example.org" },

	{ "dns.resolver", KT_STRING, KS_STR, CFG(dns_resolver), 0, "", 0, 0, 0, NULL,
	    check_resolver, "'%s' is not a numeric \"IPv4\", \"IPv4:port\", \"IPv6\" or "
	    "\"[IPv6]:port\"" },
	{ "dns.timeout", KT_DURATION, KS_UNSIGNED, CFG(dns_timeout_ms), 5 * SEC, NULL,
	    100, MIN, 1, NULL, NULL, NULL },

	{ "outbound.port", KT_COUNT, KS_UNSIGNED, CFG(out_port), 25, NULL, 1, 65535, 0, NULL,
	    NULL, NULL },
	{ "outbound.helo_name", KT_STRING, KS_STR, CFG(out_helo_name), 0, "", 0, 0, 0, NULL,
	    check_domain_or_empty, "'%s' is not a valid domain name" },
	{ "outbound.source_address", KT_STRING, KS_STR, CFG(out_source_address), 0, "",
	    0, 0, 0, NULL, check_ip_or_empty, "'%s' is not a numeric IPv4 or IPv6 address" },
	{ "outbound.sources", KT_MAP, KS_NONE, CFG(out_sources), 0, NULL, 0, 0, 0, NULL,
	    check_source, "'%s' is not \"ADDRESS\" or \"ADDRESS HELO-NAME\"" },
	{ "outbound.routes", KT_MAP, KS_NONE, CFG(out_routes), 0, NULL, 0, 0, 0, NULL,
	    check_nexthop_or_empty, "'%s' is not a next hop (host, host:port, [host] or "
	    "[host]:port)" },
	{ "outbound.smarthost", KT_STRING, KS_STR, CFG(smarthost), 0, "", 0, 0, 0, NULL,
	    check_nexthop_or_empty, "'%s' is not a next hop (host, host:port, [host] or "
	    "[host]:port)" },
	{ "outbound.smarthost_user", KT_STRING, KS_STR, CFG(smarthost_user), 0, "", 0, 0, 0,
	    NULL, NULL, NULL },
	{ "outbound.smarthost_password", KT_STRING, KS_STR, CFG(smarthost_password), 0, "",
	    0, 0, 0, NULL, NULL, NULL },
	{ "outbound.connect_timeout", KT_DURATION, KS_UNSIGNED, CFG(connect_timeout_ms), 30 * SEC,
	    NULL, 100, HOUR, 1, NULL, NULL, NULL },
	{ "outbound.greeting_timeout", KT_DURATION, KS_UNSIGNED, CFG(greeting_timeout_ms),
	    5 * MIN, NULL, 100, HOUR, 1, NULL, NULL, NULL },
	{ "outbound.helo_timeout", KT_DURATION, KS_UNSIGNED, CFG(helo_timeout_ms), 5 * MIN, NULL,
	    100, HOUR, 1, NULL, NULL, NULL },
	{ "outbound.mail_timeout", KT_DURATION, KS_UNSIGNED, CFG(mail_timeout_ms), 5 * MIN, NULL,
	    100, HOUR, 1, NULL, NULL, NULL },
	{ "outbound.rcpt_timeout", KT_DURATION, KS_UNSIGNED, CFG(rcpt_timeout_ms), 5 * MIN, NULL,
	    100, HOUR, 1, NULL, NULL, NULL },
	{ "outbound.data_timeout", KT_DURATION, KS_UNSIGNED, CFG(data_timeout_ms), 2 * MIN, NULL,
	    100, HOUR, 1, NULL, NULL, NULL },
	{ "outbound.data_block_timeout", KT_DURATION, KS_UNSIGNED, CFG(data_block_timeout_ms),
	    3 * MIN, NULL, 100, HOUR, 1, NULL, NULL, NULL },
	{ "outbound.data_done_timeout", KT_DURATION, KS_UNSIGNED, CFG(data_done_timeout_ms),
	    10 * MIN, NULL, 100, HOUR, 1, NULL, NULL, NULL },
	{ "outbound.max_messages_per_connection", KT_COUNT, KS_UNSIGNED,
	    CFG(max_messages_per_connection), 100, NULL, 1, 100000, 0, NULL, NULL, NULL },
	{ "outbound.connection_idle", KT_DURATION, KS_UNSIGNED, CFG(connection_idle_ms), 10 * SEC,
	    NULL, 0, HOUR, 1, NULL, NULL, NULL },

	/* the folder entrances (src/drop) */
	{ "pickup.dir", KT_PATH, KS_STR, CFG(pickup_dir), 0, "", 0, 0, 0, NULL, NULL, NULL },
	{ "pickup.scan_interval", KT_DURATION, KS_UNSIGNED, CFG(pickup_scan_interval_ms), 10 * SEC,
	    NULL, 100, HOUR, 1, NULL, NULL, NULL },
	{ "maildrop.group", KT_STRING, KS_STR, CFG(maildrop_group), 0, "", 0, 0, 0, NULL,
	    check_server_user, "'%s' is not a valid group name" },
};

/* enum cfg_key_id -> row path */
static const char *const key_ids[] = {
	[CFG_KEY_HOSTNAME] = "server.hostname",
	[CFG_KEY_MAX_MESSAGE_BYTES] = "smtp.max_message_bytes",
	[CFG_KEY_MIN_FREE] = "spool.min_free",
	[CFG_KEY_LOCAL_DOMAINS] = "local.domains",
	[CFG_KEY_RETRY_MIN] = "queue.retry_min",
	[CFG_KEY_RETRY_MAX] = "queue.retry_max",
	[CFG_KEY_SPOOL_DIR] = "spool.dir",
	[CFG_KEY_MAILBOX_ROOT] = "local.mailbox_root",
	[CFG_KEY_SMARTHOST] = "outbound.smarthost",
	[CFG_KEY_SMARTHOST_USER] = "outbound.smarthost_user",
	[CFG_KEY_SMARTHOST_PASSWORD] = "outbound.smarthost_password",
	[CFG_KEY_USERS_FILE] = "auth.users_file",
	[CFG_KEY_PICKUP_DIR] = "pickup.dir",
};

size_t
cfg_nkeys(void)
{
	return NELEM(rows);
}

size_t
cfg_key_row(enum cfg_key_id id)
{
	for (size_t i = 0; i < NELEM(rows); i++)
		if (strcmp(rows[i].path, key_ids[id]) == 0)
			return i;
	ASSERT(!"every cfg_key_id has a row");
	return 0;
}

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

static int
check_hostname(const char *s)
{
	return cfg_is_domain(s);
}

static int
check_domain_or_empty(const char *s)
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

static int
check_ip_or_empty(const char *s)
{
	return s[0] == '\0' || config_is_ip(s);
}

/* "" (resolv.conf), "ip", "ip:port" or "[ip6]:port": what c-ares takes as a server. */
static int
check_resolver(const char *s)
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

static int
check_nexthop_or_empty(const char *s)
{
	struct config_nexthop h;

	return s[0] == '\0' || config_nexthop_parse(s, &h) == 0;
}

static int
check_lmtp_or_empty(const char *s)
{
	struct config_lmtp_hop h;

	return s[0] == '\0' || config_lmtp_hop_parse(s, &h) == 0;
}

static int
check_lmtp_or_maildir(const char *s)
{
	return strcmp(s, "maildir") == 0 || check_lmtp_or_empty(s);
}

/* "ADDRESS" or "ADDRESS HELO-NAME" */
static int
check_source(const char *s)
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
static int
check_address_or_empty(const char *s)
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
static int
check_server_user(const char *s)
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

/* ---- messages ---- */

/* v and its unit ("5min") into out, which holds 32 bytes: any uint64_t fits. */
static const char *
format_unit(uint64_t v, const char *unit, char out[32])
{
	int n = snprintf(out, 32, "%llu%s", (unsigned long long)v, unit);

	if (n < 0 || n >= 32)
		memcpy(out, "?", 2);
	return out;
}

const char *
cfg_format_ms(uint64_t ms, char out[32])
{
	static const struct { uint64_t ms; const char *unit; } units[] = {
		{ 7 * DAY, "w" }, { DAY, "d" }, { HOUR, "h" }, { MIN, "min" }, { SEC, "s" },
	};

	if (ms == 0)
		return format_unit(0, "s", out);
	for (size_t i = 0; i < NELEM(units); i++)
		if (ms % units[i].ms == 0)
			return format_unit(ms / units[i].ms, units[i].unit, out);
	return format_unit(ms, "ms", out);
}

/*
 * A bound as the key's unit writes it: "1h", "4gb", "35mb"; sizes up to
 * 64 KiB stay in bytes ("512", "65536"), as line lengths are thought of.
 */
static const char *
format_bound(const struct key_row *r, uint64_t v, char out[32])
{
	if (r->type == KT_DURATION)
		return cfg_format_ms(v, out);
	if (r->type == KT_SIZE && v > 64 * KIB) {
		if (v % GIB == 0)
			return format_unit(v / GIB, "gb", out);
		if (v % MIB == 0)
			return format_unit(v / MIB, "mb", out);
		if (v % KIB == 0)
			return format_unit(v / KIB, "kb", out);
	}
	return format_unit(v, "", out);
}

static int
key_error(struct cfg_load *l, const struct ucl_node *n, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* "FILE:LINE: path: message", at the line of n's value. */
static int
key_error(struct cfg_load *l, const struct ucl_node *n, const char *path, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)cfg_verror(l->err, l->errsize, n->file, n->vline, path, fmt, ap);
	va_end(ap);
	return -1;
}

/* ---- edit distance for "did you mean" ---- */

#define DIST_MAX_LEN 96

/* Levenshtein distance, or 3 when it is surely more than 2. */
static size_t
edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	size_t prev[DIST_MAX_LEN + 1], cur[DIST_MAX_LEN + 1];

	if (la > DIST_MAX_LEN || lb > DIST_MAX_LEN || (la > lb ? la - lb : lb - la) > 2)
		return 3;
	for (size_t j = 0; j <= lb; j++)
		prev[j] = j;
	for (size_t i = 1; i <= la; i++) {
		cur[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
			size_t del = prev[j] + 1, ins = cur[j - 1] + 1;

			cur[j] = sub < del ? sub : del;
			if (ins < cur[j])
				cur[j] = ins;
		}
		memcpy(prev, cur, (lb + 1) * sizeof(size_t));
	}
	return prev[lb];
}

/* The number of dot-separated components of p. */
static size_t
ncomponents(const char *p)
{
	size_t n = 1;

	for (; *p; p++)
		n += *p == '.';
	return n;
}

/*
 * The first k components of pattern, with each '*' replaced by the
 * component of path at the same place, into out.
 */
static void
pattern_prefix(const char *pattern, const char *path, size_t k, struct buf *out)
{
	buf_reset(out);
	for (size_t i = 0; i < k && *pattern; i++) {
		size_t plen = strcspn(pattern, "."), xlen = strcspn(path, ".");

		if (i > 0)
			(void)buf_append_byte(out, '.');
		if (plen == 1 && pattern[0] == '*')
			(void)buf_append(out, path, xlen);
		else
			(void)buf_append(out, pattern, plen);
		pattern += plen + (pattern[plen] == '.');
		path += xlen + (path[xlen] == '.');
	}
}

static int
unknown_key(struct cfg_load *l, const struct ucl_node *n, const char *path)
{
	const char *leaf = strrchr(path, '.') ? strrchr(path, '.') + 1 : path;
	size_t k = ncomponents(path), best = 3;
	struct buf cand, found;
	char shown[64];
	int rc;

	buf_init(&cand, 4096);
	buf_init(&found, 4096);
	for (size_t i = 0; i < NELEM(rows); i++) {
		size_t d;

		if (ncomponents(rows[i].path) < k)
			continue;
		pattern_prefix(rows[i].path, path, k, &cand);
		d = edit_distance(path, buf_cstr(&cand));
		if (d < best) {
			best = d;
			buf_reset(&found);
			(void)buf_append(&found, cand.data, cand.len);
		}
	}
	/* the right key in the wrong section: server { max_recipients = 5 } */
	for (size_t i = 0; best > 2 && i < NELEM(rows); i++) {
		const char *rleaf = strrchr(rows[i].path, '.') + 1;
		const char *star = strchr(rows[i].path, '*');

		if (strcmp(rleaf, leaf) != 0)
			continue;
		best = 0;
		buf_reset(&found);
		if (star == NULL) {
			(void)buf_append_str(&found, rows[i].path);
		} else {
			(void)buf_append(&found, rows[i].path, (size_t)(star - rows[i].path));
			(void)buf_append_str(&found, "NAME");
			(void)buf_append_str(&found, star + 1);
		}
	}
	if (best <= 2)
		rc = cfg_error(l->err, l->errsize, n->file, n->line,
		    "unknown key '%s' (did you mean '%s'?)", cfg_shorten(path, shown),
		    buf_cstr(&found));
	else
		rc = cfg_error(l->err, l->errsize, n->file, n->line, "unknown key '%s'",
		    cfg_shorten(path, shown));
	buf_clear(&cand);
	buf_clear(&found);
	return rc;
}

/*
 * Matches path against the table: the row whose pattern it equals (in
 * *row_out), or, when it is only a prefix of patterns, a section (*row_out
 * NULL, returns 1; *is_named_out when the section is a '*' one, and
 * *base_out says whether it is a listener or a certificate). Returns 0 for
 * an unknown path.
 */
static int
match_path(const char *path, const struct key_row **row_out, int *is_named_out,
    enum key_base *base_out)
{
	size_t k = ncomponents(path);

	*row_out = NULL;
	*is_named_out = 0;
	*base_out = KB_CONFIG;
	for (size_t i = 0; i < NELEM(rows); i++) {
		const char *p = rows[i].path, *x = path;
		size_t j;

		for (j = 0; j < k && *p; j++) {
			size_t plen = strcspn(p, "."), xlen = strcspn(x, ".");

			if (!(plen == 1 && p[0] == '*') && (plen != xlen || memcmp(p, x, plen) != 0))
				break;
			if (j == k - 1 && plen == 1 && p[0] == '*')
				*is_named_out = 1;
			p += plen + (p[plen] == '.');
			x += xlen + (x[xlen] == '.');
		}
		if (j < k)
			continue;
		*base_out = rows[i].base;
		if (*p == '\0') {
			*row_out = &rows[i];
			return 1;
		}
		return 1;	/* a section: rows that start with path */
	}
	return 0;
}

/* ---- reading values ---- */

static int
is_scalar(const struct ucl_node *n)
{
	return n->type == UCL_STRING || n->type == UCL_NUMBER || n->type == UCL_BOOLEAN;
}

static const char *
type_hint(enum key_type t)
{
	switch (t) {
	case KT_COUNT:
		return "expected a number";
	case KT_SIZE:
		return "expected a size such as 512, 64kb or 35mb";
	default:
		return "expected a duration such as 30s, 5min or 1h";
	}
}

/* A number for a KT_COUNT, KT_SIZE or KT_DURATION row: bytes, ms or a count. */
static int
read_number(struct cfg_load *l, const struct key_row *r, const struct ucl_node *n,
    const char *path, uint64_t *out)
{
	uint64_t v;
	char a[32];

	if (n->type != UCL_NUMBER)
		return key_error(l, n, path, "%s", type_hint(r->type));
	if (n->is_negative)
		return key_error(l, n, path, "must not be negative");
	v = n->num;
	switch (r->type) {
	case KT_COUNT:
		if (n->unit == UCL_UNIT_BYTES || n->unit == UCL_UNIT_TIME)
			return key_error(l, n, path, "expected a number, not a %s",
			    n->unit == UCL_UNIT_BYTES ? "size" : "duration");
		break;
	case KT_SIZE:
		if (n->unit == UCL_UNIT_TIME)
			return key_error(l, n, path, "expected a size, not a duration");
		break;
	default:
		if (n->unit == UCL_UNIT_MULT && ascii_tolower((uint8_t)n->str[n->len - 1]) == 'm')
			return key_error(l, n, path, "%s ('m' means a million; minutes are 'min')",
			    type_hint(r->type));
		if (n->unit == UCL_UNIT_MULT || n->unit == UCL_UNIT_BYTES)
			return key_error(l, n, path, "%s", type_hint(r->type));
		if (n->unit == UCL_UNIT_NONE) {
			/* a plain number is seconds, as libucl reads it */
			if (v > UINT64_MAX / SEC)
				return key_error(l, n, path, "number too large");
			v *= SEC;
		}
		break;
	}
	if (v < r->min)
		return key_error(l, n, path, "must be at least %s%s", format_bound(r, r->min, a),
		    r->why ? r->why : "");
	if (v > r->max)
		return key_error(l, n, path, "must be at most %s%s", format_bound(r, r->max, a),
		    r->why ? r->why : "");
	if (r->type == KT_DURATION && v % r->scale_ms != 0)
		return key_error(l, n, path, "must be a whole number of seconds");
	*out = r->type == KT_DURATION ? v / r->scale_ms : v;
	return 0;
}

static void
store_number(void *base, const struct key_row *r, uint64_t v)
{
	void *p = (char *)base + r->off;

	switch (r->store) {
	case KS_UNSIGNED:
		ASSERT(v <= UINT32_MAX);
		*(unsigned *)p = (unsigned)v;
		break;
	case KS_SIZE:
		ASSERT(v <= SIZE_MAX);
		*(size_t *)p = (size_t)v;
		break;
	case KS_U64:
		*(uint64_t *)p = v;
		break;
	default:
		ASSERT(!"a number row stores a number");
	}
}

static void
store_string(void *base, const struct key_row *r, const char *s)
{
	char **p = (char **)(void *)((char *)base + r->off);

	free(*p);
	*p = xstrdup(s);
}

static int
read_string(struct cfg_load *l, const struct key_row *r, const struct ucl_node *n,
    const char *path)
{
	char shown[64];

	if (!is_scalar(n))
		return key_error(l, n, path, "expected a string");
	if (r->type == KT_PATH && n->len == 0)
		return key_error(l, n, path, "must not be empty");
	if (r->check != NULL && !r->check(n->str))
		return key_error(l, n, path, r->check_msg, cfg_shorten(n->str, shown));
	return 0;
}

/* The elements of a list key: an array of scalars, or one scalar as a list of one. */
static int
list_items(struct cfg_load *l, const struct ucl_node *n, const char *path, const char *what,
    const struct ucl_node **one, const struct ucl_node *const **items_out, size_t *nitems_out)
{
	if (is_scalar(n)) {
		one[0] = n;
		*items_out = one;
		*nitems_out = 1;
		return 0;
	}
	if (n->type != UCL_ARRAY)
		return key_error(l, n, path, "expected a list of %s", what);
	for (size_t i = 0; i < n->nkids; i++)
		if (!is_scalar(n->kids[i]))
			return key_error(l, n->kids[i], path, "expected a list of %s", what);
	*items_out = (const struct ucl_node *const *)n->kids;
	*nitems_out = n->nkids;
	return 0;
}

struct name_at {
	const char *name;
	size_t pos;
};

static int
cmp_name_at(const void *a, const void *b)
{
	const struct name_at *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c != 0 ? c : (x->pos > y->pos) - (x->pos < y->pos);
}

/*
 * The position of the first name (in file order) that repeats an earlier
 * one, with the earlier one's in *first_out; SIZE_MAX if none repeats.
 * Sorting keeps this fast for a hostile list of a million names.
 */
static size_t
first_repeat(char *const *names, size_t n, size_t *first_out)
{
	struct name_at *v;
	size_t best = SIZE_MAX;

	if (n < 2)
		return SIZE_MAX;
	v = xmalloc(n * sizeof(*v));
	for (size_t i = 0; i < n; i++)
		v[i] = (struct name_at){ names[i], i };
	qsort(v, n, sizeof(*v), cmp_name_at);
	for (size_t i = 1; i < n; i++) {
		/* in a run of equal names the second one is the repeat */
		if (strcmp(v[i].name, v[i - 1].name) == 0 &&
		    (i == 1 || strcmp(v[i - 1].name, v[i - 2].name) != 0) && v[i].pos < best) {
			best = v[i].pos;
			*first_out = v[i - 1].pos;
		}
	}
	free(v);
	return best;
}

/* names (n of them, lowercased, in file order) must hold no name twice. */
static int
check_unique(struct cfg_load *l, char **names, size_t n, const struct ucl_node *const *items,
    const char *path)
{
	size_t first = 0, best = first_repeat(names, n, &first);
	char shown[64];

	if (best == SIZE_MAX)
		return 0;
	return key_error(l, items[best], path, "'%s' is listed twice (first at line %u)",
	    cfg_shorten(names[best], shown), items[first]->vline);
}

/* KT_DOMAINS and KT_NAMES: a list into a char ** and its count (the next field). */
static int
read_list(struct cfg_load *l, const struct key_row *r, const struct ucl_node *n,
    const char *path)
{
	const int is_domains = r->type == KT_DOMAINS;
	char ***listp = (char ***)(void *)((char *)l->cfg + r->off);
	size_t *countp = is_domains ? &l->cfg->nlocal_domains : &l->cfg->nlocal_users;
	const struct ucl_node *const *items, *one[1];
	size_t nitems;
	char shown[64];

	if (list_items(l, n, path, is_domains ? "domain names" : "user names", one, &items,
	    &nitems) == -1)
		return -1;
	*listp = xcalloc(nitems, sizeof(char *));
	for (size_t i = 0; i < nitems; i++) {
		char *s = xstrdup(items[i]->str);

		ascii_lower(s);
		(*listp)[(*countp)++] = s;
		if (is_domains && !cfg_is_domain(s))
			return key_error(l, items[i], path, "'%s' is not a domain name",
			    cfg_shorten(s, shown));
		if (!is_domains && !cfg_is_local_name(s))
			return key_error(l, items[i], path, "'%s' is not a valid user name "
			    "(a-z, 0-9, '.', '_', '-', 1 to 64 of them, not starting with '.')",
			    cfg_shorten(s, shown));
	}
	/* an empty list has no kids array at all: memcpy from NULL is undefined */
	if (!is_domains && nitems > 0) {
		l->user_nodes = xcalloc(nitems, sizeof(*l->user_nodes));
		memcpy(l->user_nodes, items, nitems * sizeof(*items));
	}
	return check_unique(l, *listp, *countp, items, path);
}

/*
 * One alias target as written: a name is lowercased in place; an address
 * replaces *tp with its canonical form (the local part as written: what
 * case means there is the remote host's business; the domain lowercased).
 * Returns NULL, or why t is refused, to follow "'TARGET' " in a message.
 */
static const char *
read_alias_target(char **tp)
{
	char *t = *tp, canon[SMTP_ADDR_FMT_MAX];
	struct smtp_addr a;
	enum smtp_addr_err e;

	if (strchr(t, '@') == NULL) {
		/* a name is a local part on its own: a trick is named as one, not as a bad name */
		if (strchr(t, '%') != NULL)
			return "is refused: '%' in the local part (the percent hack)";
		if (strchr(t, '!') != NULL)
			return "is refused: '!' in the local part (a bang path)";
		ascii_lower(t);
		return cfg_is_local_name(t) ? NULL : "is not a valid target name";
	}
	/* ASCII only: a UTF-8 recipient would need SMTPUTF8 of a message that may not have it */
	e = smtp_addr_parse(slice_str(t), 0, &a);
	if (e == SMTP_ADDR_NEEDS_UTF8 || e == SMTP_ADDR_BAD_UTF8 || e == SMTP_ADDR_UNSAFE_UTF8)
		return "is not an ASCII address";
	if (e != SMTP_ADDR_OK || a.local_len == 0)
		return "is not a valid address";
	/*
	 * The forms relay.c refuses in RCPT TO from anyone: a target is
	 * relayed to whoever sent to the alias, so it must not hide a second
	 * destination that some host on the way might act on.
	 */
	if (a.has_route)
		return "is refused: a source route";
	if (memchr(a.local, '@', a.local_len) != NULL)
		return "is refused: '@' in the local part";
	if (memchr(a.local, '%', a.local_len) != NULL)
		return "is refused: '%' in the local part (the percent hack)";
	if (memchr(a.local, '!', a.local_len) != NULL)
		return "is refused: '!' in the local part (a bang path)";
	if (a.is_literal)
		return "is refused: mail is not relayed to address literals";
	if (smtp_addr_format(&a, canon, sizeof(canon)) == -1)
		return "is not a valid address";
	free(t);
	*tp = xstrdup(canon);
	return NULL;
}

/*
 * local.aliases { NAME = ["t1", "t2"]; NAME = "t1, t2"; }: names are
 * local names, targets names or addresses (read_alias_target); whether
 * they resolve is load.c's to check.
 */
static int
read_aliases(struct cfg_load *l, const struct ucl_node *n, const char *path)
{
	struct config *c = l->cfg;
	struct buf sub;
	char **lower;
	size_t first = 0, repeat;
	int rc = -1;

	if (n->type != UCL_OBJECT)
		return key_error(l, n, path,
		    "expected an object such as { info = [\"alice\", \"bob\"]; }");
	/* Info and info are one alias, as addresses ignore case: find such a pair first */
	lower = xcalloc(n->nkids ? n->nkids : 1, sizeof(*lower));
	for (size_t i = 0; i < n->nkids; i++) {
		lower[i] = xstrdup(n->kids[i]->key);
		ascii_lower(lower[i]);
	}
	repeat = first_repeat(lower, n->nkids, &first);
	for (size_t i = 0; i < n->nkids; i++)
		free(lower[i]);
	free(lower);
	buf_init(&sub, 4096);
	c->aliases = xcalloc(n->nkids, sizeof(*c->aliases));
	l->alias_src = xcalloc(n->nkids, sizeof(*l->alias_src));
	for (size_t i = 0; i < n->nkids; i++) {
		const struct ucl_node *a = n->kids[i];
		struct config_alias *al = &c->aliases[c->naliases];
		struct cfg_alias_src *src = &l->alias_src[c->naliases];
		const struct ucl_node *const *items, *one[1];
		size_t nitems, cap = 0;
		const char *why;
		char shown[64];

		c->naliases++;
		al->name = xstrdup(a->key);
		ascii_lower(al->name);
		al->line = a->line;
		src->node = a;
		buf_reset(&sub);
		if (buf_printf(&sub, "%s.%s", path, a->key) == -1)
			(void)buf_append_str(&sub, path);
		if (!cfg_is_local_name(al->name)) {
			key_error(l, a, buf_cstr(&sub), "'%s' is not a valid alias name (a-z, 0-9, "
			    "'.', '_', '-', 1 to 64 of them, not starting with '.')",
			    cfg_shorten(al->name, shown));
			goto out;
		}
		if (i == repeat) {
			cfg_error(l->err, l->errsize, a->file, a->line,
			    "alias '%s' already set at %s:%u", al->name,
			    l->alias_src[first].node->file, l->alias_src[first].node->line);
			goto out;
		}
		if (list_items(l, a, buf_cstr(&sub), "target names", one, &items, &nitems) == -1)
			goto out;
		for (size_t k = 0; k < nitems; k++) {
			const char *s = items[k]->str;

			/* "t1, t2": the string form splits at commas */
			for (;;) {
				size_t len;
				char *t;

				while (*s == ' ' || *s == '\t')
					s++;
				len = strcspn(s, ",");
				while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
					len--;
				t = xstrndup(s, len);
				if (al->ntargets == cap) {
					cap = cap ? cap * 2 : 4;
					al->targets = xrealloc(al->targets, cap * sizeof(char *));
					src->targets = xrealloc(src->targets,
					    cap * sizeof(*src->targets));
				}
				al->targets[al->ntargets] = t;
				src->targets[al->ntargets++] = items[k];
				if (len == 0) {
					key_error(l, items[k], buf_cstr(&sub), "empty target");
					goto out;
				}
				if ((why = read_alias_target(&al->targets[al->ntargets - 1])) != NULL) {
					key_error(l, items[k], buf_cstr(&sub), "'%s' %s",
					    cfg_shorten(t, shown), why);
					goto out;
				}
				s += strcspn(s, ",");
				if (*s == '\0')
					break;
				s++;
			}
		}
		if (al->ntargets == 0) {
			key_error(l, a, buf_cstr(&sub), "no targets");
			goto out;
		}
		if (check_unique(l, al->targets, al->ntargets, src->targets, buf_cstr(&sub)) == -1)
			goto out;
	}
	rc = 0;
out:
	buf_clear(&sub);
	return rc;
}

/*
 * KT_MAP: ["DOMAIN VALUE", ...]. Domains are lowercased and may appear
 * once; r->check judges each VALUE.
 */
static int
read_map(struct cfg_load *l, const struct key_row *r, const struct ucl_node *n,
    const char *path)
{
	struct config_map *map = (struct config_map *)(void *)((char *)l->cfg + r->off);
	const struct ucl_node *const *items, *one[1];
	size_t nitems;
	char shown[64];

	if (list_items(l, n, path, "\"DOMAIN VALUE\" strings", one, &items, &nitems) == -1)
		return -1;
	map->v = xcalloc(nitems ? nitems : 1, sizeof(*map->v));
	for (size_t i = 0; i < nitems; i++) {
		const char *s = items[i]->str, *sp = strchr(s, ' ');
		struct config_map_entry *e = &map->v[map->n];

		if (sp == NULL)
			return key_error(l, items[i], path, "'%s': expected \"DOMAIN VALUE\"",
			    cfg_shorten(s, shown));
		e->key = xstrndup(s, (size_t)(sp - s));
		ascii_lower(e->key);
		while (*sp == ' ')
			sp++;
		e->value = xstrdup(sp);
		e->line = items[i]->vline;
		map->n++;
		if (!cfg_is_domain(e->key))
			return key_error(l, items[i], path, "'%s' is not a domain name",
			    cfg_shorten(e->key, shown));
		if (!r->check(e->value))
			return key_error(l, items[i], path, r->check_msg, cfg_shorten(e->value, shown));
		for (size_t k = 0; k < i; k++)
			if (strcmp(map->v[k].key, e->key) == 0)
				return key_error(l, items[i], path, "'%s' is listed twice (first at "
				    "line %u)", cfg_shorten(e->key, shown), map->v[k].line);
	}
	return 0;
}

/*
 * relay.trusted_networks: numeric networks only (nothing to resolve at
 * start). A network with host bits set is refused rather than masked: it
 * is most likely a typo for a host or a different network.
 */
static int
read_cidrs(struct cfg_load *l, const struct ucl_node *n, const char *path)
{
	struct config *c = l->cfg;
	const struct ucl_node *const *items, *one[1];
	size_t nitems;
	char shown[64], canon[64];

	if (list_items(l, n, path, "networks such as \"192.0.2.0/24\"", one, &items, &nitems) == -1)
		return -1;
	c->trusted_networks = xcalloc(nitems ? nitems : 1, sizeof(*c->trusted_networks));
	for (size_t i = 0; i < nitems; i++) {
		struct cidr *net = &c->trusted_networks[c->ntrusted_networks];

		switch (cidr_parse(items[i]->str, net)) {
		case CIDR_OK:
			break;
		case CIDR_HOST_BITS:
			if (cidr_format(net, canon, sizeof(canon)) == -1)
				memcpy(canon, "?", 2);
			return key_error(l, items[i], path, "'%s' has bits set after the prefix "
			    "(the network is %s)", cfg_shorten(items[i]->str, shown), canon);
		default:
			return key_error(l, items[i], path, "'%s' is not a network in CIDR notation, "
			    "as \"192.0.2.0/24\" or \"2001:db8::/32\"", cfg_shorten(items[i]->str, shown));
		}
		c->ntrusted_networks++;
	}
	return 0;
}

/* "127.0.0.1:25" or "[::1]:25": numeric only, so start-up needs no DNS. */
static int
read_address(struct cfg_load *l, const struct ucl_node *n, const char *path,
    struct config_listener *lis)
{
	const char *s = n->str, *host, *port;
	size_t hostlen;
	char hostbuf[INET6_ADDRSTRLEN + 1], shown[64];
	uint64_t p;

	if (!is_scalar(n))
		return key_error(l, n, path, "expected a string such as \"127.0.0.1:25\"");
	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (close == NULL || close[1] != ':')
			goto bad;
		host = s + 1;
		hostlen = (size_t)(close - host);
		port = close + 2;
	} else {
		const char *colon = strrchr(s, ':');

		if (colon == NULL)
			goto bad;
		host = s;
		hostlen = (size_t)(colon - s);
		port = colon + 1;
		if (memchr(host, ':', hostlen) != NULL)
			return key_error(l, n, path, "'%s': write an IPv6 address in brackets, "
			    "as \"[::1]:25\"", cfg_shorten(s, shown));
	}
	if (hostlen == 0 || hostlen >= sizeof(hostbuf))
		goto bad;
	memcpy(hostbuf, host, hostlen);
	hostbuf[hostlen] = '\0';
	if (ascii_parse_u64(slice_str(port), &p) == -1 || p < 1 || p > 65535)
		return key_error(l, n, path, "'%s': the port must be a number from 1 to 65535",
		    cfg_shorten(s, shown));
	memset(&lis->sa, 0, sizeof(lis->sa));
	if (s[0] == '[') {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)(void *)&lis->sa;

		if (inet_pton(AF_INET6, hostbuf, &sin6->sin6_addr) != 1)
			goto bad;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)p);
		lis->sa_len = sizeof(*sin6);
	} else {
		struct sockaddr_in *sin = (struct sockaddr_in *)(void *)&lis->sa;

		if (inet_pton(AF_INET, hostbuf, &sin->sin_addr) != 1)
			goto bad;
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)p);
		lis->sa_len = sizeof(*sin);
	}
	free(lis->address);
	lis->address = xstrdup(s);
	return 0;
bad:
	return key_error(l, n, path, "'%s' is not a numeric \"IPv4:port\" or \"[IPv6]:port\"",
	    cfg_shorten(s, shown));
}

/* The named section being read, if any: a listener or a certificate. */
struct section {
	struct config_listener *lis;
	struct config_cert *cert;
};

/* One key's value into the config, or into the listener or certificate of sec. */
static int
apply_row(struct cfg_load *l, const struct key_row *r, const struct ucl_node *n,
    const char *path, const struct section *sec)
{
	void *base = r->base == KB_LISTENER ? (void *)sec->lis :
	    r->base == KB_CERT ? (void *)sec->cert : (void *)l->cfg;
	struct config_listener *lis = sec->lis;
	uint64_t v = 0;
	char level[16];

	ASSERT(base != NULL);
	if (r->base == KB_CONFIG)
		l->set_by[r - rows] = n;
	switch (r->type) {
	case KT_STRING:
	case KT_PATH:
		if (read_string(l, r, n, path) == -1)
			return -1;
		store_string(base, r, n->str);
		return 0;
	case KT_COUNT:
	case KT_SIZE:
	case KT_DURATION:
		if (read_number(l, r, n, path, &v) == -1)
			return -1;
		store_number(base, r, v);
		return 0;
	case KT_LOG_LEVEL:
		if (!is_scalar(n) || n->len >= sizeof(level))
			return key_error(l, n, path, "must be one of error, warning, info, debug");
		memcpy(level, n->str, n->len + 1);
		ascii_lower(level);
		if (log_level_parse(level, &l->cfg->log_level) == -1)
			return key_error(l, n, path, "must be one of error, warning, info, debug");
		return 0;
	case KT_DOMAINS:
	case KT_NAMES:
		return read_list(l, r, n, path);
	case KT_DELIMITER:
		if (!is_scalar(n) || n->len > 1 || (n->len == 1 && strchr("+-_=", n->str[0]) == NULL))
			return key_error(l, n, path,
			    "must be one of \"+\", \"-\", \"_\", \"=\" or \"\" (none)");
		l->cfg->recipient_delimiter = n->len ? n->str[0] : '\0';
		return 0;
	case KT_ALIASES:
		return read_aliases(l, n, path);
	case KT_MAP:
		return read_map(l, r, n, path);
	case KT_CIDRS:
		return read_cidrs(l, n, path);
	case KT_BOOL:
		if (n->type != UCL_BOOLEAN)
			return key_error(l, n, path, "expected true or false");
		store_number(base, r, (uint64_t)n->boolean);
		return 0;
	case KT_ADDRESS:
		if (read_address(l, n, path, lis) == -1)
			return -1;
		l->listen_addr[lis - l->cfg->listeners] = n;
		return 0;
	}
	return 0;
}

static struct config_listener *
listener_new(struct cfg_load *l, const struct ucl_node *n)
{
	struct config *c = l->cfg;
	struct config_listener *lis;
	size_t i = c->nlisteners++;

	if (c->nlisteners > l->listen_cap) {
		l->listen_cap = l->listen_cap ? l->listen_cap * 2 : 4;
		c->listeners = xrealloc(c->listeners, l->listen_cap * sizeof(*c->listeners));
		l->listen_nodes = xrealloc(l->listen_nodes, l->listen_cap * sizeof(*l->listen_nodes));
		l->listen_addr = xrealloc(l->listen_addr, l->listen_cap * sizeof(*l->listen_addr));
	}
	lis = &c->listeners[i];
	memset(lis, 0, sizeof(*lis));
	lis->name = xstrdup(n->key);
	lis->line = n->line;
	l->listen_nodes[i] = n;
	l->listen_addr[i] = NULL;
	for (size_t k = 0; k < NELEM(rows); k++)
		if (rows[k].base == KB_LISTENER && rows[k].store != KS_STR)
			store_number(lis, &rows[k], rows[k].def / (rows[k].scale_ms ? rows[k].scale_ms : 1));
	return lis;
}

/* The certificate of section tls { cert "NAME" { } }; load.c checks its files are named. */
static struct config_cert *
cert_new(struct cfg_load *l, const struct ucl_node *n)
{
	struct config *c = l->cfg;
	struct config_cert *cert;
	size_t i = c->ncerts++;

	if (c->ncerts > l->cert_cap) {
		l->cert_cap = l->cert_cap ? l->cert_cap * 2 : 4;
		c->certs = xrealloc(c->certs, l->cert_cap * sizeof(*c->certs));
		l->cert_nodes = xrealloc(l->cert_nodes, l->cert_cap * sizeof(*l->cert_nodes));
	}
	cert = &c->certs[i];
	memset(cert, 0, sizeof(*cert));
	cert->name = xstrdup(n->key);
	cert->line = n->line;
	l->cert_nodes[i] = n;
	return cert;
}

/* The members of obj, whose path is prefix ("" for the top). */
static int
walk(struct cfg_load *l, const struct ucl_node *obj, const char *prefix,
    const struct section *sec)
{
	struct buf path;
	int rc = 0;

	buf_init(&path, SIZE_MAX);
	for (size_t i = 0; i < obj->nkids && rc == 0; i++) {
		const struct ucl_node *m = obj->kids[i];
		const struct key_row *r;
		enum key_base base;
		int is_named;

		buf_reset(&path);
		if (prefix[0] != '\0')
			(void)buf_printf(&path, "%s.", prefix);
		(void)buf_append_str(&path, m->key);
		if (!match_path(buf_cstr(&path), &r, &is_named, &base)) {
			rc = unknown_key(l, m, buf_cstr(&path));
		} else if (r != NULL) {
			rc = apply_row(l, r, m, buf_cstr(&path), sec);
		} else if (m->type != UCL_OBJECT) {
			if (is_named && base == KB_CERT)
				rc = cfg_error(l->err, l->errsize, m->file, m->line,
				    "%s: certificates have names: write cert \"NAME\" { %s = ...; }",
				    buf_cstr(&path), m->key);
			else if (is_named)
				rc = cfg_error(l->err, l->errsize, m->file, m->line,
				    "%s: listeners have names: write listen \"NAME\" { %s = ...; }",
				    buf_cstr(&path), m->key);
			else if (strcmp(buf_cstr(&path), "listen") == 0)
				rc = key_error(l, m, "listen", "expected a section such as "
				    "listen \"mx\" { address = \"127.0.0.1:25\"; }");
			else
				rc = key_error(l, m, buf_cstr(&path), "expected a section { ... }");
		} else if (is_named && base == KB_CERT) {
			struct section inner = { .cert = cert_new(l, m) };

			rc = walk(l, m, buf_cstr(&path), &inner);
		} else if (is_named) {
			struct section inner = { .lis = listener_new(l, m) };

			rc = walk(l, m, buf_cstr(&path), &inner);
			if (rc == 0 && inner.lis->address == NULL)
				rc = cfg_error(l->err, l->errsize, m->file, m->line,
				    "%s.address: required, as \"127.0.0.1:25\" or \"[::1]:25\"",
				    buf_cstr(&path));
		} else {
			rc = walk(l, m, buf_cstr(&path), sec);
		}
	}
	buf_clear(&path);
	return rc;
}

void
cfg_set_defaults(struct config *c)
{
	for (size_t i = 0; i < NELEM(rows); i++) {
		const struct key_row *r = &rows[i];

		if (r->base != KB_CONFIG)
			continue;
		switch (r->type) {
		case KT_STRING:
		case KT_PATH:
			if (r->def_str != NULL)
				store_string(c, r, r->def_str);
			break;
		case KT_COUNT:
		case KT_SIZE:
		case KT_DURATION:
			store_number(c, r, r->def / (r->scale_ms ? r->scale_ms : 1));
			break;
		case KT_LOG_LEVEL:
			ASSERT(log_level_parse(r->def_str, &c->log_level) == 0);
			break;
		case KT_DELIMITER:
			c->recipient_delimiter = r->def_str[0];
			break;
		case KT_BOOL:
			store_number(c, r, r->def);
			break;
		default:
			break;	/* lists and aliases start empty */
		}
	}
}

int
cfg_apply(struct cfg_load *l)
{
	const struct section top = { 0 };

	return walk(l, l->doc->root, "", &top);
}

void
cfg_load_clear(struct cfg_load *l)
{
	if (l->alias_src != NULL && l->cfg != NULL)
		for (size_t i = 0; i < l->cfg->naliases; i++)
			free(l->alias_src[i].targets);
	free(l->alias_src);
	free(l->set_by);
	free(l->listen_nodes);
	free(l->listen_addr);
	free(l->cert_nodes);
	free(l->user_nodes);
	memset(l, 0, sizeof(*l));
}
