/*
 * test_routes.c - where outbound mail goes and how safely: outbound.routes
 * as written ("NEXT-HOP [POLICY]", the "*" entry), the smarthost's TLS
 * policy and its default, the checks across the outbound keys, which
 * route a domain takes, and what the client's protocol does under each
 * TLS policy (above all: no AUTH before TLS, no session without TLS where
 * it is required).
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
#include "deliver/smtpc.h"
#include "util/buf.h"
#include "util/xalloc.h"

#define BASE "server { hostname = \"mx.example.test\"; }\n" \
	"listen \"mx\" { address = \"127.0.0.1:2525\"; }\n"

/* Loads BASE and text (name "t.conf", so text starts at line 3): the config, or NULL and err. */
static struct config *
load(const char *text, char *err, size_t errsize)
{
	char all[4096];
	struct ucl_doc *d;
	struct config *c;

	snprintf(all, sizeof(all), "%s%s", BASE, text);
	d = ucl_parse_mem((const uint8_t *)all, strlen(all), "t.conf", NULL, NULL, err, errsize);
	if (d == NULL)
		return NULL;
	c = config_load_doc(d, "t.conf", err, errsize);
	ucl_doc_free(&d);
	return c;
}

static struct config *
load_ok(const char *text)
{
	char err[1024] = "";
	struct config *c = load(text, err, sizeof(err));

	if (c == NULL)
		fail_msg("%s: %s", text, err);
	return c;
}

/* ---- a route as written ---- */

static const struct {
	const char *in;
	int ok;
	const char *host;
	unsigned port;
	int is_literal;
	enum config_tls tls;
} route_cases[] = {
	{ "mx.example.org", 1, "mx.example.org", 0, 0, CONFIG_TLS_MAY },	/* as before */
	{ "[192.0.2.7]:2525", 1, "192.0.2.7", 2525, 1, CONFIG_TLS_MAY },
	{ "[192.0.2.7]:2525 verify", 1, "192.0.2.7", 2525, 1, CONFIG_TLS_VERIFY },
	{ "hub.example.org encrypt", 1, "hub.example.org", 0, 0, CONFIG_TLS_ENCRYPT },
	{ "hub.example.org   none", 1, "hub.example.org", 0, 0, CONFIG_TLS_NONE },
	{ "Hub.Example.Org MAY", 1, "hub.example.org", 0, 0, CONFIG_TLS_MAY },
	{ "[::1]:25 Verify", 1, "::1", 25, 1, CONFIG_TLS_VERIFY },
	{ "hub.example.org maybe", 0, NULL, 0, 0, 0 },
	{ "hub.example.org verify now", 0, NULL, 0, 0, 0 },
	{ "hub.example.org ", 0, NULL, 0, 0, 0 },
	{ "verify", 1, "verify", 0, 0, CONFIG_TLS_MAY },	/* a host called verify: no policy word alone */
	{ "127.0.0.1 verify", 0, NULL, 0, 0, 0 },		/* an address only in brackets */
	{ "", 0, NULL, 0, 0, 0 },
	{ " verify", 0, NULL, 0, 0, 0 },
};

static void
test_route_parse(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(route_cases); i++) {
		struct config_route r;
		int rc = config_route_parse(route_cases[i].in, &r);

		if ((rc == 0) != route_cases[i].ok)
			fail_msg("'%s': %d", route_cases[i].in, rc);
		if (rc != 0)
			continue;
		assert_string_equal(r.hop.host, route_cases[i].host);
		assert_int_equal(r.hop.port, route_cases[i].port);
		assert_int_equal(r.hop.is_literal, route_cases[i].is_literal);
		assert_int_equal(r.tls, route_cases[i].tls);
	}
}

