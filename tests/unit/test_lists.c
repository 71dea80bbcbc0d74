/*
 * test_lists.c - the allow and block lists of policy { }: every entry form
 * (config_entry_parse), the keys in the configuration, and the judgement at
 * each stage (names, cases, suffixes, IPv6 and IPv4-mapped clients, <>,
 * allow over block, the verdicts). The list files are test_listfile.c's.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "lists_fixture.h"
#include "policy/lists.h"
#include "smtp/session.h"
#include "util/xalloc.h"

/* ---- entry forms ---- */

#define B(s) (const uint8_t *)(s), sizeof(s) - 1

static const struct {
	enum config_list_kind kind;
	const uint8_t *in;
	size_t len;
	int form;		/* enum config_entry_form, or -1 for an error */
	const char *want;	/* the key (NETWORK: ignored), or the reason */
} entry_cases[] = {
	{ CONFIG_LIST_OF_CLIENTS, B("192.0.2.0/24"), CONFIG_ENTRY_NETWORK, "" },
	{ CONFIG_LIST_OF_CLIENTS, B("192.0.2.1"), CONFIG_ENTRY_NETWORK, "" },
	{ CONFIG_LIST_OF_CLIENTS, B("2001:DB8::/32"), CONFIG_ENTRY_NETWORK, "" },
	{ CONFIG_LIST_OF_CLIENTS, B("::ffff:192.0.2.1"), CONFIG_ENTRY_NETWORK, "" },
	{ CONFIG_LIST_OF_CLIENTS, B("192.0.2.1/24"), -1, "has bits set after the prefix" },
	{ CONFIG_LIST_OF_CLIENTS, B("192.0.2.0/33"), -1, "is not an address or a network in "
	    "CIDR notation (as 192.0.2.0/24 or 2001:db8::/32)" },
	{ CONFIG_LIST_OF_CLIENTS, B("mx.example.com"), -1, "is not an address or a network in "
	    "CIDR notation (as 192.0.2.0/24 or 2001:db8::/32)" },
	{ CONFIG_LIST_OF_CLIENTS, B("192.0.2.1\0"), -1, "holds a NUL byte" },
	{ CONFIG_LIST_OF_CLIENTS, B(""), -1, "is empty" },
	{ CONFIG_LIST_OF_CLIENT_NAMES, B("Mail.Example.COM"), CONFIG_ENTRY_NAME, "mail.example.com" },
	{ CONFIG_LIST_OF_CLIENT_NAMES, B(".Example.com"), CONFIG_ENTRY_SUFFIX, "example.com" },
	{ CONFIG_LIST_OF_CLIENT_NAMES, B("host_1.example.com"), CONFIG_ENTRY_NAME,
	    "host_1.example.com" },
	{ CONFIG_LIST_OF_CLIENT_NAMES, B("localhost"), CONFIG_ENTRY_NAME, "localhost" },
	{ CONFIG_LIST_OF_CLIENT_NAMES, B("example.com."), -1,
	    "is not a host name (as mail.example.com) or a domain (as .example.com)" },
	{ CONFIG_LIST_OF_CLIENT_NAMES, B("."), -1,
	    "is not a host name (as mail.example.com) or a domain (as .example.com)" },
	{ CONFIG_LIST_OF_CLIENT_NAMES, B("..example.com"), -1,
	    "is not a host name (as mail.example.com) or a domain (as .example.com)" },
	{ CONFIG_LIST_OF_CLIENT_NAMES, B("-a.example.com"), -1,
	    "is not a host name (as mail.example.com) or a domain (as .example.com)" },
	{ CONFIG_LIST_OF_CLIENT_NAMES, B("a b"), -1,
	    "is not a host name (as mail.example.com) or a domain (as .example.com)" },
	{ CONFIG_LIST_OF_CLIENT_NAMES, B("[192.0.2.1]"), -1,
	    "is not a host name (as mail.example.com) or a domain (as .example.com)" },
	{ CONFIG_LIST_OF_HELO, B("[192.0.2.1]"), CONFIG_ENTRY_NAME, "[192.0.2.1]" },
	{ CONFIG_LIST_OF_HELO, B("[IPv6:2001:DB8:0::1]"), CONFIG_ENTRY_NAME, "[ipv6:2001:db8::1]" },
	{ CONFIG_LIST_OF_HELO, B("[192.0.2.256]"), -1,
	    "is not an address literal (as [192.0.2.1] or [IPv6:2001:db8::1])" },
	{ CONFIG_LIST_OF_HELO, B("[192.0.2.1"), -1,
	    "is not an address literal (as [192.0.2.1] or [IPv6:2001:db8::1])" },
	{ CONFIG_LIST_OF_HELO, B("192.0.2.1"), CONFIG_ENTRY_NAME, "192.0.2.1" },
	{ CONFIG_LIST_OF_HELO, B(".Dynamic.example.net"), CONFIG_ENTRY_SUFFIX,
	    "dynamic.example.net" },
	{ CONFIG_LIST_OF_SENDERS, B("<>"), CONFIG_ENTRY_NULL, "" },
	{ CONFIG_LIST_OF_SENDERS, B("Spam@Example.NET"), CONFIG_ENTRY_ADDRESS, "Spam@example.net" },
	{ CONFIG_LIST_OF_SENDERS, B("\"a b\"@example.net"), CONFIG_ENTRY_ADDRESS, "a b@example.net" },
	{ CONFIG_LIST_OF_SENDERS, B("a#b@example.net"), CONFIG_ENTRY_ADDRESS, "a#b@example.net" },
	{ CONFIG_LIST_OF_SENDERS, B("Example.NET"), CONFIG_ENTRY_DOMAIN, "example.net" },
	{ CONFIG_LIST_OF_SENDERS, B("@Example.net"), CONFIG_ENTRY_DOMAIN, "example.net" },
	{ CONFIG_LIST_OF_SENDERS, B("@[192.0.2.1]"), CONFIG_ENTRY_DOMAIN, "[192.0.2.1]" },
	{ CONFIG_LIST_OF_SENDERS, B(".Example.net"), CONFIG_ENTRY_SUFFIX, "example.net" },
	{ CONFIG_LIST_OF_SENDERS, B("user@b\xc3\xbc" "cher.example"), CONFIG_ENTRY_ADDRESS,
	    "user@b\xc3\xbc" "cher.example" },
	{ CONFIG_LIST_OF_SENDERS, B("user@"), -1,
	    "is not an address (as user@example.com) or a domain (as example.com)" },
	{ CONFIG_LIST_OF_SENDERS, B("@"), -1, "is not a domain (as @example.com)" },
	{ CONFIG_LIST_OF_SENDERS, B(".[192.0.2.1]"), -1, "is not a domain (as .example.com)" },
	{ CONFIG_LIST_OF_SENDERS, B("example.net."), -1,
	    "is not an address (as user@example.com) or a domain (as example.com)" },
	{ CONFIG_LIST_OF_SENDERS, B("@a,@b:user@example.net"), -1,
	    "is not a domain (as @example.com)" },	/* a source route */
	{ CONFIG_LIST_OF_SENDERS, B("x@a,@b:user@example.net"), -1,
	    "is not an address (as user@example.com) or a domain (as example.com)" },
	{ CONFIG_LIST_OF_SENDERS, B("<a@example.net>"), -1,
	    "is not an address (as user@example.com) or a domain (as example.com)" },
	{ CONFIG_LIST_OF_RECIPIENTS, B("<>"), -1, "is the null sender: no recipient is empty" },
	{ CONFIG_LIST_OF_RECIPIENTS, B("abuse@example.net"), CONFIG_ENTRY_ADDRESS,
	    "abuse@example.net" },
};

