/*
 * listeners.c - the listen "NAME" sections as a whole: at least one, no
 * address and port twice, no wildcard address (0.0.0.0, ::) on a port
 * that a specific address of its family uses too (either bind would fail
 * at start: sterna check says so first), and AUTH where it is required.
 */
#include "config/keys_int.h"

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

struct listen_key {
	uint8_t bytes[1 + 2 + 16];	/* family, port, address */
	size_t pos;			/* index in file order */
};

static int
cmp_listen_key(const void *a, const void *b)
{
	const struct listen_key *x = a, *y = b;
	int c = memcmp(x->bytes, y->bytes, sizeof(x->bytes));

	return c != 0 ? c : (x->pos > y->pos) - (x->pos < y->pos);
}

static void
listen_key_of(const struct config_listener *lis, struct listen_key *k)
{
	memset(k->bytes, 0, sizeof(k->bytes));
	if (lis->sa.ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)(const void *)&lis->sa;

		k->bytes[0] = 6;
		memcpy(k->bytes + 1, &s6->sin6_port, 2);
		memcpy(k->bytes + 3, &s6->sin6_addr, 16);
	} else {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)(const void *)&lis->sa;

		k->bytes[0] = 4;
		memcpy(k->bytes + 1, &s4->sin_port, 2);
		memcpy(k->bytes + 3, &s4->sin_addr, 4);
	}
}

/* At least one listener, and no address and port twice (bind would fail). */
static int
check_listeners(struct cfg_load *l)
{
	const struct config *c = l->cfg;
	const struct ucl_node *root = l->doc->root, *ln = ucl_get(root, "listen");
	struct listen_key *keys;
	size_t best = SIZE_MAX, first = 0;

	if (c->nlisteners == 0)
		return cfg_error(l->err, l->errsize, ln ? ln->file : root->file, ln ? ln->line : 1,
		    "no listener: add one, as listen \"mx\" { address = \"127.0.0.1:25\"; }");
	keys = xmalloc(c->nlisteners * sizeof(*keys));
	for (size_t i = 0; i < c->nlisteners; i++) {
		listen_key_of(&c->listeners[i], &keys[i]);
		keys[i].pos = i;
	}
	qsort(keys, c->nlisteners, sizeof(*keys), cmp_listen_key);
	for (size_t i = 1; i < c->nlisteners; i++) {
		if (memcmp(keys[i].bytes, keys[i - 1].bytes, sizeof(keys[i].bytes)) == 0 &&
		    keys[i].pos < best && (i == 1 || memcmp(keys[i - 1].bytes, keys[i - 2].bytes,
		    sizeof(keys[i].bytes)) != 0)) {
			best = keys[i].pos;
			first = keys[i - 1].pos;
		}
	}
	free(keys);
	if (best == SIZE_MAX)
		return 0;
	return cfg_error(l->err, l->errsize, l->listen_addr[best]->file,
	    l->listen_addr[best]->vline, "listen.%s.address: %s is already used by listen.%s at %s:%u",
	    c->listeners[best].name, c->listeners[best].address, c->listeners[first].name,
	    l->listen_addr[first]->file, l->listen_addr[first]->vline);
}

/* A listener that requires AUTH must be able to offer it, or no one could send there. */
static int
check_listener_auth(struct cfg_load *l)
{
	const struct config *c = l->cfg;

	for (size_t i = 0; i < c->nlisteners; i++) {
		const struct config_listener *cl = &c->listeners[i];
		const struct ucl_node *n = l->listen_nodes[i];

		if (!cl->is_auth_required)
			continue;
		if (!cl->is_auth)
			return cfg_error(l->err, l->errsize, n->file, n->line, "listen.%s: require_auth "
			    "needs auth = true", cl->name);
		if (c->users_file == NULL || c->users_file[0] == '\0')
			return cfg_error(l->err, l->errsize, n->file, n->line, "listen.%s: require_auth "
			    "needs auth.users_file (nobody could log in)", cl->name);
	}
	return 0;
}

/* 1 if lis listens on every address of its family (0.0.0.0 or ::). */
static int
is_wildcard(const struct config_listener *lis)
{
	if (lis->sa.ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)(const void *)&lis->sa;

		return memcmp(&s6->sin6_addr, &in6addr_any, sizeof(in6addr_any)) == 0;
	}
	return ((const struct sockaddr_in *)(const void *)&lis->sa)->sin_addr.s_addr ==
	    htonl(INADDR_ANY);
}

/*
 * The kernel gives a port on the wildcard address to one socket only: a
 * specific address of the same family on that port cannot be bound beside
 * it, in either order (SO_REUSEADDR does not help listening sockets; IPv6
 * listeners are IPV6_V6ONLY, so the families do not meet). Said at the
 * later of the two in file order, naming the earlier.
 */
static int
check_wildcards(struct cfg_load *l)
{
	const struct config *c = l->cfg;

	for (size_t j = 1; j < c->nlisteners; j++) {
		struct listen_key kj;

		listen_key_of(&c->listeners[j], &kj);
		for (size_t i = 0; i < j; i++) {
			const struct config_listener *a = &c->listeners[i], *b = &c->listeners[j];
			struct listen_key ki;

			listen_key_of(a, &ki);
			/* the same family and port; the duplicates are check_listeners()' */
			if (memcmp(ki.bytes, kj.bytes, 3) != 0 || is_wildcard(a) == is_wildcard(b))
				continue;
			return cfg_error(l->err, l->errsize, l->listen_addr[j]->file,
			    l->listen_addr[j]->vline, "listen.%s.address: %s overlaps listen.%s (%s at "
			    "%s:%u): %s takes the port on every address; list specific addresses "
			    "instead", b->name, b->address, a->name, a->address,
			    l->listen_addr[i]->file, l->listen_addr[i]->vline,
			    is_wildcard(a) ? a->address : b->address);
		}
	}
	return 0;
}

int
cfg_check_listeners(struct cfg_load *l)
{
	if (check_listeners(l) == -1 || check_wildcards(l) == -1)
		return -1;
	return check_listener_auth(l);
}
