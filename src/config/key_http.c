/*
 * key_http.c - http { }: the HTTP API's listeners (http { listen "NAME" {
 * address; tls; } }, struct config_listener like SMTP's, with only the
 * address and tls), and the checks that need the whole section. The keys
 * themselves are rows of keys.c; what the server does is src/http's.
 */
#include "config/keys_int.h"

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "util/xalloc.h"

struct config_listener *
cfg_http_listener_new(struct cfg_load *l, const struct ucl_node *n)
{
	struct config *c = l->cfg;
	struct config_listener *lis;
	size_t i = c->nhttp_listeners++;

	if (c->nhttp_listeners > l->http_cap) {
		l->http_cap = l->http_cap ? l->http_cap * 2 : 4;
		c->http_listeners = xrealloc(c->http_listeners,
		    l->http_cap * sizeof(*c->http_listeners));
		l->http_nodes = xrealloc(l->http_nodes, l->http_cap * sizeof(*l->http_nodes));
		l->http_addr = xrealloc(l->http_addr, l->http_cap * sizeof(*l->http_addr));
	}
	lis = &c->http_listeners[i];
	memset(lis, 0, sizeof(*lis));
	lis->name = xstrdup(n->key);
	lis->line = n->line;
	l->http_nodes[i] = n;
	l->http_addr[i] = NULL;
	for (size_t k = 0; k < cfg_nrows; k++)
		if (cfg_rows[k].base == KB_HTTP_LISTENER && cfg_rows[k].store == KS_UNSIGNED)
			cfg_store_number(lis, &cfg_rows[k], cfg_rows[k].def);
	return lis;
}

/* 1 if a and b are the same address and port (bind would fail on the second). */
static int
same_address(const struct config_listener *a, const struct config_listener *b)
{
	if (a->sa.ss_family != b->sa.ss_family)
		return 0;
	if (a->sa.ss_family == AF_INET6) {
		const struct sockaddr_in6 *x = (const struct sockaddr_in6 *)(const void *)&a->sa;
		const struct sockaddr_in6 *y = (const struct sockaddr_in6 *)(const void *)&b->sa;

		return x->sin6_port == y->sin6_port &&
		    memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr)) == 0;
	} else {
		const struct sockaddr_in *x = (const struct sockaddr_in *)(const void *)&a->sa;
		const struct sockaddr_in *y = (const struct sockaddr_in *)(const void *)&b->sa;

		return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
}

/* Listener i's address against the HTTP listeners before it and every SMTP listener. */
static int
check_address(struct cfg_load *l, size_t i)
{
	const struct config *c = l->cfg;
	const struct config_listener *h = &c->http_listeners[i];
	const struct ucl_node *n = l->http_addr[i];

	for (size_t k = 0; k < i; k++)
		if (same_address(h, &c->http_listeners[k]))
			return cfg_error(l->err, l->errsize, n->file, n->vline,
			    "http.listen.%s.address: %s is already used by http.listen.%s at %s:%u",
			    h->name, h->address, c->http_listeners[k].name, l->http_addr[k]->file,
			    l->http_addr[k]->vline);
	for (size_t k = 0; k < c->nlisteners; k++)
		if (same_address(h, &c->listeners[k]))
			return cfg_error(l->err, l->errsize, n->file, n->vline,
			    "http.listen.%s.address: %s is already used by listen.%s at %s:%u",
			    h->name, h->address, c->listeners[k].name, l->listen_addr[k]->file,
			    l->listen_addr[k]->vline);
	return 0;
}

int
cfg_check_http(struct cfg_load *l)
{
	struct config *c = l->cfg;
	const struct ucl_node *kn = l->set_by[cfg_key_row(CFG_KEY_HTTP_KEYS_FILE)];

	for (size_t i = 0; i < c->nhttp_listeners; i++) {
		const struct config_listener *h = &c->http_listeners[i];
		const struct ucl_node *sec = l->http_nodes[i], *tn = ucl_get(sec, "tls");

		if (check_address(l, i) == -1)
			return -1;
		/* the same certificates as SMTP's: without one, TLS has nothing to offer */
		if (h->is_implicit_tls && c->ncerts == 0)
			return cfg_error(l->err, l->errsize, tn->file, tn->vline,
			    "http.listen.%s.tls: needs a certificate: add "
			    "tls { cert \"NAME\" { chain = \"FILE\"; key = \"FILE\"; } }", h->name);
		/* every route but the health check needs a key: a server without keys is a mistake */
		if (c->http_keys_file[0] == '\0')
			return cfg_error(l->err, l->errsize, sec->file, sec->line,
			    "http.listen.%s: needs http.keys_file, the API keys (sterna apikey new "
			    "makes one)", h->name);
	}
	if (kn != NULL && cfg_absolute_at(l, kn, &c->http_keys_file, "http.keys_file") == -1)
		return -1;
	return 0;
}

void
cfg_http_free(struct config *c)
{
	for (size_t i = 0; i < c->nhttp_listeners; i++) {
		free(c->http_listeners[i].name);
		free(c->http_listeners[i].address);
	}
	free(c->http_listeners);
	free(c->http_keys_file);
}