static void
test_entry_forms(void **state)
{
	char longest[CONFIG_ENTRY_MAX + 2];
	struct config_entry e;

	(void)state;
	for (size_t i = 0; i < NELEM(entry_cases); i++) {
		const char *why = config_entry_parse(entry_cases[i].kind, entry_cases[i].in,
		    entry_cases[i].len, &e);

		if (entry_cases[i].form == -1) {
			if (why == NULL || strcmp(why, entry_cases[i].want) != 0)
				fail_msg("case %zu: want '%s', got '%s'", i, entry_cases[i].want,
				    why ? why : "(ok)");
			continue;
		}
		if (why != NULL)
			fail_msg("case %zu: %s", i, why);
		assert_int_equal(e.form, entry_cases[i].form);
		if (e.form != CONFIG_ENTRY_NETWORK) {
			assert_int_equal(e.key_len, strlen(entry_cases[i].want));
			assert_memory_equal(e.key, entry_cases[i].want, e.key_len);
		}
	}
	/* the bound: 512 bytes, as written */
	memset(longest, 'a', sizeof(longest));
	for (size_t i = 63; i < CONFIG_ENTRY_MAX; i += 64)
		longest[i] = '.';
	assert_string_equal(config_entry_parse(CONFIG_LIST_OF_CLIENT_NAMES,
	    (const uint8_t *)longest, CONFIG_ENTRY_MAX + 1, &e), "is longer than 512 bytes");
}

