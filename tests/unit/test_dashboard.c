/*
 * test_dashboard.c - the dashboard's sessions (pure): a cookie's value
 * found among others, and not found in look-alikes; sessions opened with
 * fresh tokens, found by their cookie only, ended when unused or too old,
 * closed, and bounded (the least recently used makes room).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "dashboard/session.h"

static void
test_cookie_value(void **state)
{
	static const struct {
		const char *header, *want;
	} cases[] = {
		{ "sterna_session=abc", "abc" },
		{ "a=1; sterna_session=abc; b=2", "abc" },
		{ "a=1;sterna_session=abc ", "abc" },
		{ "x_sterna_session=abc", NULL },
		{ "sterna_sessionx=abc", NULL },
		{ "sterna_session", NULL },
		{ "", NULL },
		{ "a=sterna_session=abc", NULL },
		{ "sterna_session=; b=2", "" },
	};
	char out[80];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = dash_cookie_value(cases[i].header, DASH_COOKIE, out, sizeof(out));

		if (cases[i].want == NULL) {
			assert_int_equal(rc, -1);
			continue;
		}
		assert_int_equal(rc, 0);
		assert_string_equal(out, cases[i].want);
	}
	/* a value that does not fit */
	assert_int_equal(dash_cookie_value("sterna_session=0123456789", DASH_COOKIE, out, 5), -1);
}

static void
cookie_of(const struct dash_session *s, char *out, size_t size)
{
	snprintf(out, size, "theme=dark; %s=%s", DASH_COOKIE, s->token);
}

static void
test_sessions(void **state)
{
	struct dash_sessions *ds = dash_sessions_new();
	const struct dash_session *s, *t;
	char cookie[200], other[200], token[DASH_TOKEN_LEN + 1], csrf[DASH_TOKEN_LEN + 1];

	(void)state;
	s = dash_session_open(ds, "abcdefghijklmnop", 1000);
	assert_int_equal(strlen(s->token), DASH_TOKEN_LEN);
	assert_int_equal(strspn(s->token, "0123456789abcdef"), DASH_TOKEN_LEN);
	assert_string_not_equal(s->token, s->csrf);
	assert_string_equal(s->key_id, "abcdefghijklmnop");
	memcpy(token, s->token, sizeof(token));
	memcpy(csrf, s->csrf, sizeof(csrf));
	cookie_of(s, cookie, sizeof(cookie));
	t = dash_session_find(ds, cookie, 1001);
	assert_non_null(t);
	assert_string_equal(t->csrf, csrf);
	/* a second session has other tokens */
	t = dash_session_open(ds, "qrstuvwxyz234567", 1002);
	assert_string_not_equal(t->token, token);
	assert_int_equal(dash_sessions_count(ds), 2);
	/* a token one character off, too short, or the CSRF token: none */
	snprintf(other, sizeof(other), "%s=%s", DASH_COOKIE, token);
	other[strlen(other) - 1] ^= 1;
	assert_null(dash_session_find(ds, other, 1003));
	snprintf(other, sizeof(other), "%s=%.10s", DASH_COOKIE, token);
	assert_null(dash_session_find(ds, other, 1003));
	snprintf(other, sizeof(other), "%s=%s", DASH_COOKIE, csrf);
	assert_null(dash_session_find(ds, other, 1003));
	assert_null(dash_session_find(ds, "", 1003));
	/* used within the idle time, it lives on; past it, it has ended */
	assert_non_null(dash_session_find(ds, cookie, 1000 + DASH_SESSION_IDLE_S - 1));
	assert_non_null(dash_session_find(ds, cookie, 1000 + 2 * DASH_SESSION_IDLE_S - 2));
	assert_null(dash_session_find(ds, cookie, 1000 + 3 * DASH_SESSION_IDLE_S));
	assert_int_equal(dash_sessions_count(ds), 1);
	/* however often used, a session ends after DASH_SESSION_MAX_S */
	s = dash_session_open(ds, "abcdefghijklmnop", 5000);
	cookie_of(s, cookie, sizeof(cookie));
	for (uint64_t t_s = 5000; t_s < 5000 + DASH_SESSION_MAX_S; t_s += 3600)
		assert_non_null(dash_session_find(ds, cookie, t_s));
	assert_null(dash_session_find(ds, cookie, 5000 + DASH_SESSION_MAX_S));
	/* closed: gone */
	s = dash_session_open(ds, "abcdefghijklmnop", 9000);
	cookie_of(s, cookie, sizeof(cookie));
	dash_session_close(ds, cookie);
	assert_null(dash_session_find(ds, cookie, 9001));
	dash_sessions_free(&ds);
	assert_null(ds);
}

static void
test_sessions_bounded(void **state)
{
	struct dash_sessions *ds = dash_sessions_new();
	char first[200], second[200];

	(void)state;
	cookie_of(dash_session_open(ds, "abcdefghijklmnop", 100), first, sizeof(first));
	cookie_of(dash_session_open(ds, "abcdefghijklmnop", 100), second, sizeof(second));
	/* the first is used later: the second is the least recently used */
	assert_non_null(dash_session_find(ds, first, 200));
	for (int i = 2; i < DASH_SESSIONS_MAX; i++)
		(void)dash_session_open(ds, "abcdefghijklmnop", 150);
	assert_int_equal(dash_sessions_count(ds), DASH_SESSIONS_MAX);
	(void)dash_session_open(ds, "abcdefghijklmnop", 300);
	assert_int_equal(dash_sessions_count(ds), DASH_SESSIONS_MAX);
	assert_null(dash_session_find(ds, second, 301));
	assert_non_null(dash_session_find(ds, first, 301));
	dash_sessions_free(&ds);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cookie_value),
		cmocka_unit_test(test_sessions),
		cmocka_unit_test(test_sessions_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
