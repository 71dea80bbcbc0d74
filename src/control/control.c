/*
 * control.c - the daemon's side of the control socket (docs/control.md):
 * <spool.dir>/control, served on the event loop.
 *
 * Who may use it: root, server.user, and members of server.user's group,
 * as the kernel tells (SO_PEERCRED, SO_PEERGROUPS), whatever the socket's
 * mode lets through; anyone else gets "forbidden", a log line, and the
 * door. Each connection takes one request at a time (the next waits in
 * the kernel and in a bounded input buffer) and answers it fully first:
 *  - a listing goes out a slice per turn of the loop, paced (src/qview's
 *    pager), and only while the client keeps reading (its output below
 *    OUT_WATERMARK), so that listing the whole of a large queue never
 *    holds up receiving or delivering, and a client that stops reading
 *    holds a cursor, not the daemon's memory;
 *  - an operation goes to the scheduler (sched_apply), and its reply waits
 *    for the scheduler's word, which may come after an attempt in flight
 *    has ended; a client that leaves meanwhile is forgotten, not the
 *    operation.
 */
#include "control/control.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "events/suppress.h"
#include "server/accept_pause.h"
#include "server/server.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/loop_prio.h"
#include "util/log_event.h"
#include "util/xalloc.h"

#define MAX_CONNS 32			/* control connections at once */
#define OUT_WATERMARK (256 * 1024)	/* a listing goes on below this much unsent output */
#define IDLE_S 60			/* for a request, or for the client to read a reply */
#define LINGER_S 5			/* for the client to close, after our last reply */
#define MAX_GROUPS 65536		/* SO_PEERGROUPS: more than any system allows */

enum cc_state {
	CC_IDLE,	/* waiting for a request */
	CC_LISTING,	/* a listing in progress: a pager */
	CC_APPLYING,	/* an operation in the scheduler's hands */
	CC_CLOSING,	/* the last reply is going out */
	CC_DRAINING,	/* it is out; what the client still sends is read and dropped */
};

struct ctl_conn {
	struct control *ctl;
	struct bufferevent *bev;
	char id[24];
	long uid, gid;
	enum cc_state state;
	struct ctl_req req;		/* the request in hand; cleared before the next */
	struct qview_pager *pager;	/* CC_LISTING */
	struct sched_op_req *op;	/* CC_APPLYING, once sched_apply returned */
	int is_op_done;
	int is_half_closed;		/* the client said all it will: close after this reply */
	struct event *step_ev;		/* the next turn: the next request */
	struct ctl_conn *prev, *next;
};

struct control {
	struct control_deps d;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	uid_t uid;			/* the daemon's, once privileges are dropped */
	gid_t gid;
	struct evconnlistener *evl;
	struct accept_pause accept;	/* accepting paused for want of descriptors */
	struct ctl_conn *conns;
	unsigned nconns;
	unsigned long next_id;
	struct buf line;		/* a reply line being made */
};

static void conn_free(struct ctl_conn *c);

/* ---- replies ---- */

static int
line_cb(const char *p, size_t n, void *ctx)
{
	return buf_append(ctx, p, n);
}

/* Sends j (taken) as one line, whole: one evbuffer_add per line, not per token. */
static void
send_json(struct ctl_conn *c, json_t *j)
{
	struct buf *line = &c->ctl->line;

	buf_reset(line);
	ASSERT(j != NULL && ctl_json_line(j, line_cb, line) == 0);
	json_decref(j);
	(void)evbuffer_add(bufferevent_get_output(c->bev), line->data, line->len);
}

static void
send_error(struct ctl_conn *c, enum ctl_err e, const char *why)
{
	log_ev_control_error(c->id, c->uid, ctl_err_code(e));
	send_json(c, ctl_reply_error(e, why));
}

/*
 * The last reply is in the output: the connection ends once it is out
 * (on_write), or when the client has not taken it within IDLE_S. Never
 * frees c itself, so callers may look at c after it.
 */
static void
close_after_write(struct ctl_conn *c)
{
	static const struct timeval idle = { IDLE_S, 0 };

	c->state = CC_CLOSING;
	bufferevent_disable(c->bev, EV_READ);
	/* on_write goes on once the output is empty, not merely low */
	bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
	bufferevent_set_timeouts(c->bev, NULL, &idle);
}

/*
 * Reading stays on while a request is in hand, so that a client that
 * leaves is noticed (and its operation forgotten); only the wait for the
 * next request has the idle timeout.
 */
