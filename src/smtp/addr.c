/*
 * addr.c - an SMTP path (the bytes between '<' and '>') into a mailbox, and
 * a mailbox back into the bytes of a path.
 * RFC 5321 4.1.2 (Path, Mailbox, Local-part, Domain), 4.1.3 (address
 * literals), 4.5.3.1.1-3 (length limits), RFC 6531 3.3 (UTF-8 in atext,
 * qtext and U-labels), RFC 3629 4 (well-formed UTF-8).
 * Whether a mailbox is local, allowed or exists is left to policy; whether
 * the null path, a source route or a bare postmaster is acceptable for this
 * command is left to session.c.
 * The checks run in a fixed order and the first that fails gives the
 * verdict: path length, UTF-8 encoding, UTF-8 without SMTPUTF8, syntax, then
 * the local part and domain lengths.
 */
#include "smtp.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "util/ascii.h"

/*
 * 1 for code points that must never stand in an address although they are
 * well-formed UTF-8: C1 controls, the line and paragraph separators, and
 * the bidirectional embeddings, overrides and isolates, with which an
 * address can read as another in a log, a header or a mail reader's
 * display (Trojan Source, CVE-2021-42574).
 */
static int
is_unsafe_code_point(uint32_t cp)
{
	return (cp >= 0x80 && cp <= 0x9f) || cp == 0x2028 || cp == 0x2029 ||
	    (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

/*
 * 0 if p[0..n) is well-formed UTF-8 (RFC 3629 4), -1 if not: overlongs
 * (C0, C1, E0 80-9F, F0 80-8F), surrogates (ED A0-BF), code points past
 * U+10FFFF (F4 90-BF, F5-FF), stray continuation bytes and truncated
 * sequences are all refused. -2 for well-formed UTF-8 that holds a code
 * point is_unsafe_code_point() refuses.
 */
static int
utf8_check(const uint8_t *p, size_t n)
{
	size_t i = 0;

	while (i < n) {
		uint8_t c = p[i], lo = 0x80, hi = 0xbf;
		size_t more;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			more = 1;
		else if (c == 0xe0) {
			more = 2;
			lo = 0xa0;
		} else if (c == 0xed) {
			more = 2;
			hi = 0x9f;
		} else if (c >= 0xe1 && c <= 0xef)
			more = 2;
		else if (c == 0xf0) {
			more = 3;
			lo = 0x90;
		} else if (c == 0xf4) {
			more = 3;
			hi = 0x8f;
		} else if (c >= 0xf1 && c <= 0xf3)
			more = 3;
		else
			return -1;
		if (n - i - 1 < more)
			return -1;
		if (p[i + 1] < lo || p[i + 1] > hi)
			return -1;
		for (size_t k = 2; k <= more; k++)
			if (p[i + k] < 0x80 || p[i + k] > 0xbf)
				return -1;
		/* the refused code points are all two- or three-byte sequences */
		if (more == 1 && is_unsafe_code_point((uint32_t)(c & 0x1f) << 6 | (p[i + 1] & 0x3f)))
			return -2;
		if (more == 2 && is_unsafe_code_point((uint32_t)(c & 0x0f) << 12 |
		    (uint32_t)(p[i + 1] & 0x3f) << 6 | (p[i + 2] & 0x3f)))
			return -2;
		i += more + 1;
	}
	return 0;
}

/*
 * atext (RFC 5321 4.1.2 via RFC 5322 3.2.3), and UTF8-non-ascii
 * (RFC 6531 3.3). Bytes >= 0x80 reach the syntax checks only when
 * SMTPUTF8 is in effect and the UTF-8 is well formed.
 */
static int
is_atext(uint8_t c)
{
	static const char specials[] = "!#$%&'*+-/=?^_`{|}~";

	if (ascii_isalnum(c) || c >= 0x80)
		return 1;
	return memchr(specials, c, sizeof(specials) - 1) != NULL;
}

/* qtextSMTP = %d32-33 / %d35-91 / %d93-126 (RFC 5321 4.1.2), UTF-8 by RFC 6531 3.3 */
static int
is_qtext(uint8_t c)
{
	return (c >= 32 && c <= 126 && c != '"' && c != '\\') || c >= 0x80;
}

/* Length of the Dot-string at the start of p[0..n) (RFC 5321 4.1.2), 0 if none. */
static size_t
dot_string_len(const uint8_t *p, size_t n)
{
	size_t i = 0;

	for (;;) {
		size_t atom = i;

		while (i < n && is_atext(p[i]))
			i++;
		/* Atom = 1*atext: a leading, doubled or trailing dot is an error */
		if (i == atom)
			return 0;
		if (i < n && p[i] == '.') {
			i++;
			continue;
		}
		return i;
	}
}

static int
is_dot_string(const uint8_t *p, size_t n)
{
	return n > 0 && dot_string_len(p, n) == n;
}

/*
 * Length of the Quoted-string at the start of p[0..n), both quotes
 * included (RFC 5321 4.1.2), or 0 if there is none.
 */
static size_t
quoted_string_len(const uint8_t *p, size_t n)
{
	size_t i = 1;

	if (n == 0 || p[0] != '"')
		return 0;
	while (i < n) {
		if (p[i] == '"')
			return i + 1;
		if (p[i] == '\\') {
			/* quoted-pairSMTP = %d92 %d32-126: no NUL, CR, LF or UTF-8 */
			if (i + 1 >= n || p[i + 1] < 32 || p[i + 1] > 126)
				return 0;
			i += 2;
		} else if (is_qtext(p[i]))
			i++;
		else
			return 0;
	}
	return 0;
}

/*
 * 0 if p[0..n) is a Domain = sub-domain *("." sub-domain), sub-domain =
 * Let-dig [Ldh-str] (RFC 5321 4.1.2) or a U-label (RFC 6531 3.3); -1 if not.
 * XXX: a U-label is taken to be any well-formed UTF-8 mixed with LDH
 * characters; the IDNA2008 rules (RFC 5891) are left to whoever resolves
 * the name. Its 63-octet limit is applied to the UTF-8 as sent, not to the
 * A-label it stands for.
 */
static int
domain_check(const uint8_t *p, size_t n)
{
	size_t i = 0;

	for (;;) {
		size_t start = i;

		while (i < n && p[i] != '.') {
			if (!ascii_isalnum(p[i]) && p[i] != '-' && p[i] < 0x80)
				return -1;
			i++;
		}
		/* an empty label: an empty domain, or a leading, doubled or trailing dot */
		if (i == start)
			return -1;
		/* RFC 1035 2.3.4: a label is at most 63 octets */
		if (i - start > 63)
			return -1;
		/* Let-dig at both ends: no label starts or ends with '-' */
		if (p[start] == '-' || p[i - 1] == '-')
			return -1;
		if (i == n)
			return 0;
		i++;
	}
}

/*
 * Length of an A-d-l and its ":" at the start of p[0..n) (RFC 5321 4.1.2:
 * "@a.test,@b.test:"), or 0 if malformed. At-domain = "@" Domain: no
 * address literals in a route.
 */
static size_t
route_len(const uint8_t *p, size_t n)
{
	size_t i = 0;

	for (;;) {
		size_t start;

		if (i >= n || p[i] != '@')
			return 0;
		start = ++i;
		while (i < n && p[i] != ',' && p[i] != ':')
			i++;
		if (i == n || domain_check(p + start, i - start) == -1)
			return 0;
		if (p[i++] == ':')
			return i;
	}
}

/*
 * An address literal (RFC 5321 4.1.3): "[" IPv4 "]" or "[IPv6:" IPv6 "]",
 * checked with inet_pton(). A General-address-literal ("[tag:...]") is
 * refused: no other tag is registered. On success writes the canonical form
 * to out->domain and returns 0; returns -1 otherwise.
 * XXX: inet_pton refuses leading zeros ("[192.0.2.001]"), which the Snum
 * grammar allows; no real client sends them.
 */
static int
literal_parse(const uint8_t *p, size_t n, struct smtp_addr *out)
{
	char text[64], canon[INET6_ADDRSTRLEN];
	unsigned char bin[sizeof(struct in6_addr)];
	const char *tag = "";
	int af = AF_INET, len;

	if (n < 2 || p[0] != '[' || p[n - 1] != ']')
		return -1;
	p++;
	n -= 2;
	/* the tag is matched in any case, like every SMTP keyword (RFC 5321 2.4) */
	if (n >= 5 && ascii_casen_eq(p, "IPv6:", 5)) {
		af = AF_INET6;
		tag = "ipv6:";
		p += 5;
		n -= 5;
	}
	if (n == 0 || n >= sizeof(text))
		return -1;
	/*
	 * inet_pton() reads a C string: only characters an address can hold
	 * get that far, so a NUL cannot cut "[192.0.2.1\0junk]" short
	 * (test_addr.c: literal_nul).
	 */
	for (size_t i = 0; i < n; i++) {
		uint8_t c = p[i];

		if (!ascii_isdigit(c) && c != '.' &&
		    !(af == AF_INET6 && (ascii_isxdigit(c) || c == ':')))
			return -1;
	}
	memcpy(text, p, n);
	text[n] = '\0';
	if (inet_pton(af, text, bin) != 1)
		return -1;
	if (inet_ntop(af, bin, canon, sizeof(canon)) == NULL)
		return -1;
	len = snprintf(out->domain, sizeof(out->domain), "[%s%s]", tag, canon);
	if (len < 0 || (size_t)len >= sizeof(out->domain))
		return -1;
	out->domain_len = (size_t)len;
	return 0;
}

static enum smtp_addr_err
addr_parse(const uint8_t *p, size_t n, int utf8_ok, struct smtp_addr *out)
{
	const uint8_t *mb, *dom;
	size_t m, i = 0, local_len, dom_len, k = 0;

	if (n == 0) {
		out->is_null = 1;
		return SMTP_ADDR_OK;
	}
	/*
	 * RFC 5321 4.5.3.1.3: 256 octets with the angle brackets. Checked
	 * first because it bounds all the work below.
	 */
	if (n > SMTP_PATH_MAX - 2)
		return SMTP_ADDR_TOO_LONG;
	/*
	 * Malformed UTF-8 is wrong with or without SMTPUTF8, so it is reported
	 * as such rather than with a hint that SMTPUTF8 would help.
	 */
	switch (utf8_check(p, n)) {
	case -1:
		return SMTP_ADDR_BAD_UTF8;
	case -2:
		return SMTP_ADDR_UNSAFE_UTF8;
	default:
		break;
	}
	/* RFC 6531 3.3: non-ASCII anywhere in the path needs SMTPUTF8 */
	if (!utf8_ok && ascii_has_8bit(p, n))
		return SMTP_ADDR_NEEDS_UTF8;

	/* RFC 5321 4.1.2 and appendix C: a source route is parsed, then ignored */
	if (p[0] == '@') {
		if ((i = route_len(p, n)) == 0)
			return SMTP_ADDR_SYNTAX;
		out->has_route = 1;
	}
	mb = p + i;
	m = n - i;

	/* RFC 5321 4.1.1.3: "<Postmaster>" needs no domain; any case, no route */
	if (!out->has_route && m == 10 && ascii_casen_eq(mb, "postmaster", 10)) {
		memcpy(out->local, "postmaster", 10);
		out->local_len = 10;
		out->is_bare_postmaster = 1;
		return SMTP_ADDR_OK;
	}

	if (m > 0 && mb[0] == '"') {
		local_len = quoted_string_len(mb, m);
		/*
		 * XXX: '""' is a Quoted-string, but an empty local part names
		 * no mailbox and would be an empty key to every lookup after us.
		 */
		if (local_len == 2)
			return SMTP_ADDR_SYNTAX;
		out->is_quoted = 1;
	} else
		local_len = dot_string_len(mb, m);
	/* Mailbox = Local-part "@" ( Domain / address-literal ) */
	if (local_len == 0 || local_len >= m || mb[local_len] != '@')
		return SMTP_ADDR_SYNTAX;
	dom = mb + local_len + 1;
	dom_len = m - local_len - 1;
	if (dom_len > 0 && dom[0] == '[') {
		if (literal_parse(dom, dom_len, out) == -1)
			return SMTP_ADDR_SYNTAX;
		out->is_literal = 1;
	} else if (domain_check(dom, dom_len) == -1)
		return SMTP_ADDR_SYNTAX;

	/*
	 * RFC 5321 4.5.3.1.1 and 4.5.3.1.2, counted as sent (quotes and
	 * backslashes included). With the path limit above the domain can
	 * never pass 255; the check stays so the buffer never depends on it.
	 */
	if (local_len > SMTP_LOCAL_MAX || dom_len > SMTP_DOMAIN_MAX)
		return SMTP_ADDR_TOO_LONG;

	if (out->is_quoted) {
		/* undo the quoting: the quotes go, each quoted-pair gives its byte */
		for (size_t j = 1; j < local_len - 1; j++) {
			if (mb[j] == '\\')
				j++;
			out->local[k++] = (char)mb[j];
		}
		out->local_len = k;
	} else {
		memcpy(out->local, mb, local_len);
		out->local_len = local_len;
	}
	/* RFC 5321 2.4: the local part is case sensitive, domains are not */
	if (!out->is_literal) {
		for (size_t j = 0; j < dom_len; j++)
			out->domain[j] = (char)ascii_tolower(dom[j]);
		out->domain_len = dom_len;
	}
	out->has_utf8 = ascii_has_8bit(mb, m);
	return SMTP_ADDR_OK;
}

enum smtp_addr_err
smtp_addr_parse(struct slice path, int utf8_ok, struct smtp_addr *out)
{
	enum smtp_addr_err err;

	memset(out, 0, sizeof(*out));
	err = addr_parse(path.p, path.len, utf8_ok, out);
	/* a caller never sees half an address */
	if (err != SMTP_ADDR_OK)
		memset(out, 0, sizeof(*out));
	return err;
}

/* An output cursor that keeps room for the NUL and remembers running out. */
struct fmt {
	char *p;
	size_t size, len;
	int is_full;
};

static void
fmt_put(struct fmt *f, const void *s, size_t n)
{
	if (f->is_full || n >= f->size - f->len) {
		f->is_full = 1;
		return;
	}
	memcpy(f->p + f->len, s, n);
	f->len += n;
}

int
smtp_addr_format(const struct smtp_addr *a, char *out, size_t size)
{
	struct fmt f = { out, size, 0, 0 };
	const uint8_t *local = (const uint8_t *)a->local;

	if (size == 0)
		return -1;
	if (a->local_len > SMTP_LOCAL_MAX || a->domain_len > SMTP_DOMAIN_MAX) {
		out[0] = '\0';
		return -1;
	}
	if (a->is_null) {
		/* "" */
	} else if (a->is_bare_postmaster) {
		fmt_put(&f, "postmaster", 10);
	} else {
		/*
		 * The Dot-string form whenever it will do (RFC 5321 4.1.2,
		 * RFC 5322 3.4.1): '"a"@x' and 'a@x' are the same mailbox, and
		 * quoting only when needed keeps the result no longer than
		 * what the client sent.
		 */
		if (is_dot_string(local, a->local_len)) {
			fmt_put(&f, local, a->local_len);
		} else {
			fmt_put(&f, "\"", 1);
			for (size_t i = 0; i < a->local_len; i++) {
				/* quoted-pairSMTP for the two bytes qtextSMTP lacks */
				if (local[i] == '"' || local[i] == '\\')
					fmt_put(&f, "\\", 1);
				fmt_put(&f, local + i, 1);
			}
			fmt_put(&f, "\"", 1);
		}
		fmt_put(&f, "@", 1);
		fmt_put(&f, a->domain, a->domain_len);
	}
	if (f.is_full) {
		out[0] = '\0';
		return -1;
	}
	out[f.len] = '\0';
	return 0;
}
