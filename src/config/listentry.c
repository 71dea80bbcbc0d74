/*
 * listentry.c - the allow and block lists of policy { }: what an entry of
 * each kind may be (config_entry_parse(), which the list files of
 * src/policy/listfile.c use too, so a line means the same in either place),
 * the lists' names, their file paths and freeing them. Matching is
 * src/policy/lists.c's.
 * Host names are LDH labels with '_' allowed (RFC 1035 2.3.1; '_' is seen
 * in real reverse DNS and HELO names), compared without regard to ASCII
 * case (RFC 4343). Addresses are read as RFC 5321 4.1.2 paths (addr.c).
 */
#include "config/keys_int.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smtp/smtp.h"
#include "util/ascii.h"
#include "util/xalloc.h"

_Static_assert(CONFIG_ENTRY_KEY_MAX == SMTP_LOCAL_MAX + 1 + SMTP_DOMAIN_MAX,
    "an address key is a local part, '@' and a domain");

static const char *const list_names[CONFIG_LIST_N] = {
	[CONFIG_ALLOW_CLIENTS] = "allow_clients",
	[CONFIG_BLOCK_CLIENTS] = "block_clients",
	[CONFIG_ALLOW_CLIENT_NAMES] = "allow_client_names",
	[CONFIG_BLOCK_CLIENT_NAMES] = "block_client_names",
	[CONFIG_ALLOW_HELO] = "allow_helo",
	[CONFIG_BLOCK_HELO] = "block_helo",
	[CONFIG_ALLOW_SENDERS] = "allow_senders",
	[CONFIG_BLOCK_SENDERS] = "block_senders",
	[CONFIG_ALLOW_RECIPIENTS] = "allow_recipients",
	[CONFIG_BLOCK_RECIPIENTS] = "block_recipients",
};

enum config_list_kind
config_list_kind(enum config_list_id id)
{
	ASSERT((unsigned)id < CONFIG_LIST_N);
	return (enum config_list_kind)(id / 2);	/* allow, then block, for each kind */
}

int
config_list_is_block(enum config_list_id id)
{
	return id % 2 == 1;
}

const char *
config_list_name(enum config_list_id id)
{
	ASSERT((unsigned)id < CONFIG_LIST_N);
	return list_names[id];
}

/* 1 if s[0..len) is a host name: labels of 1..63 letters, digits, '-' or '_', 253 bytes at most. */
static int
is_host_name(const uint8_t *s, size_t len)
{
	size_t label = 0;

	if (len == 0 || len > 253)
		return 0;
	for (size_t i = 0; i <= len; i++) {
		if (i == len || s[i] == '.') {
			if (label == 0 || label > 63 || s[i - 1] == '-' || s[i - label] == '-')
				return 0;
			label = 0;
		} else if (ascii_isalnum(s[i]) || s[i] == '-' || s[i] == '_') {
			label++;
		} else {
			return 0;
		}
	}
	return 1;
}

static void
set_key(struct config_entry *out, enum config_entry_form form, const void *p, size_t len)
{
	ASSERT(len <= CONFIG_ENTRY_KEY_MAX);
	out->form = form;
	memcpy(out->key, p, len);
	out->key[len] = '\0';
	out->key_len = len;
}

/* A host name, or ".domain" for the names under it: lowercased into out. */
static const char *
parse_name(const uint8_t *s, size_t len, struct config_entry *out)
{
	int is_suffix = len > 0 && s[0] == '.';

	if (!is_host_name(s + is_suffix, len - is_suffix))
		return "is not a host name (as mail.example.com) or a domain (as .example.com)";
	set_key(out, is_suffix ? CONFIG_ENTRY_SUFFIX : CONFIG_ENTRY_NAME, s + is_suffix,
	    len - is_suffix);
	ascii_lower(out->key);
	return NULL;
}

/*
 * A HELO address literal, "[192.0.2.1]" or "[IPv6:2001:db8::1]" (RFC 5321
 * 4.1.3), into its canonical form as addr.c writes a literal domain; the
 * judge puts the client's literal in the same form before comparing.
 */
static const char *
parse_literal(const uint8_t *s, size_t len, struct config_entry *out)
{
	static const char *const why = "is not an address literal (as [192.0.2.1] or "
	    "[IPv6:2001:db8::1])";
	char text[CONFIG_ENTRY_MAX + 1];
	struct smtp_addr a;

	if (len < 3 || s[len - 1] != ']')
		return why;
	/* addr.c reads literals and writes them canonical: let it, through an address */
	text[0] = 'x';
	text[1] = '@';
	if (len > sizeof(text) - 3)
		return why;
	memcpy(text + 2, s, len);
	text[len + 2] = '\0';
	if (smtp_addr_parse((struct slice){ (const uint8_t *)text, len + 2 }, 0, &a) !=
	    SMTP_ADDR_OK || !a.is_literal)
		return why;
	set_key(out, CONFIG_ENTRY_NAME, a.domain, a.domain_len);
	return NULL;
}

/* A mail domain (a U-label is fine: SMTPUTF8), as addr.c reads one; literals when is_literal_ok. */
static const char *
parse_domain(const uint8_t *s, size_t len, enum config_entry_form form, int is_literal_ok,
    struct config_entry *out)
{
	uint8_t text[2 + SMTP_DOMAIN_MAX];
	struct smtp_addr a;

