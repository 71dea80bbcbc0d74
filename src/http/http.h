/*
 * http.h - the HTTP API (docs/api.md): a server on the daemon's event loop
 * (libevent's evhttp), on listeners of its own (http { listen "NAME" { } }),
 * in the clear or TLS with the SMTP certificates; API keys with scopes and
 * rates; a route table that features add their endpoints to; replies in
 * JSON with one error shape, {"error": {"code", "message"}}.
 *
 *   server.c   listeners, evhttp per listener, TLS, connections at once,
 *              the start and the stop
 *   conn.c     a connection's guard: each request's framing judged before
 *              evhttp reads it (frame.c), one request at a time, the
 *              refusals evhttp would answer in HTML, slow clients, the close
 *   frame.c    pure: request heads and bodies, their bounds and framing
 *   route.c    the route table, the key, scope and rate of a request (or
 *              the dashboard's session, with its CSRF token, on the routes
 *              that take one), its query and JSON body; dispatch
 *   path.c     pure: route patterns ({id}) and request paths
 *   reply.c    replies: JSON, headers, Connection: close, the log line
 *   error.c    pure: the error codes, their statuses, the error shape
 *   keys.c     pure: the keys file's lines, new keys, the secret's check
 *   keyring.c  the keys file read, and read again when it changes
 *   api_queue.c  GET/DELETE /v1/messages/{id}, /v1/queue/..., /v1/health
 *
 * Everything runs on the loop thread.
 */
#ifndef STERNA_HTTP_HTTP_H
#define STERNA_HTTP_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "config/config.h"

/* ---- errors (reply.c): each code is stable and has one status ---- */

enum http_err {
	HTTP_ERR_INVALID_JSON,		/* 400 invalid_json: not JSON, not UTF-8, too deep */
	HTTP_ERR_INVALID_REQUEST,	/* 400 invalid_request: HTTP or parameters wrong */
	HTTP_ERR_UNAUTHORIZED,		/* 401 unauthorized: no key, or not a key of ours */
	HTTP_ERR_FORBIDDEN,		/* 403 forbidden: the key lacks the scope */
	HTTP_ERR_NOT_FOUND,		/* 404 not_found: no such path, or no such thing */
	HTTP_ERR_METHOD_NOT_ALLOWED,	/* 405 method_not_allowed: the path, not with this method */
	HTTP_ERR_REQUEST_TIMEOUT,	/* 408 request_timeout: the request came too slowly */
	HTTP_ERR_IDEMPOTENCY_CONFLICT,	/* 409 idempotency_conflict: the key's first body differs */
	HTTP_ERR_BODY_TOO_LARGE,	/* 413 body_too_large: past http.max_body */
	HTTP_ERR_UNSUPPORTED_MEDIA_TYPE, /* 415 unsupported_media_type: a body not JSON */
	HTTP_ERR_EXPECTATION_FAILED,	/* 417 expectation_failed: an Expect but 100-continue */
	HTTP_ERR_INVALID_FIELD,		/* 422 invalid_field: a field's value, named in "field" */
	HTTP_ERR_TOO_MANY_RECIPIENTS,	/* 422 too_many_recipients */
	HTTP_ERR_RATE_LIMITED,		/* 429 rate_limited, with Retry-After */
	HTTP_ERR_HEADERS_TOO_LARGE,	/* 431 headers_too_large: http.max_header_bytes, _headers */
	HTTP_ERR_NOT_IMPLEMENTED,	/* 501 not_implemented: a method or coding we do not speak */
	HTTP_ERR_UNAVAILABLE,		/* 503 unavailable, with Retry-After: stopping, spool full */
	HTTP_NERRS
};

/* "invalid_json", ...: the code docs/api.md promises for e. */
const char *http_err_code(enum http_err e);
/* The HTTP status of e (400, 401, ...). */
int http_err_status(enum http_err e);
/*
 * The one error shape: {"error": {"code": CODE, "message": message}}, with
 * "field": field inside "error" when field is not NULL (422). Returns a
 * new object. message is text for people; the code is for programs.
 */
json_t *http_error_json(enum http_err e, const char *message, const char *field);

/* ---- API keys (keys.c, keyring.c; the file's format is docs/api.md's) ---- */

