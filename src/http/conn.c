/*
 * conn.c - a connection of the HTTP API and its guard. evhttp reads from a
 * filter bufferevent (bufferevent_filter_new) whose input function is the
 * guard: every byte the client sends passes through frame.c first.
 *   - A head is held until it is whole, judged, and passed on whole; a
 *     body is passed on as it comes, followed to its end. Only one
 *     request is with evhttp at a time: the next is held until the reply
 *     to this one has gone out, so a refusal of the next never overtakes it.
 *   - A refusal (a bad head, a body too large, a request too slow) is the
 *     guard's own reply: the connection's socket (or TLS) bufferevent is
 *     taken from the filter, the JSON error written to it, the rest of the
 *     input read and dropped for a while (a client still sending would
 *     otherwise get a reset and lose the reply), and then evhttp is told
 *     the connection failed, and frees its side.
 *   - The socket (or TLS) bufferevent is ours, not the filter's: evhttp
 *     deems a reply sent once the filter has passed it on, and would then
 *     shut the socket (shutdown(2)) at once when the reply says
 *     Connection: close, cutting it off. So the closing is taken from it:
 *     when a reply is out of evhttp's hands, its Connection fields are
 *     taken away before evhttp looks, and the connection closes here, once
 *     the socket has taken every byte.
 * Timeouts: evhttp's (http.idle_timeout) for the next request; ours
 * (http.request_timeout) from a request's first byte to its last, against
 * clients that trickle; a write timeout for clients that do not read.
 */
#include "http/http_int.h"

#include <errno.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/http_struct.h>

#include "util/ascii.h"

#include "tls/tls.h"
#include "util/log.h"
#include "util/log_event.h"
#include "util/xalloc.h"

#define LINGER_S 2		/* after a refusal, for the client to stop sending and read it */
#define LINGER_MAX_S 10		/* and at most this long in all */

static void conn_close_under(struct http_conn *c);
static void on_linger_read(struct bufferevent *under, void *arg);
static void on_linger_write(struct bufferevent *under, void *arg);
static void on_linger_event(struct bufferevent *under, short what, void *arg);

const char *
http_conn_peer(struct http_conn *c)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	evutil_socket_t fd;

	if (c->peer[0] != '\0')
		return c->peer;
	snprintf(c->peer, sizeof(c->peer), "-");
	if ((fd = bufferevent_getfd(c->under)) < 0 ||
	    getpeername(fd, (struct sockaddr *)&ss, &len) == -1)
		return c->peer;
	if (ss.ss_family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *)(void *)&ss)->sin_addr, c->peer,
		    sizeof(c->peer));
	else if (ss.ss_family == AF_INET6)
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)(void *)&ss)->sin6_addr, c->peer,
		    sizeof(c->peer));
	return c->peer;
}

/* ---- the end of a connection ---- */

/* Everything of c freed: the filter is evhttp's to free, and is gone or going. */
void
http_conn_destroy(struct http_conn *c)
{
	if (c->bev != NULL)
		http_conn_unhash(c);
	http_conn_forget(c);
	if (c->req != NULL) {
		c->req->conn = NULL;
		c->req = NULL;
	}
	if (c->link != NULL)
		c->link->c = NULL;	/* the filter's end frees the link */
	event_free(c->timer);
	event_free(c->kick_ev);
	if (c->under != NULL)
		bufferevent_free(c->under);
	free(c);
}

static void
on_closing_write(struct bufferevent *under, void *arg)
{
	(void)under;
	http_conn_destroy(arg);
}

static void
on_closing_event(struct bufferevent *under, short what, void *arg)
{
	(void)under, (void)what;
	http_conn_destroy(arg);
}

/* evhttp is done with c: what it wrote goes out (within the write timeout), then close. */
static void
conn_close_under(struct http_conn *c)
{
	if (evbuffer_get_length(bufferevent_get_output(c->under)) == 0) {
		http_conn_destroy(c);
		return;
	}
	c->state = HTTP_CONN_CLOSING;
	bufferevent_setcb(c->under, NULL, on_closing_write, on_closing_event, c);
	bufferevent_disable(c->under, EV_READ);
	bufferevent_enable(c->under, EV_WRITE);
}

