/*
 * addrlist.c - address lists of header fields into RFC 5321 mailboxes.
 * GMime parses the RFC 5322 forms (3.4: display names, angle brackets,
 * groups, comments, RFC 2047 encoded words); smtp_addr_parse() then judges
 * each mailbox as the SMTP server would, and smtp_addr_format() writes it.
 * GMime skips what it cannot read; the '@' count (scan_list) is how such a
 * skipped recipient is noticed, so that the list is refused, not shortened.
 */
#include "mime/mime.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gmime/gmime.h>

#include "util/ascii.h"
#include "util/xalloc.h"

/* ---- GMime, once ---- */

static pthread_once_t gmime_once = PTHREAD_ONCE_INIT;
static GMimeParserOptions *addr_opts;

static void
gmime_init_once(void)
{
	g_mime_init();
	addr_opts = g_mime_parser_options_new();
	/*
	 * Names without a domain are what people write ("To: root"), and GMime
	 * reads "root, Bob <b@x>" as two mailboxes only when it allows them;
	 * otherwise "root, Bob" becomes one display name and root is silently
	 * lost. Strict: no guessing at broken lists beyond that.
	 */
	g_mime_parser_options_set_allow_addresses_without_domain(addr_opts, TRUE);
	g_mime_parser_options_set_address_compliance_mode(addr_opts, GMIME_RFC_COMPLIANCE_STRICT);
}

void
mime_init(void)
{
	pthread_once(&gmime_once, gmime_init_once);
}

void
mime_shutdown(void)
{
	if (addr_opts == NULL)
		return;
	g_mime_parser_options_free(addr_opts);
	addr_opts = NULL;
	g_mime_shutdown();
}

/* ---- the list ---- */

void
mime_addrs_init(struct mime_addrs *a, size_t max)
{
	memset(a, 0, sizeof(*a));
	a->max = max;
}

void
mime_addrs_clear(struct mime_addrs *a)
{
	size_t max = a->max;

	for (size_t i = 0; i < a->n; i++)
		free(a->v[i]);
	free(a->v);
	mime_addrs_init(a, max);
}

static void
addrs_push(struct mime_addrs *a, const char *addr)
{
	if (a->n == a->cap) {
		/* no overflow: memory runs out long before cap nears SIZE_MAX / 8 */
		a->cap = a->cap ? 2 * a->cap : 8;
		a->v = xrealloc(a->v, a->cap * sizeof(*a->v));
	}
	a->v[a->n++] = xstrdup(addr);
}

/* ---- one mailbox ---- */

int
mime_addr_make(const char *local, const char *domain, char out[SMTP_ADDR_FMT_MAX])
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
 * quoted or not) into out: parsed, qualified when it has no domain (or
 * refused, domain NULL), formatted.
 */
static int
mailbox_to_smtp(const char *addr, const char *domain, char out[SMTP_ADDR_FMT_MAX])
{
	struct smtp_addr a;
	enum smtp_addr_err e;
	char *q;
	int r;

	e = smtp_addr_parse(slice_str(addr), 1, &a);
	if (e == SMTP_ADDR_OK && a.is_bare_postmaster)
		return domain != NULL ? mime_addr_make("postmaster", domain, out) : -1;
	if (e == SMTP_ADDR_OK) {
		/* a route or an empty address is not a recipient anyone meant */
		if (a.is_null || a.has_route)
			return -1;
		return smtp_addr_format(&a, out, SMTP_ADDR_FMT_MAX);
	}
	if (domain == NULL || strchr(addr, '@') != NULL || addr[0] == '\0')
		return -1;
	/* a bare name: qualified, it must parse like any other */
	if (asprintf(&q, "%s@%s", addr, domain) < 0)
		return -1;
	r = smtp_addr_parse(slice_str(q), 1, &a) == SMTP_ADDR_OK && !a.is_null ?
	    smtp_addr_format(&a, out, SMTP_ADDR_FMT_MAX) : -1;
	free(q);
	return r;
}

/*
 * Lexes text as RFC 5322 does (3.2.2 comments, 3.2.4 quoted strings, 3.4.1
 * domain literals and angle brackets) for what GMime does not tell:
 * - the '@' signs outside those: one per mailbox with a domain. GMime skips
 *   what it cannot read ("a@x, <b@y" gives one mailbox); comparing this
 *   count with the mailboxes it gave is how such a skipped recipient is
 *   noticed instead of lost.
 * - forms that no strict reading takes, refused before GMime sees them:
 *   an unterminated comment, quoted string or literal, a '<', ',' or ';'
 *   inside angle brackets, a '>' that closes nothing, and an addr-spec
 *   followed by '<' in the same element ("a@x <b@y>"). GMime refuses them
 *   too, but before 3.2.15 it leaks memory doing so (its issue 159), and
 *   the daemon is long-lived; test_mime.c's "leaky" cases prove the bytes
 *   never reach it.
 *   XXX: after an error GMime resumes at the next ',' even inside quotes
 *   or comments, so contrived text can still reach those leaks (a few
 *   hundred bytes per refused list, from trusted writers only); the fuzz
 *   run suppresses them (tests/fuzz/lsan.supp) until GMime 3.2.15 is the
 *   floor.
 * XXX: a skipped part without an '@' ("a@x, <root") still goes unnoticed;
 * catching it would take a second parser of the list, which is GMime's job.
 * Returns 0 with the count in *ats_out, or -1 for such a form.
 */
