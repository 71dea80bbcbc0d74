/*
 * test_dnsbl.c - the pure parts of the client checks: which returned
 * addresses count, the score against the threshold, the verdicts' codes
 * and texts, PTR names worth a lookup (policy/dnsbl_judge.c); the answer
 * cache with its expiry and bound, on an injected clock
 * (policy/dnsbl_cache.c); and the configuration keys of policy { }. The
 * names the checks ask are test_dns.c's.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "config/config.h"
#include "config/ucl_int.h"
#include "dns/answer.h"
#include "policy/dnsbl.h"
#include "policy/dnsbl_cache.h"
#include "util/cidr.h"
#include "util/verdict.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* ---- answers, score, verdicts ---- */

static struct cidr answers[2];
static struct config_dnsbl lists[] = {
	{ "zen", "zen.example", answers, 2, 2, 0 },
	{ "pbl", "zen.example", NULL, 0, 1, 0 },
	{ "other", "bl.other.example", NULL, 0, 1, 0 },
	{ "watch", "watch.example", NULL, 0, 0, 0 },	/* weight 0: reported, never counted */
};

static int
setup_lists(void **state)
{
	(void)state;
	assert_int_equal(cidr_parse("127.0.0.2", &answers[0]), CIDR_OK);
	assert_int_equal(cidr_parse("127.0.0.4/30", &answers[1]), CIDR_OK);
	return 0;
}

static void
test_answer_counts(void **state)
{
	static const struct { const char *a; int want_filtered, want_default; } cases[] = {
		{ "127.0.0.2", 1, 1 },
		{ "127.0.0.3", 0, 1 },
		{ "127.0.0.4", 1, 1 },
		{ "127.0.0.7", 1, 1 },
		{ "127.0.0.8", 0, 1 },
		{ "127.255.254.255", 0, 1 },
		{ "127.255.255.0", 0, 0 },	/* the list's own codes: not a listing */
		{ "127.255.255.254", 0, 0 },
		{ "127.255.255.255", 0, 0 },
		{ "126.255.255.255", 0, 0 },	/* outside 127/8: a wildcard or a hijacked zone */
		{ "128.0.0.2", 0, 0 },
		{ "10.0.0.2", 0, 0 },
		{ "::ffff:127.0.0.2", 1, 1 },
		{ "not an address", 0, 0 },
	};

	(void)state;
	for (size_t i = 0; i < NELEM(cases); i++) {
		if (dnsbl_answer_counts(&lists[0], cases[i].a) != cases[i].want_filtered)
			fail_msg("%s with answers: want %d", cases[i].a, cases[i].want_filtered);
		if (dnsbl_answer_counts(&lists[1], cases[i].a) != cases[i].want_default)
			fail_msg("%s by default: want %d", cases[i].a, cases[i].want_default);
	}
}

static struct dns_reply
reply_of(enum dns_qstatus st, const char *a1, const char *a2)
{
	struct dns_reply r;

	memset(&r, 0, sizeof(r));
	r.status = st;
	if (a1 != NULL)
		snprintf(r.addrs[r.naddrs++], sizeof(r.addrs[0]), "%s", a1);
	if (a2 != NULL)
		snprintf(r.addrs[r.naddrs++], sizeof(r.addrs[0]), "%s", a2);
	return r;
}

static void
test_judge_reply(void **state)
{
	static const struct {
		size_t list;
		enum dns_qstatus st;
		const char *a1, *a2;
		enum dnsbl_state want;
		const char *code;
	} cases[] = {
		{ 1, DNS_Q_NONE, NULL, NULL, DNSBL_CLEAN, "" },
		{ 1, DNS_Q_TEMPFAIL, NULL, NULL, DNSBL_FAILED, "" },
		{ 1, DNS_Q_FOUND, "127.0.0.10", NULL, DNSBL_LISTED, "127.0.0.10" },
		{ 0, DNS_Q_FOUND, "127.0.0.10", NULL, DNSBL_CLEAN, "" },	/* not in answers */
		{ 0, DNS_Q_FOUND, "127.0.0.10", "127.0.0.5", DNSBL_LISTED, "127.0.0.5" },
		{ 1, DNS_Q_FOUND, "127.255.255.254", NULL, DNSBL_FAILED, "127.255.255.254" },
		{ 0, DNS_Q_FOUND, "127.255.255.252", NULL, DNSBL_FAILED, "127.255.255.252" },
		{ 1, DNS_Q_FOUND, "127.255.255.254", "127.0.0.2", DNSBL_LISTED, "127.0.0.2" },
		{ 1, DNS_Q_FOUND, "10.1.1.1", NULL, DNSBL_CLEAN, "" },
	};

	(void)state;
	for (size_t i = 0; i < NELEM(cases); i++) {
		struct dns_reply r = reply_of(cases[i].st, cases[i].a1, cases[i].a2);
		char code[DNS_IP_TEXT_MAX] = "junk";
		enum dnsbl_state got = dnsbl_judge_reply(&lists[cases[i].list], &r, code);

		if (got != cases[i].want || strcmp(code, cases[i].code) != 0)
			fail_msg("case %zu: want %s %s, got %s %s", i, dnsbl_state_name(cases[i].want),
			    cases[i].code, dnsbl_state_name(got), code);
	}
}

