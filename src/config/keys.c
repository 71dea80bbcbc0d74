/*
 * keys.c - the key table: one row per configuration key with its type,
 * default, bounds and place in struct config. The walk that reads the
 * parsed tree against it is key_read.c's (scalars, sections) and
 * key_lists.c's (lists, aliases, maps); the checks of single values are
 * key_checks.c's. What concerns several keys at once (aliases against
 * users, listeners against each other) is load.c's.
 * docs/configuration.md describes every row; keep the two in step.
 */
#include "config/keys_int.h"


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

const struct key_row cfg_rows[] = {
	{ "server.hostname", KT_STRING, KS_STR, CFG(hostname), 0, NULL, 0, 0, 0, NULL,
	    cfg_check_hostname, "'%s' is not a valid domain name" },
	{ "server.user", KT_STRING, KS_STR, CFG(user), 0, "", 0, 0, 0, NULL,
	    cfg_check_server_user, "'%s' is not a valid user name" },
	{ "server.max_sessions", KT_COUNT, KS_UNSIGNED, CFG(max_sessions), 1000, NULL,
	    1, 1000000, 0, NULL, NULL, NULL },
	/* the older name of limits.client_connections: the same place, so one of the two */
	{ "server.max_sessions_per_client", KT_COUNT, KS_UNSIGNED, CFG(client_connections),
	    50, NULL, 0, 1000000, 0, NULL, NULL, NULL },
	{ "server.io_threads", KT_COUNT, KS_UNSIGNED, CFG(io_threads), 2, NULL,
	    1, 64, 0, NULL, NULL, NULL },
	{ "server.receive_loops", KT_COUNT, KS_UNSIGNED, CFG(receive_loops), 0, NULL,
	    0, 256, 0, NULL, NULL, NULL },
	{ "server.log_level", KT_LOG_LEVEL, KS_NONE, CFG(log_level), 0, "info",
	    0, 0, 0, NULL, NULL, NULL },
	{ "server.log_format", KT_STRING, KS_STR, CFG(log_format), 0, "text", 0, 0, 0, NULL,
	    cfg_check_log_format, "'%s' is not one of text, json" },
	{ "server.log_output", KT_STRING, KS_STR, CFG(log_output), 0, "stderr", 0, 0, 0, NULL,
	    cfg_check_log_output, "'%s' is not one of stderr, syslog" },
	{ "server.log_syslog_facility", KT_STRING, KS_STR, CFG(log_syslog_facility), 0, "mail",
	    0, 0, 0, NULL, cfg_check_syslog_facility,
	    "'%s' is not one of mail, daemon, user, local0 ... local7" },
	{ "server.log_syslog_socket", KT_PATH, KS_STR, CFG(log_syslog_socket), 0, "/dev/log",
	    0, 0, 0, NULL, cfg_check_unix_socket_path,
	    "'%s' is too long for a UNIX socket (at most 107 bytes)" },
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
	{ "tls.ask_client_cert", KT_BOOL, KS_UNSIGNED, CFG(is_client_cert_asked), 0, NULL, 0, 1, 0,
	    NULL, NULL, NULL },
	{ "tls.cert.*.chain", KT_PATH, KS_STR, CRT(chain), 0, NULL, 0, 0, 0, NULL, NULL, NULL },
	{ "tls.cert.*.key", KT_PATH, KS_STR, CRT(key), 0, NULL, 0, 0, 0, NULL, NULL, NULL },
	{ "listen.*.auth", KT_BOOL, KS_UNSIGNED, LIS(is_auth), 1, NULL, 0, 1, 0, NULL,
	    NULL, NULL },
	{ "listen.*.auth_without_tls", KT_BOOL, KS_UNSIGNED, LIS(is_auth_without_tls), 0, NULL,
	    0, 1, 0, NULL, NULL, NULL },
	{ "listen.*.require_auth", KT_BOOL, KS_UNSIGNED, LIS(is_auth_required), 0, NULL,
	    0, 1, 0, NULL, NULL, NULL },
	{ "listen.*.milters", KT_STRING, KS_STR, LIS(milters), 0, NULL, 0, 0, 0, NULL,
	    cfg_check_milter_names, "'%s' is not a list of milter names such as \"rspamd, dkim\"" },

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
	{ "smtp.max_future_release", KT_DURATION, KS_UNSIGNED, CFG(max_future_release_s),
	    30 * DAY, NULL, 0, 366 * DAY, SEC, NULL, NULL, NULL },
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
	{ "local.mailbox_root", KT_PATH, KS_STR, CFG(mailbox_root), 0, "/var/vmail",
	    0, 0, 0, NULL, NULL, NULL },
	/* "": the group of the user sterna runs as (serve.c, main/claim.c) */
	{ "local.mailbox_group", KT_STRING, KS_STR, CFG(mailbox_group), 0, "", 0, 0, 0, NULL,
	    cfg_check_server_user, "'%s' is not a valid group name" },
	{ "local.recipient_delimiter", KT_DELIMITER, KS_NONE, CFG(recipient_delimiter), 0, "+",
	    0, 0, 0, NULL, NULL, NULL },
	{ "local.aliases", KT_ALIASES, KS_NONE, CFG(aliases), 0, NULL, 0, 0, 0, NULL,
	    NULL, NULL },
	{ "local.max_alias_targets", KT_COUNT, KS_UNSIGNED, CFG(max_alias_targets), 1000, NULL,
	    1, 100000, 0, NULL, NULL, NULL },
	{ "local.lmtp", KT_STRING, KS_STR, CFG(lmtp), 0, "", 0, 0, 0, NULL,
	    cfg_check_lmtp_or_empty, "'%s' is not an LMTP next hop (unix:/path, host:port or "
	    "[address]:port)" },
	{ "local.lmtp_routes", KT_MAP, KS_NONE, CFG(lmtp_routes), 0, NULL, 0, 0, 0, NULL,
	    cfg_check_lmtp_or_maildir, "'%s' is not an LMTP next hop (unix:/path, host:port or "
	    "[address]:port) or maildir" },

	{ "relay.trusted_networks", KT_CIDRS, KS_NONE, CFG(trusted_networks), 0, NULL,
	    0, 0, 0, NULL, NULL, NULL },

	/* policy { }: allow and block lists (listentry.c), allow before block for each kind */
#define POLICY_LIST(name, id) \
	{ "policy." name, KT_LIST, KS_NONE, CFG(lists[id]), 0, NULL, 0, 0, 0, NULL, NULL, NULL }, \
	{ "policy." name "_file", KT_PATH, KS_STR, CFG(lists[id].file), 0, "", 0, 0, 0, NULL, \
	    NULL, NULL }
	POLICY_LIST("allow_clients", CONFIG_ALLOW_CLIENTS),
	POLICY_LIST("block_clients", CONFIG_BLOCK_CLIENTS),
	POLICY_LIST("allow_client_names", CONFIG_ALLOW_CLIENT_NAMES),
	POLICY_LIST("block_client_names", CONFIG_BLOCK_CLIENT_NAMES),
	POLICY_LIST("allow_helo", CONFIG_ALLOW_HELO),
	POLICY_LIST("block_helo", CONFIG_BLOCK_HELO),
	POLICY_LIST("allow_senders", CONFIG_ALLOW_SENDERS),
	POLICY_LIST("block_senders", CONFIG_BLOCK_SENDERS),
	POLICY_LIST("allow_recipients", CONFIG_ALLOW_RECIPIENTS),
	POLICY_LIST("block_recipients", CONFIG_BLOCK_RECIPIENTS),
#undef POLICY_LIST
	{ "policy.block_tempfail", KT_BOOL, KS_UNSIGNED, CFG(is_block_tempfail), 0, NULL, 0, 1, 0,
	    NULL, NULL, NULL },
	/* policy { }: DNSBL and reverse DNS (src/policy/dnsbl.c, rdns.c) */
	{ "policy.dnsbl.*.zone", KT_STRING, KS_STR, DBL(zone), 0, NULL, 0, 0, 0, NULL,
	    cfg_check_dnsbl_zone, "'%s' is not a DNS zone such as zen.spamhaus.org (a domain "
	    "name of at most 189 characters)" },
	{ "policy.dnsbl.*.answers", KT_CIDRS, KS_NONE, DBL(answers), 0, NULL, 0, 0, 0, NULL,
	    NULL, NULL },
	{ "policy.dnsbl.*.weight", KT_COUNT, KS_UNSIGNED, DBL(weight), 1, NULL, 0, 100, 0, NULL,
	    NULL, NULL },
	{ "policy.dnsbl_threshold", KT_COUNT, KS_UNSIGNED, CFG(dnsbl_threshold), 1, NULL,
	    1, 1000, 0, NULL, NULL, NULL },
	{ "policy.dnsbl_timeout", KT_DURATION, KS_UNSIGNED, CFG(dnsbl_timeout_ms), 2 * SEC, NULL,
	    100, 30 * SEC, 1, NULL, NULL, NULL },
	{ "policy.dnsbl_cache_entries", KT_COUNT, KS_UNSIGNED, CFG(dnsbl_cache_entries), 10000,
	    NULL, 0, 1000000, 0, NULL, NULL, NULL },
	{ "policy.require_fcrdns", KT_BOOL, KS_UNSIGNED, CFG(is_fcrdns_required), 0, NULL,
	    0, 1, 0, NULL, NULL, NULL },
	{ "policy.fcrdns_timeout", KT_DURATION, KS_UNSIGNED, CFG(fcrdns_timeout_ms), 5 * SEC,
	    NULL, 100, 30 * SEC, 1, NULL, NULL, NULL },

	{ "auth.users_file", KT_PATH, KS_STR, CFG(users_file), 0, "", 0, 0, 0, NULL, NULL, NULL },
	{ "auth.fail_delay", KT_DURATION, KS_UNSIGNED, CFG(auth_fail_delay_ms), SEC, NULL,
	    0, 30 * SEC, 1, NULL, NULL, NULL },
	{ "auth.max_failures", KT_COUNT, KS_UNSIGNED, CFG(auth_max_failures), 3, NULL,
	    1, 100, 0, NULL, NULL, NULL },
	{ "auth.client_max_failures", KT_COUNT, KS_UNSIGNED, CFG(auth_client_max_failures), 10, NULL,
	    1, 100000, 0, NULL, NULL, NULL },
	{ "auth.client_window", KT_DURATION, KS_UNSIGNED, CFG(auth_client_window_s), 15 * MIN, NULL,
	    SEC, DAY, 1000, NULL, NULL, NULL },

	/* a prefix shorter than these would lump a whole provider into one client */
	{ "limits.client_prefix_v4", KT_COUNT, KS_UNSIGNED, CFG(client_prefix_v4), 32, NULL,
	    8, 32, 0, NULL, NULL, NULL },
	{ "limits.client_prefix_v6", KT_COUNT, KS_UNSIGNED, CFG(client_prefix_v6), 64, NULL,
	    16, 128, 0, NULL, NULL, NULL },
	{ "limits.client_connections", KT_COUNT, KS_UNSIGNED, CFG(client_connections), 50, NULL,
	    0, 1000000, 0, NULL, NULL, NULL },
	{ "limits.client_connections_per_minute", KT_COUNT, KS_UNSIGNED,
	    CFG(client_connections_per_minute), 0, NULL, 0, 1000000, 0, NULL, NULL, NULL },
	{ "limits.client_messages_per_minute", KT_COUNT, KS_UNSIGNED,
	    CFG(client_messages_per_minute), 0, NULL, 0, 1000000, 0, NULL, NULL, NULL },
	{ "limits.client_recipients_per_minute", KT_COUNT, KS_UNSIGNED,
	    CFG(client_recipients_per_minute), 0, NULL, 0, 1000000, 0, NULL, NULL, NULL },
	{ "limits.user_messages_per_hour", KT_COUNT, KS_UNSIGNED, CFG(user_messages_per_hour),
	    0, NULL, 0, 1000000, 0, NULL, NULL, NULL },
	{ "limits.sender_domain_messages_per_hour", KT_COUNT, KS_UNSIGNED,
	    CFG(sender_domain_messages_per_hour), 0, NULL, 0, 1000000, 0, NULL, NULL, NULL },
	{ "limits.table_entries", KT_COUNT, KS_UNSIGNED, CFG(limits_table_entries), 100000, NULL,
	    100, 10000000, 0, NULL, NULL, NULL },

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
	    cfg_check_address_or_empty, "'%s' is not an address such as postmaster@example.org" },

	{ "dns.resolver", KT_STRING, KS_STR, CFG(dns_resolver), 0, "", 0, 0, 0, NULL,
	    cfg_check_resolver, "'%s' is not a numeric \"IPv4\", \"IPv4:port\", \"IPv6\" or "
	    "\"[IPv6]:port\"" },
	{ "dns.timeout", KT_DURATION, KS_UNSIGNED, CFG(dns_timeout_ms), 5 * SEC, NULL,
	    100, MIN, 1, NULL, NULL, NULL },

	{ "outbound.port", KT_COUNT, KS_UNSIGNED, CFG(out_port), 25, NULL, 1, 65535, 0, NULL,
	    NULL, NULL },
	{ "outbound.helo_name", KT_STRING, KS_STR, CFG(out_helo_name), 0, "", 0, 0, 0, NULL,
	    cfg_check_domain_or_empty, "'%s' is not a valid domain name" },
	{ "outbound.source_address", KT_STRING, KS_STR, CFG(out_source_address), 0, "",
	    0, 0, 0, NULL, cfg_check_ip_or_empty, "'%s' is not a numeric IPv4 or IPv6 address" },
	{ "outbound.sources", KT_MAP, KS_NONE, CFG(out_sources), 0, NULL, 0, 0, 0, NULL,
	    cfg_check_source, "'%s' is not \"ADDRESS\" or \"ADDRESS HELO-NAME\"" },
	{ "outbound.routes", KT_ROUTES, KS_NONE, CFG(out_routes), 0, NULL, 0, 0, 0, NULL,
	    cfg_check_route, "'%s' is not a next hop (host, host:port, [host] or [host]:port) "
	    "and an optional TLS policy (none, may, encrypt or verify)" },
	{ "outbound.smarthost", KT_STRING, KS_STR, CFG(smarthost), 0, "", 0, 0, 0, NULL,
	    cfg_check_nexthop_or_empty, "'%s' is not a next hop (host, host:port, [host] or "
	    "[host]:port)" },
	{ "outbound.smarthost_user", KT_STRING, KS_STR, CFG(smarthost_user), 0, "", 0, 0, 0,
	    NULL, NULL, NULL },
	{ "outbound.smarthost_password", KT_STRING, KS_STR, CFG(smarthost_password), 0, "",
	    0, 0, 0, NULL, NULL, NULL },
	/* the default is may; load.c makes it verify where there is a password to protect */
	{ "outbound.smarthost_tls", KT_TLS, KS_UNSIGNED, CFG(smarthost_tls), CONFIG_TLS_MAY, NULL,
	    0, 0, 0, NULL, NULL, NULL },
	{ "outbound.tls_ca_file", KT_PATH, KS_STR, CFG(out_tls_ca_file), 0, "", 0, 0, 0, NULL,
	    NULL, NULL },
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

	/* the HTTP API (src/http): no listener, no server */
	{ "http.listen.*.address", KT_ADDRESS, KS_STR, HLS(address), 0, NULL, 0, 0, 0, NULL,
	    NULL, NULL },
	{ "http.listen.*.tls", KT_BOOL, KS_UNSIGNED, HLS(is_implicit_tls), 0, NULL, 0, 1, 0, NULL,
	    NULL, NULL },
	{ "http.keys_file", KT_PATH, KS_STR, CFG(http_keys_file), 0, "", 0, 0, 0, NULL, NULL, NULL },
	/* a message of smtp.max_message_bytes' default (35 MiB) in base64 in JSON: about 47 MiB */
	{ "http.max_body", KT_SIZE, KS_U64, CFG(http_max_body_bytes), 50 * MIB, NULL,
	    KIB, GIB, 0, NULL, NULL, NULL },
	{ "http.max_header_bytes", KT_SIZE, KS_SIZE, CFG(http_max_header_bytes), 16 * KIB, NULL,
	    KIB, MIB, 0, NULL, NULL, NULL },
	{ "http.max_headers", KT_COUNT, KS_UNSIGNED, CFG(http_max_headers), 64, NULL,
	    8, 1000, 0, NULL, NULL, NULL },
	{ "http.max_json_depth", KT_COUNT, KS_UNSIGNED, CFG(http_max_json_depth), 16, NULL,
	    2, 64, 0, NULL, NULL, NULL },
	{ "http.max_connections", KT_COUNT, KS_UNSIGNED, CFG(http_max_connections), 256, NULL,
	    1, 100000, 0, NULL, NULL, NULL },
	{ "http.max_requests_per_connection", KT_COUNT, KS_UNSIGNED,
	    CFG(http_max_requests_per_connection), 1000, NULL, 1, 1000000, 0, NULL, NULL, NULL },
	{ "http.idle_timeout", KT_DURATION, KS_UNSIGNED, CFG(http_idle_timeout_ms), MIN, NULL,
	    SEC, HOUR, 1, NULL, NULL, NULL },
	{ "http.request_timeout", KT_DURATION, KS_UNSIGNED, CFG(http_request_timeout_ms), 30 * SEC,
	    NULL, SEC, HOUR, 1, NULL, NULL, NULL },
	{ "http.requests_per_minute", KT_COUNT, KS_UNSIGNED, CFG(http_requests_per_minute), 600,
	    NULL, 0, 1000000, 0, NULL, NULL, NULL },
	{ "http.dashboard", KT_BOOL, KS_UNSIGNED, CFG(is_dashboard_on), 1, NULL, 0, 1, 0, NULL,
	    NULL, NULL },

	/* the folder entrances (src/drop) */
	{ "pickup.dir", KT_PATH, KS_STR, CFG(pickup_dir), 0, "", 0, 0, 0, NULL, NULL, NULL },
	{ "pickup.scan_interval", KT_DURATION, KS_UNSIGNED, CFG(pickup_scan_interval_ms), 10 * SEC,
	    NULL, 100, HOUR, 1, NULL, NULL, NULL },
	{ "maildrop.group", KT_STRING, KS_STR, CFG(maildrop_group), 0, "", 0, 0, 0, NULL,
	    cfg_check_server_user, "'%s' is not a valid group name" },
	/* the event log (src/events/evlog.c), webhooks (webhook.c), suppression (suppress.c) */
	{ "events.suppress_on", KT_STRING, KS_STR, CFG(suppress_on), 0, "bad_mailbox,dns", 0, 0, 0,
	    NULL, cfg_check_bounce_categories, "'%s' is not a list of bounce categories such as "
	    "\"bad_mailbox,dns\" (bad_mailbox, mailbox_full, policy, spam_block, dns, other)" },
	{ "events.retention", KT_DURATION, KS_UNSIGNED, CFG(events_retention_s), 7 * DAY, NULL,
	    HOUR, 366 * DAY, SEC, NULL, NULL, NULL },
	{ "events.max_size", KT_SIZE, KS_U64, CFG(events_max_bytes), GIB, NULL, 16 * MIB,
	    1024 * GIB, 0, NULL, NULL, NULL },
	{ "events.state_memory", KT_SIZE, KS_U64, CFG(message_state_bytes), 128 * MIB, NULL, MIB,
	    64 * GIB, 0, NULL, NULL, NULL },
	{ "events.webhook_timeout", KT_DURATION, KS_UNSIGNED, CFG(webhook_timeout_ms), 10 * SEC,
	    NULL, 100, 5 * MIN, 1, NULL, NULL, NULL },
	{ "events.webhook_retry_for", KT_DURATION, KS_UNSIGNED, CFG(webhook_retry_for_s), DAY,
	    NULL, MIN, 30 * DAY, SEC, NULL, NULL, NULL },
	{ "events.webhook.*.url", KT_STRING, KS_STR, WHK(url), 0, NULL, 0, 0, 0, NULL,
	    cfg_check_webhook_url, "'%s' is not an http:// or https:// URL with a host" },
	{ "events.webhook.*.secret", KT_STRING, KS_STR, WHK(secret), 0, NULL, 0, 0, 0, NULL,
	    NULL, NULL },
	{ "events.webhook.*.types", KT_STRING, KS_STR, WHK(types), 0, "", 0, 0, 0, NULL,
	    cfg_check_event_types, "'%s' is not a list of event types such as "
	    "\"delivered,bounced\" (received, delivered, deferred, bounced, expired, suppressed, "
	    "deleted)" },

	/* content filters (src/milter): milter "NAME" { }, named by listeners and local_milters */
	{ "server.local_milters", KT_STRING, KS_STR, CFG(local_milters), 0, "", 0, 0, 0, NULL,
	    cfg_check_milter_names, "'%s' is not a list of milter names such as \"rspamd, dkim\"" },
	{ "milter.*.address", KT_STRING, KS_STR, MLT(address), 0, NULL, 0, 0, 0, NULL,
	    cfg_check_milter_address, "'%s' is not a milter address (unix:/path, "
	    "inet:ADDRESS:PORT or inet:[IPv6]:PORT, a numeric address)" },
	{ "milter.*.connect_timeout", KT_DURATION, KS_UNSIGNED, MLT(connect_timeout_ms), 5 * SEC,
	    NULL, 100, 5 * MIN, 1, NULL, NULL, NULL },
	{ "milter.*.command_timeout", KT_DURATION, KS_UNSIGNED, MLT(command_timeout_ms),
	    30 * SEC, NULL, 100, 10 * MIN, 1, NULL, NULL, NULL },
	{ "milter.*.eom_timeout", KT_DURATION, KS_UNSIGNED, MLT(eom_timeout_ms), 2 * MIN,
	    NULL, 100, 30 * MIN, 1, NULL, NULL, NULL },
	{ "milter.*.idle_connections", KT_COUNT, KS_UNSIGNED, MLT(idle_connections), 16, NULL,
	    0, 1000, 0, NULL, NULL, NULL },
	{ "milter.*.idle_timeout", KT_DURATION, KS_UNSIGNED, MLT(idle_timeout_ms), 60 * SEC,
	    NULL, 1 * SEC, 60 * MIN, 1, NULL, NULL, NULL },
	{ "milter.*.default_action", KT_STRING, KS_STR, MLT(default_action), 0, "tempfail",
	    0, 0, 0, NULL, cfg_check_milter_action, "'%s' is not tempfail or accept" },

	/* DKIM signing (src/dkim) */
	{ "dkim.keys", KT_MAP, KS_NONE, CFG(dkim_keys), 0, NULL, 0, 0, 0, NULL,
	    cfg_check_dkim_selectors, "'%s' is not a list of selectors such as \"s2026r,s2026e\"" },
	{ "dkim.key_dir", KT_PATH, KS_STR, CFG(dkim_key_dir), 0, "/etc/sterna/dkim", 0, 0, 0, NULL,
	    NULL, NULL },
	{ "dkim.sign", KT_STRING, KS_STR, CFG(dkim_sign), 0, "auth,trusted,sendmail,pickup,api", 0,
	    0, 0, NULL, cfg_check_dkim_sign, "'%s' is not a list of mail to sign such as "
	    "\"auth,trusted\" (auth, trusted, sendmail, pickup, api, notice)" },
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
	[CFG_KEY_SERVER_USER] = "server.user",
	[CFG_KEY_ROUTES] = "outbound.routes",
	[CFG_KEY_SMARTHOST_TLS] = "outbound.smarthost_tls",
	[CFG_KEY_TLS_CA_FILE] = "outbound.tls_ca_file",
	[CFG_KEY_HTTP_KEYS_FILE] = "http.keys_file",
};

