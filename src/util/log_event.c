/*
 * log_event.c - the event lines: "ID EVENT key=value ...", one function per
 * event word so that every line of a kind has the same keys. Text from
 * outside (addresses, names a client gave) is bounded by log_quote(); the
 * server's own reasons, and a next hop's reply, by log_quote_text() only.
 */
#include "log_event.h"

#include <stdio.h>

#include "log.h"

#define Q(s, b) log_quote_str((s), (b))
#define T(s, b) log_quote_text((s), (b))
#define A(s, b) log_addr((s), (b))

void
log_ev_config_error(const char *reason)
{
	char b[LOG_TEXT_SIZE];

	log_event(LOG_ERR, "-", "config_error", "reason=%s", T(reason, b));
}

void
log_ev_listening(const char *name, const char *address, const char *proto, const char *tls)
{
	log_event(LOG_INFO, "-", "listening", "listener=%s address=%s proto=%s tls=%s", name,
	    address, proto, tls);
}

void
log_ev_ready(const char *version, const char *hostname)
{
	log_event(LOG_INFO, "-", "ready", "version=%s hostname=%s", version, hostname);
}

void
log_ev_stopping(int sig)
{
	log_event(LOG_INFO, "-", "stopping", "signal=%d", sig);
}

void
log_ev_stopped(void)
{
	log_event(LOG_INFO, "-", "stopped", "%s", "");
}

void
log_ev_connect(const char *cid, const char *ip, unsigned port, const char *listener,
    unsigned loop)
{
	log_event(LOG_INFO, cid, "connect", "ip=%s port=%u listener=%s loop=%u", ip, port, listener,
	    loop);
}

void
log_ev_refused(const char *cid, const char *ip, const char *reason)
{
	char b[LOG_TEXT_SIZE];

	log_event(LOG_INFO, cid, "refused", "ip=%s reason=%s", ip, T(reason, b));
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
	char b[LOG_TEXT_SIZE];

	log_event(LOG_WARN, "-", "accept_paused",
	    "listener=%s reason=%s pause_ms=%u failures=%lu sessions=%u", listener,
	    T(why, b), pause_ms, failures, sessions);
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

	log_event(LOG_INFO, qid, "mail", "conn=%s from=%s size=%llu", cid, A(from, b),
	    (unsigned long long)size);
}

void
log_ev_rcpt(const char *qid, const char *to, const char *orig)
{
	char b1[LOG_ADDR_SIZE], b2[LOG_ADDR_SIZE];

	log_event(LOG_INFO, qid, "rcpt", "to=%s orig=%s", A(to, b1), A(orig, b2));
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
	char b1[LOG_QUOTE_SIZE], b2[LOG_TEXT_SIZE], b3[LOG_QUOTE_SIZE];

	if (rule == NULL || rule[0] == '\0')
		log_event(LOG_INFO, id, "reject", "cmd=%s arg=%s code=%d dsn=%s reason=%s", cmd,
		    Q(arg, b1), code, dsn && dsn[0] ? dsn : "-", T(reason, b2));
	else
		log_event(LOG_INFO, id, "reject", "cmd=%s arg=%s code=%d dsn=%s reason=%s rule=%s",
		    cmd, Q(arg, b1), code, dsn && dsn[0] ? dsn : "-", T(reason, b2), Q(rule, b3));
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
	char b[LOG_ADDR_SIZE];

	log_event(LOG_INFO, qid, "received",
	    "conn=%s from=%s size=%llu nrcpt=%u proto=%s origin=%s",
	    cid, A(from, b), (unsigned long long)size, nrcpt, proto, origin);
}

void
log_ev_delivered(const char *rid, const char *to, const char *mailbox, double delay_s,
    const char *dsn)
{
	char b[LOG_ADDR_SIZE], m[LOG_TEXT_SIZE];

	log_event(LOG_INFO, rid, "delivered", "to=%s mailbox=%s delay=%.3f dsn=%s",
	    A(to, b), T(mailbox, m), delay_s, dsn);
}

void
log_ev_deferred(const char *rid, const char *to, unsigned attempt, unsigned next_s,
    const char *reason)
{
	char b1[LOG_ADDR_SIZE], b2[LOG_TEXT_SIZE];

	log_event(LOG_WARN, rid, "deferred", "to=%s attempt=%u next_s=%u reason=%s",
	    A(to, b1), attempt, next_s, T(reason, b2));
}

void
log_ev_aborted(const char *qid, const char *cid, const char *stage, const char *why)
{
	log_event(LOG_INFO, qid, "aborted", "conn=%s stage=%s why=%s", cid, stage, why);
}

void
log_ev_disconnect(const char *cid, unsigned commands, unsigned errors, unsigned messages,
    unsigned rcpts, const char *why)
{
	char b[LOG_TEXT_SIZE];

	log_event(LOG_INFO, cid, "disconnect", "commands=%u errors=%u messages=%u rcpts=%u why=%s",
	    commands, errors, messages, rcpts, T(why, b));
}

void
log_ev_removed(const char *qid, const char *why)
{
	char b[LOG_TEXT_SIZE];

	log_event(LOG_INFO, qid, "removed", "why=%s", T(why, b));
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
	char b[LOG_TEXT_SIZE];

	log_event(LOG_INFO, cid, "tls_failed", "ip=%s reason=%s", ip, T(reason, b));
}

