/*
 * client.c - one connection to one milter filter (milter.h): a bufferevent
 * to the address of the configuration (a UNIX socket or a numeric address:
 * nothing a filter or DNS says can send it elsewhere), the packets read
 * with the bounded reader, the session fed, and the timeouts: connect
 * (connecting and negotiating), command (each step before the end of the
 * message), eom (the end of the message: its changes and verdict).
 *
 * A filter that is down, too slow or breaks the protocol is done with for
 * the rest of the connection: one milter_failed line, the socket closed,
 * and every step from then on answered with the default action, tempfail
 * (451 4.7.1) or accept (as if the filter were not there), like Postfix's
 * milter_default_action. Its answers never reach the SMTP client raw.
 * Between two connections' worth of steps a connection may be parked for
 * its pool (pool.c): idle after QUIT_NC, closed when the filter speaks,
 * closes, or the idle timeout passes.
 */
#include "milter/milter_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "util/log.h"
#include "util/log_event.h"
#include "util/xalloc.h"

#define OUT_MAX (MILTER_CHUNK + 64 * 1024)	/* one step: macros and a body chunk at most */
#define IN_HIGH (256 * 1024)			/* read no further ahead of the packets taken */

/* MC_IDLE: parked in a pool (pool.c) after QUIT_NC, between two connections' worth of steps */
enum mc_state { MC_CONNECTING, MC_NEGOTIATING, MC_READY, MC_BUSY, MC_IDLE, MC_DEAD };

/* A step asked before the filter was ready, its strings copied. */
struct pending {
	uint8_t cmd;			/* MILTER_CMD_*; 0 for none */
	char *a, *b;
	char family;
	uint16_t port;
	uint8_t *body;
	size_t n;
	milter_client_cb cb;
	void *ctx;
};

struct milter_client {
	struct event_base *base;
	const struct config_milter *conf;
	struct milter m;
	struct buf out;
	struct milter_reader rd;
	struct bufferevent *bev;
	struct event *timer;
	enum mc_state st;
	struct pending pending;
	milter_client_cb cb;		/* who hears the step in flight */
	void *ctx;
	uint8_t step;			/* the command in flight */
	int is_paused;
	int is_aborting;		/* the reply in flight is for a message given up: drop it */
	int depth;			/* inside a callback of ours */
	int is_freed;
	void (*gone)(void *arg, struct milter_client *mc);	/* MC_IDLE: hears that it ended */
	void *gone_arg;
	char log_id[40];
};

const char *
milter_client_name(const struct milter_client *mc)
{
	return mc->conf->name;
}

const struct config_milter *
milter_client_conf(const struct milter_client *mc)
{
	return mc->conf;
}

static void
set_log_id(struct milter_client *mc, const char *log_id)
{
	snprintf(mc->log_id, sizeof(mc->log_id), "%s", log_id);
}

void
milter_client_set_macro(struct milter_client *mc, const char *name, const char *value)
{
	milter_set_macro(&mc->m, name, value);
}

static void
pending_clear(struct pending *p)
{
	free(p->a);
	free(p->b);
	free(p->body);
	memset(p, 0, sizeof(*p));
}

static void
arm(struct milter_client *mc, unsigned ms)
{
	struct timeval tv = { ms / 1000, (long)(ms % 1000) * 1000 };

	evtimer_add(mc->timer, &tv);
}

/* The default action's answer. */
static void
default_answer(const struct milter_client *mc, struct milter_action *act)
{
	char rule[VERDICT_RULE_MAX + 1];

	memset(act, 0, sizeof(*act));
	act->kind = MILTER_ANSWER;
	if (mc->conf->is_default_accept) {
		verdict_accept(&act->v);
		return;
	}
	snprintf(rule, sizeof(rule), "milter:%s", mc->conf->name);
	verdict_set(&act->v, VERDICT_TEMPFAIL, 451, "4.7.1", rule,
	    "Service unavailable - try again later");
}

/* The filter is done with: why is logged once; its socket goes. */
static void
die(struct milter_client *mc, const char *why)
{
	if (mc->st == MC_DEAD)
		return;
	log_ev_milter_failed(mc->log_id, mc->conf->name, why, mc->conf->default_action);
	mc->st = MC_DEAD;
	evtimer_del(mc->timer);
	if (mc->bev != NULL) {
		bufferevent_free(mc->bev);
		mc->bev = NULL;
	}
	pending_clear(&mc->pending);
}

