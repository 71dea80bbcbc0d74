/*
 * conn.c - one SMTP connection: bytes in from a bufferevent, through the
 * command parser or the DATA reader, into the session; replies out.
 * Input is processed only while the session waits for it: during a commit
 * pipelined commands stay in the buffer, so replies keep their order
 * (RFC 2920). A connection that has to close is freed after its last reply
 * is written, never inside the session's call.
 * A plain socket is read by conn_read.c (in larger pieces than the
 * bufferevent reads), a TLS one by its bufferevent; both write through it.
 * TLS: on an implicit-TLS listener (RFC 8314) the bufferevent is an OpenSSL
 * one from the start and the greeting waits for the handshake. STARTTLS
 * (RFC 3207) stops reading, throws away what the client sent after the
 * command, flushes the 220 in plaintext, and then hands the socket to an
 * OpenSSL bufferevent. Every handshake has a deadline (tls.handshake_timeout).
 * AUTH's checks and held replies are conn_auth.c's, the envelope and the
 * message conn_data.c's; the three are one state machine, split by concern,
 * and call each other (server_int.h).
 */
#include "server/server_int.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "msg/msg.h"
#include "util/ascii.h"
#include "util/log.h"
#include "util/log_event.h"
#include "util/xalloc.h"

static void conn_setup_bev(struct conn *c);

struct conn *
conn_next(struct conn *c)
{
	return c->next;
}

/* What conn_accept() counted and took, given back; frees c. */
static void
conn_forget(struct conn *c)
{
	atomic_fetch_sub_explicit(&c->rl->nconns, 1, memory_order_relaxed);
	atomic_fetch_sub_explicit(&c->srv->nconns, 1, memory_order_relaxed);
	metric_series_move(c->open, -1);
	config_free(&c->cfg);
	config_free(&c->lcfg);
	listener_unref(c->l);
	free(c);
}

void
conn_free(struct conn *c)
{
	const struct smtp_session_stats *st = smtp_session_stats(c->s);

	smtp_session_abort(c->s, c->mode == M_CLOSING ? "closed" : "lost");
	log_ev_disconnect(c->id, st->commands, st->errors, st->messages, st->rcpts,
	    c->mode == M_CLOSING ? "closed" : "lost");
	if (c->prev)
		c->prev->next = c->next;
	else
		c->rl->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	msg_sub_abort(&c->sub);
	/* after the submission: its filters borrow the set's connections */
	milter_set_free(&c->milters);
	spool_msg_free(&c->env);
	if (c->greet_ev)
		event_free(c->greet_ev);
	if (c->tls_ev)
		event_free(c->tls_ev);
	SSL_free(c->ssl);
	if (c->bev && c->mode == M_CLOSING) {
		SSL *ssl = bufferevent_openssl_get_ssl(c->bev);

		/* RFC 8446 6.1: say close_notify, so the client knows nothing was cut off */
		if (ssl != NULL && SSL_is_init_finished(ssl)) {
			(void)SSL_shutdown(ssl);
			ERR_clear_error();	/* a peer already gone is no news; keep the queue clean */
		}
	}
	if (c->wait_ev)
		event_free(c->wait_ev);
	if (c->line_ev)
		event_free(c->line_ev);
	if (c->session_ev)
		event_free(c->session_ev);
	/* a question out is never answered now: its worker's result finds no one */
	policy_client_free(&c->pc);
	if (c->bev) {
		conn_read_stop(c);
		bufferevent_free(c->bev);
	}
	smtp_session_free(&c->s);
	conn_forget(c);	/* last: the session borrowed from its generation */
}

/*
 * Moves the session's replies to the socket. On a plain socket with
 * nothing queued before them they are sent at once: a reply nearly always
 * fits the socket's buffer, and the loop then need not watch for
 * writability (an epoll_ctl on, a wake-up, an epoll_ctl off, per reply).
 * What does not fit, or fails, goes to the bufferevent, which sends it in
 * order or reports the error; on_write is only needed where the
 * bufferevent holds the last bytes (M_CLOSING checks; STARTTLS is not
 * plain). A plain socket's bufferevent writes only from its first such
 * bytes on (conn_setup_bev): enabled with nothing to write, libevent would
 * watch for writability at once, to unwatch it at the first wake-up.
 */
