/*
 * dnsbl.h - what DNS says about a client: whether DNS blocklists list its
 * address (dnsbl.c), and whether its reverse DNS name is forward-confirmed
 * (rdns.c). Both are asked when the client connects, so that the answers
 * come in while the greeting is prepared, and both end within their
 * timeout whatever DNS does. What a policy engine makes of a result is a
 * verdict (dnsbl_judge.c, pure); never a reply.
 *
 * Ownership: a check is started by its owner (the connection) and ends
 * either when its done() callback has returned or when the owner cancels
 * it, whichever comes first; the handle is gone after either. done() runs
 * once, on a later turn of the loop, never inside the call that started
 * the check. The result passed to done() is borrowed for the call; the
 * names and zones in it point into the configuration the struct dnsbl was
 * made from.
 */
#ifndef STERNA_POLICY_DNSBL_H
#define STERNA_POLICY_DNSBL_H

#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "dns/answer.h"
#include "util/verdict.h"

struct dns;
struct event_base;

/* ---- DNS blocklists ---- */

enum dnsbl_state {
	DNSBL_PENDING,		/* not answered yet; never in a result given to done() */
	DNSBL_CLEAN,		/* no such name, or no returned address that counts */
	DNSBL_LISTED,		/* a returned address counts (code) */
	DNSBL_TIMEOUT,		/* no answer within policy.dnsbl_timeout: counts as not listed */
	DNSBL_FAILED,		/* SERVFAIL and the like, or the list's error code: not listed */
};

struct dnsbl_list_result {
	const char *name;		/* the list's section name (the configuration's) */
	const char *zone;		/* the list's zone (the configuration's) */
	unsigned weight;
	enum dnsbl_state state;
	/*
	 * LISTED: the first returned address that counts ("127.0.0.2");
	 * FAILED: the list's error code (127.255.255.0/24) when it gave one;
	 * otherwise "".
	 */
	char code[DNS_IP_TEXT_MAX];
	int is_cached;			/* the answer came from the cache */
};

struct dnsbl_result {
	char ip[DNS_IP_TEXT_MAX];	/* the client, as given */
	unsigned score;			/* the sum of the weights of the lists in state LISTED */
	unsigned threshold;		/* policy.dnsbl_threshold */
	size_t nlists;			/* one per configured list, in configuration order */
	struct dnsbl_list_result lists[CONFIG_DNSBL_MAX];
};

/* The client checks of one configuration, with their answer cache. */
struct dnsbl;
/* One client against every list. */
struct dnsbl_check;

/*
 * Returns a new set of checks for the lists of c (borrowed: it must
 * outlive the struct dnsbl and every check started from it), asking d on
 * base (borrowed too: d must outlive every check, which cancels its
 * queries when it ends).
 */
struct dnsbl *dnsbl_new(const struct config *c, struct dns *d, struct event_base *base);
/*
 * Lets go of *b and sets *b to NULL; b may point to NULL. Checks still
 * running keep it until they end, so a reload may drop the old one at once.
 */
void dnsbl_free(struct dnsbl **b);

/*
 * Asks every list about ip (text, copied) at once, each zone once, the
 * cache first. done(ctx, r) runs when every list has answered, or when
 * policy.dnsbl_timeout has passed (the lists still out are TIMEOUT then),
 * with r->score set. With no lists configured it runs on the next turn
 * with nlists 0. An ip that is no address gives FAILED for every list.
 */
struct dnsbl_check *dnsbl_check_start(struct dnsbl *b, const char *ip,
    void (*done)(void *ctx, const struct dnsbl_result *r), void *ctx);
/*
 * Ends *chk without its callback (the client went away) and sets *chk to
 * NULL; *chk may be NULL. From inside the check's own done() it does
 * nothing but clear *chk.
 */
void dnsbl_check_cancel(struct dnsbl_check **chk);

/* ---- forward-confirmed reverse DNS (rdns.c) ---- */

/* PTR names looked up forward, at most: each is one more query. */
#define FCRDNS_NAMES_MAX 5