static void
set_state(struct ctl_conn *c, enum cc_state st)
{
	static const struct timeval idle = { IDLE_S, 0 };

	c->state = st;
	bufferevent_set_timeouts(c->bev, st == CC_IDLE ? &idle : NULL, &idle);
}

/* The next turn of the loop, after the events that wait now. */
static void
step_later(struct ctl_conn *c)
{
	static const struct timeval now = { 0, 0 };

	evtimer_add(c->step_ev, &now);
}

/* A reply is complete: on to the next request, on the next turn of the loop. */
static void
reply_over(struct ctl_conn *c)
{
	set_state(c, CC_IDLE);
	/* never from inside the scheduler's call that answered */
	step_later(c);
}

/* ---- listings ---- */

static void
on_view(void *ctx, const struct sched_view *v)
{
	struct ctl_conn *c = ctx;

	send_json(c, ctl_reply_msg(qview_msg_json(v, c->req.kind == CTL_SHOW)));
}

/* The listing waits while the client has not read what went out. */
static int
is_output_full(void *ctx)
{
	struct ctl_conn *c = ctx;

	return evbuffer_get_length(bufferevent_get_output(c->bev)) >= OUT_WATERMARK;
}

static void
on_listed(void *ctx, size_t count, int has_more)
{
	struct ctl_conn *c = ctx;

	(void)has_more;		/* no bound: the listing ends with the queue */
	qview_pager_free(&c->pager);
	if (c->req.kind == CTL_SHOW && count == 0)
		send_error(c, CTL_ERR_NOT_FOUND, "no such message in the queue");
	else
		send_json(c, ctl_reply_end(count));
	reply_over(c);
}

static const struct qview_pager_ops list_ops = {
	.each = on_view, .is_full = is_output_full, .done = on_listed,
};

/* ---- operations ---- */

static void
on_applied(void *ctx, const struct sched_op_result *r)
{
	struct ctl_conn *c = ctx;

	c->is_op_done = 1;
	c->op = NULL;
	log_ev_control_done(c->id, c->uid, ctl_req_op_name(&c->req), r->matched, r->done,
	    r->failed);
	send_json(c, ctl_reply_result(c->req.op, r));
	reply_over(c);
}

/* ---- requests ---- */

static void
log_request(struct ctl_conn *c)
{
	const struct sched_filter *f = &c->req.qf.f;
	char states[64] = "";
	size_t used = 0;
	int is_poll, has_sel;
	struct log_ctl_sel sel = { .qid = f->qid, .sender = f->sender, .rcpt = f->rcpt,
		.domain = f->domain, .min_age_s = f->min_age_s, .max_age_s = f->max_age_s,
		.is_all = c->req.is_all };

	for (unsigned st = 0; st < SCHED_NSTATES; st++) {
		int n;

		if (!(f->states & (1u << st)))
			continue;
		n = snprintf(states + used, sizeof(states) - used, "%s%s", used ? "," : "",
		    sched_state_name((enum sched_state)st));
		if (n > 0 && (size_t)n < sizeof(states) - used)
			used += (size_t)n;
	}
	sel.states = used > 0 ? states : NULL;
	/* what monitors poll (status; sterna top's metrics, every second) only at debug */
	is_poll = c->req.kind == CTL_STATUS || c->req.kind == CTL_SUPPRESSIONS ||
	    c->req.kind == CTL_METRICS;
	has_sel = c->req.kind == CTL_LIST || c->req.kind == CTL_SHOW || c->req.kind == CTL_APPLY;
	log_ev_control(is_poll, c->id, c->uid, ctl_req_op_name(&c->req), has_sel ? &sel : NULL);
}

static void
reply_status(struct ctl_conn *c)
{
	struct control *ctl = c->ctl;
	struct ctl_status st = { .started_s = ctl->d.started_us / 1000000u,
		.sessions = server_sessions(ctl->d.server), .controls = ctl->nconns };
	uint64_t now = clock_wall_us();

	sched_stats(ctl->d.sched, &st.st);
	st.uptime_s = now > ctl->d.started_us ? (now - ctl->d.started_us) / 1000000u : 0;
	send_json(c, ctl_reply_status(&st));
}

/* The whole list, in address order, in one reply line (bounded by CTL_MAX_REPLY_LINE). */
static void
reply_suppressions(struct ctl_conn *c)
{
	json_t *list = json_array();
	size_t n = suppress_list(c->ctl->d.suppress, "", SIZE_MAX, list);

	send_json(c, json_pack("{s:b, s:o, s:I}", "ok", 1, "suppressions", list, "count",
	    (json_int_t)n));
}

