/*
 * compose_built.h - what test_compose.c shares with compose_built.c, the
 * half of its tests that reads built messages back with GMime's parser.
 */
#ifndef STERNA_TESTS_COMPOSE_BUILT_H
#define STERNA_TESTS_COMPOSE_BUILT_H

#include <jansson.h>

#include "compose/compose.h"

#define NOW 1767225600		/* 2026-01-01T00:00:00Z */
#define HOST "mx.example.test"

/* The limits of every test: the defaults, HOST. */
extern struct compose_limits lim;

/* text as JSON (\u0000 kept), or the test fails. */
json_t *load(const char *text);

void test_full_message(void **state);
void test_shapes(void **state);
void test_encodings(void **state);
void test_envelope(void **state);
void test_batch(void **state);
void test_raw(void **state);

#endif
