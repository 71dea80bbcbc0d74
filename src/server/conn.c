/*
 * conn.c - one SMTP connection: bytes in from a bufferevent, through the
 * command parser or the DATA reader, into the session; replies out.
 * Input is processed only while the session waits for it: during a commit
 * pipelined commands stay in the buffer, so replies keep their order
 * (RFC 2920). A connection that has to close is freed after its last reply
 * is written, never inside the session's call.
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

#include "policy/passwd.h"
#include "util/ascii.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/log_event.h"
#include "util/xalloc.h"

#define INPUT_HIGH_WATER (256 * 1024)	/* stop reading the socket past this much unprocessed input */
#define DATA_PIECE (16 * 1024)

enum mode {
	M_GREETING,	/* waiting out the listener's greeting delay */
	M_COMMAND,
	M_DATA,
	M_COMMIT,	/* the spool is making the message durable */
	M_AUTH,		/* a worker is checking a password */
	M_WAIT,		/* holding a reply back (a failed AUTH is answered late) */
	M_CLOSING,	/* last reply being written */
};

struct auth_job {
	struct work w;		/* first: the workq hands back &w */
	struct conn *c;		/* NULL once the connection is gone (shutdown) */
	const char *hash;	/* borrowed from the configuration; NULL for no such user */
	char pass[SASL_FIELD_MAX + 1];
	int is_ok;
};

struct conn {
	struct conn *next, *prev;
	struct server *srv;
	struct listener *l;
	struct bufferevent *bev;
	struct event *greet_ev;
	struct event *wait_ev;	/* M_WAIT's timer */
	unsigned wait_ms;	/* how long the next SMTP_ACT_WAIT holds the reply */
	struct auth_job *auth_job;	/* in M_AUTH */
	struct smtp_session *s;
	char id[24];
	char ip[INET6_ADDRSTRLEN];
	unsigned port;
	enum mode mode;
	int is_skipping_line;	/* dropping the rest of an overlong command line */
	int is_paused;		/* reading stopped until the spool catches up */
	int is_draining;	/* shutting down: close after the message in hand */
	struct dotdata dd;
	int is_scanning;	/* holding body bytes back until the header section is scanned */
	struct hdrscan scan;
	struct buf held;	/* those bytes */
	struct spool_txn *txn;
	struct spool_msg *msg;	/* the envelope of the message being received */
};

static void conn_process(struct conn *c);

struct conn *
conn_next(struct conn *c)
{
	return c->next;
}

static void
conn_free(struct conn *c)
{
	struct server *srv = c->srv;
	const struct smtp_session_stats *st = smtp_session_stats(c->s);

	log_ev_disconnect(c->id, st->commands, st->errors, st->messages, st->rcpts,
	    c->mode == M_CLOSING ? "closed" : "lost");
	if (c->prev)
		c->prev->next = c->next;
	else
		srv->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	srv->nconns--;
	spool_txn_abort(&c->txn);
	spool_msg_free(&c->msg);
	buf_clear(&c->held);
	if (c->greet_ev)
		event_free(c->greet_ev);
	if (c->wait_ev)
		event_free(c->wait_ev);
	/* only at shutdown: the worker finishes, and its done() finds no connection */
	if (c->auth_job != NULL)
		c->auth_job->c = NULL;
	if (c->bev)
		bufferevent_free(c->bev);
	smtp_session_free(&c->s);
	free(c);
}

/* Moves the session's replies to the socket. */
static void
send_output(struct conn *c)
{
	struct buf *out = smtp_session_output(c->s);

	if (out->len > 0 && c->bev != NULL)
		bufferevent_write(c->bev, out->data, out->len);
	buf_reset(out);
}

static void
close_after_write(struct conn *c)
{
	c->mode = M_CLOSING;
	spool_txn_abort(&c->txn);
	spool_msg_free(&c->msg);
	bufferevent_disable(c->bev, EV_READ);
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
		conn_free(c);
	/* else on_write frees it when the last reply is out */
}

static void auth_begin(struct conn *c);
static void wait_begin(struct conn *c);

