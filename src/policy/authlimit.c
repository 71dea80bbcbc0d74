/*
 * authlimit.c - a small hash table of client addresses and their recent
 * AUTH failures, with expiry: an entry whose window has passed (and whose
 * block, if any, is over) counts as empty and is reused.
 * Open addressing with a bounded probe: a lookup touches at most PROBE
 * slots whatever the table holds.
 */
#include "policy/authlimit.h"

#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

#define PROBE 8
#define IP_MAX 64

struct slot {
	char ip[IP_MAX];	/* "" for a free slot */
	int64_t window_start_s;
	int64_t blocked_until_s;
	unsigned failures;
};

struct authlimit {
	struct slot *slots;
	size_t nslots;
	unsigned max_failures;
	unsigned window_s;
};

struct authlimit *
authlimit_new(unsigned max_failures, unsigned window_s, size_t nslots)
{
	struct authlimit *t = xcalloc(1, sizeof(*t));

	t->nslots = nslots < PROBE ? PROBE : nslots;
	t->slots = xcalloc(t->nslots, sizeof(*t->slots));
	t->max_failures = max_failures ? max_failures : 1;
	t->window_s = window_s;
	return t;
}

void
authlimit_free(struct authlimit **tp)
{
	if (*tp == NULL)
		return;
	free((*tp)->slots);
	free(*tp);
	*tp = NULL;
}

/* FNV-1a: the slot an address starts its probe at. */
static size_t
home(const struct authlimit *t, const char *ip)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (const char *p = ip; *p; p++) {
		h ^= (uint8_t)*p;
		h *= 0x100000001b3ull;
	}
	return (size_t)(h % t->nslots);
}

static int
is_expired(const struct authlimit *t, const struct slot *s, int64_t now_s)
{
	return s->ip[0] == '\0' ||
	    (now_s >= s->blocked_until_s && now_s - s->window_start_s >= (int64_t)t->window_s);
}

static const struct slot *
find(const struct authlimit *t, const char *ip, int64_t now_s)
{
	size_t h = home(t, ip);

	for (size_t i = 0; i < PROBE; i++) {
		const struct slot *s = &t->slots[(h + i) % t->nslots];

		if (s->ip[0] != '\0' && strcmp(s->ip, ip) == 0)
			return is_expired(t, s, now_s) ? NULL : s;
	}
	return NULL;
}

int
authlimit_allows(const struct authlimit *t, const char *ip, int64_t now_s)
{
	const struct slot *s = find(t, ip, now_s);

	return s == NULL || now_s >= s->blocked_until_s;
}

unsigned
authlimit_fail(struct authlimit *t, const char *ip, int64_t now_s)
{
	size_t h = home(t, ip);
	struct slot *s = NULL, *victim = NULL;

	for (size_t i = 0; i < PROBE && s == NULL; i++) {
		struct slot *x = &t->slots[(h + i) % t->nslots];

		if (x->ip[0] != '\0' && strcmp(x->ip, ip) == 0)
			s = x;
		else if (victim == NULL || (!is_expired(t, victim, now_s) &&
		    (is_expired(t, x, now_s) || x->window_start_s < victim->window_start_s)))
			victim = x;
	}
	if (s == NULL) {
		size_t n = strlen(ip);

		/* XXX: a full neighbourhood forgets its oldest address, which then starts afresh */
		s = victim;
		memset(s, 0, sizeof(*s));
		if (n >= sizeof(s->ip))
			n = sizeof(s->ip) - 1;
		memcpy(s->ip, ip, n);
	}
	if (is_expired(t, s, now_s) || now_s - s->window_start_s >= (int64_t)t->window_s) {
		s->window_start_s = now_s;
		s->failures = 0;
	}
	s->failures++;
	if (s->failures >= t->max_failures)
		s->blocked_until_s = now_s + t->window_s;
	return s->failures;
}

unsigned
authlimit_delay_ms(unsigned base_ms, unsigned n)
{
	unsigned shift = n == 0 ? 0 : n - 1;

	if (shift > 4)
		shift = 4;
	return base_ms << shift;
}