/* A result as dnsbl.c makes it: every list of lists[], in the states given. */
static struct dnsbl_result
result_of(const char *ip, unsigned threshold, const enum dnsbl_state *states)
{
	struct dnsbl_result r;

	memset(&r, 0, sizeof(r));
	snprintf(r.ip, sizeof(r.ip), "%s", ip);
	r.threshold = threshold;
	r.nlists = NELEM(lists);
	for (size_t i = 0; i < NELEM(lists); i++) {
		r.lists[i].name = lists[i].name;
		r.lists[i].zone = lists[i].zone;
		r.lists[i].weight = lists[i].weight;
		r.lists[i].state = states[i];
		if (states[i] == DNSBL_LISTED)
			snprintf(r.lists[i].code, sizeof(r.lists[i].code), "127.0.0.2");
	}
	dnsbl_result_score(&r);
	return r;
}

static void
test_score_and_verdict(void **state)
{
	static const struct {
		unsigned threshold;
		enum dnsbl_state states[4];
		unsigned score;
		const char *text, *rule;	/* text NULL: no verdict */
	} cases[] = {
		{ 1, { DNSBL_CLEAN, DNSBL_CLEAN, DNSBL_CLEAN, DNSBL_CLEAN }, 0, NULL, NULL },
		{ 1, { DNSBL_TIMEOUT, DNSBL_TIMEOUT, DNSBL_FAILED, DNSBL_CLEAN }, 0, NULL, NULL },
		{ 1, { DNSBL_CLEAN, DNSBL_CLEAN, DNSBL_CLEAN, DNSBL_LISTED }, 0, NULL, NULL },
		{ 1, { DNSBL_CLEAN, DNSBL_CLEAN, DNSBL_LISTED, DNSBL_CLEAN }, 1,
		    "Service unavailable; client [127.0.0.2] blocked using bl.other.example",
		    "dnsbl:other" },
		{ 2, { DNSBL_CLEAN, DNSBL_CLEAN, DNSBL_LISTED, DNSBL_LISTED }, 1, NULL, NULL },
		{ 2, { DNSBL_LISTED, DNSBL_CLEAN, DNSBL_CLEAN, DNSBL_LISTED }, 2,
		    "Service unavailable; client [127.0.0.2] blocked using zen.example", "dnsbl:zen" },
		/* two lists of one zone: the zone is named once, both lists in the rule */
		{ 3, { DNSBL_LISTED, DNSBL_LISTED, DNSBL_CLEAN, DNSBL_CLEAN }, 3,
		    "Service unavailable; client [127.0.0.2] blocked using zen.example",
		    "dnsbl:zen,pbl" },
		{ 4, { DNSBL_LISTED, DNSBL_LISTED, DNSBL_LISTED, DNSBL_LISTED }, 4,
		    "Service unavailable; client [127.0.0.2] blocked using zen.example, "
		    "bl.other.example", "dnsbl:zen,pbl,other" },
		{ 5, { DNSBL_LISTED, DNSBL_LISTED, DNSBL_LISTED, DNSBL_LISTED }, 4, NULL, NULL },
	};

	(void)state;
	for (size_t i = 0; i < NELEM(cases); i++) {
		struct dnsbl_result r = result_of("127.0.0.2", cases[i].threshold, cases[i].states);
		struct verdict v;
		int decided;

		memset(&v, 0x5a, sizeof(v));
		decided = dnsbl_verdict(&r, &v);
		if (r.score != cases[i].score)
			fail_msg("case %zu: score %u, want %u", i, r.score, cases[i].score);
		if (cases[i].text == NULL) {
			if (decided)
				fail_msg("case %zu: decided: %s", i, v.text);
			assert_int_equal(v.code, 0x5a5a5a5a);	/* left alone */
			continue;
		}
		if (!decided)
			fail_msg("case %zu: no verdict", i);
		assert_int_equal(v.kind, VERDICT_REJECT);
		assert_int_equal(v.code, 554);
		assert_string_equal(v.dsn, "5.7.1");
		assert_string_equal(v.text, cases[i].text);
		assert_string_equal(v.rule, cases[i].rule);
		assert_int_equal(v.delay_ms, 0);
	}
}