void
log_ev_relayed(const char *rid, const char *to, const char *relay, double delay_s,
    const char *dsn, const char *tls_version, const char *tls_cipher, const char *tls_policy,
    int is_verified, const char *reply)
{
	char b1[LOG_ADDR_SIZE], b2[LOG_QUOTE_SIZE], b3[LOG_TEXT_SIZE];

	log_event(LOG_INFO, rid, "delivered", "to=%s relay=%s delay=%.3f dsn=%s tls=%s "
	    "cipher=%s tls_policy=%s verified=%s reply=%s", A(to, b1), Q(relay, b2), delay_s, dsn,
	    tls_version ? tls_version : "no", tls_cipher ? tls_cipher : "-", tls_policy,
	    is_verified ? "yes" : "no", T(reply, b3));
}

void
log_ev_bounced(const char *rid, const char *to, const char *relay, const char *dsn,
    const char *reason, const char *notice_qid)
{
	char b1[LOG_ADDR_SIZE], b2[LOG_QUOTE_SIZE], b3[LOG_TEXT_SIZE];

	log_event(LOG_WARN, rid, "bounced", "to=%s relay=%s dsn=%s reason=%s notice=%s",
	    A(to, b1), Q(relay, b2), dsn, T(reason, b3), notice_qid);
}

void
log_ev_expired(const char *rid, const char *to, unsigned attempts, const char *reason)
{
	char b1[LOG_ADDR_SIZE], b2[LOG_TEXT_SIZE];

	log_event(LOG_WARN, rid, "expired", "to=%s attempts=%u reason=%s", A(to, b1), attempts,
	    T(reason, b2));
}

void
log_ev_dest_down(const char *dest, const char *why, unsigned for_s)
{
	char b[LOG_QUOTE_SIZE], w[LOG_TEXT_SIZE];

	log_event(LOG_WARN, "-", "dest_down", "dest=%s for_s=%u reason=%s", Q(dest, b), for_s,
	    T(why, w));
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
	char b1[LOG_QUOTE_SIZE], b2[LOG_TEXT_SIZE];

	if (why == NULL)
		log_event(LOG_INFO, id, "connect_out", "relay=%s", Q(relay, b1));
	else
		log_event(LOG_INFO, id, "connect_out", "relay=%s error=%s", Q(relay, b1), T(why, b2));
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
	char b1[LOG_QUOTE_SIZE], b2[LOG_QUOTE_SIZE], b3[LOG_TEXT_SIZE], moved[LOG_QUOTE_MAX + 8];

	snprintf(moved, sizeof(moved), "bad/%s", bad_name);
	log_event(LOG_WARN, qid, "file_bad", "entrance=%s file=%s moved=%s reason=%s", entrance,
	    Q(file, b1), Q(moved, b2), T(reason, b3));
}

void
log_ev_file_deferred(const char *qid, const char *entrance, const char *file,
    const char *reason, unsigned next_s)
{
	char b1[LOG_QUOTE_SIZE], b2[LOG_TEXT_SIZE];

	log_event(LOG_WARN, qid, "file_deferred", "entrance=%s file=%s next_s=%u reason=%s",
	    entrance, Q(file, b1), next_s, T(reason, b2));
}

void
log_ev_rcpt_refused(const char *qid, const char *entrance, const char *to, const char *reason)
{
	char b1[LOG_ADDR_SIZE], b2[LOG_TEXT_SIZE];

	log_event(LOG_WARN, qid, "rcpt_refused", "entrance=%s to=%s reason=%s", entrance,
	    A(to, b1), T(reason, b2));
}

void
log_ev_file_removed(const char *qid, const char *entrance, const char *why)
{
	char b[LOG_TEXT_SIZE];

	log_event(LOG_INFO, qid, "file_removed", "entrance=%s why=%s", entrance, T(why, b));
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
	char b1[LOG_ADDR_SIZE], b2[LOG_QUOTE_SIZE], b3[LOG_QUOTE_SIZE];
	static const struct log_ctl_sel none = { 0 };

	if (sel == NULL)
		sel = &none;
	/* the operator typed these: quoted like any text from outside; "" is <> */
	log_event(is_quiet ? LOG_DEBUG : LOG_INFO, id, "control",
	    "uid=%ld op=%s qid=%s state=%s sender=%s recipient=%s domain=%s "
	    "min_age_s=%llu max_age_s=%llu all=%s", uid, op,
	    sel->qid ? sel->qid : "-", sel->states ? sel->states : "-", sel->sender ? A(sel->sender, b1) : "-",
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
	char b[LOG_TEXT_SIZE];

	log_event(LOG_INFO, id, "http_refused", "peer=%s status=%d code=%s why=%s", peer,
	    status, code, T(why, b));
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
	char b1[LOG_QUOTE_SIZE], b2[LOG_TEXT_SIZE];

	log_event(LOG_WARN, id, "milter_failed", "milter=%s action=%s why=%s", Q(milter, b1),
	    action, T(why, b2));
}

void
log_ev_milter_change_refused(const char *id, const char *milter, const char *change,
    const char *reason)
{
	char b1[LOG_QUOTE_SIZE], b2[LOG_TEXT_SIZE];

	log_event(LOG_WARN, id, "milter_change_refused", "milter=%s change=%s reason=%s",
	    Q(milter, b1), change, T(reason, b2));
}

void
log_ev_dashboard_login(const char *id, const char *key_id, const char *result, const char *why)
{
	char b[LOG_TEXT_SIZE];

	if (why == NULL)
		log_event(LOG_INFO, id, "dashboard_login", "result=%s key=%s", result, key_id);
	else
		log_event(LOG_INFO, id, "dashboard_login", "result=%s key=%s reason=%s", result,
		    key_id, T(why, b));
}
