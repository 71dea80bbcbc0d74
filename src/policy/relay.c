/*
 * relay.c - relay control: mail to a domain that is not local is accepted
 * only from a trusted network (relay.trusted_networks) or an authenticated
 * session; everyone else gets "relay access denied". The default trusts no
 * one, so sterna is never an open relay.
 * Address forms that route mail through a local part (the percent hack,
 * bang paths, an '@' in a quoted local part, source routes) are refused
 * for every domain and every client: RFC 5321 leaves the local part to the
 * receiving host, and this host gives those characters no meaning, so a
 * relay that would pass them on could be talked into relaying for anyone.
 * Trailing dots never get here (addr.c refuses them as syntax) and domains
 * arrive lowercased, so "EXAMPLE.TEST" is local and "Other.Test" is not.
 */
#include "policy/policy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

enum relay_trick
relay_trick(const struct smtp_addr *a)
{
	if (a->has_route)
		return RELAY_TRICK_ROUTE;
	if (a->is_null || a->is_bare_postmaster)
		return RELAY_TRICK_NONE;
	/* quoting undone, so "user@other.test"@here shows its '@' here */
	if (memchr(a->local, '@', a->local_len) != NULL)
		return RELAY_TRICK_AT;
	if (memchr(a->local, '%', a->local_len) != NULL)
		return RELAY_TRICK_PERCENT;
	if (memchr(a->local, '!', a->local_len) != NULL)
		return RELAY_TRICK_BANG;
	return RELAY_TRICK_NONE;
}

const char *
relay_trick_name(enum relay_trick t)
{
	switch (t) {
	case RELAY_TRICK_ROUTE:
		return "route";
	case RELAY_TRICK_PERCENT:
		return "percent";
	case RELAY_TRICK_BANG:
		return "bang";
	case RELAY_TRICK_AT:
		return "at";
	case RELAY_TRICK_NONE:
	default:
		return "none";
	}
}

/*
 * 1 if the literal "[192.0.2.1]" or "[ipv6:2001:db8::1]" (addr.c's
 * canonical form) is the address local_ip (text) names.
 */
static int
literal_is(const char *literal, size_t len, const char *local_ip)
{
	char text[INET6_ADDRSTRLEN + 1];
	uint8_t a[16], b[16];
	int af = AF_INET;

	if (len < 3 || literal[0] != '[' || literal[len - 1] != ']')
		return 0;
	literal++;
	len -= 2;
	if (len > 5 && memcmp(literal, "ipv6:", 5) == 0) {
		af = AF_INET6;
		literal += 5;
		len -= 5;
	}
	if (len >= sizeof(text))
		return 0;
	memcpy(text, literal, len);
	text[len] = '\0';
	if (inet_pton(af, text, a) != 1 || inet_pton(af, local_ip, b) != 1)
		return 0;
	return memcmp(a, b, af == AF_INET ? 4 : 16) == 0;
}

enum relay_dest
relay_dest(const struct config *c, const char *local_ip, const struct smtp_addr *a)
{
	if (a->is_bare_postmaster)
		return RELAY_DEST_LOCAL;
	if (a->is_literal) {
		/* RFC 5321 4.1.3: a literal names a host; only this one is ours */
		return local_ip != NULL && literal_is(a->domain, a->domain_len, local_ip) ?
		    RELAY_DEST_LOCAL : RELAY_DEST_LITERAL;
	}
	return config_is_local_domain(c, a->domain) ? RELAY_DEST_LOCAL : RELAY_DEST_REMOTE;
}

int
relay_is_trusted(const struct config *c, const char *ip)
{
	return cidr_list_match(c->trusted_networks, c->ntrusted_networks, ip);
}

enum policy_rcpt_result
policy_rcpt(const struct local_db *db, const struct relay_client *client,
    const struct smtp_addr *a, struct spool_msg *env)
{
	char orig[SMTP_ADDR_FMT_MAX];

	if (relay_trick(a) != RELAY_TRICK_NONE)
		return POLICY_RCPT_TRICK;
	switch (relay_dest(local_db_config(db), client->local_ip, a)) {
	case RELAY_DEST_LOCAL:
		return local_rcpt(db, a, env);
	case RELAY_DEST_LITERAL:
		/*
		 * XXX: no relaying to address literals, even for trusted clients:
		 * outbound delivery routes by MX, and a literal would let a
		 * client aim this server at any host it likes.
		 */
		return POLICY_RCPT_RELAY_DENIED;
	case RELAY_DEST_REMOTE:
	default:
		break;
	}
	if (!client->is_trusted && client->auth_user == NULL)
		return POLICY_RCPT_RELAY_DENIED;
	if (smtp_addr_format(a, orig, sizeof(orig)) == -1)
		return POLICY_RCPT_UNKNOWN;
	/* remote: no mailbox; the scheduler keeps it queued for outbound delivery */
	(void)spool_msg_add_rcpt(env, orig, orig, NULL);
	return POLICY_RCPT_ACCEPT;
}

void
policy_rcpt_verdict(enum policy_rcpt_result r, const char *to, struct verdict *v_out)
{
	switch (r) {
	case POLICY_RCPT_ACCEPT:
		verdict_accept(v_out);
		return;
	case POLICY_RCPT_UNKNOWN:
		verdict_set(v_out, VERDICT_REJECT, 550, "5.1.1", "local",
		    "<%s>: Recipient address rejected: User unknown", to);
		return;
	case POLICY_RCPT_RELAY_DENIED:
		verdict_set(v_out, VERDICT_REJECT, 554, "5.7.1", "relay", "<%s>: Relay access denied",
		    to);
		return;
	case POLICY_RCPT_TRICK:
		verdict_set(v_out, VERDICT_REJECT, 553, "5.7.1", "relay_trick",
		    "<%s>: Recipient address rejected: no '%%', '!' or '@' in the local part", to);
		return;
	case POLICY_RCPT_TEMPFAIL:
	default:
		verdict_set(v_out, VERDICT_TEMPFAIL, 451, "4.3.0", "lookup",
		    "<%s>: Temporary lookup failure", to);
		return;
	}
}
