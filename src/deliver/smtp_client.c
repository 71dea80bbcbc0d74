/*
 * smtp_client.c - one outbound SMTP connection's life: its targets tried
 * in turn, connect, STARTTLS, timeouts, and the owner's callbacks, around
 * the pure protocol of smtpc.c; its bytes are smtp_client_io.c's.
 * Callbacks to the owner always run from a deferred event, never inside a
 * call the owner made, so the owner may call back in (send, quit) without
 * surprises.
 * Timeouts are RFC 5321 4.5.3.2's, one per state, from the configuration;
 * while the body is being written, the data block timeout counts from the
 * last progress. A target may be a UNIX socket (an LMTP server on this
 * machine): the same session, in the clear.
 */
#include "deliver/smtp_client_int.h"
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
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>

#include "tls/tls.h"
#include "util/log.h"
#include "util/log_event.h"
#include "util/xalloc.h"

static void start_target(struct smtp_out *c);

void
out_arm(struct smtp_out *c, unsigned ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	evtimer_add(c->tmo, &tv);
}

/* The timeout of the reply the state waits for (RFC 5321 4.5.3.2). */
unsigned
out_state_timeout_ms(const struct smtp_out *c)
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

void
out_kick(struct smtp_out *c)
{
	event_active(c->kick, EV_TIMEOUT, 0);
}

static void
drop_bev(struct smtp_out *c)
{
	out_read_stop(c);
	if (c->bev != NULL) {
		bufferevent_free(c->bev);
		c->bev = NULL;
		c->bev_gen++;
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
void
out_failed(struct smtp_out *c, const char *why)
{
	if (c->sm.state == SMTPC_QUIT) {
		drop_bev(c);
		c->why[0] = '\0';
		c->pend_closed = 1;
		out_kick(c);
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
	out_kick(c);
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
		out_failed(c, reason);
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
			out_flush(c);
			out_arm(c, out_state_timeout_ms(c));
		} else {
			c->is_connected = 1;
			log_ev_connect_out(c->id, c->relay, NULL);
			out_read_start(c);
			out_arm(c, out_state_timeout_ms(c));
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
		out_failed(c, why);
		return;
	}
	if (what & BEV_EVENT_TIMEOUT) {
		out_failed(c, "timeout while sending the message");
		return;
	}
	if (what & BEV_EVENT_EOF)
		out_lost(c, 0);
	else
		out_lost(c, EVUTIL_SOCKET_ERROR() ? EVUTIL_SOCKET_ERROR() : ECONNRESET);
}

void
out_lost(struct smtp_out *c, int err)
{
	if (err == 0) {
		out_failed(c, c->sm.state == SMTPC_GREETING ? "connection closed before "
		    "the greeting" : "connection closed by the server");
		return;
	}
	out_failed(c, strerror(err));
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
	out_failed(c, why);
}

void
out_start_tls(struct smtp_out *c)
{
	SSL *ssl = SSL_new(c->conf->ssl_ctx);
	struct bufferevent *f;
	struct in6_addr a6;
	struct in_addr a4;
	const char *host = c->targets[c->cur].host;

	/* RFC 3207 5 / SECURITY.md 6: nothing read before the handshake may count after it */
	out_read_stop(c);
	evbuffer_drain(bufferevent_get_input(c->bev), evbuffer_get_length(bufferevent_get_input(c->bev)));
	buf_reset(&c->rd.line);
	c->rd.nlines = 0;
	if (ssl == NULL) {
		out_failed(c, "cannot start TLS");
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
		out_failed(c, "cannot start TLS: cannot set the name to verify");
		return;
	}
	f = bufferevent_openssl_filter_new(c->base, c->bev, ssl, BUFFEREVENT_SSL_CONNECTING,
	    BEV_OPT_CLOSE_ON_FREE);
	if (f == NULL) {
		SSL_free(ssl);
		out_failed(c, "cannot start TLS");
		return;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(f, 1);
	bufferevent_setwatermark(f, EV_WRITE, BODY_LOW, BODY_HIGH);
	c->bev = f;
	c->bev_gen++;
	c->is_bare = 0;
	c->is_handshaking = 1;
	bufferevent_setcb(f, out_on_read, out_on_write, on_event, c);
	bufferevent_enable(f, EV_READ | EV_WRITE);
	out_arm(c, c->conf->cfg->helo_timeout_ms);
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
		out_failed(c, why);
		return;
	}
	c->bev = bufferevent_socket_new(c->base, fd, BEV_OPT_CLOSE_ON_FREE);
	ASSERT(c->bev != NULL);
	c->is_bare = 1;
	bufferevent_setcb(c->bev, out_on_read, out_on_write, on_event, c);
	bufferevent_setwatermark(c->bev, EV_WRITE, BODY_LOW, BODY_HIGH);
	/* writing for the connect; reading is c's own once connected (out_read_start) */
	bufferevent_enable(c->bev, EV_WRITE);
	out_arm(c, c->conf->cfg->connect_timeout_ms);
	if (bufferevent_socket_connect(c->bev, (struct sockaddr *)&t->sa, (int)t->sa_len) == -1) {
		char why[128];

		snprintf(why, sizeof(why), "connect: %s", strerror(errno ? errno : ECONNREFUSED));
		out_failed(c, why);
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
		out_kick(c);
		return;
	}
	out_flush(c);
	out_arm(c, out_state_timeout_ms(c));
	c->body = body;
}

void
smtp_out_quit(struct smtp_out *c)
{
	ASSERT(c->sm.state == SMTPC_READY && c->bev != NULL);
	smtpc_quit(&c->sm);
	out_flush(c);
	out_arm(c, c->conf->cfg->helo_timeout_ms);
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
