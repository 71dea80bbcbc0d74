/*
 * reply.c - a filter's replies decoded and judged (proto.h). Total: any
 * bytes give a reply or a reason, and nothing a filter sends can become a
 * header field that is not one, a second field, an address with spaces, or
 * a reply code of the wrong class.
 */
#include "milter/proto.h"

#include <stdio.h>
#include <string.h>

#include "util/ascii.h"

struct cursor {
	const uint8_t *p;
	size_t n;
};

static int
take_u32(struct cursor *c, uint32_t *out)
{
	if (c->n < 4)
		return -1;
	*out = (uint32_t)c->p[0] << 24 | (uint32_t)c->p[1] << 16 | (uint32_t)c->p[2] << 8 |
	    c->p[3];
	c->p += 4;
	c->n -= 4;
	return 0;
}

/* A string up to its NUL (not counted), which must be inside the data. */
static int
take_str(struct cursor *c, struct slice *out)
{
	const uint8_t *nul = c->n > 0 ? memchr(c->p, 0, c->n) : NULL;

	if (nul == NULL)
		return -1;
	out->p = c->p;
	out->len = (size_t)(nul - c->p);
	c->n -= out->len + 1;
	c->p = nul + 1;
	return 0;
}

/* RFC 5322 3.6.8: a field name is printable ASCII but ':' */
static int
is_field_name(struct slice s)
{
	if (s.len == 0 || s.len > 998)
		return 0;
	for (size_t i = 0; i < s.len; i++)
		if (!ascii_isgraph(s.p[i]) || s.p[i] == ':')
			return 0;
	return 1;
}

/*
 * A field value: a line break (LF or CRLF; filters write either) only as a
 * fold, before a space or tab, so it cannot end the field; no bare CR, no
 * other control byte. 8-bit bytes pass (RFC 6532 fields).
 */
static int
is_field_value(struct slice s)
{
	for (size_t i = 0; i < s.len; i++) {
		uint8_t b = s.p[i];

		if (b == '\r') {
			if (i + 1 >= s.len || s.p[i + 1] != '\n')
				return 0;
			continue;
		}
		if (b == '\n') {
			if (i + 1 >= s.len || (s.p[i + 1] != ' ' && s.p[i + 1] != '\t'))
				return 0;
			continue;
		}
		if ((b < 0x20 && b != '\t') || b == 0x7f)
			return 0;
	}
	return 1;
}

/* Text for a log or a reason: no control bytes at all. */
static int
is_text(struct slice s)
{
	for (size_t i = 0; i < s.len; i++)
		if ((s.p[i] < 0x20 && s.p[i] != '\t') || s.p[i] == 0x7f)
			return 0;
	return 1;
}

/* "<a@b>" or "a@b" into addr without brackets; one token, no controls, no spaces. */
static int
take_addr(struct slice s, struct slice *addr)
{
	if (s.len > 0 && s.p[0] == '<') {
		if (s.len < 2 || s.p[s.len - 1] != '>')
			return -1;
		s.p++;
		s.len -= 2;
	}
	if (s.len > 512)
		return -1;
	for (size_t i = 0; i < s.len; i++)
		if (s.p[i] <= 0x20 || s.p[i] == 0x7f || s.p[i] == '<' || s.p[i] == '>')
			return -1;
	*addr = s;
	return 0;
}

/* "x.y.z" of RFC 3463 with class cls at the start of s: its length, or 0. */
static size_t
dsn_len(const uint8_t *p, size_t n, uint8_t cls)
{
	size_t i = 2;

	if (n < 5 || p[0] != cls || p[1] != '.')
		return 0;
	for (int part = 0; part < 2; part++) {
		size_t start = i;

		while (i < n && ascii_isdigit(p[i]) && i - start < 3)
			i++;
		if (i == start || (part == 0 && (i >= n || p[i++] != '.')))
			return 0;
	}
	return i == n || p[i] == ' ' ? i : 0;
}

/*
 * SMFIR_REPLYCODE: "550 5.7.1 text", or lines "550-5.7.1 a\r\n550 5.7.1 b"
 * (smfi_setmlreply), each with the same 4xx or 5xx code.
 */
