/*
 * ucl_int.h - what the files of src/config/ share and nobody else includes:
 * the tree that ucl.c builds from the UCL subset (every key and value keeps
 * its file and line, so that semantic errors name the exact line), and the
 * key table of keys.c that load.c walks the tree with.
 * The syntax accepted is described in docs/configuration.md.
 */
#ifndef STERNA_CONFIG_UCL_INT_H
#define STERNA_CONFIG_UCL_INT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"

/* Input limits: each is a clear error, never a crash or a long stall. */
#define UCL_MAX_FILE_BYTES	(1024u * 1024u)		/* one file */
#define UCL_MAX_TOTAL_BYTES	(4u * 1024u * 1024u)	/* a file and all it includes */
#define UCL_MAX_DEPTH		32			/* nested objects and arrays */
#define UCL_MAX_INCLUDE_DEPTH	16			/* nested .include */
#define UCL_MAX_STRING_BYTES	(64u * 1024u)		/* one string, word or key */

enum ucl_type { UCL_OBJECT, UCL_ARRAY, UCL_STRING, UCL_NUMBER, UCL_BOOLEAN };

/* What a number's suffix made of it. */
enum ucl_unit {
	UCL_UNIT_NONE,		/* 100 */
	UCL_UNIT_MULT,		/* 10k, 2m, 1g: powers of 1000 */
	UCL_UNIT_BYTES,		/* 10kb, 2mb, 1gb: powers of 1024 */
	UCL_UNIT_TIME,		/* 30s, 5min, 1h: num is in milliseconds */
};

struct ucl_node {
	enum ucl_type type;
	char *key;		/* the key in an object; NULL for array elements and the root */
	const char *file;	/* the file it came from (owned by the ucl_doc) */
	unsigned line;		/* line of the key (of the value for array elements) */
	unsigned vline;		/* line where the value starts */

	/*
	 * Scalars: for a string the decoded text; for a number or a boolean the
	 * word as written, so that a place that wants a string (a user called
	 * "1234") can take any bare word. Never holds NUL: NUL bytes and
	 * \u0000 are refused, so str is also a C string.
	 */
	char *str;
	size_t len;
	int is_quoted;		/* written "..." or '...' (always a string) */

	uint64_t num;		/* UCL_NUMBER: magnitude, suffix applied */
	int is_negative;
	enum ucl_unit unit;
	int boolean;		/* UCL_BOOLEAN: 0 or 1 */

	/* UCL_OBJECT members in file order (merged objects included), UCL_ARRAY elements */
	struct ucl_node **kids;
	size_t nkids, capkids;
	uint32_t *index;	/* open-addressed hash of kids by key, once an object grows */
	size_t index_cap;
};

struct ucl_doc {
	struct ucl_node *root;	/* the implicit top-level object */
	char **files;		/* every file read, in the order first read */
	size_t nfiles;
};

/*
 * How .include finds files. read() returns 0 with a new malloc'd buffer in
 * *data_out (freed by the parser) holding *len_out bytes, and an identity
 * in id_out (the same file always gives the same identity: that is how
 * include cycles are found); or -1 with a short reason ("No such file or
 * directory") in why. A file of more than max bytes is an error, which
 * read() reports with *len_out = max + 1 and a -1 return.
 */
struct ucl_reader {
	int (*read)(void *ctx, const char *name, size_t max, uint8_t **data_out,
	    size_t *len_out, uint64_t id_out[2], char *why, size_t whysize);
	void *ctx;
};

/* The reader that the daemon uses: regular files only, by dev and inode. */
extern const struct ucl_reader ucl_disk_reader;

/*
 * Parses the file at path (and what it includes). Returns a new document,
 * or NULL with one "FILE:LINE: reason" in err (errsize bytes).
 */
struct ucl_doc *ucl_parse_file(const char *path, char *err, size_t errsize);

/*
 * Parses the len bytes at p (borrowed) as if they were the file called
 * name; includes go through rd (NULL: .include is an error). The identity
 * of the file itself is id (for cycles back to it). For tests and fuzzing.
 */
