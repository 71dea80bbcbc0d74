/*
 * idempotency.h - Idempotency-Key for the HTTP API's sending endpoints
 * (docs/api.md): per API key, the first accepted reply to a key is kept
 * for 24 hours with the SHA-256 of the request's body, in a table of the
 * loop's (idempotency.c). It survives a restart, kill -9 and a power cut:
 *  - every message of a request carries the key in its envelope (api_idem,
 *    idem_msg_text()), committed with the message in its group commit: a
 *    crash between the commit and the reply leaves the key in the queue,
 *    and the recovery gives it back (idem_recovered());
 *  - once committed, every message adds a line to the journal,
 *    <spool>/idempotency/HOUR.jsonl, written and synced by a thread of
 *    the table's own: the record that outlives the queue file. The
 *    scheduler removes no message with a key from the queue before its
 *    line is durable (idem_wait_durable()), so the key of a message already
 *    delivered and gone is in the journal.
 * At start the table is read back from the journal's last 25 hours, then
 * from the queue's messages as the recovery reads them (a request with a
 * key the table lacks waits until it is over). docs/architecture.md,
 * "Idempotency-Key".
 */
#ifndef STERNA_HTTP_IDEMPOTENCY_H
#define STERNA_HTTP_IDEMPOTENCY_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "spool/spool.h"

#define IDEM_DIR "idempotency"		/* in spool.dir */
#define IDEM_KEEP_S (24 * 3600)
#define IDEM_MAX_ENTRIES 100000		/* keys in the table; the oldest go first */
#define IDEM_MAX_BYTES (128u << 20)	/* ... and their replies' bytes (a batch's: 1,000 ids) */

enum idem_result {
	IDEM_NEW,	/* not seen: go on, and call idem_end() with the reply */
	IDEM_REPLAY,	/* seen with this body: give *status_out and *reply_out again */
	IDEM_CONFLICT,	/* seen with another body: 409 */
	IDEM_BUSY,	/* the first request with it has not been answered yet: 409 */
	IDEM_WAIT,	/* not seen, but the queue is still being read back: ask again then */
	IDEM_UNAVAILABLE,	/* not seen, and the queue will not be read back whole now: 503 */
};

/* One message of a request with a key: what its envelope and the journal keep of it. */
struct idem_msg {
	const char *key_id;	/* the API key's id */
	const char *client_key;	/* the Idempotency-Key, 1 to 255 bytes */
	const char *hash;	/* the SHA-256 of the request's body, 64 hex digits */
	size_t n;		/* a batch's messages; 0 for POST /v1/messages and /raw */
	size_t i;		/* the message's place in its batch */
	const char *to;		/* a batch message's recipient, as the reply names it */
	const char *qid;	/* journal: the message's queue id */
	uint64_t time_s;	/* journal: when the request came */
};

struct idem;

/*
 * Opens the journal in dir (made if missing, 0700), reads its lines of the
 * last IDEM_KEEP_S seconds into a table of at most max_entries keys and
 * max_bytes of replies (the oldest go first), removes older files, and
 * starts the journal's thread. Blocking: at start. NULL with the reason
 * in err.
 */
struct idem *idem_open(const char *dir, size_t max_entries, size_t max_bytes, char *err,
    size_t errsize);
/* Writes and syncs what is waiting, stops the thread, frees *t; t may point to NULL. */
void idem_free(struct idem **t);

/*
 * Loop. The client's key client_key of API key key_id, for a body whose
 * SHA-256 (hex) is body_hash, at now_s; entries older than 24 hours are
 * gone. With IDEM_REPLAY, *reply_out is a new reference. A key the table
 * lacks while the queue is read back at start may be one a queued message
 * not read yet carries: IDEM_WAIT, and the waiter (idem_set_waiter) is
 * told when to ask again.
 */
enum idem_result idem_begin(struct idem *t, const char *key_id, const char *client_key,
    const char *body_hash, uint64_t now_s, int *status_out, json_t **reply_out);
/* Loop. The reply to keep for it (reply borrowed); NULL forgets the key (nothing was accepted). */
void idem_end(struct idem *t, const char *key_id, const char *client_key, int status,
    json_t *reply);

/* The envelope's api_idem of m (qid and time_s are not in it): a new string. */
char *idem_msg_text(const struct idem_msg *m);
/*
 * Loop: message m (every member set) is committed: its line goes to the
 * journal, before the message reaches the scheduler.
 */
void idem_committed(struct idem *t, const struct idem_msg *m);
/*
 * At start, for each message the queue holds, before the scheduler has it:
 * its key (m->api_idem, if any; the time is its arrival) into the table,
 * and into the journal when the journal lacks it. On the loop; or with
 * is_done (every recipient is done and the recovery removes it next) on
 * the recovery's worker thread, and the line is durable before this
 * returns.
 */
void idem_recovered(struct idem *t, const struct spool_msg *m, int is_done);
/*
 * Loop. The queue has been read back (is_complete), or will not be whole
 * in this run (0: the daemon stops); calls the waiter once. Until then,
 * unknown keys wait.
 */
void idem_recovery_over(struct idem *t, int is_complete);
/* Loop. fn(ctx) when idem_recovery_over() is called: requests that waited ask again. */
void idem_set_waiter(struct idem *t, void (*fn)(void *ctx), void *ctx);
/*
 * Any thread but the loop (the scheduler's workers, before they remove a
 * message with a key): returns once every line handed to the journal so
 * far is durable, or could not be written (logged).
 */
void idem_wait_durable(struct idem *t);

#endif
