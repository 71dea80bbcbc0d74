/*
 * listset.c - one allow or block list as a table to look things up in:
 * open addressing over tagged keys for names, domains, addresses and
 * networks. A network is kept masked to its prefix, and an address is
 * looked up once per prefix length that occurs in the list, longest
 * first: thousands of networks of a handful of lengths cost a handful of
 * probes, where a scan would cost thousands of comparisons.
 * XXX: the hash is unseeded FNV-1a. Keys come from the operator, never
 * from a client, and a client's lookup inserts nothing, so a client can
 * only probe chains the operator's data made; at a load of one half they
 * stay short.
 */
#include "policy/lists_int.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "util/ascii.h"
#include "util/xalloc.h"

/* The first byte of a key: what the rest of it is. */
enum {
	TAG_NET = 'N',		/* family (4 or 6), prefix bits, the masked address */
	TAG_NAME = 'E',		/* a name, exactly */
	TAG_SUFFIX = 'S',	/* a domain whose subdomains match */
	TAG_ADDRESS = 'A',	/* local@domain */
	TAG_DOMAIN = 'D',	/* a domain whose addresses match */
};

#define KEY_MAX (1 + CONFIG_ENTRY_KEY_MAX)

static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

static uint32_t
hash_bytes(const uint8_t *p, size_t n)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

void
lists_table_init(struct lists_table *t)
{
	memset(t, 0, sizeof(*t));
	buf_init(&t->keys, SIZE_MAX);
	buf_init(&t->text, SIZE_MAX);
}

void
lists_table_clear(struct lists_table *t)
{
	free(t->slots);
	free(t->at);
	buf_clear(&t->keys);
	buf_clear(&t->text);
	memset(t, 0, sizeof(*t));
}

static void
grow(struct lists_table *t)
{
	size_t n = t->nslots ? t->nslots * 2 : 64;
	struct lists_slot *slots = xcalloc(n, sizeof(*slots));

	for (size_t i = 0; i < t->nslots; i++) {
		const struct lists_slot *s = &t->slots[i];
		size_t k;

		if (s->idx1 == 0)
			continue;
		for (k = s->hash & (n - 1); slots[k].idx1 != 0; k = (k + 1) & (n - 1))
			;
		slots[k] = *s;
	}
	free(t->slots);
	t->slots = slots;
	t->nslots = n;
}

/* The slot of key, or NULL. */
static const struct lists_slot *
find(const struct lists_table *t, const uint8_t *key, size_t len)
{
	uint32_t h = hash_bytes(key, len);

	if (t->nkeys == 0)
		return NULL;
	for (size_t k = h & (t->nslots - 1);; k = (k + 1) & (t->nslots - 1)) {
		const struct lists_slot *s = &t->slots[k];

		if (s->idx1 == 0)
			return NULL;
		if (s->hash == h && s->len == len && memcmp(t->keys.data + s->off, key, len) == 0)
			return s;
	}
}

static void
insert(struct lists_table *t, const uint8_t *key, size_t len, uint32_t idx1)
{
	uint32_t h = hash_bytes(key, len);
	size_t k;
	int rc;

	if (find(t, key, len) != NULL)
		return;		/* a repeat: the first entry is the one named */
	if (2 * (t->nkeys + 1) > t->nslots)
		grow(t);
	for (k = h & (t->nslots - 1); t->slots[k].idx1 != 0; k = (k + 1) & (t->nslots - 1))
		;
	/* a file is at most LISTS_FILE_MAX bytes: its keys and entries fit in 32 bits */
	ASSERT(t->keys.len + len <= UINT32_MAX);
	t->slots[k] = (struct lists_slot){ h, idx1, (uint32_t)t->keys.len, (uint32_t)len };
	rc = buf_append(&t->keys, key, len);
	ASSERT(rc == 0);	/* the buffer has no ceiling */
	t->nkeys++;
}

/* The key of a network: tag, family, prefix bits, then the address bytes. */
static size_t
net_key(uint8_t key[KEY_MAX], int family, unsigned bits, const uint8_t *addr)
{
	size_t n = family == AF_INET ? 4 : 16;

	key[0] = TAG_NET;
	key[1] = family == AF_INET ? 4 : 6;
	key[2] = (uint8_t)bits;
	memcpy(key + 3, addr, n);
	/* the bits after the prefix are zero, as cidr_parse() left the network's */
	for (unsigned i = bits; i < 8 * n; i++)
		key[3 + i / 8] &= (uint8_t)~(0x80u >> (i % 8));
	return 3 + n;
}

static size_t
text_key(uint8_t key[KEY_MAX], uint8_t tag, const void *p, size_t len)
{
	ASSERT(len < KEY_MAX);
	key[0] = tag;
	memcpy(key + 1, p, len);
	return 1 + len;
}

