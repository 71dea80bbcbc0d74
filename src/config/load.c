/*
 * load.c - config_load(): parse the file (ucl.c), read it against the key
 * table (keys.c), then the checks that concern several keys at once:
 * listeners (listeners.c), the default hostname, aliases against users and
 * local domains (with their nesting and size), postmaster (RFC 5321
 * 4.5.1), the retry interval, the outbound keys (outbound.c) and the
 * relative paths. Nothing is half-applied: the caller gets a whole
 * checked config or one error.
 */
#include "config/config.h"

#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/ucl_int.h"
#include "smtp/smtp.h"
#include "util/ascii.h"
#include "util/buf.h"
#include "util/xalloc.h"

/* ---- server ---- */

/* Whether the user exists is the machine's to say: sterna check asks it, naming this place. */
static int
server_user_place(struct cfg_load *l)
{
	const struct ucl_node *n = l->set_by[cfg_key_row(CFG_KEY_SERVER_USER)];

	if (n != NULL) {
		l->cfg->user_at.file = xstrdup(n->file);
		l->cfg->user_at.line = n->vline;
	}
	return 0;
}


/* Unset, the hostname is the machine's, which must then be fully qualified. */
static int
default_hostname(struct cfg_load *l)
{
	const struct ucl_node *root = l->doc->root, *sn = ucl_get(root, "server");
	char name[256], shown[64];

	if (l->cfg->hostname != NULL)
		return 0;
	if (gethostname(name, sizeof(name)) == -1) {
		name[0] = '\0';
	} else {
		name[sizeof(name) - 1] = '\0';
	}
	/* RFC 5321 4.1.1.1: the greeting and EHLO name the host by its FQDN */
	if (!cfg_is_domain(name) || strchr(name, '.') == NULL)
		return cfg_error(l->err, l->errsize, sn ? sn->file : root->file, sn ? sn->line : 1,
		    "server.hostname: not set, and this machine's name '%s' is not a fully "
		    "qualified domain name; set server.hostname", cfg_shorten(name, shown));
	l->cfg->hostname = xstrdup(name);
	return 0;
}

/* ---- aliases ---- */

struct name_ref {
	const char *name;
	size_t pos;
};

static int
cmp_name_ref(const void *a, const void *b)
{
	return strcmp(((const struct name_ref *)a)->name, ((const struct name_ref *)b)->name);
}

/* The position of name in the sorted v (n of them), or SIZE_MAX. */
static size_t
find_name(const struct name_ref *v, size_t n, const char *name)
{
	struct name_ref key = { name, 0 };
	const struct name_ref *hit;

	if (n == 0)
		return SIZE_MAX;
	hit = bsearch(&key, v, n, sizeof(*v), cmp_name_ref);
	return hit ? hit->pos : SIZE_MAX;
}

static struct name_ref *
sorted_names(char **names, size_t n)
{
	struct name_ref *v = xmalloc((n ? n : 1) * sizeof(*v));

	for (size_t i = 0; i < n; i++)
		v[i] = (struct name_ref){ names[i], i };
	qsort(v, n, sizeof(*v), cmp_name_ref);
	return v;
}

/*
 * The alias graph must be free of cycles, or delivery would expand an
 * address forever. Depth-first with an explicit stack: a hostile file may
 * chain a hundred thousand aliases, too deep for recursion.
 */
static int
check_alias_loops(struct cfg_load *l, size_t **edges, const size_t *nedges)
{
	const struct config *c = l->cfg;
	size_t n = c->naliases, *stack, *next;
	uint8_t *color;	/* 0 unseen, 1 on the stack, 2 done */
	int rc = 0;

	stack = xmalloc((n ? n : 1) * sizeof(*stack));
	next = xcalloc(n ? n : 1, sizeof(*next));
	color = xcalloc(n ? n : 1, 1);
	for (size_t start = 0; start < n && rc == 0; start++) {
		size_t depth = 0;

		if (color[start] != 0)
			continue;
		stack[depth++] = start;
		color[start] = 1;
		while (depth > 0 && rc == 0) {
			size_t a = stack[depth - 1];

			if (next[a] == nedges[a]) {
				color[a] = 2;
				depth--;
				continue;
			}
			size_t b = edges[a][next[a]++];

			if (color[b] == 0) {
				color[b] = 1;
				stack[depth++] = b;
			} else if (color[b] == 1) {
				struct buf msg;
				size_t from = depth;

				while (stack[from - 1] != b)
					from--;
				buf_init(&msg, 4096);
				for (size_t i = from - 1; i < depth; i++) {
					(void)buf_append_str(&msg, c->aliases[stack[i]].name);
					(void)buf_append_str(&msg, " -> ");
				}
				(void)buf_append_str(&msg, c->aliases[b].name);
				rc = cfg_error(l->err, l->errsize, l->alias_src[b].node->file,
				    l->alias_src[b].node->line, "alias loop: %s", buf_cstr(&msg));
				buf_clear(&msg);
			}
		}
	}
	free(stack);
	free(next);
	free(color);
	return rc;
}

