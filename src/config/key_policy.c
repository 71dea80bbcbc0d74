/*
 * key_policy.c - the DNS blocklists of policy { dnsbl "NAME" { } }: a new
 * section with its defaults, and the checks that need a whole section
 * (a zone is required) or all of them (how many). The keys themselves are
 * rows of keys.c; what the lists do is src/policy/dnsbl.c's.
 */
#include "config/keys_int.h"

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "util/ascii.h"
#include "util/xalloc.h"

/* An IPv6 query name is 32 nibbles and their dots (64 bytes) before the zone. */
#define ZONE_MAX (253 - 64)
#define NAME_MAX_LEN 32

int
cfg_check_dnsbl_zone(const char *s)
{
	return strlen(s) <= ZONE_MAX && cfg_is_domain(s);
}

struct config_dnsbl *
cfg_dnsbl_new(struct cfg_load *l, const struct ucl_node *n)
{
	struct config *c = l->cfg;
	struct config_dnsbl *b;
	size_t i = c->ndnsbls++;

	if (c->ndnsbls > l->dnsbl_cap) {
		l->dnsbl_cap = l->dnsbl_cap ? l->dnsbl_cap * 2 : 4;
		c->dnsbls = xrealloc(c->dnsbls, l->dnsbl_cap * sizeof(*c->dnsbls));
		l->dnsbl_nodes = xrealloc(l->dnsbl_nodes, l->dnsbl_cap * sizeof(*l->dnsbl_nodes));
	}
	b = &c->dnsbls[i];
	memset(b, 0, sizeof(*b));
	b->name = xstrdup(n->key);
	b->line = n->line;
	l->dnsbl_nodes[i] = n;
	for (size_t k = 0; k < cfg_nrows; k++)
		if (cfg_rows[k].base == KB_DNSBL && cfg_rows[k].store == KS_UNSIGNED)
			cfg_store_number(b, &cfg_rows[k], cfg_rows[k].def);
	return b;
}

/* The answers of list i: IPv4 networks only, since a list answers with A records. */
static int
check_answers(struct cfg_load *l, size_t i, const char *path)
{
	const struct config_dnsbl *b = &l->cfg->dnsbls[i];
	const struct ucl_node *n = ucl_get(l->dnsbl_nodes[i], "answers");
	char shown[64];

	if (n == NULL)
		return 0;
	if (b->nanswers == 0)
		return cfg_key_error(l, n, path, "expected at least one network; leave answers out "
		    "for the default (127.0.0.0/8 but 127.255.255.0/24)");
	for (size_t k = 0; k < b->nanswers; k++) {
		/* the networks were read in the order written, one per item */
		const struct ucl_node *item = n->type == UCL_ARRAY ? n->kids[k] : n;

		if (b->answers[k].family != AF_INET)
			return cfg_key_error(l, item, path, "'%s' is not an IPv4 network: lists answer "
			    "with A records", cfg_shorten(item->str, shown));
	}
	return 0;
}

int
cfg_check_dnsbls(struct cfg_load *l)
{
	struct config *c = l->cfg;
	char path[128], shown[64];

	for (size_t i = 0; i < c->ndnsbls; i++) {
		struct config_dnsbl *b = &c->dnsbls[i];
		const struct ucl_node *sec = l->dnsbl_nodes[i];

		(void)snprintf(path, sizeof(path), "policy.dnsbl.%s", cfg_shorten(b->name, shown));
		if (i == CONFIG_DNSBL_MAX)
			return cfg_error(l->err, l->errsize, sec->file, sec->line, "%s: at most %d "
			    "lists (each is one more DNS query per connection)", path, CONFIG_DNSBL_MAX);
		/* the parser allows letters, digits, '_' and '-'; rules ("dnsbl:NAME") want it short */
		if (strlen(b->name) > NAME_MAX_LEN)
			return cfg_error(l->err, l->errsize, sec->file, sec->line, "%s: a list's name is "
			    "at most %d characters", path, NAME_MAX_LEN);
		if (b->zone == NULL)
			return cfg_error(l->err, l->errsize, sec->file, sec->line, "%s.zone: required, "
			    "as zone = \"zen.spamhaus.org\"", path);
		ascii_lower(b->zone);
		(void)snprintf(path, sizeof(path), "policy.dnsbl.%s.answers",
		    cfg_shorten(b->name, shown));
		if (check_answers(l, i, path) == -1)
			return -1;
	}
	return 0;
}

void
cfg_dnsbls_free(struct config *c)
{
	for (size_t i = 0; i < c->ndnsbls; i++) {
		free(c->dnsbls[i].name);
		free(c->dnsbls[i].zone);
		free(c->dnsbls[i].answers);
	}
	free(c->dnsbls);
	c->dnsbls = NULL;
	c->ndnsbls = 0;
}