static void
flush(struct milter_client *mc)
{
	if (mc->out.len == 0 || mc->bev == NULL)
		return;
	if (bufferevent_write(mc->bev, mc->out.data, mc->out.len) == -1)
		die(mc, "cannot write to the filter");
	buf_reset(&mc->out);
}

static const char *
step_name(uint8_t cmd)
{
	switch (cmd) {
	case MILTER_CMD_OPTNEG: return "option negotiation";
	case MILTER_CMD_CONNECT: return "CONNECT";
	case MILTER_CMD_HELO: return "HELO";
	case MILTER_CMD_MAIL: return "MAIL";
	case MILTER_CMD_RCPT: return "RCPT";
	case MILTER_CMD_DATA: return "DATA";
	case MILTER_CMD_HEADER: return "a header field";
	case MILTER_CMD_EOH: return "the end of the header";
	case MILTER_CMD_BODY: return "a body chunk";
	case MILTER_CMD_BODYEOB: return "the end of the message";
	default: return "?";
	}
}

/* A MAIL or RCPT step's arguments, kept NUL after NUL in p->body, as an array. */
static size_t
split_args(const struct pending *p, const char *args[MILTER_MAX_ARGS])
{
	size_t n = 0, at = 0;

	while (at < p->n && n < MILTER_MAX_ARGS) {
		args[n++] = (const char *)p->body + at;
		at += strlen((const char *)p->body + at) + 1;
	}
	return n;
}

/* Runs step p on the session now; *act as a step function says. */
static void
run(struct milter_client *mc, const struct pending *p, struct milter_action *act)
{
	const char *args[MILTER_MAX_ARGS];

	switch (p->cmd) {
	case MILTER_CMD_CONNECT:
		milter_connect(&mc->m, p->a, p->family, p->port, p->b, act);
		break;
	case MILTER_CMD_HELO:
		milter_helo(&mc->m, p->a, act);
		break;
	case MILTER_CMD_MAIL:
		milter_mail(&mc->m, args, split_args(p, args), act);
		break;
	case MILTER_CMD_RCPT:
		milter_rcpt(&mc->m, args, split_args(p, args), act);
		break;
	case MILTER_CMD_DATA:
		milter_data(&mc->m, act);
		break;
	case MILTER_CMD_HEADER:
		milter_header(&mc->m, p->a, (struct slice){ p->body, p->n }, act);
		break;
	case MILTER_CMD_EOH:
		milter_eoh(&mc->m, act);
		break;
	case MILTER_CMD_BODY:
		milter_body(&mc->m, p->body, p->n, act);
		break;
	case MILTER_CMD_BODYEOB:
		milter_eom(&mc->m, act);
		break;
	default:
		ASSERT(!"a step");
	}
	flush(mc);
	if (mc->st == MC_DEAD) {
		default_answer(mc, act);
		return;
	}
	switch (act->kind) {
	case MILTER_WAIT:
		mc->st = MC_BUSY;
		mc->step = p->cmd;
		mc->cb = p->cb;
		mc->ctx = p->ctx;
		arm(mc, p->cmd == MILTER_CMD_BODYEOB ? mc->conf->eom_timeout_ms :
		    mc->conf->command_timeout_ms);
		break;
	case MILTER_FAIL:
		die(mc, act->why);
		default_answer(mc, act);
		break;
	default:
		break;
	}
}

/* Asks step p: now (1, *now), when connected, or through its callback. */
static int
ask(struct milter_client *mc, struct pending *p, struct milter_action *now)
{
	ASSERT((mc->st != MC_BUSY || mc->is_aborting) && mc->pending.cmd == 0);
	if (mc->st == MC_DEAD) {
		pending_clear(p);
		default_answer(mc, now);
		return 1;
	}
	if (mc->st != MC_READY) {
		mc->pending = *p;	/* taken */
		return 0;
	}
	run(mc, p, now);
	pending_clear(p);
	return now->kind != MILTER_WAIT;
}