/*
 * What delivery does with each alias, once the graph is known to be free
 * of loops: local.c expands CONFIG_ALIAS_DEPTH_MAX aliases deep at most
 * and visits a target once for each way it is reached. So an alias nested
 * deeper would lose targets without a word, and one that reaches more than
 * local.max_alias_targets targets (a diamond repeated a few times reaches
 * millions) would cost every message sent to it that much: both are
 * refused here, for the first such alias in file order. Post-order with
 * an explicit stack, as in check_alias_loops().
 */
static int
check_alias_sizes(struct cfg_load *l, size_t **edges, const size_t *nedges)
{
	const struct config *c = l->cfg;
	const uint64_t cap = c->max_alias_targets;
	size_t n = c->naliases, *stack, *next;
	uint64_t *count;	/* targets reached, repeats counted, at most cap + 1 */
	unsigned *levels;	/* aliases on the longest chain from here, itself included */
	uint8_t *done;
	int rc = 0;

	stack = xmalloc((n ? n : 1) * sizeof(*stack));
	next = xcalloc(n ? n : 1, sizeof(*next));
	count = xcalloc(n ? n : 1, sizeof(*count));
	levels = xcalloc(n ? n : 1, sizeof(*levels));
	done = xcalloc(n ? n : 1, 1);
	for (size_t start = 0; start < n; start++) {
		size_t depth = 0;

		if (done[start])
			continue;
		stack[depth++] = start;
		while (depth > 0) {
			size_t a = stack[depth - 1];

			if (next[a] < nedges[a]) {
				size_t b = edges[a][next[a]++];

				/* no loops: b is not on the stack, so the stack never outgrows n */
				if (!done[b])
					stack[depth++] = b;
				continue;
			}
			/* what is not an alias is one target: a user or an address forwarded to */
			count[a] = c->aliases[a].ntargets - nedges[a];
			levels[a] = 1;
			for (size_t k = 0; k < nedges[a]; k++) {
				size_t b = edges[a][k];

				count[a] += count[b];
				if (count[a] > cap)
					count[a] = cap + 1;
				if (levels[b] + 1 > levels[a])
					levels[a] = levels[b] + 1;
			}
			if (levels[a] > CONFIG_ALIAS_DEPTH_MAX)
				levels[a] = CONFIG_ALIAS_DEPTH_MAX + 1;
			done[a] = 1;
			depth--;
		}
	}
	for (size_t i = 0; i < n && rc == 0; i++) {
		const struct ucl_node *node = l->alias_src[i].node;

		if (levels[i] > CONFIG_ALIAS_DEPTH_MAX)
			rc = cfg_error(l->err, l->errsize, node->file, node->line, "local.aliases.%s: "
			    "aliases nested more than %d deep", node->key, CONFIG_ALIAS_DEPTH_MAX);
		else if (count[i] > cap)
			rc = cfg_error(l->err, l->errsize, node->file, node->line, "local.aliases.%s: "
			    "expands into more than %u targets (local.max_alias_targets; a target "
			    "reached twice counts twice)", node->key, c->max_alias_targets);
	}
	free(stack);
	free(next);
	free(count);
	free(levels);
	free(done);
	return rc;
}

/*
 * The alias or user an alias target names (a position in aliases, or
 * SIZE_MAX for a user), as local.c finds it: a name as it is; an address
 * in a local domain as RCPT TO would, by its local part lowercased, then
 * without its +tag. Returns 0, 1 for an address in another domain
 * (forwarded to; no lookup), or -1 when nothing here has that name.
 */
