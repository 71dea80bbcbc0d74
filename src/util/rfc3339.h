/*
 * rfc3339.h - Internet date and time (RFC 3339 5.6): parsing and writing,
 * for FUTURERELEASE's HOLDUNTIL (RFC 4865), the HTTP API's send_at and
 * the times in the event log. Pure.
 */
#ifndef STERNA_UTIL_RFC3339_H
#define STERNA_UTIL_RFC3339_H

#include <stddef.h>
#include <stdint.h>

/*
 * Parses s[0..len): "YYYY-MM-DDThh:mm:ss", optional fraction (ignored),
 * then "Z" or "+hh:mm" / "-hh:mm" ('t' and 'z' too); years 1970 to 9999.
 * The UNIX time in *t_out: 0, or -1 when s is not one.
 */
int rfc3339_parse(const char *s, size_t len, int64_t *t_out);
/* t (UNIX time) as "YYYY-MM-DDThh:mm:ssZ" into out, which holds 32 bytes. */
void rfc3339_format(int64_t t, char out[32]);
/* us (microseconds since the epoch) as "YYYY-MM-DDThh:mm:ss.mmmZ" into out (32 bytes). */
void rfc3339_format_ms(uint64_t us, char out[32]);
/* rfc3339_parse() with the fraction kept: microseconds since the epoch in *us_out; 0, or -1. */
int rfc3339_parse_us(const char *s, size_t len, uint64_t *us_out);

#endif