static void
test_tls_names(void **state)
{
	static const char *const names[] = { "none", "may", "encrypt", "verify" };
	enum config_tls t;

	(void)state;
	for (size_t i = 0; i < NELEM(names); i++) {
		assert_int_equal(config_tls_parse(names[i], &t), 0);
		assert_int_equal(t, (enum config_tls)i);
		assert_string_equal(config_tls_name(t), names[i]);
	}
	assert_int_equal(config_tls_parse("ENCRYPT", &t), 0);
	assert_int_equal(t, CONFIG_TLS_ENCRYPT);
	/* each demands more than the one before: the checks compare them */
	assert_true(CONFIG_TLS_NONE < CONFIG_TLS_MAY && CONFIG_TLS_MAY < CONFIG_TLS_ENCRYPT &&
	    CONFIG_TLS_ENCRYPT < CONFIG_TLS_VERIFY);
	assert_int_equal(config_tls_parse("", &t), -1);
	assert_int_equal(config_tls_parse("verified", &t), -1);
	assert_int_equal(config_tls_parse("secure", &t), -1);
}

/* ---- the outbound keys as a whole ---- */

#define CREDS "smarthost_user = \"u\"; smarthost_password = \"p\"; "

static const struct {
	const char *text;	/* after BASE: line 3 */
	const char *want;	/* NULL: loads */
} load_cases[] = {
	{ "outbound { routes = [\"* [hub.example.org]\"] }", NULL },
	{ "outbound { routes = [\"* hub.example.org verify\", \"a.test [192.0.2.1] none\"] }", NULL },
	{ "outbound { routes = [\"*.test hub.example.org\"] }",
	    "t.conf:3: outbound.routes: '*.test' is not a domain name or *" },
	{ "outbound { routes = [\"* a.test\", \"* b.test\"] }",
	    "t.conf:3: outbound.routes: '*' is listed twice (first at line 3)" },
	{ "outbound { routes = [\"a.test b.test sometimes\"] }",
	    "t.conf:3: outbound.routes: 'b.test sometimes' is not a next hop (host, host:port, "
	    "[host] or [host]:port) and an optional TLS policy (none, may, encrypt or verify)" },
	{ "outbound { routes = [\"a.test b.test\",\n \"* hub.test\"]; smarthost = \"[s.test]\" }",
	    "t.conf:4: outbound.routes: '*' and outbound.smarthost both take every domain "
	    "without a route of its own: keep one" },
	{ "outbound { routes = [\"a.test b.test\"]; smarthost = \"[s.test]\" }", NULL },
	/* the smarthost: plain is fine without credentials, never with */
	{ "outbound { smarthost = \"[s.test]\"; smarthost_tls = none }", NULL },
	{ "outbound { smarthost = \"[s.test]\"; smarthost_tls = \"Verify\" }", NULL },
	{ "outbound { smarthost = \"[s.test]\"; smarthost_tls = sometimes }",
	    "t.conf:3: outbound.smarthost_tls: must be one of none, may, encrypt, verify" },
	{ "outbound { smarthost = \"[s.test]\"; smarthost_tls = [verify] }",
	    "t.conf:3: outbound.smarthost_tls: must be one of none, may, encrypt, verify" },
	{ "outbound { smarthost_tls = verify }",
	    "t.conf:3: outbound.smarthost_tls: set outbound.smarthost too" },
	{ "outbound { smarthost = \"[s.test]\"; " CREDS "smarthost_tls = may }",
	    "t.conf:3: outbound.smarthost_tls: may does not protect the password of "
	    "outbound.smarthost_user: use verify or encrypt" },
	{ "outbound { smarthost = \"[s.test]\"; " CREDS "\nsmarthost_tls = none }",
	    "t.conf:4: outbound.smarthost_tls: none does not protect the password of "
	    "outbound.smarthost_user: use verify or encrypt" },
	{ "outbound { smarthost = \"[s.test]\"; " CREDS "smarthost_tls = encrypt }", NULL },
	{ "outbound { " CREDS "}",
	    "t.conf:3: outbound.smarthost_user: set outbound.smarthost too" },
	{ "outbound { smarthost_password = \"p\" }",
	    "t.conf:3: outbound.smarthost_user and outbound.smarthost_password go together" },
	{ "outbound { tls_ca_file = \"\" }", "t.conf:3: outbound.tls_ca_file: must not be empty" },
	{ "outbound { tls_ca_file = \"/etc/ssl/private-ca.pem\" }", NULL },
};

