/*
 * config.h - the configuration: one file in UCL syntax (with .include),
 * read into struct config and checked as a whole before anything uses it.
 * Every key, its type and its default are in keys.c; docs/configuration.md
 * describes each one. Errors read "FILE:LINE: reason".
 */
#ifndef STERNA_CONFIG_CONFIG_H
#define STERNA_CONFIG_CONFIG_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

#include "util/cidr.h"
#include "util/log.h"

/* Milters one entrance may pass a message through, in order. */
#define CONFIG_MILTERS_MAX 8

struct config_listener {
	char *name;			/* the section's name: listen "mx" { ... } */
	char *address;			/* as written: "127.0.0.1:2525", "[::1]:25" */
	struct sockaddr_storage sa;	/* numeric address and port */
	socklen_t sa_len;
	unsigned greeting_delay_ms;	/* wait before 220; input before it is refused */
	unsigned offers_starttls;	/* STARTTLS, when tls has a certificate (RFC 3207) */
	unsigned is_implicit_tls;	/* TLS from the first byte (RFC 8314), as on port 465 */
	unsigned is_auth;		/* offer AUTH here (when auth.users_file is set) */
	unsigned is_auth_without_tls;	/* offer AUTH before TLS too (trusted local use) */
	unsigned is_auth_required;	/* submission: AUTH before MAIL (RFC 6409 4.3) */
	char *milters;			/* "rspamd, dkim": names of milter sections, as written; NULL: none */
	size_t milter_idx[CONFIG_MILTERS_MAX];	/* ... as indexes into config.milters, in order */
	size_t nmilters;
	unsigned line;			/* where the section starts, for messages */
};

/*
 * One certificate with its key: tls { cert "NAME" { chain = ...; key = ...; } }.
 * The files are read by src/tls (at start, by sterna check and at SIGHUP),
 * so their places are kept for "FILE:LINE: reason" messages.
 */
struct config_cert {
	char *name;			/* the section's name, for logs */
	char *chain;			/* absolute path: PEM, the certificate first, then its issuers */
	char *key;			/* absolute path: the PEM private key */
	char *chain_file, *key_file;	/* the configuration files that set them */
	unsigned chain_line, key_line;
	unsigned line;			/* where the section starts */
};

/* One line of the users file (users.c). */
struct config_user {
	char *name;			/* the login name, lowercased */
	char *hash;			/* a crypt(3) hash: yescrypt, bcrypt or sha512-crypt */
	char **senders;			/* more envelope senders the user may use, lowercased */
	size_t nsenders;
	int may_send_as_any;		/* any envelope sender at all */
	unsigned line;
};

/*
 * A target without '@' is a local user or another alias (lowercased), in
 * the domain of the address that reached it. A target with '@' is an
 * address (as smtp_addr_format() writes it, ASCII, domain lowercased): in a
 * local domain it is looked up again like a local recipient; in any other
 * it is forwarded to, as a remote recipient. load.c checks that every one
 * resolves, that none is a relay trick, and the bounds below.
 */
struct config_alias {
	char *name;			/* the alias's local part, lowercased */
	char **targets;			/* names or addresses, as above */
	size_t ntargets;
	unsigned line;
};

/* Aliases through aliases: local.c expands no deeper, so load.c refuses deeper nesting. */
#define CONFIG_ALIAS_DEPTH_MAX 16

/* One "key = value" of a map section (outbound.routes, outbound.sources). */
struct config_map_entry {
	char *key;			/* a domain, lowercased */
	char *value;			/* as written */
	unsigned line;
};

struct config_map {
	struct config_map_entry *v;
	size_t n;
};

/*
 * A next hop as written in outbound.routes and outbound.smarthost:
 * "host" or "host:port" (MX lookup of host, then its A/AAAA), "[host]" or
 * "[host]:port" (no MX lookup: host's A/AAAA, or the IP address itself).
 */
struct config_nexthop {
	char host[256];			/* a domain name or a numeric address */
	unsigned port;			/* 0: the default port */
	int is_literal;			/* written in brackets: no MX lookup */
};

