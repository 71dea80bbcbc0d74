/*
 * log_event.h - one function per event word, so every line of a kind has
 * the same keys. Ids: a connection id ("c41") before a queue id exists, the
 * queue id after MAIL, and QID.N for the N-th recipient of a message, so
 * that grep QID tells the whole story. Peer-supplied strings are quoted here.
 */
#ifndef STERNA_UTIL_LOG_EVENT_H
#define STERNA_UTIL_LOG_EVENT_H

#include <stddef.h>
#include <stdint.h>

/* ---- the daemon's life: id "-" ---- */
/* The configuration could not be read (file:line: key: reason); the daemon does not start. */
void log_ev_config_error(const char *reason);
/* A listener is bound: name, address, what it speaks ("smtp", "http") and its TLS. */
void log_ev_listening(const char *name, const char *address, const char *proto,
    const char *tls);
void log_ev_ready(const char *version, const char *hostname);
/* A stop signal arrived; the messages in hand are finished first. */
void log_ev_stopping(int sig);
void log_ev_stopped(void);

/* loop: the receiving loop the session runs on (0: the main loop) */
void log_ev_connect(const char *cid, const char *ip, unsigned port, const char *listener,
    unsigned loop);
void log_ev_refused(const char *cid, const char *ip, const char *reason);
/* The client took too long: which deadline ("command", "data", "session", "idle"). */
void log_ev_timeout(const char *cid, const char *ip, const char *which);
/*
 * Accepting stopped for pause_ms: no descriptor (or memory) for a new
 * connection. failures counts them since start; sessions are the open ones.
 */
void log_ev_accept_paused(const char *listener, const char *why, unsigned pause_ms,
    unsigned long failures, unsigned sessions);
void log_ev_helo(const char *cid, const char *verb, const char *name);
/*
 * An AUTH check: result is "ok", "fail" or "blocked"; user is the name the
 * client gave (quoted here), never the password. failures counts this
 * address's failures in the current window; delay_ms is the wait before 535.
 */
void log_ev_auth(const char *cid, const char *ip, const char *mech, const char *user,
    const char *result, unsigned failures, unsigned delay_ms);
void log_ev_mail(const char *qid, const char *cid, const char *from, uint64_t size);
void log_ev_rcpt(const char *qid, const char *to, const char *orig);
void log_ev_reject(const char *id, const char *cmd, const char *arg, int code,
    const char *dsn, const char *reason);
/* The same, naming the rule that refused (a verdict's; "" for none). */
void log_ev_reject_by(const char *id, const char *cmd, const char *arg, int code,
    const char *dsn, const char *reason, const char *rule);
/*
 * An allow or block list decided: list is its name, entry the entry as
 * written, file and line where (the configuration, or the list's file).
 */
void log_ev_listed(const char *id, const char *list, const char *entry, const char *file,
    unsigned line);
/* A message is in the queue: cid names the entrance (a connection id, "pickup", ...). */
void log_ev_received(const char *qid, const char *cid, const char *from, uint64_t size,
    unsigned nrcpt, const char *proto, const char *origin);
void log_ev_delivered(const char *rid, const char *to, const char *mailbox, double delay_s,
    const char *dsn);
void log_ev_deferred(const char *rid, const char *to, unsigned attempt, unsigned next_s,
    const char *reason);
/*
 * A transaction of connection cid ended with no message: the client left,
 * reset or timed out at stage (the session's state: "mail", "rcpt", "data").
 */
void log_ev_aborted(const char *qid, const char *cid, const char *stage, const char *why);
void log_ev_disconnect(const char *cid, unsigned commands, unsigned errors, unsigned messages,
    unsigned rcpts, const char *why);
void log_ev_removed(const char *qid, const char *why);
/* An operator (uid) applied op ("hold", "delete", ...) to message qid. */
void log_ev_operator(const char *qid, const char *op, long uid);
/*
 * A TLS handshake finished: sni is the name the client asked for (NULL:
 * none), cert the configured certificate that answered, discarded the
 * plaintext bytes thrown away after STARTTLS.
 */
void log_ev_tls(const char *cid, const char *version, const char *cipher, const char *sni,
    const char *cert, uint64_t discarded);
/* A TLS handshake failed or timed out; the connection is closed. */
void log_ev_tls_failed(const char *cid, const char *ip, const char *reason);
/*
 * A remote delivery: relay is "host[ip]:port", tls_version and tls_cipher
 * those of the session (NULL: in the clear, logged as tls=no cipher=-),
 * tls_policy the destination's ("none", "may", "encrypt", "verify"),
 * is_verified whether the peer's certificate was verified, reply the next
 * hop's answer.
 */