static int
resolve_target(const struct config *c, const struct name_ref *users,
    const struct name_ref *aliases, const char *t, size_t *alias_out)
{
	const char *at = strrchr(t, '@');
	size_t len = at != NULL ? (size_t)(at - t) : strlen(t);
	char name[SMTP_ADDR_FMT_MAX], *delim;

	if (at != NULL && !config_is_local_domain(c, at + 1))
		return 1;
	if (len >= sizeof(name))
		return -1;
	memcpy(name, t, len);
	name[len] = '\0';
	ascii_lower(name);
	if ((*alias_out = find_name(aliases, c->naliases, name)) != SIZE_MAX ||
	    find_name(users, c->nlocal_users, name) != SIZE_MAX)
		return 0;
	/* as local_rcpt(): an address "user+tag" reaches user when user+tag is not a name */
	if (at == NULL || c->recipient_delimiter == '\0' ||
	    (delim = strchr(name, c->recipient_delimiter)) == NULL || delim == name)
		return -1;
	*delim = '\0';
	if ((*alias_out = find_name(aliases, c->naliases, name)) != SIZE_MAX ||
	    find_name(users, c->nlocal_users, name) != SIZE_MAX)
		return 0;
	return -1;
}

/*
 * Aliases may not shadow users, every target must be a user, an alias or
 * an address (one in a local domain must be a user or an alias there too),
 * no alias may lead back to itself, and none may expand too far.
 */
static int
check_aliases(struct cfg_load *l)
{
	const struct config *c = l->cfg;
	struct name_ref *users = sorted_names(c->local_users, c->nlocal_users);
	char **anames = xmalloc((c->naliases ? c->naliases : 1) * sizeof(*anames));
	struct name_ref *aliases;
	size_t **edges = xcalloc(c->naliases ? c->naliases : 1, sizeof(*edges));
	size_t *nedges = xcalloc(c->naliases ? c->naliases : 1, sizeof(*nedges));
	char shown[64];
	int rc = 0;

	for (size_t i = 0; i < c->naliases; i++)
		anames[i] = c->aliases[i].name;
	aliases = sorted_names(anames, c->naliases);
	for (size_t i = 0; i < c->naliases && rc == 0; i++) {
		const struct config_alias *a = &c->aliases[i];
		const struct cfg_alias_src *src = &l->alias_src[i];

		if (find_name(users, c->nlocal_users, a->name) != SIZE_MAX) {
			rc = cfg_error(l->err, l->errsize, src->node->file, src->node->line,
			    "local.aliases.%s: '%s' is a local user; an alias may not have a "
			    "user's name", src->node->key, a->name);
			break;
		}
		edges[i] = xmalloc((a->ntargets ? a->ntargets : 1) * sizeof(**edges));
		for (size_t k = 0; k < a->ntargets; k++) {
			size_t pos;
			int r = resolve_target(c, users, aliases, a->targets[k], &pos);

			if (r == 0 && pos != SIZE_MAX) {
				edges[i][nedges[i]++] = pos;
			} else if (r == -1) {
				rc = cfg_error(l->err, l->errsize, src->targets[k]->file,
				    src->targets[k]->vline, "local.aliases.%s: '%s' is not a local user "
				    "or alias", src->node->key, cfg_shorten(a->targets[k], shown));
				break;
			}
		}
	}
	if (rc == 0)
		rc = check_alias_loops(l, edges, nedges);
	if (rc == 0)
		rc = check_alias_sizes(l, edges, nedges);
	for (size_t i = 0; i < c->naliases; i++)
		free(edges[i]);
	free(edges);
	free(nedges);
	free(anames);
	free(aliases);
	free(users);
	return rc;
}

/* RFC 5321 4.5.1: a domain we receive mail for must accept postmaster. */
static int
check_postmaster(struct cfg_load *l)
{
	const struct config *c = l->cfg;
	const struct ucl_node *n = l->set_by[cfg_key_row(CFG_KEY_LOCAL_DOMAINS)];

	if (c->nlocal_domains == 0)
		return 0;
	for (size_t i = 0; i < c->nlocal_users; i++)
		if (strcmp(c->local_users[i], "postmaster") == 0)
			return 0;
	for (size_t i = 0; i < c->naliases; i++)
		if (strcmp(c->aliases[i].name, "postmaster") == 0)
			return 0;
	return cfg_error(l->err, l->errsize, n->file, n->line, "local.domains: 'postmaster' must be "
	    "a local user or an alias when local.domains is set (RFC 5321 4.5.1)");
}

