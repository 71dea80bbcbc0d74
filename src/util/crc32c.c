/*
 * crc32c.c - CRC-32C: the processor's CRC32 instruction where it has one
 * (x86-64 with SSE4.2: eight bytes per instruction, over three streams at
 * once), slicing-by-8 tables elsewhere; which one is chosen once, at the
 * first call.
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

#if defined(__x86_64__)
/*
 * The instruction takes three cycles to give its result and can start one
 * a cycle: a single running value waits on itself. So a long run is cut in
 * three blocks checksummed side by side, each from its own value, and the
 * three are joined after: a register moved past a block of zero bytes is a
 * linear function of the register, one table lookup per byte of it
 * (shift_by), and the running value over A then B is that of A moved past
 * |B| zeros, XOR that of B from 0. Two block sizes: long runs, then what is
 * left of them and short messages.
 */
#define LONG_BLOCK 4096
#define SHORT_BLOCK 256
static uint32_t shift_long[4][256], shift_short[4][256];

static void shift_build(uint32_t shift[4][256], size_t block);
#endif

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
	if (has_instruction) {
		shift_build(shift_long, LONG_BLOCK);
		shift_build(shift_short, SHORT_BLOCK);
	}
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
/* The same with SSE4.2's CRC32, whose polynomial is CRC-32C's (Castagnoli): one stream. */
__attribute__((target("sse4.2"))) static uint32_t
one_stream(uint32_t crc, const uint8_t *s, size_t n)
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

static uint32_t
shift_by(const uint32_t shift[4][256], uint32_t crc)
{
	return shift[0][crc & 0xff] ^ shift[1][(crc >> 8) & 0xff] ^
	    shift[2][(crc >> 16) & 0xff] ^ shift[3][crc >> 24];
}

/* The register moved past block zero bytes, for every value of each of its four bytes. */
static void
shift_build(uint32_t shift[4][256], size_t block)
{
	static const uint8_t zeros[LONG_BLOCK];
	uint32_t bit[32];

	for (int b = 0; b < 32; b++)
		bit[b] = one_stream(1u << b, zeros, block);
	/* linear: a value's image is the XOR of its bits' images */
	for (int k = 0; k < 4; k++)
		for (uint32_t v = 0; v < 256; v++) {
			uint32_t img = 0;

			for (int b = 0; b < 8; b++)
				if (v & (1u << b))
					img ^= bit[8 * k + b];
			shift[k][v] = img;
		}
}

/* Runs of three blocks of *n at *s, side by side; leaves what is shorter than that. */
__attribute__((target("sse4.2"))) static uint32_t
three_streams(uint32_t crc, const uint8_t **s, size_t *n, size_t block,
    const uint32_t shift[4][256])
{
	const uint8_t *p = *s;
	size_t left = *n;

	while (left >= 3 * block) {
		uint64_t c0 = crc, c1 = 0, c2 = 0;

		for (const uint8_t *end = p + block; p < end; p += 8) {
			uint64_t v0, v1, v2;

			memcpy(&v0, p, 8);
			memcpy(&v1, p + block, 8);
			memcpy(&v2, p + 2 * block, 8);
			c0 = _mm_crc32_u64(c0, v0);
			c1 = _mm_crc32_u64(c1, v1);
			c2 = _mm_crc32_u64(c2, v2);
		}
		crc = shift_by(shift, (uint32_t)c0) ^ (uint32_t)c1;
		crc = shift_by(shift, crc) ^ (uint32_t)c2;
		p += 2 * block;
		left -= 3 * block;
	}
	*s = p;
	*n = left;
	return crc;
}

static uint32_t
by_instruction(uint32_t crc, const uint8_t *s, size_t n)
{
	crc = three_streams(crc, &s, &n, LONG_BLOCK, shift_long);
	crc = three_streams(crc, &s, &n, SHORT_BLOCK, shift_short);
	return one_stream(crc, s, n);
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
