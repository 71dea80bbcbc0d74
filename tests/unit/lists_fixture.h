/*
 * lists_fixture.h - what the tests of the allow and block lists share
 * (test_lists.c, test_listfile.c): a temporary folder per test for list
 * files, a configuration from text, lists on a clock the test moves, and
 * the questions of a session.
 */
#ifndef STERNA_TESTS_LISTS_FIXTURE_H
#define STERNA_TESTS_LISTS_FIXTURE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "config/config.h"
#include "policy/lists.h"
#include "smtp/session.h"

#define BASE "server { hostname = \"mx.example.test\"; }\n" \
	"listen \"mx\" { address = \"127.0.0.1:2525\"; }\n"

extern char lt_dir[64];		/* a temporary folder for list files, per test */
extern uint64_t lt_now_ms;	/* the lists' clock */

/* cmocka set-up and tear-down: a new folder in lt_dir, and its removal. */
int lt_setup(void **state);
int lt_teardown(void **state);
/* lt_dir/name, in a static buffer of its own per slot (0 or 1). */
const char *lt_path(const char *name, int slot);
/* Writes len bytes to lt_dir/name (replacing it) with modification time mtime_s. */
void lt_write_file(const char *name, const void *data, size_t len, time_t mtime_s);
/* BASE, then text with "@DIR@" replaced by lt_dir: NULL and err, or the config. */
struct config *lt_load_text(const char *text, char *err, size_t errsize);
/* The config and its lists from text, which must load; the lists go by lt_now_ms. */
struct policy_lists *lt_lists_from(const char *text, struct config **c_out);
struct smtp_ask lt_ask_connect(const char *ip);
/* path (between '<' and '>'), which must parse. */
struct smtp_addr lt_addr(const char *path);

#endif
