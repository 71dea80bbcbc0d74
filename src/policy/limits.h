/*
 * limits.h - how much each client may ask of us (limits { } in
 * docs/configuration.md): sessions at once and connections, messages and
 * recipients per minute from one client, messages per hour from one
 * authenticated user and from one envelope sender domain.
 *
 * A client is its address cut to a prefix (limits.client_prefix_v4 and
 * _v6; an IPv4-mapped IPv6 address is the IPv4 address it is), so that the
 * many addresses of one IPv6 network count as one client. Clients in
 * relay.trusted_networks are exempt from the client limits; the user and
 * sender domain limits apply to every client. Text that is no IP address
 * (a local entrance) is exempt from the client limits too.
 *
 * What is counted, and when:
 * - an event is counted only when the limits allow it: a refused one is
 *   not, so a client that keeps trying does not push its own wait further;
 * - MAIL is judged against the client, the user and the sender domain
 *   limits first, and counted in all three only if none refuses;
 * - an event the limits allow is counted even if another judge of the same
 *   stage refuses it later, or the transaction never reaches DATA: what is
 *   limited is what clients ask for (a MAIL, a RCPT), so that neither RSET
 *   nor unknown recipients are a way around the count.
 *
 * Decisions only: the caller (the policy engine) turns a verdict into a
 * reply. All calls on the event loop's thread. The configuration is read
 * once, at policy_limits_new(); the counts live as long as the object.
 */
#ifndef STERNA_POLICY_LIMITS_H
#define STERNA_POLICY_LIMITS_H

#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "smtp/session.h"
#include "util/cidr.h"
#include "util/verdict.h"

struct policy_limits;

/*
 * Returns new limits with c's limits { } values (c is only read here, not
 * kept) and no counts. A counter table exists only for a limit that is set.
 */
struct policy_limits *policy_limits_new(const struct config *c);
/* Frees *l and sets it to NULL; l may point to NULL. */
void policy_limits_free(struct policy_limits **l);

/*
 * The client that ip (text: IPv4, IPv6 or IPv4-mapped IPv6) belongs to: its
 * address cut to v4_bits (IPv4 and mapped) or v6_bits (IPv6), as a network
 * in *net_out ("192.0.2.0/24", "2001:db8:1:2::/64" through cidr_format()).
 * Returns 0, or -1 when ip is no numeric address. Pure.
 */
int policy_limits_client_net(const char *ip, unsigned v4_bits, unsigned v6_bits,
    struct cidr *net_out);

/*
 * A session from ip begins. It is counted whatever the answer (the caller
 * calls policy_limits_down() once for each up, when the session ends),
 * and it is over limits.client_connections when more sessions than that
 * are open from its client, which is not trusted. Returns 1 with *v_out
 * TEMPFAIL 421 4.7.0 (the caller closes the connection after the reply)
 * when over, else 0 with *v_out ACCEPT. Sessions being open, their
 * clients are never forgotten: the table is as large as they are many.
 */
int policy_limits_up(struct policy_limits *l, const char *ip, int is_trusted,
    struct verdict *v_out);
/* A session from ip, counted by policy_limits_up() on this l, has ended. */
void policy_limits_down(struct policy_limits *l, const char *ip);
/* The sessions open from ip's client (0 when limits.client_connections is 0: none are counted). */
unsigned policy_limits_sessions(const struct policy_limits *l, const char *ip);

/*
 * The limits' verdict on req at now_ms (milliseconds on a monotonic clock):
 * - CONNECT: limits.client_connections_per_minute (TEMPFAIL 421 4.7.0);
 * - MAIL: client_messages_per_minute, user_messages_per_hour (req->auth_user,
 *   if any), sender_domain_messages_per_hour (req->sender's domain; none for
 *   <>), each TEMPFAIL 450 4.7.1 with a text that says which;
 * - RCPT: client_recipients_per_minute (TEMPFAIL 450 4.7.1);
 * - other stages: ACCEPT, nothing counted.
 * The rule is "limit:" and the key's name ("limit:client_messages_per_minute").
 * Returns 1 when a limit refuses (*v_out TEMPFAIL), else 0 (*v_out ACCEPT).
 * Borrows req for the call.
 */
int policy_limits_judge(struct policy_limits *l, const struct smtp_ask *req, int64_t now_ms,
    struct verdict *v_out);

/* Bytes l has allocated now (its tables at their present size), for status and tests. */
size_t policy_limits_bytes(const struct policy_limits *l);
/* The most bytes l can ever take for its rate counters: every set limit's table full. */
size_t policy_limits_max_bytes(const struct policy_limits *l);

#endif
