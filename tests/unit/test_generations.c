/*
 * test_generations.c - configuration generations (src/config/restart.c,
 * load.c): references, the object derived from a generation, which keys
 * need a restart, and which of those a new generation changed, as a reload
 * reports them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "config/ucl_int.h"

#define BASE "server { hostname = \"mx.example.test\"; }\n" \
	"listen \"mx\" { address = \"127.0.0.1:2525\"; }\n" \
	"local { domains = [\"example.test\"]; users = [\"postmaster\", \"alice\"]; }\n"

static struct config *
load_text(const char *text)
{
	char err[512];
	struct ucl_doc *d = ucl_parse_mem((const uint8_t *)text, strlen(text), "t.conf", NULL,
	    NULL, err, sizeof(err));
	struct config *c;

	assert_non_null(d);
	c = config_load_doc(d, "t.conf", err, sizeof(err));
	ucl_doc_free(&d);
	if (c == NULL)
		fail_msg("%s", err);
	return c;
}

static int derived_freed;

static void
free_derived(void *p)
{
	assert_string_equal(p, "derived");
	derived_freed++;
}

/* The last reference frees the generation, and what was derived from it with it. */
static void
test_references(void **state)
{
	struct config *c = load_text(BASE), *other;
	static char derived[] = "derived";

	(void)state;
	config_derive(c, derived, free_derived);
	assert_ptr_equal(config_derived(c), derived);
	other = config_ref(c);
	assert_ptr_equal(other, c);
	derived_freed = 0;
	config_free(&c);
	assert_null(c);
	assert_int_equal(derived_freed, 0);	/* other still holds it */
	assert_string_equal(config_derived(other), "derived");
	config_free(&other);
	assert_int_equal(derived_freed, 1);
	config_free(&other);	/* NULL: nothing */
}

static const struct { const char *path; int needs_restart; } restart_cases[] = {
	{ "listen.*.milters", 1 },
	{ "listen.*.address", 0 },
	{ "server.user", 1 },
	{ "server.max_sessions_per_client", 1 },
	{ "spool.dir", 1 },
	{ "smtp.max_message_bytes", 1 },
	{ "auth.users_file", 1 },
	{ "dkim.sign", 1 },
	{ "local.users", 0 },
	{ "local.aliases", 0 },
	{ "outbound.routes", 0 },
	{ "queue.retry_min", 0 },
	{ "smtp.max_errors", 0 },
	{ "auth.fail_delay", 0 },
};

static void
test_needs_restart(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(restart_cases) / sizeof(restart_cases[0]); i++)
		assert_int_equal(config_key_needs_restart(restart_cases[i].path),
		    restart_cases[i].needs_restart);
}

struct change_case {
	const char *extra;	/* after BASE in the new generation */
	const char *want;	/* the keys named */
	size_t n;
};

static const struct change_case change_cases[] = {
	/* reloadable keys only: nothing waits */
	{ "queue { retry_min = 1s; }\nlocal { aliases { info = [\"alice\"]; } }\n", "", 0 },
	/* a listener added: a reload opens it */
	{ "listen \"sub\" { address = \"127.0.0.1:2587\"; }\n", "", 0 },
	/* a section's value changed; a key set */
	{ "milter \"m\" { address = \"inet:127.0.0.1:9999\"; }\n"
	    "listen \"sub\" { address = \"127.0.0.1:2587\"; milters = \"m\"; }\n",
	    "listen.*.milters, milter.*.address", 2 },
	{ "smtp { max_message_bytes = 1m; max_errors = 3; }\n", "smtp.max_message_bytes", 1 },
	{ "server { io_threads = 4; }\nspool { dir = \"/tmp/x\"; }\n",
	    "server.io_threads, spool.dir", 2 },
	/* a key of an existing listener set */
	{ "listen \"mx\" { starttls = true; }\n", "", 0 },
};

static void
test_restart_changes(void **state)
{
	struct config *old = load_text(BASE);
	char out[256], small[20], text[1024];

	(void)state;
	for (size_t i = 0; i < sizeof(change_cases) / sizeof(change_cases[0]); i++) {
		struct config *next;

		(void)snprintf(text, sizeof(text), "%s%s", BASE, change_cases[i].extra);
		next = load_text(text);
		assert_int_equal(config_restart_changes(old, next, out, sizeof(out)),
		    change_cases[i].n);
		assert_string_equal(out, change_cases[i].want);
		/* and back: the same keys, the other way */
		assert_int_equal(config_restart_changes(next, old, out, sizeof(out)),
		    change_cases[i].n);
		config_free(&next);
	}
	/* cut short, with the count still whole */
	{
		struct config *next = load_text(BASE "server { io_threads = 4; user = \"mail\"; }\n"
		    "spool { dir = \"/tmp/x\"; }\n");

		assert_int_equal(config_restart_changes(old, next, small, sizeof(small)), 3);
		assert_string_equal(small, "server.user, ...");
		config_free(&next);
	}
	config_free(&old);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_references),
		cmocka_unit_test(test_needs_restart),
		cmocka_unit_test(test_restart_changes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
