/*
 * htab.h - an intrusive hash table: an entry embeds a struct htab_link,
 * the caller hashes its keys (siphash13() for keys a peer chooses) and
 * says how to compare them. Chains in a power-of-two number of buckets,
 * doubled when the entries outnumber them. Nothing is allocated per entry
 * and the table owns no entry. One thread at a time.
 */
#ifndef STERNA_UTIL_HTAB_H
#define STERNA_UTIL_HTAB_H

#include <stddef.h>
#include <stdint.h>

struct htab_link {
	struct htab_link *next;		/* in its bucket */
	uint64_t hash;
};

struct htab {
	struct htab_link **buckets;
	size_t nbuckets, n;
};

/* An empty table of at least min_buckets buckets (rounded up to a power of two). */
void htab_init(struct htab *t, size_t min_buckets);
/* Frees the buckets (not the entries, which are the caller's) and zeroes *t. */
void htab_clear(struct htab *t);
/* Links l under hash; a key already there is the caller's business (htab_find first). */
void htab_add(struct htab *t, struct htab_link *l, uint64_t hash);
/* The entry under hash for which is_key(l, key) says 1, or NULL. */
struct htab_link *htab_find(const struct htab *t, uint64_t hash,
    int (*is_key)(const struct htab_link *l, const void *key), const void *key);
/* Unlinks l, which must be in t. */
void htab_remove(struct htab *t, struct htab_link *l);

/*
 * Visits every link of t, in no order, as l (declared by the loop). The body
 * may free the link it is given, and nothing else of the table.
 */
#define HTAB_FOREACH(t, l) \
	for (size_t htab_i_ = 0; htab_i_ < (t)->nbuckets; htab_i_++) \
		for (struct htab_link *l = (t)->buckets[htab_i_], *htab_next_; \
		    l != NULL && (htab_next_ = l->next, 1); l = htab_next_)

#endif