static void
test_load_outbound(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(load_cases); i++) {
		char err[1024] = "";
		struct config *c = load(load_cases[i].text, err, sizeof(err));

		if (load_cases[i].want == NULL && c == NULL)
			fail_msg("case %zu: %s", i, err);
		if (load_cases[i].want != NULL && (c != NULL ||
		    strcmp(err, load_cases[i].want) != 0))
			fail_msg("case %zu:\n want: %s\n  got: %s", i, load_cases[i].want,
			    c != NULL ? "(loaded)" : err);
		config_free(&c);
	}
}

static void
test_smarthost_tls_default(void **state)
{
	struct config *c;

	(void)state;
	/* a hub without credentials: opportunistic, as Postfix's relayhost */
	c = load_ok("outbound { smarthost = \"[s.test]\" }");
	assert_int_equal(c->smarthost_tls, CONFIG_TLS_MAY);
	assert_false(config_uses_verify(c));
	config_free(&c);
	/* credentials: the certificate is checked unless said otherwise */
	c = load_ok("outbound { smarthost = \"[s.test]\"; " CREDS "}");
	assert_int_equal(c->smarthost_tls, CONFIG_TLS_VERIFY);
	assert_true(config_uses_verify(c));
	config_free(&c);
	c = load_ok("outbound { smarthost = \"[s.test]\"; " CREDS "smarthost_tls = encrypt }");
	assert_int_equal(c->smarthost_tls, CONFIG_TLS_ENCRYPT);
	assert_false(config_uses_verify(c));
	config_free(&c);
	c = load_ok("outbound { routes = [\"a.test [192.0.2.1] verify\"] }");
	assert_true(config_uses_verify(c));
	config_free(&c);
}

static void
test_places(void **state)
{
	struct config *c;

	(void)state;
	c = load_ok("server {\n user = \"nosuchuser\" }\noutbound {\n tls_ca_file = \"ca/x.pem\" }");
	/* sterna check names these places when the user or the file is missing */
	assert_string_equal(c->user_at.file, "t.conf");
	assert_int_equal(c->user_at.line, 4);
	assert_string_equal(c->out_tls_ca_file_at.file, "t.conf");
	assert_int_equal(c->out_tls_ca_file_at.line, 6);
	/* relative to the file's folder, like every other path */
	assert_true(c->out_tls_ca_file[0] == '/');
	assert_non_null(strstr(c->out_tls_ca_file, "/ca/x.pem"));
	config_free(&c);
	c = load_ok("");
	assert_null(c->user_at.file);
	assert_null(c->out_tls_ca_file_at.file);
	assert_string_equal(c->out_tls_ca_file, "");
	config_free(&c);
}

/* ---- which route a domain takes ---- */

static void
test_route_of(void **state)
{
	struct config_route r;
	struct config *c;

	(void)state;
	c = load_ok("outbound { routes = [\"example.net [192.0.2.7]:2525 verify\", "
	    "\"* hub.test encrypt\"] }");
	assert_int_equal(config_route_of(c, "example.net", &r), CONFIG_ROUTE_DOMAIN);
	assert_string_equal(r.hop.host, "192.0.2.7");
	assert_int_equal(r.hop.port, 2525);
	assert_int_equal(r.tls, CONFIG_TLS_VERIFY);
	assert_int_equal(config_route_of(c, "other.test", &r), CONFIG_ROUTE_ANY);
	assert_string_equal(r.hop.host, "hub.test");
	assert_int_equal(r.tls, CONFIG_TLS_ENCRYPT);
	/* a null client sends everything to the hub: a notice to a sender at a literal too */
	assert_int_equal(config_route_of(c, "[192.0.2.99]", &r), CONFIG_ROUTE_ANY);
	assert_string_equal(r.hop.host, "hub.test");
	/* a subdomain is a domain of its own */
	assert_int_equal(config_route_of(c, "mail.example.net", &r), CONFIG_ROUTE_ANY);
	config_free(&c);

	c = load_ok("outbound { routes = [\"example.net example.net none\"]; "
	    "smarthost = \"[s.test]:587\"; " CREDS "}");
	assert_int_equal(config_route_of(c, "example.net", &r), CONFIG_ROUTE_DOMAIN);
	assert_int_equal(r.tls, CONFIG_TLS_NONE);
	assert_string_equal(r.hop.host, "example.net");
	assert_int_equal(r.hop.is_literal, 0);	/* its MX records */
	assert_int_equal(config_route_of(c, "other.test", &r), CONFIG_ROUTE_SMARTHOST);
	assert_string_equal(r.hop.host, "s.test");
	assert_int_equal(r.hop.port, 587);
	assert_int_equal(r.tls, CONFIG_TLS_VERIFY);
	config_free(&c);

	c = load_ok("");
	assert_int_equal(config_route_of(c, "other.test", &r), CONFIG_ROUTE_NONE);
	assert_string_equal(r.hop.host, "");
	assert_int_equal(r.tls, CONFIG_TLS_MAY);	/* MX hosts: opportunistic, as before */
	config_free(&c);
}