void
conn_send_output(struct conn *c)
{
	struct buf *out = smtp_session_output(c->s);
	size_t sent = 0;

	if (out->len > 0 && c->bev != NULL) {
		if (c->is_plain && evbuffer_get_length(bufferevent_get_output(c->bev)) == 0) {
			ssize_t n = send(bufferevent_getfd(c->bev), out->data, out->len,
			    MSG_NOSIGNAL | MSG_DONTWAIT);

			if (n > 0)
				sent = (size_t)n;
		}
		if (sent < out->len) {
			bufferevent_write(c->bev, out->data + sent, out->len - sent);
			if (!(bufferevent_get_enabled(c->bev) & EV_WRITE))
				bufferevent_enable(c->bev, EV_WRITE);
		}
	}
	buf_reset(out);
}

static void
close_after_write(struct conn *c)
{
	c->mode = M_CLOSING;
	msg_sub_abort(&c->sub);
	spool_msg_free(&c->env);
	conn_read_enable(c, 0);
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
		conn_free(c);
	/* else on_write frees it when the last reply is out */
}

/* Sends the output and does what the session asked; returns 0 to go on reading. */
int
conn_act(struct conn *c, enum smtp_act a)
{
	if (a == SMTP_ACT_WAIT) {
		conn_wait_begin(c);
		return -1;
	}
	conn_send_output(c);
	if (a == SMTP_ACT_CLOSE) {
		close_after_write(c);
		return -1;
	}
	switch (a) {
	case SMTP_ACT_ASK:
		return conn_ask(c);
	case SMTP_ACT_DATA:
		conn_data_begin(c);
		return 0;
	case SMTP_ACT_COMMIT:
		conn_commit(c);
		return -1;
	default:
		return 0;
	}
}

/* Back to reading commands after a question or a wait; what came meanwhile is in the buffer. */
void
conn_resume(struct conn *c)
{
	if (c->is_draining) {
		conn_drain(c);
		return;
	}
	conn_process(c);
}

/* ---- deadlines: a slow client cannot hold a session for ever ---- */

/*
 * The client took too long: 421, and the connection closes; a message in
 * hand is dropped (never acknowledged, so nothing is lost).
 */
static void
client_timed_out(struct conn *c, const char *which)
{
	if (c->wait_ev != NULL)
		evtimer_del(c->wait_ev);
	log_ev_timeout(c->id, c->ip, which);
	msg_sub_abort(&c->sub);
	spool_msg_free(&c->env);
	conn_send_output(c);
	if (c->mode == M_DATA)
		c->mode = M_COMMAND;
	(void)conn_act(c, smtp_session_timeout(c->s));
}

static void
arm(struct conn *c, struct event **ev, event_callback_fn cb, unsigned ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	if (*ev == NULL)
		*ev = evtimer_new(c->rl->base, cb, c);
	ASSERT(*ev != NULL);
	evtimer_add(*ev, &tv);
}

static void on_line_deadline(evutil_socket_t fd, short what, void *arg);

/*
 * smtp.idle_timeout for the next complete command line, or
 * smtp.data_timeout for the whole message: a deadline, not a pause
 * between bytes, so one byte every few seconds does not keep a session.
 */
void
conn_line_deadline(struct conn *c, int is_data)
{
	const struct config *cfg = c->cfg;

	arm(c, &c->line_ev, on_line_deadline, is_data ? cfg->in_data_timeout_ms :
	    cfg->idle_timeout_ms);
}

static void
on_line_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	(void)fd, (void)what;
	if (c->mode == M_COMMAND)
		client_timed_out(c, "command");
	else if (c->mode == M_DATA)
		client_timed_out(c, "data");
	else if (c->mode != M_CLOSING)
		conn_line_deadline(c, 0);	/* we were busy (a commit, a check, TLS): a fresh one */
}

static void
on_session_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	(void)fd, (void)what;
	if (c->mode == M_COMMAND || c->mode == M_DATA)
		client_timed_out(c, "session");
	else if (c->mode != M_CLOSING)
		arm(c, &c->session_ev, on_session_deadline, 1000);	/* after what we are doing */
}

