/*
 * test_listfile.c - the list files of policy { }: comments, blank lines,
 * CRLF, bad bytes shown as they are, the bounds, files that cannot be read,
 * reading them again when they change (on a clock the test moves, so that
 * nothing sleeps), a file that turns bad or goes away, and thousands of
 * networks in one file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/config.h"
#include "lists_fixture.h"
#include "policy/lists.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/xalloc.h"

#define B(s) (const uint8_t *)(s), sizeof(s) - 1

/* ---- files ---- */

static const struct {
	const uint8_t *in;
	size_t len;
	const char *want;	/* "entry@line entry@line ...", or the error after "PATH:" */
} file_cases[] = {
	{ B(""), "" },
	{ B("192.0.2.1\n"), "192.0.2.1@1" },
	{ B("192.0.2.1"), "192.0.2.1@1" },		/* no newline at the end */
	{ B("# a comment\n\n  \t\n192.0.2.0/24\r\n\t10.0.0.0/8  # trailing\r\n  #x\n"),
	    "192.0.2.0/24@4 10.0.0.0/8@5" },
	{ B("\r\n\r\n::1\r\n"), "::1@3" },
	{ B("192.0.2.1\n192.0.2.1/33\n"), "2: '192.0.2.1/33' is not an address or a network in "
	    "CIDR notation (as 192.0.2.0/24 or 2001:db8::/32)" },
	{ B("192.0.2.1#x\n"), "1: '192.0.2.1#x' is not an address or a network in CIDR notation "
	    "(as 192.0.2.0/24 or 2001:db8::/32)" },
	{ B("\n192.0.2.\x01\n"), "2: '192.0.2.\\x01' is not an address or a network in CIDR "
	    "notation (as 192.0.2.0/24 or 2001:db8::/32)" },
	{ B("192.0.2.1\x00\n"), "1: '192.0.2.1\\x00' holds a NUL byte" },
	{ B("\xff\xfe" "1.2.3.4\n"), "1: '\\xff\\xfe1.2.3.4' is not an address or a network in "
	    "CIDR notation (as 192.0.2.0/24 or 2001:db8::/32)" },
	{ B("1.2.3.4\r\r\n"), "1: '1.2.3.4\\x0d' is not an address or a network in CIDR notation "
	    "(as 192.0.2.0/24 or 2001:db8::/32)" },
	{ B("a\\b\n"), "1: 'a\\x5cb' is not an address or a network in CIDR notation "
	    "(as 192.0.2.0/24 or 2001:db8::/32)" },
};

static void
test_file_parse(void **state)
{
	char err[512], *text;
	struct buf got;
	size_t plen;

	(void)state;
	buf_init(&got, SIZE_MAX);
	for (size_t i = 0; i < NELEM(file_cases); i++) {
		struct config *c;
		struct policy_lists *l;

		lt_write_file("clients.txt", file_cases[i].in, file_cases[i].len, 1000);
		c = lt_load_text("policy { block_clients_file = \"@DIR@/clients.txt\" }", err,
		    sizeof(err));
		assert_non_null(c);
		l = policy_lists_new(c, err, sizeof(err));
		buf_reset(&got);
		if (l == NULL) {
			plen = strlen(lt_path("clients.txt", 0));
			assert_memory_equal(err, lt_path("clients.txt", 0), plen);
			assert_int_equal(err[plen], ':');
			buf_append_str(&got, err + plen + 1);
		} else {
			/* each entry, as the hit names it, back from a judgement */
			text = (char *)xmalloc(file_cases[i].len + 1);
			memcpy(text, file_cases[i].in, file_cases[i].len);
			text[file_cases[i].len] = '\0';
			for (char *line = strtok(text, "\n"); line != NULL; line = strtok(NULL, "\n")) {
				char ip[64];
				struct smtp_ask q;
				struct verdict v;
				struct policy_list_hit hit;

				if (sscanf(line, " %63[0-9a-f.:]", ip) != 1)
					continue;
				q = lt_ask_connect(ip);
				assert_int_equal(policy_lists_judge(l, &q, NULL, &v, &hit),
				    POLICY_LISTS_BLOCK);
				assert_string_equal(hit.file, lt_path("clients.txt", 0));
				buf_printf(&got, "%s%s@%u", got.len ? " " : "", hit.entry, hit.line);
			}
			free(text);
			assert_int_equal(policy_lists_count(l, CONFIG_BLOCK_CLIENTS), got.len ?
			    1 + (size_t)(strchr(buf_cstr(&got), ' ') != NULL) : 0);
		}
		if (strcmp(buf_cstr(&got), file_cases[i].want) != 0)
			fail_msg("case %zu:\n want: %s\n  got: %s", i, file_cases[i].want,
			    buf_cstr(&got));
		policy_lists_free(&l);
		config_free(&c);
	}
	buf_clear(&got);
}

