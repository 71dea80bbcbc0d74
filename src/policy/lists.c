/*
 * lists.c - the allow and block lists of policy { }: built from the
 * configuration and the list files, and the judgement of one stage
 * (lists.h has the contract). The tables are listset.c's, the files
 * listfile.c's.
 * Names are compared without regard to ASCII case (RFC 4343), and a
 * trailing dot of a client name or HELO name is dropped ("mx.example.com."
 * is mx.example.com). The local part of an address is compared as it is,
 * its domain without case: RFC 5321 2.4 lets only the receiving host
 * decide that Spam@ and spam@ are one mailbox.
 * Every receiving loop judges with the one set of lists; a judgement holds
 * its mutex, since it may read a changed list file again.
 */
#include "policy/lists.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/lists_int.h"
#include "util/ascii.h"
#include "util/clock.h"
#include "util/xalloc.h"

struct policy_list {
	const struct config_list *conf;	/* its entries in the configuration */
	struct lists_table t;		/* of conf's entries, by their position */
	struct lists_file *file;	/* NULL when the list has no file */
};

struct policy_lists {
	pthread_mutex_t mu;		/* a judgement (with the file it may read again) */
	const struct config *cfg;
	struct policy_list lists[CONFIG_LIST_N];
	uint64_t (*now_ms)(void *ctx);
	void *clock_ctx;
};

static uint64_t
mono_ms(void *ctx)
{
	(void)ctx;
	return clock_mono_ms();
}

struct policy_lists *
policy_lists_new(const struct config *c, char *err, size_t errsize)
{
	struct policy_lists *l = xcalloc(1, sizeof(*l));
	int rc;

	pthread_mutex_init(&l->mu, NULL);
	l->cfg = c;
	l->now_ms = mono_ms;
	for (size_t i = 0; i < CONFIG_LIST_N; i++) {
		const enum config_list_id id = (enum config_list_id)i;
		struct policy_list *pl = &l->lists[i];
		const struct config_list *cl = &c->lists[i];

		pl->conf = cl;
		lists_table_init(&pl->t);
		for (size_t k = 0; k < cl->n; k++) {
			struct config_entry e;
			const char *why = config_entry_parse(config_list_kind(id),
			    (const uint8_t *)cl->v[k].text, strlen(cl->v[k].text), &e);

			ASSERT(why == NULL);	/* config_load() checked every entry */
			lists_table_add(&pl->t, &e);
		}
		if (cl->file == NULL || cl->file[0] == '\0')
			continue;
		pl->file = xcalloc(1, sizeof(*pl->file));
		pl->file->path = cl->file;
		pl->file->id = id;
		lists_table_init(&pl->file->t);
		pl->file->checked_ms = l->now_ms(l->clock_ctx);
		rc = lists_file_read(pl->file, err, errsize);
		if (rc == LISTS_FILE_UNREADABLE) {
			char why[256];

			/* said where the configuration names the file: that line is what to fix */
			(void)snprintf(why, sizeof(why), "%s", err);
			(void)snprintf(err, errsize, "%s:%u: policy.%s_file: cannot read %s: %s",
			    cl->file_set_in, cl->file_set_line, config_list_name(id), cl->file, why);
		}
		if (rc != 0) {
			policy_lists_free(&l);
			return NULL;
		}
	}
	return l;
}

void
policy_lists_free(struct policy_lists **lp)
{
	struct policy_lists *l = *lp;

	if (l == NULL)
		return;
	for (size_t i = 0; i < CONFIG_LIST_N; i++) {
		lists_table_clear(&l->lists[i].t);
		if (l->lists[i].file != NULL)
			lists_table_clear(&l->lists[i].file->t);
		free(l->lists[i].file);
	}
	pthread_mutex_destroy(&l->mu);
	free(l);
	*lp = NULL;
}

void
policy_lists_set_clock(struct policy_lists *l, uint64_t (*now_ms)(void *ctx), void *ctx)
{
	l->now_ms = now_ms;
	l->clock_ctx = ctx;
	/* a second from now on the new clock, not from a time of the old one */
	for (size_t i = 0; i < CONFIG_LIST_N; i++)
		if (l->lists[i].file != NULL)
			l->lists[i].file->checked_ms = now_ms(ctx);
}

size_t
policy_lists_count(const struct policy_lists *l, enum config_list_id id)
{
	const struct policy_list *pl = &l->lists[id];

	return pl->t.n + (pl->file != NULL ? pl->file->t.n : 0);
}

