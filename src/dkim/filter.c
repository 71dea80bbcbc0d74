/*
 * filter.c - DKIM signing as the content step's signer (msg/filter.h): the
 * last filter of every eligible message's chain, so it signs the message
 * as the content filters left it.
 *
 * Eligible is what dkim.sign names: mail from an authenticated client
 * ("auth"), from a trusted network ("trusted"), from sterna sendmail, the
 * pickup folder, the HTTP API, notices of ours. The body is hashed as it
 * streams (a new body, when a filter replaced it, from its start); at the
 * end of the header section the From field says the signing domain: one
 * From with one mailbox whose domain has keys, or the message is not
 * signed and the filter steps out at once (no more hashing). At the end
 * each key of the domain signs, and its DKIM-Signature goes on top.
 */
#include "dkim/dkim.h"

#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "mime/mime.h"
#include "msg/filter.h"
#include "util/ascii.h"
#include "util/cidr.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/xalloc.h"

/* One message being signed. */
struct dkim_msg {
	const struct dkim_keyring *sg;
	struct dkim_body body;
	char domain[256];	/* the From domain, once the header section is known */
};

enum { SRC_AUTH, SRC_TRUSTED, SRC_SENDMAIL, SRC_PICKUP, SRC_API, SRC_NOTICE };

static int
is_eligible(const struct dkim_keyring *sg, const struct spool_msg *env)
{
	const struct config *cfg = sg->cfg;

	switch (env->origin) {
	case SPOOL_FROM_SMTP:
		if (env->auth_user != NULL)
			return (sg->sources >> SRC_AUTH) & 1;
		return ((sg->sources >> SRC_TRUSTED) & 1) && env->client_ip != NULL &&
		    cidr_list_match(cfg->trusted_networks, cfg->ntrusted_networks, env->client_ip);
	case SPOOL_FROM_SENDMAIL:
		return (sg->sources >> SRC_SENDMAIL) & 1;
	case SPOOL_FROM_PICKUP:
		return (sg->sources >> SRC_PICKUP) & 1;
	case SPOOL_FROM_API:
		return (sg->sources >> SRC_API) & 1;
	case SPOOL_FROM_NOTICE:
	default:
		return (sg->sources >> SRC_NOTICE) & 1;
	}
}

static int
has_key(const struct dkim_keyring *sg, const char *domain)
{
	for (size_t i = 0; i < sg->n; i++)
		if (strcmp(sg->v[i].domain, domain) == 0)
			return 1;
	return 0;
}

/*
 * The signing domain: that of the one mailbox of the one From field
 * (RFC 5322 3.6.2 allows more, with a Sender; DMARC judges the From
 * domain, so such mail is not signed here). 0 with out, or -1.
 */
static int
from_domain(const struct header_list *l, char *out, size_t outsize)
{
	struct mime_addrs a;
	struct header_field from;
	struct slice v;
	char *text, err[128];
	const char *at;
	size_t nfrom = 0, k = 0;
	int r = -1;

	for (size_t i = 0; i < header_list_count(l); i++) {
		struct header_field f = header_list_get(l, i);

		if (header_field_is(&f, "from")) {
			from = f;
			nfrom++;
		}
	}
	if (nfrom != 1)
		return -1;
	v = header_field_value(&from);
	text = xmalloc(v.len + 1);
	for (size_t i = 0; i < v.len; i++)
		if (v.p[i] != '\r' && v.p[i] != '\n')	/* unfolded */
			text[k++] = (char)v.p[i];
	text[k] = '\0';
	mime_addrs_init(&a, 1);
	if (mime_addr_list(text, NULL, &a, err, sizeof(err)) == MIME_ADDR_OK && a.n == 1 &&
	    (at = strrchr(a.v[0], '@')) != NULL && strlen(at + 1) < outsize) {
		memcpy(out, at + 1, strlen(at + 1) + 1);
		ascii_lower(out);
		r = 0;
	}
	mime_addrs_clear(&a);
	free(text);
	return r;
}

static void *
signer_make(void *ctx, const struct spool_msg *env, const char *entrance)
{
	const struct dkim_keyring *sg = ctx;
	struct dkim_msg *m;

	(void)entrance;
	if (!is_eligible(sg, env))
		return NULL;
	m = xcalloc(1, sizeof(*m));
	m->sg = sg;
	dkim_body_init(&m->body);
	return m;
}

