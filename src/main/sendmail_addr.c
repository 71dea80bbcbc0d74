/*
 * sendmail_addr.c - addresses as sendmail's callers write them (command
 * line arguments, To/Cc/Bcc fields, -f) into RFC 5321 mailboxes, gathered
 * without duplicates; and the From field's value for -F.
 * The lists are read by src/mime (mime_addr_list), as the pickup folder
 * reads its files' lists, so a recipient here is exactly what RCPT TO
 * would have accepted and what the daemon would take from a pickup file.
 * Names without a domain ("alice", "root") are qualified with the domain
 * the caller gives (config_default_domain()).
 * Pure: no I/O.
 */
#include "main/sendmail.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gmime/gmime.h>

#include "mime/mime.h"
#include "util/xalloc.h"

void
sm_rcpts_clear(struct sm_rcpts *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->v[i]);
	free(r->v);
	memset(r, 0, sizeof(*r));
}

void
sm_rcpts_add(struct sm_rcpts *r, const char *addr)
{
	/* XXX: linear, but a message has at most MAILDROP_MAX_RCPTS recipients */
	for (size_t i = 0; i < r->n; i++)
		if (strcmp(r->v[i], addr) == 0)
			return;
	if (r->n == r->cap) {
		r->cap = r->cap ? 2 * r->cap : 8;
		r->v = xrealloc(r->v, r->cap * sizeof(*r->v));
	}
	r->v[r->n++] = xstrdup(addr);
}

int
sm_addr_list_add(struct sm_rcpts *r, const char *text, const char *domain, char *err,
    size_t errsize)
{
	struct mime_addrs a;
	int ret = -1;

	/* the count is checked once all are in (smtp.max_recipients, with its own exit code) */
	mime_addrs_init(&a, SIZE_MAX);
	if (mime_addr_list(text, domain, &a, err, errsize) == MIME_ADDR_OK) {
		for (size_t i = 0; i < a.n; i++)
			sm_rcpts_add(r, a.v[i]);
		ret = 0;
	}
	mime_addrs_clear(&a);
	return ret;
}

int
sm_addr_sender(const char *text, const char *domain, char out[SMTP_ADDR_FMT_MAX], char *err,
    size_t errsize)
{
	struct mime_addrs one;
	const char *p = text;
	size_t n;
	enum mime_addr_err e;
	int ret = -1;

	/* "", "<>" and "< >": the null sender, as sendmail and Postfix take them */
	while (*p == ' ' || *p == '\t')
		p++;
	n = strlen(p);
	while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
		n--;
	if (n == 0 || (p[0] == '<' && p[n - 1] == '>' && strspn(p + 1, " \t") >= n - 2)) {
		out[0] = '\0';
		return 0;
	}
	mime_addrs_init(&one, 1);
	e = mime_addr_list(text, domain, &one, err, errsize);
	if (e == MIME_ADDR_OK && one.n == 1) {
		snprintf(out, SMTP_ADDR_FMT_MAX, "%s", one.v[0]);
		ret = 0;
	} else if (e != MIME_ADDR_BAD) {
		snprintf(err, errsize, "the sender must be one address: %.80s", text);
	}
	mime_addrs_clear(&one);
	return ret;
}

char *
sm_from_value(const char *fullname, const char *addr)
{
	InternetAddressList *list;
	GString *s;
	struct buf out;
	char *copy;

	if (fullname == NULL || fullname[0] == '\0')
		return xstrdup(addr);
	mime_init();
	list = internet_address_list_new();
	internet_address_list_add(list, internet_address_mailbox_new(fullname, addr));
	/*
	 * GMime quotes the phrase when it holds specials (RFC 5322 3.2.4),
	 * encodes it when it is not ASCII (RFC 2047), and folds the field
	 * (RFC 5322 2.2.3), which a long -F name needs: a From line must not
	 * pass 998 octets. It folds as for a field that starts "From: ".
	 */
	s = g_string_new("From: ");
	internet_address_list_encode(list, NULL, s);
	g_object_unref(list);
	buf_init(&out, 2 * s->len + 1);
	/* after "From:", GMime may have folded at once (a long first word): keep that fold */
	for (size_t i = s->len > 5 && s->str[5] == ' ' ? 6 : 5; i < s->len; i++) {
		if (s->str[i] == '\n' && i + 1 == s->len)
			break;	/* the field's own line end is the caller's */
		if (s->str[i] == '\n')
			(void)buf_append(&out, "\r", 1);
		(void)buf_append_byte(&out, (uint8_t)s->str[i]);
	}
	g_string_free(s, TRUE);
	copy = xstrndup(out.data, out.len);
	buf_clear(&out);
	return copy;
}
