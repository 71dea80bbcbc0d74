/*
 * ascii.h - locale-free ASCII helpers for protocol keywords.
 * Never use <ctype.h> on peer bytes: its answers depend on the locale and
 * it is undefined for negative chars.
 */
#ifndef STERNA_UTIL_ASCII_H
#define STERNA_UTIL_ASCII_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

static inline int ascii_isalpha(uint8_t c) { return (c | 0x20) >= 'a' && (c | 0x20) <= 'z'; }
static inline int ascii_isdigit(uint8_t c) { return c >= '0' && c <= '9'; }
static inline int ascii_isalnum(uint8_t c) { return ascii_isalpha(c) || ascii_isdigit(c); }
static inline int ascii_isxdigit(uint8_t c) { return ascii_isdigit(c) || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f'); }
static inline uint8_t ascii_tolower(uint8_t c) { return (c >= 'A' && c <= 'Z') ? c | 0x20 : c; }
static inline uint8_t ascii_toupper(uint8_t c) { return (c >= 'a' && c <= 'z') ? c & ~0x20 : c; }
/* printable ASCII, space excluded */
static inline int ascii_isgraph(uint8_t c) { return c > 0x20 && c < 0x7f; }

/* 1 if the n bytes at a and b are equal ignoring ASCII case. */
int ascii_casen_eq(const void *a, const void *b, size_t n);
/* 1 if s equals the NUL-terminated keyword kw, ignoring ASCII case. */
int slice_caseeq(struct slice s, const char *kw);
/* 1 if any of the n bytes at p is >= 0x80 (not ASCII). */
int ascii_has_8bit(const void *p, size_t n);
/* Lowercases s in place (ASCII only). */
void ascii_lower(char *s);
/*
 * Parses an unsigned decimal number with no sign and no
 * leading spaces: 0 and *out, or -1 on any other byte, on an empty input,
 * or when the value does not fit (overflow-checked).
 */
int ascii_parse_u64(struct slice s, uint64_t *out);

#endif
