/*
 * siphash.c - SipHash-1-3: one compression round per 8-byte word, three
 * at the end, as hash tables use it (Python, Rust); the reference is
 * "SipHash: a fast short-input PRF", 2012. Words are read little-endian
 * whatever the host, so a key gives the same hash everywhere.
 */
#include "util/siphash.h"

#include <stdlib.h>

static uint64_t
rotl(uint64_t x, unsigned b)
{
	return (x << b) | (x >> (64 - b));
}

static void
sip_round(uint64_t v[4])
{
	v[0] += v[1];
	v[1] = rotl(v[1], 13) ^ v[0];
	v[0] = rotl(v[0], 32);
	v[2] += v[3];
	v[3] = rotl(v[3], 16) ^ v[2];
	v[0] += v[3];
	v[3] = rotl(v[3], 21) ^ v[0];
	v[2] += v[1];
	v[1] = rotl(v[1], 17) ^ v[2];
	v[2] = rotl(v[2], 32);
}

void
siphash_key_random(struct siphash_key *key_out)
{
	arc4random_buf(key_out, sizeof(*key_out));
}

uint64_t
siphash13(const struct siphash_key *key, const void *p, size_t n)
{
	const uint8_t *b = p;
	uint64_t v[4] = { 0x736f6d6570736575ull ^ key->k0, 0x646f72616e646f6dull ^ key->k1,
	    0x6c7967656e657261ull ^ key->k0, 0x7465646279746573ull ^ key->k1 };
	uint64_t m, last = (uint64_t)n << 56;
	size_t i;

	for (i = 0; i + 8 <= n; i += 8) {
		m = 0;
		for (unsigned j = 0; j < 8; j++)
			m |= (uint64_t)b[i + j] << (8 * j);
		v[3] ^= m;
		sip_round(v);
		v[0] ^= m;
	}
	for (unsigned j = 0; i + j < n; j++)
		last |= (uint64_t)b[i + j] << (8 * j);
	v[3] ^= last;
	sip_round(v);
	v[0] ^= last;
	v[2] ^= 0xff;
	for (unsigned r = 0; r < 3; r++)
		sip_round(v);
	return v[0] ^ v[1] ^ v[2] ^ v[3];
}
