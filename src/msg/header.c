/*
 * header.c - the header stage's pure parts (header.h).
 * The scanner learns which header fields the header section of a message
 * holds (RFC 5322 2.2, 3.6): whether a submission lacks Message-ID or Date
 * (RFC 6409 8.2, 8.3), how many Received fields it carries (hops, RFC 5321
 * 6.3), and whether it has a header section at all. Fed the unstuffed body
 * bytes in pieces of any size; stops at the empty line that ends the header
 * section, at a line that cannot be a header field (a message without
 * one), or after HDRSCAN_MAX_BYTES. No allocation, no I/O.
 * The builders write the fields the core adds before the message.
 */
#include "msg/header.h"

#include <stdio.h>
#include <string.h>

#include "util/ascii.h"
#include "util/clock.h"

enum { HS_LINE_START, HS_NAME, HS_REST, HS_CR_AT_START };

/* ftext (RFC 5322 3.6.8): printable ASCII except ':' */
static int
is_ftext(uint8_t c)
{
	return c >= 33 && c <= 126 && c != ':';
}

void
hdrscan_init(struct hdrscan *h)
{
	memset(h, 0, sizeof(*h));
	h->state = HS_LINE_START;
}

static void
name_done(struct hdrscan *h)
{
	h->nfields++;
	/* a name too long for name[] is none of the ones looked for */
	if (h->name_len == 8 && memcmp(h->name, "received", 8) == 0)
		h->nreceived++;
	else if (h->name_len == 10 && memcmp(h->name, "message-id", 10) == 0)
		h->seen |= HDRSCAN_MESSAGE_ID;
	else if (h->name_len == 4 && memcmp(h->name, "date", 4) == 0)
		h->seen |= HDRSCAN_DATE;
}

int
hdrscan_feed(struct hdrscan *h, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len && !h->is_done; i++) {
		uint8_t c = p[i];

		if (++h->bytes > HDRSCAN_MAX_BYTES) {
			h->is_done = h->is_truncated = 1;
			h->end = HDRSCAN_END_BOUND;
			break;
		}
		switch (h->state) {
		case HS_LINE_START:
			if (c == '\r') {
				h->state = HS_CR_AT_START;
			} else if ((c == ' ' || c == '\t') && h->nfields > 0) {
				h->state = HS_REST;	/* a folded line continues the field */
			} else if (is_ftext(c)) {
				h->name_len = 0;
				h->name[h->name_len++] = (char)ascii_tolower(c);
				h->state = HS_NAME;
			} else {
				/* not a header field (nor, first, a fold of nothing): the body starts here */
				h->is_done = 1;
				h->end = HDRSCAN_END_NOT_FIELD;
			}
			break;
		case HS_NAME:
			if (c == ':') {
				name_done(h);
				h->state = HS_REST;
			} else if (is_ftext(c)) {
				if (h->name_len < sizeof(h->name))
					h->name[h->name_len] = (char)ascii_tolower(c);
				if (h->name_len < SIZE_MAX)
					h->name_len++;
			} else {
				h->is_done = 1;		/* "From x" or a bare word: no field */
				h->end = HDRSCAN_END_NOT_FIELD;
			}
			break;
		case HS_REST:
			if (c == '\n')
				h->state = HS_LINE_START;
			break;
		case HS_CR_AT_START:
		default:
			/* CRLF alone: the empty line that ends the header section */
			h->is_done = 1;
			h->end = HDRSCAN_END_EMPTY_LINE;
			break;
		}
	}
	return h->is_done;
}

int
hdrscan_knows_first_line(const struct hdrscan *h)
{
	return h->is_done || h->nfields > 0;
}

int
hdrscan_needs_separator(const struct hdrscan *h)
{
	return h->end == HDRSCAN_END_NOT_FIELD && h->nfields == 0;
}

/* ---- the fields the header stage adds ---- */

int
msg_header_is_submission(const struct spool_msg *env)
{
	return env->origin != SPOOL_FROM_SMTP || env->auth_user != NULL;
}

/* A local user's name as it may stand in a comment: plain characters only, else nothing. */
static int
is_plain_name(const char *s)
{
	if (s == NULL || *s == '\0' || strlen(s) > 64)
		return 0;
	for (; *s != '\0'; s++)
		if (!ascii_isalnum((unsigned char)*s) && *s != '.' && *s != '_' && *s != '-')
			return 0;
	return 1;
}

