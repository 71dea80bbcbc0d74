/*
 * sendmail_bs.c - sendmail -bs: an SMTP session on standard input and
 * output, for programs that speak SMTP to a local sendmail rather than
 * over a socket (RFC 5321 4.1 and the rest of session.h).
 * The session, the command parser and the DATA reader are the daemon's own
 * (src/smtp), so every reply is the one the daemon gives; only the world
 * around them differs: no sockets and no event loop (read, feed, write),
 * the client is a trusted local one (it may send to any domain), and each
 * accepted message goes into the maildrop (sendmail_drop.c) before its 250.
 * Lines may end in LF alone: a terminal or a script sends them, and each
 * is repaired to CRLF before the parser sees it (SECURITY.md: stray line
 * ends are repaired or refused, never passed on).
 */
#include "main/sendmail.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "msg/header.h"
#include "msg/maildrop.h"
#include "policy/policy.h"
#include "smtp/session.h"
#include "util/clock.h"
#include "util/fsutil.h"
#include "util/log.h"
#include "util/qid.h"
#include "util/xalloc.h"

#define READ_STEP (64 * 1024)

struct bs {
	const struct config *cfg;
	struct local_db *local;
	struct qid_gen qids;
	struct smtp_session *s;
	struct spool_msg *env;	/* the transaction's recipients, resolved */
	int in, out, is_verbose, is_eof, is_after_cr, exit_code;
	struct buf inbuf;	/* read, line ends repaired, not yet used */
	struct buf body;	/* the message of the current DATA */
};

/* MAIL was accepted: a new envelope, whose recipients the rcpt hook resolves. */
static void
hook_txn_begin(void *ctx, char qid_out[QID_LEN + 1])
{
	struct bs *b = ctx;

	spool_msg_free(&b->env);
	b->env = spool_msg_new();
	b->env->origin = SPOOL_FROM_SENDMAIL;
	qid_next(&b->qids, clock_wall_us(), b->env->qid);
	memcpy(qid_out, b->env->qid, QID_LEN + 1);
}

/* The daemon's rule (SECURITY.md 3), measured on the spool's file system. */
static int
hook_has_room(void *ctx, uint64_t size)
{
	struct bs *b = ctx;
	struct statvfs st;
	uint64_t free_bytes;

	/* not measurable: the write itself will say what is wrong, precisely */
	if (statvfs(b->cfg->spool_dir, &st) == -1)
		return 1;
	free_bytes = (uint64_t)st.f_bavail * st.f_frsize;
	return free_bytes >= b->cfg->min_free_bytes &&
	    free_bytes - b->cfg->min_free_bytes >= size;
}

/*
 * The daemon's answers for a trusted local client, given here at once: an
 * unknown local user gets 550 now rather than a bounce later (the file
 * keeps the address as given; the daemon resolves it again when it takes
 * the file); every other stage is accepted, and no AUTH is offered. Returns
 * the session's action after the answers.
 */
static enum smtp_act
answer_locally(struct bs *b, enum smtp_act a)
{
	static const struct relay_client local = { .ip = "127.0.0.1", .local_ip = "",
		.is_trusted = 1 };

	while (a == SMTP_ACT_ASK) {
		const struct smtp_ask *q = smtp_session_ask(b->s);
		char to[SMTP_ADDR_FMT_MAX];
		struct verdict v;

		verdict_accept(&v);
		if (q->stage == SMTP_STAGE_RCPT) {
			if (smtp_addr_format(q->rcpt, to, sizeof(to)) == -1)
				to[0] = '\0';
			policy_rcpt_verdict(policy_rcpt(b->local, &local, q->rcpt, b->env), to, &v);
		}
		a = smtp_session_answer(b->s, &v);
	}
	return a;
}

/* Sends the session's replies: 0, or -1 when standard output is gone. */
static int
flush_out(struct bs *b)
{
	struct buf *o = smtp_session_output(b->s);

	if (o->len > 0 && write_all(b->out, o->data, o->len) == -1) {
		fprintf(stderr, "sendmail: cannot write to standard output: %s\n", strerror(errno));
		b->exit_code = 74;	/* EX_IOERR */
		return -1;
	}
	buf_reset(o);
	return 0;
}

/*
 * Reads more input behind what is waiting, a bare LF made CRLF: 1, or 0 at
 * the end of input (or on a read error, which ends the session the same way).
 */
