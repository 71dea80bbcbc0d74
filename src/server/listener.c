/*
 * listener.c - the server: listening sockets and shutdown. The session
 * hooks are per connection (conn.c).
 */
#include "server/server_int.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/clock.h"
#include "util/log.h"
#include "util/log_event.h"
#include "util/xalloc.h"

static void
on_workq(evutil_socket_t fd, short what, void *arg)
{
	struct server *srv = arg;

	(void)fd, (void)what;
	workq_run_done(srv->d.wq);
}

static void on_accept_pause_over(evutil_socket_t fd, short what, void *arg);

struct server *
server_new(const struct server_deps *deps)
{
	struct server *srv = xcalloc(1, sizeof(*srv));
	const struct config *c = deps->cfg;

	srv->d = *deps;
	srv->sconf = (struct smtp_session_conf){
		.hostname = c->hostname,
		.max_line_bytes = c->max_line_bytes,
		.max_text_line_bytes = c->max_text_line_bytes,
		.max_message_bytes = c->max_message_bytes,
		.max_recipients = c->max_recipients,
		.max_errors = c->max_errors,
		.max_auth_failures = c->auth_max_failures,
		.max_future_release_s = c->max_future_release_s,
	};
	srv->accept_ev = evtimer_new(deps->base, on_accept_pause_over, srv);
	ASSERT(srv->accept_ev != NULL);
	srv->sessions = metrics_gauge(deps->metrics, "sterna_smtp_sessions",
	    "SMTP sessions open, by listener.", "listener");
	srv->accepted = metrics_counter(deps->metrics, "sterna_smtp_sessions_accepted_total",
	    "SMTP connections accepted, by listener (those refused at the greeting too).",
	    "listener");
	srv->tls = tls_handshakes_metric(deps->metrics);
	return srv;
}

#define ACCEPT_PAUSE_MIN_MS 10
#define ACCEPT_PAUSE_MAX_MS 1000

int
server_accept_is_shortage(int err)
{
	return err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM;
}

unsigned
server_accept_pause_next(unsigned prev_ms)
{
	return prev_ms == 0 ? ACCEPT_PAUSE_MIN_MS :
	    prev_ms * 2 > ACCEPT_PAUSE_MAX_MS ? ACCEPT_PAUSE_MAX_MS : prev_ms * 2;
}

static void
on_accept(struct evconnlistener *evl, evutil_socket_t fd, struct sockaddr *sa, int salen, void *arg)
{
	struct listener *l = arg;

	(void)evl;
	l->srv->accept_pause_ms = 0;	/* descriptors again: the next shortage starts short */
	conn_accept(l, fd, sa, salen);
}

static void
set_accepting(struct server *srv, int is_on)
{
	for (size_t i = 0; i < srv->nlisteners; i++) {
		struct evconnlistener *evl = srv->listeners[i].evl;

		if (evl != NULL && (is_on ? evconnlistener_enable(evl) : evconnlistener_disable(evl)))
			log_err("listener %s: cannot %s accepting", srv->listeners[i].conf->name,
			    is_on ? "resume" : "pause");
	}
}

static void
on_accept_pause_over(evutil_socket_t fd, short what, void *arg)
{
	struct server *srv = arg;

	(void)fd, (void)what;
	if (!srv->is_draining)
		set_accepting(srv, 1);
}

/*
 * Out of descriptors (EMFILE, ENFILE) or kernel memory: the connection
 * waits in the kernel's backlog, and accepting again at once would fail
 * again at once, a busy loop writing a log line each time. Accepting stops
 * for a pause instead, doubling while the shortage lasts, with one log line
 * per pause; the sessions in hand go on (their spool and mailbox files come
 * from the descriptors kept in reserve, main/fdlimit.c).
 */
static void
on_accept_error(struct evconnlistener *evl, void *arg)
{
	struct listener *l = arg;
	struct server *srv = l->srv;
	int err = EVUTIL_SOCKET_ERROR();
	struct timeval tv;

	(void)evl;
	if (!server_accept_is_shortage(err)) {
		log_err("listener %s: accept: %s", l->conf->name, strerror(err));
		return;
	}
	srv->accept_failures++;
	srv->accept_pause_ms = server_accept_pause_next(srv->accept_pause_ms);
	set_accepting(srv, 0);
	tv = (struct timeval){ srv->accept_pause_ms / 1000, (srv->accept_pause_ms % 1000) * 1000 };
	evtimer_add(srv->accept_ev, &tv);
	log_ev_accept_paused(l->conf->name, strerror(err), srv->accept_pause_ms,
	    srv->accept_failures, srv->nconns);
}

