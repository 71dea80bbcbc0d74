/*
 * test_local.c - local recipients (policy/local.c) against configs/local.conf:
 * what each address adds to the envelope (final address, the address the
 * client gave, the mailbox or none for a forward), through nested aliases,
 * aliases that forward to other domains, and alias targets that are
 * addresses in a local domain; duplicates; and that relay control still
 * judges only the address the client gave.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "config/config.h"
#include "policy/policy.h"
#include "smtp/session.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define MAX_TARGETS 4

struct target {
	const char *to;
	const char *mailbox;	/* NULL: a remote recipient, relayed */
};

/* From a client that may not relay: whatever it reaches here, an alias reached. */
static const struct {
	const char *path;
	enum policy_rcpt_result want;
	struct target targets[MAX_TARGETS];	/* in order; to == NULL ends the list */
} cases[] = {
	{ "alice@example.test", POLICY_RCPT_ACCEPT, { { "alice@example.test", "alice" } } },
	/* a local user and a forward */
	{ "info@example.test", POLICY_RCPT_ACCEPT,
	    { { "alice@example.test", "alice" }, { "partner@other.example", NULL } } },
	/* the local target takes the domain the client named; the forward stays as written */
	{ "INFO@LocalHost", POLICY_RCPT_ACCEPT,
	    { { "alice@localhost", "alice" }, { "partner@other.example", NULL } } },
	{ "info+tag@example.test", POLICY_RCPT_ACCEPT,
	    { { "alice@example.test", "alice" }, { "partner@other.example", NULL } } },
	/* only forwards: the local part keeps its case, the domain is lowercased */
	{ "away@example.test", POLICY_RCPT_ACCEPT,
	    { { "Partner@other.example", NULL }, { "second@far.example", NULL } } },
	/* partner twice (through info, and written in another case): one copy */
	{ "team@example.test", POLICY_RCPT_ACCEPT,
	    { { "alice@example.test", "alice" }, { "partner@other.example", NULL },
	      { "bob@example.test", "bob" } } },
	{ "mixed@example.test", POLICY_RCPT_ACCEPT,
	    { { "alice@example.test", "alice" }, { "partner@other.example", NULL },
	      { "second@far.example", NULL } } },
	/* addresses in a local domain are looked up again, +tag and all */
	{ "here@example.test", POLICY_RCPT_ACCEPT,
	    { { "bob@localhost", "bob" }, { "alice+lists@example.test", "alice" } } },
	{ "chain@example.test", POLICY_RCPT_ACCEPT,
	    { { "bob@localhost", "bob" }, { "alice+lists@example.test", "alice" } } },
	/* the deepest nesting the configuration allows is expanded to its end */
	{ "d1@example.test", POLICY_RCPT_ACCEPT, { { "far@other.example", NULL } } },
	{ "nobody@example.test", POLICY_RCPT_UNKNOWN, { { NULL, NULL } } },
	/* the forward is the alias's; the client itself still may not relay there */
	{ "partner@other.example", POLICY_RCPT_RELAY_DENIED, { { NULL, NULL } } },
	{ "info%other.example@example.test", POLICY_RCPT_TRICK, { { NULL, NULL } } },
};

static struct config *
local_conf(void)
{
	char err[1024];
	struct config *c = config_load(SRCDIR "/configs/local.conf", err, sizeof(err));

	if (c == NULL)
		fail_msg("%s", err);
	return c;
}

static struct smtp_addr
addr(const char *path)
{
	struct smtp_addr a;

	if (smtp_addr_parse(slice_str(path), 1, &a) != SMTP_ADDR_OK)
		fail_msg("'%s' does not parse", path);
	return a;
}

static void
test_targets(void **state)
{
	struct config *c = local_conf();
	struct local_db *db = local_db_new(c);
	const struct relay_client untrusted = { .ip = "198.51.100.7", .local_ip = "127.0.0.1" };

	(void)state;
	for (size_t i = 0; i < NELEM(cases); i++) {
		struct smtp_addr a = addr(cases[i].path);
		struct spool_msg *env = spool_msg_new();
		char orig[SMTP_ADDR_FMT_MAX];
		enum policy_rcpt_result d = policy_rcpt(db, &untrusted, &a, env);
		size_t n = 0;

		if (d != cases[i].want)
			fail_msg("'%s': got %d, want %d", cases[i].path, d, cases[i].want);
		while (n < MAX_TARGETS && cases[i].targets[n].to != NULL)
			n++;
		if (env->nrcpts != n)
			fail_msg("'%s': %zu targets, want %zu", cases[i].path, env->nrcpts, n);
		assert_int_equal(smtp_addr_format(&a, orig, sizeof(orig)), 0);
		for (size_t k = 0; k < n; k++) {
			const struct spool_rcpt *r = &env->rcpts[k];
			const struct target *t = &cases[i].targets[k];

			if (strcmp(r->to, t->to) != 0)
				fail_msg("'%s' target %zu: to <%s>, want <%s>", cases[i].path, k, r->to,
				    t->to);
			/* the client's address, for the notice's Original-Recipient */
			assert_string_equal(r->orig, orig);
			if (t->mailbox == NULL)
				assert_null(r->mailbox);
			else
				assert_string_equal(r->mailbox, t->mailbox);
		}
		spool_msg_free(&env);
	}
	local_db_free(&db);
	config_free(&c);
}

/* RCPT TO the same alias twice, or a forward and the same address directly: no second copy. */
static void
test_repeats(void **state)
{
	struct config *c = local_conf();
	struct local_db *db = local_db_new(c);
	const struct relay_client trusted = { .ip = "192.0.2.9", .local_ip = "127.0.0.1",
		.is_trusted = 1 };
	struct spool_msg *env = spool_msg_new();
	struct smtp_addr a = addr("info@example.test"), b = addr("PARTNER@other.example");

	(void)state;
	assert_int_equal(policy_rcpt(db, &trusted, &a, env), POLICY_RCPT_ACCEPT);
	assert_int_equal(env->nrcpts, 2);
	assert_int_equal(policy_rcpt(db, &trusted, &a, env), POLICY_RCPT_ACCEPT);
	assert_int_equal(env->nrcpts, 2);
	/* the same address in another case: remote local parts may mean case, but one copy */
	assert_int_equal(policy_rcpt(db, &trusted, &b, env), POLICY_RCPT_ACCEPT);
	assert_int_equal(env->nrcpts, 2);
	assert_string_equal(env->rcpts[1].orig, "info@example.test");
	spool_msg_free(&env);
	local_db_free(&db);
	config_free(&c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_targets),
		cmocka_unit_test(test_repeats),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
