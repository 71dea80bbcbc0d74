/*
 * ratelimit.c - rate counters in a bounded table: an array of entries that
 * grows by doubling up to its bound and is then reused in place, chained
 * hash buckets of entry indices, and a doubly linked list from the most to
 * the least recently used entry, which is the one a new key takes.
 *
 * Why slots rather than the two other usual ways (see ratelimit.h for the
 * guarantee): a fixed window lets limit events through just before its end
 * and limit more just after, twice the rate in an instant. Two fixed
 * windows weighted by the time elapsed (the "sliding window" estimate) and
 * a token bucket both avoid the instant burst, but either lets nearly
 * 2 x limit through in some interval of the window's length (a full bucket
 * spent at once, then refilled over the window). Slots give a hard bound,
 * "never more than limit in any window", for seven counters an entry.
 */
#include "policy/ratelimit.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "util/siphash.h"
#include "util/xalloc.h"

#define NCOUNTS (RATELIMIT_SLOTS + 1)	/* the current slot and the RATELIMIT_SLOTS before it */
#define NIL UINT32_MAX
#define KEY_DIGEST 0xff			/* key_len of a key kept as its SHA-256 */
#define FIRST_CAP 64

_Static_assert(RATELIMIT_KEY_MAX >= 32 && RATELIMIT_KEY_MAX < KEY_DIGEST,
    "a SHA-256 fits in a key, and key_len tells a digest from a key");

struct rl_entry {
	uint32_t hnext;			/* the next entry in its bucket, or NIL */
	uint32_t newer, older;		/* neighbours in the use order, or NIL */
	uint32_t hash;
	int64_t slot;			/* the newest slot counted in: counts[slot % NCOUNTS] */
	uint32_t counts[NCOUNTS];	/* events per slot, slot - RATELIMIT_SLOTS .. slot */
	uint8_t key_len;		/* 0..RATELIMIT_KEY_MAX, or KEY_DIGEST */
	uint8_t key[RATELIMIT_KEY_MAX];
};

/* A key as an entry keeps it: its bytes, or their digest. */
struct rl_key {
	uint8_t len;
	uint8_t b[RATELIMIT_KEY_MAX];
};

struct ratelimit {
	struct rl_entry *e;		/* e[0 .. len) are in use, none is ever freed alone */
	size_t len, cap, max;
	uint32_t *buckets;		/* nbuckets (a power of two) chain heads */
	size_t nbuckets;
	uint32_t newest, oldest;	/* ends of the use order */
	unsigned limit;
	int64_t slot_ms;
	struct siphash_key sip;		/* random per table: clients cannot choose chains */
};

static void
key_of(const void *key, size_t len, struct rl_key *out)
{
	unsigned n = 0;
	int ok;

	memset(out, 0, sizeof(*out));
	if (len <= RATELIMIT_KEY_MAX) {
		out->len = (uint8_t)len;
		if (len > 0)
			memcpy(out->b, key, len);
		return;
	}
	/* XXX: two long keys with one SHA-256 would share a count; nobody can make them */
	ok = EVP_Digest(key, len, out->b, &n, EVP_sha256(), NULL);
	ASSERT(ok == 1 && n == 32);
	out->len = KEY_DIGEST;
}

static uint32_t
hash_of(const struct ratelimit *t, const struct rl_key *k)
{
	size_t n = k->len == KEY_DIGEST ? 32 : k->len;

	/* the length byte goes in too, so that a digest and a key of the same bytes differ */
	return (uint32_t)siphash13(&t->sip, k, 1 + n);
}

static int
key_equal(const struct rl_entry *e, const struct rl_key *k)
{
	size_t n = k->len == KEY_DIGEST ? 32 : k->len;

	return e->key_len == k->len && memcmp(e->key, k->b, n) == 0;
}

/* ---- the table ---- */

struct ratelimit *
ratelimit_new(unsigned limit, int64_t window_ms, size_t max_entries)
{
	struct ratelimit *t = xcalloc(1, sizeof(*t));

	ASSERT(limit >= 1 && window_ms >= RATELIMIT_SLOTS && max_entries >= 1);
	ASSERT(max_entries < NIL);
	t->limit = limit;
	t->slot_ms = (window_ms + RATELIMIT_SLOTS - 1) / RATELIMIT_SLOTS;
	t->max = max_entries;
	t->newest = t->oldest = NIL;
	siphash_key_random(&t->sip);
	return t;
}

