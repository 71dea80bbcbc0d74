/*
 * test_relay.c - relay control: CIDR parsing and matching (util/cidr.c),
 * the relay-trick classifier and the destination of an address, and the
 * whole recipient decision (policy/relay.c) for trusted, untrusted and
 * authenticated clients, against configs/relay.conf.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "policy/policy.h"
#include "smtp/session.h"
#include "util/cidr.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* ---- CIDR ---- */

static const struct {
	const char *in;
	enum cidr_err want;
	const char *canon;
} cidr_cases[] = {
	{ "127.0.0.0/8", CIDR_OK, "127.0.0.0/8" },
	{ "0.0.0.0/0", CIDR_OK, "0.0.0.0/0" },
	{ "192.0.2.1", CIDR_OK, "192.0.2.1/32" },
	{ "192.0.2.1/32", CIDR_OK, "192.0.2.1/32" },
	{ "::1/128", CIDR_OK, "::1/128" },
	{ "::1", CIDR_OK, "::1/128" },
	{ "2001:DB8::/32", CIDR_OK, "2001:db8::/32" },
	{ "::/0", CIDR_OK, "::/0" },
	{ "10.0.0.0/33", CIDR_SYNTAX, NULL },
	{ "::/129", CIDR_SYNTAX, NULL },
	{ "10.0.0.0/", CIDR_SYNTAX, NULL },
	{ "10.0.0.0/08", CIDR_SYNTAX, NULL },
	{ "10.0.0.0/+8", CIDR_SYNTAX, NULL },
	{ "10.0.0.0/-8", CIDR_SYNTAX, NULL },
	{ "10.0.0.0/8 ", CIDR_SYNTAX, NULL },
	{ " 10.0.0.0/8", CIDR_SYNTAX, NULL },
	{ "10.0.0/8", CIDR_SYNTAX, NULL },
	{ "10.0.0.256/32", CIDR_SYNTAX, NULL },
	{ "localhost/8", CIDR_SYNTAX, NULL },
	{ "/8", CIDR_SYNTAX, NULL },
	{ "", CIDR_SYNTAX, NULL },
	{ "10.0.0.0/8/8", CIDR_SYNTAX, NULL },
	{ "[::1]/128", CIDR_SYNTAX, NULL },
	{ "10.1.2.3/8", CIDR_HOST_BITS, "10.0.0.0/8" },
	{ "127.0.0.1/31", CIDR_HOST_BITS, "127.0.0.0/31" },
	{ "2001:db8::1/64", CIDR_HOST_BITS, "2001:db8::/64" },
};

static void
test_cidr_parse(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(cidr_cases); i++) {
		struct cidr c;
		char out[64];
		enum cidr_err e = cidr_parse(cidr_cases[i].in, &c);

		if (e != cidr_cases[i].want)
			fail_msg("'%s': got %d, want %d", cidr_cases[i].in, e, cidr_cases[i].want);
		if (cidr_cases[i].canon != NULL) {
			assert_int_equal(cidr_format(&c, out, sizeof(out)), 0);
			assert_string_equal(out, cidr_cases[i].canon);
		}
	}
}

static const struct {
	const char *net, *ip;
	int want;
} match_cases[] = {
	{ "127.0.0.0/8", "127.0.0.1", 1 },
	{ "127.0.0.0/8", "127.255.255.255", 1 },
	{ "127.0.0.0/8", "128.0.0.1", 0 },
	{ "127.0.0.0/8", "126.255.255.255", 0 },
	{ "127.0.0.2/32", "127.0.0.2", 1 },
	{ "127.0.0.2/32", "127.0.0.1", 0 },
	{ "127.0.0.2/32", "127.0.0.3", 0 },
	{ "192.0.2.128/25", "192.0.2.127", 0 },
	{ "192.0.2.128/25", "192.0.2.128", 1 },
	{ "192.0.2.128/25", "192.0.2.255", 1 },
	{ "10.0.0.0/13", "10.7.255.255", 1 },	/* a prefix that ends inside a byte */
	{ "10.0.0.0/13", "10.8.0.0", 0 },
	{ "0.0.0.0/0", "203.0.113.9", 1 },
	{ "0.0.0.0/0", "::1", 0 },		/* an IPv4 network never holds a real IPv6 address */
	{ "::1/128", "::1", 1 },
	{ "::1/128", "::2", 0 },
	{ "::1/128", "127.0.0.1", 0 },
	{ "2001:db8::/32", "2001:db8:ffff::1", 1 },
	{ "2001:db8::/32", "2001:db9::1", 0 },
	{ "::/0", "2001:db8::1", 1 },
	/* a dual-stack socket shows an IPv4 client as ::ffff:a.b.c.d */
	{ "127.0.0.0/8", "::ffff:127.0.0.1", 1 },
	{ "127.0.0.0/8", "::ffff:10.0.0.1", 0 },
	{ "::ffff:0:0/96", "127.0.0.1", 1 },
	{ "127.0.0.0/8", "::127.0.0.1", 0 },	/* IPv4-compatible is not IPv4-mapped */
	{ "127.0.0.0/8", "unknown", 0 },
	{ "127.0.0.0/8", "", 0 },
	{ "127.0.0.0/8", "127.0.0.1 ", 0 },
};