static int
read_more(struct bs *b)
{
	uint8_t raw[READ_STEP];
	ssize_t n;

	if (b->is_eof)
		return 0;
	do
		n = read(b->in, raw, sizeof(raw));
	while (n == -1 && errno == EINTR);
	if (n <= 0) {
		if (n == -1) {
			fprintf(stderr, "sendmail: cannot read standard input: %s\n", strerror(errno));
			b->exit_code = 74;	/* EX_IOERR */
		}
		b->is_eof = 1;
		return 0;
	}
	/* at most twice the bytes read: the input buffer's ceiling covers it */
	if (buf_reserve(&b->inbuf, 2 * (size_t)n) == -1) {
		b->is_eof = 1;
		return 0;
	}
	for (ssize_t i = 0; i < n; i++) {
		if (raw[i] == '\n' && !b->is_after_cr)
			(void)buf_append_byte(&b->inbuf, '\r');
		(void)buf_append_byte(&b->inbuf, raw[i]);
		b->is_after_cr = raw[i] == '\r';
	}
	return 1;
}

/* The message read by DATA into the maildrop, and the session told how it went. */
static enum smtp_act
commit(struct bs *b)
{
	const struct smtp_txn *t = smtp_session_txn(b->s);
	struct sm_rcpts rcpts = { 0 };
	struct hdrscan scan;
	char err[512], name[96];
	enum sm_drop_err r;
	enum smtp_commit c;

	/* RFC 5321 6.3, as the daemon answers it over SMTP: a loop is refused, not queued */
	hdrscan_init(&scan);
	(void)hdrscan_feed(&scan, b->body.data, b->body.len);
	if (scan.nreceived > b->cfg->max_hops)
		return smtp_session_refused(b->s, 554, "5.4.6", "too many hops", NULL, 0);
	/* the file holds the addresses as given (an alias once); the daemon resolves them again */
	for (size_t i = 0; i < b->env->nrcpts; i++)
		sm_rcpts_add(&rcpts, b->env->rcpts[i].orig);
	r = sm_drop_write(b->cfg->spool_dir, NULL, t->sender, &rcpts, b->body.data, b->body.len,
	    name, sizeof(name), err, sizeof(err));
	if (r == SM_DROP_OK) {
		c = SMTP_COMMIT_OK;
		if (b->is_verbose)
			fprintf(stderr, "sendmail: %s: %zu bytes for %zu recipient(s) in %s/%s\n",
			    t->qid, b->body.len, rcpts.n, MAILDROP_DIR, name);
	} else {
		c = r == SM_DROP_TEMPFAIL ? SMTP_COMMIT_NOSPACE : SMTP_COMMIT_IOERR;
		fprintf(stderr, "sendmail: %s\n", err);
	}
	sm_rcpts_clear(&rcpts);
	return smtp_session_committed(b->s, c);
}

/* Feeds waiting input to the DATA reader: 1 when the message ended, 0 for more. */
static int
data_input(struct bs *b, struct dotdata *dd)
{
	static uint8_t piece[READ_STEP + DOTDATA_HELD_MAX];

	while (b->inbuf.len > 0) {
		size_t len = b->inbuf.len < READ_STEP ? b->inbuf.len : READ_STEP, used, out_len;
		int is_end = 0;

		used = dotdata_feed(dd, b->inbuf.data, len, piece, &out_len, &is_end);
		/* past the limit the rest is read and dropped: the session refuses it at the end */
		if (dd->body_bytes <= b->cfg->max_message_bytes)
			(void)buf_append(&b->body, piece, out_len);
		buf_consume(&b->inbuf, used);
		if (is_end)
			return 1;
	}
	return 0;
}