/* ---- TLS ---- */

static void session_begin(struct conn *c);

/* The handshake failed or took too long: one log line, and the connection goes. */
static void
tls_fail(struct conn *c, const char *reason)
{
	log_ev_tls_failed(c->id, c->ip, reason);
	conn_free(c);
}

static void
on_tls_deadline(evutil_socket_t fd, short what, void *arg)
{
	(void)fd, (void)what;
	tls_fail(arg, "handshake timeout");
}

static void
tls_deadline(struct conn *c)
{
	unsigned ms = c->cfg->tls_handshake_timeout_ms;
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	if (c->tls_ev == NULL)
		c->tls_ev = evtimer_new(c->rl->base, on_tls_deadline, c);
	ASSERT(c->tls_ev != NULL);
	evtimer_add(c->tls_ev, &tv);
}

/* The handshake is done: the session learns it, then goes on (or greets, for implicit TLS). */
static void
tls_up(struct conn *c)
{
	SSL *ssl = bufferevent_openssl_get_ssl(c->bev);
	const char *version = SSL_get_version(ssl), *cipher = SSL_get_cipher_name(ssl);
	const char *labels[] = { "inbound", version };

	evtimer_del(c->tls_ev);
	metric_add(c->srv->tls, labels, 1);
	log_ev_tls(c->id, version, cipher, SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name),
	    tls_ssl_cert_name(ssl), c->discarded);
	smtp_session_tls_started(c->s, version, cipher);
	if (c->is_implicit_tls) {
		session_begin(c);
		return;
	}
	/* RFC 3207 4.2: no greeting now; the client speaks first, with EHLO */
	c->mode = M_COMMAND;
	conn_line_deadline(c, 0);
	conn_process(c);
}

/*
 * The 220 to STARTTLS is in the kernel: the socket moves to an OpenSSL
 * bufferevent, which reads the ClientHello from it. The old bufferevent is
 * told to forget the socket, so that freeing it does not close it.
 */
static void
tls_switch(struct conn *c)
{
	evutil_socket_t fd = bufferevent_getfd(c->bev);

	conn_read_stop(c);
	bufferevent_setfd(c->bev, -1);
	bufferevent_free(c->bev);
	c->bev = bufferevent_openssl_socket_new(c->rl->base, fd, c->ssl,
	    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	ASSERT(c->bev != NULL);
	c->ssl = NULL;	/* the bufferevent owns it now */
	conn_setup_bev(c);
	c->mode = M_HANDSHAKE;
}

/*
 * STARTTLS was accepted by the session's rules: set up TLS, and let the
 * session answer 220 (or 454 when TLS cannot start). Returns -1: nothing
 * more is read as a plaintext command.
 */
static int
starttls(struct conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	SSL *ssl = tls_server_ssl_new(c->srv->d.tls);
	enum smtp_act a = smtp_session_starttls_ready(c->s, ssl != NULL);

	if (a != SMTP_ACT_HANDSHAKE)
		return conn_act(c, a);
	c->ssl = ssl;
	c->is_plain = 0;	/* the 220 goes through the bufferevent: on_write starts TLS */
	/*
	 * CVE-2011-0411: bytes that came after the STARTTLS line were sent in
	 * plaintext; had they survived, an attacker in the path could inject
	 * commands that run inside the TLS session. Stop reading, so that the
	 * ClientHello stays in the kernel for OpenSSL, and drop the rest
	 * (test_tls.py: test_starttls_injection_*).
	 */
	conn_read_enable(c, 0);
	c->discarded = evbuffer_get_length(in);
	evbuffer_drain(in, c->discarded);
	c->is_skipping_line = 0;
	c->mode = M_STARTTLS;
	tls_deadline(c);
	conn_send_output(c);	/* on_write switches to TLS once the 220 is out */
	return -1;
}

/* Handles one command line; returns 0 to go on, -1 to stop processing. */
static int
command_input(struct conn *c, struct evbuffer *in)
{
	size_t max = c->cfg->max_line_bytes, len = evbuffer_get_length(in), used = 0;
	struct smtp_cmd cmd;
	enum smtp_parse r;
	enum smtp_act a;
	const uint8_t *p;

	if (c->is_skipping_line) {
		struct evbuffer_ptr lf = evbuffer_search(in, "\n", 1, NULL);

		if (lf.pos == -1) {
			evbuffer_drain(in, len);
			return -1;
		}
		evbuffer_drain(in, (size_t)lf.pos + 1);
		c->is_skipping_line = 0;
		return 0;
	}
	if (len == 0)
		return -1;
	if (len > max)
		len = max;
	p = evbuffer_pullup(in, (ssize_t)len);
	r = smtp_cmd_parse(p, len, max, &cmd, &used);
	if (r == SMTP_PARSE_MORE)
		return -1;
	a = smtp_session_line(c->s, r, &cmd, evbuffer_get_length(in) > used);
	evbuffer_drain(in, used);
	conn_line_deadline(c, 0);
	if (r == SMTP_PARSE_TOO_LONG)
		c->is_skipping_line = 1;
	if (a == SMTP_ACT_STARTTLS)
		return starttls(c);
	return conn_act(c, a);
}

void
conn_process(struct conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);

	for (;;) {
		if (c->mode == M_COMMAND) {
			if (command_input(c, in) == -1)
				return;
		} else if (c->mode == M_DATA) {
			if (!conn_data_input(c, in))
				return;
			conn_data_end(c);
		} else {
			return;
		}
	}
}

