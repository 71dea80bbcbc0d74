/*
 * sendmail_addr.c - addresses as sendmail's callers write them (command
 * line arguments, To/Cc/Bcc fields, -f) into RFC 5321 mailboxes.
 * GMime parses the RFC 5322 forms (3.4: display names, angle brackets,
 * groups, comments, RFC 2047 encoded words); smtp_addr_parse() then judges
 * each mailbox as the SMTP server would, and smtp_addr_format() writes it,
 * so a recipient here is exactly what RCPT TO would have accepted.
 * Names without a domain ("alice", "root") are qualified with the domain
 * the caller gives (the first local domain, or server.hostname).
 * Pure: no I/O.
 */
#include "main/sendmail.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gmime/gmime.h>

#include "util/ascii.h"
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
sm_addr_make(const char *local, const char *domain, char out[SMTP_ADDR_FMT_MAX])
{
	struct smtp_addr a, back;
	size_t ln = strlen(local), dn = strlen(domain);

	if (ln == 0 || ln > SMTP_LOCAL_MAX || dn == 0 || dn > SMTP_DOMAIN_MAX)
		return -1;
	memset(&a, 0, sizeof(a));
	memcpy(a.local, local, ln);
	a.local_len = ln;
	memcpy(a.domain, domain, dn);
	a.domain_len = dn;
	ascii_lower(a.domain);
	a.has_utf8 = ascii_has_8bit(local, ln) || ascii_has_8bit(domain, dn);
	/* format quotes the local part when it must; parsing back proves the result */
	if (smtp_addr_format(&a, out, SMTP_ADDR_FMT_MAX) == -1)
		return -1;
	if (smtp_addr_parse(slice_str(out), 1, &back) != SMTP_ADDR_OK || back.is_null)
		return -1;
	return 0;
}

/*
 * One mailbox as GMime gives it (local@domain, the local part as written,
 * quoted or not) into out: parsed, qualified when it has no domain, formatted.
 */
static int
mailbox_to_smtp(const char *addr, const char *domain, char out[SMTP_ADDR_FMT_MAX])
{
	struct smtp_addr a;
	enum smtp_addr_err e;

	e = smtp_addr_parse(slice_str(addr), 1, &a);
	if (e == SMTP_ADDR_OK && a.is_bare_postmaster)
		return sm_addr_make("postmaster", domain, out);
	if (e == SMTP_ADDR_OK) {
		/* a route or an empty address is not a recipient anyone meant */
		if (a.is_null || a.has_route)
			return -1;
		return smtp_addr_format(&a, out, SMTP_ADDR_FMT_MAX);
	}
	/* a bare name: qualify it, then it must parse like any other */
	if (strchr(addr, '@') == NULL && addr[0] != '\0') {
		char *q;
		int r;

		if (asprintf(&q, "%s@%s", addr, domain) < 0)
			return -1;
		r = smtp_addr_parse(slice_str(q), 1, &a) == SMTP_ADDR_OK && !a.is_null ?
		    smtp_addr_format(&a, out, SMTP_ADDR_FMT_MAX) : -1;
		free(q);
		return r;
	}
	return -1;
}

/*
 * The '@' signs of text outside quoted strings, comments and domain
 * literals (RFC 5322 3.2.4, 3.2.2, 3.4.1): one per mailbox with a domain.
 * GMime skips what it cannot read ("a@x, <b@y" gives one mailbox); this
 * count is how such a skipped recipient is noticed instead of lost.
 */
static size_t
count_ats(const char *t)
{
	size_t n = 0;
	int depth = 0, is_quoted = 0, is_literal = 0;

	for (; *t != '\0'; t++) {
		if ((is_quoted || depth > 0) && *t == '\\' && t[1] != '\0') {
			t++;
			continue;
		}
		if (is_quoted) {
			is_quoted = *t != '"';
		} else if (depth > 0) {
			depth += *t == '(' ? 1 : *t == ')' ? -1 : 0;
		} else if (is_literal) {
			is_literal = *t != ']';
		} else if (*t == '"') {
			is_quoted = 1;
		} else if (*t == '(') {
			depth = 1;
		} else if (*t == '[') {
			is_literal = 1;
		} else if (*t == '@') {
			n++;
		}
	}
	return n;
}

/* The members of list (groups walked into) added to r; -1 at the first bad one. */
static int
list_add(struct sm_rcpts *r, InternetAddressList *list, const char *domain, size_t *ats,
    char *err, size_t errsize)
{
	int n = internet_address_list_length(list);

	for (int i = 0; i < n; i++) {
		InternetAddress *ia = internet_address_list_get_address(list, i);
		char fmt[SMTP_ADDR_FMT_MAX];

		if (INTERNET_ADDRESS_IS_GROUP(ia)) {
			InternetAddressList *m =
			    internet_address_group_get_members(INTERNET_ADDRESS_GROUP(ia));

			if (m != NULL && list_add(r, m, domain, ats, err, errsize) == -1)
				return -1;
			continue;
		}
		if (!INTERNET_ADDRESS_IS_MAILBOX(ia))
			continue;
		/* the IDN form: a domain in U-labels goes out in A-labels, needing no SMTPUTF8 */
		const char *addr =
		    internet_address_mailbox_get_idn_addr(INTERNET_ADDRESS_MAILBOX(ia));
		if (addr == NULL || mailbox_to_smtp(addr, domain, fmt) == -1) {
			snprintf(err, errsize, "bad address: %s", addr ? addr : "(none)");
			return -1;
		}
		*ats += count_ats(addr);
		sm_rcpts_add(r, fmt);
	}
	return 0;
}

/*
 * 1 if text holds something besides white space and commas: an address
 * list that GMime cannot read at all must not pass as an empty one.
 */
static int
has_content(const char *text)
{
	for (; *text != '\0'; text++)
		if (*text != ' ' && *text != '\t' && *text != '\r' && *text != '\n' && *text != ',')
			return 1;
	return 0;
}

int
sm_addr_list_add(struct sm_rcpts *r, const char *text, const char *domain, char *err,
    size_t errsize)
{
	InternetAddressList *list;
	size_t ats = 0, n0 = r->n;
	int rc;

	list = internet_address_list_parse(sm_header_addr_opts(), text);
	if (list == NULL) {
		if (!has_content(text))
			return 0;
		snprintf(err, errsize, "bad address list: %.80s", text);
		return -1;
	}
	rc = list_add(r, list, domain, &ats, err, errsize);
	g_object_unref(list);
	if (rc == 0 && ats != count_ats(text)) {
		snprintf(err, errsize, "bad address list (an address in it cannot be read): %.80s",
		    text);
		rc = -1;
	}
	/* all or nothing: a list with a bad address adds none of its others */
	while (rc == -1 && r->n > n0)
		free(r->v[--r->n]);
	return rc;
}

int
sm_addr_sender(const char *text, const char *domain, char out[SMTP_ADDR_FMT_MAX], char *err,
    size_t errsize)
{
	struct sm_rcpts one = { 0 };
	const char *p = text;
	size_t n;

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
	if (sm_addr_list_add(&one, text, domain, err, errsize) == -1)
		return -1;
	if (one.n != 1) {
		snprintf(err, errsize, "the sender must be one address: %.80s", text);
		sm_rcpts_clear(&one);
		return -1;
	}
	snprintf(out, SMTP_ADDR_FMT_MAX, "%s", one.v[0]);
	sm_rcpts_clear(&one);
	return 0;
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
	sm_header_init();
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