/* The filter's free_context: evhttp freed its side of the connection. */
static void
on_filter_gone(void *arg)
{
	struct http_conn_link *link = arg;
	struct http_conn *c = link->c;

	free(link);
	if (c == NULL)
		return;		/* the server's end freed c first */
	c->link = NULL;
	/* out of the table while the filter's address cannot be another's yet */
	http_conn_unhash(c);
	c->bev = NULL;
	if (c->req != NULL) {
		/* the handler's reply will find nobody: r stays the handler's until then */
		c->req->conn = NULL;
		c->req = NULL;
	}
	if (c->state == HTTP_CONN_REFUSING && !c->is_ending) {
		/* the linger goes on (the filter's end took our callbacks); it ends the connection */
		bufferevent_setcb(c->under, on_linger_read, on_linger_write, on_linger_event, c);
		return;
	}
	conn_close_under(c);
}

/* Tells evhttp the connection failed: it frees its side, on a turn of its own. */
static void
conn_fail(struct http_conn *c)
{
	if (c->is_ending || c->bev == NULL)
		return;
	c->is_ending = 1;
	bufferevent_trigger_event(c->bev, BEV_EVENT_ERROR, BEV_TRIG_DEFER_CALLBACKS);
}

/* ---- refusals ---- */

static void
linger_end(struct http_conn *c)
{
	evtimer_del(c->timer);
	if (c->bev == NULL) {
		/* evhttp let go already (its own timeout): ours is the last part */
		c->is_ending = 1;
		http_conn_destroy(c);
		return;
	}
	bufferevent_setcb(c->under, NULL, NULL, NULL, NULL);
	bufferevent_disable(c->under, EV_READ | EV_WRITE);
	conn_fail(c);
}

static void
on_linger_read(struct bufferevent *under, void *arg)
{
	struct evbuffer *in = bufferevent_get_input(under);

	(void)arg;
	evbuffer_drain(in, evbuffer_get_length(in));
}

/* The refusal is out: no more from us, and what the client still sends is dropped. */
static void
on_linger_write(struct bufferevent *under, void *arg)
{
	struct http_conn *c = arg;
	static const struct timeval linger = { LINGER_S, 0 };

	if (c->is_lingering || evbuffer_get_length(bufferevent_get_output(under)) > 0)
		return;
	c->is_lingering = 1;
	/* a FIN tells the client the reply is whole; TLS has no half-close to give */
	if (!c->is_tls)
		(void)shutdown(bufferevent_getfd(under), SHUT_WR);
	bufferevent_set_timeouts(under, &linger, NULL);
}

static void
on_linger_event(struct bufferevent *under, short what, void *arg)
{
	(void)under, (void)what;
	linger_end(arg);
}

/*
 * Refuses the request being read: our error instead of evhttp's, then the
 * end of the connection, since where a next request would start is unknown.
 */
static void
refuse(struct http_conn *c, enum http_err e, const char *why)
{
	struct evbuffer *in = bufferevent_get_input(c->under);
	static const struct timeval most = { LINGER_MAX_S, 0 };
	char id[32];

	if (c->state == HTTP_CONN_REFUSING || c->state == HTTP_CONN_CLOSING)
		return;
	snprintf(id, sizeof(id), "h%lu", c->id);
	log_ev_http_refused(id, http_conn_peer(c), http_err_status(e), http_err_code(e), why);
	c->state = HTTP_CONN_REFUSING;
	bufferevent_setcb(c->under, on_linger_read, on_linger_write, on_linger_event, c);
	evbuffer_drain(in, evbuffer_get_length(in));
	http_refusal_bytes(e, why, bufferevent_get_output(c->under));
	bufferevent_enable(c->under, EV_READ | EV_WRITE);
	evtimer_add(c->timer, &most);
}

/* ---- the guard ---- */

static void
arm_request_timer(struct http_conn *c)
{
	unsigned ms = c->srv->cfg->http_request_timeout_ms;
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	evtimer_add(c->timer, &tv);
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct http_conn *c = arg;

	(void)fd, (void)what;
	if (c->state == HTTP_CONN_REFUSING)
		linger_end(c);
	else if (c->state == HTTP_CONN_READING)
		refuse(c, HTTP_ERR_REQUEST_TIMEOUT, "the request took longer than "
		    "http.request_timeout to arrive");
}