static enum msg_filter_go
on_eoh(void *self, struct msg_filter *f)
{
	struct dkim_msg *m = self;
	struct verdict v;

	if (from_domain(msg_filter_headers(f), m->domain, sizeof(m->domain)) == 0 &&
	    has_key(m->sg, m->domain))
		return MSG_FILTER_MORE;
	/* nothing to sign with: out of the chain at once, the body is not hashed */
	m->domain[0] = '\0';
	verdict_accept(&v);
	msg_filter_answer(f, &v);
	return MSG_FILTER_MORE;
}

static enum msg_filter_go
on_body(void *self, struct msg_filter *f, const uint8_t *p, size_t n)
{
	struct dkim_msg *m = self;

	(void)f;
	dkim_body_feed(&m->body, p, n);
	return MSG_FILTER_MORE;
}

static void
on_body_replaced(void *self, struct msg_filter *f)
{
	struct dkim_msg *m = self;

	(void)f;
	dkim_body_clear(&m->body);
	dkim_body_init(&m->body);
}

/*
 * Puts the field dkim_sign wrote ("DKIM-Signature: ...CRLF") on top, as it
 * was signed: its value is what follows the name and colon, without the
 * last CRLF, which the header list writes back byte for byte.
 */
static int
insert_signature(struct msg_filter *f, struct buf *sig, char *err, size_t errsize)
{
	const size_t name_len = sizeof("DKIM-Signature:") - 1;

	ASSERT(sig->len > name_len + 2);
	sig->len -= 2;
	if (buf_append_byte(sig, '\0') == -1)
		return -1;
	return msg_filter_header_insert(f, 0, "DKIM-Signature", (const char *)sig->data + name_len,
	    err, errsize);
}

/* Signs with each key of the From domain; a key that fails is logged and skipped. */
static void
on_end(void *self, struct msg_filter *f)
{
	struct dkim_msg *m = self;
	const struct spool_msg *env = msg_filter_env(f);
	const struct dkim_keyring *kr = m->sg;
	uint8_t bh[32];
	struct verdict v;
	struct buf sig;
	char err[256];
	int64_t now = (int64_t)(clock_wall_us() / 1000000u);

	/* the From field may have changed since the end of the header section */
	if (from_domain(msg_filter_headers(f), m->domain, sizeof(m->domain)) == -1)
		m->domain[0] = '\0';
	dkim_body_final(&m->body, bh);
	buf_init(&sig, 64 * 1024);
	for (size_t i = 0; i < kr->n && m->domain[0] != '\0'; i++) {
		const struct dkim_key *k = &kr->v[i];

		if (strcmp(k->domain, m->domain) != 0)
			continue;
		buf_reset(&sig);
		if (dkim_sign(msg_filter_headers(f), &dkim_default_fields, k->pkey, k->alg, k->domain,
		    k->selector, now, bh, &sig, err, sizeof(err)) == -1 ||
		    insert_signature(f, &sig, err, sizeof(err)) == -1) {
			log_err("%s: dkim: cannot sign with %s._domainkey.%s: %s", env->qid,
			    k->selector, k->domain, err);
			continue;
		}
		log_event(LOG_INFO, env->qid, "dkim_signed", "d=%s s=%s a=%s", k->domain,
		    k->selector, k->alg == DKIM_RSA_SHA256 ? "rsa-sha256" : "ed25519-sha256");
	}
	buf_clear(&sig);
	verdict_accept(&v);
	msg_filter_answer(f, &v);
}

static void
signer_free(void *self)
{
	struct dkim_msg *m = self;

	dkim_body_clear(&m->body);
	free(m);
}

static const struct msg_filter_ops signer_ops = {
	.name = "dkim",
	.end_of_header = on_eoh,
	.body = on_body,
	.body_replaced = on_body_replaced,
	.end = on_end,
	.free = signer_free,
};

void
dkim_signer_add(struct msg_core *core, const struct config *cfg, struct dkim_keyring *kr)
{
	struct msg_filter_maker mk = { &signer_ops, MSG_FILTER_SIGN, signer_make, kr };

	if (kr->n == 0)
		return;
	mime_init();	/* the From field is read by GMime, as the other entrances read addresses */
	kr->cfg = cfg;
	/* checked when the configuration was read */
	ASSERT(config_names_parse(cfg->dkim_sign, config_dkim_sources, CONFIG_DKIM_SOURCES,
	    &kr->sources) == 0);
	msg_core_add_filter(core, &mk);
}
