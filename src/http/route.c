/*
 * route.c - the route table and the way of a request to its handler: the
 * path cut and matched (path.c), the method, the key (Authorization:
 * Bearer), its scopes and its rate, the query and the JSON body, each
 * refusal in the one error shape (reply.c). A handler sees only requests
 * that passed all of it, with the key that made them.
 */
#include "http/http_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/crypto.h>

#include "util/ascii.h"
#include "util/clock.h"
#include "util/jdepth.h"
#include "util/xalloc.h"

/* ---- the table ---- */

static int
same_shape(const struct http_pattern *a, const struct http_pattern *b)
{
	if (a->nseg != b->nseg)
		return 0;
	for (size_t i = 0; i < a->nseg; i++)
		if (a->seg[i].is_param != b->seg[i].is_param ||
		    (!a->seg[i].is_param && strcmp(a->seg[i].text, b->seg[i].text) != 0))
			return 0;
	return 1;
}

int
http_route_add(struct http *srv, const struct http_route *route, char *err, size_t errsize)
{
	struct http_route_int ri = { .r = *route };
	const char *why;

	if (srv->is_started) {
		snprintf(err, errsize, "%s %s: routes are added before the server starts",
		    route->method, route->path);
		return -1;
	}
	if (http_method_parse(route->method, strlen(route->method), &ri.method) == -1 ||
	    ri.method == HTTP_M_HEAD || ri.method == HTTP_M_OPTIONS) {
		snprintf(err, errsize, "%s %s: the method is GET, POST, PUT, PATCH or DELETE",
		    route->method, route->path);
		return -1;
	}
	if (route->handler == NULL) {
		snprintf(err, errsize, "%s %s: no handler", route->method, route->path);
		return -1;
	}
	if (http_pattern_parse(route->path, &ri.pat, &why) == -1) {
		snprintf(err, errsize, "%s %s: %s", route->method, route->path, why);
		return -1;
	}
	for (size_t i = 0; i < ri.pat.nseg; i++)
		ri.nparams += ri.pat.seg[i].is_param;
	if (ri.nparams > HTTP_MAX_PARAMS) {
		snprintf(err, errsize, "%s %s: more than %d {NAME} segments", route->method,
		    route->path, HTTP_MAX_PARAMS);
		http_pattern_clear(&ri.pat);
		return -1;
	}
	for (size_t i = 0; i < srv->nroutes; i++)
		if (srv->routes[i].method == ri.method && same_shape(&srv->routes[i].pat, &ri.pat)) {
			snprintf(err, errsize, "%s %s: the route %s is there already", route->method,
			    route->path, srv->routes[i].r.path);
			http_pattern_clear(&ri.pat);
			return -1;
		}
	srv->routes = xrealloc(srv->routes, (srv->nroutes + 1) * sizeof(*srv->routes));
	srv->routes[srv->nroutes++] = ri;
	return 0;
}

void
http_set_sessions(struct http *srv, http_session_fn fn, void *ctx)
{
	ASSERT(!srv->is_started);
	srv->session_fn = fn;
	srv->session_ctx = ctx;
}

struct http_keyring *
http_keys(struct http *srv)
{
	return srv->keys;
}

/* ---- what a handler knows ---- */

const char *
http_req_param(const struct http_req *r, const char *name)
{
	size_t k = 0;

	for (size_t i = 0; i < r->route->pat.nseg; i++) {
		if (!r->route->pat.seg[i].is_param)
			continue;
		if (strcmp(r->route->pat.seg[i].text, name) == 0)
			return r->params[k];
		k++;
	}
	return NULL;
}

const char *
http_req_query(const struct http_req *r, const char *name)
{
	return r->query != NULL ? evhttp_find_header(r->query, name) : NULL;
}

int
http_req_query_has_other(const struct http_req *r, const char *const *names,
    const char **other_out)
{
	struct evkeyval *kv;

	if (r->query == NULL)
		return 0;
	TAILQ_FOREACH(kv, r->query, next) {
		size_t i;

		for (i = 0; names[i] != NULL && strcmp(names[i], kv->key) != 0; i++)
			;
		if (names[i] == NULL) {
			*other_out = kv->key;
			return 1;
		}
	}
	return 0;
}

