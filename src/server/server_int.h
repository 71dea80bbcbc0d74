/*
 * server_int.h - what listener.c and conn.c share; no other directory includes it.
 */
#ifndef STERNA_SERVER_SERVER_INT_H
#define STERNA_SERVER_SERVER_INT_H

#include <event2/bufferevent.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <stdatomic.h>

#include "milter/milter.h"
#include "policy/engine.h"
#include "server/accept_pause.h"
#include "server/server.h"
#include "smtp/session.h"
#include "smtp/smtp.h"
#include "spool/spool.h"
#include "msg/msg.h"

/*
 * A listening socket, on the main loop. A reload keeps the socket of an
 * address it still names and gives it the new section (options, name); an
 * address no longer named is closed, and its listener freed when its last
 * session ends. A session copies what it needs of its listener's section
 * when it is accepted, and holds a reference to the listener until it ends
 * (on whichever loop it runs).
 */
struct listener {
	struct listener *next;		/* in srv->listeners while open */
	struct server *srv;
	struct config *cfg;		/* the generation conf is in (a reference) */
	const struct config_listener *conf;
	struct smtp_session_conf sconf;	/* the server's, with this listener's STARTTLS and AUTH options */
	struct evconnlistener *evl;
	int fd;
	/* srv->listeners' while it is open, and one per session: the last frees it */
	_Atomic unsigned refs;
	struct metric_series *open, *accepted;	/* its sessions open now, and all told */
};

struct conn;

/*
 * A receiving loop (rloop.c): an event loop that owns the sessions given
 * to it and the modules they use there. Loop 0 is the main loop, with the
 * daemon's own core, engine and filters; each further one runs on a thread
 * of its own, with modules made for it (server_add_loop), and is reached
 * through its mailbox. Its fields are its thread's but where they say.
 */
struct rloop {
	struct server *srv;
	unsigned index;
	struct event_base *base;
	struct msg_core *msg;
	struct policy *policy;
	struct milter_pool *milters;
	struct workq *inbox;		/* its mailbox; NULL for loop 0 */
	struct event *inbox_ev;
	pthread_t thread;
	int has_thread;
	struct conn *conns;		/* its open connections */
	unsigned char *read_buf;	/* conn_read.c's, READ_BUF_SIZE: its connections' reads land here */
	unsigned char *data_buf;	/* conn_data.c's, DATA_BUF_SIZE: message bytes, unstuffed */
	_Atomic unsigned nconns;	/* ... counted for the main loop, which gives the next to the least busy */
	int is_draining;
	int is_drain_sent;		/* the main loop's: the drain is on its way */
};

struct server {
	struct server_deps d;
	struct smtp_session_conf sconf;	/* what every listener's sconf starts from */
	struct listener *listeners;	/* those open, in the configuration's order */
	struct event *wq_ev;
	/*
	 * The configuration new sessions start with (a reference): d.cfg's
	 * generation until a reload gives another (server_set_config). d.cfg
	 * stays the one the listeners were bound with.
	 */
	struct config *cur;
	struct rloop **loops;		/* [0] the main loop's, from server_attach() */
	unsigned nloops;
	_Atomic unsigned nconns;	/* open connections on every loop */
	struct metric *sessions, *accepted, *tls;	/* the families of the figures */
	unsigned long next_conn_id;
	int is_draining;
	int is_started;			/* server_start() was called: new listeners accept at once */
	/* out of descriptors: accepting stops for a pause that grows while it lasts */
	struct accept_pause accept;	/* accepting paused for want of descriptors */
};

/* ---- one connection: what conn.c, conn_auth.c and conn_data.c share ---- */

enum conn_mode {
	M_STARTTLS,	/* the 220 to STARTTLS is being written in plaintext */
	M_HANDSHAKE,	/* TLS handshake (after STARTTLS, or implicit TLS) */
	M_GREETING,	/* waiting out the listener's greeting delay */
	M_COMMAND,
	M_DATA,
	M_COMMIT,	/* the spool is making the message durable */
	M_ASK,		/* policy is judging the session's question */
	M_WAIT,		/* holding a reply back (a failed AUTH is answered late) */
	M_CLOSING,	/* last reply being written */
};

