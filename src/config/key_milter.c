/*
 * key_milter.c - milter "NAME" { address; timeouts; default_action } and
 * the lists that name milters (listen.NAME.milters, server.local_milters):
 * each section's values, the section as a whole once read, and the names
 * of every list resolved to sections, in order. A milter is only ever
 * reached at the address written here: a numeric address or a socket
 * path, never a name looked up or an address a filter gives.
 */
#include "config/keys_int.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/ascii.h"
#include "util/xalloc.h"

#define NAME_MAX_LEN 32

int
config_milter_address_parse(const char *s, struct config_lmtp_hop *out)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)(void *)&out->sa;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)(void *)&out->sa;
	const char *colon;
	char host[INET6_ADDRSTRLEN + 2];
	size_t hlen;
	uint64_t port;

	/* a socket is read as an LMTP next hop's: one reading of both */
	if (strncmp(s, "unix:", 5) == 0)
		return config_lmtp_hop_parse(s, out);
	memset(out, 0, sizeof(*out));
	/* Postfix's and Sendmail's form: inet:ADDRESS:PORT, an IPv6 address in brackets */
	if (strncmp(s, "inet:", 5) != 0 || (colon = strrchr(s + 5, ':')) == NULL)
		return -1;
	hlen = (size_t)(colon - (s + 5));
	if (hlen >= sizeof(host) || ascii_parse_u64(slice_str(colon + 1), &port) == -1 ||
	    port == 0 || port > 65535)
		return -1;
	memcpy(host, s + 5, hlen);
	host[hlen] = '\0';
	if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		out->sa_len = sizeof(*s4);
	} else if (hlen > 2 && host[0] == '[' && host[hlen - 1] == ']') {
		host[hlen - 1] = '\0';
		if (inet_pton(AF_INET6, host + 1, &s6->sin6_addr) != 1)
			return -1;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		out->sa_len = sizeof(*s6);
	} else {
		return -1;
	}
	out->port = (unsigned)port;
	return 0;
}

int
cfg_check_milter_address(const char *s)
{
	struct config_lmtp_hop hop;

	return config_milter_address_parse(s, &hop) == 0;
}

int
cfg_check_milter_action(const char *s)
{
	return strcmp(s, "tempfail") == 0 || strcmp(s, "accept") == 0;
}

/* The next name of a list "a, b c" from *s: its length (0 at the end). */
static size_t
next_name(const char **s)
{
	*s += strspn(*s, ", \t");
	return strcspn(*s, ", \t");
}

int
cfg_check_milter_names(const char *s)
{
	size_t n = 0, len;
	char name[NAME_MAX_LEN + 1];

	while ((len = next_name(&s)) > 0) {
		if (len > NAME_MAX_LEN || ++n > CONFIG_MILTERS_MAX)
			return 0;
		memcpy(name, s, len);
		name[len] = '\0';
		if (!cfg_is_local_name(name) || strchr(name, '.') != NULL)
			return 0;
		s += len;
	}
	return 1;
}

struct config_milter *
cfg_milter_new(struct cfg_load *l, const struct ucl_node *n)
{
	struct config *c = l->cfg;
	struct config_milter *m;
	size_t i = c->nmilters++;

	if (c->nmilters > l->milter_cap) {
		l->milter_cap = l->milter_cap ? l->milter_cap * 2 : 4;
		c->milters = xrealloc(c->milters, l->milter_cap * sizeof(*c->milters));
		l->milter_nodes = xrealloc(l->milter_nodes, l->milter_cap * sizeof(*l->milter_nodes));
	}
	m = &c->milters[i];
	memset(m, 0, sizeof(*m));
	m->name = xstrdup(n->key);
	m->default_action = xstrdup("tempfail");
	m->line = n->line;
	l->milter_nodes[i] = n;
	for (size_t k = 0; k < cfg_nrows; k++)
		if (cfg_rows[k].base == KB_MILTER && cfg_rows[k].store == KS_UNSIGNED)
			cfg_store_number(m, &cfg_rows[k], cfg_rows[k].def);
	return m;
}

