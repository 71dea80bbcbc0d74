/*
 * test_auth.c - the pieces of SMTP AUTH without a socket: base64 and the
 * PLAIN and LOGIN messages (smtp/sasl.c), the failure limiter
 * (policy/authlimit.c), password hashes (policy/passwd.c) and the users
 * file (config/users.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "config/ucl_int.h"
#include "policy/authlimit.h"
#include "policy/passwd.h"
#include "smtp/smtp.h"

#define IN(s) (const uint8_t *)(s), sizeof(s) - 1

static const struct {
	const uint8_t *in;
	size_t len;
	enum sasl_err want;
	const char *out;
	size_t out_len;
} b64_cases[] = {
	{ IN("="), SASL_OK, "", 0 },			/* RFC 4954 4: the empty response */
	{ IN("YWJj"), SASL_OK, "abc", 3 },
	{ IN("YWI="), SASL_OK, "ab", 2 },
	{ IN("YQ=="), SASL_OK, "a", 1 },
	{ IN("AGFsaWNlAHNlY3JldA=="), SASL_OK, "\0alice\0secret", 13 },
	{ IN("////"), SASL_OK, "\xff\xff\xff", 3 },
	{ IN(""), SASL_BAD_BASE64, NULL, 0 },
	{ IN("YWJ"), SASL_BAD_BASE64, NULL, 0 },		/* not a multiple of 4 */
	{ IN("YWJjZ"), SASL_BAD_BASE64, NULL, 0 },
	{ IN("YW=j"), SASL_BAD_BASE64, NULL, 0 },		/* '=' inside */
	{ IN("Y==="), SASL_BAD_BASE64, NULL, 0 },		/* three pad bytes */
	{ IN("===="), SASL_BAD_BASE64, NULL, 0 },
	{ IN("YW Jj"), SASL_BAD_BASE64, NULL, 0 },		/* blanks: EVP_DecodeBlock would skip them */
	{ IN(" YWJj"), SASL_BAD_BASE64, NULL, 0 },
	{ IN("YWJj\0\0\0\0"), SASL_BAD_BASE64, NULL, 0 },
	{ IN("YW-j"), SASL_BAD_BASE64, NULL, 0 },		/* base64url is not base64 */
	{ IN("*"), SASL_BAD_BASE64, NULL, 0 },		/* the cancel is the session's to see */
	{ IN("=="), SASL_BAD_BASE64, NULL, 0 },
};

static void
test_b64(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(b64_cases) / sizeof(b64_cases[0]); i++) {
		uint8_t out[64];
		size_t len = 99;
		enum sasl_err e = sasl_b64_decode(b64_cases[i].in, b64_cases[i].len, out, sizeof(out), &len);

		if (e != b64_cases[i].want)
			fail_msg("case %zu: got %d, want %d", i, e, b64_cases[i].want);
		if (e == SASL_OK) {
			assert_int_equal(len, b64_cases[i].out_len);
			assert_memory_equal(out, b64_cases[i].out, len);
		}
	}
}

/* The output buffer bounds the input: no overflow for a response longer than it can hold. */
static void
test_b64_bounded(void **state)
{
	uint8_t out[3];
	size_t len;

	(void)state;
	assert_int_equal(sasl_b64_decode(IN("YWJj"), out, sizeof(out), &len), SASL_OK);
	assert_int_equal(sasl_b64_decode(IN("YWJjYWJj"), out, sizeof(out), &len), SASL_BAD_BASE64);
}

