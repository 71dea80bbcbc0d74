/*
 * crc32c.c - CRC-32C: the processor's CRC32 instruction where it has one
 * (x86-64 with SSE4.2: eight bytes per instruction), slicing-by-8 tables
 * built once elsewhere; which one is chosen once, at the first call.
 * The spool checksums every record, every byte of every message twice
 * (written, and read back to be sent or delivered); none of our
 * dependencies exports a CRC-32C, and a cryptographic hash would cost ten
 * times as much here.
 */
#include "crc32c.h"

#include <pthread.h>
#include <string.h>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

static uint32_t table[8][256];
static int has_instruction;
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

static void
table_build(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;

		for (int k = 0; k < 8; k++)
			c = (c & 1) ? (c >> 1) ^ 0x82f63b78u : c >> 1;
		table[0][i] = c;
	}
	for (uint32_t i = 0; i < 256; i++)
		for (int t = 1; t < 8; t++)
			table[t][i] = (table[t - 1][i] >> 8) ^ table[0][table[t - 1][i] & 0xff];
#if defined(__x86_64__)
	__builtin_cpu_init();
	has_instruction = __builtin_cpu_supports("sse4.2");
#endif
}

/* crc is the running value, already inverted; so is the result. */
static uint32_t
by_tables(uint32_t crc, const uint8_t *s, size_t n)
{
	while (n >= 8) {
		uint32_t lo = crc ^ ((uint32_t)s[0] | (uint32_t)s[1] << 8 |
		    (uint32_t)s[2] << 16 | (uint32_t)s[3] << 24);
		uint32_t hi = (uint32_t)s[4] | (uint32_t)s[5] << 8 |
		    (uint32_t)s[6] << 16 | (uint32_t)s[7] << 24;

		crc = table[7][lo & 0xff] ^ table[6][(lo >> 8) & 0xff] ^
		    table[5][(lo >> 16) & 0xff] ^ table[4][lo >> 24] ^
		    table[3][hi & 0xff] ^ table[2][(hi >> 8) & 0xff] ^
		    table[1][(hi >> 16) & 0xff] ^ table[0][hi >> 24];
		s += 8;
		n -= 8;
	}
	while (n--)
		crc = (crc >> 8) ^ table[0][(crc ^ *s++) & 0xff];
	return crc;
}

#if defined(__x86_64__)
/* The same with SSE4.2's CRC32, whose polynomial is CRC-32C's (Castagnoli). */
__attribute__((target("sse4.2"))) static uint32_t
by_instruction(uint32_t crc, const uint8_t *s, size_t n)
{
	uint64_t c = crc;

	while (n >= 8) {
		uint64_t v;

		memcpy(&v, s, sizeof(v));	/* any alignment; little-endian, as the tables read */
		c = _mm_crc32_u64(c, v);
		s += 8;
		n -= 8;
	}
	crc = (uint32_t)c;
	while (n--)
		crc = _mm_crc32_u8(crc, *s++);
	return crc;
}
#endif

uint32_t
crc32c(uint32_t crc, const void *p, size_t n)
{
	pthread_once(&table_once, table_build);
#if defined(__x86_64__)
	if (has_instruction)
		return ~by_instruction(~crc, p, n);
#endif
	return ~by_tables(~crc, p, n);
}

uint32_t
crc32c_portable(uint32_t crc, const void *p, size_t n)
{
	pthread_once(&table_once, table_build);
	return ~by_tables(~crc, p, n);
}
