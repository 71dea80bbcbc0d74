/*
 * http_int.h - what the files of src/http share; nothing outside the
 * directory includes it (the unit tests aside).
 */
#ifndef STERNA_HTTP_HTTP_INT_H
#define STERNA_HTTP_HTTP_INT_H

#include "http/http.h"

#include <stddef.h>
#include <stdint.h>

#include "server/accept_pause.h"

/* ---- keys.c ---- */

/* The key with id in keys[0..n), sorted by id (http_keys_parse sorts them); NULL if none. */
const struct http_key *http_keys_find(const struct http_key *keys, size_t n, const char *id);
/* The key that token is (its id found, its secret's hash equal in constant time), or NULL. */
const struct http_key *http_keys_match(const struct http_key *keys, size_t n, const char *token,
    size_t len);

/* ---- frame.c: a request's framing, judged before evhttp reads it (pure) ---- */

enum http_method {
	HTTP_M_GET, HTTP_M_HEAD, HTTP_M_POST, HTTP_M_PUT, HTTP_M_PATCH, HTTP_M_DELETE,
	HTTP_M_OPTIONS, HTTP_NMETHODS
};

/* "GET", ...; the method called name[0..len): 0 and *out, or -1. */
const char *http_method_name(enum http_method m);
int http_method_parse(const char *name, size_t len, enum http_method *out);

struct http_frame_limits {
	size_t max_head_bytes;		/* request line and header fields, CRLFs included */
	unsigned max_headers;
	uint64_t max_body_bytes;
};

enum http_frame_state {
	HTTP_FR_HEAD,			/* before or inside a head */
	HTTP_FR_BODY,			/* Content-Length bytes to go */
	HTTP_FR_CHUNK_SIZE,		/* a chunk's size line */
	HTTP_FR_CHUNK_DATA,		/* a chunk's bytes */
	HTTP_FR_CHUNK_CRLF,		/* the CRLF after them */
	HTTP_FR_LAST_CRLF,		/* after the last chunk: the CRLF that ends the body */
	HTTP_FR_DONE,			/* the request is whole */
};

struct http_frame {
	struct http_frame_limits lim;
	enum http_frame_state state;
	size_t scanned;			/* head: bytes known to hold no end of head */
	enum http_method method;
	uint64_t left;			/* BODY, CHUNK_DATA: bytes to go */
	uint64_t body_bytes;		/* the body so far, or as Content-Length says */
	uint64_t chunk;			/* CHUNK_SIZE: the size read so far */
	unsigned digits;		/* CHUNK_SIZE: its digits */
	unsigned crlf;			/* CRs and LFs seen of the CRLF being read */
	int is_expect_continue;
};

enum http_frame_step {
	HTTP_FRAME_MORE,		/* everything given is taken (a head: none yet); more is needed */
	HTTP_FRAME_HEAD,		/* a whole, good head: the first *used_out bytes */
	HTTP_FRAME_BODY,		/* *used_out bytes of body and its framing; more to come */
	HTTP_FRAME_END,			/* the request ends after *used_out bytes */
	HTTP_FRAME_BAD,			/* refused: *err_out, and why */
};

void http_frame_init(struct http_frame *f, const struct http_frame_limits *lim);
/* The next request on the connection starts now. */
void http_frame_next_request(struct http_frame *f);
/*
 * Judges in[0..n) (any bytes), the input that follows what was taken
 * before. In HTTP_FR_HEAD the caller gives every byte of the head from its
 * start each time (it keeps them until HEAD: a head is passed on whole, or
 * not at all); it may give at most max_head_bytes + 4 of them. In the body
 * states bytes are taken as they come. *why_out is a static sentence for
 * people. A refusal is final: the connection is to be closed after the
 * error, since where the next request would start is unknown.
 */
enum http_frame_step http_frame_feed(struct http_frame *f, const uint8_t *in, size_t n,
    size_t *used_out, enum http_err *err_out, const char **why_out);

/* ---- route.c (pure parts, for the unit test) ---- */

#define HTTP_MAX_SEGMENTS 16
#define HTTP_MAX_PARAMS 4

/* A path pattern read: its segments, literal or {NAME}. */
struct http_pattern {
	size_t nseg;
	struct {
		char *text;		/* the literal, or the parameter's NAME */
		int is_param;
	} seg[HTTP_MAX_SEGMENTS];
};

/* Reads a route's path pattern: 0, or -1 with why. pat's strings are new (http_pattern_clear). */
int http_pattern_parse(const char *path, struct http_pattern *pat, const char **why_out);
void http_pattern_clear(struct http_pattern *pat);

/* A request's path cut into segments, each percent-decoded. */
struct http_path {
	size_t nseg;
	char *seg[HTTP_MAX_SEGMENTS];
};

/*
 * Cuts path (the part of the target before '?', as sent) into decoded
 * segments: 0, or -1 when it is not one we serve: not starting with '/',
 * more than HTTP_MAX_SEGMENTS segments, an empty one ("//", a trailing
 * '/'), bad percent-escapes, a decoded NUL or '/', "." or "..".
 */
int http_path_split(const char *path, struct http_path *p);
void http_path_clear(struct http_path *p);
/*
 * How well pat matches p: 0 for no match, else 1 + the number of literal
 * segments (the best match wins: literals over parameters). When it
 * matches and params is not NULL, params[i] borrow p's segments for pat's
 * parameters in order.
 */
unsigned http_pattern_match(const struct http_pattern *pat, const struct http_path *p,
    const char **params);

/* ---- error.c ---- */

/* The status line's text of status ("Not Found"). */
const char *http_status_text(int status);

/* ---- the daemon's side: server.c, conn.c, route.c, reply.c ---- */

#include <sys/time.h>