static const struct {
	const uint8_t *in;
	size_t len;
	enum sasl_err want;
	const char *user, *pass;
} plain_cases[] = {
	{ IN("\0alice\0secret"), SASL_OK, "alice", "secret" },
	{ IN("alice\0alice\0secret"), SASL_OK, "alice", "secret" },	/* authzid = authcid */
	{ IN("\0alice\0pass with spaces:and:colons"), SASL_OK, "alice", "pass with spaces:and:colons" },
	{ IN("\0alice\0\xc3\xa9t\xc3\xa9"), SASL_OK, "alice", "\xc3\xa9t\xc3\xa9" },	/* UTF-8 */
	{ IN("bob\0alice\0secret"), SASL_AUTHZID, NULL, NULL },	/* act as bob: no */
	{ IN("alicex\0alice\0secret"), SASL_AUTHZID, NULL, NULL },
	{ IN("\0alice\0"), SASL_BAD_MESSAGE, NULL, NULL },	/* empty password */
	{ IN("\0\0secret"), SASL_BAD_MESSAGE, NULL, NULL },	/* empty user */
	{ IN("\0alice"), SASL_BAD_MESSAGE, NULL, NULL },		/* one NUL */
	{ IN("alice secret"), SASL_BAD_MESSAGE, NULL, NULL },
	{ IN("\0alice\0sec\0ret"), SASL_BAD_MESSAGE, NULL, NULL },	/* a third NUL */
	{ IN(""), SASL_BAD_MESSAGE, NULL, NULL },
};

static void
test_plain(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(plain_cases) / sizeof(plain_cases[0]); i++) {
		struct sasl_creds c;
		enum sasl_err e = sasl_plain_parse(plain_cases[i].in, plain_cases[i].len, &c);

		if (e != plain_cases[i].want)
			fail_msg("case %zu: got %d, want %d", i, e, plain_cases[i].want);
		if (e == SASL_OK) {
			assert_string_equal(c.user, plain_cases[i].user);
			assert_int_equal(c.user_len, strlen(plain_cases[i].user));
			assert_string_equal(c.pass, plain_cases[i].pass);
			assert_int_equal(c.pass_len, strlen(plain_cases[i].pass));
		} else {
			/* nothing half-parsed is left behind, the password least of all */
			assert_int_equal(c.user_len, 0);
			assert_int_equal(c.pass_len, 0);
			assert_int_equal(c.pass[0], 0);
		}
		sasl_creds_wipe(&c);
		assert_int_equal(c.pass_len, 0);
	}
}

static void
test_plain_field_limits(void **state)
{
	uint8_t msg[600];
	struct sasl_creds c;

	(void)state;
	msg[0] = '\0';
	memset(msg + 1, 'u', 255);
	msg[256] = '\0';
	memset(msg + 257, 'p', 255);
	assert_int_equal(sasl_plain_parse(msg, 512, &c), SASL_OK);	/* 255 + 255: the most */
	assert_int_equal(c.user_len, 255);
	assert_int_equal(c.pass_len, 255);
	memset(msg + 257, 'p', 256);
	assert_int_equal(sasl_plain_parse(msg, 513, &c), SASL_BAD_MESSAGE);
}

static void
test_login_field(void **state)
{
	char out[SASL_FIELD_MAX + 1];
	size_t len;

	(void)state;
	assert_int_equal(sasl_login_field(IN("alice"), out, &len), SASL_OK);
	assert_string_equal(out, "alice");
	assert_int_equal(len, 5);
	assert_int_equal(sasl_login_field(IN(""), out, &len), SASL_BAD_MESSAGE);
	assert_int_equal(sasl_login_field(IN("al\0ice"), out, &len), SASL_BAD_MESSAGE);
}

/* ---- the failure limiter ---- */

static void
test_limit_blocks_then_expires(void **state)
{
	struct authlimit *t = authlimit_new(3, 600, 1024);

	(void)state;
	assert_true(authlimit_allows(t, "192.0.2.1", 1000));
	assert_int_equal(authlimit_fail(t, "192.0.2.1", 1000), 1);
	assert_int_equal(authlimit_fail(t, "192.0.2.1", 1001), 2);
	assert_true(authlimit_allows(t, "192.0.2.1", 1002));
	assert_true(authlimit_allows(t, "192.0.2.2", 1002));	/* others are not affected */
	assert_int_equal(authlimit_fail(t, "192.0.2.1", 1002), 3);
	assert_false(authlimit_allows(t, "192.0.2.1", 1003));	/* the third: refused */
	assert_true(authlimit_allows(t, "192.0.2.2", 1003));
	assert_false(authlimit_allows(t, "192.0.2.1", 1601));	/* a window after the third */
	assert_true(authlimit_allows(t, "192.0.2.1", 1602));	/* then forgiven */
	assert_int_equal(authlimit_fail(t, "192.0.2.1", 1602), 1);	/* and counted afresh */
	authlimit_free(&t);
	assert_null(t);
	authlimit_free(&t);
}