/*
 * The HELO name as it may stand in Received: the characters of a domain or
 * an address literal (RFC 5321 4.1.3), every other byte as '?'. The
 * session takes any printable name, as most MTAs do; here a ';', '(' or
 * ')' would end the clause or open a comment of the client's making
 * ("EHLO mx.example)by(x"), so Received stays well-formed whatever was sent.
 */
static void
helo_for_received(const char *helo, char *out, size_t size)
{
	size_t n = 0;

	if (helo == NULL || helo[0] == '\0')
		helo = "unknown";
	for (; *helo != '\0' && n + 1 < size; helo++, n++) {
		uint8_t c = (uint8_t)*helo;

		out[n] = ascii_isalnum(c) || (c != '\0' && strchr(".-_[]:", c) != NULL) ?
		    (char)c : '?';
	}
	out[n] = '\0';
}

/* "Received: from ..." up to the id: what an SMTP client is known by (RFC 5321 4.4). */
static int
received_from(const struct spool_msg *env, const char *hostname, struct buf *out)
{
	const char *ip = env->client_ip ? env->client_ip : "unknown";
	int is_v6 = strchr(ip, ':') != NULL;
	char helo[256];

	helo_for_received(env->helo, helo, sizeof(helo));
	if (buf_printf(out, "Received: from %s (%s%s[%s%s])\r\n", helo,
	    env->client_name ? env->client_name : "", env->client_name ? " " : "",
	    is_v6 ? "IPv6:" : "", ip) == -1)
		return -1;
	/* a comment (RFC 5322 3.2.2), in the words other MTAs use for it */
	if (env->tls_version != NULL && buf_printf(out, "\t(using %s with cipher %s)\r\n",
	    env->tls_version, env->tls_cipher ? env->tls_cipher : "unknown") == -1)
		return -1;
	return buf_printf(out, "\tby %s (sterna) with %s id %s", hostname,
	    env->proto ? env->proto : "SMTP", env->qid);
}

/* "Received: by ..." for a message that did not come over the network. */
static int
received_local(const struct spool_msg *env, const char *hostname, struct buf *out)
{
	int r;

	switch (env->origin) {
	case SPOOL_FROM_SENDMAIL:
		if (is_plain_name(env->local_user))
			r = buf_printf(out, "Received: by %s (sterna, from userid %ld (%s))", hostname,
			    env->local_uid, env->local_user);
		else
			r = buf_printf(out, "Received: by %s (sterna, from userid %ld)", hostname,
			    env->local_uid);
		break;
	case SPOOL_FROM_PICKUP:
		r = buf_printf(out, "Received: by %s (sterna, from pickup)", hostname);
		break;
	case SPOOL_FROM_API:
		r = buf_printf(out, "Received: by %s (sterna, from the HTTP API)", hostname);
		break;
	case SPOOL_FROM_NOTICE:
	case SPOOL_FROM_SMTP:
	default:
		r = buf_printf(out, "Received: by %s (sterna)", hostname);
		break;
	}
	return r == -1 ? -1 : buf_printf(out, "\r\n\tid %s", env->qid);
}

int
msg_header_received(const struct spool_msg *env, const char *hostname, int64_t now,
    struct buf *out)
{
	char date[64];

	if (clock_rfc5322(now, date, sizeof(date)) == -1)
		return -1;
	if ((env->origin == SPOOL_FROM_SMTP ? received_from(env, hostname, out) :
	    received_local(env, hostname, out)) == -1)
		return -1;
	/* only one recipient is named: more would tell each one who else got it */
	if (env->nrcpts == 1 && buf_printf(out, "\r\n\tfor <%s>", env->rcpts[0].orig) == -1)
		return -1;
	return buf_printf(out, "; %s\r\n", date);
}

int
msg_header_added(const struct spool_msg *env, const char *hostname, int64_t now, unsigned seen,
    struct buf *out)
{
	char date[64];

	if (!msg_header_is_submission(env))
		return 0;
	/* RFC 5322 3.6.4: the queue id is unique to this host, so QID@HOST is unique */
	if (!(seen & HDRSCAN_MESSAGE_ID) &&
	    buf_printf(out, "Message-ID: <%s@%s>\r\n", env->qid, hostname) == -1)
		return -1;
	if (!(seen & HDRSCAN_DATE) && (clock_rfc5322(now, date, sizeof(date)) == -1 ||
	    buf_printf(out, "Date: %s\r\n", date) == -1))
		return -1;
	return 0;
}
