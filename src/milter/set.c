/*
 * set.c - the milters of one SMTP connection (milter.h), in the order of
 * its listener's list: each is connected at accept, and asked at connect,
 * HELO, MAIL, RCPT and DATA once policy has accepted the step; the first
 * that does not accept gives the answer (a refused recipient is that
 * recipient's only), and the others are not asked. The macros go with the
 * step they belong to (the session sends those each filter asked for).
 */
#include "milter/milter_int.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msg/filter.h"
#include "smtp/smtp.h"
#include "util/xalloc.h"

struct milter_set {
	struct milter_pool *pool;
	struct milter_client *clients[CONFIG_MILTERS_MAX];
	size_t n;
	char conn_id[24];
	unsigned client_port;
	/* the question out */
	const struct smtp_ask *q;	/* borrowed while it is out */
	size_t next;			/* the client asked next */
	char addr[SMTP_ADDR_FMT_MAX];	/* the sender or recipient asked about */
	char path[SMTP_ADDR_FMT_MAX + 2];	/* ... in angle brackets; CONNECT: "[address]" */
	/* the session as the question found it ("" for none) */
	char tls_version[32], tls_cipher[128];
	char cert_subject[256], cert_issuer[256];
	char client_ptr[256], client_name[256];
	void (*done)(void *ctx, const struct verdict *v);
	void *ctx;
	int is_out;
};

struct milter_set *
milter_set_new(struct milter_pool *pool, const struct config *gen, const size_t *idx,
    size_t n, const struct milter_conn_info *info)
{
	struct milter_set *s = xcalloc(1, sizeof(*s));
	char port[8], dport[8], underscore[INET6_ADDRSTRLEN + 16];

	ASSERT(n <= CONFIG_MILTERS_MAX);
	s->pool = pool;
	snprintf(s->conn_id, sizeof(s->conn_id), "%s", info->conn_id);
	s->client_port = info->client_port;
	snprintf(port, sizeof(port), "%u", info->client_port);
	snprintf(dport, sizeof(dport), "%u", info->daemon_port);
	snprintf(underscore, sizeof(underscore), "[%s]", info->client_ip);
	for (size_t i = 0; i < n; i++) {
		size_t at = milter_pool_find(pool, gen->milters[idx[i]].name);
		struct milter_client *mc;

		if (at == SIZE_MAX)
			continue;
		mc = milter_pool_take(pool, at, info->conn_id);

		milter_client_set_macro(mc, "j", info->hostname);
		milter_client_set_macro(mc, "v", "sterna " STERNA_VERSION);
		milter_client_set_macro(mc, "_", underscore);
		milter_client_set_macro(mc, "{daemon_name}", info->daemon_name);
		milter_client_set_macro(mc, "{daemon_addr}", info->daemon_addr);
		milter_client_set_macro(mc, "{daemon_port}", dport);
		milter_client_set_macro(mc, "{client_addr}", info->client_ip);
		milter_client_set_macro(mc, "{client_port}", port);
		/* no name is looked up for the filters: "[address]", as Postfix says it */
		milter_client_set_macro(mc, "{client_name}", underscore);
		s->clients[s->n++] = mc;
	}
	return s;
}

void
milter_set_free(struct milter_set **sp)
{
	struct milter_set *s = *sp;

	if (s == NULL)
		return;
	for (size_t i = 0; i < s->n; i++)
		milter_pool_give(s->pool, &s->clients[i]);
	free(s);
	*sp = NULL;
}

/* s's copy of a string: "" stands for none. */
static const char *
or_null(const char *v)
{
	return v[0] != '\0' ? v : NULL;
}

/* The TLS macros, at HELO and again at MAIL (STARTTLS comes between the two). */
static void
set_tls_macros(const struct milter_set *s, struct milter_client *mc)
{
	milter_client_set_macro(mc, "{tls_version}", or_null(s->tls_version));
	milter_client_set_macro(mc, "{cipher}", or_null(s->tls_cipher));
	milter_client_set_macro(mc, "{cert_subject}", or_null(s->cert_subject));
	milter_client_set_macro(mc, "{cert_issuer}", or_null(s->cert_issuer));
}

/* The macros of the step asked about, on client mc. */
static void
set_stage_macros(const struct milter_set *s, struct milter_client *mc)
{
	const struct smtp_ask *q = s->q;
	const char *path = s->addr;

	switch (q->stage) {
	case SMTP_STAGE_CONNECT:
		milter_client_set_macro(mc, "{client_ptr}", or_null(s->client_ptr));
		/* a verified name if the policy engine found one; else "[address]", as Postfix */
		if (s->client_name[0] != '\0')
			milter_client_set_macro(mc, "{client_name}", s->client_name);
		break;
	case SMTP_STAGE_HELO:
		set_tls_macros(s, mc);
		break;
	case SMTP_STAGE_MAIL:
		set_tls_macros(s, mc);
		milter_client_set_macro(mc, "{auth_type}", q->auth_user ? q->auth_mech : NULL);
		milter_client_set_macro(mc, "{auth_authen}", q->auth_user);
		milter_client_set_macro(mc, "{mail_addr}", path);
		milter_client_set_macro(mc, "{mail_mailer}", "smtp");
		milter_client_set_macro(mc, "i", NULL);	/* the queue id comes after MAIL */
		break;
	case SMTP_STAGE_RCPT:
		milter_client_set_macro(mc, "i", q->qid[0] ? q->qid : NULL);
		milter_client_set_macro(mc, "{rcpt_addr}", path);
		milter_client_set_macro(mc, "{rcpt_mailer}", "smtp");
		break;
	default:
		break;
	}
}

