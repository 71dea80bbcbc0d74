/*
 * smtp_client.h - one outbound SMTP connection on the event loop
 * (bufferevents, OpenSSL for STARTTLS), running the protocol of smtpc.h.
 * It tries the addresses it is given in order until one gets as far as
 * being ready for a message (next MX on a refused connection, a timeout,
 * a 4xx greeting or a failed EHLO), then carries any number of messages
 * until told to quit. TLS follows the destination's policy (enum
 * config_tls): a failed handshake is retried once on the same host without
 * TLS where TLS is opportunistic (may); where it is required (encrypt,
 * verify) the host has failed, and under verify so has a handshake whose
 * certificate does not check out, before any command (AUTH above all).
 * LMTP (proto.is_lmtp) runs the same way; its target may be a UNIX socket
 * (AF_UNIX in dns_target.sa, see config_lmtp_hop_parse), spoken to in the
 * clear whatever the TLS policy says: the socket never leaves the machine.
 */
#ifndef STERNA_DELIVER_SMTP_CLIENT_H
#define STERNA_DELIVER_SMTP_CLIENT_H

#include <stddef.h>

#include <event2/event.h>
#include <openssl/ssl.h>

#include "config/config.h"
#include "deliver/smtpc.h"
#include "dns/dns.h"
#include "spool/spool.h"
#include "util/buf.h"

struct smtp_out;

struct smtp_out_ops {
	/* Ready for a message: call smtp_out_send() or smtp_out_quit(). */
	void (*ready)(void *ctx, struct smtp_out *c);
	/* The message of smtp_out_send() has its results (unanswered ones have code 0). */
	void (*sent)(void *ctx, struct smtp_out *c, struct smtpc_txn *t, const char *why);
	/*
	 * The connection is over; why is NULL after a QUIT, else the last
	 * failure (of the last address tried). The client is freed after
	 * this returns: the callee forgets it.
	 */
	void (*closed)(void *ctx, struct smtp_out *c, const char *why);
};

struct smtp_out_conf {
	const struct config *cfg;	/* timeouts */
	SSL_CTX *ssl_ctx;		/* NULL: never STARTTLS */
	enum config_tls tls;		/* the destination's policy; proto's TLS flags follow it */
	struct smtpc_conf proto;	/* HELO name, TLS allowed and required, AUTH */
	const char *source_address;	/* "" or NULL: any */
};

/*
 * Starts connecting to targets (n of them, copied) with conf (borrowed,
 * must outlive the client); ops are called with ctx. id names the
 * connection in logs. A target's sa may be AF_INET, AF_INET6 or AF_UNIX,
 * sa_len its length (for AF_UNIX, up to the path's NUL).
 */
struct smtp_out *smtp_out_new(struct event_base *base, const struct smtp_out_conf *conf,
    const struct dns_target *targets, size_t n, const struct smtp_out_ops *ops, void *ctx,
    const char *id);
/*
 * Sends t with the content read from body (borrowed until sent() is
 * called), dot-stuffed here a piece at a time as the socket drains, with
 * the final ".\r\n" (and a CRLF before it where the content lacks one).
 * t->size is the content's size, as SIZE counts it (RFC 1870). A body that
 * cannot be read fails the session before the final dot (sent() says
 * why). Only after ready().
 */
void smtp_out_send(struct smtp_out *c, struct smtpc_txn *t, struct spool_content *body);
/* Ends the session with QUIT (after ready()); closed() follows. */
void smtp_out_quit(struct smtp_out *c);
/* Closes at once, without callbacks, and frees *c. */
void smtp_out_free(struct smtp_out **c);
/* "host[ip]:port" of the server in use, or "unix:/path", for logs and bounces. */
const char *smtp_out_relay(const struct smtp_out *c);
/* The remote host's name, for Remote-MTA: the target's host ("" for a UNIX socket). */
const char *smtp_out_host(const struct smtp_out *c);
/* Messages begun on this connection. */
unsigned smtp_out_messages(const struct smtp_out *c);
/* 1 if the session runs over TLS. */
int smtp_out_is_tls(const struct smtp_out *c);
/*
 * The TLS version ("TLSv1.3") and cipher (OpenSSL's name) of the session,
 * valid while the client lives; NULL when the session runs in the clear.
 */
const char *smtp_out_tls_version(const struct smtp_out *c);
const char *smtp_out_tls_cipher(const struct smtp_out *c);
/* The TLS policy the session runs under: the destination's, none for a UNIX socket. */
enum config_tls smtp_out_tls_policy(const struct smtp_out *c);
/* 1 if the session runs over TLS with a peer whose certificate was verified. */
int smtp_out_is_verified(const struct smtp_out *c);

#endif