int
server_bind(struct server *srv, char *err, size_t errsize)
{
	const struct config *c = srv->d.cfg;

	srv->listeners = xcalloc(c->nlisteners, sizeof(*srv->listeners));
	for (size_t i = 0; i < c->nlisteners; i++) {
		const struct config_listener *cl = &c->listeners[i];
		struct listener *l = &srv->listeners[i];
		int one = 1, fd;

		l->srv = srv;
		l->conf = cl;
		l->sconf = srv->sconf;
		l->open = metric_series(srv->sessions, (const char *const *)&cl->name);
		l->accepted = metric_series(srv->accepted, (const char *const *)&cl->name);
		/* RFC 3207 4: offered only where it can work; inside implicit TLS it cannot */
		l->sconf.offers_starttls = cl->offers_starttls && !cl->is_implicit_tls &&
		    tls_server_has_cert(srv->d.tls);
		/* no users file, no AUTH: there would be nobody to log in as */
		l->sconf.is_auth_offered = c->users_file[0] != '\0' && cl->is_auth;
		l->sconf.is_auth_tls_only = !cl->is_auth_without_tls;
		l->sconf.is_auth_required = cl->is_auth_required;
		fd = socket(cl->sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd == -1 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1 ||
		    (cl->sa.ss_family == AF_INET6 &&
		    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) == -1) ||
		    bind(fd, (const struct sockaddr *)&cl->sa, cl->sa_len) == -1 ||
		    listen(fd, 1024) == -1) {
			snprintf(err, errsize, "%s:%u: listen \"%s\": %s: %s", c->path, cl->line, cl->name,
			    cl->address, strerror(errno));
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

void
server_attach(struct server *srv, struct spool *sp, struct msg_core *msg, struct workq *wq,
    struct policy *policy)
{
	/* AUTH is offered wherever there is a users file (server_bind): its checks need the pool */
	ASSERT(wq != NULL && policy != NULL);
	srv->d.spool = sp;
	srv->d.msg = msg;
	srv->d.wq = wq;
	srv->policy = policy;
	srv->wq_ev = event_new(srv->d.base, workq_fd(wq), EV_READ | EV_PERSIST, on_workq, srv);
	ASSERT(srv->wq_ev != NULL);
	event_add(srv->wq_ev, NULL);
}

void
server_start(struct server *srv)
{
	ASSERT(srv->d.spool != NULL && srv->d.msg != NULL);
	for (size_t i = 0; i < srv->nlisteners; i++) {
		struct listener *l = &srv->listeners[i];

		/* backlog 0: it listens already; -1 would listen again with libevent's 128 */
		l->evl = evconnlistener_new(srv->d.base, on_accept, l, LEV_OPT_CLOSE_ON_FREE,
		    0, l->fd);
		ASSERT(l->evl != NULL);
		evconnlistener_set_error_cb(l->evl, on_accept_error);
		log_ev_listening(l->conf->name, l->conf->address, "smtp", l->conf->is_implicit_tls ?
		    "implicit" : l->sconf.offers_starttls ? "starttls" : "no");
	}
}

static void
stop_listeners(struct server *srv)
{
	for (size_t i = 0; i < srv->nlisteners; i++) {
		struct listener *l = &srv->listeners[i];

		if (l->evl != NULL)
			evconnlistener_free(l->evl);
		else if (l->fd != -1)
			close(l->fd);
		l->evl = NULL;
		l->fd = -1;
	}
}

unsigned
server_drain(struct server *srv)
{
	if (!srv->is_draining) {
		srv->is_draining = 1;
		stop_listeners(srv);
	}
	for (struct conn *c = srv->conns, *next; c != NULL; c = next) {
		next = conn_next(c);	/* conn_drain may free c */
		conn_drain(c);
	}
	return srv->nconns;
}

unsigned
server_sessions(const struct server *srv)
{
	return srv->nconns;
}

void
server_free(struct server **sp)
{
	struct server *srv = *sp;

	if (srv == NULL)
		return;
	stop_listeners(srv);
	conn_free_all(srv);
	event_free(srv->accept_ev);
	if (srv->wq_ev)
		event_free(srv->wq_ev);
	free(srv->listeners);
	free(srv);
	*sp = NULL;
}