/*
 * The TLS policy of a destination (an entry of outbound.routes, the
 * smarthost): none, never STARTTLS; may, STARTTLS when offered and no
 * certificate check (opportunistic, RFC 7435: what MX hosts get); encrypt,
 * no session without TLS, any certificate; verify, no session without TLS
 * and a certificate that a trust anchor vouches for and that names the
 * host connected to (RFC 6125). In this order: each demands more.
 */
enum config_tls { CONFIG_TLS_NONE, CONFIG_TLS_MAY, CONFIG_TLS_ENCRYPT, CONFIG_TLS_VERIFY };

/* Where mail goes instead of its domain's MX: a next hop and its TLS policy. */
struct config_route {
	struct config_nexthop hop;
	enum config_tls tls;
};

/* What decided a domain's next hop (config_route_of()). */
enum config_route_kind {
	CONFIG_ROUTE_NONE,		/* nothing: the domain's MX, or an address literal's host */
	CONFIG_ROUTE_DOMAIN,		/* outbound.routes names the domain */
	CONFIG_ROUTE_ANY,		/* the "*" entry of outbound.routes */
	CONFIG_ROUTE_SMARTHOST,		/* outbound.smarthost */
};

/* Where a key was set, for the checks made after loading (NULL file: not set). */
struct config_place {
	char *file;
	unsigned line;
};

/*
 * An LMTP next hop (RFC 2033) as written in configuration: "unix:/path" (a
 * UNIX socket by its absolute path), or "host:port" / "[address]:port"
 * (TCP to the host's A/AAAA addresses, or to the address; never MX). The
 * port must be given, and not be 25: LMTP has none of its own, and is
 * never to be spoken on SMTP's (RFC 2033).
 */
struct config_lmtp_hop {
	char host[256];			/* TCP: the host name or the address; "" for a socket */
	unsigned port;			/* TCP: 1 to 65535; 0 for a socket */
	struct sockaddr_storage sa;	/* a socket's or the address's: where to connect */
	socklen_t sa_len;		/* 0: host is a name, to be looked up first */
};

/*
 * The allow and block lists of policy { } (src/policy/lists.c): for each
 * kind of thing listed an allow list, then a block list. What an entry may
 * be depends on the kind (config_entry_parse()).
 */
enum config_list_id {
	CONFIG_ALLOW_CLIENTS,
	CONFIG_BLOCK_CLIENTS,
	CONFIG_ALLOW_CLIENT_NAMES,
	CONFIG_BLOCK_CLIENT_NAMES,
	CONFIG_ALLOW_HELO,
	CONFIG_BLOCK_HELO,
	CONFIG_ALLOW_SENDERS,
	CONFIG_BLOCK_SENDERS,
	CONFIG_ALLOW_RECIPIENTS,
	CONFIG_BLOCK_RECIPIENTS,
	CONFIG_LIST_N,
};

enum config_list_kind {
	CONFIG_LIST_OF_CLIENTS,		/* addresses and networks */
	CONFIG_LIST_OF_CLIENT_NAMES,	/* verified host names of clients */
	CONFIG_LIST_OF_HELO,		/* HELO/EHLO names and address literals */
	CONFIG_LIST_OF_SENDERS,		/* envelope senders, <> included */
	CONFIG_LIST_OF_RECIPIENTS,	/* envelope recipients */
};

/* One entry as written in the configuration. */
struct config_list_entry {
	char *text;			/* as written */
	char *file;			/* the configuration file that holds it */
	unsigned line;
};

struct config_list {
	struct config_list_entry *v;	/* policy.NAME: checked, in file order */
	size_t n;
	char *file;			/* policy.NAME_file: an absolute path, "" for none */
	char *file_set_in;		/* where policy.NAME_file is set (NULL when it is not) */
	unsigned file_set_line;
};

/* The longest entry of a list, in bytes as written (a file's line may be longer with a comment). */
#define CONFIG_ENTRY_MAX 512
/* local part, '@', domain: SMTP_LOCAL_MAX + 1 + SMTP_DOMAIN_MAX (listentry.c checks it) */
#define CONFIG_ENTRY_KEY_MAX 320