struct conn {
	struct conn *next, *prev;	/* in rl->conns */
	struct server *srv;
	struct rloop *rl;		/* the loop it runs on, and whose modules it uses */
	struct listener *l;		/* a reference, let go when it ends */
	/*
	 * Its listener's section when it was accepted, and that section's
	 * generation (a reference): a reload may give the listener another.
	 */
	struct config *lcfg;
	const struct config_listener *lconf;
	struct bufferevent *bev;
	struct event *rd_ev;	/* a plain socket's reading (conn_read.c); NULL under TLS */
	int is_reading;		/* reading wanted (conn_read_enable) */
	int is_input_full;	/* reading stopped: INPUT_HIGH_WATER unprocessed bytes */
	struct event *greet_ev;
	struct event *tls_ev;	/* the handshake's deadline */
	SSL *ssl;		/* between STARTTLS and the handshake's bufferevent */
	struct event *wait_ev;	/* M_WAIT's timer */
	struct event *line_ev;	/* the deadline of the command line, or the DATA phase, awaited */
	struct event *session_ev;	/* the deadline of the whole session */
	struct smtp_session *s;
	struct metric_series *open;	/* its listener's count of open sessions, by the name then */
	/* the generation the session started with, kept to its end (a reference) */
	struct config *cfg;
	struct smtp_session_conf sconf;	/* the listener's, with cfg's limits */
	struct policy_client *pc;	/* what policy knows of this client */
	struct milter_set *milters;	/* the listener's content filters; NULL for none */
	size_t rcpt_mark;	/* RCPT asked: the envelope's recipients before it */
	char id[24];
	char ip[INET6_ADDRSTRLEN];
	unsigned port;
	enum conn_mode mode;
	int is_implicit_tls;	/* accepted in TLS (its listener's section may change by a reload) */
	int is_skipping_line;	/* dropping the rest of an overlong command line */
	int is_paused;		/* reading stopped until the spool catches up */
	int is_draining;	/* shutting down: close after the message in hand */
	int is_busy;		/* over the session limit: refused once greeted */
	int is_plain;		/* c->bev is the bare socket (no TLS, none coming): see conn_send_output */
	uint64_t discarded;	/* plaintext bytes thrown away at STARTTLS */
	struct smtp_hooks hooks;	/* the session's questions, answered for this connection */
	struct dotdata dd;
	struct spool_msg *env;	/* the envelope being built, from MAIL to DATA */
	struct msg_sub *sub;	/* the message being received, from DATA to its commit */
};

/* listener.c: the session limits of generation c into *sc (the listener's options stay). */
void server_session_limits(const struct config *c, struct smtp_session_conf *sc);

/* listener.c: lets go of a reference to l (any thread); the last frees it. */
void listener_unref(struct listener *l);

/*
 * rloop.c: gives c, accepted on the main loop with its socket fd, to the
 * least busy receiving loop, where it starts (conn_start).
 */
void rloop_give(struct server *srv, struct conn *c, evutil_socket_t fd);
/* rloop.c: loop 0's, from server_attach(). */
void rloop_add_main(struct server *srv, struct msg_core *msg, struct policy *policy);
/* rloop.c: starts the threads of the loops but the first. */
void rloops_start(struct server *srv);
/* rloop.c: has every loop end its sessions as server_drain() says. */
void rloops_drain(struct server *srv);
/* rloop.c: frees every connection, stops the threads, frees the loops (shutdown). */
void rloops_free(struct server *srv);

/* conn.c */
/* On the main loop: a new connection of l; it runs on the loop rloop_give() picks. */
void conn_accept(struct listener *l, evutil_socket_t fd, const struct sockaddr *sa, int salen);
/* On c's loop: the connection's session starts. */
void conn_start(struct conn *c, evutil_socket_t fd);
/* Sends 421 to an idle session and closes it; a busy one closes after its message. */
void conn_drain(struct conn *c);
/* The connection after c in its loop's list, or NULL. */
struct conn *conn_next(struct conn *c);
/* Frees every connection of rl at once (shutdown), on rl's thread. */
void conn_free_all(struct rloop *rl);
/* Frees c now (its replies are out, or the client is gone). */
void conn_free(struct conn *c);
/* Moves the session's replies to the socket. */
void conn_send_output(struct conn *c);
/*
 * Sends the output and does what the session asked (all but STARTTLS):
 * returns 0 to go on reading (commands, or the message after DATA), -1
 * when reading waits (a question, a commit, a wait) or c is closing.
 */
int conn_act(struct conn *c, enum smtp_act a);
/* Back to reading commands after a wait; what came meanwhile is in the buffer. */
void conn_resume(struct conn *c);
/* Processes the input in hand, as far as the mode allows. */
void conn_process(struct conn *c);
/* The deadline for the next command line (or, is_data, the whole DATA phase). */
void conn_line_deadline(struct conn *c, int is_data);

/* Bytes came (c->bev's input): on to the session, or held while it is busy; may free c. */
void conn_input(struct conn *c);
/* The socket's end, error or idle timeout (BEV_EVENT_* in what); may free c. */
void conn_socket_event(struct conn *c, short what);

/*
 * conn_read.c: a plain socket read in pieces of up to 64 KiB into c->bev's
 * input. start, once c->bev is the bare socket; stop before it goes (or
 * moves to TLS). enable: reading on or off, whoever reads (a TLS
 * bufferevent too).
 */
#define INPUT_HIGH_WATER (256 * 1024)	/* stop reading the socket past this much unprocessed input */
#define READ_BUF_SIZE (64 * 1024)	/* the most one read(2) takes */
#define DATA_PIECE (16 * 1024)	/* message bytes the DATA reader takes at once */
#define DATA_BUF_SIZE (DATA_PIECE + DOTDATA_HELD_MAX)
void conn_read_start(struct conn *c);
void conn_read_enable(struct conn *c, int is_on);
void conn_read_stop(struct conn *c);

/* conn_ask.c: the session's questions to policy, and a reply held back */
/* Asks policy the session's question; as conn_act() (-1 while the answer is out). */
int conn_ask(struct conn *c);
void conn_wait_begin(struct conn *c);

/* conn_data.c: the envelope from MAIL to DATA, and the message into the submission core */
void conn_hooks_init(struct conn *c);
void conn_data_begin(struct conn *c);
/* The message is to be kept (SMTP_ACT_COMMIT): the submission is ended, its commit awaited. */
void conn_commit(struct conn *c);
/* Feeds message bytes to the DATA reader; returns 1 when the message ended. */
int conn_data_input(struct conn *c, struct evbuffer *in);
void conn_data_end(struct conn *c);

#endif
