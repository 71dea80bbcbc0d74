/*
 * neg.c - option negotiation (proto.h): what a filter asks for against what
 * we offered, and the macro lists it wants per stage. A filter that asks
 * for more than was offered is refused rather than half served: it would
 * count on changes or skipped steps that never happen.
 */
#include "milter/proto.h"

#include <stdio.h>
#include <string.h>

#include "util/ascii.h"

/*
 * Until a filter names its own, each stage sends these (Postfix's default
 * lists, plus the client's address and names at connect).
 */
static const char *const default_macros[MILTER_NSTAGES] = {
	[MILTER_STAGE_CONNECT] = ("j {daemon_name} {daemon_addr} {daemon_port} v _ "
	    "{client_addr} {client_port} {client_name} {client_ptr}"),
	[MILTER_STAGE_HELO] = "{tls_version} {cipher} {cipher_bits} {cert_subject} {cert_issuer}",
	[MILTER_STAGE_MAIL] = "i {auth_type} {auth_authen} {mail_addr} {mail_host} {mail_mailer}",
	[MILTER_STAGE_RCPT] = "i {rcpt_addr} {rcpt_host} {rcpt_mailer}",	/* our queue id comes after MAIL */
	[MILTER_STAGE_DATA] = "i",
	[MILTER_STAGE_EOM] = "i",
	[MILTER_STAGE_EOH] = "i",
};

uint8_t
milter_stage_cmd(enum milter_stage stage)
{
	static const uint8_t cmds[MILTER_NSTAGES] = {
		MILTER_CMD_CONNECT, MILTER_CMD_HELO, MILTER_CMD_MAIL, MILTER_CMD_RCPT,
		MILTER_CMD_DATA, MILTER_CMD_BODYEOB, MILTER_CMD_EOH,
	};

	return cmds[stage];
}

int
milter_neg_set_macros(struct milter_neg *neg, uint32_t stage, struct slice list, char *err,
    size_t errsize)
{
	size_t i = 0, n = 0;

	if (stage >= MILTER_NSTAGES) {
		snprintf(err, errsize, "macro list for unknown stage %lu", (unsigned long)stage);
		return -1;
	}
	while (i < list.len) {
		size_t start, len;

		while (i < list.len && (list.p[i] == ' ' || list.p[i] == ','))
			i++;
		start = i;
		while (i < list.len && list.p[i] != ' ' && list.p[i] != ',')
			i++;
		len = i - start;
		if (len == 0)
			break;
		if (n == MILTER_MACROS_PER_STAGE) {
			snprintf(err, errsize, "more than %d macros for stage %lu",
			    MILTER_MACROS_PER_STAGE, (unsigned long)stage);
			return -1;
		}
		if (len > MILTER_MACRO_NAME_MAX) {
			snprintf(err, errsize, "a macro name longer than %d bytes",
			    MILTER_MACRO_NAME_MAX);
			return -1;
		}
		for (size_t k = start; k < i; k++)
			if (!ascii_isgraph(list.p[k])) {
				snprintf(err, errsize, "a macro name with a byte that is not printable");
				return -1;
			}
		memcpy(neg->macros[stage][n], list.p + start, len);
		neg->macros[stage][n][len] = '\0';
		n++;
	}
	neg->nmacros[stage] = n;
	return 0;
}

int
milter_neg_judge(const struct milter_reply *r, uint32_t actions, uint32_t protocol,
    struct milter_neg *out, char *err, size_t errsize)
{
	memset(out, 0, sizeof(*out));
	if (r->cmd != MILTER_REP_OPTNEG) {
		snprintf(err, errsize, "%s where option negotiation was due",
		    milter_reply_name(r->cmd));
		return -1;
	}
	if (r->version < 2 || r->version > MILTER_VERSION) {
		snprintf(err, errsize, "protocol version %lu (2 to %d spoken)",
		    (unsigned long)r->version, MILTER_VERSION);
		return -1;
	}
	if ((r->actions & ~actions) != 0) {
		snprintf(err, errsize, "asks for actions 0x%lx that were not offered (0x%lx)",
		    (unsigned long)r->actions, (unsigned long)actions);
		return -1;
	}
	if ((r->protocol & ~protocol) != 0) {
		snprintf(err, errsize, "asks for protocol flags 0x%lx that were not offered (0x%lx)",
		    (unsigned long)r->protocol, (unsigned long)protocol);
		return -1;
	}
	out->version = r->version;
	out->actions = r->actions;
	out->protocol = r->protocol;
	for (uint32_t st = 0; st < MILTER_NSTAGES; st++) {
		struct slice list = r->has_macros[st] ? r->macros[st] : slice_str(default_macros[st]);

		if (milter_neg_set_macros(out, st, list, err, errsize) == -1)
			return -1;
	}
	return 0;
}
