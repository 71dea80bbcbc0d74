/*
 * key_read.c - the walk over the parsed tree against the key table:
 * messages for wrong keys ("did you mean"), scalar values, named sections
 * (listeners, certificates). Lists, aliases and maps are key_lists.c's.
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

int
cfg_key_error(struct cfg_load *l, const struct ucl_node *n, const char *path, const char *fmt, ...)
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

/*
 * 1 if pattern is path, written inside a section, one section deeper:
 * "http.listen.*.tls" for "listen.b.tls". The key is not in the wrong
 * section then but in another kind of section (an SMTP listener is no HTTP
 * one), and naming the other would mislead. A key outside any section
 * ("max_errors") is in the wrong place, and gets its section named.
 */
static int
is_deeper_twin(const char *pattern, const char *path)
{
	const char *dot = strchr(pattern, '.');
	struct buf tail;
	int is_twin;

	/* the same kind of section: its name is written, not a listener's own name */
	if (dot == NULL || dot[1] == '*' || ncomponents(path) < 2 ||
	    ncomponents(dot + 1) != ncomponents(path))
		return 0;
	buf_init(&tail, 4096);
	pattern_prefix(dot + 1, path, ncomponents(path), &tail);
	is_twin = strcmp(buf_cstr(&tail), path) == 0;
	buf_clear(&tail);
	return is_twin;
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
	for (size_t i = 0; i < cfg_nrows; i++) {
		size_t d;

		if (ncomponents(cfg_rows[i].path) < k)
			continue;
		pattern_prefix(cfg_rows[i].path, path, k, &cand);
		d = edit_distance(path, buf_cstr(&cand));
		if (d < best) {
			best = d;
			buf_reset(&found);
			(void)buf_append(&found, cand.data, cand.len);
		}
	}
	/* the right key in the wrong section: server { max_recipients = 5 } */
	for (size_t i = 0; best > 2 && i < cfg_nrows; i++) {
		const char *rleaf = strrchr(cfg_rows[i].path, '.') + 1;
		const char *star = strchr(cfg_rows[i].path, '*');

		if (strcmp(rleaf, leaf) != 0 || is_deeper_twin(cfg_rows[i].path, path))
			continue;
		best = 0;
		buf_reset(&found);
		if (star == NULL) {
			(void)buf_append_str(&found, cfg_rows[i].path);
		} else {
			(void)buf_append(&found, cfg_rows[i].path, (size_t)(star - cfg_rows[i].path));
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
 * *base_out says which named section it is). Returns 0 for
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
	for (size_t i = 0; i < cfg_nrows; i++) {
		const char *p = cfg_rows[i].path, *x = path;
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
		*base_out = cfg_rows[i].base;
		if (*p == '\0') {
			*row_out = &cfg_rows[i];
			return 1;
		}
		return 1;	/* a section: rows that start with path */
	}
	return 0;
}

/* ---- reading values ---- */

int
cfg_is_scalar(const struct ucl_node *n)
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
		return cfg_key_error(l, n, path, "%s", type_hint(r->type));
	if (n->is_negative)
		return cfg_key_error(l, n, path, "must not be negative");
	v = n->num;
	switch (r->type) {
	case KT_COUNT:
		if (n->unit == UCL_UNIT_BYTES || n->unit == UCL_UNIT_TIME)
			return cfg_key_error(l, n, path, "expected a number, not a %s",
			    n->unit == UCL_UNIT_BYTES ? "size" : "duration");
		break;
	case KT_SIZE:
		if (n->unit == UCL_UNIT_TIME)
			return cfg_key_error(l, n, path, "expected a size, not a duration");
		break;
	default:
		if (n->unit == UCL_UNIT_MULT && ascii_tolower((uint8_t)n->str[n->len - 1]) == 'm')
			return cfg_key_error(l, n, path, "%s ('m' means a million; minutes are 'min')",
			    type_hint(r->type));
		if (n->unit == UCL_UNIT_MULT || n->unit == UCL_UNIT_BYTES)
			return cfg_key_error(l, n, path, "%s", type_hint(r->type));
		if (n->unit == UCL_UNIT_NONE) {
			/* a plain number is seconds, as libucl reads it */
			if (v > UINT64_MAX / SEC)
				return cfg_key_error(l, n, path, "number too large");
			v *= SEC;
		}
		break;
	}
	if (v < r->min)
		return cfg_key_error(l, n, path, "must be at least %s%s", format_bound(r, r->min, a),
		    r->why ? r->why : "");
	if (v > r->max)
		return cfg_key_error(l, n, path, "must be at most %s%s", format_bound(r, r->max, a),
		    r->why ? r->why : "");
	if (r->type == KT_DURATION && v % r->scale_ms != 0)
		return cfg_key_error(l, n, path, "must be a whole number of seconds");
	*out = r->type == KT_DURATION ? v / r->scale_ms : v;
	return 0;
}

