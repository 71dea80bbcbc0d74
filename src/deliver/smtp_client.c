/*
 * smtp_client.c - one outbound SMTP connection: sockets, timeouts and TLS
 * around the pure protocol of smtpc.c. Callbacks to the owner always run
 * from a deferred event, never inside a call the owner made, so the owner
 * may call back in (send, quit) without surprises.
 * Timeouts are RFC 5321 4.5.3.2's, one per state, from the configuration;
 * while the body is being written, the data block timeout counts from the
 * last progress. A target may be a UNIX socket (an LMTP server on this
 * machine): the same session, in the clear.
 * The content is streamed from the queue file as the socket drains: a
 * piece is read and dot-stuffed into the output whenever it falls below
 * BODY_LOW, up to BODY_HIGH, so a connection holds about BODY_HIGH bytes
 * of a message of any size, and no copy of the whole message is made.
 * On a bare socket (no TLS) commands and body go straight to the socket
 * while nothing waits in the output (write_out): the loop watches for
 * writability only once the socket's buffer is full.
 */
#include "deliver/smtp_client.h"
#include "deliver/target.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>

#include "tls/tls.h"
#include "util/log.h"
#include "util/log_event.h"
#include "util/xalloc.h"

#define READ_MAX (64 * 1024)	/* reply bytes taken from the socket at once */
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

static void start_target(struct smtp_out *c);

static void
arm(struct smtp_out *c, unsigned ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	evtimer_add(c->tmo, &tv);
}

/* The timeout of the reply the state waits for (RFC 5321 4.5.3.2). */
static unsigned
state_timeout_ms(const struct smtp_out *c)
{
	const struct config *cfg = c->conf->cfg;

	switch (c->sm.state) {
	case SMTPC_GREETING:
		return cfg->greeting_timeout_ms;
	case SMTPC_MAIL:
		return cfg->mail_timeout_ms;
	case SMTPC_RCPT:
		return cfg->rcpt_timeout_ms;
	case SMTPC_DATA:
		return cfg->data_timeout_ms;
	case SMTPC_BODY:
		return cfg->data_block_timeout_ms;
	case SMTPC_DOT:
		return cfg->data_done_timeout_ms;
	default:
		return cfg->helo_timeout_ms;
	}
}

static void
kick(struct smtp_out *c)
{
	event_active(c->kick, EV_TIMEOUT, 0);
}

static void
drop_bev(struct smtp_out *c)
{
	if (c->bev != NULL) {
		bufferevent_free(c->bev);
		c->bev = NULL;
	}
	evtimer_del(c->tmo);
	c->is_handshaking = 0;
	c->is_body = 0;
	c->body = NULL;
	free(c->pend);
	c->pend = NULL;
	c->is_connected = 0;
	c->is_bare = 0;
}

/* The session cannot go on. Before a first message: the next host; after: the end. */
static void
session_failed(struct smtp_out *c, const char *why)
{
	if (c->sm.state == SMTPC_QUIT) {
		drop_bev(c);
		c->why[0] = '\0';
		c->pend_closed = 1;
		kick(c);
		return;
	}
	snprintf(c->why, sizeof(c->why), "%s: %s", c->relay, why);
	log_ev_connect_out(c->id, c->relay, why);
	drop_bev(c);
	smtpc_lost(&c->sm);	/* what had no final reply gets none */
	if (c->txn != NULL) {
		snprintf(c->sent_why, sizeof(c->sent_why), "%s", c->why);
		c->pend_sent = 1;
	}
	c->sm.state = SMTPC_FAILED;
	if (!c->is_ready_once && c->cur + 1 < c->ntargets) {
		c->cur++;
		c->is_tls_off = 0;
		start_target(c);
		return;
	}
	c->pend_closed = 1;
	kick(c);
}

/*
 * Writes n bytes after what waits in the output; on a connected bare socket
 * with nothing waiting, at once (no epoll_ctl on, wake-up, epoll_ctl off per
 * write). What does not go, or fails, goes to the output, which the
 * bufferevent sends in order or reports the error of.
 */
