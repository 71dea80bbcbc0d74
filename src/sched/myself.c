/*
 * myself.c - this server's own listening addresses (myself.h).
 */
#include "sched/myself.h"

#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

/* One address and port, IPv4 kept as IPv4 (a mapped IPv6 address is unmapped). */
struct endpoint {
	int family;
	uint8_t addr[16];
	uint16_t port;		/* host order */
};

struct myself {
	struct endpoint *v;
	size_t n;
};

/* sa as an endpoint: 0, or -1 for a family that is neither IPv4 nor IPv6. */
static int
endpoint_of(const struct sockaddr *sa, struct endpoint *e)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	memset(e, 0, sizeof(*e));
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;

		e->family = AF_INET;
		memcpy(e->addr, &in->sin_addr, 4);
		e->port = ntohs(in->sin_port);
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;

		e->port = ntohs(in6->sin6_port);
		if (memcmp(in6->sin6_addr.s6_addr, mapped, sizeof(mapped)) == 0) {
			e->family = AF_INET;
			memcpy(e->addr, in6->sin6_addr.s6_addr + 12, 4);
		} else {
			e->family = AF_INET6;
			memcpy(e->addr, in6->sin6_addr.s6_addr, 16);
		}
		return 0;
	}
	return -1;
}

static int
is_wildcard(const struct endpoint *e)
{
	static const uint8_t zero[16];

	return memcmp(e->addr, zero, e->family == AF_INET ? 4 : 16) == 0;
}

static void
add(struct myself *m, const struct endpoint *e)
{
	m->v = xrealloc(m->v, (m->n + 1) * sizeof(*m->v));
	m->v[m->n++] = *e;
}

struct myself *
myself_new(const struct config *c)
{
	struct myself *m = xcalloc(1, sizeof(*m));
	struct ifaddrs *ifs = NULL;
	int has_ifs = 0;

	for (size_t i = 0; i < c->nlisteners; i++) {
		struct endpoint e;

		if (endpoint_of((const struct sockaddr *)&c->listeners[i].sa, &e) == -1)
			continue;
		if (!is_wildcard(&e)) {
			add(m, &e);
			continue;
		}
		/* bound to any address: every address of the host is one of ours on that port */
		if (!has_ifs)
			has_ifs = getifaddrs(&ifs) == 0 ? 1 : -1;
		for (struct ifaddrs *ia = has_ifs == 1 ? ifs : NULL; ia != NULL; ia = ia->ifa_next) {
			struct endpoint local;

			if (ia->ifa_addr == NULL || endpoint_of(ia->ifa_addr, &local) == -1)
				continue;
			/* an IPv6 wildcard takes IPv4 too (dual stack); an IPv4 one only IPv4 */
			if (e.family == AF_INET && local.family != AF_INET)
				continue;
			local.port = e.port;
			add(m, &local);
		}
	}
	if (has_ifs == 1)
		freeifaddrs(ifs);
	return m;
}

void
myself_free(struct myself **mp)
{
	struct myself *m = *mp;

	if (m == NULL)
		return;
	free(m->v);
	free(m);
	*mp = NULL;
}

int
myself_is(const struct myself *m, const struct sockaddr *sa)
{
	struct endpoint e;

	if (endpoint_of(sa, &e) == -1)
		return 0;
	for (size_t i = 0; i < m->n; i++)
		if (m->v[i].family == e.family && m->v[i].port == e.port &&
		    memcmp(m->v[i].addr, e.addr, e.family == AF_INET ? 4 : 16) == 0)
			return 1;
	return 0;
}
