/*
 * msg.h - the one way into the queue: the submission core.
 *
 * Every entrance (SMTP, the maildrop that sterna sendmail writes, the
 * pickup folder, the scheduler's notices; later the HTTP API) builds an
 * envelope (struct spool_msg, spool.h) and hands the message's bytes to a
 * submission:
 *
 *	env = msg_env_new(core, SPOOL_FROM_PICKUP);	queue id, arrival time
 *	env->sender = xstrdup("a@example.org");
 *	msg_env_add_rcpt(core, env, "b@example.net", err, sizeof(err));
 *	sub = msg_sub_new(core, env, "pickup");	takes env
 *	msg_sub_write(sub, p, n); ...			the message, CRLF lines, not dot-stuffed
 *	msg_sub_end(sub, done, ctx);			done(ctx, &result) later
 *
 * In between, the header stage (header.c) puts Received first, adds
 * Message-ID and Date where a submission lacks them (not for mail relayed
 * over SMTP without AUTH), puts an empty line after the added fields when
 * the message has no header section (RFC 5322 2.1), and counts Received
 * fields against smtp.max_hops (RFC 5321 6.3); the content step passes the
 * bytes to the spool and through its chain of filters (filter.h: milters,
 * DKIM signing), which judge and change the message; the spool makes the file durable in
 * its next group commit. Then the core logs "received" and hands the
 * envelope to its consumer (the scheduler) through a queue that is emptied
 * on the next turn of the loop, never from inside the entrance's call.
 *
 * Everything here runs on the loop thread: one core per loop. The main
 * loop's serves every entrance; each further receiving loop (src/server)
 * has a core of its own for its SMTP sessions, whose commits come back to
 * that loop (deps.home) and whose committed messages its consumer hands to
 * the main loop in batches.
 */
#ifndef STERNA_MSG_MSG_H
#define STERNA_MSG_MSG_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "config/config.h"
#include "events/events.h"
#include "spool/spool.h"
#include "util/qid.h"

struct msg_core;
struct msg_sub;

/* What the core uses, borrowed; all must outlive it. */
struct msg_core_deps {
	struct event_base *base;
	struct spool *spool;
	/* the generation at start: its limits and names, which a reload leaves as they are */
	const struct config *cfg;
	struct qid_gen *qids;
	struct events *events;		/* a RECEIVED event per recipient of each message; may be NULL */
	/*
	 * A receiving loop's mailbox (workq.h), where its messages' spool
	 * completions come back to; NULL on the loop of the spool's workers.
	 */
	struct workq *home;
};

/* Returns a new core. */
struct msg_core *msg_core_new(const struct msg_core_deps *deps);
/*
 * The generation whose local users and aliases the entrances' recipients
 * are looked up in from now on (msg_env_add_rcpt): a reference is taken,
 * the one before let go. deps->cfg's until the first call.
 */
void msg_core_set_config(struct msg_core *c, const struct config *cfg);
/* Frees *c; messages still in the hand-over queue stay in the spool (the next start finds them). */
void msg_core_free(struct msg_core **c);
/*
 * Sets who receives committed messages: take(ctx, m) takes m (on the loop,
 * from the hand-over queue), and then, when not NULL, end(ctx) once the
 * messages in the queue have all been taken (a consumer on another thread
 * sends them on together). Until a consumer is set, committed messages
 * wait in the queue.
 */
void msg_core_set_consumer(struct msg_core *c, void (*take)(void *ctx, struct spool_msg *m),
    void (*end)(void *ctx), void *ctx);
/*
 * The RECEIVED events of committed m, one per recipient, to ev (NULL:
 * none): the core emits them itself when it has the events, else its
 * consumer does, on the loop of ev.
 */
void msg_emit_received(struct events *ev, const struct spool_msg *m);
/* Submissions not yet ended (for a drain at shutdown). */
unsigned msg_core_open_subs(const struct msg_core *c);

/* ---- the envelope ---- */

/*
 * A new envelope from origin, with a new queue id and the arrival time now;
 * sender "" (the null sender) until the entrance sets it. Owned by the
 * caller until msg_sub_new() takes it.
 */
struct spool_msg *msg_env_new(struct msg_core *c, enum spool_origin origin);
/*
 * Resolves addr (an RFC 5321 mailbox, without angle brackets, UTF-8 allowed)
 * for a local entrance (sendmail, pickup, notices), which may send to any
 * domain: a local address becomes its mailboxes (aliases expanded), any
 * other a remote recipient. Returns 0, or -1 with why in err (bad syntax,
 * no such local user, a relay trick, an address literal of another host).
 */