static void
test_limit_window_resets(void **state)
{
	struct authlimit *t = authlimit_new(3, 60, 64);

	(void)state;
	assert_int_equal(authlimit_fail(t, "::1", 0), 1);
	assert_int_equal(authlimit_fail(t, "::1", 59), 2);
	/* the window started at 0: at 60 it is over, and failures start again */
	assert_int_equal(authlimit_fail(t, "::1", 60), 1);
	assert_true(authlimit_allows(t, "::1", 61));
	authlimit_free(&t);
}

/* A client cycling through addresses cannot grow the table or lose its own entry at once. */
static void
test_limit_bounded(void **state)
{
	struct authlimit *t = authlimit_new(2, 600, 16);
	char ip[64];

	(void)state;
	assert_int_equal(authlimit_fail(t, "198.51.100.1", 10), 1);
	assert_int_equal(authlimit_fail(t, "198.51.100.1", 10), 2);
	for (unsigned i = 0; i < 10000; i++) {
		snprintf(ip, sizeof(ip), "203.0.%u.%u", i / 256, i % 256);
		(void)authlimit_fail(t, ip, 20);
	}
	/* the table holds 16; it forgot the oldest, and stayed 16 */
	assert_true(authlimit_allows(t, "203.0.0.0", 30) || !authlimit_allows(t, "203.0.0.0", 30));
	snprintf(ip, sizeof(ip), "203.0.%u.%u", 9999 / 256, 9999 % 256);
	assert_int_equal(authlimit_fail(t, ip, 21), 2);		/* the newest is still there */
	authlimit_free(&t);
}

static void
test_limit_delay(void **state)
{
	(void)state;
	assert_int_equal(authlimit_delay_ms(1000, 1), 1000);
	assert_int_equal(authlimit_delay_ms(1000, 2), 2000);
	assert_int_equal(authlimit_delay_ms(1000, 3), 4000);
	assert_int_equal(authlimit_delay_ms(1000, 5), 16000);
	assert_int_equal(authlimit_delay_ms(1000, 50), 16000);	/* capped */
	assert_int_equal(authlimit_delay_ms(1000, 0), 1000);
	assert_int_equal(authlimit_delay_ms(0, 9), 0);
}

/* ---- hashes ---- */

static void
test_passwd(void **state)
{
	static const char *const prefixes[] = { "$y$", "$2b$", "$6$" };

	(void)state;
	for (size_t i = 0; i < 3; i++) {
		char *h = passwd_hash(prefixes[i], "s3cret pass");

		assert_non_null(h);
		assert_true(strncmp(h, prefixes[i], strlen(prefixes[i])) == 0);
		assert_true(cfg_is_supported_hash(h));
		assert_int_equal(passwd_verify(h, "s3cret pass"), 1);
		assert_int_equal(passwd_verify(h, "s3cret pas"), 0);
		assert_int_equal(passwd_verify(h, "S3cret pass"), 0);
		assert_int_equal(passwd_verify(h, ""), 0);
		free(h);
	}
	assert_int_equal(passwd_verify(NULL, "anything"), 0);	/* no such user */
	assert_int_equal(passwd_verify("plaintext", "plaintext"), 0);
	assert_int_equal(passwd_verify("", ""), 0);
	assert_int_equal(passwd_verify("*", "*"), 0);
	assert_null(passwd_hash("$1$", "md5 is refused"));
}

/* ---- the users file ---- */

static char users_path[] = "/tmp/sterna-test-users-XXXXXX";

static int
write_users(const char *text)
{
	int fd = mkstemp(users_path);
	ssize_t n;

	assert_true(fd != -1);
	n = write(fd, text, strlen(text));
	close(fd);
	return n == (ssize_t)strlen(text) ? 0 : -1;
}