/* Answers the request line p[0..len), or starts answering it. */
static void
request(struct ctl_conn *c, const uint8_t *p, size_t len)
{
	char why[256];
	enum ctl_err e;

	ctl_req_clear(&c->req);
	if ((e = ctl_req_parse(p, len, &c->req, why, sizeof(why))) != CTL_ERR_NONE) {
		send_error(c, e, why);
		return;
	}
	log_request(c);
	switch (c->req.kind) {
	case CTL_STATUS:
		reply_status(c);
		break;
	case CTL_LIST:
	case CTL_SHOW:
		set_state(c, CC_LISTING);
		c->pager = qview_pager_new(c->ctl->d.base, c->ctl->d.sched, &c->req.qf.f, NULL,
		    SIZE_MAX, &list_ops, c);
		break;
	case CTL_SUPPRESSIONS:
		reply_suppressions(c);
		break;
	case CTL_METRICS:
		send_json(c, ctl_reply_metrics(c->ctl->d.metrics));
		break;
	case CTL_RELOAD: {
		struct ctl_reload r = { 0 };

		c->ctl->d.reload(c->ctl->d.reload_ctx, &r);
		send_json(c, ctl_reply_reload(&r));
		break;
	}
	case CTL_SUPPRESS:
		send_json(c, json_pack("{s:b, s:s, s:s, s:b}", "ok", 1, "op", "suppress", "email",
		    c->req.email, "added", suppress_add(c->ctl->d.suppress, c->req.email,
		    c->req.reason != NULL ? c->req.reason : "added by an operator",
		    clock_wall_us() / 1000000u)));
		break;
	case CTL_UNSUPPRESS:
		send_json(c, json_pack("{s:b, s:s, s:s, s:b}", "ok", 1, "op", "unsuppress", "email",
		    c->req.email, "removed", suppress_remove(c->ctl->d.suppress, c->req.email)));
		break;
	case CTL_APPLY:
		set_state(c, CC_APPLYING);
		c->is_op_done = 0;
		c->op = sched_apply(c->ctl->d.sched, c->req.op, &c->req.qf.f, c->uid, on_applied, c);
		/* done may have run inside the call already, and then there is no handle */
		if (c->is_op_done)
			c->op = NULL;
		break;
	}
}

/* Takes the requests waiting in the input, one at a time. */
static void
take_requests(struct ctl_conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);

	while (c->state == CC_IDLE) {
		size_t n = evbuffer_get_length(in), len;
		const uint8_t *p;

		if (n == 0)
			return;
		/* the read watermark keeps the input within one line's bound */
		p = evbuffer_pullup(in, n < CTL_MAX_LINE ? (ssize_t)n : CTL_MAX_LINE);
		switch (ctl_line_find(p, n, &len)) {
		case CTL_LINE_MORE:
			return;
		case CTL_LINE_TOO_LONG:
			/* where the next request starts is unknown now: the last word */
			send_error(c, CTL_ERR_LINE_TOO_LONG,
			    "a request line is longer than 4096 bytes");
			close_after_write(c);
			return;
		case CTL_LINE_OK:
			request(c, p, len);
			evbuffer_drain(in, len + 1);
			break;
		}
	}
}

static void linger(struct ctl_conn *c);

static void
drop_input(struct ctl_conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);

	evbuffer_drain(in, evbuffer_get_length(in));
}

static void
on_step(evutil_socket_t fd, short what, void *arg)
{
	struct ctl_conn *c = arg;

	(void)fd, (void)what;
	if (c->state == CC_IDLE)
		take_requests(c);
	/* the requests it sent before its end are answered: the connection is over */
	if (c->state == CC_IDLE && c->is_half_closed) {
		if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
			linger(c);	/* out already: no write is left to say so */
		else
			close_after_write(c);
	}
}

static void
on_read(struct bufferevent *bev, void *arg)
{
	struct ctl_conn *c = arg;

	(void)bev;
	if (c->state == CC_IDLE)
		take_requests(c);
	else if (c->state == CC_DRAINING)
		drop_input(c);
	/* else it waits for the request in hand */
}

/*
 * The last reply is out. Closing now, with bytes of the client's still
 * unread, would reset the connection, and the client might never read
 * the reply (the error that says why): our side is shut, and what still
 * comes is dropped until the client closes, or LINGER_S.
 */
static void
linger(struct ctl_conn *c)
{
	static const struct timeval linger_tv = { LINGER_S, 0 };

	if (shutdown(bufferevent_getfd(c->bev), SHUT_WR) == -1) {
		conn_free(c);
		return;
	}
	c->state = CC_DRAINING;
	bufferevent_set_timeouts(c->bev, &linger_tv, NULL);
	bufferevent_setwatermark(c->bev, EV_READ, 0, 0);
	bufferevent_enable(c->bev, EV_READ);
	drop_input(c);
}