enum http_scope {
	HTTP_SCOPE_SEND = 1u << 0,	/* send messages; cancel its own */
	HTTP_SCOPE_READ = 1u << 1,	/* read messages' states and events */
	HTTP_SCOPE_ADMIN = 1u << 2,	/* the queue's operations; any message */
};

#define HTTP_KEY_PREFIX "sterna_"
#define HTTP_KEY_ID_LEN 16		/* base32: 80 random bits, not secret (logs) */
#define HTTP_KEY_SECRET_LEN 52		/* base32: 256 random bits */
/* "sterna_" ID "_" SECRET */
#define HTTP_KEY_LEN (sizeof(HTTP_KEY_PREFIX) - 1 + HTTP_KEY_ID_LEN + 1 + HTTP_KEY_SECRET_LEN)
#define HTTP_KEY_NAME_MAX 64

/* One line of the keys file. */
struct http_key {
	char id[HTTP_KEY_ID_LEN + 1];
	uint8_t hash[32];		/* SHA-256 of the secret */
	unsigned scopes;		/* enum http_scope bits, at least one */
	unsigned rate;			/* requests per rate_window_ms; 0: no limit */
	uint32_t rate_window_ms;
	int has_rate;			/* the line names a rate (else http.requests_per_minute) */
	char name[HTTP_KEY_NAME_MAX + 1];	/* "" when the line names none */
	unsigned line;
};

/*
 * Reads scopes as written ("send,read,admin", any order, no repeats) into
 * *scopes_out: 0, or -1 when it is none.
 */
int http_scopes_parse(const char *s, unsigned *scopes_out);
/* "send,read" for scopes, into out (32 bytes): out. */
const char *http_scopes_str(unsigned scopes, char out[32]);
/*
 * A rate as written: "N/s", "N/min", "N/h" (N from 1 to 1000000), or
 * "none": 0 and *rate_out, *window_ms_out (0 for none), or -1.
 */
int http_rate_parse(const char *s, unsigned *rate_out, uint32_t *window_ms_out);
/*
 * Parses the bytes of a keys file (any bytes) that path names, into a new
 * array *keys_out of *n_out keys (free() it). Returns 0, or -1 with
 * "PATH:LINE: reason" in err. Pure.
 */
int http_keys_parse(const char *path, const uint8_t *data, size_t len,
    struct http_key **keys_out, size_t *n_out, char *err, size_t errsize);
/*
 * Makes a new key from the kernel's random bytes: the key to give once
 * (NUL-terminated, HTTP_KEY_LEN characters) into key_out, and its line in
 * *k (scopes, rate and name are the caller's to set). 0, or -1 when no
 * random bytes could be had.
 */
int http_key_generate(char key_out[HTTP_KEY_LEN + 1], struct http_key *k);
/* The keys file line of k, LF-terminated, into out: 0, or -1 when it does not fit. */
int http_key_line(const struct http_key *k, char *out, size_t size);
/*
 * Splits a presented key (the bearer token, any bytes) into its id and the
 * SHA-256 of its secret: 0, or -1 when it is not of a key's form.
 */
int http_key_split(const char *token, size_t len, char id_out[HTTP_KEY_ID_LEN + 1],
    uint8_t hash_out[32]);

/* The keys file as the daemon holds it: the last good reading, and a rate table per key. */
struct http_keyring;

/*
 * Reads the keys file at path: a new keyring, or NULL with "PATH:LINE:
 * reason" (or "PATH: reason" for a file that cannot be read) in err.
 * default_rate_per_min is http.requests_per_minute.
 */
struct http_keyring *http_keyring_new(const char *path, unsigned default_rate_per_min, char *err,
    size_t errsize);
void http_keyring_free(struct http_keyring **kr);
/*
 * Looks at the file when a second has passed since the last look (now_ms
 * on the monotonic clock), and reads it again when it changed; with
 * is_forced (SIGHUP), reads it now. A file that turns bad or goes away
 * leaves the keys read before in use, with a log line that says why.
 */
void http_keyring_refresh(struct http_keyring *kr, uint64_t now_ms, int is_forced);
/*
 * The key that token (any bytes) is, when its id is in the file and its
 * secret matches (compared in constant time): borrowed, valid until the
 * next refresh. NULL otherwise.
 */
const struct http_key *http_keyring_check(const struct http_keyring *kr, const char *token,
    size_t len);