struct bufferevent;
struct evbuffer;
struct evkeyvalq;
struct evconnlistener;
struct evhttp;
struct evhttp_request;
struct event;

struct http_listener {
	struct http *srv;
	const struct config_listener *conf;
	int fd;				/* bound; -1 once evconnlistener has it */
	struct evhttp *eh;		/* one per listener: its TLS or not is its bevcb's */
	struct evconnlistener *evl;
};

enum http_conn_state {
	HTTP_CONN_READING,		/* a request's bytes go to evhttp as the guard passes them */
	HTTP_CONN_WAITING,		/* a whole request is with evhttp: the next waits for its reply */
	HTTP_CONN_REFUSING,		/* the guard answers: our error, then the connection ends */
	HTTP_CONN_CLOSING,		/* the last reply goes out, then the connection closes */
};

/*
 * One connection: evhttp's bufferevent is a filter (the guard, conn.c)
 * over ours, a socket or TLS bufferevent, which the connection owns and
 * frees itself once what evhttp wrote is out (evhttp thinks a reply sent
 * when the filter has passed it on).
 */
struct http_conn {
	struct http *srv;
	struct http_listener *l;
	struct bufferevent *bev;	/* the filter, evhttp's; NULL once evhttp freed it */
	struct bufferevent *under;	/* socket or TLS: ours */
	enum http_conn_state state;
	struct http_frame fr;
	unsigned long id;
	unsigned nrequests;		/* requests whose head was passed on */
	char peer[64];			/* "-" until the first request */
	struct event *timer;		/* the request's deadline; the linger's end */
	struct event *kick_ev;		/* the guard again, after a reply: the next request */
	struct http_conn_link *link;	/* what the filter's end finds c by */
	struct http_req *req;		/* the request in a handler's hands */
	int is_tls, is_broken, is_lingering, is_ending, is_last;
	struct http_conn *hnext;	/* in srv's table by bev */
	struct http_conn *prev, *next;	/* in srv's list */
};

struct http_route_int {
	struct http_route r;
	enum http_method method;
	struct http_pattern pat;
	unsigned nparams;
};

struct http_req {
	struct http *srv;
	struct http_conn *conn;		/* NULL once the connection is gone */
	struct evhttp_request *evreq;	/* ours (evhttp_request_own) until the reply */
	const struct http_route_int *route;
	enum http_method method;
	char id[40];
	char peer[64];
	char *path_raw;			/* for the log line */
	struct http_path path;
	const char *params[HTTP_MAX_PARAMS];
	struct evkeyvalq *query;
	json_t *json;
	struct http_key key;		/* a copy: the keys file may be read again meanwhile */
	int has_key;
	int is_tls;
	uint64_t start_us;
	const char *extra_name[HTTP_REPLY_HEADERS_MAX];	/* Retry-After, Allow, Set-Cookie ... */
	char extra_value[HTTP_REPLY_HEADERS_MAX][256];
	size_t nextra;
};

struct http {
	struct http_deps d;
	struct http_keyring *keys;
	const struct config *cfg;
	struct http_listener *listeners;
	size_t nlisteners;
	struct http_route_int *routes;
	size_t nroutes;
	struct http_frame_limits lim;
	struct timeval idle_tv;
	struct http_conn **buckets;	/* connections by their filter bufferevent */
	size_t nbuckets;
	struct http_conn *conns;
	unsigned nconns;
	unsigned nreqs;			/* requests waiting for their handler's reply */
	unsigned long next_id;
	int is_started, is_draining, is_paused;
	struct accept_pause accept;	/* accepting paused for want of descriptors */
	void *api_queue;		/* api_queue.c's routes' argument, freed with srv */
	http_session_fn session_fn;	/* the dashboard's sessions; NULL: none */
	void *session_ctx;
	struct http *next_alive;	/* server.c's list of the servers alive */
};

/* server.c */
/* The connection whose filter is bev, or NULL. */
struct http_conn *http_conn_of(struct http *srv, const struct bufferevent *bev);
/* c's filter is gone: out of the table, before its address can be another's. */
void http_conn_unhash(struct http_conn *c);
/* c is closed: out of the list and the count (accepting resumes below the bound). */
void http_conn_forget(struct http_conn *c);

/* conn.c */
/*
 * What the filter's free_context gets: the filter ends on a later turn of
 * the loop (libevent finalizes it), maybe after the server freed c.
 */
struct http_conn_link {
	struct http_conn *c;		/* NULL once c is gone */
};

/* A new connection for l: its bufferevents and the guard; evhttp's is c->bev. */
struct http_conn *http_conn_new(struct http_listener *l);
/*
 * evhttp has c's reply to evreq off its hands (on_complete): the guard may
 * pass the next request, or the connection ends once the reply is out.
 */
void http_conn_request_done(struct http_conn *c, struct evhttp_request *evreq);
/* evhttp has a reply to write: it goes out now (a filter does not write when enabled). */
void http_conn_flush(struct http_conn *c);
/* The peer's address for logs ("-" when unknown). */
const char *http_conn_peer(struct http_conn *c);
/* Ends an idle connection now (the stop), or once its request is answered. */
void http_conn_end(struct http_conn *c);
/* Frees every part of c at once (the server's end). */
void http_conn_destroy(struct http_conn *c);

/* route.c */
/* evhttp's callback for every request that the guard passed. */
void http_dispatch(struct evhttp_request *evreq, void *arg);

/* reply.c */
/* Frees r (its reply was sent, or its connection is gone and the handler replied). */
void http_req_free(struct http_req *r);
/* A whole response of ours for the guard's refusals, as bytes: a new evbuffer's worth in out. */
void http_refusal_bytes(enum http_err e, const char *why, struct evbuffer *out);

#endif
