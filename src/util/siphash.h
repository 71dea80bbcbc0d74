/*
 * siphash.h - SipHash-1-3 (Aumasson and Bernstein), a keyed hash for hash
 * tables whose keys come from peers: without the key, nobody can choose
 * keys that pile into one bucket.
 */
#ifndef STERNA_UTIL_SIPHASH_H
#define STERNA_UTIL_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

struct siphash_key {
	uint64_t k0, k1;
};

/* *key_out becomes 16 random bytes (arc4random: never fails). */
void siphash_key_random(struct siphash_key *key_out);
/* The 64-bit SipHash-1-3 of n bytes at p (any bytes) under key. */
uint64_t siphash13(const struct siphash_key *key, const void *p, size_t n);

#endif
