/*
 * index.c - every message the scheduler holds, by queue id: a hash table
 * to find one, and a list in queue id order (arrival) to walk them. New
 * messages have the greatest ids, so they go in at the end. Recovery hands
 * the queue found at start over in id order while new mail arrives, so an
 * older message goes right after the older one added before it (s->added_last):
 * each finds its place in a step or two, never by walking back past the
 * new arrivals.
 */
#include "sched/sched_int.h"

#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

#define INITIAL_BUCKETS 1024

static size_t
bucket_of(const struct sched *s, const char *qid)
{
	/* FNV-1a: queue ids are short and their last characters vary most */
	uint64_t h = 1469598103934665603u;

	for (const char *p = qid; *p != '\0'; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211u;
	return (size_t)(h & (s->nbuckets - 1));
}

void
index_init(struct sched *s)
{
	s->nbuckets = INITIAL_BUCKETS;
	s->buckets = xcalloc(s->nbuckets, sizeof(*s->buckets));
}

static void
grow(struct sched *s)
{
	struct qmsg **old = s->buckets;
	size_t nold = s->nbuckets;

	s->nbuckets *= 2;
	s->buckets = xcalloc(s->nbuckets, sizeof(*s->buckets));
	for (size_t b = 0; b < nold; b++) {
		struct qmsg *q, *next;

		for (q = old[b]; q != NULL; q = next) {
			size_t nb = bucket_of(s, q->qid);

			next = q->hnext;
			q->hnext = s->buckets[nb];
			s->buckets[nb] = q;
		}
	}
	free(old);
}

void
index_add(struct sched *s, struct qmsg *q)
{
	struct qmsg *after;
	size_t b;

	if (s->nmsgs >= s->nbuckets)
		grow(s);
	b = bucket_of(s, q->qid);
	q->hnext = s->buckets[b];
	s->buckets[b] = q;
	s->nmsgs++;
	after = s->last;
	if (after != NULL && strcmp(after->qid, q->qid) > 0 && s->added_last != NULL &&
	    strcmp(s->added_last->qid, q->qid) < 0) {
		/* after the one added before it, and before the first that is greater */
		after = s->added_last;
		while (after->next != NULL && strcmp(after->next->qid, q->qid) < 0)
			after = after->next;
	}
	for (; after != NULL && strcmp(after->qid, q->qid) > 0; after = after->prev)
		;
	if (after != s->last)
		s->added_last = q;	/* not at the end: an older message, maybe one of many */
	q->prev = after;
	q->next = after != NULL ? after->next : s->first;
	if (q->next != NULL)
		q->next->prev = q;
	else
		s->last = q;
	if (after != NULL)
		after->next = q;
	else
		s->first = q;
}

void
index_remove(struct sched *s, struct qmsg *q)
{
	struct qmsg **pp;

	for (pp = &s->buckets[bucket_of(s, q->qid)]; *pp != NULL; pp = &(*pp)->hnext) {
		if (*pp == q) {
			*pp = q->hnext;
			break;
		}
	}
	if (q->prev != NULL)
		q->prev->next = q->next;
	else
		s->first = q->next;
	if (q->next != NULL)
		q->next->prev = q->prev;
	else
		s->last = q->prev;
	if (s->added_last == q)
		s->added_last = q->prev;
	q->next = q->prev = q->hnext = NULL;
	s->nmsgs--;
}

struct qmsg *
index_find(const struct sched *s, const char *qid)
{
	for (struct qmsg *q = s->buckets[bucket_of(s, qid)]; q != NULL; q = q->hnext)
		if (strcmp(q->qid, qid) == 0)
			return q;
	return NULL;
}

void
index_clear(struct sched *s)
{
	free(s->buckets);
	s->buckets = NULL;
	s->nbuckets = 0;
}