/* ---- the keys ---- */

static const struct {
	const char *text;
	const char *want;	/* NULL: loads */
} key_cases[] = {
	{ "policy { allow_clients = \"192.0.2.1\" }", NULL },	/* a string is a list of one */
	{ "policy { block_clients = [\"192.0.2.0/24\", \"192.0.2.0/24\"] }", NULL },
	{ "policy {\n block_clients = [\"192.0.2.0/24\",\n \"10.1.2.3/8\"] }",
	    "t.conf:5: policy.block_clients: '10.1.2.3/8' has bits set after the prefix" },
	{ "policy { block_client_names = [\"bad name\"] }",
	    "t.conf:3: policy.block_client_names: 'bad name' is not a host name (as "
	    "mail.example.com) or a domain (as .example.com)" },
	{ "policy { allow_helo = [\"[300.0.0.1]\"] }", "t.conf:3: policy.allow_helo: '[300.0.0.1]' "
	    "is not an address literal (as [192.0.2.1] or [IPv6:2001:db8::1])" },
	{ "policy { block_senders = [\"<>\", \"@x\", \"x@\"] }", "t.conf:3: policy.block_senders: "
	    "'x@' is not an address (as user@example.com) or a domain (as example.com)" },
	{ "policy { block_recipients = \"<>\" }", "t.conf:3: policy.block_recipients: '<>' is the "
	    "null sender: no recipient is empty" },
	{ "policy { block_senders = { a = b } }",
	    "t.conf:3: policy.block_senders: expected a list of entries" },
	{ "policy { block_senders_file = \"\" }", "t.conf:3: policy.block_senders_file: must not be "
	    "empty" },
	{ "policy { block_tempfail = yes }", NULL },
	{ "policy { block_tempfail = 1 }", "t.conf:3: policy.block_tempfail: expected true or false (or yes/no, on/off)" },
	{ "policy { block_client = [] }", "t.conf:3: unknown key 'policy.block_client' (did you "
	    "mean 'policy.block_clients'?)" },
	{ "policy { block_clients_files = \"x\" }", "t.conf:3: unknown key "
	    "'policy.block_clients_files' (did you mean 'policy.block_clients_file'?)" },
};

static void
test_keys(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(key_cases); i++) {
		char err[1024] = "";
		struct config *c = lt_load_text(key_cases[i].text, err, sizeof(err));

		if (key_cases[i].want == NULL && c == NULL)
			fail_msg("case %zu: want success, got %s", i, err);
		if (key_cases[i].want != NULL && (c != NULL || strcmp(err, key_cases[i].want) != 0))
			fail_msg("case %zu:\n want: %s\n  got: %s", i, key_cases[i].want,
			    c ? "success" : err);
		config_free(&c);
	}
}

