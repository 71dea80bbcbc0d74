/*
 * log_event.c - the event lines: "ID EVENT key=value ...".
 */
#include "log_event.h"

#include <stdio.h>

#include "log.h"

#define Q(s, b) log_quote_str((s), (b))

void
log_ev_connect(const char *cid, const char *ip, unsigned port, const char *listener)
{
	log_event(LOG_INFO, cid, "connect", "ip=%s port=%u listener=%s", ip, port, listener);
}

void
log_ev_refused(const char *cid, const char *ip, const char *reason)
{
	char b[LOG_QUOTE_SIZE];

	log_event(LOG_INFO, cid, "refused", "ip=%s reason=%s", ip, Q(reason, b));
}

void
log_ev_timeout(const char *cid, const char *ip, const char *which)
{
	log_event(LOG_INFO, cid, "timeout", "ip=%s deadline=%s", ip, which);
}

void
log_ev_accept_paused(const char *listener, const char *why, unsigned pause_ms,
    unsigned long failures, unsigned sessions)
{
	char b[LOG_QUOTE_SIZE];

	log_event(LOG_WARN, "-", "accept_paused",
	    "listener=%s reason=%s pause_ms=%u failures=%lu sessions=%u", listener,
	    Q(why, b), pause_ms, failures, sessions);
}

void
log_ev_helo(const char *cid, const char *verb, const char *name)
{
	char b[LOG_QUOTE_SIZE];

	log_event(LOG_INFO, cid, "helo", "verb=%s name=%s", verb, Q(name, b));
}

void
log_ev_auth(const char *cid, const char *ip, const char *mech, const char *user,
    const char *result, unsigned failures, unsigned delay_ms)
{
	char b[LOG_QUOTE_SIZE];

	log_event(LOG_INFO, cid, "auth", "result=%s mech=%s user=%s ip=%s failures=%u delay_ms=%u",
	    result, mech, Q(user, b), ip, failures, delay_ms);
}

void
log_ev_mail(const char *qid, const char *cid, const char *from, uint64_t size)
{
	char b[LOG_QUOTE_SIZE];

	log_event(LOG_INFO, qid, "mail", "conn=%s from=<%s> size=%llu", cid, Q(from, b),
	    (unsigned long long)size);
}

void
log_ev_rcpt(const char *qid, const char *to, const char *orig)
{
	char b1[LOG_QUOTE_SIZE], b2[LOG_QUOTE_SIZE];

	log_event(LOG_INFO, qid, "rcpt", "to=<%s> orig=<%s>", Q(to, b1), Q(orig, b2));
}

void
log_ev_reject(const char *id, const char *cmd, const char *arg, int code, const char *dsn,
    const char *reason)
{
	log_ev_reject_by(id, cmd, arg, code, dsn, reason, "");
}

void
log_ev_reject_by(const char *id, const char *cmd, const char *arg, int code, const char *dsn,
    const char *reason, const char *rule)
{
	char b1[LOG_QUOTE_SIZE], b2[LOG_QUOTE_SIZE], b3[LOG_QUOTE_SIZE];

	if (rule == NULL || rule[0] == '\0')
		log_event(LOG_INFO, id, "reject", "cmd=%s arg=%s code=%d dsn=%s reason=%s", cmd,
		    Q(arg, b1), code, dsn && dsn[0] ? dsn : "-", Q(reason, b2));
	else
		log_event(LOG_INFO, id, "reject", "cmd=%s arg=%s code=%d dsn=%s reason=%s rule=%s",
		    cmd, Q(arg, b1), code, dsn && dsn[0] ? dsn : "-", Q(reason, b2), Q(rule, b3));
}

void
log_ev_listed(const char *id, const char *list, const char *entry, const char *file,
    unsigned line)
{
	char b1[LOG_QUOTE_SIZE], b2[LOG_QUOTE_SIZE];

	log_event(LOG_INFO, id, "listed", "list=%s entry=%s at=%s:%u", list, Q(entry, b1),
	    Q(file ? file : "-", b2), line);
}

void
log_ev_received(const char *qid, const char *cid, const char *from, uint64_t size,
    unsigned nrcpt, const char *proto, const char *origin)
{
	char b[LOG_QUOTE_SIZE];

	log_event(LOG_INFO, qid, "received",
	    "conn=%s from=<%s> size=%llu nrcpt=%u proto=%s origin=%s",
	    cid, Q(from, b), (unsigned long long)size, nrcpt, proto, origin);
}

void
log_ev_delivered(const char *rid, const char *to, const char *mailbox, double delay_s,
    const char *dsn)
{
	char b[LOG_QUOTE_SIZE];

	log_event(LOG_INFO, rid, "delivered", "to=<%s> mailbox=%s delay=%.3f dsn=%s",
	    Q(to, b), mailbox, delay_s, dsn);
}