/* Sends the output and does what the session asked; returns 0 to go on reading. */
static int
act(struct conn *c, enum smtp_act a)
{
	if (a == SMTP_ACT_WAIT) {
		wait_begin(c);
		return -1;
	}
	send_output(c);
	if (a == SMTP_ACT_CLOSE) {
		close_after_write(c);
		return -1;
	}
	if (a == SMTP_ACT_AUTH) {
		auth_begin(c);
		return -1;
	}
	return 0;
}

/* Back to reading commands after AUTH or a wait; what came meanwhile is in the buffer. */
static void
resume(struct conn *c)
{
	if (c->is_draining) {
		conn_drain(c);
		return;
	}
	conn_process(c);
}

/* ---- AUTH: the password check on a worker, the late 535 on a timer ---- */

static void
on_wait_timer(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	(void)fd, (void)what;
	c->mode = M_COMMAND;
	if (act(c, smtp_session_wait_over(c->s)) == -1)
		return;
	resume(c);
}

static void
wait_begin(struct conn *c)
{
	struct timeval tv = { c->wait_ms / 1000, (c->wait_ms % 1000) * 1000 };

	c->mode = M_WAIT;
	if (c->wait_ev == NULL)
		c->wait_ev = evtimer_new(c->srv->d.base, on_wait_timer, c);
	ASSERT(c->wait_ev != NULL);
	evtimer_add(c->wait_ev, &tv);
}

/* Runs on a worker thread: crypt is slow on purpose. */
static void
auth_run(struct work *w)
{
	struct auth_job *j = (struct auth_job *)w;

	j->is_ok = passwd_verify(j->hash, j->pass);
	explicit_bzero(j->pass, sizeof(j->pass));
}

static void
auth_job_free(struct auth_job *j)
{
	explicit_bzero(j, sizeof(*j));
	free(j);
}

/* Back on the loop thread with the verdict. */
static void
auth_done(struct work *w)
{
	struct auth_job *j = (struct auth_job *)w;
	struct conn *c = j->c;
	const struct sasl_creds *cr;
	const struct config *cfg;
	unsigned n, delay;
	int is_ok = j->is_ok;

	auth_job_free(j);
	if (c == NULL)
		return;
	c->auth_job = NULL;
	cfg = c->srv->d.cfg;
	cr = smtp_session_auth_creds(c->s);
	if (is_ok) {
		log_ev_auth(c->id, c->ip, smtp_session_auth_mech(c->s), cr->user, "ok", 0, 0);
		(void)smtp_session_auth_done(c->s, SMTP_AUTH_OK);
	} else {
		n = authlimit_fail(c->srv->authlimit, c->ip, (int64_t)(clock_wall_us() / 1000000u));
		delay = authlimit_delay_ms(cfg->auth_fail_delay_ms, n);
		log_ev_auth(c->id, c->ip, smtp_session_auth_mech(c->s), cr->user, "fail", n, delay);
		c->wait_ms = delay;
		(void)smtp_session_auth_done(c->s, SMTP_AUTH_BAD);
	}
	if (c->bev == NULL) {
		/* the client left while the worker checked */
		c->mode = M_CLOSING;
		conn_free(c);
		return;
	}
	c->mode = M_COMMAND;
	if (act(c, is_ok ? SMTP_ACT_NONE : SMTP_ACT_WAIT) == -1)
		return;
	resume(c);
}

static void
auth_begin(struct conn *c)
{
	const struct sasl_creds *cr = smtp_session_auth_creds(c->s);
	const struct config_user *u;
	struct auth_job *j;
	char name[SASL_FIELD_MAX + 1];

	if (!authlimit_allows(c->srv->authlimit, c->ip, (int64_t)(clock_wall_us() / 1000000u))) {
		/* refused without a check: a blocked guesser costs us no crypt */
		log_ev_auth(c->id, c->ip, smtp_session_auth_mech(c->s), cr->user, "blocked", 0, 0);
		if (act(c, smtp_session_auth_done(c->s, SMTP_AUTH_BLOCKED)) == 0)
			resume(c);
		return;
	}
	memcpy(name, cr->user, sizeof(name));
	ascii_lower(name);
	u = config_find_user(c->srv->d.cfg, name);
	j = xcalloc(1, sizeof(*j));
	j->w.run = auth_run;
	j->w.done = auth_done;
	j->c = c;
	j->hash = u != NULL ? u->hash : NULL;
	memcpy(j->pass, cr->pass, cr->pass_len);
	c->auth_job = j;
	c->mode = M_AUTH;
	workq_submit(c->srv->d.auth_wq, &j->w);
}