static void
on_write(struct bufferevent *bev, void *arg)
{
	struct ctl_conn *c = arg;

	if (c->state == CC_CLOSING && evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		linger(c);
	else if (c->state == CC_LISTING)
		qview_pager_resume(c->pager);
}

/*
 * 1 if the peer closed its socket, not just its sending side: the kernel
 * says POLLHUP for a UNIX stream socket only when both directions are shut.
 */
static int
peer_is_gone(evutil_socket_t fd)
{
	struct pollfd p = { .fd = fd, .events = POLLOUT };

	return poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLERR)) != 0;
}

static void
on_event(struct bufferevent *bev, short what, void *arg)
{
	struct ctl_conn *c = arg;

	/*
	 * A client that shut only its sending side after a request (as
	 * `socat` does at the end of its input) still reads: it gets the whole
	 * reply, and then the connection ends.
	 */
	if ((what & BEV_EVENT_EOF) && (c->state == CC_LISTING || c->state == CC_APPLYING) &&
	    !peer_is_gone(bufferevent_getfd(bev))) {
		c->is_half_closed = 1;
		bufferevent_disable(bev, EV_READ);
		return;
	}
	/* EOF, an error or a timeout: the client is gone, or as good as gone */
	conn_free(c);
}

/* ---- connections ---- */

/* 1 if the peer's supplementary groups include gid (SO_PEERGROUPS). */
static int
peer_in_group(int fd, gid_t gid)
{
	gid_t some[64], *groups = some;
	socklen_t len = sizeof(some);
	int found = 0;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) == -1) {
		if (errno != ERANGE || len > MAX_GROUPS * sizeof(gid_t))
			return 0;
		groups = xmalloc(len);
		if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) == -1)
			len = 0;
	}
	for (size_t i = 0; i < len / sizeof(gid_t) && !found; i++)
		found = groups[i] == gid;
	if (groups != some)
		free(groups);
	return found;
}

static struct ctl_conn *
conn_new(struct control *ctl, evutil_socket_t fd)
{
	struct ctl_conn *c = xcalloc(1, sizeof(*c));

	c->ctl = ctl;
	snprintf(c->id, sizeof(c->id), "ctl%lu", ++ctl->next_id);
	c->uid = c->gid = -1;
	c->bev = bufferevent_socket_new(ctl->d.base, fd, BEV_OPT_CLOSE_ON_FREE);
	ASSERT(c->bev != NULL);
	c->step_ev = evtimer_new(ctl->d.base, on_step, c);
	ASSERT(c->step_ev != NULL);
	/* the next request waits while mail has something to do on the loop */
	(void)event_priority_set(c->step_ev, LOOP_PRIORITY_BACKGROUND);
	bufferevent_setcb(c->bev, on_read, on_write, on_event, c);
	/* libevent stops reading at the high mark: the input never holds more than one line */
	bufferevent_setwatermark(c->bev, EV_READ, 0, CTL_MAX_LINE);
	bufferevent_setwatermark(c->bev, EV_WRITE, OUT_WATERMARK, 0);
	c->next = ctl->conns;
	if (c->next)
		c->next->prev = c;
	ctl->conns = c;
	ctl->nconns++;
	set_state(c, CC_IDLE);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	return c;
}

static void
conn_free(struct ctl_conn *c)
{
	struct control *ctl = c->ctl;

	/* the operation goes on in the scheduler; only its answer has nobody to go to */
	if (c->op != NULL)
		sched_op_forget(c->op);
	qview_pager_free(&c->pager);
	ctl_req_clear(&c->req);
	event_free(c->step_ev);
	bufferevent_free(c->bev);
	if (c->prev)
		c->prev->next = c->next;
	else
		ctl->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	ctl->nconns--;
	free(c);
}