/* What the lists say of a file that cannot be read, named where the configuration names it. */
static void
test_file_errors(void **state)
{
	char err[512], want[1024];
	struct config *c;
	int fd;

	(void)state;
	c = lt_load_text("policy {\n block_senders_file = \"@DIR@/none.txt\"\n}", err, sizeof(err));
	assert_non_null(c);
	assert_null(policy_lists_new(c, err, sizeof(err)));
	snprintf(want, sizeof(want), "t.conf:4: policy.block_senders_file: cannot read %s: No such "
	    "file or directory", lt_path("none.txt", 0));
	assert_string_equal(err, want);
	config_free(&c);
	/* a folder in a file's place */
	c = lt_load_text("policy { block_senders_file = \"@DIR@\" }", err, sizeof(err));
	assert_null(policy_lists_new(c, err, sizeof(err)));
	snprintf(want, sizeof(want), "t.conf:3: policy.block_senders_file: cannot read %s: not a "
	    "regular file", lt_dir);
	assert_string_equal(err, want);
	config_free(&c);
	/* 16 MiB is fine, a byte more is not (sparse: nothing is written) */
	fd = open(lt_path("big.txt", 0), O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 16 * 1024 * 1024 + 1), 0);
	close(fd);
	c = lt_load_text("policy { block_senders_file = \"@DIR@/big.txt\" }", err, sizeof(err));
	assert_null(policy_lists_new(c, err, sizeof(err)));
	snprintf(want, sizeof(want), "t.conf:3: policy.block_senders_file: cannot read %s: larger "
	    "than 16 MiB", lt_path("big.txt", 0));
	assert_string_equal(err, want);
	/* an entry past 512 bytes */
	{
		char line[600];

		memset(line, 'a', sizeof(line));
		memcpy(line + 590, "@x.example", 10);
		lt_write_file("big.txt", line, sizeof(line), 1000);
	}
	assert_null(policy_lists_new(c, err, sizeof(err)));
	snprintf(want, sizeof(want), "%s:1: '%.60s...' is longer than 512 bytes",
	    lt_path("big.txt", 0), "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
	assert_string_equal(err, want);
	config_free(&c);
}

/* The log, written to a file the test reads back (and empties). */
static int log_fd = -1;

static char *
take_log(void)
{
	struct stat st;
	char *s;

	assert_int_equal(fstat(log_fd, &st), 0);
	s = xmalloc((size_t)st.st_size + 1);
	assert_int_equal(pread(log_fd, s, (size_t)st.st_size, 0), st.st_size);
	s[st.st_size] = '\0';
	assert_int_equal(ftruncate(log_fd, 0), 0);
	return s;
}

/* The block_senders of one address: the entry that blocks it, or "" for none. */
static const char *
judge_sender(struct policy_lists *l, const char *path)
{
	static struct policy_list_hit hit;
	struct smtp_addr a = lt_addr(path);
	struct smtp_ask q = { .stage = SMTP_STAGE_MAIL, .client_ip = "192.0.2.1", .sender = &a };
	struct verdict v;

	if (policy_lists_judge(l, &q, NULL, &v, &hit) == POLICY_LISTS_NONE)
		return "";
	return hit.entry;
}

