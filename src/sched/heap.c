/*
 * heap.c - binary min-heap over an array of node pointers.
 */
#include "sched/heap.h"

#include <stdlib.h>

#include "util/xalloc.h"

void
heap_init(struct heap *h)
{
	h->v = NULL;
	h->n = h->cap = 0;
}

void
heap_clear(struct heap *h)
{
	for (size_t i = 0; i < h->n; i++)
		h->v[i]->idx = SIZE_MAX;
	free(h->v);
	heap_init(h);
}

static void
place(struct heap *h, size_t i, struct heap_node *n)
{
	h->v[i] = n;
	n->idx = i;
}

static void
sift_up(struct heap *h, size_t i)
{
	struct heap_node *n = h->v[i];

	while (i > 0) {
		size_t parent = (i - 1) / 2;

		if (h->v[parent]->key <= n->key)
			break;
		place(h, i, h->v[parent]);
		i = parent;
	}
	place(h, i, n);
}

static void
sift_down(struct heap *h, size_t i)
{
	struct heap_node *n = h->v[i];

	for (;;) {
		size_t l = 2 * i + 1, least = l;

		if (l >= h->n)
			break;
		if (l + 1 < h->n && h->v[l + 1]->key < h->v[l]->key)
			least = l + 1;
		if (n->key <= h->v[least]->key)
			break;
		place(h, i, h->v[least]);
		i = least;
	}
	place(h, i, n);
}

void
heap_push(struct heap *h, struct heap_node *n)
{
	if (h->n == h->cap) {
		h->cap = h->cap ? h->cap * 2 : 64;
		h->v = xrealloc(h->v, h->cap * sizeof(*h->v));
	}
	place(h, h->n++, n);
	sift_up(h, h->n - 1);
}

struct heap_node *
heap_top(const struct heap *h)
{
	return h->n ? h->v[0] : NULL;
}

void
heap_remove(struct heap *h, struct heap_node *n)
{
	size_t i = n->idx;
	struct heap_node *last;

	if (i == SIZE_MAX || i >= h->n || h->v[i] != n)
		return;
	n->idx = SIZE_MAX;
	last = h->v[--h->n];
	if (i == h->n)
		return;
	place(h, i, last);
	/* the moved node may belong above or below its new place */
	if (i > 0 && h->v[(i - 1) / 2]->key > last->key)
		sift_up(h, i);
	else
		sift_down(h, i);
}

struct heap_node *
heap_pop(struct heap *h)
{
	struct heap_node *n = heap_top(h);

	if (n != NULL)
		heap_remove(h, n);
	return n;
}
