/*
 * htab.c - the intrusive hash table of htab.h.
 */
#include "util/htab.h"

#include <stdlib.h>

#include "util/xalloc.h"

void
htab_init(struct htab *t, size_t min_buckets)
{
	t->nbuckets = 16;
	while (t->nbuckets < min_buckets)
		t->nbuckets *= 2;
	t->buckets = xcalloc(t->nbuckets, sizeof(*t->buckets));
	t->n = 0;
}

void
htab_clear(struct htab *t)
{
	free(t->buckets);
	t->buckets = NULL;
	t->nbuckets = t->n = 0;
}

static void
grow(struct htab *t)
{
	struct htab_link **old = t->buckets;
	size_t nold = t->nbuckets;

	t->nbuckets *= 2;
	t->buckets = xcalloc(t->nbuckets, sizeof(*t->buckets));
	for (size_t b = 0; b < nold; b++)
		for (struct htab_link *l = old[b], *next; l != NULL; l = next) {
			struct htab_link **head = &t->buckets[l->hash & (t->nbuckets - 1)];

			next = l->next;
			l->next = *head;
			*head = l;
		}
	free(old);
}

void
htab_add(struct htab *t, struct htab_link *l, uint64_t hash)
{
	struct htab_link **head;

	if (t->n >= t->nbuckets)
		grow(t);
	head = &t->buckets[hash & (t->nbuckets - 1)];
	l->hash = hash;
	l->next = *head;
	*head = l;
	t->n++;
}

struct htab_link *
htab_find(const struct htab *t, uint64_t hash,
    int (*is_key)(const struct htab_link *l, const void *key), const void *key)
{
	struct htab_link *l = t->buckets[hash & (t->nbuckets - 1)];

	while (l != NULL && (l->hash != hash || !is_key(l, key)))
		l = l->next;
	return l;
}

void
htab_remove(struct htab *t, struct htab_link *l)
{
	struct htab_link **p = &t->buckets[l->hash & (t->nbuckets - 1)];

	while (*p != l)
		p = &(*p)->next;
	*p = l->next;
	t->n--;
}