/* The answer to the step in flight, to its asker; 1 if mc was freed meanwhile. */
static int
tell(struct milter_client *mc, milter_client_cb cb, void *ctx, const struct milter_action *act)
{
	int is_freed;

	mc->depth++;
	if (cb != NULL)
		cb(ctx, act);
	mc->depth--;
	is_freed = mc->is_freed;
	if (is_freed && mc->depth == 0) {
		mc->is_freed = 0;	/* now for real */
		milter_client_free(&mc);
	}
	return is_freed;
}

/* Negotiated, or a dropped reply came: the step that waited runs. Returns 1 if mc was freed. */
static int
ready(struct milter_client *mc)
{
	struct pending p = mc->pending;
	milter_client_cb cb = p.cb;
	void *ctx = p.ctx;
	struct milter_action act;

	mc->st = MC_READY;
	evtimer_del(mc->timer);
	if (mc->is_aborting) {
		mc->is_aborting = 0;
		milter_abort(&mc->m);
		flush(mc);
	}
	if (p.cmd == 0)
		return 0;
	memset(&mc->pending, 0, sizeof(mc->pending));
	run(mc, &p, &act);
	pending_clear(&p);
	if (act.kind == MILTER_WAIT)
		return 0;
	return tell(mc, cb, ctx, &act);	/* answered at once: no reply (NR_*), or skipped */
}

/* A failure while a step is out (or the negotiation): its asker gets the default. */
static int
fail_step(struct milter_client *mc, const char *why)
{
	milter_client_cb cb = mc->st == MC_BUSY ? mc->cb : mc->pending.cb;
	void *ctx = mc->st == MC_BUSY ? mc->ctx : mc->pending.ctx;
	struct milter_action act;

	die(mc, why);
	default_answer(mc, &act);
	return tell(mc, cb, ctx, &act);
}

/* One packet from the filter. Returns 1 when reading must stop (freed, dead, paused). */
static int
take_packet(struct milter_client *mc, const struct milter_packet *pkt)
{
	struct milter_reply r;
	struct milter_action act;
	char err[256], why[320];

	if (milter_reply_decode(pkt, &r, err, sizeof(err)) == -1) {
		snprintf(why, sizeof(why), "bad reply: %s", err);
		(void)fail_step(mc, why);
		return 1;
	}
	milter_input(&mc->m, &r, &act);
	switch (act.kind) {
	case MILTER_WAIT:
		if (act.is_progress)
			arm(mc, mc->step == MILTER_CMD_BODYEOB ? mc->conf->eom_timeout_ms :
			    mc->conf->command_timeout_ms);
		return 0;
	case MILTER_FAIL:
		(void)fail_step(mc, act.why);
		return 1;
	case MILTER_CHANGE:
		return tell(mc, mc->cb, mc->ctx, &act) || mc->is_paused;
	case MILTER_ANSWER:
		if (mc->st == MC_NEGOTIATING || mc->is_aborting)
			return ready(mc) || mc->st == MC_DEAD;
		{
			milter_client_cb cb = mc->cb;
			void *ctx = mc->ctx;

			mc->st = MC_READY;
			mc->cb = NULL;
			evtimer_del(mc->timer);
			return tell(mc, cb, ctx, &act);
		}
	}
	return 0;
}

static void
read_packets(struct milter_client *mc)
{
	while (mc->bev != NULL && !mc->is_paused) {
		struct evbuffer *in = bufferevent_get_input(mc->bev);
		size_t len = evbuffer_get_length(in), used = 0;
		struct milter_packet pkt;
		enum milter_parse res;
		char err[128], why[160];

		if (len == 0)
			return;
		res = milter_reader_feed(&mc->rd, evbuffer_pullup(in, (ssize_t)len), len, &used, &pkt,
		    err, sizeof(err));
		evbuffer_drain(in, used);
		if (res == MILTER_PARSE_MORE)
			return;
		if (res == MILTER_PARSE_BAD) {
			snprintf(why, sizeof(why), "bad packet: %s", err);
			(void)fail_step(mc, why);
			return;
		}
		if (mc->st != MC_BUSY && mc->st != MC_NEGOTIATING) {
			snprintf(why, sizeof(why), "%s when no reply was due",
			    milter_reply_name(pkt.cmd));
			(void)fail_step(mc, why);
			return;
		}
		if (take_packet(mc, &pkt))
			return;
	}
}