/* Defaults, entries kept as written with their lines, and a relative file path. */
static void
test_key_values(void **state)
{
	char err[1024], conf[PATH_MAX];
	struct config *c = lt_load_text("", err, sizeof(err));
	FILE *f;

	(void)state;
	assert_non_null(c);
	assert_int_equal(c->is_block_tempfail, 0);
	for (size_t i = 0; i < CONFIG_LIST_N; i++) {
		assert_int_equal(c->lists[i].n, 0);
		assert_string_equal(c->lists[i].file, "");
		assert_null(c->lists[i].file_set_in);
	}
	config_free(&c);
	c = lt_load_text("policy {\n block_tempfail = true\n block_senders = [\"Spam@Example.NET\",\n"
	    " \".example.org\"]\n}", err, sizeof(err));
	assert_non_null(c);
	assert_int_equal(c->is_block_tempfail, 1);
	assert_int_equal(c->lists[CONFIG_BLOCK_SENDERS].n, 2);
	assert_string_equal(c->lists[CONFIG_BLOCK_SENDERS].v[0].text, "Spam@Example.NET");
	assert_string_equal(c->lists[CONFIG_BLOCK_SENDERS].v[0].file, "t.conf");
	assert_int_equal(c->lists[CONFIG_BLOCK_SENDERS].v[0].line, 5);
	assert_int_equal(c->lists[CONFIG_BLOCK_SENDERS].v[1].line, 6);
	config_free(&c);
	/* a relative path is taken from the folder of the file that names it */
	snprintf(conf, sizeof(conf), "%s/sterna.conf", lt_dir);
	assert_non_null(f = fopen(conf, "w"));
	fprintf(f, BASE "policy {\n block_helo_file = \"lists/helo.txt\"\n}\n");
	fclose(f);
	c = config_load(conf, err, sizeof(err));
	if (c == NULL)
		fail_msg("%s", err);
	assert_string_equal(c->lists[CONFIG_BLOCK_HELO].file, lt_path("lists/helo.txt", 0));
	assert_string_equal(c->lists[CONFIG_BLOCK_HELO].file_set_in, conf);
	assert_int_equal(c->lists[CONFIG_BLOCK_HELO].file_set_line, 4);
	config_free(&c);
}
/* ---- judging ---- */

/* What one question should get: the result, and for a BLOCK its reply. */
struct want {
	enum policy_lists_result result;
	const char *entry;	/* the entry that decided (ALLOW, BLOCK) */
	int code;
	const char *text;	/* BLOCK */
};

static void
check(struct policy_lists *l, const struct smtp_ask *req, const char *name, struct want w,
    const char *what)
{
	struct verdict v;
	struct policy_list_hit hit;
	enum policy_lists_result r = policy_lists_judge(l, req, name, &v, &hit);

	if (r != w.result)
		fail_msg("%s: result %d, want %d", what, r, w.result);
	if (r == POLICY_LISTS_NONE) {
		assert_int_equal(v.kind, VERDICT_ACCEPT);
		assert_null(hit.name);
		return;
	}
	if (strcmp(hit.entry, w.entry) != 0)
		fail_msg("%s: entry '%s', want '%s'", what, hit.entry, w.entry);
	assert_string_equal(hit.name, config_list_name(hit.list));
	assert_int_equal(config_list_is_block(hit.list), r == POLICY_LISTS_BLOCK);
	if (r == POLICY_LISTS_ALLOW) {
		assert_int_equal(v.kind, VERDICT_ACCEPT);
		return;
	}
	assert_int_equal(v.code, w.code);
	assert_int_equal(v.kind, w.code >= 500 ? VERDICT_REJECT : VERDICT_TEMPFAIL);
	assert_string_equal(v.dsn, w.code >= 500 ? "5.7.1" : "4.7.1");
	assert_string_equal(v.rule, hit.name);
	if (strcmp(v.text, w.text) != 0)
		fail_msg("%s: text '%s', want '%s'", what, v.text, w.text);
}

static const struct want NONE = { POLICY_LISTS_NONE, NULL, 0, NULL };