static int
check_retry(struct cfg_load *l)
{
	const struct config *c = l->cfg;
	const struct ucl_node *nmin = l->set_by[cfg_key_row(CFG_KEY_RETRY_MIN)];
	const struct ucl_node *nmax = l->set_by[cfg_key_row(CFG_KEY_RETRY_MAX)];
	const struct ucl_node *at = nmax != NULL ? nmax : nmin;
	char a[32], b[32];

	if (c->retry_min_s <= c->retry_max_s)
		return 0;
	ASSERT(at != NULL);	/* the defaults are in order */
	return cfg_error(l->err, l->errsize, at->file, at->vline,
	    "queue.retry_min (%s) must not be greater than queue.retry_max (%s)",
	    cfg_format_ms((uint64_t)c->retry_min_s * 1000, a),
	    cfg_format_ms((uint64_t)c->retry_max_s * 1000, b));
}

/* ---- paths ---- */

/* Joins base (absolute) and rel, folding "." and ".." by the letter. */
static char *
join_path(const char *base, const char *rel)
{
	struct buf all, out;
	const char *p;
	char *ret;

	buf_init(&all, SIZE_MAX);
	buf_init(&out, SIZE_MAX);
	(void)buf_printf(&all, "%s/%s", base, rel);
	p = buf_cstr(&all);
	while (*p != '\0') {
		size_t len;

		while (*p == '/')
			p++;
		len = strcspn(p, "/");
		if (len == 0 || (len == 1 && p[0] == '.')) {
			/* nothing */
		} else if (len == 2 && p[0] == '.' && p[1] == '.') {
			while (out.len > 0 && out.data[out.len - 1] != '/')
				out.len--;
			if (out.len > 0)
				out.len--;
		} else {
			(void)buf_append_byte(&out, '/');
			(void)buf_append(&out, p, len);
		}
		p += len;
	}
	if (out.len == 0)
		(void)buf_append_byte(&out, '/');
	ret = xstrdup(buf_cstr(&out));
	buf_clear(&all);
	buf_clear(&out);
	return ret;
}

/*
 * A relative path is taken from the directory of the file that holds it
 * (so that examples/sterna.conf can say ../var/spool), whatever the
 * current directory of the daemon is. n is where the path was set.
 */
static int
absolute_at(struct cfg_load *l, const struct ucl_node *n, char **pathp, const char *key)
{
	const char *slash;
	char *dir, *real;

	if (n == NULL || (*pathp)[0] == '/')
		return 0;
	slash = strrchr(n->file, '/');
	if (slash == NULL)
		dir = xstrdup(".");
	else if (slash == n->file)
		dir = xstrdup("/");
	else
		dir = xstrndup(n->file, (size_t)(slash - n->file));
	real = realpath(dir, NULL);
	if (real == NULL) {
		int e = errno;

		free(dir);
		return cfg_error(l->err, l->errsize, n->file, n->vline,
		    "%s: cannot find the directory of this file: %s", key, strerror(e));
	}
	free(dir);
	dir = join_path(real, *pathp);
	free(real);
	free(*pathp);
	*pathp = dir;
	return 0;
}

int
cfg_absolute_at(struct cfg_load *l, const struct ucl_node *n, char **pathp, const char *key)
{
	return absolute_at(l, n, pathp, key);
}

static int
make_absolute(struct cfg_load *l, enum cfg_key_id id, char **pathp, const char *key)
{
	return absolute_at(l, l->set_by[cfg_key_row(id)], pathp, key);
}

/* ---- tls ---- */

/*
 * Each certificate names both its files; their places are kept for the
 * messages of src/tls, which reads them. Whether the files can be read is
 * its to say: at start, at SIGHUP and in sterna check.
 */
