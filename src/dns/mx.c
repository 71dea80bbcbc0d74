/*
 * mx.c - ordering MX hosts (RFC 5321 5.1) and recognising a null MX
 * (RFC 7505). Pure: the random numbers come from the caller.
 */
#include "dns/mx.h"

#include <stdlib.h>
#include <string.h>

#include <ares.h>

static int
cmp_mx(const void *a, const void *b)
{
	const struct dns_mx *x = a, *y = b;

	if (x->pref != y->pref)
		return x->pref < y->pref ? -1 : 1;
	return (x->tiebreak > y->tiebreak) - (x->tiebreak < y->tiebreak);
}

int
mx_is_null(const struct dns_mx *v, size_t n)
{
	/* RFC 7505 3: a single MX with an empty target; its preference should be 0 but need not */
	return n == 1 && v[0].host[0] == '\0';
}

size_t
mx_sort(struct dns_mx *v, size_t n, uint32_t (*rnd)(void *rctx), void *rctx)
{
	size_t kept = 0;

	for (size_t i = 0; i < n; i++) {
		if (v[i].host[0] == '\0')
			continue;	/* "." among real hosts: nothing to connect to */
		v[kept] = v[i];
		v[kept].tiebreak = rnd(rctx);
		kept++;
	}
	qsort(v, kept, sizeof(*v), cmp_mx);
	return kept;
}

size_t
mx_from_replies(const struct ares_mx_reply *list, struct dns_mx *out, size_t max)
{
	size_t n = 0;

	for (const struct ares_mx_reply *m = list; m != NULL && n < max; m = m->next) {
		const char *h = m->host;
		size_t len = h != NULL ? strlen(h) : 0;

		/* "host." and "host" name the same host; "." alone is the root (a null MX) */
		if (len > 0 && h[len - 1] == '.')
			len--;
		if (len >= sizeof(out[0].host))
			continue;
		memcpy(out[n].host, h, len);
		out[n].host[len] = '\0';
		out[n].pref = m->priority;
		out[n].tiebreak = 0;
		n++;
	}
	return n;
}