const char *
http_req_header(const struct http_req *r, const char *name)
{
	if (r->evreq == NULL)
		return NULL;
	return evhttp_find_header(evhttp_request_get_input_headers(r->evreq), name);
}

const uint8_t *
http_req_body(const struct http_req *r, size_t *len_out)
{
	struct evbuffer *in;

	*len_out = 0;
	if (r->evreq == NULL || (in = evhttp_request_get_input_buffer(r->evreq)) == NULL)
		return NULL;
	*len_out = evbuffer_get_length(in);
	return *len_out > 0 ? evbuffer_pullup(in, -1) : NULL;
}

json_t *
http_req_json(const struct http_req *r)
{
	return r->json;
}

const struct http_key *
http_req_key(const struct http_req *r)
{
	return r->has_key ? &r->key : NULL;
}

const char *
http_req_id(const struct http_req *r)
{
	return r->id;
}

int
http_req_is_gone(const struct http_req *r)
{
	return r->conn == NULL;
}

int
http_req_is_tls(const struct http_req *r)
{
	return r->is_tls;
}

/* ---- dispatch ---- */

static enum http_method
method_of(struct evhttp_request *evreq)
{
	switch (evhttp_request_get_command(evreq)) {
	case EVHTTP_REQ_HEAD:
		return HTTP_M_HEAD;
	case EVHTTP_REQ_POST:
		return HTTP_M_POST;
	case EVHTTP_REQ_PUT:
		return HTTP_M_PUT;
	case EVHTTP_REQ_PATCH:
		return HTTP_M_PATCH;
	case EVHTTP_REQ_DELETE:
		return HTTP_M_DELETE;
	case EVHTTP_REQ_OPTIONS:
		return HTTP_M_OPTIONS;
	case EVHTTP_REQ_GET:
	default:
		return HTTP_M_GET;
	}
}

/*
 * The route for r's path and method (HEAD is GET's, without the body),
 * or NULL after replying 404 or 405.
 */
static const struct http_route_int *
find_route(struct http_req *r)
{
	struct http *srv = r->srv;
	enum http_method m = r->method == HTTP_M_HEAD ? HTTP_M_GET : r->method;
	const struct http_route_int *best = NULL;
	unsigned best_score = 0, methods = 0;
	char allow[96] = "";
	size_t used = 0;

	for (size_t i = 0; i < srv->nroutes; i++) {
		const struct http_route_int *ri = &srv->routes[i];
		unsigned score = http_pattern_match(&ri->pat, &r->path, NULL);

		if (score == 0)
			continue;
		methods |= 1u << ri->method;
		if (ri->method == m && score > best_score) {
			best = ri;
			best_score = score;
		}
	}
	if (best != NULL) {
		(void)http_pattern_match(&best->pat, &r->path, r->params);
		return best;
	}
	if (methods == 0) {
		http_reply_error(r, HTTP_ERR_NOT_FOUND, "no such path");
		return NULL;
	}
	/* RFC 9110 15.5.6: a 405 says which methods the path has */
	for (unsigned i = 0; i < HTTP_NMETHODS; i++)
		if (methods & (1u << i))
			used += (size_t)snprintf(allow + used, sizeof(allow) - used, "%s%s%s",
			    used ? ", " : "", http_method_name((enum http_method)i),
			    i == HTTP_M_GET ? ", HEAD" : "");
	http_req_add_header(r, "Allow", allow);
	http_reply_error(r, HTTP_ERR_METHOD_NOT_ALLOWED, "%s is not a method of this path (%s)",
	    http_method_name(r->method), allow);
	return NULL;
}

/* The bearer token of the Authorization header (RFC 6750 2.1), or NULL. */
static const char *
bearer_token(struct http_req *r, size_t *len_out)
{
	const char *h = http_req_header(r, "Authorization");

	if (h == NULL || strlen(h) < 7 || !ascii_casen_eq(h, "Bearer ", 7))
		return NULL;
	h += 7;
	while (*h == ' ')
		h++;
	*len_out = strlen(h);
	return *len_out > 0 ? h : NULL;
}