static void
write_out(struct smtp_out *c, const void *p, size_t n)
{
	size_t sent = 0;

	if (c->is_bare && c->is_connected &&
	    evbuffer_get_length(bufferevent_get_output(c->bev)) == 0) {
		ssize_t r = send(bufferevent_getfd(c->bev), p, n, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (r > 0)
			sent = (size_t)r;
	}
	if (sent < n)
		bufferevent_write(c->bev, (const uint8_t *)p + sent, n - sent);
}

static void
flush_out(struct smtp_out *c)
{
	if (c->out.len > 0 && c->bev != NULL) {
		write_out(c, c->out.data, c->out.len);
		buf_reset(&c->out);
	}
}

static void start_tls(struct smtp_out *c);

/* Appends the n content bytes at p to out, dot-stuffed (RFC 5321 4.5.2). */
static void
add_stuffed(struct evbuffer *out, const uint8_t *p, size_t n, int *is_bol)
{
	struct evbuffer_iovec v;
	int r;

	/* stuffing at most doubles the bytes: one extent that large, written in place */
	r = evbuffer_reserve_space(out, (ev_ssize_t)(2 * n), &v, 1);
	ASSERT(r == 1);
	v.iov_len = smtpc_dotstuff(p, n, is_bol, v.iov_base);
	r = evbuffer_commit_space(out, &v, 1);
	ASSERT(r == 0);
}

/* The whole body is out: now the wait for the reply to the dot. */
static void
body_out(struct smtp_out *c)
{
	c->is_body = 0;
	bufferevent_set_timeouts(c->bev, NULL, NULL);
	arm(c, c->conf->cfg->data_done_timeout_ms);
}

/*
 * Tops the output up with the body, read from the stream, until BODY_HIGH
 * bytes wait or the content ends: then the CRLF a content without a final
 * line end lacks, and the final dot. Pieces are stuffed into c->pend (held
 * while the body is read, so that an idle connection holds none) and
 * written several at a time; one too large for it (an F record's header
 * section) is stuffed into the output. A queue file that cannot be read
 * ends the session before the dot, so the peer delivers nothing of it.
 */
static void
fill_body(struct smtp_out *c)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);
	struct slice p;
	size_t have = 0;
	uint8_t *pend;
	int r;

	if (c->pend == NULL)
		c->pend = xmalloc(BODY_PENDING);
	pend = c->pend;
	while (c->body != NULL && evbuffer_get_length(out) < BODY_HIGH) {
		if ((r = spool_content_next(c->body, &p)) == 1) {
			/* stuffing at most doubles a piece */
			if (have > 0 && have + 2 * p.len > BODY_PENDING) {
				write_out(c, pend, have);
				have = 0;
			}
			if (2 * p.len <= BODY_PENDING)
				have += smtpc_dotstuff(p.p, p.len, &c->is_body_bol, pend + have);
			else
				add_stuffed(out, p.p, p.len, &c->is_body_bol);
			continue;
		}
		if (r == -1) {
			char why[128];

			snprintf(why, sizeof(why), "cannot read the queue file: %s",
			    strerror(errno));
			session_failed(c, why);
			return;
		}
		if (have + 5 > BODY_PENDING) {
			write_out(c, pend, have);
			have = 0;
		}
		if (!c->is_body_bol) {
			memcpy(pend + have, "\r\n", 2);
			have += 2;
		}
		memcpy(pend + have, ".\r\n", 3);
		have += 3;
		c->body = NULL;
		smtpc_body_sent(&c->sm);
	}
	if (have > 0)
		write_out(c, pend, have);
	if (c->body == NULL) {
		free(c->pend);
		c->pend = NULL;
	}
	/* all of it went straight to the socket: no write callback will say so */
	if (c->body == NULL && c->is_body && evbuffer_get_length(out) == 0)
		body_out(c);
}

