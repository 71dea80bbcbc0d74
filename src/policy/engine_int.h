/*
 * engine_int.h - what the engine's parts share: engine.c (the stages) and
 * auth.c (AUTH's password check). Nothing outside src/policy includes it.
 */
#ifndef STERNA_POLICY_ENGINE_INT_H
#define STERNA_POLICY_ENGINE_INT_H

#include <netinet/in.h>
#include <pthread.h>

#include "policy/authlimit.h"
#include "policy/engine.h"
#include "policy/limits.h"

struct policy {
	struct policy_deps d;
	struct event *auth_wq_ev;	/* the password checks' completions */
	/*
	 * The engine whose tables these are (d.shares_with, or this one):
	 * read and changed under its tables_mu only (policy_tables_*).
	 */
	struct policy *owner;
	pthread_mutex_t tables_mu;
	struct authlimit *authlimit;	/* AUTH failures per client address */
	struct policy_limits *limits;	/* sessions, connections, messages, recipients per client */
	unsigned nclients;
	struct metric *refusals;	/* by stage, rule and verdict */
	struct metric *auth;		/* AUTH by mechanism and result (auth.c) */
};

struct auth_job;

struct policy_client {
	struct policy *p;
	/* the session's generation (a reference): its users, aliases and AUTH's limits */
	struct config *cfg;
	char id[32];
	char ip[INET6_ADDRSTRLEN];
	char local_ip[INET6_ADDRSTRLEN];
	int is_trusted;
	int is_allowed;			/* in allow_clients or allow_client_names */
	int is_auth_offered;		/* the client may still log in: DNS checks wait for MAIL */
	int is_over_sessions;		/* over limits.client_connections: refused at CONNECT */
	struct verdict over_sessions;	/* ... with this */
	struct auth_job *auth_job;	/* a password check out */
	/* what DNS says (engine_dns.c) */
	struct dnsbl_check *dnsbl_chk;	/* out, or NULL */
	struct fcrdns_check *fcrdns_chk;
	struct dnsbl_result dnsbl_res;	/* with has_dnsbl */
	struct fcrdns_result fcrdns_res;	/* with has_fcrdns */
	int has_dnsbl, has_fcrdns;
	int wants_name;			/* the client lists name hosts: CONNECT waits for the name */
	int is_dns_judged;		/* the blocklist verdict was given (or is not for this client) */
	/* a question waiting for DNS: answered by policy_resume() */
	int is_waiting;
	const struct smtp_ask *wait_q;
	struct spool_msg *wait_env;
	policy_done_fn *wait_done;
	void *wait_ctx;
};

/*
 * engine.c: the shared tables of clients, each call under their lock:
 * policy_limits_judge(), and AUTH's failures (authlimit.h).
 */
int policy_tables_judge(struct policy *p, const struct smtp_ask *q, struct verdict *v);
int policy_tables_auth_allows(struct policy *p, const char *ip, int64_t now_s);
unsigned policy_tables_auth_fail(struct policy *p, const char *ip, int64_t now_s);

/* engine.c: the question waiting, if DNS has now said what it needs */
void policy_resume(struct policy_client *pc);
/* engine.c: every verdict on its way out, whenever it comes: a refusal is counted. */
void policy_count(struct policy *p, enum smtp_stage stage, const struct verdict *v);

/* engine_dns.c */
/* Starts the DNS checks this client needs; by_address: what the client lists say of its address. */
void policy_dns_start(struct policy_client *pc, enum policy_lists_result by_address);
/* Cancels the checks out. */
void policy_dns_stop(struct policy_client *pc);
/* 1 if q can be judged now: nothing it needs from DNS is still out. */
int policy_dns_ready(const struct policy_client *pc, const struct smtp_ask *q);
/* The client's forward-confirmed host name, or NULL. */
const char *policy_dns_name(const struct policy_client *pc);
/* The blocklist and reverse-DNS verdict, when it is due at q's stage: 1 when it refuses. */
int policy_dns_judge(struct policy_client *pc, const struct smtp_ask *q, struct verdict *v);

/* auth.c: AUTH's question, answered now (blocked) or by a worker */
int policy_auth_ask(struct policy_client *pc, const struct smtp_ask *q, policy_done_fn *done,
    void *ctx, struct verdict *v_out);
/* The connection is going: a check out is answered to no one. */
void policy_auth_cancel(struct policy_client *pc);

#endif