enum config_entry_form {
	CONFIG_ENTRY_NETWORK,	/* clients: an address or a network (net) */
	CONFIG_ENTRY_NAME,	/* names, HELO: exactly key */
	CONFIG_ENTRY_SUFFIX,	/* ".example.com": any name (or address's domain) under key */
	CONFIG_ENTRY_ADDRESS,	/* senders, recipients: exactly the address key, "local@domain" */
	CONFIG_ENTRY_DOMAIN,	/* senders, recipients: any address at the domain key */
	CONFIG_ENTRY_NULL,	/* senders: <>, the null sender */
};

/* An entry understood: what policy compares. */
struct config_entry {
	enum config_entry_form form;
	struct cidr net;	/* NETWORK */
	/*
	 * NAME, SUFFIX, DOMAIN: lowercased, without the leading '.' or '@'; an
	 * address literal in canonical form ("[192.0.2.1]", "[ipv6:2001:db8::1]").
	 * ADDRESS: the local part with quoting undone, as written (its case
	 * matters, RFC 5321 2.4), '@', the domain lowercased. Not NUL-terminated
	 * for ADDRESS: a quoted local part may hold any byte.
	 */
	char key[CONFIG_ENTRY_KEY_MAX + 1];
	size_t key_len;
};

/*
 * One DNS blocklist: policy { dnsbl "NAME" { zone = ...; answers = [...];
 * weight = N; } }. src/policy/dnsbl.c asks it about each client.
 */
struct config_dnsbl {
	char *name;			/* the section's name, for rules ("dnsbl:NAME") and logs */
	char *zone;			/* lowercased, without a final dot */
	/*
	 * Which returned addresses count as "listed" (IPv4 networks). None:
	 * any of 127.0.0.0/8 but 127.255.255.0/24, which lists such as
	 * Spamhaus use to say they refuse to answer, not that a client is listed.
	 */
	struct cidr *answers;
	size_t nanswers;
	unsigned weight;		/* added to the score when the list lists the client */
	unsigned line;			/* where the section starts */
};

/*
 * A webhook: events { webhook "NAME" { url = ...; secret = ...; types =
 * "bounced,delivered"; } }. src/events/webhook.c POSTs each event to it.
 */
struct config_webhook {
	char *name;			/* the section's name, for logs and its cursor's file */
	char *url;			/* http:// or https://, a host (name or address), a path */
	char *secret;			/* the HMAC-SHA256 key of the signature header */
	char *types;			/* "delivered,bounced": the event types sent; "": every one */
	unsigned line;			/* where the section starts */
};

/*
 * A content filter spoken to with the milter protocol: milter "NAME" {
 * address = "unix:/path" | "inet:ADDRESS:PORT"; timeouts; default_action }.
 * Listeners (listen.NAME.milters) and the other entrances
 * (server.local_milters) name the ones they use (src/milter).
 */
struct config_milter {
	char *name;			/* the section's name, for logs and rules ("milter:NAME") */
	char *address;			/* as written */
	struct sockaddr_storage sa;	/* AF_UNIX, AF_INET or AF_INET6, port included */
	socklen_t sa_len;
	unsigned connect_timeout_ms;	/* to connect and negotiate */
	unsigned command_timeout_ms;	/* for the reply to each step before the end of the message */
	unsigned eom_timeout_ms;	/* for the replies to the end of the message */
	char *default_action;		/* "tempfail" or "accept": when it is down, slow or broken */
	unsigned is_default_accept;	/* default_action is accept */
	unsigned idle_connections;	/* kept open between sessions and messages (0: none) */
	unsigned idle_timeout_ms;	/* an idle connection is closed after this */
	unsigned line;			/* where the section starts */
};

/* Lists a configuration may name: each is one more query per connection. */
#define CONFIG_DNSBL_MAX 16

struct config {
	char *path;			/* the file read */

	/* server { } */
	char *hostname;			/* greeting, Received, EHLO reply */
	char *user;			/* unprivileged user to run as when started as root */
	struct config_place user_at;	/* sterna check looks the user up, and says where */
	unsigned max_sessions;		/* concurrent SMTP sessions, all listeners */
	unsigned io_threads;		/* threads for disk work */
	unsigned receive_loops;		/* event loops that serve SMTP sessions; 0: one per processor */
	enum log_level log_level;
	char *log_format;		/* "text" or "json" */
	char *log_output;		/* "stderr" or "syslog" */
	char *log_syslog_facility;	/* "mail", "daemon", "local0" ... */
	char *log_syslog_socket;	/* syslog's datagram socket: "/dev/log" */
	unsigned is_sandboxed;		/* seccomp and Landlock once privileges are dropped */