int
policy_lists_has_client_names(const struct policy_lists *l)
{
	for (size_t i = CONFIG_ALLOW_CLIENT_NAMES; i <= CONFIG_BLOCK_CLIENT_NAMES; i++)
		if (l->lists[i].t.n > 0 || l->lists[i].file != NULL)
			return 1;
	return 0;
}

/* What is looked up: one of the three, by the list's kind. */
struct probe {
	int family;		/* an address: AF_INET or AF_INET6; 0 for none */
	uint8_t ip[16];
	const char *name;	/* a name, lowercased, or NULL */
	size_t name_len;
	const struct smtp_addr *addr;	/* a sender or recipient, or NULL */
};

static uint32_t
find(const struct lists_table *t, const struct probe *p)
{
	if (p->family != 0)
		return lists_table_find_ip(t, p->family, p->ip);
	if (p->name != NULL)
		return lists_table_find_name(t, p->name, p->name_len);
	return p->addr != NULL ? lists_table_find_addr(t, p->addr) : 0;
}

/* 1 if list id matches p, with the entry that did in *hit_out (may be NULL). */
static int
match(struct policy_lists *l, enum config_list_id id, const struct probe *p,
    struct policy_list_hit *hit_out)
{
	struct policy_list *pl = &l->lists[id];
	const char *text = NULL, *file = NULL;
	unsigned line = 0;
	uint32_t idx1;

	if (p->family == 0 && p->name == NULL && p->addr == NULL)
		return 0;	/* nothing to look for: no client name, an address not parsed */
	if (pl->file != NULL)
		lists_file_refresh(pl->file, l->now_ms(l->clock_ctx));
	/* the configuration's entries first: they are the ones an operator sees written */
	if ((idx1 = find(&pl->t, p)) != 0) {
		const struct config_list_entry *ce = &pl->conf->v[idx1 - 1];

		text = ce->text;
		file = ce->file;
		line = ce->line;
	} else if (pl->file != NULL && (idx1 = find(&pl->file->t, p)) != 0) {
		const struct lists_at *at = &pl->file->t.at[idx1 - 1];

		text = (const char *)pl->file->t.text.data + at->off;
		file = pl->file->path;
		line = at->line;
	} else {
		return 0;
	}
	if (hit_out != NULL) {
		hit_out->list = id;
		hit_out->name = config_list_name(id);
		(void)snprintf(hit_out->entry, sizeof(hit_out->entry), "%s", text);
		hit_out->file = file;
		hit_out->line = line;
	}
	return 1;
}

/* The client's address: IPv4-mapped IPv6 as the IPv4 address it is. */
static void
probe_ip(struct probe *p, const char *ip)
{
	static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	memset(p, 0, sizeof(*p));
	if (ip == NULL)
		return;
	if (inet_pton(AF_INET, ip, p->ip) == 1) {
		p->family = AF_INET;
	} else if (inet_pton(AF_INET6, ip, p->ip) == 1) {
		p->family = AF_INET6;
		if (memcmp(p->ip, v4mapped, 12) == 0) {
			memmove(p->ip, p->ip + 12, 4);
			p->family = AF_INET;
		}
	}
}

/*
 * A name lowercased into buf (256 bytes), without one trailing dot; an
 * address literal in the canonical form the entries have ("[IPv6:...]"
 * becomes "[ipv6:...]", the address as inet_ntop writes it).
 */
static void
probe_name(struct probe *p, const char *name, char buf[256])
{
	size_t n = name != NULL ? strlen(name) : 0;
	struct config_entry e;

	memset(p, 0, sizeof(*p));
	if (n == 0 || n > 255)
		return;		/* nothing, or nothing any entry could be */
	if (name[0] == '[' &&
	    config_entry_parse(CONFIG_LIST_OF_HELO, (const uint8_t *)name, n, &e) == NULL) {
		memcpy(buf, e.key, e.key_len + 1);
		n = e.key_len;
	} else {
		memcpy(buf, name, n + 1);
		ascii_lower(buf);
		if (n > 1 && buf[n - 1] == '.')
			buf[--n] = '\0';
	}
	p->name = buf;
	p->name_len = n;
}

