/*
 * server.c - the HTTP API's server: one evhttp per listener (a listener's
 * TLS is its evhttp's bufferevent callback), the sockets bound before
 * privileges are dropped as SMTP's are, the connections at once
 * (http.max_connections: at the bound accepting stops, and new clients
 * wait in the kernel's backlog), the pause when descriptors run out, and
 * the stop. Requests go to route.c; what each connection does is conn.c's.
 */
#include "http/http_int.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>

#include "server/accept_pause.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/log_event.h"
#include "util/xalloc.h"

#define HEAD_SLACK 256		/* evhttp's own bound on heads: never the one that answers */

/* ---- connections by their bufferevent ---- */

static size_t
bucket_of(const struct http *srv, const struct bufferevent *bev)
{
	uint64_t h = (uint64_t)(uintptr_t)bev;

	h ^= h >> 29;
	h *= 0xbf58476d1ce4e5b9u;
	h ^= h >> 32;
	return (size_t)(h & (srv->nbuckets - 1));
}

struct http_conn *
http_conn_of(struct http *srv, const struct bufferevent *bev)
{
	for (struct http_conn *c = srv->buckets[bucket_of(srv, bev)]; c != NULL; c = c->hnext)
		if (c->bev == bev)
			return c;
	return NULL;
}

static void
set_accepting(struct http *srv, int is_on)
{
	for (size_t i = 0; i < srv->nlisteners; i++) {
		struct evconnlistener *evl = srv->listeners[i].evl;

		if (evl != NULL && (is_on ? evconnlistener_enable(evl) : evconnlistener_disable(evl)))
			log_err("http listener %s: cannot %s accepting",
			    srv->listeners[i].conf->name, is_on ? "resume" : "pause");
	}
}

/* Accepting goes on unless the bound is reached, a shortage pauses it, or the stop. */
static void
update_accepting(struct http *srv)
{
	int want = !srv->is_draining && !srv->accept.is_paused &&
	    srv->nconns < srv->cfg->http_max_connections;

	if (want == !srv->is_paused)
		return;
	srv->is_paused = !want;
	set_accepting(srv, want);
}

/* evhttp's bufferevent callback: a connection is accepted, and this is its bufferevent. */
static struct bufferevent *
on_new_conn(struct event_base *base, void *arg)
{
	struct http_listener *l = arg;
	struct http *srv = l->srv;
	struct http_conn *c;
	size_t b;

	(void)base;
	accept_pause_reset(&srv->accept);	/* descriptors again */
	c = http_conn_new(l);
	b = bucket_of(srv, c->bev);
	c->hnext = srv->buckets[b];
	srv->buckets[b] = c;
	c->next = srv->conns;
	if (c->next != NULL)
		c->next->prev = c;
	srv->conns = c;
	srv->nconns++;
	update_accepting(srv);
	return c->bev;
}

void
http_conn_unhash(struct http_conn *c)
{
	struct http *srv = c->srv;
	struct http_conn **pp = &srv->buckets[bucket_of(srv, c->bev)];

	while (*pp != c)
		pp = &(*pp)->hnext;
	*pp = c->hnext;
}

void
http_conn_forget(struct http_conn *c)
{
	struct http *srv = c->srv;

	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		srv->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	srv->nconns--;
	update_accepting(srv);
}

/* ---- accepting ---- */

static void
on_accept_pause_over(void *arg)
{
	update_accepting(arg);
}

/*
 * The servers alive, for on_accept_error() (one in a daemon; on the main
 * loop, the only thread that makes, frees or serves them).
 */
static struct http *servers_alive;

/*
 * The listener whose evhttp is eh. evhttp_bind_listener() makes the
 * listener's callback argument its evhttp, and the error callback gets
 * that same argument, not ours.
 */
static struct http_listener *
listener_of(const struct evhttp *eh)
{
	for (struct http *srv = servers_alive; srv != NULL; srv = srv->next_alive)
		for (size_t i = 0; i < srv->nlisteners; i++)
			if (srv->listeners[i].eh == eh)
				return &srv->listeners[i];
	return NULL;
}

/* Out of descriptors or memory: a pause (accept_pause.c) rather than a busy loop. */
static void
on_accept_error(struct evconnlistener *evl, void *arg)
{
	struct http_listener *l = listener_of(arg);
	int err = EVUTIL_SOCKET_ERROR();

	(void)evl;
	ASSERT(l != NULL);
	if (accept_pause_on_error(&l->srv->accept, "http listener", l->conf->name, err,
	    l->srv->nconns))
		update_accepting(l->srv);
}

/* ---- the server ---- */

struct http *
http_new(const struct http_deps *d)
{
	struct http *srv = xcalloc(1, sizeof(*srv));
	const struct config *c = d->cfg;

	srv->d = *d;
	srv->cfg = c;
	srv->lim = (struct http_frame_limits){ .max_head_bytes = c->http_max_header_bytes,
		.max_headers = c->http_max_headers, .max_body_bytes = c->http_max_body_bytes };
	srv->idle_tv = (struct timeval){ c->http_idle_timeout_ms / 1000,
		(c->http_idle_timeout_ms % 1000) * 1000 };
	for (srv->nbuckets = 64; srv->nbuckets < 2 * (size_t)c->http_max_connections &&
	    srv->nbuckets < (1u << 18); srv->nbuckets *= 2)
		;
	srv->buckets = xcalloc(srv->nbuckets, sizeof(*srv->buckets));
	accept_pause_init(&srv->accept, d->base, on_accept_pause_over, srv);
	srv->next_alive = servers_alive;
	servers_alive = srv;
	return srv;
}