	/* listen "NAME" { } */
	struct config_listener *listeners;
	size_t nlisteners;

	/* tls { } */
	struct config_cert *certs;	/* the first is the default; SNI picks among them */
	size_t ncerts;
	unsigned tls_handshake_timeout_ms;
	unsigned is_client_cert_asked;	/* tls.ask_client_cert: for the filters' {cert_subject} */

	/* smtp { } */
	size_t max_line_bytes;		/* command line, CRLF included */
	size_t max_text_line_bytes;	/* message line, CRLF included */
	uint64_t max_message_bytes;
	unsigned max_recipients;
	unsigned max_errors;
	unsigned max_hops;		/* Received fields a message may carry (mail loops) */
	unsigned max_future_release_s;	/* FUTURERELEASE's longest hold (RFC 4865); 0: not offered */
	unsigned idle_timeout_ms;	/* for one complete command line; or no byte at all */
	unsigned in_data_timeout_ms;	/* for the whole DATA phase, 354 to the final dot */
	unsigned session_timeout_ms;	/* for the whole session */

	/* spool { } */
	char *spool_dir;
	uint64_t min_free_bytes;	/* refuse MAIL below this; 0 means 1.5 x max_message_bytes */

	/* local { } */
	char **local_domains;		/* lowercased */
	size_t nlocal_domains;
	char **local_users;		/* lowercased */
	size_t nlocal_users;
	struct config_alias *aliases;
	size_t naliases;
	char *mailbox_root;		/* user u's Maildir is <mailbox_root>/<u>/ */
	char *mailbox_group;		/* the Maildirs' group; "": that of the user sterna runs as */
	char recipient_delimiter;	/* '+' gives alice+tag -> alice; '\0' for none */
	unsigned max_alias_targets;	/* targets one address may expand into, repeats counted */
	char *lmtp;			/* "": Maildir; else the LMTP next hop of every mailbox */
	struct config_map lmtp_routes;	/* local user or local domain -> LMTP hop, or "maildir" */

	/* relay { } */
	struct cidr *trusted_networks;	/* clients that may relay without AUTH */
	size_t ntrusted_networks;

	/* policy { }: allow and block lists */
	struct config_list lists[CONFIG_LIST_N];	/* by enum config_list_id */
	unsigned is_block_tempfail;	/* block lists answer 4xx (4.7.1), not 5xx */

	/* auth { } */
	char *users_file;		/* "" for none: AUTH is not offered */
	struct config_user *users;	/* the users file, in file order */
	size_t nusers;
	unsigned auth_fail_delay_ms;	/* before 535: slows a password guesser down */
	unsigned auth_max_failures;	/* per session, then 421 and close */
	unsigned auth_client_max_failures; /* per client address in auth_client_window_s */
	unsigned auth_client_window_s;	/* ... after which it is refused for this long */

	/* limits { }: who may talk to us how much (src/policy/limits.c); 0: no limit */
	unsigned client_prefix_v4;	/* clients are counted by their address cut to this */
	unsigned client_prefix_v6;	/* ... so that one /64 is one client, not millions */
	unsigned client_connections;	/* sessions at once per client (server.max_sessions_per_client) */
	unsigned client_connections_per_minute;
	unsigned client_messages_per_minute;	/* MAIL commands */
	unsigned client_recipients_per_minute;	/* RCPT commands */
	unsigned user_messages_per_hour;	/* per authenticated user */
	unsigned sender_domain_messages_per_hour;	/* per envelope sender domain, any client */
	unsigned limits_table_entries;	/* the bound on each counter table */

	/* queue { } */
	unsigned retry_min_s;		/* first retry of a failed delivery */
	unsigned retry_max_s;		/* the backoff doubles up to this */
	unsigned lifetime_s;		/* how long a message may stay queued */
	unsigned max_connections;	/* outbound SMTP connections, all destinations */
	unsigned max_connections_per_dest;
	unsigned max_messages_per_minute;	/* per destination; 0: no limit */

	/* bounce { } */
	unsigned delay_notice_s;	/* a "delayed" notice after this long; 0: none */
	char *null_sender_to;		/* bounces of <> mail go here; "": logged only */