static void
test_cidr_match(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(match_cases); i++) {
		struct cidr c;

		assert_int_equal(cidr_parse(match_cases[i].net, &c), CIDR_OK);
		if (cidr_match_text(&c, match_cases[i].ip) != match_cases[i].want)
			fail_msg("%s in %s: want %d", match_cases[i].ip, match_cases[i].net,
			    match_cases[i].want);
	}
}

static void
test_cidr_list(void **state)
{
	struct cidr list[2];

	(void)state;
	assert_int_equal(cidr_parse("10.0.0.0/8", &list[0]), CIDR_OK);
	assert_int_equal(cidr_parse("::1", &list[1]), CIDR_OK);
	assert_int_equal(cidr_list_match(list, 2, "10.1.1.1"), 1);
	assert_int_equal(cidr_list_match(list, 2, "::1"), 1);
	assert_int_equal(cidr_list_match(list, 2, "127.0.0.1"), 0);
	assert_int_equal(cidr_list_match(list, 0, "10.1.1.1"), 0);	/* the default: nobody */
}

/* ---- addresses ---- */

static struct smtp_addr
addr(const char *path)
{
	struct smtp_addr a;

	if (smtp_addr_parse(slice_str(path), 1, &a) != SMTP_ADDR_OK)
		fail_msg("'%s' does not parse", path);
	return a;
}

static const struct {
	const char *path;
	enum relay_trick want;
} trick_cases[] = {
	{ "user@example.test", RELAY_TRICK_NONE },
	{ "user@other.test", RELAY_TRICK_NONE },
	{ "first.last+tag@example.test", RELAY_TRICK_NONE },
	{ "postmaster", RELAY_TRICK_NONE },
	{ "user%other.test@example.test", RELAY_TRICK_PERCENT },
	{ "user%other.test@other.test", RELAY_TRICK_PERCENT },
	{ "user%other.test%third.test@example.test", RELAY_TRICK_PERCENT },
	{ "\"user%other.test\"@example.test", RELAY_TRICK_PERCENT },
	{ "other.test!user@example.test", RELAY_TRICK_BANG },
	{ "a!b!user@example.test", RELAY_TRICK_BANG },
	{ "\"user@other.test\"@example.test", RELAY_TRICK_AT },
	{ "\"user\\@other.test\"@example.test", RELAY_TRICK_AT },
	{ "\"user@other.test\"@other.test", RELAY_TRICK_AT },
	{ "\"a%b@c\"@example.test", RELAY_TRICK_AT },	/* the '@' is the one that counts */
	{ "@a.test:user@b.test", RELAY_TRICK_ROUTE },
	{ "@a.test,@b.test:user@example.test", RELAY_TRICK_ROUTE },
	{ "\"user other\"@example.test", RELAY_TRICK_NONE },
	{ "user@[192.0.2.1]", RELAY_TRICK_NONE },
};

static void
test_trick(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(trick_cases); i++) {
		struct smtp_addr a = addr(trick_cases[i].path);

		if (relay_trick(&a) != trick_cases[i].want)
			fail_msg("'%s': got %s, want %s", trick_cases[i].path,
			    relay_trick_name(relay_trick(&a)), relay_trick_name(trick_cases[i].want));
	}
	assert_string_equal(relay_trick_name(RELAY_TRICK_PERCENT), "percent");
}