/* Moves n bytes on to evhttp. */
static void
pass(struct evbuffer *src, struct evbuffer *dst, size_t n)
{
	ASSERT(evbuffer_remove_buffer(src, dst, n) == (int)n);
}

static enum bufferevent_filter_result
guard_input(struct evbuffer *src, struct evbuffer *dst, ev_ssize_t lim,
    enum bufferevent_flush_mode mode, void *arg)
{
	struct http_conn_link *link = arg;	/* the filter's context is its free_context's */
	struct http_conn *c = link->c;
	int has_passed = 0;

	(void)lim, (void)mode;
	if (c == NULL)
		return BEV_NEED_MORE;
	if (c->is_broken) {
		evbuffer_drain(src, evbuffer_get_length(src));
		conn_fail(c);
		return BEV_NEED_MORE;
	}
	while (c->state == HTTP_CONN_READING && evbuffer_get_length(src) > 0) {
		size_t n = evbuffer_get_length(src), used;
		int is_head = c->fr.state == HTTP_FR_HEAD;
		enum http_frame_step st;
		enum http_err e;
		const char *why;
		const uint8_t *p;

		if (!evtimer_pending(c->timer, NULL))
			arm_request_timer(c);	/* a request's first byte */
		if (is_head) {
			/* a head is judged whole, so it is looked at in one piece */
			if (n > c->srv->lim.max_head_bytes)
				n = c->srv->lim.max_head_bytes;
			p = evbuffer_pullup(src, (ev_ssize_t)n);
		} else {
			/* a body as it lies in the buffer, a piece at a time, never copied */
			struct evbuffer_iovec v;

			ASSERT(evbuffer_peek(src, -1, NULL, &v, 1) >= 1);
			p = v.iov_base;
			n = v.iov_len;
		}
		st = http_frame_feed(&c->fr, p, n, &used, &e, &why);
		switch (st) {
		case HTTP_FRAME_MORE:
			return has_passed ? BEV_OK : BEV_NEED_MORE;
		case HTTP_FRAME_BAD:
			refuse(c, e, why);
			return BEV_NEED_MORE;
		case HTTP_FRAME_HEAD:
		case HTTP_FRAME_BODY:
		case HTTP_FRAME_END:
			if (is_head)
				c->nrequests++;
			pass(src, dst, used);
			has_passed = 1;
			if (st == HTTP_FRAME_END) {
				/* whole: evhttp has it; the next waits for its reply */
				evtimer_del(c->timer);
				c->state = HTTP_CONN_WAITING;
			}
			break;
		}
	}
	return has_passed ? BEV_OK : BEV_NEED_MORE;
}

/* After a reply: the guard looks at what the client sent meanwhile. */
static void
on_kick(evutil_socket_t fd, short what, void *arg)
{
	struct http_conn *c = arg;

	(void)fd, (void)what;
	if (c->state == HTTP_CONN_READING && c->bev != NULL &&
	    evbuffer_get_length(bufferevent_get_input(c->under)) > 0)
		bufferevent_trigger(c->under, EV_READ, BEV_TRIG_IGNORE_WATERMARKS);
}

/* The reply is in the socket's hands: now evhttp may let go. */
static void
on_close_drained(struct bufferevent *under, void *arg)
{
	(void)under;
	conn_fail(arg);
}

static void
on_close_event(struct bufferevent *under, short what, void *arg)
{
	(void)under, (void)what;
	conn_fail(arg);
}

/* 1 if v is w, in any case (ASCII). */
static int
is_word(const char *v, const char *w)
{
	return v != NULL && strlen(v) == strlen(w) && ascii_casen_eq(v, w, strlen(w));
}

/* Whether evhttp would close after evreq's reply, as its evhttp_send_done() judges. */
static int
is_close(struct evhttp_request *evreq)
{
	struct evkeyvalq *in = evhttp_request_get_input_headers(evreq);
	struct evkeyvalq *out = evhttp_request_get_output_headers(evreq);
	const char *ci = evhttp_find_header(in, "Connection");
	const char *co = evhttp_find_header(out, "Connection");

	if (is_word(ci, "close") || is_word(co, "close"))
		return 1;
	/* HTTP/1.0 closes unless the client asked to keep the connection */
	return evreq->major == 1 && evreq->minor == 0 && !is_word(ci, "keep-alive");
}