static void
test_clients(void **state)
{
	struct config *c;
	struct policy_lists *l = lt_lists_from("policy {\n"
	    " allow_clients = [\"192.0.2.7\", \"2001:db8:1::/48\"]\n"
	    " block_clients = [\"192.0.2.0/24\", \"2001:db8::/32\", \"::ffff:198.51.100.0/120\"]\n"
	    " allow_client_names = [\"good.example.com\", \".trusted.example\"]\n"
	    " block_client_names = [\".dyn.example.net\", \"bad.example.com\"]\n}", &c);
	struct smtp_ask q;

	(void)state;
	assert_int_equal(policy_lists_has_client_names(l), 1);
	q = lt_ask_connect("192.0.2.9");
	check(l, &q, NULL, (struct want){ POLICY_LISTS_BLOCK, "192.0.2.0/24", 554,
	    "Client host [192.0.2.9] rejected: listed in block_clients" }, "v4 in a /24");
	q = lt_ask_connect("::ffff:192.0.2.9");
	check(l, &q, NULL, (struct want){ POLICY_LISTS_BLOCK, "192.0.2.0/24", 554,
	    "Client host [::ffff:192.0.2.9] rejected: listed in block_clients" }, "v4-mapped");
	q = lt_ask_connect("192.0.2.7");
	check(l, &q, NULL, (struct want){ POLICY_LISTS_ALLOW, "192.0.2.7", 0, NULL },
	    "allow beats block");
	q = lt_ask_connect("::FFFF:192.0.2.7");
	check(l, &q, NULL, (struct want){ POLICY_LISTS_ALLOW, "192.0.2.7", 0, NULL },
	    "allow, mapped");
	q = lt_ask_connect("192.0.3.1");
	check(l, &q, NULL, NONE, "outside");
	q = lt_ask_connect("2001:db8:ffff::1");
	check(l, &q, NULL, (struct want){ POLICY_LISTS_BLOCK, "2001:db8::/32", 554,
	    "Client host [2001:db8:ffff::1] rejected: listed in block_clients" }, "v6");
	q = lt_ask_connect("2001:db8:1:2::1");
	check(l, &q, NULL, (struct want){ POLICY_LISTS_ALLOW, "2001:db8:1::/48", 0, NULL },
	    "v6 allowed");
	q = lt_ask_connect("2001:db9::1");
	check(l, &q, NULL, NONE, "v6 outside");
	/* an IPv4 client against an IPv6 network of mapped addresses, as cidr.c matches */
	q = lt_ask_connect("198.51.100.20");
	check(l, &q, NULL, (struct want){ POLICY_LISTS_BLOCK, "::ffff:198.51.100.0/120", 554,
	    "Client host [198.51.100.20] rejected: listed in block_clients" }, "v4 in mapped v6");
	q = lt_ask_connect("unix");
	check(l, &q, NULL, NONE, "no address");
	/* names: exact, suffix (not the domain itself), case, trailing dot */
	q = lt_ask_connect("203.0.113.5");
	check(l, &q, NULL, NONE, "no verified name");
	check(l, &q, "Host-1.DYN.example.net.", (struct want){ POLICY_LISTS_BLOCK,
	    ".dyn.example.net", 554, "Client host Host-1.DYN.example.net.[203.0.113.5] rejected: "
	    "listed in block_client_names" }, "suffix");
	check(l, &q, "dyn.example.net", NONE, "the domain itself");
	check(l, &q, "bad.example.com", (struct want){ POLICY_LISTS_BLOCK, "bad.example.com", 554,
	    "Client host bad.example.com[203.0.113.5] rejected: listed in block_client_names" },
	    "exact");
	check(l, &q, "x.bad.example.com", NONE, "under an exact name");
	check(l, &q, "a.b.trusted.example", (struct want){ POLICY_LISTS_ALLOW, ".trusted.example",
	    0, NULL }, "allowed by name");
	/* allow_client_names beats block_clients: both say who the client is */
	q = lt_ask_connect("192.0.2.9");
	check(l, &q, "GOOD.example.com", (struct want){ POLICY_LISTS_ALLOW, "good.example.com", 0,
	    NULL }, "name allow over address block");
	/* other stages ask nothing of client lists */
	q.stage = SMTP_STAGE_DATA;
	check(l, &q, "bad.example.com", NONE, "DATA");
	policy_lists_free(&l);
	assert_null(l);
	policy_lists_free(&l);
	config_free(&c);
}