int
http_bind(struct http *srv, char *err, size_t errsize)
{
	const struct config *c = srv->cfg;

	srv->listeners = xcalloc(c->nhttp_listeners ? c->nhttp_listeners : 1,
	    sizeof(*srv->listeners));
	for (size_t i = 0; i < c->nhttp_listeners; i++) {
		const struct config_listener *cl = &c->http_listeners[i];
		struct http_listener *l = &srv->listeners[i];
		int one = 1, fd;

		l->srv = srv;
		l->conf = cl;
		l->fd = -1;
		fd = socket(cl->sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd == -1 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1 ||
		    (cl->sa.ss_family == AF_INET6 &&
		    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) == -1) ||
		    /*
		     * Inherited by the accepted sockets: a reply leaves in more than
		     * one write (head, body, TLS records), and with Nagle the last
		     * one would wait for the ACK that a client's delayed ACK holds
		     * back 40 ms, once per request on a kept-alive connection.
		     */
		    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) == -1 ||
		    bind(fd, (const struct sockaddr *)&cl->sa, cl->sa_len) == -1 ||
		    listen(fd, 1024) == -1) {
			snprintf(err, errsize, "%s:%u: http.listen \"%s\": %s: %s", c->path, cl->line,
			    cl->name, cl->address, strerror(errno));
			if (fd != -1)
				close(fd);
			srv->nlisteners = i;
			return -1;
		}
		l->fd = fd;
		srv->nlisteners = i + 1;
	}
	return 0;
}

/* An evhttp for l, bounded as http { } says; its requests go to route.c. */
static void
listener_start(struct http *srv, struct http_listener *l)
{
	const struct config *c = srv->cfg;

	l->eh = evhttp_new(srv->d.base);
	ASSERT(l->eh != NULL);
	/*
	 * The guard (conn.c) judges heads and bodies first, against the same
	 * bounds, so evhttp's own checks, which answer in HTML, never fire.
	 */
	evhttp_set_max_headers_size(l->eh, (ev_ssize_t)(c->http_max_header_bytes + HEAD_SLACK));
	evhttp_set_max_body_size(l->eh, (ev_ssize_t)c->http_max_body_bytes);
	evhttp_set_timeout_tv(l->eh, &srv->idle_tv);
	/* every method reaches the route table, which says 405 or 501 in JSON */
	evhttp_set_allowed_methods(l->eh, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST |
	    EVHTTP_REQ_PUT | EVHTTP_REQ_PATCH | EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS);
	evhttp_set_default_content_type(l->eh, "application/json");
	evhttp_set_gencb(l->eh, http_dispatch, srv);
	evhttp_set_bevcb(l->eh, on_new_conn, l);
	/* backlog 0: it listens already; -1 would listen again with libevent's 128 */
	l->evl = evconnlistener_new(srv->d.base, NULL, NULL, LEV_OPT_CLOSE_ON_FREE, 0, l->fd);
	ASSERT(l->evl != NULL);
	l->fd = -1;
	/* evhttp takes its callback over, and the argument: see listener_of() */
	ASSERT(evhttp_bind_listener(l->eh, l->evl) != NULL);
	evconnlistener_set_error_cb(l->evl, on_accept_error);
	log_ev_listening(l->conf->name, l->conf->address, "http",
	    l->conf->is_implicit_tls ? "implicit" : "no");
}

void
http_start(struct http *srv)
{
	for (size_t i = 0; i < srv->nlisteners; i++)
		listener_start(srv, &srv->listeners[i]);
	srv->is_started = 1;
}

void
http_set_keys(struct http *srv, struct http_keyring *keys)
{
	http_keyring_free(&srv->keys);
	srv->keys = keys;
}

void
http_reload(struct http *srv)
{
	if (srv->keys != NULL)
		http_keyring_refresh(srv->keys, clock_mono_ms(), 1);
}

unsigned
http_drain(struct http *srv)
{
	struct http_conn *c, *next;

	if (!srv->is_draining) {
		srv->is_draining = 1;
		update_accepting(srv);
	}
	for (c = srv->conns; c != NULL; c = next) {
		next = c->next;
		http_conn_end(c);
	}
	return srv->nreqs + srv->nconns;
}

void
http_free(struct http **srvp)
{
	struct http *srv = *srvp;

	if (srv == NULL)
		return;
	srv->is_draining = 1;
	for (size_t i = 0; i < srv->nlisteners; i++) {
		struct http_listener *l = &srv->listeners[i];

		/* evhttp_free frees its connections: each tells conn.c, which lets go */
		if (l->eh != NULL)
			evhttp_free(l->eh);
		else if (l->fd != -1)
			close(l->fd);
	}
	while (srv->conns != NULL)
		http_conn_destroy(srv->conns);
	if (srv->nreqs > 0)
		log_warn("http: %u requests were not answered at the stop", srv->nreqs);
	for (size_t i = 0; i < srv->nroutes; i++)
		http_pattern_clear(&srv->routes[i].pat);
	free(srv->routes);
	free(srv->api_queue);
	free(srv->listeners);
	free(srv->buckets);
	accept_pause_clear(&srv->accept);
	http_keyring_free(&srv->keys);
	for (struct http **pp = &servers_alive; *pp != NULL; pp = &(*pp)->next_alive)
		if (*pp == srv) {
			*pp = srv->next_alive;
			break;
		}
	free(srv);
	*srvp = NULL;
}
