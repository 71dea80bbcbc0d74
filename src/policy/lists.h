/*
 * lists.h - the allow and block lists of policy { }: clients by address
 * and by verified host name, HELO names, envelope senders and recipients
 * (docs/configuration.md, "policy"). Each list has entries in the
 * configuration and, or, in a file that is read again when it changes.
 *
 * The policy engine asks at each stage; the lists answer for the kinds
 * judged there, and say nothing of the others:
 *
 *   CONNECT  client addresses, then client names: allow_clients and
 *            allow_client_names first, then block_clients and
 *            block_client_names
 *   HELO     req->helo: allow_helo, then block_helo
 *   MAIL     req->sender (<> too): allow_senders, then block_senders
 *   RCPT     req->rcpt: allow_recipients, then block_recipients
 *   others   nothing (POLICY_LISTS_NONE)
 *
 * An allow list beats the block list of its kind: a client in both
 * allow_clients and block_clients is allowed. What the engine does with
 * an allow beyond that is its own business: POLICY_LISTS_ALLOW at CONNECT
 * means the client is allow-listed for the session (the engine keeps a
 * flag: it skips DNSBL and reverse DNS checks, and client-based blocks at
 * later stages); this module keeps no per-session state and judges each
 * question on its own, so the engine decides whether to ask at HELO, MAIL
 * and RCPT for an allow-listed client at all.
 *
 * No I/O but the list files (stat at most once a second each, and a read
 * when one changed), no threads, no replies: a verdict.
 */
#ifndef STERNA_POLICY_LISTS_H
#define STERNA_POLICY_LISTS_H

#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "smtp/session.h"
#include "util/verdict.h"

struct policy_lists;

enum policy_lists_result {
	POLICY_LISTS_NONE,	/* no list decides: go on with other checks */
	POLICY_LISTS_ALLOW,	/* an allow list matched: skip the block lists of this kind */
	POLICY_LISTS_BLOCK,	/* a block list matched: *v_out is the refusal */
};

/* Which entry decided, for the engine's log line. */
struct policy_list_hit {
	enum config_list_id list;
	const char *name;	/* the list's key: "block_senders" (static) */
	/*
	 * The entry as written (an operator's bytes, but a local part may
	 * hold anything: log it through log_quote()).
	 */
	char entry[CONFIG_ENTRY_MAX + 1];
	const char *file;	/* the configuration file or the list file: borrowed from the config */
	unsigned line;
};

/*
 * Returns new lists from c's policy { } (borrowed: c must outlive them),
 * with every list file read. NULL when a file cannot be read or holds a
 * bad entry, with "FILE:LINE: reason" in err (errsize bytes): at start,
 * that stops the daemon, and sterna check says it.
 */
struct policy_lists *policy_lists_new(const struct config *c, char *err, size_t errsize);
/* Frees *l and sets it to NULL; l may point to NULL. */
void policy_lists_free(struct policy_lists **l);

/*
 * Judges what req asks about at its stage (the table above); req and
 * client_name are borrowed for the call. client_name is the client's
 * host name as forward-confirmed reverse DNS verified it, NULL when none
 * was (or it was not looked up): the name lists then match nothing.
 * *v_out is always set: ACCEPT for NONE and ALLOW; for BLOCK a REJECT
 * (554 5.7.1 at CONNECT, 550 5.7.1 at the others) or, with
 * policy.block_tempfail, a TEMPFAIL (421 4.7.1 at CONNECT: a greeting is
 * 220 or 554, and 421 may answer anything, RFC 5321 4.3.2; 450 4.7.1 at
 * the others),
 * rule = the list's name, and a text naming the client, name or address
 * and the list: "Client host [192.0.2.1] rejected: listed in
 * block_clients". hit_out (may be NULL) says which entry decided for
 * ALLOW and BLOCK, and is zeroed for NONE.
 *
 * To skip reverse DNS for an allow-listed address, the engine may ask at
 * CONNECT first with client_name NULL: POLICY_LISTS_ALLOW is then final;
 * any other answer is final only when policy_lists_has_client_names() is
 * 0, else it asks again with the verified name (allow_client_names could
 * still allow the client).
 *
 * The files of the lists consulted are looked at first (at most once a
 * second each) and read again if they changed; a file that no longer
 * reads keeps the entries it had, with a warning in the log.
 */
enum policy_lists_result policy_lists_judge(struct policy_lists *l, const struct smtp_ask *req,
    const char *client_name, struct verdict *v_out, struct policy_list_hit *hit_out);

/* 1 if allow_client_names or block_client_names has entries (or a file): names matter. */
int policy_lists_has_client_names(const struct policy_lists *l);
/* The number of entries in list id, the configuration's and its file's. */
size_t policy_lists_count(const struct policy_lists *l, enum config_list_id id);
/*
 * The clock the once-a-second look at files goes by: clock_mono_ms()
 * unless set. For tests, which move time on instead of sleeping.
 */
void policy_lists_set_clock(struct policy_lists *l, uint64_t (*now_ms)(void *ctx), void *ctx);

#endif