/* The key whose id is id, borrowed as http_keyring_check's; NULL when the file has none. */
const struct http_key *http_keyring_find(const struct http_keyring *kr, const char *id);
/*
 * Counts a request of key k at now_ms against its rate: 1 if allowed, 0
 * if over it, with *retry_after_s_out (1 or more) until one would be.
 */
int http_keyring_hit(struct http_keyring *kr, const struct http_key *k, uint64_t now_ms,
    unsigned *retry_after_s_out);
/* Keys read now. */
size_t http_keyring_count(const struct http_keyring *kr);

/* ---- routes (route.c): how a feature adds its endpoints ---- */

struct http;
struct http_req;

/*
 * A handler answers r with one of the replies below, exactly once: in the
 * call, or later on the loop (after a spool commit, a scheduler's
 * operation). Until then r stays valid whatever happens to the connection;
 * a reply to a client that has left is dropped, and http_req_is_gone()
 * says so beforehand. The daemon's stop waits for every reply.
 */
typedef void (*http_handler_fn)(struct http_req *r, void *arg);

enum http_route_flags {
	/* the body must be one JSON object: parsed and checked before the handler runs */
	HTTP_ROUTE_JSON_BODY = 1u << 0,
	/*
	 * A dashboard session's cookie admits too, when no Authorization is
	 * given: as the key it was opened with (still in the keys file, with
	 * its scopes and rate). A method other than GET then needs the
	 * session's token in X-CSRF-Token (403 forbidden without it).
	 */
	HTTP_ROUTE_SESSION = 1u << 1,
};

struct http_route {
	const char *method;		/* "GET", "POST", "PUT", "PATCH", "DELETE" */
	/*
	 * "/v1/messages/{id}": segments are literal, or {NAME}, which matches
	 * any one non-empty segment (percent-decoded; a "/" inside it is
	 * refused). A literal segment wins over {NAME} where both would match.
	 */
	const char *path;
	unsigned scopes;		/* enum http_scope: any one of them admits; 0: no key */
	unsigned flags;			/* enum http_route_flags */
	http_handler_fn handler;
	void *arg;
};

/*
 * Adds a route to srv: a copy of route, whose strings and arg are borrowed
 * (they must outlive srv). Call it before http_start(). Returns 0, or -1
 * with why in err: a pattern that is not one, a method not above, the
 * same method and path twice.
 *
 * Before a handler runs, the server has answered for it: an unknown path
 * (404), a known path with another method (405, with Allow), a missing or
 * unknown key (401), a key without any of scopes (403), a key over its rate
 * (429, Retry-After), and with HTTP_ROUTE_JSON_BODY a body that is not
 * JSON, nested deeper than http.max_json_depth or not an object (400
 * invalid_json), or not declared application/json (415).
 */
int http_route_add(struct http *srv, const struct http_route *route, char *err, size_t errsize);

/*
 * Sessions (the dashboard's): fn(ctx, cookie) is given the request's
 * Cookie header (any bytes) and answers with the id of the key that
 * opened the session it names and that session's CSRF token (borrowed
 * until the handler returns), or -1 when it names none that is open.
 */
typedef int (*http_session_fn)(void *ctx, const char *cookie,
    char key_id_out[HTTP_KEY_ID_LEN + 1], const char **csrf_out);
/* The sessions of routes with HTTP_ROUTE_SESSION (before http_start()); fn NULL: none. */
void http_set_sessions(struct http *srv, http_session_fn fn, void *ctx);
/* The keys the server holds now (for a login's check); NULL before http_set_keys(). */
struct http_keyring *http_keys(struct http *srv);

/* What a handler knows of its request; strings are borrowed, valid until the reply. */
/* The {NAME} segment's value, decoded; NULL when the route has none called name. */
const char *http_req_param(const struct http_req *r, const char *name);
/* A query parameter's value (decoded), the first when given twice; NULL when absent. */
const char *http_req_query(const struct http_req *r, const char *name);
/* 1 if the query has a parameter that is not among names (NULL-terminated list). */
int http_req_query_has_other(const struct http_req *r, const char *const *names,
    const char **other_out);