void
ratelimit_free(struct ratelimit **tp)
{
	struct ratelimit *t = *tp;

	if (t == NULL)
		return;
	free(t->e);
	free(t->buckets);
	free(t);
	*tp = NULL;
}

static uint32_t
find(const struct ratelimit *t, const struct rl_key *k, uint32_t h)
{
	if (t->nbuckets == 0)
		return NIL;
	for (uint32_t i = t->buckets[h & (t->nbuckets - 1)]; i != NIL; i = t->e[i].hnext)
		if (t->e[i].hash == h && key_equal(&t->e[i], k))
			return i;
	return NIL;
}

static void
lru_unlink(struct ratelimit *t, uint32_t i)
{
	struct rl_entry *e = &t->e[i];

	if (e->newer != NIL)
		t->e[e->newer].older = e->older;
	else
		t->newest = e->older;
	if (e->older != NIL)
		t->e[e->older].newer = e->newer;
	else
		t->oldest = e->newer;
}

static void
lru_push(struct ratelimit *t, uint32_t i)
{
	struct rl_entry *e = &t->e[i];

	e->newer = NIL;
	e->older = t->newest;
	if (t->newest != NIL)
		t->e[t->newest].newer = i;
	t->newest = i;
	if (t->oldest == NIL)
		t->oldest = i;
}

static void
touch(struct ratelimit *t, uint32_t i)
{
	if (t->newest == i)
		return;
	lru_unlink(t, i);
	lru_push(t, i);
}

static void
bucket_insert(struct ratelimit *t, uint32_t i)
{
	uint32_t *head = &t->buckets[t->e[i].hash & (t->nbuckets - 1)];

	t->e[i].hnext = *head;
	*head = i;
}

static void
bucket_remove(struct ratelimit *t, uint32_t i)
{
	uint32_t *pp = &t->buckets[t->e[i].hash & (t->nbuckets - 1)];

	while (*pp != i) {
		ASSERT(*pp != NIL);
		pp = &t->e[*pp].hnext;
	}
	*pp = t->e[i].hnext;
}

/* Room for one more entry, below the bound: twice the entries, and buckets to match. */
static void
grow(struct ratelimit *t)
{
	size_t cap = t->cap ? t->cap * 2 : FIRST_CAP, nb = t->nbuckets ? t->nbuckets : FIRST_CAP;

	if (cap > t->max)
		cap = t->max;
	t->e = xrealloc(t->e, cap * sizeof(*t->e));
	t->cap = cap;
	while (nb < cap)
		nb *= 2;
	if (nb == t->nbuckets)
		return;
	free(t->buckets);
	t->buckets = xmalloc(nb * sizeof(*t->buckets));
	memset(t->buckets, 0xff, nb * sizeof(*t->buckets));	/* NIL everywhere */
	t->nbuckets = nb;
	for (uint32_t i = 0; i < t->len; i++)
		bucket_insert(t, i);
}

/*
 * The entry for a new key: a fresh one while the table is below its bound,
 * else the least recently used one, forgotten. No allocation once full.
 */
static uint32_t
take_entry(struct ratelimit *t)
{
	uint32_t i;

	if (t->len < t->max) {
		if (t->len == t->cap)
			grow(t);
		return (uint32_t)t->len++;
	}
	i = t->oldest;
	bucket_remove(t, i);
	lru_unlink(t, i);
	return i;
}

/* ---- counting in slots ---- */

static int64_t
slot_of(const struct ratelimit *t, int64_t now_ms)
{
	return now_ms > 0 ? now_ms / t->slot_ms : 0;
}

/* Forgets the slots that have left the window by slot cur. */
static void
advance(struct rl_entry *e, int64_t cur)
{
	/* a clock that stepped back counts into the newest slot: never a fresh window */
	if (cur <= e->slot)
		return;
	if (cur - e->slot >= NCOUNTS)
		memset(e->counts, 0, sizeof(e->counts));
	else
		for (int64_t s = e->slot + 1; s <= cur; s++)
			e->counts[s % NCOUNTS] = 0;
	e->slot = cur;
}