void log_ev_relayed(const char *rid, const char *to, const char *relay, double delay_s,
    const char *dsn, const char *tls_version, const char *tls_cipher, const char *tls_policy,
    int is_verified, const char *reply);
/* A recipient failed for good; the sender is told by the notice notice_qid ("-" for none). */
void log_ev_bounced(const char *rid, const char *to, const char *relay, const char *dsn,
    const char *reason, const char *notice_qid);
/* A recipient still undelivered after queue.lifetime. */
void log_ev_expired(const char *rid, const char *to, unsigned attempts, const char *reason);
/* An outbound connection: opened, or failed with why. */
/* A destination none of whose hosts took a connection: no new one for for_s. */
void log_ev_dest_down(const char *dest, const char *why, unsigned for_s);
/* A destination that was down took a connection again. */
void log_ev_dest_up(const char *dest);
void log_ev_connect_out(const char *id, const char *relay, const char *why);


/* ---- folder entrances (src/drop): entrance is "pickup" or "maildrop" ---- */
/*
 * A file was taken for queue id qid: file is its name in the folder (or its
 * taken name, when it is taken again after a restart), size its bytes, uid
 * its owner.
 */
void log_ev_taken(const char *qid, const char *entrance, const char *file, uint64_t size,
    long uid);
/* A file could not be taken and was moved to bad/ as bad_name, beside bad_name.reason. */
void log_ev_file_bad(const char *qid, const char *entrance, const char *file,
    const char *bad_name, const char *reason);
/* A file could not be queued now (disk full, I/O): it stays, and is tried again in next_s. */
void log_ev_file_deferred(const char *qid, const char *entrance, const char *file,
    const char *reason, unsigned next_s);
/* A recipient of a file that the core refused; the others are queued. */
void log_ev_rcpt_refused(const char *qid, const char *entrance, const char *to,
    const char *reason);
/* A taken file is gone from the folder; why: "queued", "queued before a restart". */
void log_ev_file_removed(const char *qid, const char *entrance, const char *why);

/* ---- content filters (src/milter): id is the connection's or the message's ---- */
/*
 * A milter is down, too slow or broke the protocol: why, and the default
 * action it stands for from now on ("tempfail", "accept").
 */
void log_ev_milter_failed(const char *id, const char *milter, const char *why,
    const char *action);
/* A change a milter asked for that the content step refused (a bad address ...). */
void log_ev_milter_change_refused(const char *id, const char *milter, const char *change,
    const char *reason);

/* ---- the control socket (src/control): id is the control connection's ("ctl7") ---- */
/* A peer that is not root, server.user, nor in server.user's group; it is disconnected. */
void log_ev_control_refused(const char *id, long uid, long gid, long pid);
/* What a control request selects: NULL (0) where it says nothing. */
struct log_ctl_sel {
	const char *qid, *states, *sender, *rcpt, *domain;
	uint64_t min_age_s, max_age_s;
	int is_all;
};
/*
 * A control request from the operator uid: op, and for listings and
 * operations what it selects (the scheduler logs each message it touches).
 * is_quiet (status requests, which monitors poll) logs at debug level.
 */
void log_ev_control(int is_quiet, const char *id, long uid, const char *op,
    const struct log_ctl_sel *sel);
/* An operation applied: how many messages matched, are done, and failed. */
void log_ev_control_done(const char *id, long uid, const char *op, size_t matched, size_t done,
    size_t failed);
/* A request refused with an error code of docs/control.md. */
void log_ev_control_error(const char *id, long uid, const char *code);

/* ---- the HTTP API (src/http): id is the request's ("h7.2": connection 7, request 2) ---- */
/*
 * A request answered: its method and path (as sent: quoted), the status,
 * the key that made it ("-" for none), the error code ("-" for none) and
 * how long it took. Errors of the client's (4xx) log at info, 5xx at warning.
 */
void log_ev_http(const char *id, const char *peer, const char *method, const char *path,
    int status, const char *key, const char *code, uint64_t ms);
/*
 * A connection's request refused before any handler saw it (its framing,
 * its size, too slow): the status, code and why; the connection is closed.
 */
void log_ev_http_refused(const char *id, const char *peer, int status, const char *code,
    const char *why);
/* A dashboard login with the API key key_id ("-": none of ours): result "ok" or "refused" (why). */
void log_ev_dashboard_login(const char *id, const char *key_id, const char *result,
    const char *why);
/* An operation on the queue by an API key: as log_ev_control_done. */
void log_ev_http_op(const char *id, const char *key, const char *op, size_t matched, size_t done,
    size_t failed);

#endif
