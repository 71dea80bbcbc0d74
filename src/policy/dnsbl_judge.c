/*
 * dnsbl_judge.c - what the answers of DNS blocklists and reverse DNS mean:
 * which returned addresses count as "listed", the score against the
 * threshold, and the verdicts (554 5.7.1 for a listed client; 450/550
 * 4.7.25/5.7.25 of RFC 7372 when reverse DNS is required and does not
 * confirm). Pure: the lookups are dnsbl.c's and rdns.c's.
 */
#include "policy/dnsbl.h"

#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "util/ascii.h"
#include "util/cidr.h"

/* The default answers: a listing is any 127/8 address (RFC 5782 2.1) ... */
static const struct cidr loopback = { AF_INET, 8, { 127, 0, 0, 0 } };
/* ... but Spamhaus's error codes (a public resolver, too many queries) say nothing of the client */
static const struct cidr list_errors = { AF_INET, 24, { 127, 255, 255, 0 } };

int
dnsbl_answer_counts(const struct config_dnsbl *l, const char *a)
{
	if (l->nanswers > 0)
		return cidr_list_match(l->answers, l->nanswers, a);
	return cidr_match_text(&loopback, a) && !cidr_match_text(&list_errors, a);
}

enum dnsbl_state
dnsbl_judge_reply(const struct config_dnsbl *l, const struct dns_reply *r, char *code_out)
{
	const char *error_code = NULL;

	code_out[0] = '\0';
	if (r->status == DNS_Q_TEMPFAIL)
		return DNSBL_FAILED;
	if (r->status == DNS_Q_NONE)
		return DNSBL_CLEAN;
	for (size_t i = 0; i < r->naddrs; i++) {
		if (dnsbl_answer_counts(l, r->addrs[i])) {
			(void)snprintf(code_out, DNS_IP_TEXT_MAX, "%s", r->addrs[i]);
			return DNSBL_LISTED;
		}
		if (error_code == NULL && cidr_match_text(&list_errors, r->addrs[i]))
			error_code = r->addrs[i];
	}
	if (error_code == NULL)
		return DNSBL_CLEAN;
	(void)snprintf(code_out, DNS_IP_TEXT_MAX, "%s", error_code);
	return DNSBL_FAILED;
}

void
dnsbl_result_score(struct dnsbl_result *r)
{
	r->score = 0;
	for (size_t i = 0; i < r->nlists; i++)
		if (r->lists[i].state == DNSBL_LISTED)
			r->score += r->lists[i].weight;
}

/* 1 if an earlier list that counted named the same zone: each zone is named once. */
static int
zone_named_before(const struct dnsbl_result *r, size_t i)
{
	for (size_t k = 0; k < i; k++)
		if (r->lists[k].state == DNSBL_LISTED && r->lists[k].weight > 0 &&
		    strcmp(r->lists[k].zone, r->lists[i].zone) == 0)
			return 1;
	return 0;
}

int
dnsbl_verdict(const struct dnsbl_result *r, struct verdict *v_out)
{
	char zones[VERDICT_TEXT_MAX + 1] = "", rule[VERDICT_RULE_MAX + 1] = "dnsbl:";
	size_t zlen = 0, rlen = strlen(rule);
	int is_first_rule = 1;

	if (r->nlists == 0 || r->score < r->threshold)
		return 0;
	for (size_t i = 0; i < r->nlists; i++) {
		const struct dnsbl_list_result *l = &r->lists[i];
		int n;

		if (l->state != DNSBL_LISTED || l->weight == 0)
			continue;
		/* names that do not fit are left out whole: the text is cut at the reply's limit anyway */
		n = snprintf(rule + rlen, sizeof(rule) - rlen, "%s%s", is_first_rule ? "" : ",",
		    l->name);
		if (n > 0 && (size_t)n < sizeof(rule) - rlen)
			rlen += (size_t)n;
		else
			rule[rlen] = '\0';
		is_first_rule = 0;
		if (zone_named_before(r, i))
			continue;
		n = snprintf(zones + zlen, sizeof(zones) - zlen, "%s%s", zlen ? ", " : "", l->zone);
		if (n > 0 && (size_t)n < sizeof(zones) - zlen)
			zlen += (size_t)n;
		else
			zones[zlen] = '\0';
	}
	verdict_set(v_out, VERDICT_REJECT, 554, "5.7.1", rule,
	    "Service unavailable; client [%s] blocked using %s", r->ip, zones);
	return 1;
}

int
fcrdns_verdict(const struct fcrdns_result *r, struct verdict *v_out)
{
	if (!r->is_required || r->status == FCRDNS_VERIFIED)
		return 0;
	/* RFC 7372 3: X.7.25, reverse DNS validation failed */
	if (r->status == FCRDNS_TEMPFAIL)
		verdict_set(v_out, VERDICT_TEMPFAIL, 450, "4.7.25", "fcrdns",
		    "Client host rejected: cannot find your hostname, [%s]", r->ip);
	else
		verdict_set(v_out, VERDICT_REJECT, 550, "5.7.25", "fcrdns",
		    "Client host rejected: cannot find your hostname, [%s]", r->ip);
	return 1;
}

int
fcrdns_is_host_name(const char *s)
{
	size_t len = strlen(s), label = 0;
	uint8_t ip[16];
	int family;

	if (len == 0 || len > DNS_NAME_MAX || dns_ip_parse(s, ip, &family) == 0)
		return 0;
	for (size_t i = 0; i <= len; i++) {
		uint8_t c = (uint8_t)s[i];

		if (c == '.' || c == '\0') {
			if (label == 0 || label > 63)
				return 0;
			label = 0;
		} else if (ascii_isalnum(c) || c == '-' || c == '_') {
			label++;
		} else {
			return 0;
		}
	}
	return 1;
}

const char *
dnsbl_state_name(enum dnsbl_state s)
{
	static const char *const names[] = { "pending", "clean", "listed", "timeout", "failed" };

	return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "?";
}

const char *
fcrdns_status_name(enum fcrdns_status s)
{
	static const char *const names[] = { "verified", "none", "tempfail" };

	return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "?";
}
