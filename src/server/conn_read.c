/*
 * conn_read.c - a plain connection's socket read by the connection itself,
 * not by its bufferevent. libevent 2.1's socket bufferevent reads at most
 * 4096 bytes per readable event, each after an ioctl(FIONREAD): a 100 KiB
 * message took some 33 wake-ups, 33 ioctls and 33 readvs, and the DATA
 * reader's pass over each piece. Here one read(2) takes up to 64 KiB into
 * the receiving loop's buffer, and its bytes are appended to the
 * bufferevent's input, where the rest of the connection reads them as
 * before; the bufferevent keeps the writing. A TLS connection (implicit,
 * or once STARTTLS switches) is read by its OpenSSL bufferevent.
 * What the bufferevent did for reading is done here the same way: the
 * idle timeout (no byte for smtp.idle_timeout), end of file and errors go
 * to the connection's event handler, and reading stops while the input
 * holds INPUT_HIGH_WATER unprocessed bytes, until it is drained below.
 */
#include "server/server_int.h"

#include <errno.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "util/xalloc.h"

/* The input was drained (or grew): reading goes on once it is below the ceiling again. */
static void
on_input_changed(struct evbuffer *in, const struct evbuffer_cb_info *info, void *arg)
{
	struct conn *c = arg;

	if (info->n_deleted == 0 || !c->is_input_full ||
	    evbuffer_get_length(in) >= INPUT_HIGH_WATER)
		return;
	c->is_input_full = 0;
	conn_read_enable(c, c->is_reading);
}

static void
on_readable(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	unsigned char *buf = c->rl->read_buf;
	struct evbuffer *in = bufferevent_get_input(c->bev);
	size_t len = evbuffer_get_length(in), room;
	ssize_t n;
	int added;

	if (what & EV_TIMEOUT) {
		/* as the bufferevent did: reading stops, and the connection is told */
		event_del(c->rd_ev);
		conn_socket_event(c, BEV_EVENT_READING | BEV_EVENT_TIMEOUT);
		return;
	}
	room = len < INPUT_HIGH_WATER ? INPUT_HIGH_WATER - len : 0;
	if (room > READ_BUF_SIZE)
		room = READ_BUF_SIZE;
	n = room > 0 ? read(fd, buf, room) : 0;
	if (room == 0 || (n == -1 && (errno == EAGAIN || errno == EINTR))) {
		if (room == 0) {
			c->is_input_full = 1;
			event_del(c->rd_ev);
		}
		return;
	}
	if (n <= 0) {
		event_del(c->rd_ev);
		conn_socket_event(c, BEV_EVENT_READING | (n == 0 ? BEV_EVENT_EOF : BEV_EVENT_ERROR));
		return;
	}
	/* the socket bufferevent keeps its input's end frozen but while it reads; so here */
	evbuffer_unfreeze(in, 0);
	added = evbuffer_add(in, buf, (size_t)n);
	evbuffer_freeze(in, 0);
	ASSERT(added == 0);	/* out of memory, where xmalloc() would stop too */
	conn_input(c);	/* may free c */
}

void
conn_read_start(struct conn *c)
{
	c->rd_ev = event_new(c->rl->base, bufferevent_getfd(c->bev), EV_READ | EV_PERSIST,
	    on_readable, c);
	ASSERT(c->rd_ev != NULL);
	evbuffer_add_cb(bufferevent_get_input(c->bev), on_input_changed, c);
}

void
conn_read_enable(struct conn *c, int is_on)
{
	const struct config *cfg = c->cfg;
	struct timeval idle = { cfg->idle_timeout_ms / 1000, (cfg->idle_timeout_ms % 1000) * 1000 };

	c->is_reading = is_on;
	if (c->rd_ev == NULL) {
		if (is_on)
			bufferevent_enable(c->bev, EV_READ);
		else
			bufferevent_disable(c->bev, EV_READ);
		return;
	}
	if (is_on && !c->is_input_full)
		event_add(c->rd_ev, &idle);
	else
		event_del(c->rd_ev);
}

void
conn_read_stop(struct conn *c)
{
	if (c->rd_ev == NULL)
		return;
	event_free(c->rd_ev);
	c->rd_ev = NULL;
	evbuffer_remove_cb(bufferevent_get_input(c->bev), on_input_changed, c);
	c->is_input_full = 0;
}