static int authorize_session(struct http_req *r);
static int admit(struct http_req *r, const struct http_key *k, uint64_t now_ms);

/* The key, its rate and its scopes: 0, or -1 after replying 401, 429 or 403. */
static int
authorize(struct http_req *r)
{
	struct http_keyring *kr = r->srv->keys;
	uint64_t now_ms = clock_mono_ms();
	const struct http_key *k = NULL;
	const char *token;
	size_t len;

	if ((token = bearer_token(r, &len)) == NULL &&
	    http_req_header(r, "Authorization") == NULL && (r->route->r.flags & HTTP_ROUTE_SESSION))
		return authorize_session(r);
	if (token == NULL) {
		http_req_add_header(r, "WWW-Authenticate", "Bearer");
		http_reply_error(r, HTTP_ERR_UNAUTHORIZED,
		    "an API key is needed: Authorization: Bearer KEY");
		return -1;
	}
	if (kr != NULL) {
		http_keyring_refresh(kr, now_ms, 0);
		k = http_keyring_check(kr, token, len);
	}
	return admit(r, k, now_ms);
}

/*
 * A dashboard session's request: the key the session was opened with,
 * if the keys file still has it, and for a method that acts, the
 * session's CSRF token in X-CSRF-Token (the cookie alone goes with any
 * request the browser makes, SameSite or not, e.g. from a sibling site).
 */
static int
authorize_session(struct http_req *r)
{
	struct http_keyring *kr = r->srv->keys;
	uint64_t now_ms = clock_mono_ms();
	const char *cookie = http_req_header(r, "Cookie"), *csrf = NULL, *given;
	char id[HTTP_KEY_ID_LEN + 1];
	const struct http_key *k = NULL;

	if (cookie == NULL || r->srv->session_fn == NULL ||
	    r->srv->session_fn(r->srv->session_ctx, cookie, id, &csrf) == -1) {
		http_req_add_header(r, "WWW-Authenticate", "Bearer");
		http_reply_error(r, HTTP_ERR_UNAUTHORIZED, "an API key is needed: Authorization: "
		    "Bearer KEY, or a dashboard session (log in at /dashboard/login)");
		return -1;
	}
	if (kr != NULL) {
		http_keyring_refresh(kr, now_ms, 0);
		k = http_keyring_find(kr, id);
	}
	if (k != NULL && r->method != HTTP_M_GET && r->method != HTTP_M_HEAD &&
	    ((given = http_req_header(r, "X-CSRF-Token")) == NULL || csrf == NULL ||
	    strlen(given) != strlen(csrf) || CRYPTO_memcmp(given, csrf, strlen(csrf)) != 0)) {
		r->key = *k;
		r->has_key = 1;
		http_reply_error(r, HTTP_ERR_FORBIDDEN, "a dashboard session's %s needs its "
		    "X-CSRF-Token header", http_method_name(r->method));
		return -1;
	}
	return admit(r, k, now_ms);
}

/* The key k (NULL: none of ours), its rate and its scopes: 0, or -1 after replying. */
static int
admit(struct http_req *r, const struct http_key *k, uint64_t now_ms)
{
	struct http_keyring *kr = r->srv->keys;
	unsigned retry_s;
	char have[32], want[32];

	if (k == NULL) {
		http_req_add_header(r, "WWW-Authenticate", "Bearer error=\"invalid_token\"");
		http_reply_error(r, HTTP_ERR_UNAUTHORIZED, "not a key of this server");
		return -1;
	}
	r->key = *k;
	r->has_key = 1;
	/* every request of a key counts, the refused ones too: a rate is a rate */
	if (!http_keyring_hit(kr, k, now_ms, &retry_s)) {
		http_reply_retry(r, HTTP_ERR_RATE_LIMITED, retry_s,
		    "this key's rate is used up; try again in %u s", retry_s);
		return -1;
	}
	if ((k->scopes & r->route->r.scopes) == 0) {
		http_reply_error(r, HTTP_ERR_FORBIDDEN, "this key's scopes (%s) include none of %s",
		    http_scopes_str(k->scopes, have), http_scopes_str(r->route->r.scopes, want));
		return -1;
	}
	return 0;
}