void
lists_table_add(struct lists_table *t, const struct config_entry *e)
{
	uint8_t key[KEY_MAX];
	uint32_t idx1;
	size_t len = 0;

	ASSERT(t->n < UINT32_MAX);
	idx1 = (uint32_t)++t->n;
	switch (e->form) {
	case CONFIG_ENTRY_NETWORK:
		len = net_key(key, e->net.family, e->net.prefix_bits, e->net.addr);
		if (e->net.family == AF_INET)
			t->lens4 |= 1ull << e->net.prefix_bits;
		else
			t->lens6[e->net.prefix_bits / 64] |= 1ull << (e->net.prefix_bits % 64);
		break;
	case CONFIG_ENTRY_NAME:
		len = text_key(key, TAG_NAME, e->key, e->key_len);
		break;
	case CONFIG_ENTRY_SUFFIX:
		len = text_key(key, TAG_SUFFIX, e->key, e->key_len);
		break;
	case CONFIG_ENTRY_ADDRESS:
		len = text_key(key, TAG_ADDRESS, e->key, e->key_len);
		break;
	case CONFIG_ENTRY_DOMAIN:
		len = text_key(key, TAG_DOMAIN, e->key, e->key_len);
		break;
	case CONFIG_ENTRY_NULL:
		if (t->null_idx1 == 0)
			t->null_idx1 = idx1;
		return;
	}
	insert(t, key, len, idx1);
}

void
lists_table_keep_text(struct lists_table *t, const uint8_t *text, size_t len, unsigned line)
{
	int rc;

	ASSERT(t->n > 0 && t->text.len + len + 1 <= UINT32_MAX);
	if (t->n > t->at_cap) {
		t->at_cap = t->at_cap ? t->at_cap * 2 : 64;
		t->at = xrealloc(t->at, t->at_cap * sizeof(*t->at));
	}
	t->at[t->n - 1] = (struct lists_at){ (uint32_t)t->text.len, line };
	rc = buf_append(&t->text, text, len);
	if (rc == 0)
		rc = buf_append_byte(&t->text, '\0');
	ASSERT(rc == 0);	/* the buffer has no ceiling */
}

/* Probes each prefix length in lens (bits 0..nbits-1 of the words), longest first. */
static uint32_t
find_net(const struct lists_table *t, const uint64_t *lens, unsigned nbits, int family,
    const uint8_t *addr)
{
	uint8_t key[KEY_MAX];

	for (unsigned b = nbits; b-- > 0;) {
		const struct lists_slot *s;

		if (!(lens[b / 64] & (1ull << (b % 64))))
			continue;
		if ((s = find(t, key, net_key(key, family, b, addr))) != NULL)
			return s->idx1;
	}
	return 0;
}

uint32_t
lists_table_find_ip(const struct lists_table *t, int family, const uint8_t *addr)
{
	uint8_t mapped[16];
	uint32_t hit;

	if (family == AF_INET6)
		return find_net(t, t->lens6, 129, AF_INET6, addr);
	if ((hit = find_net(t, &t->lens4, 33, AF_INET, addr)) != 0)
		return hit;
	/* as cidr_match_text(): an IPv4 client is ::ffff:a.b.c.d to an IPv6 network */
	memcpy(mapped, v4mapped, 12);
	memcpy(mapped + 12, addr, 4);
	return find_net(t, t->lens6, 129, AF_INET6, mapped);
}

/* tag + s[0..len), or 0. */
static uint32_t
find_text(const struct lists_table *t, uint8_t tag, const char *s, size_t len)
{
	uint8_t key[KEY_MAX];
	const struct lists_slot *s1;

	if (len >= KEY_MAX)
		return 0;
	s1 = find(t, key, text_key(key, tag, s, len));
	return s1 != NULL ? s1->idx1 : 0;
}

/* ".example.com" entries: the domains that name[0..len) is under, nearest first. */
static uint32_t
find_suffix(const struct lists_table *t, const char *name, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		uint32_t hit;

		if (name[i] == '.' && (hit = find_text(t, TAG_SUFFIX, name + i + 1, len - i - 1)) != 0)
			return hit;
	}
	return 0;
}

uint32_t
lists_table_find_name(const struct lists_table *t, const char *name, size_t len)
{
	uint32_t hit;

	if (t->nkeys == 0 || len == 0)
		return 0;
	if ((hit = find_text(t, TAG_NAME, name, len)) != 0)
		return hit;
	/* a literal has no domains above it: "[192.0.2.1]" is not under "2.1]" */
	return name[0] == '[' ? 0 : find_suffix(t, name, len);
}

uint32_t
lists_table_find_addr(const struct lists_table *t, const struct smtp_addr *a)
{
	uint8_t key[KEY_MAX];
	const struct lists_slot *s;
	uint32_t hit;

	if (a->is_null)
		return t->null_idx1;
	if (t->nkeys == 0 || a->domain_len == 0)
		return 0;	/* a bare postmaster has no domain to match */
	if (a->local_len + 1 + a->domain_len <= CONFIG_ENTRY_KEY_MAX) {
		key[0] = TAG_ADDRESS;
		memcpy(key + 1, a->local, a->local_len);
		key[1 + a->local_len] = '@';
		memcpy(key + 2 + a->local_len, a->domain, a->domain_len);
		if ((s = find(t, key, 2 + a->local_len + a->domain_len)) != NULL)
			return s->idx1;
	}
	if ((hit = find_text(t, TAG_DOMAIN, a->domain, a->domain_len)) != 0)
		return hit;
	return a->is_literal ? 0 : find_suffix(t, a->domain, a->domain_len);
}