/* A text past the reply's limit is cut, not overflowed; the rule keeps whole names. */
static void
test_verdict_long(void **state)
{
	struct dnsbl_result r;
	char zone[CONFIG_DNSBL_MAX][200], name[CONFIG_DNSBL_MAX][40];
	struct verdict v;

	(void)state;
	memset(&r, 0, sizeof(r));
	snprintf(r.ip, sizeof(r.ip), "2001:db8::2");
	r.threshold = 1;
	r.nlists = CONFIG_DNSBL_MAX;
	for (size_t i = 0; i < CONFIG_DNSBL_MAX; i++) {
		memset(zone[i], 'a' + (int)i, 100);
		snprintf(zone[i] + 100, 20, ".example");
		snprintf(name[i], sizeof(name[i]), "list-number-%02zu", i);
		r.lists[i] = (struct dnsbl_list_result){ name[i], zone[i], 1, DNSBL_LISTED, "", 0 };
	}
	dnsbl_result_score(&r);
	assert_int_equal(r.score, CONFIG_DNSBL_MAX);
	assert_int_equal(dnsbl_verdict(&r, &v), 1);
	assert_int_equal(strlen(v.text), VERDICT_TEXT_MAX);
	assert_memory_equal(v.text, "Service unavailable; client [2001:db8::2] blocked using aaa",
	    59);
	assert_string_equal(v.rule, "dnsbl:list-number-00,list-number-01,list-number-02");
}

static void
test_fcrdns_verdict(void **state)
{
	struct fcrdns_result r;
	struct verdict v;

	(void)state;
	memset(&r, 0, sizeof(r));
	snprintf(r.ip, sizeof(r.ip), "127.0.0.9");
	memset(&v, 0x5a, sizeof(v));
	for (int st = FCRDNS_VERIFIED; st <= FCRDNS_TEMPFAIL; st++) {
		r.status = (enum fcrdns_status)st;
		assert_int_equal(fcrdns_verdict(&r, &v), 0);	/* not required: never decides */
	}
	r.is_required = 1;
	r.status = FCRDNS_VERIFIED;
	assert_int_equal(fcrdns_verdict(&r, &v), 0);
	assert_int_equal(v.code, 0x5a5a5a5a);
	r.status = FCRDNS_NONE;
	assert_int_equal(fcrdns_verdict(&r, &v), 1);
	assert_int_equal(v.kind, VERDICT_REJECT);
	assert_int_equal(v.code, 550);
	assert_string_equal(v.dsn, "5.7.25");
	assert_string_equal(v.text, "Client host rejected: cannot find your hostname, [127.0.0.9]");
	assert_string_equal(v.rule, "fcrdns");
	r.status = FCRDNS_TEMPFAIL;
	assert_int_equal(fcrdns_verdict(&r, &v), 1);
	assert_int_equal(v.kind, VERDICT_TEMPFAIL);
	assert_int_equal(v.code, 450);
	assert_string_equal(v.dsn, "4.7.25");
	assert_string_equal(v.text, "Client host rejected: cannot find your hostname, [127.0.0.9]");
	assert_string_equal(v.rule, "fcrdns");
}

