/*
 * smtp_client_int.h - what the two halves of an outbound connection share:
 * smtp_client.c (the connection's life: targets, connect, TLS, timeouts,
 * the owner's callbacks) and smtp_client_io.c (its bytes: replies read,
 * commands and the body written).
 */
#ifndef STERNA_DELIVER_SMTP_CLIENT_INT_H
#define STERNA_DELIVER_SMTP_CLIENT_INT_H

#include <event2/bufferevent.h>

#include "deliver/smtp_client.h"

#define REPLY_READ (16 * 1024)	/* reply bytes read (or taken from a TLS session's input) at once */
/*
 * The body's bytes waiting in the output: refilled below BODY_LOW, up to
 * BODY_HIGH (and one stuffed piece of the stream past it). Under TLS the
 * socket's own output is held to BODY_HIGH too: OpenSSL's writes into it
 * wait, and so do the filter's, rather than encrypting the whole message
 * ahead of the socket.
 */
#define BODY_LOW (64 * 1024)
#define BODY_HIGH (256 * 1024)
/* body bytes stuffed before they are sent: two stream pieces' worth, doubled by stuffing */
#define BODY_PENDING (4 * 64 * 1024)

struct smtp_out {
	struct event_base *base;
	const struct smtp_out_conf *conf;
	const struct smtp_out_ops *ops;
	void *ctx;
	char id[48];
	struct dns_target *targets;
	size_t ntargets, cur;
	int is_tls_off;			/* this host failed the handshake: once more in the clear */
	struct smtpc_conf proto;	/* conf->proto, with TLS turned off for a retry */
	enum config_tls tls;		/* conf->tls, none for a UNIX socket */
	int is_verified;		/* the session's peer passed tls_client_verify_peer() */
	struct bufferevent *bev;
	struct event *rd_ev;		/* a bare connected socket's replies (out_read_start) */
	unsigned bev_gen;		/* bumped when bev is dropped or replaced: its reader stops */
	struct event *tmo, *kick;
	struct smtpc sm;
	struct smtpc_reader rd;
	struct buf out;
	struct smtpc_txn *txn;
	int is_ready_once;		/* this host got as far as a message: no next host */
	int is_handshaking, is_connected;
	int is_bare;			/* bev is the socket's own (no TLS filter over it) */
	int is_body;			/* the body is being written: the data block timeout runs */
	struct spool_content *body;	/* the content still to read (the owner's), NULL after it */
	uint8_t *pend;			/* BODY_PENDING bytes while the body is read, else NULL */
	int is_body_bol;		/* the next content byte starts a line */
	int pend_sent, pend_ready, pend_closed;
	char tls_version[32], tls_cipher[64];	/* of the session in progress, "" in the clear */
	char relay[320];
	char why[SMTPC_TEXT + 128];
	char sent_why[SMTPC_TEXT + 128];
};

/* ---- smtp_client.c ---- */
/* (Re)arms the timeout of the reply waited for, ms from now. */
void out_arm(struct smtp_out *c, unsigned ms);
/* The timeout of the reply the state waits for (RFC 5321 4.5.3.2). */
unsigned out_state_timeout_ms(const struct smtp_out *c);
/* Has the owner's pending callbacks run from a deferred event. */
void out_kick(struct smtp_out *c);
/* The session cannot go on (why: for the logs and the owner). */
void out_failed(struct smtp_out *c, const char *why);
/* The peer closed the connection (err 0) or it failed with errno err. */
void out_lost(struct smtp_out *c, int err);
/* The server said 220 to STARTTLS: the handshake starts. */
void out_start_tls(struct smtp_out *c);

/* ---- smtp_client_io.c ---- */
/* Sends the commands waiting in c->out. */
void out_flush(struct smtp_out *c);
/* The bufferevent's callbacks: replies in (TLS), the body out. */
void out_on_read(struct bufferevent *bev, void *arg);
void out_on_write(struct bufferevent *bev, void *arg);
/* A bare socket, connected: its replies are read by c itself from now on. */
void out_read_start(struct smtp_out *c);
/* No more of that (TLS starts, or the socket goes). */
void out_read_stop(struct smtp_out *c);

#endif