static void
greet(struct conn *c, enum smtp_start how)
{
	c->mode = M_COMMAND;
	conn_line_deadline(c, 0);
	if (how == SMTP_START_EARLY_TALK)
		log_ev_refused(c->id, c->ip, "client spoke before the greeting");
	(void)conn_act(c, smtp_session_start(c->s, how));
}

void
conn_input(struct conn *c)
{
	if (c->mode == M_STARTTLS || c->mode == M_HANDSHAKE)
		return;	/* tls_up() processes what came with the handshake */
	if (c->mode == M_GREETING) {
		greet(c, SMTP_START_EARLY_TALK);
		return;
	}
	conn_process(c);
}

static void
on_read(struct bufferevent *bev, void *arg)
{
	(void)bev;
	conn_input(arg);
}

static void
on_write(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;

	(void)bev;
	if (c->mode == M_CLOSING)
		conn_free(c);
	else if (c->mode == M_STARTTLS)
		tls_switch(c);
}

void
conn_socket_event(struct conn *c, short what)
{
	if (c->mode == M_STARTTLS || c->mode == M_HANDSHAKE) {
		char buf[256];

		if (what & BEV_EVENT_CONNECTED)
			tls_up(c);
		else if (what & BEV_EVENT_TIMEOUT)
			tls_fail(c, "handshake timeout");
		else
			tls_fail(c, tls_error_reason(c->mode == M_HANDSHAKE ?
			    bufferevent_get_openssl_error(c->bev) : 0, buf, sizeof(buf)));
		return;
	}
	if ((what & BEV_EVENT_TIMEOUT) && c->mode != M_CLOSING && c->mode != M_COMMIT &&
	    c->mode != M_ASK) {
		client_timed_out(c, "idle");	/* not a byte for smtp.idle_timeout */
		return;
	}
	/* EOF or error: the client is gone */
	if (c->mode == M_COMMIT) {
		/* the commit's callback still needs c: drop the socket now, c later */
		conn_read_stop(c);
		bufferevent_free(c->bev);
		c->bev = NULL;
		return;
	}
	conn_free(c);
}

static void
on_event(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	conn_socket_event(arg, what);
}

static void
on_greet_timer(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	(void)fd, (void)what;
	greet(c, evbuffer_get_length(bufferevent_get_input(c->bev)) > 0 ?
	    SMTP_START_EARLY_TALK : SMTP_START_GREET);
}