/* Trailing dots do not even parse: "user@other.test." can never pass for another domain. */
static void
test_trailing_dot_is_syntax(void **state)
{
	struct smtp_addr a;

	(void)state;
	assert_int_equal(smtp_addr_parse(slice_str("user@other.test."), 1, &a), SMTP_ADDR_SYNTAX);
	assert_int_equal(smtp_addr_parse(slice_str("user@example.test."), 1, &a), SMTP_ADDR_SYNTAX);
	assert_int_equal(smtp_addr_parse(slice_str("user@example.test.."), 1, &a), SMTP_ADDR_SYNTAX);
}

static struct config *
relay_conf(void)
{
	char err[1024];
	struct config *c = config_load(SRCDIR "/configs/relay.conf", err, sizeof(err));

	if (c == NULL)
		fail_msg("%s", err);
	return c;
}

static const struct {
	const char *path, *local_ip;
	enum relay_dest want;
} dest_cases[] = {
	{ "alice@example.test", "127.0.0.1", RELAY_DEST_LOCAL },
	{ "alice@EXAMPLE.TEST", "127.0.0.1", RELAY_DEST_LOCAL },	/* domains ignore case */
	{ "alice@Example.Test", "127.0.0.1", RELAY_DEST_LOCAL },
	{ "alice@localhost", "127.0.0.1", RELAY_DEST_LOCAL },
	{ "postmaster", "127.0.0.1", RELAY_DEST_LOCAL },
	{ "alice@other.test", "127.0.0.1", RELAY_DEST_REMOTE },
	{ "alice@Other.Test", "127.0.0.1", RELAY_DEST_REMOTE },
	{ "alice@example.test.other.test", "127.0.0.1", RELAY_DEST_REMOTE },
	{ "alice@sub.example.test", "127.0.0.1", RELAY_DEST_REMOTE },	/* a subdomain is another domain */
	{ "alice@test", "127.0.0.1", RELAY_DEST_REMOTE },
	{ "alice@[127.0.0.1]", "127.0.0.1", RELAY_DEST_LOCAL },	/* this server's own address */
	{ "alice@[127.0.0.1]", "127.0.0.2", RELAY_DEST_LITERAL },
	{ "alice@[192.0.2.1]", "127.0.0.1", RELAY_DEST_LITERAL },
	{ "alice@[IPv6:::1]", "::1", RELAY_DEST_LOCAL },
	{ "alice@[IPv6:0:0::1]", "::1", RELAY_DEST_LOCAL },
	{ "alice@[IPv6:::1]", "127.0.0.1", RELAY_DEST_LITERAL },
	{ "alice@[IPv6:2001:db8::1]", "::1", RELAY_DEST_LITERAL },
	{ "alice@[127.0.0.1]", "", RELAY_DEST_LITERAL },	/* unknown local address: not ours */
};

static void
test_dest(void **state)
{
	struct config *c = relay_conf();

	(void)state;
	for (size_t i = 0; i < NELEM(dest_cases); i++) {
		struct smtp_addr a = addr(dest_cases[i].path);

		if (relay_dest(c, dest_cases[i].local_ip, &a) != dest_cases[i].want)
			fail_msg("'%s' on %s: got %d, want %d", dest_cases[i].path,
			    dest_cases[i].local_ip, relay_dest(c, dest_cases[i].local_ip, &a),
			    dest_cases[i].want);
	}
	assert_int_equal(relay_is_trusted(c, "192.0.2.77"), 1);
	assert_int_equal(relay_is_trusted(c, "2001:db8::5"), 1);
	assert_int_equal(relay_is_trusted(c, "127.0.0.2"), 1);
	assert_int_equal(relay_is_trusted(c, "127.0.0.1"), 0);
	assert_int_equal(relay_is_trusted(c, "::1"), 0);
	config_free(&c);
}

/* ---- the whole decision ---- */

enum who { UNTRUSTED, TRUSTED, AUTHED };

