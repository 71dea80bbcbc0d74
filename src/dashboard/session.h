/*
 * session.h - the dashboard's login sessions (pure: no I/O, the clock is
 * the caller's). A session is opened with an admin API key; the browser
 * keeps only its token, in a cookie (HttpOnly, SameSite=Strict), and
 * each session has a CSRF token of its own that the page sends back in a
 * header with every action. Bounded: at most DASH_SESSIONS_MAX sessions
 * (a new one takes the place of the least recently used), each ending
 * after DASH_SESSION_IDLE_S unused or DASH_SESSION_MAX_S in all. Nothing
 * survives a restart: the operator logs in again.
 */
#ifndef STERNA_DASHBOARD_SESSION_H
#define STERNA_DASHBOARD_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "http/http.h"

#define DASH_SESSIONS_MAX 64
#define DASH_SESSION_IDLE_S (8 * 3600)
#define DASH_SESSION_MAX_S (24 * 3600)
#define DASH_TOKEN_LEN 64		/* hex: 256 random bits */
#define DASH_COOKIE "sterna_session"

struct dash_session {
	char token[DASH_TOKEN_LEN + 1];
	char csrf[DASH_TOKEN_LEN + 1];
	char key_id[HTTP_KEY_ID_LEN + 1];
	uint64_t opened_s, used_s;
};

struct dash_sessions;

struct dash_sessions *dash_sessions_new(void);
/* Frees *ds (its tokens wiped) and sets it to NULL; ds may point to NULL. */
void dash_sessions_free(struct dash_sessions **ds);
/*
 * Opens a session for the key key_id at now_s with fresh random tokens:
 * returns it (borrowed, valid until the next call that opens or closes).
 */
const struct dash_session *dash_session_open(struct dash_sessions *ds, const char *key_id,
    uint64_t now_s);
/*
 * The open session that the Cookie header cookie (any bytes) names, its
 * use recorded at now_s: borrowed, as above; NULL when it names none, or
 * one that has ended (which is then forgotten).
 */
const struct dash_session *dash_session_find(struct dash_sessions *ds, const char *cookie,
    uint64_t now_s);
/* Ends the session that cookie names, if any. */
void dash_session_close(struct dash_sessions *ds, const char *cookie);
/* Sessions open (ended ones not yet forgotten count until found or replaced). */
size_t dash_sessions_count(const struct dash_sessions *ds);
/*
 * The value of the cookie called name in a Cookie header (RFC 6265 5.4:
 * "a=1; b=2"), into out (size bytes): 0, or -1 when it is absent or does
 * not fit.
 */
int dash_cookie_value(const char *header, const char *name, char *out, size_t size);

#endif