static void on_client_answer(void *ctx, const struct milter_action *act);

/*
 * A refusal of the connection is its greeting: RFC 5321 4.2.3 gives it 554,
 * or 421 when it is for now; a filter's 4xx or 5xx becomes that.
 */
static void
greeting_code(const struct milter_set *s, struct verdict *v)
{
	if (s->q->stage != SMTP_STAGE_CONNECT)
		return;
	if (v->kind == VERDICT_TEMPFAIL)
		v->code = 421;
	else if (v->kind == VERDICT_REJECT)
		v->code = 554;
}

/*
 * Asks the clients from s->next on until one does not accept or one
 * answers later. Returns 1 with the verdict in *v, 0 when an answer is out.
 */
static int
ask_from(struct milter_set *s, struct verdict *v)
{
	const struct smtp_ask *q = s->q;
	const char *args[MILTER_MAX_ARGS] = { s->path };
	size_t nargs = 1;

	/* MAIL and RCPT: the path, then the ESMTP parameters as the client gave them */
	for (size_t i = 0; i < q->nparams && nargs < MILTER_MAX_ARGS; i++)
		args[nargs++] = q->params[i];
	verdict_accept(v);
	for (; s->next < s->n; s->next++) {
		struct milter_client *mc = s->clients[s->next];
		struct milter_action act;
		int is_now = 1;

		set_stage_macros(s, mc);
		switch (q->stage) {
		case SMTP_STAGE_CONNECT:
			is_now = milter_client_connect(mc, s->path, strchr(q->client_ip, ':') ? '6' : '4',
			    (uint16_t)s->client_port, q->client_ip, on_client_answer, s, &act);
			break;
		case SMTP_STAGE_HELO:
			is_now = milter_client_helo(mc, q->helo, on_client_answer, s, &act);
			break;
		case SMTP_STAGE_MAIL:
			is_now = milter_client_mail(mc, args, nargs, on_client_answer, s, &act);
			break;
		case SMTP_STAGE_RCPT:
			is_now = milter_client_rcpt(mc, args, nargs, on_client_answer, s, &act);
			break;
		case SMTP_STAGE_DATA:
			milter_client_set_macro(mc, "i", q->qid);
			is_now = milter_client_data(mc, on_client_answer, s, &act);
			break;
		default:
			return 1;
		}
		if (!is_now) {
			s->is_out = 1;
			return 0;
		}
		if (act.v.kind != VERDICT_ACCEPT) {
			*v = act.v;
			greeting_code(s, v);
			return 1;
		}
	}
	return 1;
}

static void
on_client_answer(void *ctx, const struct milter_action *act)
{
	struct milter_set *s = ctx;
	struct verdict v;

	ASSERT(act->kind == MILTER_ANSWER && s->is_out);
	s->is_out = 0;
	if (act->v.kind != VERDICT_ACCEPT) {
		v = act->v;
		greeting_code(s, &v);
		s->done(s->ctx, &v);
		return;
	}
	s->next++;
	if (ask_from(s, &v))
		s->done(s->ctx, &v);
}

/* Copies v (NULL: none) into out; a value cut by the bound is none rather than wrong. */
static void
keep(char *out, size_t size, const char *v)
{
	int n = snprintf(out, size, "%s", v ? v : "");

	if (n < 0 || (size_t)n >= size)
		out[0] = '\0';
}

int
milter_set_ask(struct milter_set *s, const struct smtp_ask *q,
    const struct milter_session_info *info, void (*done)(void *ctx, const struct verdict *v),
    void *ctx, struct verdict *now)
{
	ASSERT(!s->is_out);
	s->q = q;
	s->next = 0;
	s->done = done;
	s->ctx = ctx;
	s->path[0] = s->addr[0] = '\0';
	keep(s->tls_version, sizeof(s->tls_version), info->tls_version);
	keep(s->tls_cipher, sizeof(s->tls_cipher), info->tls_cipher);
	keep(s->cert_subject, sizeof(s->cert_subject), info->cert_subject);
	keep(s->cert_issuer, sizeof(s->cert_issuer), info->cert_issuer);
	keep(s->client_ptr, sizeof(s->client_ptr), info->client_ptr);
	keep(s->client_name, sizeof(s->client_name), info->client_name);
	if (q->stage == SMTP_STAGE_CONNECT) {
		snprintf(s->path, sizeof(s->path), "[%s]", q->client_ip);
	} else if (q->stage == SMTP_STAGE_MAIL || q->stage == SMTP_STAGE_RCPT) {
		const struct smtp_addr *a = q->stage == SMTP_STAGE_MAIL ? q->sender : q->rcpt;

		if (a == NULL || smtp_addr_format(a, s->addr, sizeof(s->addr)) == -1)
			s->addr[0] = '\0';
		snprintf(s->path, sizeof(s->path), "<%s>", s->addr);
	}
	return ask_from(s, now);
}


void
milter_set_add_filters(struct milter_set *s, struct msg_sub *sub, const char *qid)
{
	milter_filters_add(s->clients, s->n, sub, qid);
}
