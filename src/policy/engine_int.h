/*
 * engine_int.h - what the engine's parts share: engine.c (the stages) and
 * auth.c (AUTH's password check). Nothing outside src/policy includes it.
 */
#ifndef STERNA_POLICY_ENGINE_INT_H
#define STERNA_POLICY_ENGINE_INT_H

#include <netinet/in.h>

#include "policy/authlimit.h"
#include "policy/engine.h"
#include "policy/limits.h"

struct policy {
	struct policy_deps d;
	struct event *auth_wq_ev;	/* the password checks' completions */
	struct authlimit *authlimit;	/* AUTH failures per client address */
	struct policy_limits *limits;	/* sessions, connections, messages, recipients per client */
	unsigned nclients;
};

struct auth_job;

struct policy_client {
	struct policy *p;
	char id[32];
	char ip[INET6_ADDRSTRLEN];
	char local_ip[INET6_ADDRSTRLEN];
	int is_trusted;
	int is_allowed;			/* in allow_clients or allow_client_names */
	int is_over_sessions;		/* over limits.client_connections: refused at CONNECT */
	struct verdict over_sessions;	/* ... with this */
	struct auth_job *auth_job;	/* a password check out */
};

/* auth.c: AUTH's question, answered now (blocked) or by a worker */
int policy_auth_ask(struct policy_client *pc, const struct smtp_ask *q, policy_done_fn *done,
    void *ctx, struct verdict *v_out);
/* The connection is going: a check out is answered to no one. */
void policy_auth_cancel(struct policy_client *pc);

#endif