void
cfg_store_number(void *base, const struct key_row *r, uint64_t v)
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

void
cfg_store_string(void *base, const struct key_row *r, const char *s)
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

	if (!cfg_is_scalar(n))
		return cfg_key_error(l, n, path, "expected a string");
	if (r->type == KT_PATH && n->len == 0)
		return cfg_key_error(l, n, path, "must not be empty");
	if (r->check != NULL && !r->check(n->str))
		return cfg_key_error(l, n, path, r->check_msg, cfg_shorten(n->str, shown));
	return 0;
}

/*
 * A boolean: 1 or 0, or -1. The parser makes the bare words true, yes, on,
 * false, no, off booleans; the same words in quotes are taken too, since
 * "yes" in quotes is no less clear, and refusing it only puzzles.
 */
static int
bool_of(const struct ucl_node *n)
{
	static const char *const yes[] = { "true", "yes", "on" };
	static const char *const no[] = { "false", "no", "off" };

	if (n->type == UCL_BOOLEAN)
		return n->boolean;
	if (n->type != UCL_STRING)
		return -1;
	for (size_t k = 0; k < NELEM(yes); k++) {
		if (slice_caseeq(slice_str(n->str), yes[k]))
			return 1;
		if (slice_caseeq(slice_str(n->str), no[k]))
			return 0;
	}
	return -1;
}

/* The named section being read, if any: a listener (SMTP or HTTP), a certificate or a DNSBL. */
struct section {
	struct config_listener *lis;
	struct config_cert *cert;
	struct config_dnsbl *dnsbl;
	struct config_webhook *webhook;
	struct config_milter *milter;
};

/*
 * Another row with r's place that the file has set already: a key that
 * moved keeps its older name working (server.max_sessions_per_client is
 * limits.client_connections), and setting both would leave one silently
 * ignored.
 */
static const struct key_row *
synonym_set(const struct cfg_load *l, const struct key_row *r)
{
	for (size_t i = 0; i < cfg_nrows; i++)
		if (&cfg_rows[i] != r && cfg_rows[i].base == KB_CONFIG && cfg_rows[i].off == r->off &&
		    l->set_by[i] != NULL)
			return &cfg_rows[i];
	return NULL;
}

