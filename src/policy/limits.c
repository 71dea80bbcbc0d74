/*
 * limits.c - the limits of limits { }: a rate table (ratelimit.c) per rate
 * limit that is set, keyed by the client's network, the user or the sender
 * domain, and a table of the sessions open per client network.
 * The sessions' table is not a rate table: an entry lives exactly as long
 * as a session from its client does, so it is never evicted, and the
 * server's own session limit (server.max_sessions) bounds it.
 */
#include "policy/limits.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "policy/ratelimit.h"
#include "util/htab.h"
#include "util/siphash.h"
#include "util/xalloc.h"

#define MINUTE_MS (60 * 1000)
#define HOUR_MS (60 * MINUTE_MS)
#define CLIENT_KEY_MAX 17	/* the family and an IPv6 address */

/* A client's network as a counter key: the family ('4' or '6') and the masked address. */
struct client_key {
	uint8_t len;
	uint8_t b[CLIENT_KEY_MAX];
};

enum lim_rate {
	LIM_CONNECTIONS,	/* per client per minute, at CONNECT */
	LIM_MESSAGES,		/* per client per minute, at MAIL */
	LIM_RECIPIENTS,		/* per client per minute, at RCPT */
	LIM_USER_MESSAGES,	/* per authenticated user per hour, at MAIL */
	LIM_DOMAIN_MESSAGES,	/* per sender domain per hour, at MAIL */
	LIM_NRATES,
};

/* What each rate limit says when it refuses, and over which window it counts. */
static const struct {
	const char *rule;
	int code;
	const char *dsn;
	const char *text;
	int64_t window_ms;
} rates[LIM_NRATES] = {
	[LIM_CONNECTIONS] = { "limit:client_connections_per_minute", 421, "4.7.0",
	    "Too many connections from your address, try again later", MINUTE_MS },
	[LIM_MESSAGES] = { "limit:client_messages_per_minute", 450, "4.7.1",
	    "Error: too many messages from your address, try again later", MINUTE_MS },
	[LIM_RECIPIENTS] = { "limit:client_recipients_per_minute", 450, "4.7.1",
	    "Error: too many recipients from your address, try again later", MINUTE_MS },
	[LIM_USER_MESSAGES] = { "limit:user_messages_per_hour", 450, "4.7.1",
	    "Error: too many messages from your account, try again later", HOUR_MS },
	[LIM_DOMAIN_MESSAGES] = { "limit:sender_domain_messages_per_hour", 450, "4.7.1",
	    "Error: too many messages from your sender domain, try again later", HOUR_MS },
};

struct session_count {
	struct htab_link link;		/* first */
	unsigned n;
	struct client_key key;
};

struct policy_limits {
	unsigned v4_bits, v6_bits;
	unsigned max_sessions;			/* limits.client_connections; 0: none counted */
	struct ratelimit *rate[LIM_NRATES];	/* NULL: that limit is not set */
	size_t table_entries;
	struct htab sessions;			/* the clients with sessions open */
	struct siphash_key sip;
};

struct policy_limits *
policy_limits_new(const struct config *c)
{
	struct policy_limits *l = xcalloc(1, sizeof(*l));
	unsigned limit[LIM_NRATES];

	l->v4_bits = c->client_prefix_v4;
	l->v6_bits = c->client_prefix_v6;
	l->max_sessions = c->client_connections;
	l->table_entries = c->limits_table_entries;
	limit[LIM_CONNECTIONS] = c->client_connections_per_minute;
	limit[LIM_MESSAGES] = c->client_messages_per_minute;
	limit[LIM_RECIPIENTS] = c->client_recipients_per_minute;
	limit[LIM_USER_MESSAGES] = c->user_messages_per_hour;
	limit[LIM_DOMAIN_MESSAGES] = c->sender_domain_messages_per_hour;
	for (size_t i = 0; i < LIM_NRATES; i++)
		if (limit[i] != 0)
			l->rate[i] = ratelimit_new(limit[i], rates[i].window_ms, l->table_entries);
	htab_init(&l->sessions, 64);
	siphash_key_random(&l->sip);
	return l;
}

