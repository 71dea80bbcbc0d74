/*
 * conn_data.c - a connection's messages: the session's hooks build the
 * envelope from MAIL to DATA (recipients resolved by policy into it), and
 * DATA streams the message through the DATA reader into a submission of
 * the core (src/msg), pausing the socket while the spool catches up.
 */
#include "server/server_int.h"

#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "util/log.h"
#include "util/log_event.h"
#include "util/xalloc.h"

/* ---- the session's hooks: the envelope is built here, from MAIL to DATA ---- */

static void
hook_txn_begin(void *ctx, char qid_out[QID_LEN + 1])
{
	struct conn *c = ctx;

	spool_msg_free(&c->env);
	c->env = msg_env_new(c->rl->msg, SPOOL_FROM_SMTP);
	memcpy(qid_out, c->env->qid, QID_LEN + 1);
}

/*
 * SECURITY.md 3: refuse MAIL when free space is below spool.min_free (1.5 x
 * the size limit). The figure is measured every second; within 64 largest
 * messages of the floor a second is enough for a burst (or another
 * program) to fill the disk, so it is measured again for every MAIL there,
 * and a full spool says 452 at MAIL rather than after the client sent the
 * whole message. Far from the floor no MAIL pays for a statvfs.
 */
static int
hook_has_room(void *ctx, uint64_t size)
{
	const struct conn *c = ctx;
	const struct server *srv = c->srv;
	const struct config *cfg = c->cfg;
	uint64_t free_bytes = spool_free_bytes(srv->d.spool), need = cfg->min_free_bytes + size;

	if (free_bytes < need + 64 * cfg->max_message_bytes) {
		spool_refresh_space(srv->d.spool);
		free_bytes = spool_free_bytes(srv->d.spool);
	}
	return free_bytes >= need;
}

/* ---- DATA: the message goes to the submission core ---- */

static void
on_sub_drain(void *ctx)
{
	struct conn *c = ctx;

	c->is_paused = 0;
	conn_read_enable(c, 1);
	conn_process(c);
}

/* Completes the envelope with what the session knows, and hands it to a new submission. */
void
conn_data_begin(struct conn *c)
{
	const struct smtp_txn *t = smtp_session_txn(c->s);
	struct spool_msg *env = c->env;
	const char *tls_version = smtp_session_tls_version(c->s);

	c->env = NULL;
	free(env->sender);
	env->sender = xstrdup(t->sender);
	env->client_ip = xstrdup(c->ip);
	env->helo = xstrdup(smtp_session_helo(c->s));
	env->proto = xstrdup(smtp_session_proto(c->s));
	if (tls_version != NULL) {
		env->tls_version = xstrdup(tls_version);
		env->tls_cipher = xstrdup(smtp_session_tls_cipher(c->s));
	}
	if (smtp_session_auth_user(c->s) != NULL)
		env->auth_user = xstrdup(smtp_session_auth_user(c->s));
	env->is_8bitmime = t->body == SMTP_BODY_8BITMIME;
	env->is_smtputf8 = t->is_smtputf8;
	env->release_s = t->release_s;
	c->sub = msg_sub_new(c->rl->msg, env, c->id);
	if (c->milters != NULL)
		milter_set_add_filters(c->milters, c->sub, msg_sub_env(c->sub)->qid);
	msg_sub_set_drain_cb(c->sub, on_sub_drain, c);
	dotdata_init(&c->dd, c->cfg->max_text_line_bytes);
	c->mode = M_DATA;
	conn_line_deadline(c, 1);
}

static void
on_committed(void *ctx, const struct msg_result *r)
{
	struct conn *c = ctx;
	enum smtp_act a;

	if (r->status == MSG_TEMPFAIL && r->rule == NULL)
		log_ev_reject(r->qid, "DATA", "", r->code, r->dsn, r->text);
	/*
	 * the core's verdict, in the session's words: a refusal (or a content
	 * filter's tempfail) carries its own code and text
	 */
	if (r->status == MSG_REFUSED || (r->status == MSG_TEMPFAIL && r->rule != NULL))
		a = smtp_session_refused(c->s, r->code, r->dsn, r->text, r->rule, r->is_filter_text);
	else
		a = smtp_session_committed(c->s, r->status == MSG_QUEUED ? SMTP_COMMIT_OK :
		    r->code == 452 ? SMTP_COMMIT_NOSPACE : SMTP_COMMIT_IOERR);
	if (c->bev == NULL) {
		/* the client left while we flushed: the message stands, the connection goes */
		c->mode = M_CLOSING;
		conn_free(c);
		return;
	}
	c->mode = M_COMMAND;
	if (conn_act(c, a) == -1)
		return;
	if (c->is_draining) {
		conn_drain(c);
		return;
	}
	conn_process(c);
}

/* Feeds message bytes to the DATA reader; returns 1 when the message ended. */
int
conn_data_input(struct conn *c, struct evbuffer *in)
{
	/* the receiving loop's: each runs on a thread of its own */
	uint8_t *out = c->rl->data_buf;
	uint64_t max = c->cfg->max_message_bytes;

	while (evbuffer_get_length(in) > 0 && !c->is_paused) {
		size_t len = evbuffer_get_length(in), used, out_len;
		const uint8_t *p;
		int is_end = 0;

		if (len > DATA_PIECE)
			len = DATA_PIECE;
		p = evbuffer_pullup(in, (ssize_t)len);
		used = dotdata_feed(&c->dd, p, len, out, &out_len, &is_end);
		/* past the limit the rest is read and dropped: the reply comes at the end */
		if (c->dd.body_bytes <= max && out_len > 0 && msg_sub_write(c->sub, out, out_len) == 1) {
			c->is_paused = 1;
			conn_read_enable(c, 0);
		}
		evbuffer_drain(in, used);
		if (is_end)
			return 1;
	}
	return 0;
}

void
conn_commit(struct conn *c)
{
	struct msg_sub *sub = c->sub;

	c->sub = NULL;
	c->mode = M_COMMIT;
	msg_sub_end(sub, on_committed, c);
}

void
conn_data_end(struct conn *c)
{
	enum smtp_act a = smtp_session_data_end(c->s, c->dd.flags, c->dd.body_bytes);

	conn_line_deadline(c, 0);
	c->mode = M_COMMAND;
	/*
	 * the message is read to its end: nothing is fed any more, so nothing
	 * holds reading back (a content filter that paused the feeder may never
	 * say drained: the step stops calling once the message ends)
	 */
	if (c->is_paused) {
		c->is_paused = 0;
		conn_read_enable(c, 1);
	}
	if (a != SMTP_ACT_ASK)
		msg_sub_abort(&c->sub);	/* refused as it stands: nothing is kept */
	(void)conn_act(c, a);
}

void
conn_hooks_init(struct conn *c)
{
	c->hooks = (struct smtp_hooks){
		.ctx = c,
		.txn_begin = hook_txn_begin,
		.has_room = hook_has_room,
	};
}