static void
expect_log(const char *want)
{
	char *got = take_log();

	if (want == NULL ? got[0] != '\0' : strstr(got, want) == NULL)
		fail_msg("log: want %s\n got: %s", want ? want : "nothing", got);
	free(got);
}

static void
test_file_reread(void **state)
{
	struct config *c;
	struct policy_lists *l;
	char want[512];

	(void)state;
	log_fd = open(lt_path("log", 0), O_RDWR | O_CREAT | O_TRUNC | O_APPEND, 0600);
	assert_true(log_fd >= 0);
	log_init(log_fd, LOG_INFO);
	lt_write_file("senders.txt", "a.example\n", 10, 1000);
	l = lt_lists_from("policy {\n block_senders = \"conf.example\"\n"
	    " block_senders_file = \"@DIR@/senders.txt\"\n}", &c);
	assert_string_equal(judge_sender(l, "x@a.example"), "a.example");
	assert_string_equal(judge_sender(l, "x@conf.example"), "conf.example");
	/* changed, same size: not looked at before a second has passed, then read again */
	lt_write_file("senders.txt", "b.example\n", 10, 2000);
	lt_now_ms += 999;
	assert_string_equal(judge_sender(l, "x@a.example"), "a.example");
	expect_log(NULL);
	lt_now_ms += 1;
	assert_string_equal(judge_sender(l, "x@a.example"), "");
	assert_string_equal(judge_sender(l, "x@b.example"), "b.example");
	assert_string_equal(judge_sender(l, "x@conf.example"), "conf.example");
	snprintf(want, sizeof(want), "info - note msg=\"policy.block_senders_file: %s read again "
	    "(entries: 1)\"", lt_path("senders.txt", 0));
	expect_log(want);
	/* unchanged: nothing is read, nothing said */
	lt_now_ms += 5000;
	assert_string_equal(judge_sender(l, "x@b.example"), "b.example");
	expect_log(NULL);
	/* turned bad: the old entries stay, the warning names the line, and is said once */
	lt_write_file("senders.txt", "c.example\n\nbad@\n", 16, 3000);
	lt_now_ms += 1000;
	assert_string_equal(judge_sender(l, "x@b.example"), "b.example");
	assert_string_equal(judge_sender(l, "x@c.example"), "");
	snprintf(want, sizeof(want), "warning - note msg=\"policy.block_senders_file: %s:3: 'bad@' is not "
	    "an address (as user@example.com) or a domain (as example.com); keeping the entries "
	    "read before (1)\"", lt_path("senders.txt", 0));
	expect_log(want);
	lt_now_ms += 1000;
	assert_string_equal(judge_sender(l, "x@b.example"), "b.example");
	expect_log(NULL);
	/* fixed by a rename over it (a new inode; the time and size of the bad one) */
	lt_write_file("new.txt", "c.example\n\n.ok\n\n", 16, 3000);
	assert_int_equal(rename(lt_path("new.txt", 0), lt_path("senders.txt", 1)), 0);
	lt_now_ms += 1000;
	assert_string_equal(judge_sender(l, "x@c.example"), "c.example");
	assert_string_equal(judge_sender(l, "x@b.example"), "");
	free(take_log());
	/* gone: the entries stay, said once; back: read again */
	assert_int_equal(unlink(lt_path("senders.txt", 0)), 0);
	lt_now_ms += 1000;
	assert_string_equal(judge_sender(l, "x@c.example"), "c.example");
	snprintf(want, sizeof(want), "warning - note msg=\"policy.block_senders_file: %s: No such file or "
	    "directory; keeping the entries read before (2)\"", lt_path("senders.txt", 0));
	expect_log(want);
	lt_now_ms += 1000;
	assert_string_equal(judge_sender(l, "x@c.example"), "c.example");
	expect_log(NULL);
	lt_write_file("senders.txt", "d.example\n", 10, 4000);
	lt_now_ms += 1000;
	assert_string_equal(judge_sender(l, "x@c.example"), "");
	assert_string_equal(judge_sender(l, "x@d.example"), "d.example");
	snprintf(want, sizeof(want), "%s is back", lt_path("senders.txt", 0));
	expect_log(want);
	/* the files of lists not consulted are not looked at: HELO asks nothing of senders */
	lt_write_file("senders.txt", "e.example\n", 10, 5000);
	lt_now_ms += 1000;
	{
		struct smtp_ask q = { .stage = SMTP_STAGE_HELO, .client_ip = "192.0.2.1", .helo = "h" };
		struct verdict v;

		assert_int_equal(policy_lists_judge(l, &q, NULL, &v, NULL), POLICY_LISTS_NONE);
	}
	expect_log(NULL);
	policy_lists_free(&l);
	config_free(&c);
	log_init(2, LOG_INFO);
	close(log_fd);
}