static int
check_certs(struct cfg_load *l)
{
	struct config *c = l->cfg;

	for (size_t i = 0; i < c->ncerts; i++) {
		struct config_cert *cert = &c->certs[i];
		const struct ucl_node *sec = l->cert_nodes[i];
		const struct ucl_node *chain = ucl_get(sec, "chain"), *key = ucl_get(sec, "key");
		char what[128], shown[64];

		if (chain == NULL || key == NULL)
			return cfg_error(l->err, l->errsize, sec->file, sec->line,
			    "tls.cert.%s.%s: required: the %s file (PEM)", cert->name,
			    chain == NULL ? "chain" : "key",
			    chain == NULL ? "certificate chain" : "private key");
		cert->chain_file = xstrdup(chain->file);
		cert->chain_line = chain->vline;
		cert->key_file = xstrdup(key->file);
		cert->key_line = key->vline;
		/* a shortened name always fits: the message cannot be cut */
		(void)snprintf(what, sizeof(what), "tls.cert.%s.chain", cfg_shorten(cert->name, shown));
		if (absolute_at(l, chain, &cert->chain, what) == -1)
			return -1;
		(void)snprintf(what, sizeof(what), "tls.cert.%s.key", cfg_shorten(cert->name, shown));
		if (absolute_at(l, key, &cert->key, what) == -1)
			return -1;
	}
	/* RFC 8314 3.3: implicit TLS cannot start without a certificate to offer */
	for (size_t i = 0; i < c->nlisteners; i++) {
		const struct ucl_node *n = ucl_get(l->listen_nodes[i], "implicit_tls");

		if (c->listeners[i].is_implicit_tls && c->ncerts == 0)
			return cfg_error(l->err, l->errsize, n->file, n->vline,
			    "listen.%s.implicit_tls: needs a certificate: add "
			    "tls { cert \"NAME\" { chain = \"FILE\"; key = \"FILE\"; } }",
			    c->listeners[i].name);
	}
	return 0;
}

/* ---- entry points ---- */

/* is_submit: for config_load_submit(), which leaves the users file unread */
static struct config *
load_doc(const struct ucl_doc *doc, const char *path, int is_submit, char *err, size_t errsize)
{
	struct cfg_load l = { 0 };
	struct config *c = xcalloc(1, sizeof(*c));
	int rc;

	atomic_init(&c->refs, 1);
	c->path = xstrdup(path);
	c->key_sums = xcalloc(cfg_nkeys(), sizeof(*c->key_sums));
	cfg_set_defaults(c);
	l.cfg = c;
	l.doc = doc;
	l.err = err;
	l.errsize = errsize;
	l.set_by = xcalloc(cfg_nkeys(), sizeof(*l.set_by));
	rc = cfg_apply(&l);
	if (rc == 0)
		rc = cfg_check_listeners(&l);
	if (rc == 0)
		rc = server_user_place(&l);
	if (rc == 0)
		rc = default_hostname(&l);
	if (rc == 0)
		rc = check_aliases(&l);
	if (rc == 0)
		rc = check_postmaster(&l);
	if (rc == 0)
		rc = check_retry(&l);
	if (rc == 0)
		rc = check_certs(&l);
	if (rc == 0)
		rc = cfg_check_dnsbls(&l);
	if (rc == 0)
		rc = cfg_check_webhooks(&l);
	if (rc == 0)
		rc = cfg_check_milters(&l);
	if (rc == 0)
		rc = cfg_check_outbound(&l);
	if (rc == 0)
		rc = cfg_check_http(&l);
	if (rc == 0)
		rc = make_absolute(&l, CFG_KEY_SPOOL_DIR, &c->spool_dir, "spool.dir");
	if (rc == 0)
		rc = make_absolute(&l, CFG_KEY_MAILBOX_ROOT, &c->mailbox_root, "local.mailbox_root");
	if (rc == 0)
		rc = make_absolute(&l, CFG_KEY_USERS_FILE, &c->users_file, "auth.users_file");
	if (rc == 0)
		rc = make_absolute(&l, CFG_KEY_PICKUP_DIR, &c->pickup_dir, "pickup.dir");
	if (rc == 0)
		rc = cfg_policy_list_paths(&l);
	if (rc == 0 && c->users_file[0] != '\0' && !is_submit) {
		const struct ucl_node *un = l.set_by[cfg_key_row(CFG_KEY_USERS_FILE)];

		rc = cfg_users_load(c, c->users_file, un->file, un->vline, err, errsize);
	}
	/* SECURITY.md, admission: refuse MAIL below 1.5 x the largest message */
	if (rc == 0 && c->min_free_bytes == 0)
		c->min_free_bytes = c->max_message_bytes + c->max_message_bytes / 2;
	cfg_load_clear(&l);
	if (rc == -1)
		config_free(&c);
	return c;
}

