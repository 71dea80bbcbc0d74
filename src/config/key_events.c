/*
 * key_events.c - events { webhook "NAME" { url; secret; types } }: each
 * webhook's values, and the section as a whole once read.
 */
#include "config/keys_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/ascii.h"
#include "util/xalloc.h"

#define NAME_MAX_LEN 32
#define SECRET_MIN_LEN 16
#define URL_MAX_LEN 1024

const char *const config_event_types[CONFIG_EVENT_TYPES] = { "received", "delivered",
	"deferred", "bounced", "expired", "suppressed", "deleted" };
const char *const config_bounce_categories[CONFIG_BOUNCE_CATEGORIES] = { "", "bad_mailbox",
	"mailbox_full", "policy", "spam_block", "dns", "other" };

const char *const config_dkim_sources[CONFIG_DKIM_SOURCES] = { "auth", "trusted", "sendmail",
	"pickup", "api", "notice" };

int
cfg_check_dkim_sign(const char *s)
{
	unsigned bits;

	return config_names_parse(s, config_dkim_sources, CONFIG_DKIM_SOURCES, &bits) == 0;
}

/* Selectors: DNS labels (RFC 6376 3.1), comma-separated, at least one. */
int
cfg_check_dkim_selectors(const char *s)
{
	size_t label = 0;

	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++) {
		if (*s == ',') {
			if (label == 0)
				return 0;
			label = 0;
		} else if (ascii_isalnum((unsigned char)*s) || (*s == '-' && label > 0)) {
			if (++label > 63)
				return 0;
		} else {
			return 0;
		}
	}
	return label > 0;
}

int
config_names_parse(const char *s, const char *const *names, size_t n, unsigned *bits_out)
{
	unsigned bits = 0;

	while (*s != '\0') {
		size_t len = strcspn(s, ","), k;

		/* an empty name never matches: "" stands for "none" in a table */
		for (k = 0; k < n && (len == 0 || strlen(names[k]) != len ||
		    strncmp(s, names[k], len) != 0); k++)
			;
		if (k == n)
			return -1;
		bits |= 1u << k;
		s += len;
		if (*s == ',' && *++s == '\0')
			return -1;
	}
	*bits_out = bits;
	return 0;
}

/*
 * http:// or https://, then a host (a name, an IPv4 address, or an IPv6
 * one in brackets) with an optional port, then an optional path: nothing
 * that could smuggle a second line into the request.
 */
int
cfg_check_webhook_url(const char *s)
{
	size_t n = strlen(s);
	const char *p;

	if (n > URL_MAX_LEN)
		return 0;
	if (strncmp(s, "https://", 8) == 0)
		p = s + 8;
	else if (strncmp(s, "http://", 7) == 0)
		p = s + 7;
	else
		return 0;
	if (*p == '\0' || *p == '/' || *p == ':')
		return 0;
	for (; *p != '\0'; p++)
		if (!ascii_isgraph((unsigned char)*p))
			return 0;
	return 1;
}

/* A comma-separated list of event type names, or "" for all of them. */
int
cfg_check_event_types(const char *s)
{
	unsigned bits;

	return config_names_parse(s, config_event_types, CONFIG_EVENT_TYPES, &bits) == 0;
}

/* A comma-separated list of bounce categories, or "" for none. */
int
cfg_check_bounce_categories(const char *s)
{
	unsigned bits;

	return config_names_parse(s, config_bounce_categories, CONFIG_BOUNCE_CATEGORIES,
	    &bits) == 0;
}

struct config_webhook *
cfg_webhook_new(struct cfg_load *l, const struct ucl_node *n)
{
	struct config *c = l->cfg;
	struct config_webhook *w;
	size_t i = c->nwebhooks++;

	if (c->nwebhooks > l->webhook_cap) {
		l->webhook_cap = l->webhook_cap ? l->webhook_cap * 2 : 4;
		c->webhooks = xrealloc(c->webhooks, l->webhook_cap * sizeof(*c->webhooks));
		l->webhook_nodes = xrealloc(l->webhook_nodes,
		    l->webhook_cap * sizeof(*l->webhook_nodes));
	}
	w = &c->webhooks[i];
	memset(w, 0, sizeof(*w));
	w->name = xstrdup(n->key);
	w->types = xstrdup("");
	w->line = n->line;
	l->webhook_nodes[i] = n;
	return w;
}

int
cfg_check_webhooks(struct cfg_load *l)
{
	struct config *c = l->cfg;
	char path[128], shown[64];

	for (size_t i = 0; i < c->nwebhooks; i++) {
		const struct config_webhook *w = &c->webhooks[i];
		const struct ucl_node *sec = l->webhook_nodes[i];

		(void)snprintf(path, sizeof(path), "events.webhook.%s", cfg_shorten(w->name, shown));
		/* the name names its cursor's file: letters, digits, '_' and '-' only */
		if (strlen(w->name) > NAME_MAX_LEN || !cfg_is_local_name(w->name) ||
		    strchr(w->name, '.') != NULL)
			return cfg_error(l->err, l->errsize, sec->file, sec->line, "%s: a webhook's "
			    "name is at most %d letters, digits, '_' or '-'", path, NAME_MAX_LEN);
		if (w->url == NULL)
			return cfg_error(l->err, l->errsize, sec->file, sec->line, "%s.url: required, "
			    "as url = \"https://hooks.example.com/sterna\"", path);
		if (w->secret == NULL || strlen(w->secret) < SECRET_MIN_LEN)
			return cfg_error(l->err, l->errsize, sec->file, sec->line, "%s.secret: required, "
			    "at least %d characters (receivers check the signature with it)", path,
			    SECRET_MIN_LEN);
	}
	return 0;
}

void
cfg_webhooks_free(struct config *c)
{
	for (size_t i = 0; i < c->nwebhooks; i++) {
		free(c->webhooks[i].name);
		free(c->webhooks[i].url);
		free(c->webhooks[i].secret);
		free(c->webhooks[i].types);
	}
	free(c->webhooks);
	c->webhooks = NULL;
	c->nwebhooks = 0;
}
