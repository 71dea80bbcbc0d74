/*
 * local.c - local recipients: which mailboxes a local address reaches, and
 * which remote addresses its aliases forward to.
 * Local parts are matched without regard to ASCII case. "postmaster" is
 * accepted in every local domain (RFC 5321 4.5.1); the configuration check
 * made sure it resolves. "user+tag" reaches user when user+tag itself is
 * not a user or alias. Aliases nest; the configuration check refuses loops,
 * nesting deeper than the depth limit here (which stops a loop anyway) and
 * expansions past local.max_alias_targets, so a recipient costs at most that.
 * An alias target in another domain becomes a remote recipient: relay
 * control judged the address the client gave, which is local, and the
 * forward is what the alias is for. The envelope sender stays as it is.
 */
#include "policy/policy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/ascii.h"
#include "util/xalloc.h"

struct local_db {
	const struct config *cfg;
	const char **users;			/* sorted */
	const struct config_alias **aliases;	/* sorted by name */
};

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int
cmp_alias(const void *a, const void *b)
{
	return strcmp((*(const struct config_alias *const *)a)->name,
	    (*(const struct config_alias *const *)b)->name);
}

struct local_db *
local_db_new(const struct config *c)
{
	struct local_db *db = xcalloc(1, sizeof(*db));

	db->cfg = c;
	db->users = xcalloc(c->nlocal_users, sizeof(*db->users));
	for (size_t i = 0; i < c->nlocal_users; i++)
		db->users[i] = c->local_users[i];
	qsort(db->users, c->nlocal_users, sizeof(*db->users), cmp_str);
	db->aliases = xcalloc(c->naliases, sizeof(*db->aliases));
	for (size_t i = 0; i < c->naliases; i++)
		db->aliases[i] = &c->aliases[i];
	qsort(db->aliases, c->naliases, sizeof(*db->aliases), cmp_alias);
	return db;
}

void
local_db_free(struct local_db **dbp)
{
	struct local_db *db = *dbp;

	if (db == NULL)
		return;
	free(db->users);
	free(db->aliases);
	free(db);
	*dbp = NULL;
}

static void
free_derived(void *db)
{
	local_db_free((struct local_db **)&db);
}

const struct local_db *
local_db_of(struct config *c)
{
	if (config_derived(c) == NULL)
		config_derive(c, local_db_new(c), free_derived);
	return config_derived(c);
}

static int
is_user(const struct local_db *db, const char *name)
{
	return bsearch(&name, db->users, db->cfg->nlocal_users, sizeof(*db->users), cmp_str) != NULL;
}

static const struct config_alias *
find_alias(const struct local_db *db, const char *name)
{
	struct config_alias key = { .name = (char *)name };
	const struct config_alias *kp = &key, **found;

	found = bsearch(&kp, db->aliases, db->cfg->naliases, sizeof(*db->aliases), cmp_alias);
	return found ? *found : NULL;
}

static int expand(const struct local_db *db, const char *name, const char *orig,
    const char *to, const char *domain, struct spool_msg *env, int depth);
static int reach(const struct local_db *db, char *name, const char *orig, const char *to,
    const char *domain, struct spool_msg *env, int depth);

/*
 * Adds what alias target t (struct config_alias) of an address in domain
 * reaches to env: 1 if anything, 0 if nothing.
 */
static int
expand_target(const struct local_db *db, const char *t, const char *orig, const char *domain,
    struct spool_msg *env, int depth)
{
	const char *at = strrchr(t, '@');
	char name[SMTP_ADDR_FMT_MAX], to[SMTP_ADDR_FMT_MAX];
	int n;

	if (at == NULL) {
		n = snprintf(to, sizeof(to), "%s@%s", t, domain);
		if (n < 0 || (size_t)n >= sizeof(to))
			return 0;
		return expand(db, t, orig, to, domain, env, depth);
	}
	if (!config_is_local_domain(db->cfg, at + 1)) {
		/* forwarded: the scheduler relays it like any remote recipient (MX, routes) */
		(void)spool_msg_add_rcpt(env, orig, t, NULL);
		return 1;
	}
	/* an address here is looked up as RCPT TO would be (+tag too), in its own domain */
	if ((size_t)(at - t) >= sizeof(name) || strlen(t) >= sizeof(to))
		return 0;
	memcpy(name, t, (size_t)(at - t));
	name[at - t] = '\0';
	ascii_lower(name);
	memcpy(to, t, strlen(t) + 1);
	ascii_lower(to);
	return reach(db, name, orig, to, at + 1, env, depth);
}

/* Adds the targets name reaches to env: 1 if any, 0 if name is unknown. */
static int
expand(const struct local_db *db, const char *name, const char *orig, const char *to,
    const char *domain, struct spool_msg *env, int depth)
{
	const struct config_alias *a;
	int found = 0;

	if (is_user(db, name)) {
		(void)spool_msg_add_rcpt(env, orig, to, name);
		return 1;
	}
	if ((a = find_alias(db, name)) == NULL || depth >= CONFIG_ALIAS_DEPTH_MAX)
		return 0;
	for (size_t i = 0; i < a->ntargets; i++)
		found |= expand_target(db, a->targets[i], orig, domain, env, depth + 1);
	return found;
}

/* expand(), then, if that finds nothing, the name without its +tag (name is changed). */
static int
reach(const struct local_db *db, char *name, const char *orig, const char *to,
    const char *domain, struct spool_msg *env, int depth)
{
	char delim = db->cfg->recipient_delimiter, *at;

	if (expand(db, name, orig, to, domain, env, depth))
		return 1;
	if (delim == '\0' || (at = strchr(name, delim)) == NULL || at == name)
		return 0;
	*at = '\0';
	return expand(db, name, orig, to, domain, env, depth);
}

enum policy_rcpt_result
local_rcpt(const struct local_db *db, const struct smtp_addr *a, struct spool_msg *env)
{
	const struct config *c = db->cfg;
	char local[SMTP_LOCAL_MAX + 1], orig[SMTP_ADDR_FMT_MAX], to[SMTP_ADDR_FMT_MAX];
	const char *domain;

	if (smtp_addr_format(a, orig, sizeof(orig)) == -1)
		return POLICY_RCPT_UNKNOWN;
	if (a->is_bare_postmaster) {
		/* RFC 5321 4.1.1.3: <postmaster> alone names this host's postmaster */
		if (c->nlocal_domains == 0)
			return POLICY_RCPT_UNKNOWN;
		domain = c->local_domains[0];
	} else {
		domain = a->domain;
	}
	/* local names are ASCII; anything else (UTF-8, '@' from a quoted string) is nobody here */
	if (a->has_utf8 || a->local_len == 0 || a->local_len >= sizeof(local) ||
	    memchr(a->local, '@', a->local_len) != NULL)
		return POLICY_RCPT_UNKNOWN;
	memcpy(local, a->local, a->local_len);
	local[a->local_len] = '\0';
	ascii_lower(local);
	if (snprintf(to, sizeof(to), "%s", orig) >= (int)sizeof(to))
		return POLICY_RCPT_UNKNOWN;
	if (a->is_bare_postmaster && snprintf(to, sizeof(to), "postmaster@%s", domain) >= (int)sizeof(to))
		return POLICY_RCPT_UNKNOWN;
	return reach(db, local, orig, to, domain, env, 0) ? POLICY_RCPT_ACCEPT : POLICY_RCPT_UNKNOWN;
}

const struct config *
local_db_config(const struct local_db *db)
{
	return db->cfg;
}