static void
on_accept(struct evconnlistener *evl, evutil_socket_t fd, struct sockaddr *sa, int salen,
    void *arg)
{
	struct control *ctl = arg;
	struct ucred cred;
	socklen_t len = sizeof(cred);
	struct ctl_conn *c;
	int is_busy = ctl->nconns >= MAX_CONNS;

	(void)evl, (void)sa, (void)salen;
	accept_pause_reset(&ctl->accept);	/* descriptors again */
	c = conn_new(ctl, fd);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == -1) {
		log_note(LOG_ERR, c->id, "control connection: no peer credentials: %s",
		    strerror(errno));
		conn_free(c);
		return;
	}
	c->uid = (long)cred.uid;
	c->gid = (long)cred.gid;
	/* the socket's mode is one fence; the kernel's word on the peer is the other */
	if (cred.uid != 0 && cred.uid != ctl->uid && cred.gid != ctl->gid &&
	    !peer_in_group(fd, ctl->gid)) {
		log_ev_control_refused(c->id, c->uid, c->gid, (long)cred.pid);
		send_json(c, ctl_reply_error(CTL_ERR_FORBIDDEN,
		    "only root, the server's user and its group may use the control socket"));
		close_after_write(c);
		return;
	}
	if (is_busy) {
		send_error(c, CTL_ERR_BUSY, "too many control connections; try again");
		close_after_write(c);
	}
}

static void
set_accepting(struct control *ctl, int is_on)
{
	if (is_on ? evconnlistener_enable(ctl->evl) : evconnlistener_disable(ctl->evl))
		log_err("control socket: cannot %s accepting", is_on ? "resume" : "pause");
}

static void
on_pause_over(void *arg)
{
	set_accepting(arg, 1);
}

/* Out of descriptors or memory: a pause (accept_pause.c) rather than a busy loop. */
static void
on_accept_error(struct evconnlistener *evl, void *arg)
{
	struct control *ctl = arg;

	(void)evl;
	if (accept_pause_on_error(&ctl->accept, "control socket", "control", EVUTIL_SOCKET_ERROR(),
	    ctl->nconns))
		set_accepting(ctl, 0);
}

/* ---- the socket ---- */

/* Binds and listens on ctl->path: the descriptor, or -1 with the reason in err. */
static int
make_socket(struct control *ctl, char *err, size_t errsize)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct stat st;
	int fd;

	/* we hold the spool's lock: a socket here is an earlier daemon's, and stale */
	if (lstat(ctl->path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			snprintf(err, errsize, "%s: not a socket; move it away", ctl->path);
			return -1;
		}
		if (unlink(ctl->path) == -1) {
			snprintf(err, errsize, "%s: cannot remove the old socket: %s", ctl->path,
			    strerror(errno));
			return -1;
		}
	}
	memcpy(sun.sun_path, ctl->path, strlen(ctl->path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) == -1 ||
	    bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    /* before listen: nobody connects while the mode is still the umask's */
	    chmod(ctl->path, 0660) == -1 || listen(fd, 64) == -1) {
		snprintf(err, errsize, "control socket %s: %s", ctl->path, strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	return fd;
}

struct control *
control_new(const struct control_deps *d, char *err, size_t errsize)
{
	struct control *ctl = xcalloc(1, sizeof(*ctl));
	int n = snprintf(ctl->path, sizeof(ctl->path), "%s/%s", d->spool_dir, CTL_SOCKET_NAME);
	int fd;

	if (n < 0 || (size_t)n >= sizeof(ctl->path)) {
		snprintf(err, errsize, "control socket: %s/%s is longer than a socket's name "
		    "may be (%zu bytes): choose a shorter spool.dir", d->spool_dir,
		    CTL_SOCKET_NAME, sizeof(ctl->path) - 1);
		free(ctl);
		return NULL;
	}
	if ((fd = make_socket(ctl, err, errsize)) == -1) {
		free(ctl);
		return NULL;
	}
	ctl->d = *d;
	ctl->uid = geteuid();
	ctl->gid = getegid();
	buf_init(&ctl->line, SIZE_MAX);
	accept_pause_init(&ctl->accept, d->base, on_pause_over, ctl);
	/* backlog 0: it listens already (64); -1 would listen again with libevent's own */
	ctl->evl = evconnlistener_new(d->base, on_accept, ctl, LEV_OPT_CLOSE_ON_FREE, 0, fd);
	ASSERT(ctl->evl != NULL);
	evconnlistener_set_error_cb(ctl->evl, on_accept_error);
	log_info("control socket %s (mode 0660, uid %u, gid %u)", ctl->path, (unsigned)ctl->uid,
	    (unsigned)ctl->gid);
	return ctl;
}

void
control_free(struct control **cp)
{
	struct control *ctl = *cp;

	if (ctl == NULL)
		return;
	evconnlistener_free(ctl->evl);
	accept_pause_clear(&ctl->accept);
	while (ctl->conns != NULL)
		conn_free(ctl->conns);
	/* no daemon, no socket: a client then hears "not running" rather than "refused" */
	(void)unlink(ctl->path);
	buf_clear(&ctl->line);
	free(ctl);
	*cp = NULL;
}