static void
test_helo(void **state)
{
	struct config *c;
	struct policy_lists *l = lt_lists_from("policy {\n"
	    " allow_helo = [\"ok.example.com\"]\n"
	    " block_helo = [\"localhost\", \".example.com\", \"[192.0.2.1]\", \"[IPv6:2001:db8::1]\"]"
	    "\n}", &c);
	struct smtp_ask q = { .stage = SMTP_STAGE_HELO, .client_ip = "192.0.2.1" };
	static const struct { const char *helo, *entry, *text; } cases[] = {
		{ "LocalHost", "localhost", "<LocalHost>: Helo command rejected: listed in block_helo" },
		{ "a.Example.COM", ".example.com",
		    "<a.Example.COM>: Helo command rejected: listed in block_helo" },
		{ "OK.example.com", "ok.example.com", NULL },
		{ "example.com", NULL, NULL },
		{ "[192.0.2.1]", "[192.0.2.1]", "<[192.0.2.1]>: Helo command rejected: listed in "
		    "block_helo" },
		{ "[192.0.2.2]", NULL, NULL },
		{ "[ipv6:2001:DB8:0:0::1]", "[IPv6:2001:db8::1]", "<[ipv6:2001:DB8:0:0::1]>: Helo "
		    "command rejected: listed in block_helo" },
		{ "[1.example.com]", NULL, NULL },
		{ "", NULL, NULL },
	};

	(void)state;
	assert_int_equal(policy_lists_has_client_names(l), 0);
	for (size_t i = 0; i < NELEM(cases); i++) {
		struct want w = { cases[i].entry == NULL ? POLICY_LISTS_NONE : cases[i].text == NULL ?
		    POLICY_LISTS_ALLOW : POLICY_LISTS_BLOCK, cases[i].entry, 550, cases[i].text };

		q.helo = cases[i].helo;
		check(l, &q, NULL, w, cases[i].helo);
	}
	policy_lists_free(&l);
	config_free(&c);
}