struct ucl_doc *ucl_parse_mem(const uint8_t *p, size_t len, const char *name,
    const uint64_t id[2], const struct ucl_reader *rd, char *err, size_t errsize);

/* Frees *d and sets it to NULL; d may point to NULL. */
void ucl_doc_free(struct ucl_doc **d);

/* The member called key of obj, or NULL. */
const struct ucl_node *ucl_get(const struct ucl_node *obj, const char *key);

/*
 * Writes "FILE:LINE: " and the message into err ("FILE: " when line is 0,
 * for what concerns the whole file; nothing when file is NULL). A message
 * cut short by errsize ends in "...". Returns -1, so that callers can write
 * "return cfg_error(...)".
 */
int cfg_error(char *err, size_t errsize, const char *file, unsigned line,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* The same, with "KEY: " after the place when key is not NULL. */
int cfg_verror(char *err, size_t errsize, const char *file, unsigned line, const char *key,
    const char *fmt, va_list ap) __attribute__((format(printf, 6, 0)));

/* Up to 60 bytes of s for a message, "..." after a cut; out holds 64 bytes. */
const char *cfg_shorten(const char *s, char *out);

/*
 * The key table (keys.c) and the walk over the tree (key_read.c), with what the
 * cross-key checks of load.c need to know about where each value was set.
 */
struct cfg_alias_src {
	const struct ucl_node *node;		/* the alias's key */
	const struct ucl_node **targets;	/* where each target was written */
};

struct cfg_load {
	struct config *cfg;
	const struct ucl_doc *doc;
	const struct ucl_node **set_by;		/* per key table row: the node, or NULL for the default */
	const struct ucl_node **listen_nodes;	/* per listener: its section */
	const struct ucl_node **listen_addr;	/* per listener: its address, or NULL */
	size_t listen_cap;			/* room in the three arrays above */
	const struct ucl_node **cert_nodes;	/* per tls.cert section: its node */
	size_t cert_cap;
	const struct ucl_node **dnsbl_nodes;	/* per policy.dnsbl section: its node */
	size_t dnsbl_cap;
	const struct ucl_node **webhook_nodes;	/* per events.webhook section: its node */
	size_t webhook_cap;
	const struct ucl_node **milter_nodes;	/* per milter section: its node */
	size_t milter_cap;
	const struct ucl_node **http_nodes;	/* per HTTP listener: its section */
	const struct ucl_node **http_addr;	/* per HTTP listener: its address, or NULL */
	size_t http_cap;
	struct cfg_alias_src *alias_src;	/* per alias */
	const struct ucl_node **user_nodes;	/* per local user */
	char *err;
	size_t errsize;
};

/* Row numbers of keys that load.c checks across keys. */
enum cfg_key_id {
	CFG_KEY_HOSTNAME,
	CFG_KEY_MAX_MESSAGE_BYTES,
	CFG_KEY_MIN_FREE,
	CFG_KEY_LOCAL_DOMAINS,
	CFG_KEY_RETRY_MIN,
	CFG_KEY_RETRY_MAX,
	CFG_KEY_SPOOL_DIR,
	CFG_KEY_MAILBOX_ROOT,
	CFG_KEY_SMARTHOST,
	CFG_KEY_SMARTHOST_USER,
	CFG_KEY_SMARTHOST_PASSWORD,
	CFG_KEY_USERS_FILE,
	CFG_KEY_PICKUP_DIR,
	CFG_KEY_SERVER_USER,
	CFG_KEY_ROUTES,
	CFG_KEY_SMARTHOST_TLS,
	CFG_KEY_TLS_CA_FILE,
	CFG_KEY_HTTP_KEYS_FILE,
};

/* Number of rows in the key table. */
size_t cfg_nkeys(void);
/* The table row of id (an enum cfg_key_id): where load.c looks in set_by. */
size_t cfg_key_row(enum cfg_key_id id);
/* "5min", "1h", "1500ms": a duration as a message shows it; out holds 32 bytes. */
const char *cfg_format_ms(uint64_t ms, char out[32]);
/* Sets every key of struct config to its default (hostname is left NULL). */
void cfg_set_defaults(struct config *c);
/*
 * Walks the document against the key table and fills l->cfg: unknown keys,
 * wrong types and values out of bounds are errors. 0, or -1 with l->err set.
 */
int cfg_apply(struct cfg_load *l);
/* Frees what cfg_apply() put in l (not l->cfg); call it before freeing l->cfg. */
void cfg_load_clear(struct cfg_load *l);

/* 1 if s is a domain name: LDH labels of 1..63 bytes, 253 bytes at most. */
int cfg_is_domain(const char *s);
/* 1 if s is a local user or alias name: [a-z0-9._-]{1,64}, not starting with '.'. */
int cfg_is_local_name(const char *s);

/* 1 if h is a hash of a supported kind: $y$ (yescrypt), $2b$/$2a$/$2y$ (bcrypt), $6$. */
int cfg_is_supported_hash(const char *h);
/*
 * Reads the users file at path into c->users: 0, or -1 with "FILE:LINE:
 * reason" in err; a file that cannot be read is reported at at_file:at_line,
 * where the configuration names it.
 */
int cfg_users_load(struct config *c, const char *path, const char *at_file, unsigned at_line,
    char *err, size_t errsize);
/*
 * Parses a users file's bytes data[0..len) (untrusted: any bytes) into
 * c->users, naming path in errors: 0, or -1 with "PATH:LINE: reason" in
 * err and c->users freed.
 */
int cfg_users_parse(struct config *c, const char *path, const uint8_t *data, size_t len,
    char *err, size_t errsize);
/* Frees c->users. */
void cfg_users_free(struct config *c);

/*
 * Makes *pathp (set at n) absolute, from the directory of n's file when
 * it is relative; key names it in messages. 0, or -1 with l->err set.
 */
int cfg_absolute_at(struct cfg_load *l, const struct ucl_node *n, char **pathp, const char *key);
/* listentry.c: the policy.*_file paths made absolute, with where each was set; 0 or -1. */
int cfg_policy_list_paths(struct cfg_load *l);
/* Frees c->lists. */
void cfg_policy_lists_free(struct config *c);
/*
 * policy { dnsbl "NAME" { } } as a whole, once read (key_policy.c): names,
 * zones, answers, how many. 0, or -1 with l->err set.
 */
int cfg_check_dnsbls(struct cfg_load *l);
/* events { webhook "NAME" { } } as a whole (key_events.c): required keys. 0, or -1. */
int cfg_check_webhooks(struct cfg_load *l);
/*
 * milter "NAME" { } as a whole, and the lists that name them (key_milter.c):
 * addresses, names that resolve. 0, or -1 with l->err set.
 */
int cfg_check_milters(struct cfg_load *l);
/* Frees c->milters and c->local_milters. */
void cfg_milters_free(struct config *c);
/* Frees c->webhooks. */
void cfg_webhooks_free(struct config *c);
/* Frees c->dnsbls. */
void cfg_dnsbls_free(struct config *c);
/*
 * http { } as a whole, once read (key_http.c): a TLS listener needs a
 * certificate, listeners need a keys file (made absolute here), no
 * address twice, SMTP's included. 0, or -1 with l->err set.
 */
int cfg_check_http(struct cfg_load *l);
/* Frees c->http_listeners and c->http_keys_file. */
void cfg_http_free(struct config *c);

/* listeners.c: at least one, no address twice, no wildcard over another; AUTH where required */
int cfg_check_listeners(struct cfg_load *l);
/*
 * outbound.c: the smarthost's credentials and TLS policy (its default
 * made verify where there is a password), the "*" route against the
 * smarthost, the CA file's path. 0, or -1 with l->err set.
 */
int cfg_check_outbound(struct cfg_load *l);

/*
 * Reads the document into a new config and checks it as config_load() does
 * (path is what config->path gets). Borrows doc. For config_load and fuzzing.
 */
struct config *config_load_doc(const struct ucl_doc *doc, const char *path,
    char *err, size_t errsize);

#endif