void
log_ev_deferred(const char *rid, const char *to, unsigned attempt, unsigned next_s,
    const char *reason)
{
	char b1[LOG_QUOTE_SIZE], b2[LOG_QUOTE_SIZE];

	log_event(LOG_WARN, rid, "deferred", "to=<%s> attempt=%u next_s=%u reason=%s",
	    Q(to, b1), attempt, next_s, Q(reason, b2));
}

void
log_ev_disconnect(const char *cid, unsigned commands, unsigned errors, unsigned messages,
    unsigned rcpts, const char *why)
{
	log_event(LOG_INFO, cid, "disconnect", "commands=%u errors=%u messages=%u rcpts=%u why=%s",
	    commands, errors, messages, rcpts, why);
}

void
log_ev_removed(const char *qid, const char *why)
{
	log_event(LOG_INFO, qid, "removed", "why=%s", why);
}

void
log_ev_operator(const char *qid, const char *op, long uid)
{
	log_event(LOG_INFO, qid, "operator", "op=%s uid=%ld", op, uid);
}

void
log_ev_tls(const char *cid, const char *version, const char *cipher, const char *sni,
    const char *cert, uint64_t discarded)
{
	char b[LOG_QUOTE_SIZE];

	/* the server name comes from the client */
	log_event(LOG_INFO, cid, "tls", "version=%s cipher=%s sni=%s cert=%s discarded=%llu",
	    version, cipher, sni ? Q(sni, b) : "-", cert, (unsigned long long)discarded);
}

void
log_ev_tls_failed(const char *cid, const char *ip, const char *reason)
{
	char b[LOG_QUOTE_SIZE];

	log_event(LOG_INFO, cid, "tls_failed", "ip=%s reason=%s", ip, Q(reason, b));
}

void
log_ev_relayed(const char *rid, const char *to, const char *relay, double delay_s,
    const char *dsn, const char *tls_version, const char *tls_cipher, const char *tls_policy,
    int is_verified, const char *reply)
{
	char b1[LOG_QUOTE_SIZE], b2[LOG_QUOTE_SIZE], b3[LOG_QUOTE_SIZE];

	log_event(LOG_INFO, rid, "delivered", "to=<%s> relay=%s delay=%.3f dsn=%s tls=%s "
	    "cipher=%s tls_policy=%s verified=%s reply=%s", Q(to, b1), Q(relay, b2), delay_s, dsn,
	    tls_version ? tls_version : "no", tls_cipher ? tls_cipher : "-", tls_policy,
	    is_verified ? "yes" : "no", Q(reply, b3));
}

void
log_ev_bounced(const char *rid, const char *to, const char *relay, const char *dsn,
    const char *reason, const char *notice_qid)
{
	char b1[LOG_QUOTE_SIZE], b2[LOG_QUOTE_SIZE], b3[LOG_QUOTE_SIZE];

	log_event(LOG_WARN, rid, "bounced", "to=<%s> relay=%s dsn=%s reason=%s notice=%s",
	    Q(to, b1), Q(relay, b2), dsn, Q(reason, b3), notice_qid);
}

void
log_ev_expired(const char *rid, const char *to, unsigned attempts, const char *reason)
{
	char b1[LOG_QUOTE_SIZE], b2[LOG_QUOTE_SIZE];

	log_event(LOG_WARN, rid, "expired", "to=<%s> attempts=%u reason=%s", Q(to, b1), attempts,
	    Q(reason, b2));
}

void
log_ev_dest_down(const char *dest, const char *why, unsigned for_s)
{
	char b[LOG_QUOTE_SIZE], w[LOG_QUOTE_SIZE];

	log_event(LOG_WARN, "-", "dest_down", "dest=%s for_s=%u reason=%s", Q(dest, b), for_s,
	    Q(why, w));
}

void
log_ev_dest_up(const char *dest)
{
	char b[LOG_QUOTE_SIZE];

	log_event(LOG_INFO, "-", "dest_up", "dest=%s", Q(dest, b));
}

void
log_ev_connect_out(const char *id, const char *relay, const char *why)
{
	char b1[LOG_QUOTE_SIZE], b2[LOG_QUOTE_SIZE];

	if (why == NULL)
		log_event(LOG_INFO, id, "connect-out", "relay=%s", Q(relay, b1));
	else
		log_event(LOG_INFO, id, "connect-out", "relay=%s error=%s", Q(relay, b1), Q(why, b2));
}

void
log_ev_taken(const char *qid, const char *entrance, const char *file, uint64_t size, long uid)
{
	char b[LOG_QUOTE_SIZE];

	/* file names are chosen by whoever wrote the file */
	log_event(LOG_INFO, qid, "taken", "entrance=%s file=%s size=%llu uid=%ld", entrance,
	    Q(file, b), (unsigned long long)size, uid);
}

void
log_ev_file_bad(const char *qid, const char *entrance, const char *file, const char *bad_name,
    const char *reason)
{
	char b1[LOG_QUOTE_SIZE], b2[LOG_QUOTE_SIZE], b3[LOG_QUOTE_SIZE];

	log_event(LOG_WARN, qid, "file_bad", "entrance=%s file=%s moved=bad/%s reason=%s", entrance,
	    Q(file, b1), Q(bad_name, b2), Q(reason, b3));
}