static void
on_spool_drain(void *ctx)
{
	struct conn *c = ctx;

	c->is_paused = 0;
	bufferevent_enable(c->bev, EV_READ);
	conn_process(c);
}

/*
 * Opens the spool file with its header prefix: Received, and for a
 * submission (authenticated) message Message-ID and Date when the scanned
 * header section lacks them. A header section that did not end within
 * HDRSCAN_MAX_BYTES is left as it is (a field beyond the bound might exist).
 * Then writes the bytes held back while scanning.
 */
static void
spool_begin(struct conn *c)
{
	struct buf hdr;

	buf_init(&hdr, 16 * 1024);
	/* a header that does not fit 16 KiB cannot happen: every part is bounded */
	(void)smtp_session_received(c->s, (int64_t)(c->msg->arrival_us / 1000000u), &hdr);
	if (c->is_scanning && !c->scan.is_truncated)
		(void)smtp_session_added_headers(c->s, (int64_t)(c->msg->arrival_us / 1000000u),
		    c->scan.seen, &hdr);
	c->txn = spool_txn_new(c->srv->d.spool, c->msg, hdr.data, hdr.len);
	spool_txn_set_drain_cb(c->txn, on_spool_drain, c);
	buf_clear(&hdr);
	c->is_scanning = 0;
	if (c->held.len > 0 && spool_txn_write(c->txn, c->held.data, c->held.len) == 1) {
		c->is_paused = 1;
		bufferevent_disable(c->bev, EV_READ);
	}
	buf_clear(&c->held);
}

/* Builds the spool envelope; the spool file opens now, or once the header section is scanned. */
static void
data_begin(struct conn *c)
{
	const struct smtp_txn *t = smtp_session_txn(c->s);
	struct spool_msg *m = xcalloc(1, sizeof(*m));

	memcpy(m->qid, t->qid, sizeof(m->qid));
	m->sender = xstrdup(t->sender);
	m->arrival_us = clock_wall_us();
	m->client_ip = xstrdup(c->ip);
	m->proto = xstrdup(smtp_session_proto(c->s));
	m->is_8bitmime = t->body == SMTP_BODY_8BITMIME;
	m->is_smtputf8 = t->is_smtputf8;
	m->rcpts = xcalloc(t->nrcpts, sizeof(*m->rcpts));
	m->nrcpts = t->nrcpts;
	for (size_t i = 0; i < t->nrcpts; i++) {
		m->rcpts[i].to = xstrdup(t->rcpts[i].to);
		m->rcpts[i].orig = xstrdup(t->rcpts[i].orig);
		m->rcpts[i].mailbox = t->rcpts[i].mailbox ? xstrdup(t->rcpts[i].mailbox) : NULL;
	}
	c->msg = m;
	dotdata_init(&c->dd, c->srv->d.cfg->max_text_line_bytes);
	c->mode = M_DATA;
	/*
	 * Whether Message-ID and Date must be added is known only at the end of
	 * the header section, and they go before the body: hold the body bytes
	 * back until then (at most HDRSCAN_MAX_BYTES; the header section usually
	 * ends within the first read).
	 */
	c->is_scanning = smtp_session_wants_header_scan(c->s);
	if (c->is_scanning) {
		hdrscan_init(&c->scan);
		buf_init(&c->held, HDRSCAN_MAX_BYTES + DATA_PIECE + DOTDATA_HELD_MAX);
		return;
	}
	spool_begin(c);
}

static void
on_committed(void *ctx, enum spool_result r)
{
	struct conn *c = ctx;
	enum smtp_commit cr = r == SPOOL_OK ? SMTP_COMMIT_OK :
	    r == SPOOL_ERR_NOSPACE ? SMTP_COMMIT_NOSPACE : SMTP_COMMIT_IOERR;
	const struct smtp_txn *t = smtp_session_txn(c->s);

	if (r == SPOOL_OK) {
		log_ev_received(c->msg->qid, c->id, c->msg->sender, c->msg->content_bytes,
		    (unsigned)c->msg->nrcpts, c->msg->proto);
		sched_add(c->srv->d.sched, c->msg);
		c->msg = NULL;
	} else {
		log_ev_reject(t ? t->qid : c->id, "DATA", "", cr == SMTP_COMMIT_NOSPACE ? 452 : 451,
		    cr == SMTP_COMMIT_NOSPACE ? "4.3.1" : "4.3.0", "queue file write error");
		spool_msg_free(&c->msg);
	}
	if (c->bev == NULL) {
		/* the client left while we flushed: the message stands, the connection goes */
		(void)smtp_session_committed(c->s, cr);
		c->mode = M_CLOSING;
		conn_free(c);
		return;
	}
	c->mode = M_COMMAND;
	if (act(c, smtp_session_committed(c->s, cr)) == -1)
		return;
	if (c->is_draining) {
		conn_drain(c);
		return;
	}
	conn_process(c);
}