static const struct {
	const char *path;
	enum who who;
	enum policy_rcpt_result want;
	const char *mailbox;	/* the first target's mailbox on ACCEPT; "" for remote (NULL) */
} rcpt_cases[] = {
	{ "alice@example.test", UNTRUSTED, POLICY_RCPT_ACCEPT, "alice" },
	{ "ALICE@EXAMPLE.TEST", UNTRUSTED, POLICY_RCPT_ACCEPT, "alice" },
	{ "alice+tag@example.test", UNTRUSTED, POLICY_RCPT_ACCEPT, "alice" },
	{ "alice@[127.0.0.1]", UNTRUSTED, POLICY_RCPT_ACCEPT, "alice" },
	{ "nobody@example.test", UNTRUSTED, POLICY_RCPT_UNKNOWN, NULL },
	{ "nobody@example.test", TRUSTED, POLICY_RCPT_UNKNOWN, NULL },
	{ "alice@other.test", UNTRUSTED, POLICY_RCPT_RELAY_DENIED, NULL },
	{ "alice@Other.Test", UNTRUSTED, POLICY_RCPT_RELAY_DENIED, NULL },
	{ "alice@other.test", TRUSTED, POLICY_RCPT_ACCEPT, "" },
	{ "alice@other.test", AUTHED, POLICY_RCPT_ACCEPT, "" },
	{ "alice@[192.0.2.1]", UNTRUSTED, POLICY_RCPT_RELAY_DENIED, NULL },
	{ "alice@[192.0.2.1]", TRUSTED, POLICY_RCPT_RELAY_DENIED, NULL },	/* never to a literal */
	{ "alice@[192.0.2.1]", AUTHED, POLICY_RCPT_RELAY_DENIED, NULL },
	/* the tricks: refused for local and remote domains, from anyone */
	{ "user%other.test@example.test", UNTRUSTED, POLICY_RCPT_TRICK, NULL },
	{ "alice%other.test@example.test", TRUSTED, POLICY_RCPT_TRICK, NULL },
	{ "user%other.test@other.test", AUTHED, POLICY_RCPT_TRICK, NULL },
	{ "other.test!user@example.test", UNTRUSTED, POLICY_RCPT_TRICK, NULL },
	{ "other.test!alice@example.test", TRUSTED, POLICY_RCPT_TRICK, NULL },
	{ "\"user@other.test\"@example.test", UNTRUSTED, POLICY_RCPT_TRICK, NULL },
	{ "\"alice@other.test\"@other.test", AUTHED, POLICY_RCPT_TRICK, NULL },
	{ "@a.test:user@other.test", TRUSTED, POLICY_RCPT_TRICK, NULL },
	{ "@other.test:alice@example.test", UNTRUSTED, POLICY_RCPT_TRICK, NULL },
};

static void
test_policy_rcpt(void **state)
{
	struct config *c = relay_conf();
	struct local_db *db = local_db_new(c);

	(void)state;
	for (size_t i = 0; i < NELEM(rcpt_cases); i++) {
		struct smtp_addr a = addr(rcpt_cases[i].path);
		struct spool_msg *env = spool_msg_new();
		struct relay_client cl = {
			.ip = rcpt_cases[i].who == TRUSTED ? "192.0.2.9" : "198.51.100.7",
			.local_ip = "127.0.0.1",
			.auth_user = rcpt_cases[i].who == AUTHED ? "alice" : NULL,
			.is_trusted = rcpt_cases[i].who == TRUSTED,
		};
		enum policy_rcpt_result d;

		d = policy_rcpt(db, &cl, &a, env);
		if (d != rcpt_cases[i].want)
			fail_msg("'%s' (who %d): got %d, want %d", rcpt_cases[i].path,
			    rcpt_cases[i].who, d, rcpt_cases[i].want);
		if (d == POLICY_RCPT_ACCEPT) {
			assert_true(env->nrcpts >= 1);
			if (rcpt_cases[i].mailbox[0] == '\0') {
				assert_null(env->rcpts[0].mailbox);
				assert_string_equal(env->rcpts[0].to, rcpt_cases[i].path);
			} else {
				assert_string_equal(env->rcpts[0].mailbox, rcpt_cases[i].mailbox);
			}
		} else {
			assert_int_equal(env->nrcpts, 0);
		}
		spool_msg_free(&env);
	}
	local_db_free(&db);
	config_free(&c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cidr_parse),
		cmocka_unit_test(test_cidr_match),
		cmocka_unit_test(test_cidr_list),
		cmocka_unit_test(test_trick),
		cmocka_unit_test(test_trailing_dot_is_syntax),
		cmocka_unit_test(test_dest),
		cmocka_unit_test(test_policy_rcpt),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