	if (len == 0 || len > SMTP_DOMAIN_MAX || (s[0] == '[' && !is_literal_ok))
		return "is not a domain";
	text[0] = 'x';
	text[1] = '@';
	memcpy(text + 2, s, len);
	if (smtp_addr_parse((struct slice){ text, len + 2 }, 1, &a) != SMTP_ADDR_OK)
		return "is not a domain";
	set_key(out, form, a.domain, a.domain_len);
	return NULL;
}

/*
 * Senders and recipients: "user@example.com", "example.com" or
 * "@example.com" (the domain), ".example.com" (its subdomains), and for
 * senders "<>".
 */
static const char *
parse_mail(enum config_list_kind kind, const uint8_t *s, size_t len, struct config_entry *out)
{
	const uint8_t *at = memchr(s, '@', len);
	struct smtp_addr a;
	uint8_t key[CONFIG_ENTRY_KEY_MAX];

	if (len == 2 && s[0] == '<' && s[1] == '>') {
		if (kind != CONFIG_LIST_OF_SENDERS)
			return "is the null sender: no recipient is empty";
		set_key(out, CONFIG_ENTRY_NULL, "", 0);
		return NULL;
	}
	if (s[0] == '.')
		return parse_domain(s + 1, len - 1, CONFIG_ENTRY_SUFFIX, 0, out) == NULL ? NULL :
		    "is not a domain (as .example.com)";
	if (s[0] == '@')
		return parse_domain(s + 1, len - 1, CONFIG_ENTRY_DOMAIN, 1, out) == NULL ? NULL :
		    "is not a domain (as @example.com)";
	if (at == NULL)
		return parse_domain(s, len, CONFIG_ENTRY_DOMAIN, 1, out) == NULL ? NULL :
		    "is not an address (as user@example.com) or a domain (as example.com)";
	/* which '@' separates (a quoted local part may hold one) is addr.c's to know */
	if (smtp_addr_parse((struct slice){ s, len }, 1, &a) != SMTP_ADDR_OK || a.local_len == 0 ||
	    a.has_route)
		return "is not an address (as user@example.com) or a domain (as example.com)";
	memcpy(key, a.local, a.local_len);
	key[a.local_len] = '@';
	memcpy(key + a.local_len + 1, a.domain, a.domain_len);
	set_key(out, CONFIG_ENTRY_ADDRESS, key, a.local_len + 1 + a.domain_len);
	return NULL;
}

const char *
config_entry_parse(enum config_list_kind kind, const uint8_t *s, size_t len,
    struct config_entry *out)
{
	char text[CONFIG_ENTRY_MAX + 1];

	memset(out, 0, sizeof(*out));
	if (len == 0)
		return "is empty";
	if (len > CONFIG_ENTRY_MAX)
		return "is longer than 512 bytes";
	if (memchr(s, '\0', len) != NULL)
		return "holds a NUL byte";
	switch (kind) {
	case CONFIG_LIST_OF_CLIENTS:
		memcpy(text, s, len);
		text[len] = '\0';
		switch (cidr_parse(text, &out->net)) {
		case CIDR_OK:
			out->form = CONFIG_ENTRY_NETWORK;
			return NULL;
		case CIDR_HOST_BITS:
			/* as relay.trusted_networks: a typo, most likely, not to be widened quietly */
			return "has bits set after the prefix";
		default:
			return "is not an address or a network in CIDR notation (as 192.0.2.0/24 or "
			    "2001:db8::/32)";
		}
	case CONFIG_LIST_OF_CLIENT_NAMES:
		return parse_name(s, len, out);
	case CONFIG_LIST_OF_HELO:
		return s[0] == '[' ? parse_literal(s, len, out) : parse_name(s, len, out);
	case CONFIG_LIST_OF_SENDERS:
	case CONFIG_LIST_OF_RECIPIENTS:
		return parse_mail(kind, s, len, out);
	}
	return "is not an entry";
}

/* ---- the lists in struct config ---- */

int
cfg_policy_list_paths(struct cfg_load *l)
{
	const size_t first = offsetof(struct config, lists);

	for (size_t i = 0; i < cfg_nrows; i++) {
		const struct key_row *r = &cfg_rows[i];
		const struct ucl_node *n = l->set_by[i];
		struct config_list *cl;

		/* the *_file rows: paths inside lists[] */
		if (r->base != KB_CONFIG || r->type != KT_PATH || r->off < first ||
		    r->off >= first + sizeof(l->cfg->lists) || n == NULL)
			continue;
		cl = &l->cfg->lists[(r->off - first) / sizeof(struct config_list)];
		if (cfg_absolute_at(l, n, &cl->file, r->path) == -1)
			return -1;
		cl->file_set_in = xstrdup(n->file);
		cl->file_set_line = n->vline;
	}
	return 0;
}

void
cfg_policy_lists_free(struct config *c)
{
	for (size_t i = 0; i < CONFIG_LIST_N; i++) {
		struct config_list *cl = &c->lists[i];

		for (size_t k = 0; k < cl->n; k++) {
			free(cl->v[k].text);
			free(cl->v[k].file);
		}
		free(cl->v);
		free(cl->file);
		free(cl->file_set_in);
	}
}