static int
decode_replycode(struct slice s, struct milter_reply *out, char *err, size_t errsize)
{
	size_t pos = 0, tlen = 0, nlines = 0;

	while (pos < s.len || nlines == 0) {
		const uint8_t *line = s.p + pos;
		const uint8_t *crlf = NULL;
		size_t n, i, sl;
		int code, is_last;

		for (size_t k = pos; k + 1 < s.len; k++)
			if (s.p[k] == '\r' && s.p[k + 1] == '\n') {
				crlf = s.p + k;
				break;
			}
		n = crlf ? (size_t)(crlf - line) : s.len - pos;
		pos += n + (crlf ? 2 : 0);
		is_last = pos >= s.len;	/* a CRLF after the last line is tolerated */
		if (++nlines > 32) {
			snprintf(err, errsize, "reply code: more than 32 lines");
			return -1;
		}
		if (n < 3 || !ascii_isdigit(line[0]) || !ascii_isdigit(line[1]) ||
		    !ascii_isdigit(line[2]) || (line[0] != '4' && line[0] != '5') ||
		    (n > 3 && line[3] != ' ' && line[3] != '-') ||
		    (n > 3 && line[3] == '-') == is_last) {
			snprintf(err, errsize, "reply code: a line that is not a 4xx or 5xx reply");
			return -1;
		}
		code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
		if (nlines == 1)
			out->code = code;
		else if (code != out->code) {
			snprintf(err, errsize, "reply code: lines with different codes");
			return -1;
		}
		i = n > 3 ? 4 : 3;
		sl = dsn_len(line + i, n - i, line[0]);
		if (sl == 0 && n - i >= 2 && ascii_isdigit(line[i]) && line[i + 1] == '.') {
			snprintf(err, errsize, "reply code: an enhanced status of another class");
			return -1;
		}
		if (nlines == 1 && sl > 0 && sl < sizeof(out->dsn)) {
			memcpy(out->dsn, line + i, sl);
			out->dsn[sl] = '\0';
		}
		i += sl;
		while (i < n && line[i] == ' ')
			i++;
		if (tlen > 0 && i < n && tlen + 1 < sizeof(out->text))
			out->text[tlen++] = ' ';
		for (; i < n && tlen + 1 < sizeof(out->text); i++)
			out->text[tlen++] = (char)(line[i] >= 0x20 && line[i] < 0x7f ? line[i] : '?');
		out->text[tlen] = '\0';
		if (is_last)
			break;
	}
	return 0;
}

/* The OPTNEG reply: version, actions, protocol, then (stage, names) pairs. */
static int
decode_optneg(struct cursor *c, struct milter_reply *out, char *err, size_t errsize)
{
	if (take_u32(c, &out->version) == -1 || take_u32(c, &out->actions) == -1 ||
	    take_u32(c, &out->protocol) == -1) {
		snprintf(err, errsize, "option negotiation: shorter than 12 bytes");
		return -1;
	}
	while (c->n > 0) {
		uint32_t stage;
		struct slice names;

		if (take_u32(c, &stage) == -1 || take_str(c, &names) == -1) {
			snprintf(err, errsize, "option negotiation: a macro list cut short");
			return -1;
		}
		if (stage >= MILTER_NSTAGES || out->has_macros[stage]) {
			snprintf(err, errsize, "option negotiation: macro list for stage %lu %s",
			    (unsigned long)stage, stage >= MILTER_NSTAGES ? "unknown" : "twice");
			return -1;
		}
		out->has_macros[stage] = 1;
		out->macros[stage] = names;
	}
	return 0;
}