void
log_ev_file_deferred(const char *qid, const char *entrance, const char *file,
    const char *reason, unsigned next_s)
{
	char b1[LOG_QUOTE_SIZE], b2[LOG_QUOTE_SIZE];

	log_event(LOG_WARN, qid, "file_deferred", "entrance=%s file=%s next_s=%u reason=%s",
	    entrance, Q(file, b1), next_s, Q(reason, b2));
}

void
log_ev_rcpt_refused(const char *qid, const char *entrance, const char *to, const char *reason)
{
	char b1[LOG_QUOTE_SIZE], b2[LOG_QUOTE_SIZE];

	log_event(LOG_WARN, qid, "rcpt_refused", "entrance=%s to=<%s> reason=%s", entrance,
	    Q(to, b1), Q(reason, b2));
}

void
log_ev_file_removed(const char *qid, const char *entrance, const char *why)
{
	char b[LOG_QUOTE_SIZE];

	log_event(LOG_INFO, qid, "file_removed", "entrance=%s why=%s", entrance, Q(why, b));
}

void
log_ev_control_refused(const char *id, long uid, long gid, long pid)
{
	log_event(LOG_WARN, id, "control_refused", "uid=%ld gid=%ld pid=%ld", uid, gid, pid);
}

void
log_ev_control(int is_quiet, const char *id, long uid, const char *op,
    const struct log_ctl_sel *sel)
{
	char b1[LOG_QUOTE_SIZE], b2[LOG_QUOTE_SIZE], b3[LOG_QUOTE_SIZE], sender[LOG_QUOTE_SIZE + 2];
	static const struct log_ctl_sel none = { 0 };

	if (sel == NULL)
		sel = &none;
	/* the operator typed these: quoted like any text from outside; "" is <> */
	if (sel->sender == NULL)
		snprintf(sender, sizeof(sender), "-");
	else
		snprintf(sender, sizeof(sender), "<%s>", sel->sender[0] ? Q(sel->sender, b1) : "");
	log_event(is_quiet ? LOG_DEBUG : LOG_INFO, id, "control",
	    "uid=%ld op=%s id=%s state=%s sender=%s recipient=%s domain=%s "
	    "min_age_s=%llu max_age_s=%llu all=%s", uid, op,
	    sel->qid ? sel->qid : "-", sel->states ? sel->states : "-", sender,
	    sel->rcpt ? Q(sel->rcpt, b2) : "-", sel->domain ? Q(sel->domain, b3) : "-",
	    (unsigned long long)sel->min_age_s, (unsigned long long)sel->max_age_s,
	    sel->is_all ? "yes" : "no");
}

void
log_ev_control_done(const char *id, long uid, const char *op, size_t matched, size_t done,
    size_t failed)
{
	log_event(failed ? LOG_WARN : LOG_INFO, id, "control_done",
	    "uid=%ld op=%s matched=%zu done=%zu failed=%zu", uid, op, matched, done, failed);
}

void
log_ev_control_error(const char *id, long uid, const char *code)
{
	log_event(LOG_INFO, id, "control_error", "uid=%ld code=%s", uid, code);
}

void
log_ev_http(const char *id, const char *peer, const char *method, const char *path, int status,
    const char *key, const char *code, uint64_t ms)
{
	char b[LOG_QUOTE_SIZE];

	log_event(status >= 500 ? LOG_WARN : LOG_INFO, id, "http",
	    "peer=%s method=%s path=%s status=%d key=%s code=%s ms=%llu", peer, method,
	    Q(path, b), status, key != NULL ? key : "-", code != NULL ? code : "-",
	    (unsigned long long)ms);
}

void
log_ev_http_refused(const char *id, const char *peer, int status, const char *code,
    const char *why)
{
	log_event(LOG_INFO, id, "http_refused", "peer=%s status=%d code=%s why=\"%s\"", peer,
	    status, code, why);
}

void
log_ev_http_op(const char *id, const char *key, const char *op, size_t matched, size_t done,
    size_t failed)
{
	log_event(failed ? LOG_WARN : LOG_INFO, id, "http_op",
	    "key=%s op=%s matched=%zu done=%zu failed=%zu", key, op, matched, done, failed);
}

void
log_ev_milter_failed(const char *id, const char *milter, const char *why, const char *action)
{
	char b1[LOG_QUOTE_SIZE], b2[LOG_QUOTE_SIZE];

	log_event(LOG_WARN, id, "milter_failed", "milter=%s action=%s why=%s", Q(milter, b1),
	    action, Q(why, b2));
}

void
log_ev_milter_change_refused(const char *id, const char *milter, const char *change,
    const char *reason)
{
	char b1[LOG_QUOTE_SIZE], b2[LOG_QUOTE_SIZE];

	log_event(LOG_WARN, id, "milter_change_refused", "milter=%s change=%s reason=%s",
	    Q(milter, b1), change, Q(reason, b2));
}