static void
load_users(const char *text, const char *want_err)
{
	struct config c;
	char err[1024] = "", want[1200];

	memcpy(users_path + sizeof(users_path) - 7, "XXXXXX", 6);
	assert_int_equal(write_users(text), 0);
	memset(&c, 0, sizeof(c));
	if (want_err == NULL) {
		if (cfg_users_load(&c, users_path, "sterna.conf", 9, err, sizeof(err)) == -1)
			fail_msg("%s", err);
	} else {
		assert_int_equal(cfg_users_load(&c, users_path, "sterna.conf", 9, err, sizeof(err)), -1);
		snprintf(want, sizeof(want), want_err, users_path);
		assert_string_equal(err, want);
		assert_int_equal(c.nusers, 0);
	}
	unlink(users_path);
	cfg_users_free(&c);
}

#define HASH "$y$j9T$CK3AMHcj7Ezsa4KBVT.0R1$meNjLu5NHmCKq5Q3j/LZGg2yBXRBL.CKwe4z.iJXNQ9"

static void
test_users_file(void **state)
{
	struct config c;
	char err[1024];
	const struct config_user *u;

	(void)state;
	memcpy(users_path + sizeof(users_path) - 7, "XXXXXX", 6);
	assert_int_equal(write_users("# users\n\nAlice:" HASH "\r\n"
	    "bob:" HASH ":any_sender\n"
	    "carol:" HASH ":sender=Sales@Example.Test,sender=c@example.org"), 0);
	memset(&c, 0, sizeof(c));
	if (cfg_users_load(&c, users_path, "sterna.conf", 9, err, sizeof(err)) == -1)
		fail_msg("%s", err);
	unlink(users_path);
	assert_int_equal(c.nusers, 3);
	u = config_find_user(&c, "alice");
	assert_non_null(u);
	assert_string_equal(u->hash, HASH);	/* CR of a CRLF line dropped */
	assert_int_equal(u->line, 3);
	assert_false(u->may_send_as_any);
	assert_true(config_find_user(&c, "bob")->may_send_as_any);
	u = config_find_user(&c, "carol");
	assert_int_equal(u->nsenders, 2);
	assert_string_equal(u->senders[0], "sales@example.test");
	assert_string_equal(u->senders[1], "c@example.org");
	assert_null(config_find_user(&c, "Alice"));	/* callers lowercase first */
	assert_null(config_find_user(&c, "dave"));
	cfg_users_free(&c);

	load_users("alice\n", "%s:1: expected NAME:HASH[:OPTIONS]");
	load_users("# x\nalice:secret\n", "%s:2: alice: the hash is not yescrypt ($y$), bcrypt "
	    "($2b$) or sha512-crypt ($6$); make one with 'sterna passwd'");
	load_users("alice:$1$abcdefgh$abcdefghijklmnopqrstuv\n", "%s:1: alice: the hash is not "
	    "yescrypt ($y$), bcrypt ($2b$) or sha512-crypt ($6$); make one with 'sterna passwd'");
	load_users("al ice:" HASH "\n", "%s:1: 'al ice' is not a valid user name (a-z, 0-9, '.', "
	    "'_', '-', 1 to 64 of them, not starting with '.')");
	load_users("alice:" HASH "\nALICE:" HASH "\n", "%s:2: user 'alice' already set at line 1");
	load_users("alice:" HASH ":root\n", "%s:1: unknown option 'root' (options are any_sender "
	    "and sender=ADDRESS, separated by commas)");
	load_users("alice:" HASH ":sender=nobody\n",
	    "%s:1: 'nobody' is not an address such as sender=name@example.org");
	load_users("", NULL);
	load_users("# only comments\n", NULL);

	memset(&c, 0, sizeof(c));
	assert_int_equal(cfg_users_load(&c, "/nonexistent/users", "sterna.conf", 9, err,
	    sizeof(err)), -1);
	assert_string_equal(err, "sterna.conf:9: auth.users_file: cannot read '/nonexistent/users': "
	    "No such file or directory");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_b64),
		cmocka_unit_test(test_b64_bounded),
		cmocka_unit_test(test_plain),
		cmocka_unit_test(test_plain_field_limits),
		cmocka_unit_test(test_login_field),
		cmocka_unit_test(test_limit_blocks_then_expires),
		cmocka_unit_test(test_limit_window_resets),
		cmocka_unit_test(test_limit_bounded),
		cmocka_unit_test(test_limit_delay),
		cmocka_unit_test(test_passwd),
		cmocka_unit_test(test_users_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