static void
test_host_name(void **state)
{
	static const struct { const char *s; int want; } cases[] = {
		{ "mail.example.org", 1 },
		{ "a", 1 },
		{ "host-1.Example.ORG", 1 },
		{ "_dmarc.example", 1 },
		{ "127-0-0-9.pool.example", 1 },
		{ "127.0.0.9", 0 },		/* an address dressed as a name */
		{ "::1", 0 },
		{ "", 0 },
		{ ".", 0 },
		{ "a..b", 0 },
		{ ".a", 0 },
		{ "a.", 0 },			/* query.c takes the final dot off first */
		{ "a b.example", 0 },
		{ "a\\032b.example", 0 },	/* c-ares's escape of an odd byte */
		{ "caf\xc3\xa9.example", 0 },
		{ "x*.example", 0 },
	};
	char label[80], longname[300];

	(void)state;
	for (size_t i = 0; i < NELEM(cases); i++)
		if (fcrdns_is_host_name(cases[i].s) != cases[i].want)
			fail_msg("%s: want %d", cases[i].s, cases[i].want);
	memset(label, 'a', 64);
	label[63] = '\0';
	assert_int_equal(fcrdns_is_host_name(label), 1);
	label[63] = 'a', label[64] = '\0';
	assert_int_equal(fcrdns_is_host_name(label), 0);
	memset(longname, 'a', sizeof(longname));
	for (size_t i = 50; i < sizeof(longname); i += 51)
		longname[i] = '.';
	longname[253] = '\0';
	assert_int_equal(fcrdns_is_host_name(longname), longname[252] != '.');
	longname[253] = 'a', longname[254] = '\0';
	assert_int_equal(fcrdns_is_host_name(longname), 0);
}

/* ---- the cache ---- */

static const uint8_t *
ip16(const char *ip)
{
	static uint8_t a[16];
	int family;

	assert_int_equal(dns_ip_parse(ip, a, &family), 0);
	return a;
}

static void
test_cache_expiry(void **state)
{
	struct dnsbl_cache *c = dnsbl_cache_new(100);
	struct dns_reply listed = reply_of(DNS_Q_FOUND, "127.0.0.2", "127.0.0.4"), none, got;
	const uint64_t t0 = 1000000;

	(void)state;
	listed.ttl_s = 300;
	none = reply_of(DNS_Q_NONE, NULL, NULL);
	none.ttl_s = 0;		/* no SOA: the minimum */
	dnsbl_cache_put(c, 0, ip16("127.0.0.2"), &listed, t0);
	dnsbl_cache_put(c, 0, ip16("127.0.0.3"), &none, t0);
	assert_int_equal(dnsbl_cache_count(c, t0), 2);
	assert_int_equal(dnsbl_cache_get(c, 0, ip16("127.0.0.2"), t0 + 100500, &got), 1);
	assert_int_equal(got.status, DNS_Q_FOUND);
	assert_int_equal(got.ttl_s, 200);	/* what is left, rounded up */
	assert_int_equal(got.naddrs, 2);
	assert_string_equal(got.addrs[0], "127.0.0.2");
	assert_string_equal(got.addrs[1], "127.0.0.4");
	/* the IPv4-mapped form is the same client */
	assert_int_equal(dnsbl_cache_get(c, 0, ip16("::ffff:127.0.0.2"), t0, &got), 1);
	/* another zone is another answer */
	assert_int_equal(dnsbl_cache_get(c, 1, ip16("127.0.0.2"), t0, &got), 0);
	assert_int_equal(dnsbl_cache_get(c, 0, ip16("127.0.0.2"), t0 + 299999, &got), 1);
	assert_int_equal(dnsbl_cache_get(c, 0, ip16("127.0.0.2"), t0 + 300000, &got), 0);
	/* a TTL of 0 lives DNSBL_CACHE_MIN_S */
	assert_int_equal(dnsbl_cache_get(c, 0, ip16("127.0.0.3"), t0 + DNSBL_CACHE_MIN_S * 1000 - 1,
	    &got), 1);
	assert_int_equal(got.status, DNS_Q_NONE);
	assert_int_equal(got.naddrs, 0);
	assert_int_equal(dnsbl_cache_get(c, 0, ip16("127.0.0.3"), t0 + DNSBL_CACHE_MIN_S * 1000,
	    &got), 0);
	/* a week's TTL lives DNSBL_CACHE_MAX_S */
	listed.ttl_s = 7 * 86400;
	dnsbl_cache_put(c, 2, ip16("2001:db8::2"), &listed, t0);
	assert_int_equal(dnsbl_cache_get(c, 2, ip16("2001:db8::2"),
	    t0 + DNSBL_CACHE_MAX_S * 1000 - 1, &got), 1);
	assert_int_equal(dnsbl_cache_get(c, 2, ip16("2001:db8::2"), t0 + DNSBL_CACHE_MAX_S * 1000,
	    &got), 0);
	assert_int_equal(dnsbl_cache_count(c, t0 + DNSBL_CACHE_MAX_S * 1000), 0);
	dnsbl_cache_free(&c);
	assert_null(c);
	dnsbl_cache_free(&c);
}