static void
apply(struct smtp_out *c, const struct smtpc_action *act)
{
	if (act->is_closed) {
		session_failed(c, NULL);	/* in SMTPC_QUIT: a quiet end */
		return;
	}
	if (act->is_failed) {
		flush_out(c);
		session_failed(c, act->why);
		return;
	}
	flush_out(c);
	if (act->is_txn_done) {
		c->sent_why[0] = '\0';
		c->pend_sent = 1;
	}
	if (act->want_body) {
		struct timeval block = { c->conf->cfg->data_block_timeout_ms / 1000,
			(c->conf->cfg->data_block_timeout_ms % 1000) * 1000 };

		/* RFC 5321 4.5.3.2.5: the data block timeout counts from the last progress */
		c->is_body = 1;
		c->is_body_bol = 1;
		evtimer_del(c->tmo);
		bufferevent_set_timeouts(c->bev, NULL, &block);
		fill_body(c);
		return;		/* the session may have failed; nothing else is asked with a body */
	} else if (act->is_ready) {
		c->is_ready_once = 1;
		c->pend_ready = 1;
		evtimer_del(c->tmo);	/* idle: the owner's idle timer takes over */
	} else {
		arm(c, state_timeout_ms(c));
	}
	if (act->want_tls)
		start_tls(c);
	if (c->pend_sent || c->pend_ready)
		kick(c);
}

/*
 * A 4xx or 5xx while the body is still being sent: the peer gave up on the
 * message before its end (RFC 5321 4.1.1.4 has it wait for the dot, but a
 * server may refuse a message too big as soon as it knows). The reply is
 * the message's, as it would have been after the dot; the session, out of
 * step now, ends there.
 */
static void
early_reply(struct smtp_out *c, const struct smtpc_reply *r)
{
	struct smtpc_action act;

	c->body = NULL;
	smtpc_body_sent(&c->sm);
	smtpc_input(&c->sm, r, &act);
	session_failed(c, "reply before the end of the message");
}

static void
on_read(struct bufferevent *bev, void *arg)
{
	struct smtp_out *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);

	while (c->bev == bev && evbuffer_get_length(in) > 0) {
		size_t len = evbuffer_get_length(in), used = 0;
		const uint8_t *p;
		struct smtpc_reply r;
		struct smtpc_action act;
		enum smtpc_parse pr;

		if (len > READ_MAX)
			len = READ_MAX;
		p = evbuffer_pullup(in, (ssize_t)len);
		pr = smtpc_reader_feed(&c->rd, p, len, &used, &r);
		evbuffer_drain(in, used);
		if (pr == SMTPC_PARSE_MORE)
			break;
		if (pr == SMTPC_PARSE_BAD) {
			session_failed(c, "malformed reply");
			return;
		}
		if (c->sm.state == SMTPC_BODY && r.code >= 400) {
			early_reply(c, &r);
			return;
		}
		if (c->sm.state == SMTPC_READY || c->sm.state == SMTPC_BODY ||
		    c->sm.state == SMTPC_TLS) {
			/* a reply nobody asked for: the peer is out of step (RFC 2920 3.2) */
			session_failed(c, "reply out of turn");
			return;
		}
		smtpc_input(&c->sm, &r, &act);
		apply(c, &act);
	}
}

static void
on_write(struct bufferevent *bev, void *arg)
{
	struct smtp_out *c = arg;

	if (bev != c->bev || !c->is_body)
		return;
	if (c->body != NULL) {
		fill_body(c);
		return;
	}
	if (evbuffer_get_length(bufferevent_get_output(bev)) > 0)
		return;
	body_out(c);
}

static void
tls_error(struct bufferevent *bev, char *out, size_t size)
{
	unsigned long e = bufferevent_get_openssl_error(bev);

	if (e != 0)
		ERR_error_string_n(e, out, size);
	else
		snprintf(out, size, "%s", errno ? strerror(errno) : "connection closed");
}

