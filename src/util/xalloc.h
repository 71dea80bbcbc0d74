/*
 * xalloc.h - allocation that never returns NULL, and the ASSERT macro.
 * Running out of memory aborts: callers never check for NULL.
 */
#ifndef STERNA_UTIL_XALLOC_H
#define STERNA_UTIL_XALLOC_H

#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
/* Returns a new NUL-terminated copy of s. */
char *xstrdup(const char *s);
/* Returns a new NUL-terminated copy of the n bytes at p. */
char *xstrndup(const void *p, size_t n);

/* Broken invariant: always compiled in, aborts with file and line. */
#define ASSERT(cond) \
	((cond) ? (void)0 : assert_fail(#cond, __FILE__, __LINE__))
_Noreturn void assert_fail(const char *what, const char *file, int line);

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

#endif