/* The events of e in the window that ends with slot cur, without changing e. */
static uint64_t
window_sum(const struct rl_entry *e, int64_t cur)
{
	int64_t lo = (cur > e->slot ? cur : e->slot) - RATELIMIT_SLOTS;
	uint64_t sum = 0;

	for (int64_t s = lo > 0 ? lo : 0; s <= e->slot; s++)
		sum += e->counts[s % NCOUNTS];
	return sum;
}

/*
 * How long from now_ms until e, advanced to its slot and holding sum >=
 * limit events, has fewer than limit: the oldest slots leave one by one,
 * each at the start of a later slot.
 */
static int64_t
retry_ms(const struct ratelimit *t, const struct rl_entry *e, uint64_t sum, int64_t now_ms)
{
	uint64_t left = sum;

	for (int64_t j = 1; j <= NCOUNTS; j++) {
		int64_t s = e->slot - RATELIMIT_SLOTS + j - 1;	/* leaves at slot e->slot + j */

		if (s >= 0)
			left -= e->counts[s % NCOUNTS];
		if (left < t->limit)
			return (e->slot + j) * t->slot_ms - now_ms;
	}
	ASSERT(!"every count leaves the window");
	return 0;
}

int
ratelimit_check(struct ratelimit *t, const void *key, size_t len, int64_t now_ms,
    int64_t *retry_ms_out)
{
	struct rl_key k;
	uint32_t h, i;
	struct rl_entry *e;
	uint64_t sum;

	if (retry_ms_out != NULL)
		*retry_ms_out = 0;
	key_of(key, len, &k);
	h = hash_of(t, &k);
	if ((i = find(t, &k, h)) == NIL)
		return 1;	/* nothing counted: limit >= 1 allows one */
	e = &t->e[i];
	touch(t, i);
	advance(e, slot_of(t, now_ms));
	sum = window_sum(e, e->slot);
	if (sum < t->limit)
		return 1;
	if (retry_ms_out != NULL)
		*retry_ms_out = retry_ms(t, e, sum, now_ms);
	return 0;
}

void
ratelimit_count(struct ratelimit *t, const void *key, size_t len, int64_t now_ms)
{
	int64_t cur = slot_of(t, now_ms);
	struct rl_key k;
	struct rl_entry *e;
	uint32_t h, i;

	key_of(key, len, &k);
	h = hash_of(t, &k);
	if ((i = find(t, &k, h)) != NIL) {
		e = &t->e[i];
		touch(t, i);
		advance(e, cur);
	} else {
		i = take_entry(t);
		e = &t->e[i];
		memset(e, 0, sizeof(*e));
		e->hash = h;
		e->slot = cur;
		e->key_len = k.len;
		memcpy(e->key, k.b, sizeof(e->key));
		bucket_insert(t, i);
		lru_push(t, i);
	}
	if (e->counts[e->slot % NCOUNTS] < UINT32_MAX)
		e->counts[e->slot % NCOUNTS]++;
}

int
ratelimit_hit(struct ratelimit *t, const void *key, size_t len, int64_t now_ms,
    int64_t *retry_ms_out)
{
	if (!ratelimit_check(t, key, len, now_ms, retry_ms_out))
		return 0;
	ratelimit_count(t, key, len, now_ms);
	return 1;
}

/* ---- looking in ---- */

size_t
ratelimit_len(const struct ratelimit *t)
{
	return t->len;
}

int
ratelimit_has(const struct ratelimit *t, const void *key, size_t len)
{
	struct rl_key k;

	key_of(key, len, &k);
	return find(t, &k, hash_of(t, &k)) != NIL;
}

unsigned
ratelimit_count_of(const struct ratelimit *t, const void *key, size_t len, int64_t now_ms)
{
	struct rl_key k;
	uint32_t i;
	uint64_t sum;

	key_of(key, len, &k);
	if ((i = find(t, &k, hash_of(t, &k))) == NIL)
		return 0;
	sum = window_sum(&t->e[i], slot_of(t, now_ms));
	return sum > UINT32_MAX ? UINT32_MAX : (unsigned)sum;
}

size_t
ratelimit_bytes(const struct ratelimit *t)
{
	return sizeof(*t) + t->cap * sizeof(*t->e) + t->nbuckets * sizeof(*t->buckets);
}

size_t
ratelimit_bytes_per_entry(void)
{
	/* the buckets are the next power of two: at most two per entry */
	return sizeof(struct rl_entry) + 2 * sizeof(uint32_t);
}