/*
 * A parked connection that the filter spoke on, closed or let time out is
 * in a state nobody knows: its pool is told, and it is closed.
 */
static int
idle_ends(struct milter_client *mc)
{
	if (mc->st != MC_IDLE)
		return 0;
	mc->gone(mc->gone_arg, mc);
	return 1;
}

static void
on_read(struct bufferevent *bev, void *arg)
{
	(void)bev;
	if (idle_ends(arg))
		return;
	read_packets(arg);
}

static void
on_event(struct bufferevent *bev, short what, void *arg)
{
	struct milter_client *mc = arg;
	char why[160];

	(void)bev;
	if (idle_ends(mc))
		return;
	if (what & BEV_EVENT_CONNECTED) {
		struct milter_action act;

		mc->st = MC_NEGOTIATING;
		milter_open(&mc->m, &act);
		flush(mc);
		return;
	}
	if (what & BEV_EVENT_EOF)
		snprintf(why, sizeof(why), "the filter closed the connection%s",
		    mc->st == MC_BUSY ? " while a reply was due" : "");
	else
		snprintf(why, sizeof(why), "%s: %s", mc->st == MC_CONNECTING ? "cannot connect" :
		    "connection failed", evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
	if (mc->st == MC_READY)
		die(mc, why);
	else
		(void)fail_step(mc, why);
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct milter_client *mc = arg;
	char why[160];

	(void)fd, (void)what;
	if (idle_ends(mc))
		return;
	if (mc->st == MC_CONNECTING || mc->st == MC_NEGOTIATING)
		snprintf(why, sizeof(why), "no connection and negotiation within %u ms",
		    mc->conf->connect_timeout_ms);
	else
		snprintf(why, sizeof(why), "no reply to %s within %u ms", step_name(mc->step),
		    mc->step == MILTER_CMD_BODYEOB ? mc->conf->eom_timeout_ms :
		    mc->conf->command_timeout_ms);
	(void)fail_step(mc, why);
}

struct milter_client *
milter_client_new(struct event_base *base, const struct config_milter *conf,
    const struct milter_limits *lim, const char *log_id)
{
	struct milter_client *mc = xcalloc(1, sizeof(*mc));

	mc->base = base;
	mc->conf = conf;
	buf_init(&mc->out, OUT_MAX);
	milter_init(&mc->m, conf->name, lim, &mc->out);
	milter_reader_init(&mc->rd);
	set_log_id(mc, log_id);
	mc->timer = evtimer_new(base, on_timer, mc);
	ASSERT(mc->timer != NULL);
	mc->bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	ASSERT(mc->bev != NULL);
	bufferevent_setcb(mc->bev, on_read, NULL, on_event, mc);
	bufferevent_setwatermark(mc->bev, EV_READ, 0, IN_HIGH);
	bufferevent_enable(mc->bev, EV_READ | EV_WRITE);
	mc->st = MC_CONNECTING;
	arm(mc, conf->connect_timeout_ms);
	if (bufferevent_socket_connect(mc->bev, (const struct sockaddr *)&conf->sa,
	    (int)conf->sa_len) == -1) {
		char why[160];

		snprintf(why, sizeof(why), "cannot connect: %s", strerror(errno ? errno : EIO));
		die(mc, why);
	}
	return mc;
}

void
milter_client_free(struct milter_client **mcp)
{
	struct milter_client *mc = *mcp;

	if (mc == NULL)
		return;
	*mcp = NULL;
	if (mc->depth > 0) {
		/* inside our own callback: tell() frees it on the way out */
		mc->is_freed = 1;
		mc->cb = NULL;
		return;
	}
	evtimer_del(mc->timer);
	event_free(mc->timer);
	/* a parked one already said QUIT_NC: it is closed without more (libmilter ignores QUIT there) */
	if (mc->bev != NULL && mc->st == MC_READY) {
		milter_quit(&mc->m, 0);
		flush(mc);
	}
	if (mc->bev != NULL) {
		struct evbuffer *out = bufferevent_get_output(mc->bev);
		evutil_socket_t fd = bufferevent_getfd(mc->bev);

		/*
		 * What is left to send (the QUIT) goes to the kernel now, and the socket is
		 * closed behind it: a connection left to finish on the loop would outlive a
		 * stop. A filter whose socket is full gets no QUIT: it sees the close, which
		 * libmilter takes the same way.
		 */
		while (fd != -1 && evbuffer_get_length(out) > 0 && evbuffer_write(out, fd) > 0)
			;
		bufferevent_free(mc->bev);
	}
	pending_clear(&mc->pending);
	milter_reader_clear(&mc->rd);
	milter_clear(&mc->m);
	buf_clear(&mc->out);
	free(mc);
}

/* ---- reuse (pool.c) ---- */

int
milter_client_is_reusable(const struct milter_client *mc)
{
	/* nothing in flight, nothing unread, and the filter where QUIT_NC is taken */
	return mc->st == MC_READY && mc->bev != NULL && mc->depth == 0 && !mc->is_paused &&
	    !mc->is_aborting && mc->pending.cmd == 0 && mc->rd.nlen == 0 &&
	    evbuffer_get_length(bufferevent_get_input(mc->bev)) == 0 &&
	    milter_is_reusable(&mc->m);
}

int
milter_client_park(struct milter_client *mc, unsigned idle_timeout_ms,
    void (*gone)(void *arg, struct milter_client *mc), void *arg)
{
	ASSERT(milter_client_is_reusable(mc));
	milter_quit(&mc->m, 1);
	flush(mc);
	if (mc->st == MC_DEAD)
		return -1;
	mc->st = MC_IDLE;
	mc->gone = gone;
	mc->gone_arg = arg;
	mc->cb = NULL;
	mc->ctx = NULL;
	arm(mc, idle_timeout_ms);
	return 0;
}

int
milter_client_is_parked_alive(const struct milter_client *mc)
{
	evutil_socket_t fd = bufferevent_getfd(mc->bev);
	uint8_t b;
	ssize_t n;

	if (mc->st != MC_IDLE || fd == -1 ||
	    evbuffer_get_length(bufferevent_get_input(mc->bev)) > 0)
		return 0;
	/* the loop may not have heard yet what the kernel knows: a close, or bytes */
	n = recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
	return n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

void
milter_client_unpark(struct milter_client *mc, const char *log_id)
{
	ASSERT(mc->st == MC_IDLE);
	evtimer_del(mc->timer);
	mc->st = MC_READY;
	mc->gone = NULL;
	mc->gone_arg = NULL;
	set_log_id(mc, log_id);
}

/* ---- the steps ---- */

int
milter_client_connect(struct milter_client *mc, const char *hostname, char family,
    uint16_t port, const char *addr, milter_client_cb cb, void *ctx, struct milter_action *now)
{
	struct pending p = { MILTER_CMD_CONNECT, xstrdup(hostname), xstrdup(addr ? addr : ""),
		family, port, NULL, 0, cb, ctx };

	return ask(mc, &p, now);
}

static int
ask_string(struct milter_client *mc, uint8_t cmd, const char *s, milter_client_cb cb, void *ctx,
    struct milter_action *now)
{
	struct pending p = { cmd, s ? xstrdup(s) : NULL, NULL, 0, 0, NULL, 0, cb, ctx };

	return ask(mc, &p, now);
}

int
milter_client_helo(struct milter_client *mc, const char *helo, milter_client_cb cb, void *ctx,
    struct milter_action *now)
{
	return ask_string(mc, MILTER_CMD_HELO, helo, cb, ctx, now);
}

/* MAIL or RCPT: the path and the parameters, copied NUL after NUL. */
static int
ask_args(struct milter_client *mc, uint8_t cmd, const char *const *args, size_t n,
    milter_client_cb cb, void *ctx, struct milter_action *now)
{
	struct pending p = { cmd, NULL, NULL, 0, 0, NULL, 0, cb, ctx };
	size_t len = 0;

	ASSERT(n >= 1 && n <= MILTER_MAX_ARGS);
	for (size_t i = 0; i < n; i++)
		len += strlen(args[i]) + 1;
	p.body = xmalloc(len);
	for (size_t i = 0; i < n; i++) {
		size_t k = strlen(args[i]) + 1;

		memcpy(p.body + p.n, args[i], k);
		p.n += k;
	}
	return ask(mc, &p, now);
}

int
milter_client_mail(struct milter_client *mc, const char *const *args, size_t n,
    milter_client_cb cb, void *ctx, struct milter_action *now)
{
	return ask_args(mc, MILTER_CMD_MAIL, args, n, cb, ctx, now);
}

int
milter_client_rcpt(struct milter_client *mc, const char *const *args, size_t n,
    milter_client_cb cb, void *ctx, struct milter_action *now)
{
	return ask_args(mc, MILTER_CMD_RCPT, args, n, cb, ctx, now);
}

int
milter_client_data(struct milter_client *mc, milter_client_cb cb, void *ctx,
    struct milter_action *now)
{
	return ask_string(mc, MILTER_CMD_DATA, NULL, cb, ctx, now);
}

int
milter_client_eoh(struct milter_client *mc, milter_client_cb cb, void *ctx,
    struct milter_action *now)
{
	return ask_string(mc, MILTER_CMD_EOH, NULL, cb, ctx, now);
}

int
milter_client_eom(struct milter_client *mc, milter_client_cb cb, void *ctx,
    struct milter_action *now)
{
	return ask_string(mc, MILTER_CMD_BODYEOB, NULL, cb, ctx, now);
}

/* Bytes for a step: borrowed when it runs now, copied when it waits for the filter. */
static int
ask_bytes(struct milter_client *mc, uint8_t cmd, const char *name, const uint8_t *b, size_t n,
    milter_client_cb cb, void *ctx, struct milter_action *now)
{
	struct pending p = { cmd, NULL, NULL, 0, 0, NULL, n, cb, ctx };
	int r;

	if (mc->st != MC_READY && mc->st != MC_DEAD) {
		p.a = name ? xstrdup(name) : NULL;
		p.body = xmalloc(n > 0 ? n : 1);
		memcpy(p.body, b, n);
		return ask(mc, &p, now);
	}
	/* run now: the caller's bytes serve for the call */
	p.a = (char *)name;
	p.body = (uint8_t *)b;
	if (mc->st == MC_DEAD) {
		default_answer(mc, now);
		return 1;
	}
	run(mc, &p, now);
	r = now->kind != MILTER_WAIT;
	return r;
}

int
milter_client_header(struct milter_client *mc, const char *name, struct slice value,
    milter_client_cb cb, void *ctx, struct milter_action *now)
{
	return ask_bytes(mc, MILTER_CMD_HEADER, name, value.p, value.len, cb, ctx, now);
}

int
milter_client_body(struct milter_client *mc, const uint8_t *p, size_t n, milter_client_cb cb,
    void *ctx, struct milter_action *now)
{
	ASSERT(n <= MILTER_CHUNK);
	return ask_bytes(mc, MILTER_CMD_BODY, NULL, p, n, cb, ctx, now);
}

void
milter_client_abort(struct milter_client *mc, const void *ctx)
{
	if ((mc->st == MC_BUSY && mc->ctx != ctx) || (mc->pending.cmd != 0 && mc->pending.ctx != ctx))
		return;
	pending_clear(&mc->pending);
	mc->cb = NULL;
	if (mc->st == MC_BUSY) {
		/* the reply due is dropped when it comes; the ABORT follows it */
		mc->is_aborting = 1;
		return;
	}
	if (mc->st == MC_READY) {
		milter_abort(&mc->m);
		flush(mc);
	}
}

void
milter_client_pause(struct milter_client *mc)
{
	mc->is_paused = 1;
}

void
milter_client_resume(struct milter_client *mc)
{
	if (!mc->is_paused)
		return;
	mc->is_paused = 0;
	mc->depth++;
	read_packets(mc);
	mc->depth--;
	if (mc->is_freed && mc->depth == 0) {
		mc->is_freed = 0;
		milter_client_free(&mc);
	}
}

int
milter_client_msg_is_over(const struct milter_client *mc)
{
	return mc->st == MC_DEAD || milter_msg_is_over(&mc->m);
}

int
milter_client_body_unwanted(const struct milter_client *mc)
{
	return mc->st == MC_DEAD || milter_body_unwanted(&mc->m);
}