static void
test_cache_replace_and_refuse(void **state)
{
	struct dnsbl_cache *c = dnsbl_cache_new(100);
	struct dns_reply r = reply_of(DNS_Q_NONE, NULL, NULL), got;

	(void)state;
	r.ttl_s = 600;
	dnsbl_cache_put(c, 0, ip16("127.0.0.2"), &r, 0);
	r = reply_of(DNS_Q_FOUND, "127.0.0.2", NULL);
	r.ttl_s = 60;
	dnsbl_cache_put(c, 0, ip16("127.0.0.2"), &r, 1000);
	assert_int_equal(dnsbl_cache_count(c, 1000), 1);
	assert_int_equal(dnsbl_cache_get(c, 0, ip16("127.0.0.2"), 1000, &got), 1);
	assert_int_equal(got.status, DNS_Q_FOUND);
	assert_int_equal(got.ttl_s, 60);
	/* failures are not answers: asked again next time */
	r = reply_of(DNS_Q_TEMPFAIL, NULL, NULL);
	dnsbl_cache_put(c, 0, ip16("127.0.0.3"), &r, 0);
	assert_int_equal(dnsbl_cache_get(c, 0, ip16("127.0.0.3"), 0, &got), 0);
	/* addresses none of which can be kept: not an answer to keep either */
	r = reply_of(DNS_Q_FOUND, "::1", NULL);
	dnsbl_cache_put(c, 0, ip16("127.0.0.4"), &r, 0);
	assert_int_equal(dnsbl_cache_get(c, 0, ip16("127.0.0.4"), 0, &got), 0);
	dnsbl_cache_free(&c);
	/* a cache of 0 entries keeps nothing */
	c = dnsbl_cache_new(0);
	r = reply_of(DNS_Q_NONE, NULL, NULL);
	dnsbl_cache_put(c, 0, ip16("127.0.0.2"), &r, 0);
	assert_int_equal(dnsbl_cache_get(c, 0, ip16("127.0.0.2"), 0, &got), 0);
	assert_int_equal(dnsbl_cache_count(c, 0), 0);
	dnsbl_cache_free(&c);
}

static void
test_cache_bound(void **state)
{
	struct dnsbl_cache *c = dnsbl_cache_new(100);
	struct dns_reply r = reply_of(DNS_Q_NONE, NULL, NULL), got;
	size_t found = 0;

	(void)state;
	r.ttl_s = 3600;
	for (unsigned i = 0; i < 5000; i++) {
		char ip[64];

		snprintf(ip, sizeof(ip), "2001:db8::%x", i);
		dnsbl_cache_put(c, 0, ip16(ip), &r, i);
		/* the answer just kept is always there */
		assert_int_equal(dnsbl_cache_get(c, 0, ip16(ip), i, &got), 1);
		assert_true(dnsbl_cache_count(c, i) <= 100);
	}
	for (unsigned i = 0; i < 5000; i++) {
		char ip[64];

		snprintf(ip, sizeof(ip), "2001:db8::%x", i);
		found += (size_t)dnsbl_cache_get(c, 0, ip16(ip), 5000, &got);
	}
	assert_int_equal(found, dnsbl_cache_count(c, 5000));
	assert_true(found > 50);	/* the table is used, not just its first neighbourhood */
	dnsbl_cache_free(&c);
}