void
http_conn_request_done(struct http_conn *c, struct evhttp_request *evreq)
{
	struct evkeyvalq *in = evhttp_request_get_input_headers(evreq);
	struct evkeyvalq *out = evhttp_request_get_output_headers(evreq);
	int closing = is_close(evreq);

	/* evhttp reads these after this call: it must not shut the socket itself */
	while (evhttp_remove_header(in, "Connection") == 0)
		;
	while (evhttp_remove_header(out, "Connection") == 0)
		;
	if (evreq->major == 1 && evreq->minor == 0)
		evhttp_add_header(in, "Connection", "keep-alive");
	if (c->state != HTTP_CONN_WAITING)
		return;
	if (closing) {
		/* no next request: the connection ends once the socket has taken the reply */
		c->state = HTTP_CONN_CLOSING;
		bufferevent_setcb(c->under, NULL, on_close_drained, on_close_event, c);
		bufferevent_disable(c->under, EV_READ);
		if (evbuffer_get_length(bufferevent_get_output(c->under)) == 0)
			conn_fail(c);
		else
			bufferevent_enable(c->under, EV_WRITE);
		return;
	}
	c->state = HTTP_CONN_READING;
	http_frame_next_request(&c->fr);
	/* a turn later: evhttp reads again only after this (it frees the request first) */
	event_active(c->kick_ev, EV_TIMEOUT, 0);
}

void
http_conn_flush(struct http_conn *c)
{
	if (c->bev != NULL)
		(void)bufferevent_flush(c->bev, EV_WRITE, BEV_NORMAL);
}

void
http_conn_end(struct http_conn *c)
{
	/* a request in hand is answered first: its reply says Connection: close */
	c->is_last = 1;
	if (c->state == HTTP_CONN_READING && c->req == NULL)
		conn_fail(c);
}

struct http_conn *
http_conn_new(struct http_listener *l)
{
	struct http *srv = l->srv;
	struct event_base *base = srv->d.base;
	struct http_conn *c = xcalloc(1, sizeof(*c));
	SSL *ssl = NULL;

	c->srv = srv;
	c->l = l;
	c->id = ++srv->next_id;
	c->state = HTTP_CONN_READING;
	c->is_tls = l->conf->is_implicit_tls;
	http_frame_init(&c->fr, &srv->lim);
	/*
	 * The socket is not known yet: evhttp sets it on the filter, which
	 * hands it down. A TLS connection without an SSL (OpenSSL out of
	 * memory, logged) must never talk in the clear: it is dropped.
	 */
	if (c->is_tls && (ssl = tls_server_ssl_new(srv->d.tls)) == NULL)
		c->is_broken = 1;
	if (ssl != NULL)
		c->under = bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING,
		    BEV_OPT_CLOSE_ON_FREE);
	else
		c->under = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	ASSERT(c->under != NULL);
	/* a client that stops reading our reply is dropped (evhttp's bound is on the filter) */
	bufferevent_set_timeouts(c->under, NULL, &srv->idle_tv);
	c->link = xcalloc(1, sizeof(*c->link));
	c->link->c = c;
	/*
	 * Deferred callbacks: evhttp then hears of the filter's reads and
	 * writes on a turn of its own, as it would of a socket's; it is not
	 * written to be called back inside its own writes. CLOSE_ON_FREE, or
	 * evhttp would close the socket itself when it frees the connection;
	 * the filter then lets go of our bufferevent, which a reference of
	 * ours keeps until its last bytes are out (http_conn_destroy).
	 */
	c->bev = bufferevent_filter_new(c->under, guard_input, NULL,
	    BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS, on_filter_gone, c->link);
	ASSERT(c->bev != NULL);
	bufferevent_incref(c->under);
	c->timer = evtimer_new(base, on_timer, c);
	c->kick_ev = event_new(base, -1, 0, on_kick, c);
	ASSERT(c->timer != NULL && c->kick_ev != NULL);
	return c;
}
