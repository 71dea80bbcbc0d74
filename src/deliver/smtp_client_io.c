/*
 * smtp_client_io.c - the bytes of one outbound connection: replies read
 * and handed to the protocol (smtpc.c), commands and the body written.
 * A bare socket (no TLS) is read by the connection itself, one read(2) per
 * wake-up; a TLS session by its OpenSSL bufferevent.
 * The content is streamed from the queue file as the socket drains: a
 * piece is read and dot-stuffed into the output whenever it falls below
 * BODY_LOW, up to BODY_HIGH, so a connection holds about BODY_HIGH bytes
 * of a message of any size, and no copy of the whole message is made.
 * On a bare socket commands and body go straight to the socket while
 * nothing waits in the output (write_out): the loop watches for
 * writability only once the socket's buffer is full.
 */
#include "deliver/smtp_client_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "util/xalloc.h"

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

void
out_flush(struct smtp_out *c)
{
	if (c->out.len > 0 && c->bev != NULL) {
		write_out(c, c->out.data, c->out.len);
		buf_reset(&c->out);
	}
}

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
	out_arm(c, c->conf->cfg->data_done_timeout_ms);
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
			out_failed(c, why);
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
		out_failed(c, NULL);	/* in SMTPC_QUIT: a quiet end */
		return;
	}
	if (act->is_failed) {
		out_flush(c);
		out_failed(c, act->why);
		return;
	}
	out_flush(c);
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
		out_arm(c, out_state_timeout_ms(c));
	}
	if (act->want_tls)
		out_start_tls(c);
	if (c->pend_sent || c->pend_ready)
		out_kick(c);
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
	out_failed(c, "reply before the end of the message");
}

/*
 * One reply, parsed (pr and r, as smtpc_reader_feed gave them), acted on.
 * The caller stops feeding replies once c->bev is not the one they were
 * read from (c->bev_gen moved, which a new bufferevent at the old one's
 * address cannot hide): the session failed, perhaps on to the next host,
 * or TLS started, and nothing read before the handshake may count after
 * it (RFC 3207 5).
 */
static void
on_reply(struct smtp_out *c, enum smtpc_parse pr, const struct smtpc_reply *r)
{
	struct smtpc_action act;

	if (pr == SMTPC_PARSE_BAD) {
		out_failed(c, "malformed reply");
		return;
	}
	if (c->sm.state == SMTPC_BODY && r->code >= 400) {
		early_reply(c, r);
		return;
	}
	if (c->sm.state == SMTPC_READY || c->sm.state == SMTPC_BODY ||
	    c->sm.state == SMTPC_TLS) {
		/* a reply nobody asked for: the peer is out of step (RFC 2920 3.2) */
		out_failed(c, "reply out of turn");
		return;
	}
	smtpc_input(&c->sm, r, &act);
	apply(c, &act);
}

/*
 * Feeds the n reply bytes at in to the session, reply by reply, until they
 * are used or the session's connection is no longer the one they came
 * from. The reader keeps a reply's first part until its end comes, so the
 * bytes need no buffer beyond the caller's.
 */
static void
take_replies(struct smtp_out *c, const uint8_t *in, size_t n)
{
	unsigned gen = c->bev_gen;
	size_t off = 0;

	while (c->bev_gen == gen && off < n) {
		size_t used = 0;
		struct smtpc_reply r;
		enum smtpc_parse pr = smtpc_reader_feed(&c->rd, in + off, n - off, &used, &r);

		off += used;
		if (pr == SMTPC_PARSE_MORE)
			break;
		on_reply(c, pr, &r);
	}
}

/*
 * A TLS session's replies, from its bufferevent's input: taken out a piece
 * at a time before they are acted on, so that a session that ends frees
 * nothing they are read from.
 */
void
out_on_read(struct bufferevent *bev, void *arg)
{
	struct smtp_out *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	unsigned gen = c->bev_gen;
	uint8_t piece[REPLY_READ];
	int n;

	if (bev != c->bev)
		return;
	while (c->bev_gen == gen && (n = evbuffer_remove(in, piece, sizeof(piece))) > 0)
		take_replies(c, piece, (size_t)n);
}

/*
 * A bare socket's replies, read here rather than by its bufferevent
 * (libevent 2.1 asks the socket how much it holds before each read: an
 * ioctl per reply, as conn_read.c says of receiving); timeouts are
 * c->tmo's, as they were.
 */
static void
on_readable(evutil_socket_t fd, short what, void *arg)
{
	struct smtp_out *c = arg;
	uint8_t in[REPLY_READ];
	ssize_t n;

	(void)what;
	n = read(fd, in, sizeof(in));
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		out_lost(c, n == 0 ? 0 : errno);
		return;
	}
	take_replies(c, in, (size_t)n);
}

void
out_read_start(struct smtp_out *c)
{
	ASSERT(c->is_bare && c->rd_ev == NULL);
	c->rd_ev = event_new(c->base, bufferevent_getfd(c->bev), EV_READ | EV_PERSIST,
	    on_readable, c);
	ASSERT(c->rd_ev != NULL);
	event_add(c->rd_ev, NULL);
}

void
out_read_stop(struct smtp_out *c)
{
	if (c->rd_ev == NULL)
		return;
	event_free(c->rd_ev);	/* also from its own callback: libevent allows that */
	c->rd_ev = NULL;
}

void
out_on_write(struct bufferevent *bev, void *arg)
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