/* Feeds message bytes to the DATA reader; returns 1 when the message ended. */
static int
data_input(struct conn *c, struct evbuffer *in)
{
	static uint8_t out[DATA_PIECE + DOTDATA_HELD_MAX];	/* loop thread only */
	uint64_t max = c->srv->d.cfg->max_message_bytes;

	while (evbuffer_get_length(in) > 0 && !c->is_paused) {
		size_t len = evbuffer_get_length(in), used, out_len;
		const uint8_t *p;
		int is_end = 0;

		if (len > DATA_PIECE)
			len = DATA_PIECE;
		p = evbuffer_pullup(in, (ssize_t)len);
		used = dotdata_feed(&c->dd, p, len, out, &out_len, &is_end);
		/* past the limit the rest is read and dropped: the reply comes at the end */
		if (c->is_scanning) {
			/* held bytes stay under HDRSCAN_MAX_BYTES + one piece: the scan stops by then */
			if (c->dd.body_bytes <= max && buf_append(&c->held, out, out_len) == -1)
				c->scan.is_done = c->scan.is_truncated = 1;
			if (hdrscan_feed(&c->scan, out, out_len))
				spool_begin(c);
		} else if (c->dd.body_bytes <= max && out_len > 0 &&
		    spool_txn_write(c->txn, out, out_len) == 1) {
			c->is_paused = 1;
			bufferevent_disable(c->bev, EV_READ);
		}
		evbuffer_drain(in, used);
		if (is_end)
			return 1;
	}
	return 0;
}

static void
data_end(struct conn *c)
{
	enum smtp_act a = smtp_session_data_end(c->s, c->dd.flags, c->dd.body_bytes);

	if (a == SMTP_ACT_COMMIT) {
		struct spool_txn *t;

		/* a message that ended inside its header section (or had no body) */
		if (c->is_scanning)
			spool_begin(c);
		t = c->txn;

		c->txn = NULL;
		c->mode = M_COMMIT;
		c->msg->content_bytes = c->dd.body_bytes;
		spool_txn_commit(t, on_committed, c);
		return;
	}
	spool_txn_abort(&c->txn);
	spool_msg_free(&c->msg);
	buf_clear(&c->held);
	c->is_scanning = 0;
	c->mode = M_COMMAND;
	(void)act(c, a);
}

/* Handles one command line; returns 0 to go on, -1 to stop processing. */
static int
command_input(struct conn *c, struct evbuffer *in)
{
	size_t max = c->srv->d.cfg->max_line_bytes, len = evbuffer_get_length(in), used = 0;
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
	if (r == SMTP_PARSE_TOO_LONG)
		c->is_skipping_line = 1;
	if (act(c, a) == -1)
		return -1;
	if (a == SMTP_ACT_DATA)
		data_begin(c);
	return 0;
}

static void
conn_process(struct conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);

	for (;;) {
		if (c->mode == M_COMMAND) {
			if (command_input(c, in) == -1)
				return;
		} else if (c->mode == M_DATA) {
			if (!data_input(c, in))
				return;
			data_end(c);
		} else {
			return;
		}
	}
}

static void
greet(struct conn *c, enum smtp_start how)
{
	c->mode = M_COMMAND;
	if (how == SMTP_START_EARLY_TALK)
		log_ev_refused(c->id, c->ip, "client spoke before the greeting");
	(void)act(c, smtp_session_start(c->s, how));
}

static void
on_read(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;

	(void)bev;
	if (c->mode == M_GREETING) {
		greet(c, SMTP_START_EARLY_TALK);
		return;
	}
	conn_process(c);
}