struct config *
config_load_doc(const struct ucl_doc *doc, const char *path, char *err, size_t errsize)
{
	return load_doc(doc, path, 0, err, errsize);
}

static struct config *
load_file(const char *path, int is_submit, char *err, size_t errsize)
{
	struct ucl_doc *doc = ucl_parse_file(path, err, errsize);
	struct config *c;

	if (doc == NULL)
		return NULL;
	c = load_doc(doc, path, is_submit, err, errsize);
	ucl_doc_free(&doc);
	return c;
}

struct config *
config_load(const char *path, char *err, size_t errsize)
{
	return load_file(path, 0, err, errsize);
}

struct config *
config_load_submit(const char *path, char *err, size_t errsize)
{
	return load_file(path, 1, err, errsize);
}

static void
free_strv(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void
free_map(struct config_map *m)
{
	for (size_t i = 0; i < m->n; i++) {
		free(m->v[i].key);
		free(m->v[i].value);
	}
	free(m->v);
}

void
config_free(struct config **cp)
{
	struct config *c = *cp;

	if (c == NULL)
		return;
	*cp = NULL;
	/* the last reference frees it; the others go on reading a whole generation */
	if (atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) != 1)
		return;
	if (c->derived_free != NULL)
		c->derived_free(c->derived);
	free(c->key_sums);
	free(c->path);
	free(c->hostname);
	free(c->user);
	free(c->user_at.file);
	free(c->log_format);
	free(c->log_output);
	free(c->log_syslog_facility);
	free(c->log_syslog_socket);
	for (size_t i = 0; i < c->nlisteners; i++) {
		free(c->listeners[i].name);
		free(c->listeners[i].address);
		free(c->listeners[i].milters);
	}
	free(c->listeners);
	for (size_t i = 0; i < c->ncerts; i++) {
		free(c->certs[i].name);
		free(c->certs[i].chain);
		free(c->certs[i].key);
		free(c->certs[i].chain_file);
		free(c->certs[i].key_file);
	}
	free(c->certs);
	free(c->spool_dir);
	free_strv(c->local_domains, c->nlocal_domains);
	free_strv(c->local_users, c->nlocal_users);
	for (size_t i = 0; i < c->naliases; i++) {
		free(c->aliases[i].name);
		free_strv(c->aliases[i].targets, c->aliases[i].ntargets);
	}
	free(c->aliases);
	free(c->mailbox_root);
	free(c->null_sender_to);
	free(c->dns_resolver);
	free(c->out_helo_name);
	free(c->out_source_address);
	free_map(&c->out_sources);
	free_map(&c->out_routes);
	free_map(&c->lmtp_routes);
	free(c->lmtp);
	free(c->smarthost);
	free(c->smarthost_user);
	free(c->smarthost_password);
	free(c->out_tls_ca_file);
	free(c->out_tls_ca_file_at.file);
	free(c->trusted_networks);
	cfg_dnsbls_free(c);
	cfg_webhooks_free(c);
	cfg_milters_free(c);
	free(c->suppress_on);
	free_map(&c->dkim_keys);
	free(c->dkim_key_dir);
	free(c->dkim_sign);
	cfg_http_free(c);
	free(c->users_file);
	free(c->pickup_dir);
	free(c->maildrop_group);
	free(c->mailbox_group);
	cfg_policy_lists_free(c);
	cfg_users_free(c);
	free(c);
}

struct config *
config_ref(const struct config *c)
{
	struct config *m = (struct config *)c;	/* the count is not the configuration */
	unsigned was = atomic_fetch_add_explicit(&m->refs, 1, memory_order_relaxed);

	ASSERT(was > 0);	/* only a holder makes another */
	return m;
}

void
config_derive(struct config *c, void *derived, void (*free_fn)(void *derived))
{
	ASSERT(c->derived == NULL);
	c->derived = derived;
	c->derived_free = free_fn;
}

void *
config_derived(const struct config *c)
{
	return c->derived;
}

int
config_is_local_domain(const struct config *c, const char *domain)
{
	for (size_t i = 0; i < c->nlocal_domains; i++)
		if (strcmp(c->local_domains[i], domain) == 0)
			return 1;
	return 0;
}

const char *
config_default_domain(const struct config *c)
{
	return c->nlocal_domains > 0 ? c->local_domains[0] : c->hostname;
}
