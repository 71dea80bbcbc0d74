/*
 * crc32c.h - CRC-32C (Castagnoli), the checksum of spool records.
 */
#ifndef STERNA_UTIL_CRC32C_H
#define STERNA_UTIL_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Continues the checksum crc (0 to start) over n bytes at p. */
uint32_t crc32c(uint32_t crc, const void *p, size_t n);
/*
 * The same by tables alone, whatever the processor has: for the test that
 * the two agree.
 */
uint32_t crc32c_portable(uint32_t crc, const void *p, size_t n);

#endif