/* The body of a JSON route: 0 with r->json, or -1 after replying 415 or 400. */
static int
read_json(struct http_req *r)
{
	const char *ct = http_req_header(r, "Content-Type");
	unsigned depth = r->srv->cfg->http_max_json_depth;
	json_error_t jerr;
	const uint8_t *p;
	size_t len;

	if (ct == NULL || strlen(ct) < 16 || !ascii_casen_eq(ct, "application/json", 16) ||
	    (ct[16] != '\0' && ct[16] != ';' && ct[16] != ' ')) {
		http_reply_error(r, HTTP_ERR_UNSUPPORTED_MEDIA_TYPE,
		    "the body is JSON: Content-Type: application/json");
		return -1;
	}
	p = http_req_body(r, &len);
	if (len == 0) {
		http_reply_error(r, HTTP_ERR_INVALID_JSON, "no body: a JSON object is expected");
		return -1;
	}
	/* before jansson, whose parser recurses once per level */
	if (!jdepth_ok(p, len, depth)) {
		http_reply_error(r, HTTP_ERR_INVALID_JSON, "nested deeper than %u levels", depth);
		return -1;
	}
	/* one text, UTF-8, no NUL (not even \u0000), no key twice */
	r->json = json_loadb((const char *)p, len, JSON_REJECT_DUPLICATES, &jerr);
	if (r->json == NULL) {
		http_reply_error(r, HTTP_ERR_INVALID_JSON, "%s (byte %d)", jerr.text, jerr.position);
		return -1;
	}
	if (!json_is_object(r->json)) {
		http_reply_error(r, HTTP_ERR_INVALID_JSON, "the body is a JSON object");
		return -1;
	}
	return 0;
}

static void
on_complete(struct evhttp_request *evreq, void *arg)
{
	http_conn_request_done(arg, evreq);
}

void
http_dispatch(struct evhttp_request *evreq, void *arg)
{
	struct http *srv = arg;
	struct evhttp_connection *evcon = evhttp_request_get_connection(evreq);
	struct http_conn *c = http_conn_of(srv, evhttp_connection_get_bufferevent(evcon));
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(evreq);
	const char *path = uri != NULL ? evhttp_uri_get_path(uri) : NULL;
	const char *query = uri != NULL ? evhttp_uri_get_query(uri) : NULL;
	struct http_req *r = xcalloc(1, sizeof(*r));
	const struct http_route_int *route;

	ASSERT(c != NULL);
	/* ours until the reply: evhttp must not free it with a connection that goes first */
	evhttp_request_own(evreq);
	evhttp_request_set_on_complete_cb(evreq, on_complete, c);
	r->srv = srv;
	r->conn = c;
	r->evreq = evreq;
	r->method = method_of(evreq);
	r->start_us = clock_mono_us();
	r->is_tls = c->is_tls;
	snprintf(r->id, sizeof(r->id), "h%lu.%u", c->id, c->nrequests);
	snprintf(r->peer, sizeof(r->peer), "%s", http_conn_peer(c));
	r->path_raw = xstrdup(evhttp_request_get_uri(evreq) != NULL ?
	    evhttp_request_get_uri(evreq) : "?");
	c->req = r;
	srv->nreqs++;
	if (path == NULL || http_path_split(path, &r->path) == -1) {
		http_reply_error(r, HTTP_ERR_NOT_FOUND, "no such path");
		return;
	}
	/* after a refusal r is gone: only a route found is kept in it */
	if ((route = find_route(r)) == NULL)
		return;
	r->route = route;
	if (query != NULL) {
		r->query = xcalloc(1, sizeof(*r->query));
		TAILQ_INIT(r->query);
		if (evhttp_parse_query_str(query, r->query) == -1) {
			http_reply_error(r, HTTP_ERR_INVALID_REQUEST, "the query string is not one");
			return;
		}
	}
	if (r->route->r.scopes != 0 && authorize(r) == -1)
		return;
	if ((r->route->r.flags & HTTP_ROUTE_JSON_BODY) && read_json(r) == -1)
		return;
	r->route->r.handler(r, r->route->r.arg);
}