static void
test_senders_and_recipients(void **state)
{
	struct config *c;
	struct policy_lists *l = lt_lists_from("policy {\n"
	    " allow_senders = [\"boss@spam.example\"]\n"
	    " block_senders = [\"<>\", \"spam.example\", \"Eve@Example.ORG\", \".bulk.example\","
	    " \"\\\"a b\\\"@example.org\"]\n"
	    " block_recipients = [\"@closed.example\", \"gone@example.org\"]\n"
	    " allow_recipients = [\"postmaster@closed.example\"]\n}", &c);
	struct smtp_ask q = { .stage = SMTP_STAGE_MAIL, .client_ip = "192.0.2.1", .helo = "c" };
	static const struct { const char *path, *entry, *text; } senders[] = {
		{ "", "<>", "<>: Sender address rejected: listed in block_senders" },
		{ "x@spam.example", "spam.example",
		    "<x@spam.example>: Sender address rejected: listed in block_senders" },
		{ "x@SPAM.example", "spam.example",
		    "<x@spam.example>: Sender address rejected: listed in block_senders" },
		{ "boss@spam.example", "boss@spam.example", NULL },
		{ "Boss@spam.example", "spam.example",	/* the local part's case counts */
		    "<Boss@spam.example>: Sender address rejected: listed in block_senders" },
		{ "x@a.spam.example", NULL, NULL },	/* a domain, not its subdomains */
		{ "Eve@example.org", "Eve@Example.ORG",
		    "<Eve@example.org>: Sender address rejected: listed in block_senders" },
		{ "eve@example.org", NULL, NULL },
		{ "\"Eve\"@example.org", "Eve@Example.ORG",
		    "<Eve@example.org>: Sender address rejected: listed in block_senders" },
		{ "\"a b\"@example.org", "\"a b\"@example.org",
		    "<\"a b\"@example.org>: Sender address rejected: listed in block_senders" },
		{ "x@bulk.example", NULL, NULL },	/* subdomains, not the domain */
		{ "x@mx.Bulk.example", ".bulk.example",
		    "<x@mx.bulk.example>: Sender address rejected: listed in block_senders" },
	};
	static const struct { const char *path, *entry, *text; } rcpts[] = {
		{ "a@closed.example", "@closed.example",
		    "<a@closed.example>: Recipient address rejected: listed in block_recipients" },
		{ "postmaster@closed.example", "postmaster@closed.example", NULL },
		{ "gone@Example.org", "gone@example.org",
		    "<gone@example.org>: Recipient address rejected: listed in block_recipients" },
		{ "gone+tag@example.org", NULL, NULL },
		{ "postmaster", NULL, NULL },
		{ "x@spam.example", NULL, NULL },	/* sender lists are not asked at RCPT */
	};
	struct smtp_addr a;

	(void)state;
	for (size_t i = 0; i < NELEM(senders); i++) {
		struct want w = { senders[i].entry == NULL ? POLICY_LISTS_NONE : senders[i].text ==
		    NULL ? POLICY_LISTS_ALLOW : POLICY_LISTS_BLOCK, senders[i].entry, 550,
		    senders[i].text };

		a = lt_addr(senders[i].path);
		q.sender = &a;
		check(l, &q, NULL, w, senders[i].path);
	}
	q.stage = SMTP_STAGE_RCPT;
	q.sender = NULL;
	for (size_t i = 0; i < NELEM(rcpts); i++) {
		struct want w = { rcpts[i].entry == NULL ? POLICY_LISTS_NONE : rcpts[i].text ==
		    NULL ? POLICY_LISTS_ALLOW : POLICY_LISTS_BLOCK, rcpts[i].entry, 550,
		    rcpts[i].text };

		a = lt_addr(rcpts[i].path);
		q.rcpt = &a;
		check(l, &q, NULL, w, rcpts[i].path);
	}
	q.rcpt = NULL;
	check(l, &q, NULL, NONE, "RCPT without a recipient");
	policy_lists_free(&l);
	config_free(&c);
}

/* block_tempfail: 421 at CONNECT, 450 elsewhere, both 4.7.1. */
static void
test_tempfail(void **state)
{
	struct config *c;
	struct policy_lists *l = lt_lists_from("policy {\n block_tempfail = true\n"
	    " block_clients = \"192.0.2.1\"\n block_senders = \"<>\"\n}", &c);
	struct smtp_ask q = lt_ask_connect("192.0.2.1");
	struct smtp_addr null = lt_addr("");

	(void)state;
	check(l, &q, NULL, (struct want){ POLICY_LISTS_BLOCK, "192.0.2.1", 421,
	    "Client host [192.0.2.1] rejected: listed in block_clients" }, "connect");
	q.stage = SMTP_STAGE_MAIL;
	q.sender = &null;
	check(l, &q, NULL, (struct want){ POLICY_LISTS_BLOCK, "<>", 450,
	    "<>: Sender address rejected: listed in block_senders" }, "mail");
	policy_lists_free(&l);
	config_free(&c);
}
int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_entry_forms),
		cmocka_unit_test_setup_teardown(test_keys, lt_setup, lt_teardown),
		cmocka_unit_test_setup_teardown(test_key_values, lt_setup, lt_teardown),
		cmocka_unit_test_setup_teardown(test_clients, lt_setup, lt_teardown),
		cmocka_unit_test_setup_teardown(test_helo, lt_setup, lt_teardown),
		cmocka_unit_test_setup_teardown(test_senders_and_recipients, lt_setup, lt_teardown),
		cmocka_unit_test_setup_teardown(test_tempfail, lt_setup, lt_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
