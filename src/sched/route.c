/*
 * route.c - a recipient's target: the agent that delivers it and where.
 * A recipient the policy resolved to a mailbox (a local user) goes to its
 * Maildir, or by LMTP where local.lmtp_routes names the user or its
 * domain, or local.lmtp says so for every mailbox; any other goes by SMTP
 * to the next hop of its domain: a route of outbound.routes (its own, or
 * "*"), the smarthost, the host of an address literal, or the domain's MX,
 * each with its TLS policy. The target's key groups recipients: one
 * transaction carries a destination's recipients (RFC 5321 5.1 / 3.3).
 */
#include "sched/sched_int.h"

#include <stdio.h>
#include <string.h>

#include "util/ascii.h"

/* The lowercased domain of addr (all of it when it has no '@') into out. */
static void
domain_of(const char *addr, char *out, size_t size)
{
	const char *at = strrchr(addr, '@');

	snprintf(out, size, "%s", at ? at + 1 : addr);
	ascii_lower(out);
}

static void
smtp_target(const struct sched *s, const struct spool_msg *m, const char *to, struct target *t)
{
	const struct config *cfg = s->cfg;
	struct config_route route;
	enum config_route_kind kind;
	const char *src;
	char domain[256], sdomain[256];

	domain_of(to, domain, sizeof(domain));
	if (strchr(m->sender, '@') != NULL)
		domain_of(m->sender, sdomain, sizeof(sdomain));
	else
		sdomain[0] = '\0';
	t->kind = TARGET_SMTP;
	if ((kind = config_route_of(cfg, domain, &route)) != CONFIG_ROUTE_NONE) {
		t->hop = route.hop;
		/* its credentials, if any: config_load let them go only where TLS is required */
		t->has_auth = kind == CONFIG_ROUTE_SMARTHOST;
	} else if (domain[0] == '[') {
		/* an address literal (RFC 5321 4.1.3): that host, no MX */
		size_t len = strcspn(domain + 1, "]");
		const char *ip = domain + 1;

		if (len > 5 && ascii_casen_eq(ip, "ipv6:", 5))
			ip += 5, len -= 5;
		snprintf(t->hop.host, sizeof(t->hop.host), "%.*s", (int)len, ip);
		t->hop.is_literal = 1;
	} else {
		snprintf(t->hop.host, sizeof(t->hop.host), "%s", domain);
	}
	t->tls = route.tls;	/* may for the MX hosts and address literals */
	t->use_mx = !t->hop.is_literal;
	snprintf(t->helo, sizeof(t->helo), "%s", cfg->out_helo_name[0] ? cfg->out_helo_name :
	    cfg->hostname);
	snprintf(t->source, sizeof(t->source), "%s", cfg->out_source_address);
	if ((src = config_map_get(&cfg->out_sources, sdomain)) != NULL) {
		const char *sp = strchr(src, ' ');

		snprintf(t->source, sizeof(t->source), "%.*s", (int)(sp ? (size_t)(sp - src) :
		    strlen(src)), src);
		if (sp != NULL)
			snprintf(t->helo, sizeof(t->helo), "%s", sp + 1);
	}
	snprintf(t->key, sizeof(t->key), "%s%s%s:%u|%s|%s|%s", t->hop.is_literal ? "[" : "",
	    t->hop.host, t->hop.is_literal ? "]" : "", t->hop.port, t->source, t->helo,
	    config_tls_name(t->tls));
}

/* The LMTP next hop of a local recipient (mailbox, final address to), or NULL for its Maildir. */
static const char *
lmtp_hop_of(const struct config *cfg, const char *mailbox, const char *to)
{
	const char *hop;
	char domain[256];

	domain_of(to, domain, sizeof(domain));
	if ((hop = config_map_get(&cfg->lmtp_routes, mailbox)) == NULL &&
	    (hop = config_map_get(&cfg->lmtp_routes, domain)) == NULL)
		hop = cfg->lmtp;
	return hop[0] == '\0' || strcmp(hop, "maildir") == 0 ? NULL : hop;
}

void
route_target(const struct sched *s, const struct spool_msg *m, size_t i, struct target *t)
{
	const struct spool_rcpt *r = &m->rcpts[i];
	const char *hop;

	memset(t, 0, sizeof(*t));
	if (r->mailbox != NULL && (hop = lmtp_hop_of(s->cfg, r->mailbox, r->to)) != NULL &&
	    config_lmtp_hop_parse(hop, &t->lmtp) == 0) {
		t->kind = TARGET_LMTP;
		t->mailbox = r->mailbox;
		/* STARTTLS when offered over TCP; smtp_client.c never uses it on a UNIX socket */
		t->tls = CONFIG_TLS_MAY;
		/* LHLO names us as EHLO does */
		snprintf(t->helo, sizeof(t->helo), "%s", s->cfg->hostname);
		snprintf(t->key, sizeof(t->key), "lmtp|%s", hop);
		return;
	}
	if (r->mailbox != NULL) {
		t->kind = TARGET_MAILDIR;
		t->mailbox = r->mailbox;
		snprintf(t->key, sizeof(t->key), "maildir");
		return;
	}
	smtp_target(s, m, r->to, t);
}

const struct agent_ops *
agent_of(enum target_kind kind)
{
	switch (kind) {
	case TARGET_MAILDIR:
		return &agent_maildir;
	case TARGET_LMTP:
		return &agent_lmtp;
	case TARGET_SMTP:
		break;
	}
	return &agent_smtp;
}