/* One command line from the input: the session's answer, or -1 for "read more". */
static int
command_input(struct bs *b, int *is_skipping, enum smtp_act *a_out)
{
	size_t max = b->cfg->max_line_bytes, len = b->inbuf.len, used = 0;
	struct smtp_cmd cmd;
	enum smtp_parse r;

	if (*is_skipping) {
		const uint8_t *lf = memchr(b->inbuf.data, '\n', len);

		buf_consume(&b->inbuf, lf ? (size_t)(lf - b->inbuf.data) + 1 : len);
		if (lf == NULL)
			return -1;
		*is_skipping = 0;
		return 0;
	}
	if (len == 0)
		return -1;
	if (len > max)
		len = max;
	r = smtp_cmd_parse(b->inbuf.data, len, max, &cmd, &used);
	if (r == SMTP_PARSE_MORE)
		return -1;
	/*
	 * cmd borrows from the input: consume it only after the session has
	 * seen it. Input waiting behind DATA is no desynchronised peer here
	 * (RFC 2920 3.1 guards a network client): a script writes the whole
	 * dialogue into the pipe at once, and it is our own user's.
	 */
	*a_out = smtp_session_line(b->s, r, &cmd, 0);
	buf_consume(&b->inbuf, used);
	if (r == SMTP_PARSE_TOO_LONG)
		*is_skipping = 1;
	return 1;
}

static void
run(struct bs *b)
{
	struct dotdata dd;
	int is_data = 0, is_skipping = 0;
	enum smtp_act a;

	if (answer_locally(b, smtp_session_start(b->s, SMTP_START_GREET)) == SMTP_ACT_CLOSE ||
	    flush_out(b) == -1)
		return;
	for (;;) {
		int r;

		if (is_data) {
			if (!data_input(b, &dd)) {
				if (!read_more(b))
					return;	/* the client left inside DATA: nothing is stored */
				continue;
			}
			is_data = 0;
			a = answer_locally(b, smtp_session_data_end(b->s, dd.flags, dd.body_bytes));
			if (a == SMTP_ACT_COMMIT)
				a = commit(b);
			buf_reset(&b->body);
		} else {
			a = SMTP_ACT_NONE;
			if ((r = command_input(b, &is_skipping, &a)) == -1) {
				if (!read_more(b))
					return;
				continue;
			}
			if (r == 0)
				continue;
			a = answer_locally(b, a);
		}
		if (flush_out(b) == -1)
			return;
		switch (a) {
		case SMTP_ACT_NONE:
			break;
		case SMTP_ACT_DATA:
			dotdata_init(&dd, b->cfg->max_text_line_bytes);
			is_data = 1;
			break;
		case SMTP_ACT_WAIT:
			/* only a failed AUTH waits, and no AUTH is offered here */
			if (smtp_session_wait_over(b->s) == SMTP_ACT_CLOSE || flush_out(b) == -1)
				return;
			break;
		case SMTP_ACT_CLOSE:
		default:
			/* STARTTLS and AUTH are not offered, so nothing else is asked of us */
			return;
		}
	}
}

int
sm_bs_run(const struct config *cfg, int in, int out, int is_verbose)
{
	struct smtp_session_conf conf = {
		.hostname = cfg->hostname,
		.max_line_bytes = cfg->max_line_bytes,
		.max_text_line_bytes = cfg->max_text_line_bytes,
		.max_message_bytes = cfg->max_message_bytes,
		/* a maildrop file carries at most this many */
		.max_recipients = cfg->max_recipients < MAILDROP_MAX_RCPTS ?
		    cfg->max_recipients : MAILDROP_MAX_RCPTS,
		.max_errors = cfg->max_errors,
	};
	struct bs b = {
		.cfg = cfg,
		.in = in,
		.out = out,
		.is_verbose = is_verbose,
	};
	struct smtp_hooks hooks = {
		.ctx = &b,
		.txn_begin = hook_txn_begin,
		.has_room = hook_has_room,
	};

	/* a client that hangs up is an error to report, not a signal that kills us */
	signal(SIGPIPE, SIG_IGN);
	/* the session's event lines go to standard error, and only under -v */
	log_init(2, is_verbose ? LOG_INFO : LOG_ERR);
	buf_init(&b.inbuf, 2 * READ_STEP + cfg->max_line_bytes);
	buf_init(&b.body, cfg->max_message_bytes < SIZE_MAX ? (size_t)cfg->max_message_bytes :
	    SIZE_MAX);
	b.local = local_db_new(cfg);
	b.s = smtp_session_new(&conf, &hooks, "sendmail", "127.0.0.1");
	/* a local user at the keyboard: trusted to send to any domain, as without -bs */
	smtp_session_set_client(b.s, "127.0.0.1", 1);
	run(&b);
	smtp_session_free(&b.s);
	spool_msg_free(&b.env);
	local_db_free(&b.local);
	buf_clear(&b.inbuf);
	buf_clear(&b.body);
	return b.exit_code;
}
