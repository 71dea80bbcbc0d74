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

#include <event2/event.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "mime/mime.h"
#include "msg/filter.h"
#include "util/ascii.h"
#include "util/cidr.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/workq.h"
#include "util/xalloc.h"

#define MAX_SIGS 8	/* signatures per message: keys of one domain */

struct dkim_signer {
	const struct dkim_keyring *keys;
	struct workq *wq;		/* the signing threads */
	struct event *wq_ev;
	struct sign_job *jobs;		/* in flight, for the free */
};

/* One message's signatures, made on a signing thread. */
struct sign_job {
	struct work w;			/* first: the workq hands back &w */
	struct dkim_signer *sg;
	struct dkim_msg *m;		/* NULL once the message went (the job is freed on its return) */
	struct msg_filter *f;
	struct dkim_sig sigs[MAX_SIGS];
	const struct dkim_key *keys[MAX_SIGS];
	int ok[MAX_SIGS];
	char err[MAX_SIGS][128];
	size_t n;
	struct sign_job *prev, *next;
};

/* One message being signed. */
struct dkim_msg {
	struct dkim_signer *sg;
	struct dkim_body body;
	struct sign_job *job;	/* the signatures being made */
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
	struct dkim_signer *sg = ctx;
	struct dkim_msg *m;

	(void)entrance;
	if (!is_eligible(sg->keys, env))
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
	    has_key(m->sg->keys, m->domain))
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
 * Puts a signature on top as it was signed: its value is what follows the
 * name and colon, without the last CRLF; the header list writes it back
 * byte for byte.
 */
static int
insert_signature(struct msg_filter *f, struct dkim_sig *sg, char *err, size_t errsize)
{
	const size_t name_len = sizeof("DKIM-Signature:") - 1;
	struct buf field;
	int r = -1;

	buf_init(&field, 32 * 1024);
	if (dkim_sig_finish(sg, &field) == 0 && field.len > name_len + 2) {
		field.len -= 2;
		if (buf_append_byte(&field, '\0') == 0)
			r = msg_filter_header_insert(f, 0, "DKIM-Signature",
			    (const char *)field.data + name_len, err, errsize);
	}
	if (r == -1 && err[0] == '\0')
		snprintf(err, errsize, "the signature does not fit");
	buf_clear(&field);
	return r;
}

static void
job_free(struct sign_job *j)
{
	for (size_t i = 0; i < MAX_SIGS; i++)
		dkim_sig_clear(&j->sigs[i]);
	free(j);
}

/* Signing thread: the RSA and Ed25519 signatures, the costly part. */
static void
job_run(struct work *w)
{
	struct sign_job *j = (struct sign_job *)w;

	for (size_t i = 0; i < j->n; i++)
		j->ok[i] = dkim_sign_data(j->keys[i]->pkey, j->keys[i]->alg, j->sigs[i].data.data,
		    j->sigs[i].data.len, j->sigs[i].b64, sizeof(j->sigs[i].b64), j->err[i],
		    sizeof(j->err[i])) == 0;
}

/* Loop: the signatures are made; they go on top, and the message goes on. */
static void
job_done(struct work *w)
{
	struct sign_job *j = (struct sign_job *)w;
	struct verdict v;

	if (j->prev != NULL)
		j->prev->next = j->next;
	else
		j->sg->jobs = j->next;
	if (j->next != NULL)
		j->next->prev = j->prev;
	if (j->m != NULL) {
		const struct spool_msg *env = msg_filter_env(j->f);

		j->m->job = NULL;
		for (size_t i = j->n; i-- > 0;) {
			const struct dkim_key *k = j->keys[i];

			if (!j->ok[i] || insert_signature(j->f, &j->sigs[i], j->err[i],
			    sizeof(j->err[i])) == -1) {
				log_note(LOG_ERR, env->qid, "dkim: cannot sign with "
				    "%s._domainkey.%s: %s", k->selector, k->domain, j->err[i]);
				continue;
			}
			log_event(LOG_INFO, env->qid, "dkim_signed", "d=%s s=%s a=%s", k->domain,
			    k->selector, k->alg == DKIM_RSA_SHA256 ? "rsa-sha256" : "ed25519-sha256");
		}
		verdict_accept(&v);
		msg_filter_answer(j->f, &v);
	}
	job_free(j);
}

