/*
 * server_int.h - what listener.c and conn.c share; no other directory includes it.
 */
#ifndef STERNA_SERVER_SERVER_INT_H
#define STERNA_SERVER_SERVER_INT_H

#include <event2/bufferevent.h>
#include <event2/listener.h>

#include "policy/authlimit.h"
#include "server/server.h"
#include "smtp/session.h"
#include "smtp/smtp.h"
#include "spool/spool.h"

struct listener {
	struct server *srv;
	const struct config_listener *conf;
	struct smtp_session_conf sconf;	/* the server's, with this listener's STARTTLS and AUTH options */
	struct evconnlistener *evl;
	int fd;
};

struct conn;

struct server {
	struct server_deps d;
	struct smtp_session_conf sconf;	/* what every listener's sconf starts from */
	struct listener *listeners;
	size_t nlisteners;
	struct event *wq_ev;
	struct event *auth_wq_ev;
	struct authlimit *authlimit;	/* AUTH failures per client address */
	struct client_counts *per_client;	/* sessions open per client address */
	struct conn *conns;		/* every open connection */
	unsigned nconns;
	unsigned long next_conn_id;
	int is_draining;
	/* out of descriptors: accepting stops for a pause that grows while it lasts */
	struct event *accept_ev;
	unsigned accept_pause_ms;	/* the last pause; 0 once an accept works again */
	unsigned long accept_failures;	/* accepts refused for want of descriptors, all told */
};

/* clients.c: sessions per client address */
struct client_counts *client_counts_new(void);
void client_counts_free(struct client_counts **cc);
/* One more session from ip: returns how many it has now. */
unsigned client_counts_up(struct client_counts *cc, const char *ip);
/* One session from ip ended. */
void client_counts_down(struct client_counts *cc, const char *ip);

/* conn.c */
void conn_accept(struct listener *l, evutil_socket_t fd, const struct sockaddr *sa, int salen);
/* Sends 421 to an idle session and closes it; a busy one closes after its message. */
void conn_drain(struct conn *c);
/* The connection after c in srv->conns, or NULL. */
struct conn *conn_next(struct conn *c);
/* Frees every connection at once (shutdown). */
void conn_free_all(struct server *srv);

#endif
