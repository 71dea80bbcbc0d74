/*
 * listener.c - the server: listening sockets and shutdown, on the main
 * loop. The session hooks are per connection (conn.c), the loops the
 * connections run on rloop.c's.
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

static void on_accept_pause_over(void *arg);

void
server_session_limits(const struct config *c, struct smtp_session_conf *sc)
{
	sc->hostname = c->hostname;
	sc->max_line_bytes = c->max_line_bytes;
	sc->max_text_line_bytes = c->max_text_line_bytes;
	sc->max_message_bytes = c->max_message_bytes;
	sc->max_recipients = c->max_recipients;
	sc->max_errors = c->max_errors;
	sc->max_auth_failures = c->auth_max_failures;
	sc->max_future_release_s = c->max_future_release_s;
}

struct server *
server_new(const struct server_deps *deps)
{
	struct server *srv = xcalloc(1, sizeof(*srv));
	const struct config *c = deps->cfg;

	srv->d = *deps;
	srv->cur = config_ref(c);
	server_session_limits(c, &srv->sconf);
	accept_pause_init(&srv->accept, deps->base, on_accept_pause_over, srv);
	srv->sessions = metrics_gauge(deps->metrics, "sterna_smtp_sessions",
	    "SMTP sessions open, by listener.", "listener");
	srv->accepted = metrics_counter(deps->metrics, "sterna_smtp_sessions_accepted_total",
	    "SMTP connections accepted, by listener (those refused at the greeting too).",
	    "listener");
	srv->tls = tls_handshakes_metric(deps->metrics);
	return srv;
}

static void
on_accept(struct evconnlistener *evl, evutil_socket_t fd, struct sockaddr *sa, int salen, void *arg)
{
	struct listener *l = arg;

	(void)evl;
	accept_pause_reset(&l->srv->accept);	/* descriptors again */
	conn_accept(l, fd, sa, salen);
}

static void
set_accepting(struct server *srv, int is_on)
{
	for (struct listener *l = srv->listeners; l != NULL; l = l->next) {
		if (l->evl != NULL && (is_on ? evconnlistener_enable(l->evl) :
		    evconnlistener_disable(l->evl)))
			log_err("listener %s: cannot %s accepting", l->conf->name,
			    is_on ? "resume" : "pause");
	}
}

static void
on_accept_pause_over(void *arg)
{
	struct server *srv = arg;

	if (!srv->is_draining)
		set_accepting(srv, 1);
}

/* Out of descriptors or memory: a pause (accept_pause.c) rather than a busy loop. */
static void
on_accept_error(struct evconnlistener *evl, void *arg)
{
	struct listener *l = arg;
	struct server *srv = l->srv;

	(void)evl;
	if (accept_pause_on_error(&srv->accept, "listener", l->conf->name, EVUTIL_SOCKET_ERROR(),
	    atomic_load(&srv->nconns)))
		set_accepting(srv, 0);
}

/* Gives l the section cl of generation cfg (a reference is taken): for sessions from now on. */
static void
listener_set_section(struct listener *l, const struct config *cfg,
    const struct config_listener *cl)
{
	struct server *srv = l->srv;
	struct config *held = l->cfg;

	l->cfg = config_ref(cfg);
	config_free(&held);
	l->conf = cl;
	l->sconf = srv->sconf;
	l->open = metric_series(srv->sessions, (const char *const *)&cl->name);
	l->accepted = metric_series(srv->accepted, (const char *const *)&cl->name);
	/* RFC 3207 4: offered only where it can work; inside implicit TLS it cannot */
	l->sconf.offers_starttls = cl->offers_starttls && !cl->is_implicit_tls &&
	    tls_server_has_cert(srv->d.tls);
	/*
	 * No users file, no AUTH: there would be nobody to log in as (the file
	 * read at start: its place needs a restart, and so do its check threads).
	 */
	l->sconf.is_auth_offered = srv->d.cfg->users_file[0] != '\0' && cl->is_auth;
	l->sconf.is_auth_tls_only = !cl->is_auth_without_tls;
	l->sconf.is_auth_required = cl->is_auth_required;
}

/* A new listener on cl's address, bound and listening: NULL with the reason in err. */
static struct listener *
listener_bind(struct server *srv, const struct config *cfg, const struct config_listener *cl,
    char *err, size_t errsize)
{
	struct listener *l;
	int one = 1, fd;

	fd = socket(cl->sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1 ||
	    (cl->sa.ss_family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) == -1) ||
	    bind(fd, (const struct sockaddr *)&cl->sa, cl->sa_len) == -1 ||
	    listen(fd, 1024) == -1) {
		snprintf(err, errsize, "%s:%u: listen \"%s\": %s: %s", cfg->path, cl->line, cl->name,
		    cl->address, strerror(errno));
		if (fd != -1)
			close(fd);
		return NULL;
	}
	l = xcalloc(1, sizeof(*l));
	l->srv = srv;
	l->fd = fd;
	atomic_init(&l->refs, 1);	/* the server's, until it is closed */
	listener_set_section(l, cfg, cl);
	return l;
}

static void
listener_start(struct listener *l)
{
	/* backlog 0: it listens already; -1 would listen again with libevent's 128 */
	l->evl = evconnlistener_new(l->srv->d.base, on_accept, l, LEV_OPT_CLOSE_ON_FREE, 0, l->fd);
	ASSERT(l->evl != NULL);
	/* one added by a reload during a pause waits for the pause's end, as the others do */
	if (l->srv->accept.is_paused)
		evconnlistener_disable(l->evl);
	evconnlistener_set_error_cb(l->evl, on_accept_error);
	log_ev_listening(l->conf->name, l->conf->address, "smtp", l->conf->is_implicit_tls ?
	    "implicit" : l->sconf.offers_starttls ? "starttls" : "no");
}