/* A full neighbourhood gives up the answer closest to its expiry. */
static void
test_cache_eviction(void **state)
{
	struct dnsbl_cache *c = dnsbl_cache_new(8);	/* one neighbourhood: every slot probed */
	struct dns_reply r = reply_of(DNS_Q_NONE, NULL, NULL), got;
	char ip[32];

	(void)state;
	for (unsigned i = 0; i < 8; i++) {
		r.ttl_s = i == 5 ? 100 : 1000;
		snprintf(ip, sizeof(ip), "127.0.0.%u", i);
		dnsbl_cache_put(c, 0, ip16(ip), &r, 0);
	}
	assert_int_equal(dnsbl_cache_count(c, 0), 8);
	r.ttl_s = 1000;
	dnsbl_cache_put(c, 0, ip16("127.0.1.1"), &r, 0);
	assert_int_equal(dnsbl_cache_count(c, 0), 8);
	assert_int_equal(dnsbl_cache_get(c, 0, ip16("127.0.1.1"), 0, &got), 1);
	assert_int_equal(dnsbl_cache_get(c, 0, ip16("127.0.0.5"), 0, &got), 0);
	for (unsigned i = 0; i < 8; i++) {
		snprintf(ip, sizeof(ip), "127.0.0.%u", i);
		assert_int_equal(dnsbl_cache_get(c, 0, ip16(ip), 0, &got), i != 5);
	}
	dnsbl_cache_free(&c);
	/* an expired answer's slot is taken before the live one closest to expiry */
	c = dnsbl_cache_new(8);
	for (unsigned i = 0; i < 8; i++) {
		r.ttl_s = i == 3 ? 30 : i == 6 ? 100 : 1000;
		snprintf(ip, sizeof(ip), "127.0.0.%u", i);
		dnsbl_cache_put(c, 0, ip16(ip), &r, 0);
	}
	dnsbl_cache_put(c, 0, ip16("127.0.1.2"), &r, 50000);
	assert_int_equal(dnsbl_cache_get(c, 0, ip16("127.0.1.2"), 50000, &got), 1);
	for (unsigned i = 0; i < 8; i++) {
		snprintf(ip, sizeof(ip), "127.0.0.%u", i);
		assert_int_equal(dnsbl_cache_get(c, 0, ip16(ip), 50000, &got), i != 3);
	}
	dnsbl_cache_free(&c);
}

/* ---- configuration ---- */

#define BASE "server { hostname = \"mx.example.test\"; }\n" \
	"listen \"mx\" { address = \"127.0.0.1:2525\"; }\n"

static struct config *
load_text(const char *text, char *err, size_t errsize)
{
	struct ucl_doc *d = ucl_parse_mem((const uint8_t *)text, strlen(text), "t.conf", NULL,
	    NULL, err, errsize);
	struct config *c;

	if (d == NULL)
		return NULL;
	c = config_load_doc(d, "t.conf", err, errsize);
	ucl_doc_free(&d);
	return c;
}

static void
test_config_defaults(void **state)
{
	char err[512] = "";
	struct config *c = load_text(BASE, err, sizeof(err));

	(void)state;
	if (c == NULL)
		fail_msg("%s", err);
	assert_int_equal(c->ndnsbls, 0);
	assert_int_equal(c->dnsbl_threshold, 1);
	assert_int_equal(c->dnsbl_timeout_ms, 2000);
	assert_int_equal(c->dnsbl_cache_entries, 10000);
	assert_int_equal(c->is_fcrdns_required, 0);
	assert_int_equal(c->fcrdns_timeout_ms, 5000);
	config_free(&c);
}

static void
test_config_lists(void **state)
{
	char err[512] = "", net[64];
	struct config *c = load_text(BASE "policy {\n"
	    " dnsbl \"zen\" { zone = \"Zen.Example\"; answers = [\"127.0.0.2\", \"127.0.0.4/30\"];"
	    " weight = 2; }\n"
	    " dnsbl \"pbl\" { zone = zen.example; answers = \"127.0.0.10/31\" }\n"
	    " dnsbl \"any_1-x\" { zone = \"bl.test\" }\n"
	    " dnsbl_threshold = 3; dnsbl_timeout = 500ms; dnsbl_cache_entries = 0;\n"
	    " require_fcrdns = yes; fcrdns_timeout = 3s;\n}\n", err, sizeof(err));

	(void)state;
	if (c == NULL)
		fail_msg("%s", err);
	assert_int_equal(c->ndnsbls, 3);
	assert_string_equal(c->dnsbls[0].name, "zen");
	assert_string_equal(c->dnsbls[0].zone, "zen.example");	/* lowercased */
	assert_int_equal(c->dnsbls[0].weight, 2);
	assert_int_equal(c->dnsbls[0].nanswers, 2);
	assert_int_equal(cidr_format(&c->dnsbls[0].answers[1], net, sizeof(net)), 0);
	assert_string_equal(net, "127.0.0.4/30");
	assert_int_equal(c->dnsbls[0].line, 4);
	assert_string_equal(c->dnsbls[1].zone, "zen.example");
	assert_int_equal(c->dnsbls[1].weight, 1);	/* the default */
	assert_int_equal(c->dnsbls[1].nanswers, 1);
	assert_string_equal(c->dnsbls[2].name, "any_1-x");
	assert_int_equal(c->dnsbls[2].nanswers, 0);	/* the default filter */
	assert_int_equal(c->dnsbl_threshold, 3);
	assert_int_equal(c->dnsbl_timeout_ms, 500);
	assert_int_equal(c->dnsbl_cache_entries, 0);
	assert_int_equal(c->is_fcrdns_required, 1);
	assert_int_equal(c->fcrdns_timeout_ms, 3000);
	config_free(&c);
}