/*
 * The end: the signatures of each key of the From domain are prepared
 * here (the header section as the content filters left it), made on a
 * signing thread, and put on top when they come back.
 */
static void
on_end(void *self, struct msg_filter *f)
{
	struct dkim_msg *m = self;
	const struct dkim_keyring *kr = m->sg->keys;
	struct sign_job *j = xcalloc(1, sizeof(*j));
	int64_t now = (int64_t)(clock_wall_us() / 1000000u);
	uint8_t bh[32];
	struct verdict v;

	/* a content filter may have changed the From field since the end of the header section */
	if (msg_filter_headers(f)->is_changed &&
	    from_domain(msg_filter_headers(f), m->domain, sizeof(m->domain)) == -1)
		m->domain[0] = '\0';
	dkim_body_final(&m->body, bh);
	for (size_t i = 0; i < MAX_SIGS; i++)
		dkim_sig_init(&j->sigs[i]);
	for (size_t i = 0; i < kr->n && m->domain[0] != '\0' && j->n < MAX_SIGS; i++) {
		const struct dkim_key *k = &kr->v[i];

		if (strcmp(k->domain, m->domain) != 0)
			continue;
		if (dkim_sig_prepare(&j->sigs[j->n], msg_filter_headers(f), &dkim_default_fields,
		    k->alg, k->domain, k->selector, now, bh) == -1) {
			log_note(LOG_ERR, msg_filter_env(f)->qid, "dkim: cannot sign with "
			    "%s._domainkey.%s: the signature does not fit", k->selector, k->domain);
			continue;
		}
		j->keys[j->n++] = k;
	}
	if (j->n == 0) {
		job_free(j);
		verdict_accept(&v);
		msg_filter_answer(f, &v);
		return;
	}
	j->sg = m->sg;
	j->m = m;
	j->f = f;
	j->w.run = job_run;
	j->w.done = job_done;
	j->next = m->sg->jobs;
	if (j->next != NULL)
		j->next->prev = j;
	m->sg->jobs = j;
	m->job = j;
	workq_submit(m->sg->wq, &j->w);
}

static void
signer_free(void *self)
{
	struct dkim_msg *m = self;

	/* a signing thread may still hold its job: the job outlives the message */
	if (m->job != NULL)
		m->job->m = NULL;
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

static void
on_workq(evutil_socket_t fd, short what, void *arg)
{
	(void)fd, (void)what;
	workq_run_done(((struct dkim_signer *)arg)->wq);
}

struct dkim_signer *
dkim_signer_new(struct msg_core *core, struct event_base *base, const struct config *cfg,
    struct dkim_keyring *kr)
{
	struct dkim_signer *sg;
	struct msg_filter_maker mk = { &signer_ops, MSG_FILTER_SIGN, signer_make, NULL };

	if (kr->n == 0)
		return NULL;
	mime_init();	/* the From field is read by GMime, as the other entrances read addresses */
	kr->cfg = cfg;
	/* checked when the configuration was read */
	ASSERT(config_names_parse(cfg->dkim_sign, config_dkim_sources, CONFIG_DKIM_SOURCES,
	    &kr->sources) == 0);
	sg = xcalloc(1, sizeof(*sg));
	sg->keys = kr;
	/* as many as the spool's writers: signing must not be what waits */
	sg->wq = workq_new(cfg->io_threads);
	sg->wq_ev = event_new(base, workq_fd(sg->wq), EV_READ | EV_PERSIST, on_workq, sg);
	ASSERT(sg->wq_ev != NULL && event_add(sg->wq_ev, NULL) == 0);
	mk.ctx = sg;
	msg_core_add_filter(core, &mk);
	return sg;
}

void
dkim_signer_free(struct dkim_signer **sgp)
{
	struct dkim_signer *sg = *sgp;

	if (sg == NULL)
		return;
	workq_free(&sg->wq);	/* the threads finish their jobs */
	event_free(sg->wq_ev);
	/* jobs whose return was never run: their messages are gone with the core */
	while (sg->jobs != NULL) {
		struct sign_job *j = sg->jobs;

		sg->jobs = j->next;
		job_free(j);
	}
	free(sg);
	*sgp = NULL;
}
