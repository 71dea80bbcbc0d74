/*
 * session.c - a small array of sessions, searched linearly with a
 * comparison of whole tokens that takes the same time wherever they
 * differ: a cookie tells nothing about the tokens it is not.
 */
#include "dashboard/session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

struct dash_sessions {
	struct dash_session s[DASH_SESSIONS_MAX];
	size_t n;
};

struct dash_sessions *
dash_sessions_new(void)
{
	return xcalloc(1, sizeof(struct dash_sessions));
}

void
dash_sessions_free(struct dash_sessions **dsp)
{
	struct dash_sessions *ds = *dsp;

	if (ds == NULL)
		return;
	explicit_bzero(ds, sizeof(*ds));
	free(ds);
	*dsp = NULL;
}

static void
random_hex(char out[DASH_TOKEN_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	uint8_t b[DASH_TOKEN_LEN / 2];

	arc4random_buf(b, sizeof(b));
	for (size_t i = 0; i < sizeof(b); i++) {
		out[2 * i] = hex[b[i] >> 4];
		out[2 * i + 1] = hex[b[i] & 15];
	}
	out[DASH_TOKEN_LEN] = '\0';
	explicit_bzero(b, sizeof(b));
}

static int
is_ended(const struct dash_session *s, uint64_t now_s)
{
	return now_s >= s->used_s + DASH_SESSION_IDLE_S || now_s >= s->opened_s + DASH_SESSION_MAX_S;
}

const struct dash_session *
dash_session_open(struct dash_sessions *ds, const char *key_id, uint64_t now_s)
{
	struct dash_session *s;

	if (ds->n < DASH_SESSIONS_MAX) {
		s = &ds->s[ds->n++];
	} else {
		s = &ds->s[0];
		for (size_t i = 1; i < ds->n; i++)
			if (ds->s[i].used_s < s->used_s)
				s = &ds->s[i];
	}
	memset(s, 0, sizeof(*s));
	random_hex(s->token);
	random_hex(s->csrf);
	(void)snprintf(s->key_id, sizeof(s->key_id), "%s", key_id);
	s->opened_s = s->used_s = now_s;
	return s;
}

/* Equal tokens, in a time that does not depend on where they differ. */
static int
token_eq(const char *a, const char *b)
{
	unsigned char d = 0;

	for (size_t i = 0; i < DASH_TOKEN_LEN; i++)
		d |= (unsigned char)(a[i] ^ b[i]);
	return d == 0;
}

/* The index of the session that cookie names, or -1. */
static long
find(const struct dash_sessions *ds, const char *cookie)
{
	char token[DASH_TOKEN_LEN + 1];
	long found = -1;

	if (cookie == NULL || dash_cookie_value(cookie, DASH_COOKIE, token, sizeof(token)) == -1 ||
	    strlen(token) != DASH_TOKEN_LEN)
		return -1;
	for (size_t i = 0; i < ds->n; i++)
		if (token_eq(ds->s[i].token, token))
			found = (long)i;
	explicit_bzero(token, sizeof(token));
	return found;
}

static void
forget(struct dash_sessions *ds, size_t i)
{
	ds->s[i] = ds->s[--ds->n];
	explicit_bzero(&ds->s[ds->n], sizeof(ds->s[ds->n]));
}

const struct dash_session *
dash_session_find(struct dash_sessions *ds, const char *cookie, uint64_t now_s)
{
	long i = find(ds, cookie);

	if (i < 0)
		return NULL;
	if (is_ended(&ds->s[i], now_s)) {
		forget(ds, (size_t)i);
		return NULL;
	}
	if (now_s > ds->s[i].used_s)
		ds->s[i].used_s = now_s;
	return &ds->s[i];
}

void
dash_session_close(struct dash_sessions *ds, const char *cookie)
{
	long i = find(ds, cookie);

	if (i >= 0)
		forget(ds, (size_t)i);
}

size_t
dash_sessions_count(const struct dash_sessions *ds)
{
	return ds->n;
}

int
dash_cookie_value(const char *header, const char *name, char *out, size_t size)
{
	size_t nlen = strlen(name);
	const char *p = header;

	while (*p != '\0') {
		const char *end;
		size_t vlen;

		while (*p == ' ' || *p == '\t' || *p == ';')
			p++;
		end = p + strcspn(p, ";");
		if ((size_t)(end - p) > nlen && strncmp(p, name, nlen) == 0 && p[nlen] == '=') {
			p += nlen + 1;
			vlen = (size_t)(end - p);
			while (vlen > 0 && (p[vlen - 1] == ' ' || p[vlen - 1] == '\t'))
				vlen--;
			if (vlen + 1 > size)
				return -1;
			memcpy(out, p, vlen);
			out[vlen] = '\0';
			return 0;
		}
		p = end;
	}
	return -1;
}