static void
peer_name(const struct sockaddr *sa, int salen, char *ip, size_t ipsize, unsigned *port)
{
	char serv[16];

	if (getnameinfo(sa, (socklen_t)salen, ip, (socklen_t)ipsize, serv, sizeof(serv),
	    NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
		snprintf(ip, ipsize, "unknown");
		*port = 0;
		return;
	}
	*port = (unsigned)strtoul(serv, NULL, 10);
	/* an IPv4 client on a dual-stack socket is an IPv4 client */
	if (strncmp(ip, "::ffff:", 7) == 0 && strchr(ip + 7, '.') != NULL)
		memmove(ip, ip + 7, strlen(ip + 7) + 1);
}

/*
 * Callbacks, the input ceiling and the idle timeouts of c->bev (a new one
 * at STARTTLS); a plain socket's reading is conn_read.c's, and its writing
 * mostly conn_send_output's own, which enables the bufferevent's once it
 * has bytes to write: a connection that never fills its socket's buffer
 * costs two epoll_ctl calls and a wake-up less.
 */
static void
conn_setup_bev(struct conn *c)
{
	const struct config *cfg = c->cfg;
	struct timeval idle = { cfg->idle_timeout_ms / 1000, (cfg->idle_timeout_ms % 1000) * 1000 };

	bufferevent_setcb(c->bev, on_read, on_write, on_event, c);
	bufferevent_set_timeouts(c->bev, &idle, &idle);
	if (c->is_plain) {
		conn_read_start(c);
	} else {
		bufferevent_setwatermark(c->bev, EV_READ, 0, INPUT_HIGH_WATER);
		bufferevent_enable(c->bev, EV_WRITE);
	}
	conn_read_enable(c, 1);
}

/* 1 if the client sent bytes although it has not been greeted yet. */
static int
client_spoke_first(struct conn *c)
{
	char peek;

	if (evbuffer_get_length(bufferevent_get_input(c->bev)) > 0)
		return 1;
	/* bytes already waiting at accept were sent before any greeting could be */
	return !smtp_session_is_tls(c->s) &&
	    recv(bufferevent_getfd(c->bev), &peek, 1, MSG_PEEK | MSG_DONTWAIT) == 1;
}

/* Greets, refuses (over the session limit), or waits out the listener's greeting delay. */
static void
session_begin(struct conn *c)
{
	const struct config_listener *lc = c->lconf;

	c->mode = M_GREETING;
	if (c->is_busy) {
		log_ev_refused(c->id, c->ip, "too many sessions");
		greet(c, SMTP_START_BUSY);
		return;
	}
	if (lc->greeting_delay_ms > 0) {
		struct timeval d = { lc->greeting_delay_ms / 1000, (lc->greeting_delay_ms % 1000) * 1000 };

		c->greet_ev = evtimer_new(c->rl->base, on_greet_timer, c);
		evtimer_add(c->greet_ev, &d);
		return;
	}
	greet(c, client_spoke_first(c) ? SMTP_START_EARLY_TALK : SMTP_START_GREET);
}

/* The server's own address on the connection fd, for user@[that address] (RFC 5321 4.1.3). */
static void
local_name(evutil_socket_t fd, char *ip, size_t ipsize)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	unsigned port;

	if (getsockname(fd, (struct sockaddr *)&ss, &len) == -1) {
		ip[0] = '\0';
		return;
	}
	peer_name((const struct sockaddr *)&ss, (int)len, ip, ipsize, &port);
}

/* The port a listener is bound to, for the filters' {daemon_port}. */
static unsigned
listener_port(const struct config_listener *conf)
{
	const struct sockaddr *sa = (const struct sockaddr *)&conf->sa;

	if (sa->sa_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)(const void *)sa)->sin6_port);
	if (sa->sa_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)(const void *)sa)->sin_port);
	return 0;
}

void
conn_accept(struct listener *l, evutil_socket_t fd, const struct sockaddr *sa, int salen)
{
	struct server *srv = l->srv;
	const struct config *cfg = srv->cur;
	struct conn *c = xcalloc(1, sizeof(*c));

	/* what the listener says now: a reload may change it before the session starts */
	c->srv = srv;
	c->l = l;
	atomic_fetch_add_explicit(&l->refs, 1, memory_order_relaxed);
	c->lcfg = config_ref(l->cfg);
	c->lconf = l->conf;
	c->cfg = config_ref(cfg);
	c->is_implicit_tls = l->conf->is_implicit_tls;
	c->sconf = l->sconf;
	server_session_limits(cfg, &c->sconf);
	c->is_busy = atomic_fetch_add_explicit(&srv->nconns, 1, memory_order_relaxed) >=
	    srv->d.max_sessions;
	snprintf(c->id, sizeof(c->id), "c%lu", ++srv->next_conn_id);
	peer_name(sa, salen, c->ip, sizeof(c->ip), &c->port);
	metric_series_add(l->accepted, 1);
	c->open = l->open;
	metric_series_move(c->open, 1);
	rloop_give(srv, c, fd);
}