/* One key's value into the config, or into the named section sec. */
static int
apply_row(struct cfg_load *l, const struct key_row *r, const struct ucl_node *n,
    const char *path, const struct section *sec)
{
	void *base = r->base == KB_LISTENER || r->base == KB_HTTP_LISTENER ? (void *)sec->lis :
	    r->base == KB_CERT ? (void *)sec->cert :
	    r->base == KB_DNSBL ? (void *)sec->dnsbl :
	    r->base == KB_WEBHOOK ? (void *)sec->webhook :
	    r->base == KB_MILTER ? (void *)sec->milter : (void *)l->cfg;
	struct config_listener *lis = sec->lis;
	uint64_t v = 0;
	char level[16];

	ASSERT(base != NULL);
	cfg_sum_node(l->cfg, r, path, n);
	if (r->base == KB_CONFIG) {
		const struct key_row *other = synonym_set(l, r);

		if (other != NULL)
			return cfg_key_error(l, n, path, "also set as %s at %s:%u (two names of one "
			    "key: keep one)", other->path, l->set_by[other - cfg_rows]->file,
			    l->set_by[other - cfg_rows]->vline);
		l->set_by[r - cfg_rows] = n;
	}
	switch (r->type) {
	case KT_STRING:
	case KT_PATH:
		if (read_string(l, r, n, path) == -1)
			return -1;
		cfg_store_string(base, r, n->str);
		return 0;
	case KT_COUNT:
	case KT_SIZE:
	case KT_DURATION:
		if (read_number(l, r, n, path, &v) == -1)
			return -1;
		cfg_store_number(base, r, v);
		return 0;
	case KT_LOG_LEVEL:
		if (!cfg_is_scalar(n) || n->len >= sizeof(level))
			return cfg_key_error(l, n, path, "must be one of error, warning, info, debug");
		memcpy(level, n->str, n->len + 1);
		ascii_lower(level);
		if (log_level_parse(level, &l->cfg->log_level) == -1)
			return cfg_key_error(l, n, path, "must be one of error, warning, info, debug");
		return 0;
	case KT_DOMAINS:
	case KT_NAMES:
		return cfg_read_list(l, r, n, path);
	case KT_DELIMITER:
		if (!cfg_is_scalar(n) || n->len > 1 || (n->len == 1 && strchr("+-_=", n->str[0]) == NULL))
			return cfg_key_error(l, n, path,
			    "must be one of \"+\", \"-\", \"_\", \"=\" or \"\" (none)");
		l->cfg->recipient_delimiter = n->len ? n->str[0] : '\0';
		return 0;
	case KT_ALIASES:
		return cfg_read_aliases(l, n, path);
	case KT_MAP:
	case KT_ROUTES:
		return cfg_read_map(l, r, n, path);
	case KT_TLS: {
		enum config_tls tls;

		if (!cfg_is_scalar(n) || config_tls_parse(n->str, &tls) == -1)
			return cfg_key_error(l, n, path, "must be one of none, may, encrypt, verify");
		cfg_store_number(base, r, (uint64_t)tls);
		return 0;
	}
	case KT_CIDRS:
		if (r->base == KB_DNSBL)
			return cfg_read_cidrs(l, n, path, &sec->dnsbl->answers, &sec->dnsbl->nanswers);
		return cfg_read_cidrs(l, n, path, &l->cfg->trusted_networks,
		    &l->cfg->ntrusted_networks);
	case KT_LIST:
		return cfg_read_policy_list(l, r, n, path);
	case KT_BOOL: {
		int b = bool_of(n);

		if (b == -1)
			return cfg_key_error(l, n, path, "expected true or false (or yes/no, on/off)");
		cfg_store_number(base, r, (uint64_t)b);
		return 0;
	}
	case KT_ADDRESS:
		if (cfg_read_address(l, n, path, lis) == -1)
			return -1;
		if (r->base == KB_HTTP_LISTENER)
			l->http_addr[lis - l->cfg->http_listeners] = n;
		else
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
	for (size_t k = 0; k < cfg_nrows; k++)
		if (cfg_rows[k].base == KB_LISTENER && cfg_rows[k].store != KS_STR)
			cfg_store_number(lis, &cfg_rows[k],
			    cfg_rows[k].def / (cfg_rows[k].scale_ms ? cfg_rows[k].scale_ms : 1));
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
			else if (is_named && base == KB_DNSBL)
				rc = cfg_error(l->err, l->errsize, m->file, m->line,
				    "%s: lists have names: write dnsbl \"NAME\" { %s = ...; }",
				    buf_cstr(&path), m->key);
			else if (is_named && base == KB_WEBHOOK)
				rc = cfg_error(l->err, l->errsize, m->file, m->line,
				    "%s: webhooks have names: write webhook \"NAME\" { %s = ...; }",
				    buf_cstr(&path), m->key);
			else if (is_named && base == KB_MILTER)
				rc = cfg_error(l->err, l->errsize, m->file, m->line,
				    "%s: milters have names: write milter \"NAME\" { %s = ...; }",
				    buf_cstr(&path), m->key);
			else if (is_named)
				rc = cfg_error(l->err, l->errsize, m->file, m->line,
				    "%s: listeners have names: write listen \"NAME\" { %s = ...; }",
				    buf_cstr(&path), m->key);
			else if (strcmp(buf_cstr(&path), "listen") == 0)
				rc = cfg_key_error(l, m, "listen", "expected a section such as "
				    "listen \"mx\" { address = \"127.0.0.1:25\"; }");
			else
				rc = cfg_key_error(l, m, buf_cstr(&path), "expected a section { ... }");
		} else if (is_named && base == KB_CERT) {
			struct section inner = { .cert = cert_new(l, m) };

			rc = walk(l, m, buf_cstr(&path), &inner);
		} else if (is_named && base == KB_DNSBL) {
			struct section inner = { .dnsbl = cfg_dnsbl_new(l, m) };

			rc = walk(l, m, buf_cstr(&path), &inner);
		} else if (is_named && base == KB_WEBHOOK) {
			struct section inner = { .webhook = cfg_webhook_new(l, m) };

			rc = walk(l, m, buf_cstr(&path), &inner);
		} else if (is_named && base == KB_MILTER) {
			struct section inner = { .milter = cfg_milter_new(l, m) };

			rc = walk(l, m, buf_cstr(&path), &inner);
		} else if (is_named) {
			struct section inner = { .lis = base == KB_HTTP_LISTENER ?
			    cfg_http_listener_new(l, m) : listener_new(l, m) };

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
	free(l->dnsbl_nodes);
	free(l->webhook_nodes);
	free(l->milter_nodes);
	free(l->http_nodes);
	free(l->http_addr);
	free(l->user_nodes);
	memset(l, 0, sizeof(*l));
}