static const struct {
	const char *text;	/* after BASE: lines count from 3 */
	const char *want;
} bad_cases[] = {
	{ "policy { dnsbl \"zen\" { } }",
	    "t.conf:3: policy.dnsbl.zen.zone: required, as zone = \"zen.spamhaus.org\"" },
	{ "policy { dnsbl \"zen\" { zone = \"zen..example\" } }",
	    "t.conf:3: policy.dnsbl.zen.zone: 'zen..example' is not a DNS zone such as "
	    "zen.spamhaus.org (a domain name of at most 189 characters)" },
	{ "policy { dnsbl \"zen\" { zone = \"zen.example.\" } }",
	    "t.conf:3: policy.dnsbl.zen.zone: 'zen.example.' is not a DNS zone such as "
	    "zen.spamhaus.org (a domain name of at most 189 characters)" },
	{ "policy { dnsbl \"zen\" { zone = \"127.0.0.2 zen\" } }",
	    "t.conf:3: policy.dnsbl.zen.zone: '127.0.0.2 zen' is not a DNS zone such as "
	    "zen.spamhaus.org (a domain name of at most 189 characters)" },
	{ "policy { dnsbl \"zen\" { zone = \"zen.example\";\n answers = [\"127.0.0.300\"] } }",
	    "t.conf:4: policy.dnsbl.zen.answers: '127.0.0.300' is not a network in CIDR notation, "
	    "as \"192.0.2.0/24\" or \"2001:db8::/32\"" },
	{ "policy { dnsbl \"zen\" { zone = \"zen.example\";\n answers = [\"127.0.0.2\",\n"
	    " \"127.0.0.5/30\"] } }",
	    "t.conf:5: policy.dnsbl.zen.answers: '127.0.0.5/30' has bits set after the prefix "
	    "(the network is 127.0.0.4/30)" },
	{ "policy { dnsbl \"zen\" { zone = \"zen.example\";\n answers = [\"127.0.0.2\",\n"
	    " \"::ffff:127.0.0.3\"] } }",
	    "t.conf:5: policy.dnsbl.zen.answers: '::ffff:127.0.0.3' is not an IPv4 network: lists "
	    "answer with A records" },
	{ "policy { dnsbl \"zen\" { zone = \"zen.example\";\n answers = [] } }",
	    "t.conf:4: policy.dnsbl.zen.answers: expected at least one network; leave answers "
	    "out for the default (127.0.0.0/8 but 127.255.255.0/24)" },
	{ "policy { dnsbl \"zen\" { zone = \"zen.example\"; answers { a = 1 } } }",
	    "t.conf:3: policy.dnsbl.zen.answers: expected a list of networks such as "
	    "\"192.0.2.0/24\"" },
	{ "policy { dnsbl \"zen\" { zone = \"zen.example\"; weight = 101 } }",
	    "t.conf:3: policy.dnsbl.zen.weight: must be at most 100" },
	{ "policy { dnsbl \"zen\" { zone = \"zen.example\"; weight = -1 } }",
	    "t.conf:3: policy.dnsbl.zen.weight: must not be negative" },
	{ "policy { dnsbl { zone = \"zen.example\" } }",
	    "t.conf:3: policy.dnsbl.zone: lists have names: write dnsbl \"NAME\" { zone = ...; }" },
	{ "policy { dnsbl \"zen\" { zome = \"zen.example\" } }",
	    "t.conf:3: unknown key 'policy.dnsbl.zen.zome' (did you mean 'policy.dnsbl.zen.zone'?)" },
	{ "policy { dnsbl_treshold = 2 }", "t.conf:3: unknown key 'policy.dnsbl_treshold' (did "
	    "you mean 'policy.dnsbl_threshold'?)" },
	/* the parser takes section names of letters, digits, '_' and '-' only */
	{ "policy {\n dnsbl \"a.b\" { zone = \"zen.example\" } }",
	    "t.conf:4: invalid section name 'a.b' (names are letters, digits, '_' and '-')" },
	{ "policy {\n dnsbl \"abcdefghij-abcdefghij-abcdefghij-\" { zone = \"zen.example\" } }",
	    "t.conf:4: policy.dnsbl.abcdefghij-abcdefghij-abcdefghij-: a list's name is at most 32 "
	    "characters" },
	{ "policy { dnsbl_threshold = 0 }",
	    "t.conf:3: policy.dnsbl_threshold: must be at least 1" },
	{ "policy { dnsbl_timeout = 50ms }",
	    "t.conf:3: policy.dnsbl_timeout: must be at least 100ms" },
	{ "policy { dnsbl_timeout = 31s }", "t.conf:3: policy.dnsbl_timeout: must be at most 30s" },
	{ "policy { fcrdns_timeout = 1min }",
	    "t.conf:3: policy.fcrdns_timeout: must be at most 30s" },
	{ "policy { dnsbl_cache_entries = 1000001 }",
	    "t.conf:3: policy.dnsbl_cache_entries: must be at most 1000000" },
	{ "policy { require_fcrdns = 1 }",
	    "t.conf:3: policy.require_fcrdns: expected true or false (or yes/no, on/off)" },
};

