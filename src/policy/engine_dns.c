/*
 * engine_dns.c - what DNS says about a client, for the engine: the DNSBL
 * checks and forward-confirmed reverse DNS start when the client connects
 * (their answers come in while the greeting is prepared), and the stage
 * that needs an answer waits for it, never longer than the checks' own
 * timeouts. A client that may still log in (the listener offers AUTH) is
 * judged at MAIL, once it is known whether it did: authenticated clients,
 * like trusted and allow-listed ones, are not held to blocklists.
 */
#include "policy/engine_int.h"

#include <string.h>

#include "util/ascii.h"
#include "util/log.h"
#include "util/log_event.h"

static void
on_dnsbl(void *ctx, const struct dnsbl_result *r)
{
	struct policy_client *pc = ctx;
	char listed[256] = "", late[256] = "";

	pc->dnsbl_chk = NULL;
	pc->dnsbl_res = *r;
	pc->has_dnsbl = 1;
	for (size_t i = 0; i < r->nlists; i++) {
		const struct dnsbl_list_result *l = &r->lists[i];
		char *to = l->state == DNSBL_LISTED ? listed : l->state == DNSBL_TIMEOUT ||
		    l->state == DNSBL_FAILED ? late : NULL;

		if (to != NULL)
			(void)snprintf(to + strlen(to), sizeof(listed) - strlen(to), "%s%s", to[0] ?
			    "," : "", l->name);
	}
	log_event(LOG_INFO, pc->id, "dnsbl", "ip=%s score=%u threshold=%u listed=%s unanswered=%s",
	    pc->ip, r->score, r->threshold, listed[0] ? listed : "-", late[0] ? late : "-");
	policy_resume(pc);
}

static void
on_fcrdns(void *ctx, const struct fcrdns_result *r)
{
	struct policy_client *pc = ctx;
	char b[LOG_QUOTE_SIZE];

	pc->fcrdns_chk = NULL;
	pc->fcrdns_res = *r;
	pc->has_fcrdns = 1;
	log_event(LOG_INFO, pc->id, "fcrdns", "ip=%s status=%s name=%s ptr=%s", pc->ip,
	    fcrdns_status_name(r->status), r->name[0] ? r->name : "-",
	    r->ptr_name[0] ? log_quote(r->ptr_name, strlen(r->ptr_name), b) : "-");
	policy_resume(pc);
}

void
policy_dns_start(struct policy_client *pc, enum policy_lists_result by_address)
{
	const struct policy *p = pc->p;
	const struct config *c = p->d.cfg;
	/* a client the lists already decided on by its address needs no blocklist */
	int is_judged = pc->is_trusted || by_address != POLICY_LISTS_NONE;

	if (p->d.dnsbl == NULL)
		return;
	/* an allow-listed name beats a blocked address: only an allowed address needs no name */
	pc->wants_name = by_address != POLICY_LISTS_ALLOW &&
	    policy_lists_has_client_names(p->d.lists);
	if (!is_judged && c->ndnsbls > 0)
		pc->dnsbl_chk = dnsbl_check_start(p->d.dnsbl, pc->ip, on_dnsbl, pc);
	if (pc->wants_name || (!is_judged && c->is_fcrdns_required))
		pc->fcrdns_chk = fcrdns_check_start(p->d.dnsbl, pc->ip, on_fcrdns, pc);
	pc->is_dns_judged = is_judged;
}

void
policy_dns_stop(struct policy_client *pc)
{
	dnsbl_check_cancel(&pc->dnsbl_chk);
	fcrdns_check_cancel(&pc->fcrdns_chk);
}

/* 1 if the blocklist and reverse-DNS verdict is due at q's stage. */
static int
is_due(const struct policy_client *pc, const struct smtp_ask *q)
{
	if (pc->is_dns_judged || pc->is_allowed)
		return 0;
	if (q->stage == SMTP_STAGE_CONNECT)
		return !pc->is_auth_offered;
	return q->stage == SMTP_STAGE_MAIL && q->auth_user == NULL;
}

int
policy_dns_ready(const struct policy_client *pc, const struct smtp_ask *q)
{
	if (q->stage == SMTP_STAGE_CONNECT && pc->wants_name && pc->fcrdns_chk != NULL)
		return 0;
	if (!is_due(pc, q))
		return 1;
	return pc->dnsbl_chk == NULL && pc->fcrdns_chk == NULL;
}

const char *
policy_dns_name(const struct policy_client *pc)
{
	return pc->has_fcrdns && pc->fcrdns_res.status == FCRDNS_VERIFIED ?
	    pc->fcrdns_res.name : NULL;
}

const char *
policy_client_ptr_name(const struct policy_client *pc)
{
	const char *n = pc->has_fcrdns ? pc->fcrdns_res.ptr_name : "";

	if (n[0] == '\0')
		return NULL;
	for (size_t i = 0; n[i] != '\0'; i++)
		if (!ascii_isgraph((uint8_t)n[i]))
			return NULL;
	return n;
}

const char *
policy_client_verified_name(const struct policy_client *pc)
{
	return policy_dns_name(pc);
}

int
policy_dns_judge(struct policy_client *pc, const struct smtp_ask *q, struct verdict *v)
{
	if (!is_due(pc, q))
		return 0;
	pc->is_dns_judged = 1;
	if (q->auth_user != NULL || pc->is_allowed)
		return 0;
	if (pc->has_dnsbl && dnsbl_verdict(&pc->dnsbl_res, v))
		return 1;
	return pc->has_fcrdns && fcrdns_verdict(&pc->fcrdns_res, v);
}
