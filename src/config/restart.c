/*
 * restart.c - which keys a reload leaves as they were, and which of those
 * a new generation changed. The daemon (src/main/serve.c) switches its
 * sessions, its scheduler and its submission core to a new generation at
 * a reload (listeners included: src/server/listener.c); what was built once
 * at start from the keys below (the spool, threads, the sandbox, the
 * modules that keep no reference to a newer generation) stays until a restart, and a reload
 * says which of them changed. docs/configuration.md marks the same keys.
 *
 * What changed is judged from the files as written: each row keeps a sum
 * of the values set for it (with each section's name), so that a key set,
 * removed or given another value, and a section added or removed, all
 * show. A key written out with its default where it was left out before
 * counts as changed: the sum cannot know the default.
 */
#include "config/keys_int.h"

#include <stdio.h>
#include <string.h>

#include "util/buf.h"
#include "util/xalloc.h"

/*
 * The keys that need a restart, by the start of their path in the key
 * table, with why.
 */
static const char *const restart_keys[] = {
	"server.hostname",		/* the milters', the API's and the dashboard's too */
	"server.user",			/* privileges are dropped once */
	"server.max_sessions",		/* ...and server.max_sessions_per_client: sized at start */
	"server.io_threads",		/* threads are started once */
	"server.receive_loops",		/* ...and so are the receiving loops */
	"server.log_",			/* the level, format and output are set once */
	"server.sandbox",		/* applied once, for good */
	"server.local_milters",
	"tls.cert.",			/* the files are read again at a reload; their places not */
	"tls.ask_client_cert",		/* set in the TLS contexts made at start */
	"smtp.max_message_bytes",	/* the entrances other than SMTP have theirs from start */
	"smtp.max_text_line_bytes",
	"smtp.max_recipients",
	"smtp.max_future_release",
	"smtp.max_hops",		/* judged by the submission core, for every entrance */
	"spool.dir",
	"local.mailbox_root",		/* claimed and confined at start */
	"local.mailbox_group",
	"relay.trusted_networks",	/* DKIM signing judges trusted mail by it too */
	"policy.",			/* the lists and DNSBLs are built at start; list files are
					 * read again as they change */
	"auth.users_file",		/* the file is read again at a reload; its place not */
	"auth.client_",			/* the failure counts are kept by address from start */
	"limits.",			/* the counter tables are sized at start */
	"dns.",				/* the resolvers are made at start */
	"outbound.smarthost_user",	/* encoded once; destinations borrow the encoding */
	"outbound.smarthost_password",
	"outbound.tls_ca_file",		/* the trust anchors are read once */
	"http.",			/* the API keys file is read again at a reload */
	"pickup.",
	"maildrop.",
	"events.",
	"milter.",
	"dkim.",			/* the keys are read at start, as root */
};

int
config_key_needs_restart(const char *path)
{
	for (size_t i = 0; i < NELEM(restart_keys); i++)
		if (strncmp(path, restart_keys[i], strlen(restart_keys[i])) == 0)
			return 1;
	return 0;
}

/* FNV-1a, 64 bits: a change detector, not a defence; the files are the operator's. */
static uint64_t
fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ull;
	return h;
}

static uint64_t
sum_node(uint64_t h, const struct ucl_node *n)
{
	unsigned char type = (unsigned char)n->type;

	h = fnv(h, &type, 1);
	if (n->key != NULL)
		h = fnv(h, n->key, strlen(n->key) + 1);
	if (n->type == UCL_OBJECT || n->type == UCL_ARRAY) {
		for (size_t i = 0; i < n->nkids; i++)
			h = sum_node(h, n->kids[i]);
		return fnv(h, "]", 1);
	}
	return fnv(h, n->str != NULL ? n->str : "", n->len + 1);
}

void
cfg_sum_node(struct config *cfg, const struct key_row *r, const char *path,
    const struct ucl_node *n)
{
	uint64_t h = fnv(0xcbf29ce484222325ull, path, strlen(path) + 1);

	/* a sum, so that the order of sections in the file does not count */
	cfg->key_sums[r - cfg_rows] += sum_node(h, n) | 1;
}

size_t
config_restart_changes(const struct config *old, const struct config *new, char *out,
    size_t outsize)
{
	struct buf b;
	size_t n = 0;

	buf_init(&b, outsize > 4 ? outsize - 4 : 0);
	for (size_t i = 0; i < cfg_nrows; i++) {
		if (old->key_sums[i] == new->key_sums[i] || !config_key_needs_restart(cfg_rows[i].path))
			continue;
		if ((n++ > 0 && buf_append_str(&b, ", ") == -1) ||
		    buf_append_str(&b, cfg_rows[i].path) == -1) {
			(void)snprintf(out, outsize, "%s...", buf_cstr(&b));
			for (i++; i < cfg_nrows; i++)
				n += old->key_sums[i] != new->key_sums[i] &&
				    config_key_needs_restart(cfg_rows[i].path);
			buf_clear(&b);
			return n;
		}
	}
	(void)snprintf(out, outsize, "%s", n > 0 ? buf_cstr(&b) : "");
	buf_clear(&b);
	return n;
}
