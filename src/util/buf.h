/*
 * buf.h - owned byte buffers with a ceiling, and borrowed slices.
 * A buf never grows past its max: hitting it is an ordinary error that the
 * caller turns into a reply, never a crash. Bytes may hold NUL.
 */
#ifndef STERNA_UTIL_BUF_H
#define STERNA_UTIL_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* Borrowed bytes, never freed through the slice. */
struct slice {
	const uint8_t *p;
	size_t len;
};

/* Owned bytes; data is NULL until the first append. */
struct buf {
	uint8_t *data;
	size_t len, cap, max;
};

#define SLICE_LIT(s) ((struct slice){ (const uint8_t *)(s), sizeof(s) - 1 })

/* Returns a slice of the NUL-terminated s (borrowed). */
struct slice slice_str(const char *s);
/* 1 if a and b hold the same bytes. */
int slice_eq(struct slice a, struct slice b);

/* Sets up an empty buffer that may grow to max bytes. */
void buf_init(struct buf *b, size_t max);
/* Frees the bytes; b may be set up again with buf_init. */
void buf_clear(struct buf *b);
/* Empties b, keeping its memory. */
void buf_reset(struct buf *b);
/* Appends n bytes: 0, or -1 (b unchanged) if that would pass max. */
int buf_append(struct buf *b, const void *p, size_t n);
int buf_append_str(struct buf *b, const char *s);
int buf_append_byte(struct buf *b, uint8_t c);
/* Appends printf output: 0, or -1 (b unchanged) past max. */
int buf_printf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int buf_vprintf(struct buf *b, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
/* Drops the first n bytes (n <= len). */
void buf_consume(struct buf *b, size_t n);
/* Makes room so that n more bytes fit without reallocating: 0, or -1 past max. */
int buf_reserve(struct buf *b, size_t n);
/* Returns the bytes as a NUL-terminated string (the NUL is not counted in len);
 * valid until the next change to b. A buffer holding NUL bytes reads short. */
const char *buf_cstr(struct buf *b);
/* Returns a slice of the bytes, valid until the next change to b. */
struct slice buf_slice(const struct buf *b);

#endif