static int
scan_list(const char *t, size_t *ats_out)
{
	size_t n = 0;
	int depth = 0, is_quoted = 0, is_literal = 0, is_angle = 0, has_addr_spec = 0;

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
			has_addr_spec |= !is_angle;
		} else if (*t == '<') {
			if (is_angle || has_addr_spec)
				return -1;
			is_angle = 1;
		} else if (*t == '>') {
			if (!is_angle)
				return -1;
			is_angle = 0;
		} else if (*t == ',' || *t == ';') {
			/* in brackets only in a source route, which is refused anyway */
			if (is_angle)
				return -1;
			has_addr_spec = 0;	/* the next element (mailbox, group, member) */
		} else if (*t == ':' && !is_angle) {
			has_addr_spec = 0;	/* a group's members */
		}
	}
	if (is_quoted || depth > 0 || is_literal)
		return -1;
	*ats_out = n;
	return 0;
}

/* The members of list (groups walked into) appended to a; stops at the first bad one. */
static enum mime_addr_err
list_add(struct mime_addrs *a, InternetAddressList *list, const char *domain, size_t *ats,
    char *err, size_t errsize)
{
	int n = internet_address_list_length(list);

	for (int i = 0; i < n; i++) {
		InternetAddress *ia = internet_address_list_get_address(list, i);
		char fmt[SMTP_ADDR_FMT_MAX];
		const char *addr;
		size_t n_ats;

		if (INTERNET_ADDRESS_IS_GROUP(ia)) {
			InternetAddressList *m =
			    internet_address_group_get_members(INTERNET_ADDRESS_GROUP(ia));
			enum mime_addr_err e = m == NULL ? MIME_ADDR_OK :
			    list_add(a, m, domain, ats, err, errsize);

			if (e != MIME_ADDR_OK)
				return e;
			continue;
		}
		if (!INTERNET_ADDRESS_IS_MAILBOX(ia))
			continue;
		/* the IDN form: a domain in U-labels goes out in A-labels, needing no SMTPUTF8 */
		addr = internet_address_mailbox_get_idn_addr(INTERNET_ADDRESS_MAILBOX(ia));
		/* its '@' as GMime gives it: one in a quoted local part is not counted */
		if (addr == NULL || scan_list(addr, &n_ats) == -1 ||
		    mailbox_to_smtp(addr, domain, fmt) == -1) {
			snprintf(err, errsize, "bad address: %.200s%s", addr ? addr : "(none)",
			    addr != NULL && domain == NULL && strchr(addr, '@') == NULL ?
			    " (no domain)" : "");
			return MIME_ADDR_BAD;
		}
		if (a->n >= a->max) {
			snprintf(err, errsize, "more than %zu addresses", a->max);
			return MIME_ADDR_TOO_MANY;
		}
		*ats += n_ats;
		addrs_push(a, fmt);
	}
	return MIME_ADDR_OK;
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

static enum mime_addr_err
unreadable(const char *text, char *err, size_t errsize)
{
	snprintf(err, errsize, "bad address list (an address in it cannot be read): %.80s", text);
	return MIME_ADDR_BAD;
}

enum mime_addr_err
mime_addr_list(const char *text, const char *domain, struct mime_addrs *a, char *err,
    size_t errsize)
{
	InternetAddressList *list;
	size_t ats = 0, want_ats, n0 = a->n;
	enum mime_addr_err e;

	mime_init();
	if (scan_list(text, &want_ats) == -1)
		return unreadable(text, err, errsize);
	if ((list = internet_address_list_parse(addr_opts, text)) == NULL) {
		if (!has_content(text))
			return MIME_ADDR_OK;
		snprintf(err, errsize, "bad address list: %.80s", text);
		return MIME_ADDR_BAD;
	}
	e = list_add(a, list, domain, &ats, err, errsize);
	g_object_unref(list);
	if (e == MIME_ADDR_OK && ats != want_ats)
		e = unreadable(text, err, errsize);
	/* all or nothing: a list with a bad address adds none of its others */
	while (e != MIME_ADDR_OK && a->n > n0)
		free(a->v[--a->n]);
	return e;
}
