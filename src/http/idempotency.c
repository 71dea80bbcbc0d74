/*
 * idempotency.c - Idempotency-Key (docs/api.md): per API key, the first
 * accepted reply to a key is kept for 24 hours with the SHA-256 of the
 * request's body; the same key with the same body replays it and sends
 * nothing, with another body it is 409. A table bounded in entries (the
 * oldest goes first) and kept in memory: a restart forgets the keys.
 */
#include "http/idempotency.h"

#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

#define KEEP_S (24 * 3600)

struct idem_entry {
	char *key;			/* key id, NUL, the client's key: hashed as one */
	size_t key_len;
	char hash[65];			/* the body's SHA-256, hex */
	uint64_t time_s;
	int is_done;			/* a reply is kept (else the first request is still out) */
	int status;
	json_t *reply;
	struct idem_entry *next;	/* in its bucket */
	struct idem_entry *older, *newer;	/* in arrival order */
};

struct idem {
	struct idem_entry **buckets;
	size_t nbuckets, n, max;
	struct idem_entry *oldest, *newest;
};

static uint64_t
hash_of(const char *p, size_t n)
{
	uint64_t h = 1469598103934665603ull;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)p[i]) * 1099511628211ull;
	return h;
}

struct idem *
idem_new(size_t max_entries)
{
	struct idem *t = xcalloc(1, sizeof(*t));

	t->max = max_entries;
	t->nbuckets = 1024;
	while (t->nbuckets < max_entries)
		t->nbuckets *= 2;
	t->buckets = xcalloc(t->nbuckets, sizeof(*t->buckets));
	return t;
}

static void
entry_unlink(struct idem *t, struct idem_entry *e)
{
	struct idem_entry **p = &t->buckets[hash_of(e->key, e->key_len) & (t->nbuckets - 1)];

	while (*p != e)
		p = &(*p)->next;
	*p = e->next;
	if (e->older)
		e->older->newer = e->newer;
	else
		t->oldest = e->newer;
	if (e->newer)
		e->newer->older = e->older;
	else
		t->newest = e->older;
	json_decref(e->reply);
	free(e->key);
	free(e);
	t->n--;
}

void
idem_free(struct idem **tp)
{
	struct idem *t = *tp;

	if (t == NULL)
		return;
	while (t->oldest != NULL)
		entry_unlink(t, t->oldest);
	free(t->buckets);
	free(t);
	*tp = NULL;
}

static struct idem_entry *
find(const struct idem *t, const char *key, size_t len)
{
	struct idem_entry *e = t->buckets[hash_of(key, len) & (t->nbuckets - 1)];

	while (e != NULL && (e->key_len != len || memcmp(e->key, key, len) != 0))
		e = e->next;
	return e;
}

/* "ID\0CLIENT_KEY" into a new buffer. */
static char *
full_key(const char *key_id, const char *client_key, size_t *len_out)
{
	size_t a = strlen(key_id), b = strlen(client_key);
	char *k = xmalloc(a + 1 + b);

	memcpy(k, key_id, a + 1);
	memcpy(k + a + 1, client_key, b);
	*len_out = a + 1 + b;
	return k;
}

enum idem_result
idem_begin(struct idem *t, const char *key_id, const char *client_key, const char *body_hash,
    uint64_t now_s, int *status_out, json_t **reply_out)
{
	size_t len;
	char *k = full_key(key_id, client_key, &len);
	struct idem_entry *e;

	while (t->oldest != NULL && t->oldest->time_s + KEEP_S <= now_s)
		entry_unlink(t, t->oldest);
	if ((e = find(t, k, len)) != NULL) {
		free(k);
		if (strcmp(e->hash, body_hash) != 0)
			return IDEM_CONFLICT;
		if (!e->is_done)
			return IDEM_BUSY;
		*status_out = e->status;
		*reply_out = json_incref(e->reply);
		return IDEM_REPLAY;
	}
	if (t->n >= t->max)
		entry_unlink(t, t->oldest);
	e = xcalloc(1, sizeof(*e));
	e->key = k;
	e->key_len = len;
	(void)snprintf(e->hash, sizeof(e->hash), "%s", body_hash);
	e->time_s = now_s;
	e->next = t->buckets[hash_of(k, len) & (t->nbuckets - 1)];
	t->buckets[hash_of(k, len) & (t->nbuckets - 1)] = e;
	e->older = t->newest;
	if (t->newest)
		t->newest->newer = e;
	else
		t->oldest = e;
	t->newest = e;
	t->n++;
	return IDEM_NEW;
}

void
idem_end(struct idem *t, const char *key_id, const char *client_key, int status, json_t *reply)
{
	size_t len;
	char *k = full_key(key_id, client_key, &len);
	struct idem_entry *e = find(t, k, len);

	free(k);
	if (e == NULL)
		return;		/* pushed out meanwhile */
	if (reply == NULL) {
		entry_unlink(t, e);	/* nothing to keep: the key may be used again */
		return;
	}
	e->is_done = 1;
	e->status = status;
	e->reply = json_incref(reply);
}