/*
 * The TLS handshake failed (why: OpenSSL's reason, or a timeout). Opportunistic
 * TLS (RFC 7435) tries this host once more in the clear, whatever broke the
 * handshake; where TLS is required (encrypt, verify) the host has failed.
 */
static void
handshake_failed(struct smtp_out *c, const char *why)
{
	if (c->proto.is_tls_required) {
		char reason[640];

		snprintf(reason, sizeof(reason), "TLS handshake failed (%s)", why);
		session_failed(c, reason);
		return;
	}
	log_note(LOG_WARN, c->id, "TLS handshake with %s failed (%s); retrying without TLS",
	    c->relay, why);
	drop_bev(c);
	c->is_tls_off = 1;
	start_target(c);
}

static void
on_event(struct bufferevent *bev, short what, void *arg)
{
	struct smtp_out *c = arg;
	char why[512];

	if (bev != c->bev)
		return;
	if (what & BEV_EVENT_CONNECTED) {
		if (c->is_handshaking) {
			SSL *ssl = bufferevent_openssl_get_ssl(bev);

			c->is_handshaking = 0;
			c->is_verified = tls_client_is_verified(ssl);
			snprintf(c->tls_version, sizeof(c->tls_version), "%s", SSL_get_version(ssl));
			snprintf(c->tls_cipher, sizeof(c->tls_cipher), "%s", SSL_get_cipher_name(ssl));
			smtpc_tls_ready(&c->sm);
			flush_out(c);
			arm(c, state_timeout_ms(c));
		} else {
			c->is_connected = 1;
			log_ev_connect_out(c->id, c->relay, NULL);
			arm(c, state_timeout_ms(c));
		}
		return;
	}
	if (c->is_handshaking) {
		const char *bad = tls_client_verify_error(bufferevent_openssl_get_ssl(bev));

		if (bad == NULL) {
			tls_error(bev, why, sizeof(why));
			handshake_failed(c, why);
			return;
		}
		/*
		 * verify (so TLS is required: no retry in the clear): what was wrong
		 * with the certificate, short enough to survive the event lines'
		 * cut, and in full here
		 */
		log_note(LOG_WARN, c->id, "the certificate of %s is not verified (%s): nothing "
		    "sent, the messages wait", c->relay, bad);
		snprintf(why, sizeof(why), "certificate not verified: %s", bad);
		session_failed(c, why);
		return;
	}
	if (what & BEV_EVENT_TIMEOUT) {
		session_failed(c, "timeout while sending the message");
		return;
	}
	if (what & BEV_EVENT_EOF) {
		session_failed(c, c->sm.state == SMTPC_GREETING ? "connection closed before "
		    "the greeting" : "connection closed by the server");
		return;
	}
	snprintf(why, sizeof(why), "%s", strerror(EVUTIL_SOCKET_ERROR() ?
	    EVUTIL_SOCKET_ERROR() : ECONNRESET));
	session_failed(c, why);
}

static void
on_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct smtp_out *c = arg;
	char why[64];

	(void)fd, (void)what;
	if (c->is_handshaking) {
		/* a peer that never answers the ClientHello is as broken as one that garbles it */
		handshake_failed(c, "timeout");
		return;
	}
	if (!c->is_connected)
		snprintf(why, sizeof(why), "connection timed out");
	else
		snprintf(why, sizeof(why), "timeout in state %s", smtpc_state_name(c->sm.state));
	session_failed(c, why);
}