/* The block at stage st, by list id, into *v_out. */
static void
block(const struct policy_lists *l, enum smtp_stage st, enum config_list_id id,
    const struct smtp_ask *req, const char *client_name, struct verdict *v_out)
{
	const int is_temp = l->cfg->is_block_tempfail;
	const enum verdict_kind kind = is_temp ? VERDICT_TEMPFAIL : VERDICT_REJECT;
	const char *dsn = is_temp ? "4.7.1" : "5.7.1", *rule = config_list_name(id);
	const int code = st == SMTP_STAGE_CONNECT ? (is_temp ? 421 : 554) : (is_temp ? 450 : 550);
	const char *ip = req->client_ip != NULL ? req->client_ip : "";
	char addr[SMTP_ADDR_FMT_MAX];

	switch (config_list_kind(id)) {
	case CONFIG_LIST_OF_CLIENTS:
		verdict_set(v_out, kind, code, dsn, rule, "Client host [%s] rejected: listed in %s",
		    ip, rule);
		break;
	case CONFIG_LIST_OF_CLIENT_NAMES:
		verdict_set(v_out, kind, code, dsn, rule, "Client host %s[%s] rejected: listed in %s",
		    client_name, ip, rule);
		break;
	case CONFIG_LIST_OF_HELO:
		verdict_set(v_out, kind, code, dsn, rule, "<%s>: Helo command rejected: listed in %s",
		    req->helo, rule);
		break;
	case CONFIG_LIST_OF_SENDERS:
	case CONFIG_LIST_OF_RECIPIENTS:
		if (smtp_addr_format(id == CONFIG_BLOCK_SENDERS ? req->sender : req->rcpt, addr,
		    sizeof(addr)) == -1)
			addr[0] = '\0';
		verdict_set(v_out, kind, code, dsn, rule, "<%s>: %s address rejected: listed in %s",
		    addr, id == CONFIG_BLOCK_SENDERS ? "Sender" : "Recipient", rule);
		break;
	}
}

static enum policy_lists_result
judge(struct policy_lists *l, const struct smtp_ask *req, const char *client_name,
    struct verdict *v_out, struct policy_list_hit *hit_out)
{
	struct probe ip, name, mail;
	char namebuf[256];
	/* the lists judged at this stage, in order, each with what it is matched against */
	struct step { enum config_list_id id; const struct probe *p; } order[4];
	size_t n = 0;

	verdict_accept(v_out);
	if (hit_out != NULL)
		memset(hit_out, 0, sizeof(*hit_out));
	memset(&mail, 0, sizeof(mail));
	switch (req->stage) {
	case SMTP_STAGE_CONNECT:
		probe_ip(&ip, req->client_ip);
		probe_name(&name, client_name, namebuf);
		order[n++] = (struct step){ CONFIG_ALLOW_CLIENTS, &ip };
		order[n++] = (struct step){ CONFIG_ALLOW_CLIENT_NAMES, &name };
		order[n++] = (struct step){ CONFIG_BLOCK_CLIENTS, &ip };
		order[n++] = (struct step){ CONFIG_BLOCK_CLIENT_NAMES, &name };
		break;
	case SMTP_STAGE_HELO:
		probe_name(&name, req->helo, namebuf);
		order[n++] = (struct step){ CONFIG_ALLOW_HELO, &name };
		order[n++] = (struct step){ CONFIG_BLOCK_HELO, &name };
		break;
	case SMTP_STAGE_MAIL:
	case SMTP_STAGE_RCPT:
		mail.addr = req->stage == SMTP_STAGE_MAIL ? req->sender : req->rcpt;
		if (mail.addr == NULL)
			return POLICY_LISTS_NONE;
		order[n++] = (struct step){ req->stage == SMTP_STAGE_MAIL ?
		    CONFIG_ALLOW_SENDERS : CONFIG_ALLOW_RECIPIENTS, &mail };
		order[n++] = (struct step){ req->stage == SMTP_STAGE_MAIL ?
		    CONFIG_BLOCK_SENDERS : CONFIG_BLOCK_RECIPIENTS, &mail };
		break;
	default:
		return POLICY_LISTS_NONE;
	}
	for (size_t i = 0; i < n; i++) {
		if (!match(l, order[i].id, order[i].p, hit_out))
			continue;
		if (!config_list_is_block(order[i].id))
			return POLICY_LISTS_ALLOW;
		block(l, req->stage, order[i].id, req, client_name, v_out);
		return POLICY_LISTS_BLOCK;
	}
	return POLICY_LISTS_NONE;
}

enum policy_lists_result
policy_lists_judge(struct policy_lists *l, const struct smtp_ask *req, const char *client_name,
    struct verdict *v_out, struct policy_list_hit *hit_out)
{
	enum policy_lists_result r;

	/* what a hit names is copied (the entry) or lives as long as l (the file's path) */
	pthread_mutex_lock(&l->mu);
	r = judge(l, req, client_name, v_out, hit_out);
	pthread_mutex_unlock(&l->mu);
	return r;
}