void
policy_limits_free(struct policy_limits **lp)
{
	struct policy_limits *l = *lp;

	if (l == NULL)
		return;
	for (size_t i = 0; i < LIM_NRATES; i++)
		ratelimit_free(&l->rate[i]);
	HTAB_FOREACH(&l->sessions, e)
		free(e);
	htab_clear(&l->sessions);
	free(l);
	*lp = NULL;
}

/* ---- who the client is ---- */

static void
mask(uint8_t *addr, unsigned bits, unsigned max_bits)
{
	for (unsigned i = bits; i < max_bits; i++)
		addr[i / 8] &= (uint8_t)~(0x80u >> (i % 8));
}

int
policy_limits_client_net(const char *ip, unsigned v4_bits, unsigned v6_bits,
    struct cidr *net_out)
{
	static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	memset(net_out, 0, sizeof(*net_out));
	if (v4_bits > 32)
		v4_bits = 32;
	if (v6_bits > 128)
		v6_bits = 128;
	if (inet_pton(AF_INET, ip, net_out->addr) == 1) {
		net_out->family = AF_INET;
	} else if (inet_pton(AF_INET6, ip, net_out->addr) == 1) {
		net_out->family = AF_INET6;
		/* ::ffff:a.b.c.d is the IPv4 client a.b.c.d on a dual-stack socket */
		if (memcmp(net_out->addr, v4mapped, sizeof(v4mapped)) == 0) {
			memmove(net_out->addr, net_out->addr + 12, 4);
			memset(net_out->addr + 4, 0, 12);
			net_out->family = AF_INET;
		}
	} else {
		memset(net_out, 0, sizeof(*net_out));
		return -1;
	}
	net_out->prefix_bits = net_out->family == AF_INET ? v4_bits : v6_bits;
	mask(net_out->addr, net_out->prefix_bits, net_out->family == AF_INET ? 32 : 128);
	return 0;
}

/* ip's client as a key: 0, or -1 for text that is no address (exempt). */
static int
client_key(const struct policy_limits *l, const char *ip, struct client_key *k)
{
	struct cidr net;
	size_t n;

	memset(k, 0, sizeof(*k));
	if (ip == NULL || policy_limits_client_net(ip, l->v4_bits, l->v6_bits, &net) == -1)
		return -1;
	n = net.family == AF_INET ? 4 : 16;
	k->b[0] = net.family == AF_INET ? '4' : '6';
	memcpy(k->b + 1, net.addr, n);
	k->len = (uint8_t)(1 + n);
	return 0;
}

/* ---- sessions open per client ---- */

static uint64_t
session_hash(const struct policy_limits *l, const struct client_key *k)
{
	return siphash13(&l->sip, k->b, k->len);
}

static int
is_client(const struct htab_link *link, const void *key)
{
	const struct client_key *a = &((const struct session_count *)link)->key, *b = key;

	return a->len == b->len && memcmp(a->b, b->b, a->len) == 0;
}

static struct session_count *
session_find(const struct policy_limits *l, const struct client_key *k)
{
	return (struct session_count *)htab_find(&l->sessions, session_hash(l, k), is_client, k);
}

int
policy_limits_up(struct policy_limits *l, const char *ip, int is_trusted, struct verdict *v_out)
{
	struct session_count *e;
	struct client_key k;

	verdict_accept(v_out);
	if (l->max_sessions == 0 || client_key(l, ip, &k) == -1)
		return 0;
	if ((e = session_find(l, &k)) == NULL) {
		e = xcalloc(1, sizeof(*e));
		e->key = k;
		htab_add(&l->sessions, &e->link, session_hash(l, &k));
	}
	e->n++;
	/* the trusted networks are counted (down does not need to know) but ours to size */
	if (e->n <= l->max_sessions || is_trusted)
		return 0;
	verdict_set(v_out, VERDICT_TEMPFAIL, 421, "4.7.0", "limit:client_connections", "%s",
	    "Too many connections from your address, try again later");
	return 1;
}

void
policy_limits_down(struct policy_limits *l, const char *ip)
{
	struct session_count *e;
	struct client_key k;

	if (l->max_sessions == 0 || client_key(l, ip, &k) == -1)
		return;
	e = session_find(l, &k);
	ASSERT(e != NULL && e->n > 0);	/* a down for each up */
	if (--e->n == 0) {
		htab_remove(&l->sessions, &e->link);
		free(e);
	}
}

