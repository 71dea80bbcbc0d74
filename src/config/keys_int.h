/*
 * keys_int.h - what the key table (keys.c) and the code that reads values
 * against it (key_read.c, key_lists.c, key_checks.c) share; nothing outside
 * src/config includes it.
 */
#ifndef STERNA_CONFIG_KEYS_INT_H
#define STERNA_CONFIG_KEYS_INT_H

#include "config/ucl_int.h"

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
	KT_ROUTES,	/* KT_MAP whose DOMAIN may also be "*": every other domain */
	KT_TLS,		/* a TLS policy: none, may, encrypt, verify (enum config_tls) */
	KT_CIDRS,	/* a list of networks, "192.0.2.0/24" or "2001:db8::/32" */
	KT_BOOL,	/* true/false, yes/no, on/off */
	KT_LIST,	/* a policy allow or block list: off is its struct config_list */
};

enum key_store { KS_NONE, KS_UNSIGNED, KS_SIZE, KS_U64, KS_STR };

/* which struct a row's offset is into; http { listen "NAME" { } } is a struct config_listener too */
enum key_base { KB_CONFIG, KB_LISTENER, KB_CERT, KB_DNSBL, KB_WEBHOOK, KB_HTTP_LISTENER,
	KB_MILTER };

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
#define DBL(f) KB_DNSBL, offsetof(struct config_dnsbl, f)
#define WHK(f) KB_WEBHOOK, offsetof(struct config_webhook, f)
#define HLS(f) KB_HTTP_LISTENER, offsetof(struct config_listener, f)
#define MLT(f) KB_MILTER, offsetof(struct config_milter, f)
#define SEC 1000ull
#define MIN (60 * SEC)
#define HOUR (60 * MIN)
#define DAY (24 * HOUR)
#define KIB 1024ull
#define MIB (1024 * KIB)
#define GIB (1024 * MIB)

/* The key table, in the order docs/configuration.md lists the keys. */
extern const struct key_row cfg_rows[];
extern const size_t cfg_nrows;

/* key_checks.c: value checks named by rows; 1 if s is acceptable. */
int cfg_check_server_user(const char *s);
int cfg_check_hostname(const char *s);
int cfg_check_domain_or_empty(const char *s);
int cfg_check_ip_or_empty(const char *s);
int cfg_check_resolver(const char *s);
int cfg_check_nexthop_or_empty(const char *s);
int cfg_check_route(const char *s);
int cfg_check_lmtp_or_empty(const char *s);
int cfg_check_lmtp_or_maildir(const char *s);
int cfg_check_source(const char *s);
int cfg_check_address_or_empty(const char *s);
int cfg_check_log_format(const char *s);
int cfg_check_log_output(const char *s);
int cfg_check_syslog_facility(const char *s);
int cfg_check_unix_socket_path(const char *s);

/* key_read.c */
/* "FILE:LINE: path: message", at the line of n's value. Returns -1. */
int cfg_key_error(struct cfg_load *l, const struct ucl_node *n, const char *path,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* 1 if n is a string, a number or a boolean. */
int cfg_is_scalar(const struct ucl_node *n);
/* Stores v (bytes, ms or a count, already scaled) at r's place in base. */
void cfg_store_number(void *base, const struct key_row *r, uint64_t v);
/* Stores a copy of s at r's place in base, freeing what was there. */
void cfg_store_string(void *base, const struct key_row *r, const char *s);

/* restart.c: adds what n holds for row r at path (a section's name in it) to cfg's sums. */
void cfg_sum_node(struct config *cfg, const struct key_row *r, const char *path,
    const struct ucl_node *n);

/* key_lists.c: each 0, or -1 with l->err set */
int cfg_read_list(struct cfg_load *l, const struct key_row *r, const struct ucl_node *n,
    const char *path);
int cfg_read_aliases(struct cfg_load *l, const struct ucl_node *n, const char *path);
int cfg_read_map(struct cfg_load *l, const struct key_row *r, const struct ucl_node *n,
    const char *path);
/* A list of networks into *v_out (a new array) and *n_out. */
int cfg_read_cidrs(struct cfg_load *l, const struct ucl_node *n, const char *path,
    struct cidr **v_out, size_t *n_out);
int cfg_read_address(struct cfg_load *l, const struct ucl_node *n, const char *path,
    struct config_listener *lis);
int cfg_read_policy_list(struct cfg_load *l, const struct key_row *r, const struct ucl_node *n,
    const char *path);

/* key_events.c: events { webhook "NAME" { } } */
int cfg_check_webhook_url(const char *s);
int cfg_check_event_types(const char *s);
/* dkim.sign: a list of config_dkim_sources. dkim.keys: "SELECTOR[,SELECTOR...]" of DNS labels. */
int cfg_check_dkim_sign(const char *s);
int cfg_check_dkim_selectors(const char *s);
int cfg_check_bounce_categories(const char *s);
/* The webhook of section n, appended to l->cfg->webhooks. */
struct config_webhook *cfg_webhook_new(struct cfg_load *l, const struct ucl_node *n);
/* key_milter.c: milter "NAME" { } */
int cfg_check_milter_address(const char *s);
int cfg_check_milter_action(const char *s);
int cfg_check_milter_names(const char *s);
/* The milter of section n, appended to l->cfg->milters with its defaults. */
struct config_milter *cfg_milter_new(struct cfg_load *l, const struct ucl_node *n);
/* key_http.c: http { } */
/* A new listener of http { listen "NAME" { } } n, appended with its defaults. */
struct config_listener *cfg_http_listener_new(struct cfg_load *l, const struct ucl_node *n);

/* key_policy.c: policy { dnsbl "NAME" { } } */
/* 1 if s may be a DNSBL zone: a domain name with room left for an IPv6 query name. */
int cfg_check_dnsbl_zone(const char *s);
/* The list of section n, appended to l->cfg->dnsbls with its defaults. */
struct config_dnsbl *cfg_dnsbl_new(struct cfg_load *l, const struct ucl_node *n);

#endif