	/* dns { } */
	char *dns_resolver;		/* "ip", "ip:port", "[ip6]:port"; "": /etc/resolv.conf */
	unsigned dns_timeout_ms;

	/* policy { }: DNSBL and reverse DNS */
	struct config_dnsbl *dnsbls;	/* in file order */
	size_t ndnsbls;
	unsigned dnsbl_threshold;	/* the sum of weights at which a client is refused */
	unsigned dnsbl_timeout_ms;	/* lists not answered by then count as not listing */
	unsigned dnsbl_cache_entries;	/* answers kept (per list and client); 0: none */
	unsigned is_fcrdns_required;	/* refuse clients without forward-confirmed reverse DNS */
	unsigned fcrdns_timeout_ms;	/* for PTR and the names' addresses together */

	/* outbound { } */
	unsigned out_port;		/* the port of MX hosts (25) */
	char *out_helo_name;		/* "": server.hostname */
	char *out_source_address;	/* "": the kernel chooses */
	struct config_map out_sources;	/* sender domain -> "address [helo]" */
	struct config_map out_routes;	/* recipient domain or "*" -> "NEXT-HOP [TLS-POLICY]" */
	char *smarthost;		/* "": none; else a next hop for every remote domain */
	char *smarthost_user;
	char *smarthost_password;
	unsigned smarthost_tls;		/* enum config_tls: verify with a user, may without */
	char *out_tls_ca_file;		/* what verify trusts: "" the system's store */
	struct config_place out_tls_ca_file_at;
	unsigned connect_timeout_ms;
	unsigned greeting_timeout_ms;	/* RFC 5321 4.5.3.2.1: 5 min */
	unsigned helo_timeout_ms;	/* EHLO, STARTTLS, AUTH, RSET, QUIT */
	unsigned mail_timeout_ms;	/* 4.5.3.2.2: 5 min */
	unsigned rcpt_timeout_ms;	/* 4.5.3.2.3: 5 min */
	unsigned data_timeout_ms;	/* 4.5.3.2.4: 2 min */
	unsigned data_block_timeout_ms;	/* 4.5.3.2.5: 3 min */
	unsigned data_done_timeout_ms;	/* 4.5.3.2.6: 10 min */
	unsigned max_messages_per_connection;
	unsigned connection_idle_ms;	/* an idle connection is kept this long for reuse */

	/* http { }: the HTTP API (src/http, docs/api.md) */
	struct config_listener *http_listeners;	/* address, name, line; is_implicit_tls: tls */
	size_t nhttp_listeners;
	char *http_keys_file;		/* the API keys (src/http/keys.c); "" for none */
	uint64_t http_max_body_bytes;
	size_t http_max_header_bytes;	/* the request line and header fields together */
	unsigned http_max_headers;	/* header fields in one request */
	unsigned http_max_json_depth;	/* arrays and objects nested in a body */
	unsigned http_max_connections;	/* at once, over all HTTP listeners */
	unsigned http_max_requests_per_connection;
	unsigned http_idle_timeout_ms;	/* for the next request; for the client to read a reply */
	unsigned http_request_timeout_ms;	/* for a whole request, from its first byte */
	unsigned is_dashboard_on;	/* http.dashboard: the web dashboard's routes are served */
	unsigned http_requests_per_minute;	/* a key's rate when its line names none; 0: none */

	/* pickup { }, maildrop { }: the folder entrances (src/drop) */
	char *pickup_dir;		/* "": no pickup folder */
	unsigned pickup_scan_interval_ms;	/* the fallback scan; also a file's settle time */
	char *maildrop_group;		/* "": only root and server.user may use the maildrop */

	/* events { }: the event log (src/events/evlog.c) and webhooks (webhook.c) */
	unsigned events_retention_s;	/* files older than this go */
	uint64_t events_max_bytes;	/* ... and the oldest go while the folder holds more */
	uint64_t message_state_bytes;	/* the recipients' last states in memory (msgstate.c) */
	struct config_webhook *webhooks;	/* in file order */
	size_t nwebhooks;
	unsigned webhook_timeout_ms;	/* for one POST, connecting included */
	unsigned webhook_retry_for_s;	/* an event not taken this long after it happened is dropped */
	char *suppress_on;		/* hard bounces of these categories suppress the address; "": none */

