/*
 * authlimit.h - failed AUTH attempts per client address, over time.
 * Each failure of an address within a window makes its next 535 wait longer
 * (authlimit_delay_ms); at client_max_failures within the window the address
 * is refused outright (454 4.7.0) for a window's length. The table has a
 * fixed number of slots, so a client cycling through addresses cannot grow
 * it; a full neighbourhood gives up its oldest entry.
 * Pure: the caller passes the time, so tests need no clock.
 */
#ifndef STERNA_POLICY_AUTHLIMIT_H
#define STERNA_POLICY_AUTHLIMIT_H

#include <stddef.h>
#include <stdint.h>

struct authlimit;

/* Returns a new table: max_failures per window_s seconds, at most nslots addresses. */
struct authlimit *authlimit_new(unsigned max_failures, unsigned window_s, size_t nslots);
/* Frees *t and sets it to NULL; t may point to NULL. */
void authlimit_free(struct authlimit **t);
/* 1 if the client at ip (text) may try to authenticate at now_s. */
int authlimit_allows(const struct authlimit *t, const char *ip, int64_t now_s);
/* Records a failure of ip at now_s; returns its failures in the current window. */
unsigned authlimit_fail(struct authlimit *t, const char *ip, int64_t now_s);
/* The wait before 535 after the n-th failure (n >= 1): base, doubling each time, at most 16x. */
unsigned authlimit_delay_ms(unsigned base_ms, unsigned n);

#endif