/* Thousands of networks of many lengths in a file: each found, the longest prefix named. */
static void
test_many_networks(void **state)
{
	struct config *c;
	struct policy_lists *l;
	struct buf b;
	char ip[64];

	(void)state;
	buf_init(&b, SIZE_MAX);
	for (unsigned i = 0; i < 4000; i++)
		buf_printf(&b, "10.%u.%u.0/24\n", i / 256, i % 256);
	for (unsigned i = 0; i < 2000; i++)
		buf_printf(&b, "2001:db8:%x::/48\n", i);
	buf_printf(&b, "10.0.0.0/8\n10.0.5.7\n172.16.0.0/12\n");
	lt_write_file("clients.txt", b.data, b.len, 1000);
	l = lt_lists_from("policy { block_clients_file = \"@DIR@/clients.txt\" }", &c);
	assert_int_equal(policy_lists_count(l, CONFIG_BLOCK_CLIENTS), 6003);
	for (unsigned i = 0; i < 4000; i += 7) {
		struct smtp_ask q;
		struct verdict v;
		struct policy_list_hit hit;
		char want[64];

		snprintf(ip, sizeof(ip), "10.%u.%u.%u", i / 256, i % 256, i % 250 + 1);
		q = lt_ask_connect(ip);
		assert_int_equal(policy_lists_judge(l, &q, NULL, &v, &hit), POLICY_LISTS_BLOCK);
		snprintf(want, sizeof(want), "10.%u.%u.0/24", i / 256, i % 256);
		assert_string_equal(hit.entry, want);
		assert_int_equal(hit.line, i + 1);
		snprintf(ip, sizeof(ip), "2001:db8:%x:1::2", i / 2);
		q = lt_ask_connect(ip);
		assert_int_equal(policy_lists_judge(l, &q, NULL, &v, NULL), POLICY_LISTS_BLOCK);
	}
	{
		static const struct { const char *ip, *entry; } more[] = {
			{ "10.0.5.7", "10.0.5.7" }, { "10.200.0.1", "10.0.0.0/8" },
			{ "172.31.255.255", "172.16.0.0/12" }, { "172.32.0.0", "" },
			{ "2001:db8:7d0::1", "" }, { "11.0.0.1", "" },
		};

		for (size_t i = 0; i < NELEM(more); i++) {
			struct smtp_ask q = lt_ask_connect(more[i].ip);
			struct verdict v;
			struct policy_list_hit hit;

			policy_lists_judge(l, &q, NULL, &v, &hit);
			if (strcmp(hit.name ? hit.entry : "", more[i].entry) != 0)
				fail_msg("%s: got '%s', want '%s'", more[i].ip, hit.entry, more[i].entry);
		}
	}
	buf_clear(&b);
	policy_lists_free(&l);
	config_free(&c);
}
int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_file_parse, lt_setup, lt_teardown),
		cmocka_unit_test_setup_teardown(test_file_errors, lt_setup, lt_teardown),
		cmocka_unit_test_setup_teardown(test_file_reread, lt_setup, lt_teardown),
		cmocka_unit_test_setup_teardown(test_many_networks, lt_setup, lt_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