	/* milter "NAME" { } (src/milter) */
	struct config_milter *milters;	/* in file order */
	size_t nmilters;
	char *local_milters;		/* for sendmail, pickup and the HTTP API; as written */
	size_t local_milter_idx[CONFIG_MILTERS_MAX];
	size_t nlocal_milters;
	/* dkim { }: DKIM signing (src/dkim) */
	struct config_map dkim_keys;	/* signing domain -> "SELECTOR[,SELECTOR...]" */
	char *dkim_key_dir;		/* DOMAIN.SELECTOR.key files (PEM) */
	char *dkim_sign;		/* which mail is signed: names of config_dkim_sources */

	/*
	 * The generation (a reload makes a new one; docs/architecture.md,
	 * "Configuration generations"): each user holds a reference
	 * (config_ref), and the last to let go frees it. Worker threads may let
	 * go too, hence atomic.
	 */
	atomic_uint refs;
	uint64_t generation;		/* the daemon's count: 1 at start, +1 a reload */
	uint64_t *key_sums;		/* per key table row: what the files set (restart.c) */
	void *derived;			/* config_derive(): what an upper module built from it */
	void (*derived_free)(void *derived);
};

/* The mail dkim.sign may name: an authenticated client, a trusted network, the local entrances. */
#define CONFIG_DKIM_SOURCES 6
extern const char *const config_dkim_sources[CONFIG_DKIM_SOURCES];

/*
 * The names the configuration gives event types and bounce categories
 * (events.webhook.NAME.types, events.suppress_on), in the order of
 * src/events/events.h's enums, which take their names from here.
 * config_bounce_categories[0] is "" (no category).
 */
#define CONFIG_EVENT_TYPES 7
#define CONFIG_BOUNCE_CATEGORIES 7
extern const char *const config_event_types[CONFIG_EVENT_TYPES];
extern const char *const config_bounce_categories[CONFIG_BOUNCE_CATEGORIES];
/*
 * A comma-separated list of names[0..n) ("delivered,bounced"; "" for
 * none) as bits (1u << index) in *bits_out: 0, or -1 for a name not
 * there, an empty one, or a trailing comma.
 */
int config_names_parse(const char *s, const char *const *names, size_t n, unsigned *bits_out);

/*
 * Parses a next hop (see struct config_nexthop): 0, or -1 when s is not
 * one. Pure; config checks and the scheduler use it.
 */
int config_nexthop_parse(const char *s, struct config_nexthop *out);
/*
 * Parses a route as outbound.routes writes it after the domain: "NEXT-HOP"
 * or "NEXT-HOP POLICY" (none, may, encrypt, verify; may when left out).
 * 0, or -1 when s is not one. Pure.
 */
int config_route_parse(const char *s, struct config_route *out);
/* Parses a TLS policy's name (any case): 0, or -1 when s is none. */
int config_tls_parse(const char *s, enum config_tls *out);
/* The name of a TLS policy: "none", "may", "encrypt", "verify". */
const char *config_tls_name(enum config_tls tls);
/*
 * Where mail for domain (lowercased; an address literal in brackets) goes:
 * a route naming the domain, else the "*" route, else the smarthost, else
 * nothing (CONFIG_ROUTE_NONE: its MX, with out->tls may). With a route,
 * *out holds its next hop and TLS policy. Pure.
 */
enum config_route_kind config_route_of(const struct config *c, const char *domain,
    struct config_route *out);

/* 1 if some destination of c has the TLS policy verify: a route, or the smarthost. */
int config_uses_verify(const struct config *c);

/*
 * Parses an LMTP next hop (see struct config_lmtp_hop): 0, or -1 when s
 * is not one (a relative or overlong socket path, no port or port 25, an
 * address outside brackets). Pure. With sa_len set, out->sa is a ready
 * target (AF_UNIX, AF_INET or AF_INET6, port included); with sa_len 0,
 * host is to be looked up by its A/AAAA records at out->port, never MX.
 * dns_lookup_lmtp() does either, and gives the targets smtp_out_new() takes.
 */
