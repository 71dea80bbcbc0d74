/*
 * envelope.c - the envelope type every entrance, the scheduler and the
 * queue tools share (spool.h): building one and freeing it. Pure; no I/O.
 */
#include "spool/spool.h"

#include <stdlib.h>
#include <string.h>

#include "util/ascii.h"
#include "util/xalloc.h"

const char *
spool_origin_name(enum spool_origin o)
{
	switch (o) {
	case SPOOL_FROM_SENDMAIL:
		return "sendmail";
	case SPOOL_FROM_PICKUP:
		return "pickup";
	case SPOOL_FROM_NOTICE:
		return "notice";
	case SPOOL_FROM_API:
		return "api";
	case SPOOL_FROM_SMTP:
	default:
		return "smtp";
	}
}

struct spool_msg *
spool_msg_new(void)
{
	struct spool_msg *m = xcalloc(1, sizeof(*m));

	m->origin = SPOOL_FROM_SMTP;
	m->local_uid = -1;
	return m;
}

/* Two recipients are one copy if they land in the same mailbox (or, remote, the same address). */
static int
rcpt_same(const struct spool_rcpt *r, const char *to, const char *mailbox)
{
	if (mailbox != NULL || r->mailbox != NULL)
		return mailbox != NULL && r->mailbox != NULL && strcmp(r->mailbox, mailbox) == 0;
	return strlen(r->to) == strlen(to) && ascii_casen_eq(r->to, to, strlen(to));
}

int
spool_msg_add_rcpt(struct spool_msg *m, const char *orig, const char *to, const char *mailbox)
{
	for (size_t i = 0; i < m->nrcpts; i++)
		if (rcpt_same(&m->rcpts[i], to, mailbox))
			return 0;
	/* no capacity field: loaded envelopes have exact arrays, and realloc grows in place */
	m->rcpts = xrealloc(m->rcpts, (m->nrcpts + 1) * sizeof(*m->rcpts));
	m->rcpts[m->nrcpts++] = (struct spool_rcpt){
		.orig = xstrdup(orig),
		.to = xstrdup(to),
		.mailbox = mailbox ? xstrdup(mailbox) : NULL,
	};
	return 1;
}

static void
rcpt_clear(struct spool_rcpt *r)
{
	free(r->to);
	free(r->orig);
	free(r->mailbox);
	free(r->reason);
}

void
spool_msg_truncate_rcpts(struct spool_msg *m, size_t n)
{
	while (m->nrcpts > n)
		rcpt_clear(&m->rcpts[--m->nrcpts]);
}

void
spool_msg_free(struct spool_msg **mp)
{
	struct spool_msg *m = *mp;

	if (m == NULL)
		return;
	for (size_t i = 0; i < m->nrcpts; i++)
		rcpt_clear(&m->rcpts[i]);
	free(m->rcpts);
	free(m->sender);
	free(m->client_ip);
	free(m->helo);
	free(m->proto);
	free(m->client_name);
	free(m->tls_version);
	free(m->tls_cipher);
	free(m->auth_user);
	free(m->local_user);
	free(m->fail_status);
	free(m->fail_text);
	free(m->api_meta);
	free(m->api_idem);
	free(m);
	*mp = NULL;
}