int
milter_reply_decode(const struct milter_packet *p, struct milter_reply *out, char *err,
    size_t errsize)
{
	struct cursor c = { p->data.p, p->data.len };
	struct slice s;
	const char *bad = NULL;

	memset(out, 0, sizeof(*out));
	out->cmd = p->cmd;
	switch (p->cmd) {
	case MILTER_REP_ACCEPT: case MILTER_REP_CONTINUE: case MILTER_REP_DISCARD:
	case MILTER_REP_REJECT: case MILTER_REP_TEMPFAIL: case MILTER_REP_PROGRESS:
	case MILTER_REP_SKIP: case MILTER_REP_SHUTDOWN: case MILTER_REP_CONN_FAIL:
		if (c.n != 0)
			bad = "data after a reply that has none";
		break;
	case MILTER_REP_OPTNEG:
		return decode_optneg(&c, out, err, errsize);
	case MILTER_REP_REPLYCODE:
		if (take_str(&c, &s) == -1)
			bad = "reply code without its NUL";
		else if (decode_replycode(s, out, err, errsize) == -1)
			return -1;
		break;
	case MILTER_REP_INSHEADER: case MILTER_REP_CHGHEADER:
		if (take_u32(&c, &out->index) == -1) {
			bad = "header index cut short";
			break;
		}
		/* FALLTHROUGH */
	case MILTER_REP_ADDHEADER:
		if (take_str(&c, &out->name) == -1 || take_str(&c, &out->value) == -1)
			bad = "header name or value without its NUL";
		else if (!is_field_name(out->name))
			bad = "header name that is not a field name";
		else if (!is_field_value(out->value))
			bad = "header value with a line break that is no fold, or a control byte";
		break;
	case MILTER_REP_ADDRCPT: case MILTER_REP_DELRCPT:
		if (take_str(&c, &s) == -1)
			bad = "address without its NUL";
		else if (take_addr(s, &out->addr) == -1 || out->addr.len == 0)
			bad = "address that is not one";
		break;
	case MILTER_REP_ADDRCPT_PAR: case MILTER_REP_CHGFROM:
		if (take_str(&c, &s) == -1)
			bad = "address without its NUL";
		else if (take_addr(s, &out->addr) == -1 ||
		    (out->addr.len == 0 && p->cmd == MILTER_REP_ADDRCPT_PAR))
			bad = "address that is not one";
		else if (c.n > 0 && take_str(&c, &out->args) == -1)
			bad = "arguments without their NUL";
		else if (!is_text(out->args))
			bad = "arguments with a control byte";
		break;
	case MILTER_REP_REPLBODY:
		out->value = (struct slice){ c.p, c.n };
		c.n = 0;
		break;
	case MILTER_REP_QUARANTINE:
		if (take_str(&c, &out->value) == -1)
			bad = "quarantine reason without its NUL";
		else if (!is_text(out->value))
			bad = "quarantine reason with a control byte";
		break;
	case MILTER_REP_SETSYMLIST:
		if (take_u32(&c, &out->stage) == -1 || take_str(&c, &out->value) == -1)
			bad = "macro list cut short";
		else if (out->stage >= MILTER_NSTAGES)
			bad = "macro list for an unknown stage";
		break;
	default:
		snprintf(err, errsize, "unknown reply 0x%02x", p->cmd);
		return -1;
	}
	if (bad == NULL && c.n != 0)
		bad = "bytes after the last string";
	if (bad != NULL) {
		snprintf(err, errsize, "%s: %s", milter_reply_name(p->cmd), bad);
		return -1;
	}
	return 0;
}

const char *
milter_reply_name(uint8_t cmd)
{
	static const struct { uint8_t cmd; const char *name; } names[] = {
		{ MILTER_REP_ADDRCPT, "ADDRCPT" }, { MILTER_REP_DELRCPT, "DELRCPT" },
		{ MILTER_REP_ADDRCPT_PAR, "ADDRCPT_PAR" }, { MILTER_REP_SHUTDOWN, "SHUTDOWN" },
		{ MILTER_REP_ACCEPT, "ACCEPT" }, { MILTER_REP_REPLBODY, "REPLBODY" },
		{ MILTER_REP_CONTINUE, "CONTINUE" }, { MILTER_REP_DISCARD, "DISCARD" },
		{ MILTER_REP_CHGFROM, "CHGFROM" }, { MILTER_REP_CONN_FAIL, "CONN_FAIL" },
		{ MILTER_REP_ADDHEADER, "ADDHEADER" }, { MILTER_REP_INSHEADER, "INSHEADER" },
		{ MILTER_REP_SETSYMLIST, "SETSYMLIST" }, { MILTER_REP_CHGHEADER, "CHGHEADER" },
		{ MILTER_REP_PROGRESS, "PROGRESS" }, { MILTER_REP_QUARANTINE, "QUARANTINE" },
		{ MILTER_REP_REJECT, "REJECT" }, { MILTER_REP_SKIP, "SKIP" },
		{ MILTER_REP_TEMPFAIL, "TEMPFAIL" }, { MILTER_REP_REPLYCODE, "REPLYCODE" },
		{ MILTER_REP_OPTNEG, "OPTNEG" },
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].cmd == cmd)
			return names[i].name;
	return "?";
}
