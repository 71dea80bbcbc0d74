/*
 * clients.c - sessions open per client address, so that one address cannot
 * take every session of the server (server.max_sessions_per_client). A
 * chained hash of the addresses with at least one session; an entry goes
 * with its last session, so the table holds at most server.max_sessions
 * entries.
 */
#include "server/server_int.h"

#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

#define BUCKETS 4096	/* a power of two */

struct client_count {
	struct client_count *next;
	unsigned n;
	char ip[];
};

struct client_counts {
	struct client_count *b[BUCKETS];
};

/* FNV-1a: the key is an address we printed ourselves, not chosen freely by a peer */
static size_t
bucket_of(const char *ip)
{
	uint32_t h = 2166136261u;

	for (; *ip != '\0'; ip++)
		h = (h ^ (uint8_t)*ip) * 16777619u;
	return h & (BUCKETS - 1);
}

struct client_counts *
client_counts_new(void)
{
	return xcalloc(1, sizeof(struct client_counts));
}

void
client_counts_free(struct client_counts **ccp)
{
	struct client_counts *cc = *ccp;

	if (cc == NULL)
		return;
	for (size_t i = 0; i < BUCKETS; i++)
		while (cc->b[i] != NULL) {
			struct client_count *e = cc->b[i];

			cc->b[i] = e->next;
			free(e);
		}
	free(cc);
	*ccp = NULL;
}

unsigned
client_counts_up(struct client_counts *cc, const char *ip)
{
	struct client_count **head = &cc->b[bucket_of(ip)], *e;
	size_t len = strlen(ip);

	for (e = *head; e != NULL; e = e->next)
		if (strcmp(e->ip, ip) == 0)
			return ++e->n;
	e = xmalloc(sizeof(*e) + len + 1);
	memcpy(e->ip, ip, len + 1);
	e->n = 1;
	e->next = *head;
	*head = e;
	return 1;
}

void
client_counts_down(struct client_counts *cc, const char *ip)
{
	for (struct client_count **pp = &cc->b[bucket_of(ip)]; *pp != NULL; pp = &(*pp)->next) {
		struct client_count *e = *pp;

		if (strcmp(e->ip, ip) != 0)
			continue;
		if (--e->n == 0) {
			*pp = e->next;
			free(e);
		}
		return;
	}
}