/*
 * The names of list (checked by cfg_check_milter_names) into idx, in order:
 * each must name a milter section, once. 0, or -1 with l->err set at n.
 */
static int
resolve(struct cfg_load *l, const struct ucl_node *n, const char *path, const char *list,
    size_t *idx, size_t *count)
{
	const struct config *c = l->cfg;
	const char *s = list;
	size_t len;
	char shown[64];

	*count = 0;
	while ((len = next_name(&s)) > 0) {
		size_t k;

		for (k = 0; k < c->nmilters; k++)
			if (strlen(c->milters[k].name) == len &&
			    memcmp(c->milters[k].name, s, len) == 0)
				break;
		if (k == c->nmilters) {
			char name[NAME_MAX_LEN + 1];

			(void)snprintf(name, sizeof(name), "%.*s", (int)len, s);
			return cfg_key_error(l, n, path, "no milter \"%s\" { } is configured",
			    cfg_shorten(name, shown));
		}
		for (size_t j = 0; j < *count; j++)
			if (idx[j] == k)
				return cfg_key_error(l, n, path, "milter \"%s\" is named twice",
				    c->milters[k].name);
		idx[(*count)++] = k;
		s += len;
	}
	return 0;
}

int
cfg_check_milters(struct cfg_load *l)
{
	struct config *c = l->cfg;
	char path[128], shown[64];
	const struct ucl_node *server = ucl_get(l->doc->root, "server");

	for (size_t i = 0; i < c->nmilters; i++) {
		struct config_milter *m = &c->milters[i];
		const struct ucl_node *sec = l->milter_nodes[i];
		struct config_lmtp_hop hop;

		(void)snprintf(path, sizeof(path), "milter.%s", cfg_shorten(m->name, shown));
		if (strlen(m->name) > NAME_MAX_LEN || !cfg_is_local_name(m->name) ||
		    strchr(m->name, '.') != NULL)
			return cfg_error(l->err, l->errsize, sec->file, sec->line, "%s: a milter's "
			    "name is at most %d letters, digits, '_' or '-'", path, NAME_MAX_LEN);
		for (size_t k = 0; k < i; k++)
			if (strcmp(c->milters[k].name, m->name) == 0)
				return cfg_error(l->err, l->errsize, sec->file, sec->line, "%s: a second "
				    "milter of this name (the first at line %u)", path, c->milters[k].line);
		if (m->address == NULL)
			return cfg_error(l->err, l->errsize, sec->file, sec->line, "%s.address: required, "
			    "as address = \"unix:/run/milter.sock\" or \"inet:127.0.0.1:8891\"", path);
		if (config_milter_address_parse(m->address, &hop) == -1)
			return -1;	/* the key's own check refused it already */
		memcpy(&m->sa, &hop.sa, sizeof(m->sa));
		m->sa_len = hop.sa_len;
		m->is_default_accept = strcmp(m->default_action, "accept") == 0;
	}
	for (size_t i = 0; i < c->nlisteners; i++) {
		struct config_listener *lis = &c->listeners[i];

		if (lis->milters == NULL)
			continue;
		(void)snprintf(path, sizeof(path), "listen.%s.milters", cfg_shorten(lis->name, shown));
		if (resolve(l, ucl_get(l->listen_nodes[i], "milters"), path, lis->milters,
		    lis->milter_idx, &lis->nmilters) == -1)
			return -1;
	}
	if (c->local_milters[0] != '\0' && server != NULL && resolve(l, ucl_get(server, "local_milters"),
	    "server.local_milters", c->local_milters, c->local_milter_idx,
	    &c->nlocal_milters) == -1)
		return -1;
	return 0;
}

void
cfg_milters_free(struct config *c)
{
	for (size_t i = 0; i < c->nmilters; i++) {
		free(c->milters[i].name);
		free(c->milters[i].address);
		free(c->milters[i].default_action);
	}
	free(c->milters);
	c->milters = NULL;
	c->nmilters = 0;
	free(c->local_milters);
	c->local_milters = NULL;
}