/* Closes l's socket; it stays for its sessions. */
static void
listener_stop(struct listener *l)
{
	if (l->evl != NULL)
		evconnlistener_free(l->evl);
	else if (l->fd != -1)
		close(l->fd);
	l->evl = NULL;
	l->fd = -1;
}

static void
listener_free(struct listener *l)
{
	listener_stop(l);
	config_free(&l->cfg);
	free(l);
}

void
listener_unref(struct listener *l)
{
	/* the last is a session's when the listener is closed: its socket went then */
	if (atomic_fetch_sub_explicit(&l->refs, 1, memory_order_acq_rel) == 1)
		listener_free(l);
}

/* Appends l to the open listeners. */
static void
listener_append(struct server *srv, struct listener *l)
{
	struct listener **pp = &srv->listeners;

	while (*pp != NULL)
		pp = &(*pp)->next;
	*pp = l;
}

int
server_bind(struct server *srv, char *err, size_t errsize)
{
	const struct config *c = srv->d.cfg;

	for (size_t i = 0; i < c->nlisteners; i++) {
		struct listener *l = listener_bind(srv, c, &c->listeners[i], err, errsize);

		if (l == NULL)
			return -1;
		listener_append(srv, l);
	}
	return 0;
}

/* The open listener on cl's address, or NULL. */
static struct listener *
listener_on(struct server *srv, const struct config_listener *cl)
{
	for (struct listener *l = srv->listeners; l != NULL; l = l->next)
		if (l->conf->sa_len == cl->sa_len && memcmp(&l->conf->sa, &cl->sa, cl->sa_len) == 0)
			return l;
	return NULL;
}

/* 1 if cfg has a listener on l's address. */
static int
is_named(const struct config *cfg, const struct listener *l)
{
	for (size_t i = 0; i < cfg->nlisteners; i++)
		if (cfg->listeners[i].sa_len == l->conf->sa_len &&
		    memcmp(&cfg->listeners[i].sa, &l->conf->sa, l->conf->sa_len) == 0)
			return 1;
	return 0;
}

int
server_set_config(struct server *srv, const struct config *cfg, char *err, size_t errsize)
{
	struct listener *added = NULL, **tail = &added, **pp, *l;
	struct config *held = srv->cur;

	/* first what may fail: the new addresses bound, or none and nothing changed */
	for (size_t i = 0; i < cfg->nlisteners && !srv->is_draining; i++) {
		const struct config_listener *cl = &cfg->listeners[i];

		if (listener_on(srv, cl) != NULL)
			continue;
		if (cl->is_implicit_tls && !tls_server_has_cert(srv->d.tls)) {
			snprintf(err, errsize, "%s:%u: listen \"%s\": implicit TLS needs the certificates "
			    "of tls { }, which are read at start: restart to add them", cfg->path,
			    cl->line, cl->name);
			l = NULL;
		} else {
			l = listener_bind(srv, cfg, cl, err, errsize);
		}
		if (l == NULL) {
			while ((l = added) != NULL) {
				added = l->next;
				listener_free(l);
			}
			return -1;
		}
		*tail = l;
		tail = &l->next;
	}
	srv->cur = config_ref(cfg);
	config_free(&held);
	if (srv->is_draining)
		return 0;
	/* addresses no longer named: closed, each freed with its last session */
	for (pp = &srv->listeners; (l = *pp) != NULL;) {
		if (is_named(cfg, l)) {
			pp = &l->next;
			continue;
		}
		*pp = l->next;
		log_info("listener %s (%s) closed by the reload", l->conf->name, l->conf->address);
		listener_stop(l);
		listener_unref(l);	/* freed now, or by its last session */
	}
	/* those kept take their new section */
	for (size_t i = 0; i < cfg->nlisteners; i++)
		if ((l = listener_on(srv, &cfg->listeners[i])) != NULL)
			listener_set_section(l, cfg, &cfg->listeners[i]);
	while ((l = added) != NULL) {
		added = l->next;
		l->next = NULL;
		listener_append(srv, l);
		if (srv->is_started)
			listener_start(l);
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
	rloop_add_main(srv, msg, policy);
	srv->wq_ev = event_new(srv->d.base, workq_fd(wq), EV_READ | EV_PERSIST, on_workq, srv);
	ASSERT(srv->wq_ev != NULL);
	event_add(srv->wq_ev, NULL);
}

void
server_start(struct server *srv)
{
	ASSERT(srv->d.spool != NULL && srv->d.msg != NULL);
	srv->is_started = 1;
	rloops_start(srv);
	for (struct listener *l = srv->listeners; l != NULL; l = l->next)
		listener_start(l);
}

static void
stop_listeners(struct server *srv)
{
	for (struct listener *l = srv->listeners; l != NULL; l = l->next)
		listener_stop(l);
}

unsigned
server_drain(struct server *srv)
{
	if (!srv->is_draining) {
		srv->is_draining = 1;
		stop_listeners(srv);
	}
	rloops_drain(srv);
	return atomic_load(&srv->nconns);
}

unsigned
server_sessions(const struct server *srv)
{
	return atomic_load(&srv->nconns);
}

void
server_free(struct server **sp)
{
	struct server *srv = *sp;

	if (srv == NULL)
		return;
	stop_listeners(srv);
	rloops_free(srv);	/* the listeners a reload closed go with their last sessions */
	while (srv->listeners != NULL) {
		struct listener *l = srv->listeners;

		srv->listeners = l->next;
		listener_unref(l);
	}
	accept_pause_clear(&srv->accept);
	if (srv->wq_ev)
		event_free(srv->wq_ev);
	config_free(&srv->cur);
	free(srv);
	*sp = NULL;
}