/* A request header's value, NULL when absent. */
const char *http_req_header(const struct http_req *r, const char *name);
/* The body (may hold any bytes); *len_out 0 for none. */
const uint8_t *http_req_body(const struct http_req *r, size_t *len_out);
/* The JSON body of a HTTP_ROUTE_JSON_BODY route: borrowed, an object. NULL otherwise. */
json_t *http_req_json(const struct http_req *r);
/* The key that made the request (NULL for a route without scopes): its id, scopes, name. */
const struct http_key *http_req_key(const struct http_req *r);
/* The request's id for log lines ("h42.3": connection 42, its third request). */
const char *http_req_id(const struct http_req *r);
/* 1 once the client has gone: a reply would be dropped. */
int http_req_is_gone(const struct http_req *r);
/* 1 if the request came over TLS. */
int http_req_is_tls(const struct http_req *r);
/*
 * Adds a header to r's reply (at most HTTP_REPLY_HEADERS_MAX, each value
 * at most 255 bytes: a longer one is cut): Set-Cookie, Location,
 * Content-Security-Policy... Content-Type and Cache-Control are the
 * reply's own.
 */
void http_req_add_header(struct http_req *r, const char *name, const char *value);
#define HTTP_REPLY_HEADERS_MAX 8

/* ---- replies (reply.c); each ends the handler's duty and frees r ---- */

/* status with body (taken; NULL: no body) as JSON. */
void http_reply_json(struct http_req *r, int status, json_t *body);
/*
 * status with len bytes of body (copied) of content_type: for what is not
 * JSON (GET /metrics, Prometheus's text format). Errors stay JSON.
 */
void http_reply_bytes(struct http_req *r, int status, const char *content_type, const void *body,
    size_t len);
/* The error e, with message (printf) for people. */
void http_reply_error(struct http_req *r, enum http_err e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* 429 or 503 with Retry-After: retry_after_s (1 or more). */
void http_reply_retry(struct http_req *r, enum http_err e, unsigned retry_after_s,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* 422 invalid_field, naming field in "field". */
void http_reply_field(struct http_req *r, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- the server (server.c) ---- */

struct event_base;
struct tls_server;
struct sched;

struct http_deps {
	struct event_base *base;
	const struct config *cfg;	/* http { } */
	struct tls_server *tls;		/* for listeners with tls; may offer nothing */
};

/*
 * A new server for cfg's HTTP listeners (none: it serves nothing). Borrows
 * what d names; they must outlive it. Routes are added before http_start().
 */
struct http *http_new(const struct http_deps *d);
/*
 * Binds every HTTP listener (before privileges are dropped, as SMTP's):
 * 0, or -1 with "FILE:LINE: http.listen \"NAME\": ADDRESS: reason" in err.
 */
int http_bind(struct http *srv, char *err, size_t errsize);
/*
 * The API keys, read once privileges are dropped (the daemon reads the
 * file again later as that user): taken over, freed with the server.
 * Without keys every route that needs one answers 401.
 */
void http_set_keys(struct http *srv, struct http_keyring *keys);
/* Starts accepting; the routes are fixed from now on. */
void http_start(struct http *srv);
/*
 * SIGHUP: the keys file is read again now (certificates are the tls
 * server's, reloaded by its owner).
 */
void http_reload(struct http *srv);
/*
 * The stop: no new connection or request, idle connections closed, and
 * /v1/health says 503. Returns the requests that still wait for a reply,
 * and the replies still being written: the daemon exits at 0.
 */
unsigned http_drain(struct http *srv);
/* Closes everything and frees *srv; srv may point to NULL. */
void http_free(struct http **srv);

/* ---- the endpoints built in (api_queue.c) ---- */

/*
 * The auth_user of the envelope of a message sent with key ID is
 * HTTP_KEY_OWNER_PREFIX ID: whoever submits through the API writes it,
 * and DELETE /v1/messages/{id} lets a key with the send scope (and not
 * admin) remove only such messages of its own.
 */
#define HTTP_KEY_OWNER_PREFIX "apikey:"

struct msgstate;

/*
 * Adds GET /v1/health, GET and DELETE /v1/messages/{id}, and the queue's
 * list, show and operations under /v1/queue (docs/api.md) to srv, over
 * the scheduler s; a message's state comes from the queue, and from ms
 * (src/events/msgstate.h: what the events say) for recipients done and
 * messages gone (both borrowed; they must outlive srv). 0, or -1 with err.
 */
int http_api_queue_add(struct http *srv, struct sched *s, struct msgstate *ms, char *err,
    size_t errsize);

#endif
