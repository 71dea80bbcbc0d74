/*
 * heap.h - a binary min-heap of intrusive nodes by a 64-bit key (the time
 * a message is due), pure. Push, pop and removal of any node are
 * O(log n); each node knows its place, so the owner can take it out.
 */
#ifndef STERNA_SCHED_HEAP_H
#define STERNA_SCHED_HEAP_H

#include <stddef.h>
#include <stdint.h>

/* Embedded in the owner's struct; the heap never allocates or frees one. */
struct heap_node {
	uint64_t key;
	size_t idx;		/* its slot, SIZE_MAX when not in a heap */
};

struct heap {
	struct heap_node **v;
	size_t n, cap;
};

void heap_init(struct heap *h);
/* Frees the heap's array (not the nodes). */
void heap_clear(struct heap *h);
/* Adds n (borrowed until it leaves the heap) with n->key set. */
void heap_push(struct heap *h, struct heap_node *n);
/* The node with the least key, or NULL when empty; it stays in the heap. */
struct heap_node *heap_top(const struct heap *h);
/* Takes the least node out and returns it, or NULL when empty. */
struct heap_node *heap_pop(struct heap *h);
/* Takes n out wherever it is; nothing if it is not in the heap. */
void heap_remove(struct heap *h, struct heap_node *n);
/* 1 if n is in a heap. */
static inline int heap_has(const struct heap_node *n) { return n->idx != SIZE_MAX; }
/* Marks a node that was never pushed as out of any heap. */
static inline void heap_node_init(struct heap_node *n) { n->idx = SIZE_MAX; }

#endif
