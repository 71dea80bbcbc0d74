/*
 * key_lists.c - the values made of several items: lists of names and
 * domains (each checked, repeats refused), aliases, maps, networks, and a
 * listener's address.
 */
#include "config/keys_int.h"


#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smtp/smtp.h"
#include "util/ascii.h"
#include "util/buf.h"
#include "util/xalloc.h"

/* The elements of a list key: an array of scalars, or one scalar as a list of one. */
static int
list_items(struct cfg_load *l, const struct ucl_node *n, const char *path, const char *what,
    const struct ucl_node **one, const struct ucl_node *const **items_out, size_t *nitems_out)
{
	if (cfg_is_scalar(n)) {
		one[0] = n;
		*items_out = one;
		*nitems_out = 1;
		return 0;
	}
	if (n->type != UCL_ARRAY)
		return cfg_key_error(l, n, path, "expected a list of %s", what);
	for (size_t i = 0; i < n->nkids; i++)
		if (!cfg_is_scalar(n->kids[i]))
			return cfg_key_error(l, n->kids[i], path, "expected a list of %s", what);
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
	return cfg_key_error(l, items[best], path, "'%s' is listed twice (first at line %u)",
	    cfg_shorten(names[best], shown), items[first]->vline);
}

/* KT_DOMAINS and KT_NAMES: a list into a char ** and its count (the next field). */
int
cfg_read_list(struct cfg_load *l, const struct key_row *r, const struct ucl_node *n,
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
			return cfg_key_error(l, items[i], path, "'%s' is not a domain name",
			    cfg_shorten(s, shown));
		if (!is_domains && !cfg_is_local_name(s))
			return cfg_key_error(l, items[i], path, "'%s' is not a valid user name "
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
int
cfg_read_aliases(struct cfg_load *l, const struct ucl_node *n, const char *path)
{
	struct config *c = l->cfg;
	struct buf sub;
	char **lower;
	size_t first = 0, repeat;
	int rc = -1;

	if (n->type != UCL_OBJECT)
		return cfg_key_error(l, n, path,
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
			cfg_key_error(l, a, buf_cstr(&sub), "'%s' is not a valid alias name (a-z, 0-9, "
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
					cfg_key_error(l, items[k], buf_cstr(&sub), "empty target");
					goto out;
				}
				if ((why = read_alias_target(&al->targets[al->ntargets - 1])) != NULL) {
					cfg_key_error(l, items[k], buf_cstr(&sub), "'%s' %s",
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
			cfg_key_error(l, a, buf_cstr(&sub), "no targets");
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
 * KT_MAP, KT_ROUTES: ["DOMAIN VALUE", ...]. Domains are lowercased and may
 * appear once; r->check judges each VALUE.
 */
int
cfg_read_map(struct cfg_load *l, const struct key_row *r, const struct ucl_node *n,
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
			return cfg_key_error(l, items[i], path, "'%s': expected \"DOMAIN VALUE\"",
			    cfg_shorten(s, shown));
		e->key = xstrndup(s, (size_t)(sp - s));
		ascii_lower(e->key);
		while (*sp == ' ')
			sp++;
		e->value = xstrdup(sp);
		e->line = items[i]->vline;
		map->n++;
		/* outbound.routes: "*" routes every domain that no other entry names */
		if (!cfg_is_domain(e->key) && !(r->type == KT_ROUTES && strcmp(e->key, "*") == 0))
			return cfg_key_error(l, items[i], path, "'%s' is not a domain name%s",
			    cfg_shorten(e->key, shown), r->type == KT_ROUTES ? " or *" : "");
		if (!r->check(e->value))
			return cfg_key_error(l, items[i], path, r->check_msg, cfg_shorten(e->value, shown));
		for (size_t k = 0; k < i; k++)
			if (strcmp(map->v[k].key, e->key) == 0)
				return cfg_key_error(l, items[i], path, "'%s' is listed twice (first at "
				    "line %u)", cfg_shorten(e->key, shown), map->v[k].line);
	}
	return 0;
}

/*
 * relay.trusted_networks, policy.dnsbl.NAME.answers: numeric networks only
 * (nothing to resolve at start). A network with host bits set is refused
 * rather than masked: it is most likely a typo for a host or a different
 * network.
 */
int
cfg_read_cidrs(struct cfg_load *l, const struct ucl_node *n, const char *path,
    struct cidr **v_out, size_t *n_out)
{
	const struct ucl_node *const *items, *one[1];
	size_t nitems;
	char shown[64], canon[64];

	if (list_items(l, n, path, "networks such as \"192.0.2.0/24\"", one, &items, &nitems) == -1)
		return -1;
	free(*v_out);
	*n_out = 0;
	*v_out = xcalloc(nitems ? nitems : 1, sizeof(**v_out));
	for (size_t i = 0; i < nitems; i++) {
		struct cidr *net = &(*v_out)[*n_out];

		switch (cidr_parse(items[i]->str, net)) {
		case CIDR_OK:
			break;
		case CIDR_HOST_BITS:
			if (cidr_format(net, canon, sizeof(canon)) == -1)
				memcpy(canon, "?", 2);
			return cfg_key_error(l, items[i], path, "'%s' has bits set after the prefix "
			    "(the network is %s)", cfg_shorten(items[i]->str, shown), canon);
		default:
			return cfg_key_error(l, items[i], path, "'%s' is not a network in CIDR notation, "
			    "as \"192.0.2.0/24\" or \"2001:db8::/32\"", cfg_shorten(items[i]->str, shown));
		}
		(*n_out)++;
	}
	return 0;
}

/*
 * policy.allow_clients ... block_recipients: each entry checked by
 * config_entry_parse(), and kept as written, with its place, for the log
 * line of a match. A repeat is allowed (the first one is named in logs):
 * lists are often merged from several sources.
 */
int
cfg_read_policy_list(struct cfg_load *l, const struct key_row *r, const struct ucl_node *n,
    const char *path)
{
	const size_t id = (r->off - offsetof(struct config, lists)) / sizeof(struct config_list);
	struct config_list *cl = &l->cfg->lists[id];
	const struct ucl_node *const *items, *one[1];
	struct config_entry e;
	size_t nitems;
	const char *why;
	char shown[64];

	ASSERT(id < CONFIG_LIST_N);
	if (list_items(l, n, path, "entries", one, &items, &nitems) == -1)
		return -1;
	cl->v = xcalloc(nitems ? nitems : 1, sizeof(*cl->v));
	for (size_t i = 0; i < nitems; i++) {
		struct config_list_entry *ce = &cl->v[cl->n];

		why = config_entry_parse(config_list_kind((enum config_list_id)id),
		    (const uint8_t *)items[i]->str, items[i]->len, &e);
		if (why != NULL)
			return cfg_key_error(l, items[i], path, "'%s' %s",
			    cfg_shorten(items[i]->str, shown), why);
		ce->text = xstrdup(items[i]->str);
		ce->file = xstrdup(items[i]->file);
		ce->line = items[i]->vline;
		cl->n++;
	}
	return 0;
}

/* "127.0.0.1:25" or "[::1]:25": numeric only, so start-up needs no DNS. */
int
cfg_read_address(struct cfg_load *l, const struct ucl_node *n, const char *path,
    struct config_listener *lis)
{
	const char *s = n->str, *host, *port;
	size_t hostlen;
	char hostbuf[INET6_ADDRSTRLEN + 1], shown[64];
	uint64_t p;

	if (!cfg_is_scalar(n))
		return cfg_key_error(l, n, path, "expected a string such as \"127.0.0.1:25\"");
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
			return cfg_key_error(l, n, path, "'%s': write an IPv6 address in brackets, "
			    "as \"[::1]:25\"", cfg_shorten(s, shown));
	}
	if (hostlen == 0 || hostlen >= sizeof(hostbuf))
		goto bad;
	memcpy(hostbuf, host, hostlen);
	hostbuf[hostlen] = '\0';
	if (ascii_parse_u64(slice_str(port), &p) == -1 || p < 1 || p > 65535)
		return cfg_key_error(l, n, path, "'%s': the port must be a number from 1 to 65535",
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
	return cfg_key_error(l, n, path, "'%s' is not a numeric \"IPv4:port\" or \"[IPv6]:port\"",
	    cfg_shorten(s, shown));
}