size_t
cfg_nkeys(void)
{
	return NELEM(cfg_rows);
}

size_t
cfg_key_row(enum cfg_key_id id)
{
	for (size_t i = 0; i < NELEM(cfg_rows); i++)
		if (strcmp(cfg_rows[i].path, key_ids[id]) == 0)
			return i;
	ASSERT(!"every cfg_key_id has a row");
	return 0;
}

const size_t cfg_nrows = NELEM(cfg_rows);

void
cfg_set_defaults(struct config *c)
{
	for (size_t i = 0; i < NELEM(cfg_rows); i++) {
		const struct key_row *r = &cfg_rows[i];

		if (r->base != KB_CONFIG)
			continue;
		switch (r->type) {
		case KT_STRING:
		case KT_PATH:
			if (r->def_str != NULL)
				cfg_store_string(c, r, r->def_str);
			break;
		case KT_COUNT:
		case KT_SIZE:
		case KT_DURATION:
			cfg_store_number(c, r, r->def / (r->scale_ms ? r->scale_ms : 1));
			break;
		case KT_LOG_LEVEL:
			ASSERT(log_level_parse(r->def_str, &c->log_level) == 0);
			break;
		case KT_DELIMITER:
			c->recipient_delimiter = r->def_str[0];
			break;
		case KT_BOOL:
		case KT_TLS:
			cfg_store_number(c, r, r->def);
			break;
		default:
			break;	/* lists and aliases start empty */
		}
	}
}