unsigned
policy_limits_sessions(const struct policy_limits *l, const char *ip)
{
	const struct session_count *e;
	struct client_key k;

	if (l->max_sessions == 0 || client_key(l, ip, &k) == -1)
		return 0;
	e = session_find(l, &k);
	return e != NULL ? e->n : 0;
}

/* ---- rates per stage ---- */

/* One rate limit to ask about: its table and the key it counts. */
struct lim_ask {
	enum lim_rate which;
	const void *key;
	size_t len;
};

/*
 * Checks every ask, and counts every one only when none refuses: a MAIL
 * that one limit refuses is not counted by the others either.
 */
static int
judge_asks(struct policy_limits *l, const struct lim_ask *asks, size_t n, int64_t now_ms,
    struct verdict *v_out)
{
	for (size_t i = 0; i < n; i++) {
		const struct lim_ask *a = &asks[i];

		if (!ratelimit_check(l->rate[a->which], a->key, a->len, now_ms, NULL)) {
			verdict_set(v_out, VERDICT_TEMPFAIL, rates[a->which].code, rates[a->which].dsn,
			    rates[a->which].rule, "%s", rates[a->which].text);
			return 1;
		}
	}
	for (size_t i = 0; i < n; i++)
		ratelimit_count(l->rate[asks[i].which], asks[i].key, asks[i].len, now_ms);
	return 0;
}

int
policy_limits_judge(struct policy_limits *l, const struct smtp_ask *req, int64_t now_ms,
    struct verdict *v_out)
{
	struct lim_ask asks[3];
	struct client_key k;
	size_t n = 0;
	int has_client;

	verdict_accept(v_out);
	/* the trusted networks are ours to size; a local entrance is no network client */
	has_client = !req->is_trusted && client_key(l, req->client_ip, &k) == 0;
	switch (req->stage) {
	case SMTP_STAGE_CONNECT:
		if (has_client && l->rate[LIM_CONNECTIONS] != NULL)
			asks[n++] = (struct lim_ask){ LIM_CONNECTIONS, k.b, k.len };
		break;
	case SMTP_STAGE_MAIL:
		if (has_client && l->rate[LIM_MESSAGES] != NULL)
			asks[n++] = (struct lim_ask){ LIM_MESSAGES, k.b, k.len };
		if (req->auth_user != NULL && l->rate[LIM_USER_MESSAGES] != NULL)
			asks[n++] = (struct lim_ask){ LIM_USER_MESSAGES, req->auth_user,
			    strlen(req->auth_user) };
		/* the null sender has no domain: bounces count against their client only */
		if (req->sender != NULL && !req->sender->is_null && req->sender->domain_len > 0 &&
		    l->rate[LIM_DOMAIN_MESSAGES] != NULL)
			asks[n++] = (struct lim_ask){ LIM_DOMAIN_MESSAGES, req->sender->domain,
			    req->sender->domain_len };
		break;
	case SMTP_STAGE_RCPT:
		if (has_client && l->rate[LIM_RECIPIENTS] != NULL)
			asks[n++] = (struct lim_ask){ LIM_RECIPIENTS, k.b, k.len };
		break;
	default:
		break;
	}
	return judge_asks(l, asks, n, now_ms, v_out);
}

/* ---- memory ---- */

size_t
policy_limits_bytes(const struct policy_limits *l)
{
	size_t n = sizeof(*l) + l->sessions.nbuckets * sizeof(*l->sessions.buckets);

	for (size_t i = 0; i < LIM_NRATES; i++)
		if (l->rate[i] != NULL)
			n += ratelimit_bytes(l->rate[i]);
	n += l->sessions.n * sizeof(struct session_count);
	return n;
}

size_t
policy_limits_max_bytes(const struct policy_limits *l)
{
	size_t n = 0;

	for (size_t i = 0; i < LIM_NRATES; i++)
		if (l->rate[i] != NULL)
			n += l->table_entries * ratelimit_bytes_per_entry();
	return n;
}