void
conn_start(struct conn *c, evutil_socket_t fd)
{
	struct rloop *rl = c->rl;
	const struct config *cfg = c->cfg;
	const struct config_listener *lc = c->lconf;
	SSL *ssl = NULL;
	char local_ip[INET6_ADDRSTRLEN];
	int is_trusted;

	if (c->is_implicit_tls && (ssl = tls_server_ssl_new(c->srv->d.tls)) == NULL) {
		evutil_closesocket(fd);	/* logged by tls_server_ssl_new() */
		conn_forget(c);
		return;
	}
	c->next = rl->conns;
	if (rl->conns)
		rl->conns->prev = c;
	rl->conns = c;
	local_name(fd, local_ip, sizeof(local_ip));
	if (ssl != NULL)
		c->bev = bufferevent_openssl_socket_new(rl->base, fd, ssl,
		    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	else
		c->bev = bufferevent_socket_new(rl->base, fd, BEV_OPT_CLOSE_ON_FREE);
	ASSERT(c->bev != NULL);
	c->is_plain = ssl == NULL;
	conn_hooks_init(c);
	c->s = smtp_session_new(&c->sconf, &c->hooks, c->id, c->ip);
	is_trusted = relay_is_trusted(cfg, c->ip);
	smtp_session_set_client(c->s, local_ip, is_trusted);
	c->pc = policy_client_new(rl->policy, cfg, c->id, c->ip, local_ip, is_trusted,
	    c->sconf.is_auth_offered);
	if (lc->nmilters > 0 && !c->is_busy) {
		struct milter_conn_info mi = { c->id, cfg->hostname, lc->name, local_ip,
			listener_port(lc), c->ip, c->port, strchr(c->ip, ':') != NULL };

		/* the listener's indexes are into the milters of its section's generation */
		c->milters = milter_set_new(rl->milters, c->lcfg, lc->milter_idx, lc->nmilters,
		    &mi);
	}
	arm(c, &c->session_ev, on_session_deadline, cfg->session_timeout_ms);
	log_ev_connect(c->id, c->ip, c->port, lc->name, rl->index);
	conn_setup_bev(c);
	if (ssl != NULL) {
		/*
		 * RFC 8314 3.3: TLS first, then the greeting. A busy server does the
		 * handshake too: a 421 in plaintext would mean nothing to the client.
		 */
		c->mode = M_HANDSHAKE;
		tls_deadline(c);
		return;
	}
	session_begin(c);
}

void
conn_drain(struct conn *c)
{
	c->is_draining = 1;
	if (c->mode == M_STARTTLS || c->mode == M_HANDSHAKE) {
		/* no channel to say 421 on: the client sees the connection close */
		c->mode = M_CLOSING;
		conn_free(c);
		return;
	}
	if (c->mode == M_COMMAND || c->mode == M_GREETING) {
		struct buf *out = smtp_session_output(c->s);

		(void)smtp_reply(out, 421, "4.3.2", "%s Service shutting down", c->cfg->hostname);
		conn_send_output(c);
		close_after_write(c);
	}
	/* M_DATA, M_COMMIT, M_ASK, M_WAIT: what is in hand finishes first */
}

void
conn_free_all(struct rloop *rl)
{
	while (rl->conns != NULL) {
		struct conn *c = rl->conns;

		if (c->mode == M_COMMIT) {
			/* cannot happen after the spool stopped; keep the invariant visible */
			log_note(LOG_WARN, c->id, "freed while committing");
		}
		c->mode = M_CLOSING;
		conn_free(c);
	}
}