static void
test_config_errors(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(bad_cases); i++) {
		char text[4096], err[512] = "";
		struct config *c;

		snprintf(text, sizeof(text), BASE "%s\n", bad_cases[i].text);
		c = load_text(text, err, sizeof(err));
		if (c != NULL) {
			config_free(&c);
			fail_msg("case %zu loads: %s", i, bad_cases[i].text);
		}
		if (strcmp(err, bad_cases[i].want) != 0)
			fail_msg("case %zu:\n want: %s\n  got: %s", i, bad_cases[i].want, err);
	}
}

/* The 189-byte zone is the longest: an IPv6 client's name must still fit in 253. */
static void
test_config_zone_length(void **state)
{
	char zone[200], text[1024], err[512] = "";
	struct config *c;

	(void)state;
	memset(zone, 'a', 189);
	zone[189] = '\0';
	for (size_t i = 63; i < 189; i += 64)
		zone[i] = '.';
	snprintf(text, sizeof(text), BASE "policy { dnsbl \"long\" { zone = \"%s\" } }\n", zone);
	c = load_text(text, err, sizeof(err));
	if (c == NULL)
		fail_msg("%s", err);
	config_free(&c);
	zone[189] = 'a';
	zone[190] = '\0';
	snprintf(text, sizeof(text), BASE "policy { dnsbl \"long\" { zone = \"%s\" } }\n", zone);
	assert_null(load_text(text, err, sizeof(err)));
	assert_non_null(strstr(err, "is not a DNS zone"));
}

static void
test_config_too_many(void **state)
{
	char text[8192], err[512] = "";
	size_t used = (size_t)snprintf(text, sizeof(text), BASE "policy {\n");
	struct config *c;

	(void)state;
	for (unsigned i = 0; i < CONFIG_DNSBL_MAX; i++)
		used += (size_t)snprintf(text + used, sizeof(text) - used,
		    " dnsbl \"l%u\" { zone = \"bl%u.example\" }\n", i, i);
	snprintf(text + used, sizeof(text) - used, "}\n");
	c = load_text(text, err, sizeof(err));
	if (c == NULL)
		fail_msg("%s", err);
	assert_int_equal(c->ndnsbls, CONFIG_DNSBL_MAX);
	config_free(&c);
	snprintf(text + used, sizeof(text) - used, " dnsbl \"one-more\" { zone = \"x.example\" }\n}\n");
	assert_null(load_text(text, err, sizeof(err)));
	assert_string_equal(err, "t.conf:20: policy.dnsbl.one-more: at most 16 lists (each is one "
	    "more DNS query per connection)");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_answer_counts, setup_lists),
		cmocka_unit_test_setup(test_judge_reply, setup_lists),
		cmocka_unit_test_setup(test_score_and_verdict, setup_lists),
		cmocka_unit_test(test_verdict_long),
		cmocka_unit_test(test_fcrdns_verdict),
		cmocka_unit_test(test_host_name),
		cmocka_unit_test(test_cache_expiry),
		cmocka_unit_test(test_cache_replace_and_refuse),
		cmocka_unit_test(test_cache_bound),
		cmocka_unit_test(test_cache_eviction),
		cmocka_unit_test(test_config_defaults),
		cmocka_unit_test(test_config_lists),
		cmocka_unit_test(test_config_errors),
		cmocka_unit_test(test_config_zone_length),
		cmocka_unit_test(test_config_too_many),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
