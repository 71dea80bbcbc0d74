/*
 * ucl_tree.c - the nodes of a parsed UCL document: objects keep their
 * members in file order with a hash index once they grow, so that finding
 * a duplicate key stays linear for any input.
 */
#include "config/ucl_parse.h"

#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

struct ucl_node *
ucl_node_new(enum ucl_type type, char *key, const struct src *s, unsigned line)
{
	struct ucl_node *n = xcalloc(1, sizeof(*n));

	n->type = type;
	n->key = key;
	n->file = s->name;
	n->line = line;
	n->vline = line;
	return n;
}

void
ucl_node_free(struct ucl_node *n)
{
	if (n == NULL)
		return;
	for (size_t i = 0; i < n->nkids; i++)
		ucl_node_free(n->kids[i]);
	free(n->kids);
	free(n->index);
	free(n->key);
	free(n->str);
	free(n);
}

static uint32_t
key_hash(const char *k)
{
	uint32_t h = 2166136261u;	/* FNV-1a */

	for (; *k; k++)
		h = (h ^ (uint8_t)*k) * 16777619u;
	return h;
}

static void
index_put(struct ucl_node *obj, size_t pos)
{
	size_t mask = obj->index_cap - 1;
	size_t i = key_hash(obj->kids[pos]->key) & mask;

	while (obj->index[i] != 0)
		i = (i + 1) & mask;
	obj->index[i] = (uint32_t)(pos + 1);
}

/*
 * Objects are small in practice, but a hostile file may hold a million
 * keys in one: past 16 members the duplicate check goes through a hash so
 * that it stays linear (a quadratic scan would stall the fuzzer and start-up).
 */
void
ucl_obj_append(struct ucl_node *obj, struct ucl_node *kid)
{
	if (obj->nkids == obj->capkids) {
		obj->capkids = obj->capkids ? obj->capkids * 2 : 8;
		obj->kids = xrealloc(obj->kids, obj->capkids * sizeof(*obj->kids));
	}
	obj->kids[obj->nkids++] = kid;
	if (obj->type != UCL_OBJECT || obj->nkids < 16)
		return;
	if (obj->index == NULL || obj->nkids * 2 > obj->index_cap) {
		size_t cap = 64;

		while (cap < obj->nkids * 4)
			cap *= 2;
		free(obj->index);
		obj->index = xcalloc(cap, sizeof(*obj->index));
		obj->index_cap = cap;
		for (size_t i = 0; i < obj->nkids; i++)
			index_put(obj, i);
	} else {
		index_put(obj, obj->nkids - 1);
	}
}

struct ucl_node *
ucl_obj_find(const struct ucl_node *obj, const char *key)
{
	if (obj->index != NULL) {
		size_t mask = obj->index_cap - 1;

		for (size_t i = key_hash(key) & mask; obj->index[i] != 0; i = (i + 1) & mask) {
			struct ucl_node *k = obj->kids[obj->index[i] - 1];

			if (strcmp(k->key, key) == 0)
				return k;
		}
		return NULL;
	}
	for (size_t i = 0; i < obj->nkids; i++)
		if (strcmp(obj->kids[i]->key, key) == 0)
			return obj->kids[i];
	return NULL;
}

const struct ucl_node *
ucl_get(const struct ucl_node *obj, const char *key)
{
	if (obj == NULL || obj->type != UCL_OBJECT)
		return NULL;
	return ucl_obj_find(obj, key);
}
void
ucl_doc_free(struct ucl_doc **dp)
{
	struct ucl_doc *d = *dp;

	if (d == NULL)
		return;
	ucl_node_free(d->root);
	for (size_t i = 0; i < d->nfiles; i++)
		free(d->files[i]);
	free(d->files);
	free(d);
	*dp = NULL;
}
