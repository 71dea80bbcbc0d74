/*
 * jdepth.h - how deeply JSON text nests, judged on the bytes before any
 * parser sees them. jansson's parser recurses once per array or object, so
 * a request of a million brackets must be refused before it is parsed: the
 * control socket (src/control) and the HTTP API (src/http) both ask here.
 */
#ifndef STERNA_UTIL_JDEPTH_H
#define STERNA_UTIL_JDEPTH_H

#include <stddef.h>
#include <stdint.h>

/*
 * 1 if no array or object in p[0..n) (any bytes) lies deeper than max
 * (a top-level object is depth 1), 0 otherwise. Brackets inside strings do
 * not count; whatever else is wrong with the text is left to the parser,
 * which then never nests deeper than max.
 */
int jdepth_ok(const uint8_t *p, size_t n, unsigned max);

#endif
