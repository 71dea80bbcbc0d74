/*
 * outbound.c - outbound.routes and the smarthost: a route as written
 * ("NEXT-HOP [POLICY]"), the names of the TLS policies, which route a
 * domain takes, and the checks across the outbound keys: credentials go
 * together and only inside required TLS (verify unless said otherwise),
 * and "*" and the smarthost do not both claim every domain.
 */
#include "config/keys_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/ascii.h"
#include "util/buf.h"
#include "util/xalloc.h"

static const char *const tls_names[] = {
	[CONFIG_TLS_NONE] = "none",
	[CONFIG_TLS_MAY] = "may",
	[CONFIG_TLS_ENCRYPT] = "encrypt",
	[CONFIG_TLS_VERIFY] = "verify",
};

int
config_tls_parse(const char *s, enum config_tls *out)
{
	for (size_t i = 0; i < NELEM(tls_names); i++)
		if (slice_caseeq(slice_str(s), tls_names[i])) {
			*out = (enum config_tls)i;
			return 0;
		}
	return -1;
}

const char *
config_tls_name(enum config_tls tls)
{
	ASSERT((size_t)tls < NELEM(tls_names));
	return tls_names[tls];
}

int
config_route_parse(const char *s, struct config_route *out)
{
	const char *sp = strchr(s, ' ');
	size_t len = sp != NULL ? (size_t)(sp - s) : strlen(s);
	char hop[sizeof(out->hop.host) + 16];

	memset(out, 0, sizeof(*out));
	out->tls = CONFIG_TLS_MAY;	/* as MX hosts: a route without a word changes nothing */
	if (len >= sizeof(hop))
		return -1;
	memcpy(hop, s, len);
	hop[len] = '\0';
	if (config_nexthop_parse(hop, &out->hop) == -1)
		return -1;
	if (sp == NULL)
		return 0;
	while (*sp == ' ')
		sp++;
	return config_tls_parse(sp, &out->tls);
}

int
cfg_check_route(const char *s)
{
	struct config_route r;

	return config_route_parse(s, &r) == 0;
}

enum config_route_kind
config_route_of(const struct config *c, const char *domain, struct config_route *out)
{
	const char *v;

	if ((v = config_map_get(&c->out_routes, domain)) != NULL && config_route_parse(v, out) == 0)
		return CONFIG_ROUTE_DOMAIN;
	if ((v = config_map_get(&c->out_routes, "*")) != NULL && config_route_parse(v, out) == 0)
		return CONFIG_ROUTE_ANY;
	memset(out, 0, sizeof(*out));
	out->tls = CONFIG_TLS_MAY;
	if (c->smarthost[0] != '\0' && config_nexthop_parse(c->smarthost, &out->hop) == 0) {
		out->tls = (enum config_tls)c->smarthost_tls;
		return CONFIG_ROUTE_SMARTHOST;
	}
	memset(&out->hop, 0, sizeof(out->hop));
	return CONFIG_ROUTE_NONE;
}

int
config_uses_verify(const struct config *c)
{
	struct config_route r;

	if (c->smarthost[0] != '\0' && c->smarthost_tls == CONFIG_TLS_VERIFY)
		return 1;
	for (size_t i = 0; i < c->out_routes.n; i++)
		if (config_route_parse(c->out_routes.v[i].value, &r) == 0 && r.tls == CONFIG_TLS_VERIFY)
			return 1;
	return 0;
}

static const struct ucl_node *
set_at(const struct cfg_load *l, enum cfg_key_id id)
{
	return l->set_by[cfg_key_row(id)];
}

/* "*" and the smarthost both take every domain without a route: one of them would be dead. */
static int
check_any_route(struct cfg_load *l)
{
	const struct config *c = l->cfg;
	const struct ucl_node *nr = set_at(l, CFG_KEY_ROUTES);

	if (c->smarthost[0] == '\0')
		return 0;
	for (size_t i = 0; i < c->out_routes.n; i++)
		if (strcmp(c->out_routes.v[i].key, "*") == 0)
			return cfg_error(l->err, l->errsize, nr->file, c->out_routes.v[i].line,
			    "outbound.routes: '*' and outbound.smarthost both take every domain "
			    "without a route of its own: keep one");
	return 0;
}

int
cfg_check_outbound(struct cfg_load *l)
{
	struct config *c = l->cfg;
	const struct ucl_node *nu = set_at(l, CFG_KEY_SMARTHOST_USER);
	const struct ucl_node *np = set_at(l, CFG_KEY_SMARTHOST_PASSWORD);
	const struct ucl_node *nt = set_at(l, CFG_KEY_SMARTHOST_TLS);
	const struct ucl_node *nca = set_at(l, CFG_KEY_TLS_CA_FILE);
	const struct ucl_node *at = nu != NULL ? nu : np;
	int has_auth = c->smarthost_user[0] != '\0';

	/* AUTH to the smarthost needs both a user and a password, and a smarthost to send them to */
	if ((c->smarthost_user[0] == '\0') != (c->smarthost_password[0] == '\0'))
		return cfg_error(l->err, l->errsize, at->file, at->vline,
		    "outbound.smarthost_user and outbound.smarthost_password go together");
	if (has_auth && c->smarthost[0] == '\0')
		return cfg_error(l->err, l->errsize, at->file, at->vline,
		    "outbound.smarthost_user: set outbound.smarthost too");
	if (nt != NULL && c->smarthost[0] == '\0')
		return cfg_error(l->err, l->errsize, nt->file, nt->vline,
		    "outbound.smarthost_tls: set outbound.smarthost too");
	/*
	 * A password goes only where TLS is required: with may, whoever sits in
	 * between strips STARTTLS and the session fails at best. The default
	 * checks the certificate too, so the password reaches only the
	 * smarthost itself; a hub without credentials is used as it is (may).
	 */
	if (has_auth && nt == NULL)
		c->smarthost_tls = CONFIG_TLS_VERIFY;
	else if (has_auth && c->smarthost_tls < CONFIG_TLS_ENCRYPT)
		return cfg_error(l->err, l->errsize, nt->file, nt->vline,
		    "outbound.smarthost_tls: %s does not protect the password of "
		    "outbound.smarthost_user: use verify or encrypt",
		    config_tls_name((enum config_tls)c->smarthost_tls));
	if (check_any_route(l) == -1)
		return -1;
	if (nca == NULL)
		return 0;
	/* src/tls reads the file (serve, sterna check): its messages name this place */
	c->out_tls_ca_file_at.file = xstrdup(nca->file);
	c->out_tls_ca_file_at.line = nca->vline;
	return cfg_absolute_at(l, nca, &c->out_tls_ca_file, "outbound.tls_ca_file");
}