/* ---- the client's protocol under each policy ---- */

struct sess {
	struct smtpc c;
	struct smtpc_conf conf;
	struct buf out;	/* every command sent in the session */
	struct smtpc_action act;
};

static void
sess_init(struct sess *s, enum config_tls tls, int has_ctx, int has_auth)
{
	memset(s, 0, sizeof(*s));
	s->conf.helo_name = "out.example.test";
	smtpc_conf_tls(&s->conf, tls, has_ctx);
	if (has_auth) {
		s->conf.auth_plain_b64 = "AHUAcA==";
		s->conf.auth_user_b64 = "dQ==";
		s->conf.auth_pass_b64 = "cA==";
	}
	buf_init(&s->out, 65536);
	smtpc_init(&s->c, &s->conf, &s->out);
}

/* Feeds one reply; the commands sent pile up in s->out. */
static void
reply(struct sess *s, const char *in)
{
	struct smtpc_reader r;
	struct smtpc_reply rep;
	size_t used;

	smtpc_reader_init(&r);
	assert_int_equal(smtpc_reader_feed(&r, (const uint8_t *)in, strlen(in), &used, &rep),
	    SMTPC_PARSE_OK);
	smtpc_reader_clear(&r);
	smtpc_input(&s->c, &rep, &s->act);
}

#define EHLO_TLS "250-mx.test\r\n250-AUTH PLAIN LOGIN\r\n250 STARTTLS\r\n"
#define EHLO_PLAIN "250-mx.test\r\n250 AUTH PLAIN LOGIN\r\n"

static void
test_policy_flags(void **state)
{
	static const struct {
		enum config_tls tls;
		int has_ctx, allowed, required;
	} cases[] = {
		{ CONFIG_TLS_NONE, 1, 0, 0 },
		{ CONFIG_TLS_MAY, 1, 1, 0 },
		{ CONFIG_TLS_MAY, 0, 0, 0 },	/* no context: in the clear, as without STARTTLS */
		{ CONFIG_TLS_ENCRYPT, 1, 1, 1 },
		{ CONFIG_TLS_VERIFY, 1, 1, 1 },
		{ CONFIG_TLS_VERIFY, 0, 0, 1 },	/* never plain instead */
	};

	(void)state;
	for (size_t i = 0; i < NELEM(cases); i++) {
		struct smtpc_conf conf = { 0 };

		smtpc_conf_tls(&conf, cases[i].tls, cases[i].has_ctx);
		assert_int_equal(conf.is_tls_allowed, cases[i].allowed);
		assert_int_equal(conf.is_tls_required, cases[i].required);
	}
}

/* What a session comes to when the server's EHLO reply is ehlo and STARTTLS gets starttls. */
static void
run(enum config_tls tls, int has_auth, const char *ehlo, const char *starttls,
    const char *want_sent, int want_ready, int want_tls, const char *want_why)
{
	struct sess s;

	sess_init(&s, tls, 1, has_auth);
	reply(&s, "220 mx.test ESMTP\r\n");
	reply(&s, ehlo);
	if (starttls != NULL && s.c.state == SMTPC_STARTTLS)
		reply(&s, starttls);
	assert_string_equal(buf_cstr(&s.out), want_sent);
	assert_int_equal(s.act.is_ready, want_ready);
	assert_int_equal(s.act.want_tls, want_tls);
	if (want_why != NULL) {
		assert_true(s.act.is_failed);
		assert_string_equal(s.act.why, want_why);
	} else {
		assert_false(s.act.is_failed);
	}
	buf_clear(&s.out);
}