enum fcrdns_status {
	FCRDNS_VERIFIED,	/* a PTR name of ip has ip among its addresses */
	FCRDNS_NONE,		/* no PTR, or none of its names resolves back to ip */
	FCRDNS_TEMPFAIL,	/* a lookup failed for now, or policy.fcrdns_timeout passed */
};

struct fcrdns_result {
	enum fcrdns_status status;
	char ip[DNS_IP_TEXT_MAX];	/* the client, as given */
	/* VERIFIED: the name that resolves back to ip, lowercase, no final dot; else "" */
	char name[DNS_NAME_MAX + 1];
	/*
	 * The first PTR name, verified or not ("" if none): for logs (through
	 * log_quote: anyone may write anything there), never for decisions.
	 */
	char ptr_name[DNS_NAME_MAX + 1];
	int is_required;		/* policy.require_fcrdns when the check started */
};

struct fcrdns_check;

/*
 * The PTR names of ip (text, copied), then the addresses of up to
 * FCRDNS_NAMES_MAX of them in ip's family, at once: VERIFIED as soon as one
 * has ip among them (the other lookups are cancelled), else NONE or
 * TEMPFAIL when all are back; TEMPFAIL at policy.fcrdns_timeout. Names
 * that are no host names (or are addresses) are not looked up. done() as
 * for dnsbl_check_start.
 */
struct fcrdns_check *fcrdns_check_start(struct dnsbl *b, const char *ip,
    void (*done)(void *ctx, const struct fcrdns_result *r), void *ctx);
/* As dnsbl_check_cancel. */
void fcrdns_check_cancel(struct fcrdns_check **chk);

/* ---- what the answers mean (dnsbl_judge.c, pure) ---- */

/*
 * 1 if a (a returned address, text) counts as listed for l: it is in one
 * of l's answers, or, when l has none, in 127.0.0.0/8 and not in
 * 127.255.255.0/24.
 */
int dnsbl_answer_counts(const struct config_dnsbl *l, const char *a);
/*
 * The state of list l after reply r to its query: LISTED (the first
 * address that counts into code_out), CLEAN, or FAILED (a temporary
 * failure; or, with no address that counts, an address in
 * 127.255.255.0/24, the list's way of refusing to answer, into code_out).
 * code_out holds DNS_IP_TEXT_MAX bytes; "" when there is no code.
 */
enum dnsbl_state dnsbl_judge_reply(const struct config_dnsbl *l, const struct dns_reply *r,
    char *code_out);
/* Sets r->score: the sum of the weights of the lists in state LISTED. */
void dnsbl_result_score(struct dnsbl_result *r);
/*
 * At score >= threshold: *v_out becomes REJECT 554 5.7.1 "Service
 * unavailable; client [IP] blocked using ZONE[, ZONE...]" naming the lists
 * that listed the client with a weight, rule "dnsbl:NAME[,NAME...]", and
 * returns 1. Otherwise returns 0 and leaves *v_out alone.
 */
int dnsbl_verdict(const struct dnsbl_result *r, struct verdict *v_out);
/*
 * With is_required and no VERIFIED name: *v_out becomes TEMPFAIL 450
 * 4.7.25 (a lookup failed) or REJECT 550 5.7.25 (RFC 7372: reverse DNS
 * validation failed), "Client host rejected: cannot find your hostname,
 * [IP]", rule "fcrdns", and returns 1. Otherwise returns 0 and leaves
 * *v_out alone.
 */
int fcrdns_verdict(const struct fcrdns_result *r, struct verdict *v_out);
/*
 * 1 if s, a name from a PTR record (hostile), is worth looking up as a
 * host: labels of letters, digits, '-' and '_' (seen in the wild), 1 to 63
 * bytes each, DNS_NAME_MAX in all, and not an address in disguise.
 */
int fcrdns_is_host_name(const char *s);
/* "pending", "clean", "listed", "timeout", "failed"; "verified", "none", "tempfail". */
const char *dnsbl_state_name(enum dnsbl_state s);
const char *fcrdns_status_name(enum fcrdns_status s);

#endif