static void
start_tls(struct smtp_out *c)
{
	SSL *ssl = SSL_new(c->conf->ssl_ctx);
	struct bufferevent *f;
	struct in6_addr a6;
	struct in_addr a4;
	const char *host = c->targets[c->cur].host;

	/* RFC 3207 5 / SECURITY.md 6: nothing read before the handshake may count after it */
	evbuffer_drain(bufferevent_get_input(c->bev), evbuffer_get_length(bufferevent_get_input(c->bev)));
	buf_reset(&c->rd.line);
	c->rd.nlines = 0;
	if (ssl == NULL) {
		session_failed(c, "cannot start TLS");
		return;
	}
	if (inet_pton(AF_INET, host, &a4) != 1 && inet_pton(AF_INET6, host, &a6) != 1)
		SSL_set_tlsext_host_name(ssl, host);
	/*
	 * verify: the name is the host connected to, the next hop's or the MX
	 * host's (whose name came from DNS: DNSSEC or DANE would be needed to
	 * trust that too). A failure ends the handshake before any command.
	 */
	if (c->tls == CONFIG_TLS_VERIFY && tls_client_verify_peer(ssl, host) == -1) {
		SSL_free(ssl);
		session_failed(c, "cannot start TLS: cannot set the name to verify");
		return;
	}
	f = bufferevent_openssl_filter_new(c->base, c->bev, ssl, BUFFEREVENT_SSL_CONNECTING,
	    BEV_OPT_CLOSE_ON_FREE);
	if (f == NULL) {
		SSL_free(ssl);
		session_failed(c, "cannot start TLS");
		return;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(f, 1);
	bufferevent_setwatermark(f, EV_WRITE, BODY_LOW, BODY_HIGH);
	c->bev = f;
	c->is_bare = 0;
	c->is_handshaking = 1;
	bufferevent_setcb(f, on_read, on_write, on_event, c);
	bufferevent_enable(f, EV_READ | EV_WRITE);
	arm(c, c->conf->cfg->helo_timeout_ms);
}

static void
start_target(struct smtp_out *c)
{
	const struct dns_target *t = &c->targets[c->cur];
	int fd;

	c->proto = c->conf->proto;
	c->tls = c->conf->tls;
	c->is_verified = 0;
	c->tls_version[0] = c->tls_cipher[0] = '\0';
	/* only may gets here with is_tls_off: required TLS fails the host instead */
	if (c->is_tls_off || c->conf->ssl_ctx == NULL)
		c->proto.is_tls_allowed = 0;
	if (t->sa.ss_family == AF_UNIX) {
		/* the socket never leaves this machine: TLS would protect nothing there */
		c->proto.is_tls_allowed = 0;
		c->proto.is_tls_required = 0;
		c->tls = CONFIG_TLS_NONE;
	}
	buf_reset(&c->out);
	smtpc_reader_clear(&c->rd);
	smtpc_reader_init(&c->rd);
	smtpc_init(&c->sm, &c->proto, &c->out);
	target_name(&c->targets[c->cur], c->relay, sizeof(c->relay));
	fd = socket(t->sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1 || target_bind_source(fd, t->sa.ss_family, c->conf->source_address) == -1) {
		char why[128];

		snprintf(why, sizeof(why), "socket: %s", strerror(errno));
		if (fd != -1)
			close(fd);
		session_failed(c, why);
		return;
	}
	c->bev = bufferevent_socket_new(c->base, fd, BEV_OPT_CLOSE_ON_FREE);
	ASSERT(c->bev != NULL);
	c->is_bare = 1;
	bufferevent_setcb(c->bev, on_read, on_write, on_event, c);
	bufferevent_setwatermark(c->bev, EV_READ, 0, READ_MAX);
	bufferevent_setwatermark(c->bev, EV_WRITE, BODY_LOW, BODY_HIGH);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	arm(c, c->conf->cfg->connect_timeout_ms);
	if (bufferevent_socket_connect(c->bev, (struct sockaddr *)&t->sa, (int)t->sa_len) == -1) {
		char why[128];

		snprintf(why, sizeof(why), "connect: %s", strerror(errno ? errno : ECONNREFUSED));
		session_failed(c, why);
	}
}

static void
free_client(struct smtp_out *c)
{
	drop_bev(c);
	event_free(c->tmo);
	event_free(c->kick);
	smtpc_reader_clear(&c->rd);
	buf_clear(&c->out);
	free(c->targets);
	free(c);
}

static void
on_kick(evutil_socket_t fd, short what, void *arg)
{
	struct smtp_out *c = arg;

	(void)fd, (void)what;
	if (c->pend_sent) {
		struct smtpc_txn *t = c->txn;

		c->pend_sent = 0;
		c->txn = NULL;
		c->ops->sent(c->ctx, c, t, c->sent_why[0] ? c->sent_why : NULL);
	}
	if (c->pend_ready && !c->pend_closed) {
		c->pend_ready = 0;
		c->ops->ready(c->ctx, c);
	}
	if (c->pend_closed) {
		c->ops->closed(c->ctx, c, c->why[0] ? c->why : NULL);
		free_client(c);
	}
}

struct smtp_out *
smtp_out_new(struct event_base *base, const struct smtp_out_conf *conf,
    const struct dns_target *targets, size_t n, const struct smtp_out_ops *ops, void *ctx,
    const char *id)
{
	struct smtp_out *c = xcalloc(1, sizeof(*c));

	ASSERT(n > 0);
	c->base = base;
	c->conf = conf;
	c->ops = ops;
	c->ctx = ctx;
	snprintf(c->id, sizeof(c->id), "%s", id);
	c->targets = xmalloc(n * sizeof(*targets));
	memcpy(c->targets, targets, n * sizeof(*targets));
	c->ntargets = n;
	/* a command line is bounded by its address (RFC 5321 4.5.3.1) and AUTH's base64 */
	buf_init(&c->out, 64 * 1024);
	smtpc_reader_init(&c->rd);
	c->tmo = evtimer_new(base, on_timeout, c);
	c->kick = event_new(base, -1, 0, on_kick, c);
	ASSERT(c->tmo != NULL && c->kick != NULL);
	start_target(c);
	return c;
}

void
smtp_out_send(struct smtp_out *c, struct smtpc_txn *t, struct spool_content *body)
{
	struct smtpc_action act;

	ASSERT(c->sm.state == SMTPC_READY && c->txn == NULL && c->bev != NULL);
	c->txn = t;
	smtpc_begin(&c->sm, t, &act);
	if (act.is_txn_done) {
		/* refused here (SIZE, SMTPUTF8): nothing was sent, the session stays ready */
		c->sent_why[0] = '\0';
		c->pend_sent = 1;
		c->pend_ready = 1;
		kick(c);
		return;
	}
	flush_out(c);
	arm(c, state_timeout_ms(c));
	c->body = body;
}

void
smtp_out_quit(struct smtp_out *c)
{
	ASSERT(c->sm.state == SMTPC_READY && c->bev != NULL);
	smtpc_quit(&c->sm);
	flush_out(c);
	arm(c, c->conf->cfg->helo_timeout_ms);
}

void
smtp_out_free(struct smtp_out **cp)
{
	if (*cp == NULL)
		return;
	free_client(*cp);
	*cp = NULL;
}

const char *
smtp_out_relay(const struct smtp_out *c)
{
	return c->relay;
}

const char *
smtp_out_host(const struct smtp_out *c)
{
	return c->targets[c->cur].host;
}

unsigned
smtp_out_messages(const struct smtp_out *c)
{
	return c->sm.messages;
}

int
smtp_out_is_tls(const struct smtp_out *c)
{
	return c->sm.is_tls;
}

const char *
smtp_out_tls_version(const struct smtp_out *c)
{
	return c->sm.is_tls ? c->tls_version : NULL;
}

const char *
smtp_out_tls_cipher(const struct smtp_out *c)
{
	return c->sm.is_tls ? c->tls_cipher : NULL;
}

enum config_tls
smtp_out_tls_policy(const struct smtp_out *c)
{
	return c->tls;
}

int
smtp_out_is_verified(const struct smtp_out *c)
{
	return c->sm.is_tls && c->is_verified;
}