static void
test_policy_sessions(void **state)
{
	(void)state;
	/* none: STARTTLS is never sent, even when offered */
	run(CONFIG_TLS_NONE, 0, EHLO_TLS, NULL, "EHLO out.example.test\r\n", 1, 0, NULL);
	/* may: STARTTLS when offered; in the clear when not, or when it is refused */
	run(CONFIG_TLS_MAY, 0, EHLO_TLS, "220 go\r\n", "EHLO out.example.test\r\nSTARTTLS\r\n",
	    0, 1, NULL);
	run(CONFIG_TLS_MAY, 0, EHLO_PLAIN, NULL, "EHLO out.example.test\r\n", 1, 0, NULL);
	run(CONFIG_TLS_MAY, 0, EHLO_TLS, "454 4.7.0 not now\r\n",
	    "EHLO out.example.test\r\nSTARTTLS\r\n", 1, 0, NULL);
	/* encrypt and verify: no session without TLS, and nothing sent after EHLO */
	run(CONFIG_TLS_ENCRYPT, 0, EHLO_PLAIN, NULL, "EHLO out.example.test\r\n", 0, 0,
	    "TLS is required and the server does not offer STARTTLS");
	run(CONFIG_TLS_VERIFY, 1, EHLO_PLAIN, NULL, "EHLO out.example.test\r\n", 0, 0,
	    "TLS is required and the server does not offer STARTTLS");
	run(CONFIG_TLS_ENCRYPT, 1, EHLO_TLS, "454 4.7.0 not now\r\n",
	    "EHLO out.example.test\r\nSTARTTLS\r\n", 0, 0, "STARTTLS: 454 4.7.0 not now");
	/* with credentials, STARTTLS comes first, never AUTH */
	run(CONFIG_TLS_VERIFY, 1, EHLO_TLS, "220 go\r\n", "EHLO out.example.test\r\nSTARTTLS\r\n",
	    0, 1, NULL);
}

static void
test_auth_only_after_tls(void **state)
{
	struct sess s;

	(void)state;
	sess_init(&s, CONFIG_TLS_VERIFY, 1, 1);
	reply(&s, "220 mx.test ESMTP\r\n");
	reply(&s, EHLO_TLS);
	reply(&s, "220 go\r\n");
	assert_true(s.act.want_tls);
	assert_null(strstr(buf_cstr(&s.out), "AUTH"));
	/* the handshake (and under verify the certificate's check) passed: EHLO again, then AUTH */
	smtpc_tls_ready(&s.c);
	reply(&s, EHLO_TLS);
	assert_string_equal(buf_cstr(&s.out), "EHLO out.example.test\r\nSTARTTLS\r\n"
	    "EHLO out.example.test\r\nAUTH PLAIN AHUAcA==\r\n");
	reply(&s, "235 2.7.0 ok\r\n");
	assert_true(s.act.is_ready);
	buf_clear(&s.out);
	/* a server that drops STARTTLS from its second EHLO is still spoken to inside TLS */
	sess_init(&s, CONFIG_TLS_ENCRYPT, 1, 1);
	reply(&s, "220 mx.test ESMTP\r\n");
	reply(&s, EHLO_TLS);
	reply(&s, "220 go\r\n");
	smtpc_tls_ready(&s.c);
	reply(&s, EHLO_PLAIN);
	assert_non_null(strstr(buf_cstr(&s.out), "AUTH PLAIN"));
	buf_clear(&s.out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_route_parse),
		cmocka_unit_test(test_tls_names),
		cmocka_unit_test(test_load_outbound),
		cmocka_unit_test(test_smarthost_tls_default),
		cmocka_unit_test(test_places),
		cmocka_unit_test(test_route_of),
		cmocka_unit_test(test_policy_flags),
		cmocka_unit_test(test_policy_sessions),
		cmocka_unit_test(test_auth_only_after_tls),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