static void
on_write(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;

	(void)bev;
	if (c->mode == M_CLOSING)
		conn_free(c);
}

static void
on_event(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;

	(void)bev;
	if ((what & BEV_EVENT_TIMEOUT) && c->mode != M_CLOSING && c->mode != M_COMMIT &&
	    c->mode != M_AUTH) {
		if (c->wait_ev != NULL)
			evtimer_del(c->wait_ev);
		spool_txn_abort(&c->txn);
		spool_msg_free(&c->msg);
		send_output(c);
		if (c->mode == M_DATA)
			c->mode = M_COMMAND;
		(void)act(c, smtp_session_timeout(c->s));
		return;
	}
	/* EOF or error: the client is gone */
	if (c->mode == M_COMMIT || c->mode == M_AUTH) {
		/* the commit's callback still needs c: drop the socket now, c later */
		bufferevent_free(c->bev);
		c->bev = NULL;
		return;
	}
	conn_free(c);
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

void
conn_accept(struct listener *l, evutil_socket_t fd, const struct sockaddr *sa, int salen)
{
	struct server *srv = l->srv;
	const struct config *cfg = srv->d.cfg;
	struct conn *c = xcalloc(1, sizeof(*c));
	struct timeval idle = { cfg->idle_timeout_ms / 1000, (cfg->idle_timeout_ms % 1000) * 1000 };
	int is_busy = srv->nconns >= cfg->max_sessions;
	char peek, local_ip[INET6_ADDRSTRLEN];

	c->srv = srv;
	c->l = l;
	snprintf(c->id, sizeof(c->id), "c%lu", ++srv->next_conn_id);
	peer_name(sa, salen, c->ip, sizeof(c->ip), &c->port);
	local_name(fd, local_ip, sizeof(local_ip));
	c->bev = bufferevent_socket_new(srv->d.base, fd, BEV_OPT_CLOSE_ON_FREE);
	ASSERT(c->bev != NULL);
	c->s = smtp_session_new(&l->sconf, &srv->hooks, c->id, c->ip);
	smtp_session_set_client(c->s, local_ip, relay_is_trusted(cfg, c->ip));
	c->next = srv->conns;
	if (srv->conns)
		srv->conns->prev = c;
	srv->conns = c;
	srv->nconns++;
	log_ev_connect(c->id, c->ip, c->port, l->conf->name);
	bufferevent_setcb(c->bev, on_read, on_write, on_event, c);
	bufferevent_setwatermark(c->bev, EV_READ, 0, INPUT_HIGH_WATER);
	bufferevent_set_timeouts(c->bev, &idle, &idle);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	c->mode = M_GREETING;
	if (is_busy) {
		log_ev_refused(c->id, c->ip, "too many sessions");
		greet(c, SMTP_START_BUSY);
		return;
	}
	if (l->conf->greeting_delay_ms > 0) {
		struct timeval d = { l->conf->greeting_delay_ms / 1000,
			(l->conf->greeting_delay_ms % 1000) * 1000 };

		c->greet_ev = evtimer_new(srv->d.base, on_greet_timer, c);
		evtimer_add(c->greet_ev, &d);
		return;
	}
	/* bytes already waiting at accept were sent before any greeting could be */
	greet(c, recv(fd, &peek, 1, MSG_PEEK | MSG_DONTWAIT) == 1 ?
	    SMTP_START_EARLY_TALK : SMTP_START_GREET);
}

void
conn_drain(struct conn *c)
{
	c->is_draining = 1;
	if (c->mode == M_COMMAND || c->mode == M_GREETING) {
		struct buf *out = smtp_session_output(c->s);

		(void)smtp_reply(out, 421, "4.3.2", "%s Service shutting down", c->srv->d.cfg->hostname);
		send_output(c);
		close_after_write(c);
	}
	/* M_DATA, M_COMMIT, M_AUTH, M_WAIT: what is in hand finishes first */
}

void
conn_free_all(struct server *srv)
{
	while (srv->conns != NULL) {
		struct conn *c = srv->conns;

		if (c->mode == M_COMMIT) {
			/* cannot happen after the spool stopped; keep the invariant visible */
			log_warn("%s: freed while committing", c->id);
		}
		c->mode = M_CLOSING;
		conn_free(c);
	}
}