int msg_env_add_rcpt(struct msg_core *c, struct spool_msg *env, const char *addr, char *err,
    size_t errsize);

/* ---- a message on its way in ---- */

enum msg_status {
	MSG_QUEUED,		/* committed: 250 */
	MSG_REFUSED,		/* refused for good (SMTP entrances only): 5xx */
	MSG_TEMPFAIL,		/* not stored; try again: 4xx */
};

struct msg_result {
	enum msg_status status;
	int code;		/* the SMTP reply for it: 250, 554, 451, 452, a filter's */
	const char *dsn;	/* its enhanced status: "2.0.0", "5.4.6", "4.3.0", "4.3.1" */
	const char *text;	/* what went wrong, for the reply and the log ("" when queued) */
	const char *qid;
	/*
	 * MSG_QUEUED after msg_sub_keep_handover(): the committed envelope, now the
	 * entrance's, to give to msg_hand_over() (or spool_msg_free(): it stays in
	 * the spool, and the next start finds it). NULL otherwise, and when a
	 * content filter discarded the message (is_discarded: nothing is stored).
	 */
	struct spool_msg *kept;
	/* a content filter's verdict decided (filter.h): its name, for the log; NULL otherwise */
	const char *rule;
	/*
	 * text is a content filter's own reply (a milter's, as Postfix passes
	 * it on): the entrance gives it as it is, without words of its own
	 */
	int is_filter_text;
	/* MSG_QUEUED only: a filter discarded it (or removed every recipient): nothing is kept */
	int is_discarded;
};

/*
 * Starts a submission of the message with envelope env (taken; its
 * recipients resolved, at least one). entrance names it in the "received"
 * log line: the SMTP connection id, "maildrop", "pickup", "notice".
 */
struct msg_sub *msg_sub_new(struct msg_core *c, struct spool_msg *env, const char *entrance);
/* The envelope, owned by the submission (valid until msg_sub_end()'s done runs). */
const struct spool_msg *msg_sub_env(const struct msg_sub *s);
/*
 * Message bytes (CRLF line ends, dot-stuffing undone), in pieces of any
 * size. Returns 1 when the caller should stop feeding until the drain
 * callback runs (too many bytes not yet on disk), 0 otherwise.
 */
int msg_sub_write(struct msg_sub *s, const void *p, size_t n);
/*
 * For an entrance that holds the message whole (the HTTP API, notices):
 * takes over *message (left empty, its bound kept) and writes it with
 * msg_sub_write() in pieces of 64 KiB as the content step and the spool
 * take them, pausing when they ask, so that neither ever holds more than a
 * few pieces of it however large it is; the bytes are freed once written.
 * msg_sub_end() may follow at once: the end waits for the last piece. Not
 * mixed with msg_sub_write() or msg_sub_set_drain_cb() on one submission.
 */
void msg_sub_write_whole(struct msg_sub *s, struct buf *message);
/* Called (loop) when a submission that said "stop" can take more bytes. */
void msg_sub_set_drain_cb(struct msg_sub *s, void (*on_drain)(void *ctx), void *ctx);
/*
 * The message ended. done(ctx, result) runs later on the loop thread (never
 * inside this call), once the filters have answered and the message is
 * durable, refused, discarded, or failed;
 * result and its strings are valid during the call only. The submission is
 * freed after done returns. A message over smtp.max_hops is refused
 * (554 5.4.6) from SMTP; from an entrance that cannot refuse it is queued
 * with every recipient marked to bounce with 5.4.6.
 */
void msg_sub_end(struct msg_sub *s, void (*done)(void *ctx, const struct msg_result *r),
    void *ctx);
/*
 * Before msg_sub_end(): the committed message is not handed to the scheduler
 * when done runs but given to the entrance in the result (r->kept), which
 * hands it over with msg_hand_over() once it has done what must come first.
 * A folder entrance removes its taken file first: a message delivered (and
 * its queue file removed) before that removal would be queued a second time
 * by the next start, which takes a taken file whose id is not in the queue.
 */
void msg_sub_keep_handover(struct msg_sub *s);
/* Hands a committed envelope kept by its entrance to the consumer; takes *m (NULL: nothing). */
void msg_hand_over(struct msg_core *c, struct spool_msg **m);
/* Drops a submission that has not ended (the client left); nothing is stored. */
void msg_sub_abort(struct msg_sub **s);

#endif