int config_lmtp_hop_parse(const char *s, struct config_lmtp_hop *out);
/*
 * Parses a milter's address: "unix:/absolute/path", or "inet:ADDRESS:PORT"
 * with a numeric address ("inet:127.0.0.1:11332", "inet:[::1]:8891"), into
 * out->sa and out->sa_len. 0, or -1 when s is neither. Pure.
 */
int config_milter_address_parse(const char *s, struct config_lmtp_hop *out);
/* 1 if s is a numeric IPv4 or IPv6 address. */
int config_is_ip(const char *s);
/*
 * A duration as the configuration writes it, digits and a unit (ms, s, min,
 * h, d, w, y: "30s", "5min", "2d"), in milliseconds: 0, or -1 when s is
 * none or too large. For command lines that take durations.
 */
int config_parse_duration_ms(const char *s, uint64_t *ms_out);
/* The value for key (a lowercased domain) in map, or NULL. */
const char *config_map_get(const struct config_map *map, const char *key);

/* What list id holds, and whether it is a block list. */
enum config_list_kind config_list_kind(enum config_list_id id);
int config_list_is_block(enum config_list_id id);
/* The list's key in policy { }: "allow_clients" ... "block_recipients". */
const char *config_list_name(enum config_list_id id);
/*
 * Reads one entry of a list of kind from s[0..len) (any bytes: the lines
 * of list files come here too) into *out. Returns NULL, or why it is not
 * one, to follow "'ENTRY' " in a message. Pure.
 */
const char *config_entry_parse(enum config_list_kind kind, const uint8_t *s, size_t len,
    struct config_entry *out);

/*
 * Reads path (and its includes) and checks it. Relative paths in the file
 * are taken from the directory of the file that names them.
 * Returns a new config, or NULL with one "FILE:LINE: reason" (no newline)
 * in err, which holds errsize bytes.
 */
struct config *config_load(const char *path, char *err, size_t errsize);
/*
 * config_load() for a program that only submits mail (sterna sendmail), run
 * by any user: the users file (auth.users_file, password hashes) is not
 * read, since such a user should not be able to read it; users stays empty.
 */
struct config *config_load_submit(const char *path, char *err, size_t errsize);
/*
 * Lets go of the caller's reference to *c and sets *c to NULL; the last
 * reference frees it (its derived object first). c may point to NULL. A
 * config comes from config_load() with one reference, the caller's.
 */
void config_free(struct config **c);
/* Another reference to c (any thread): returns c. */
struct config *config_ref(const struct config *c);
/*
 * Gives c an object built from it (src/policy's local recipients), freed
 * by free_fn when c is freed, so that whoever holds c holds it too. Once,
 * before c is shared.
 */
void config_derive(struct config *c, void *derived, void (*free_fn)(void *derived));
/* The object config_derive() gave c, or NULL. */
void *config_derived(const struct config *c);

/*
 * 1 if the key at path (as the key table spells it, '*' for a section's
 * name: "listen.*.address") takes effect only at a restart; a reload
 * leaves it as it was.
 */
int config_key_needs_restart(const char *path);
/*
 * The keys that need a restart whose setting differs between the
 * generations old (the one at start, whose values they keep) and new (in the files as written: a key set, removed,
 * or given another value; a section added or removed), written into out
 * as "key, key, ..." (cut short with "..." past outsize). Returns how
 * many; 0 leaves out "".
 */
size_t config_restart_changes(const struct config *old, const struct config *new,
    char *out, size_t outsize);
/*
 * Writes every key of the table to f, one a line: the key ('*' for a
 * section's name), a tab, and its default: a number (a count, bytes, or
 * milliseconds), true or false, a string in double quotes, [] or {} for
 * lists and objects, or - when the table has none (required, or worked
 * out at load). sterna check --keys.
 */
void config_keys_print(FILE *f);

/* The user called name (lowercase) in the users file, or NULL. */
const struct config_user *config_find_user(const struct config *c, const char *name);

/* 1 if domain (lowercase) is one of the local domains. */
int config_is_local_domain(const struct config *c, const char *domain);
/*
 * The domain that qualifies a name without one ("root") in the local
 * entrances (sendmail, the pickup folder): the first local domain, or
 * server.hostname without one. Borrowed from c.
 */
const char *config_default_domain(const struct config *c);

#endif
