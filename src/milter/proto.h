/*
 * proto.h - the Sendmail milter protocol, version 6, as the MTA speaks it:
 * packets, the commands we send, the replies a filter sends, and option
 * negotiation. Pure: bytes in, values out; no sockets, no libevent (the
 * driver, milter.c, does the I/O and the session, session.h, the order).
 *
 * A packet is a 4-byte length in network order, then that many bytes: a
 * command byte and its data. Strings in the data end with a NUL; numbers
 * are 4 bytes (2 for a port) in network order.
 *
 * A filter's reply is hostile input, like a remote server's: a packet is at
 * most MILTER_MAX_REPLY bytes (we offer no larger sizes, SMFIP_MDS_*), every
 * string must end inside its packet, with nothing after the last one, header
 * fields must be fields (a name of printable ASCII without ':', a value whose
 * line breaks are folds), addresses must be one token, and a reply code must
 * be a 4xx or 5xx with a matching enhanced status. Anything else is refused
 * with a reason, never guessed at.
 */
#ifndef STERNA_MILTER_PROTO_H
#define STERNA_MILTER_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

#define MILTER_VERSION 6
#define MILTER_CHUNK 65535		/* a BODY packet's data at most (libmilter's chunk) */
#define MILTER_MAX_REPLY (MILTER_CHUNK + 1)	/* a filter's packet: command byte and data */
#define MILTER_MACRO_NAME_MAX 64	/* "{auth_authen}" and such, braces included */
#define MILTER_MACROS_PER_STAGE 32	/* names a filter may ask for at one stage */
#define MILTER_TEXT_MAX 255		/* a reply's text we keep (util/verdict.h's bound) */

/* Commands, MTA to filter. */
enum {
	MILTER_CMD_ABORT = 'A', MILTER_CMD_BODY = 'B', MILTER_CMD_CONNECT = 'C',
	MILTER_CMD_MACRO = 'D', MILTER_CMD_BODYEOB = 'E', MILTER_CMD_HELO = 'H',
	MILTER_CMD_QUIT_NC = 'K', MILTER_CMD_HEADER = 'L', MILTER_CMD_MAIL = 'M',
	MILTER_CMD_EOH = 'N', MILTER_CMD_OPTNEG = 'O', MILTER_CMD_QUIT = 'Q',
	MILTER_CMD_RCPT = 'R', MILTER_CMD_DATA = 'T', MILTER_CMD_UNKNOWN = 'U',
};

/* Replies, filter to MTA. */
enum {
	MILTER_REP_ADDRCPT = '+', MILTER_REP_DELRCPT = '-', MILTER_REP_ADDRCPT_PAR = '2',
	MILTER_REP_SHUTDOWN = '4', MILTER_REP_ACCEPT = 'a', MILTER_REP_REPLBODY = 'b',
	MILTER_REP_CONTINUE = 'c', MILTER_REP_DISCARD = 'd', MILTER_REP_CHGFROM = 'e',
	MILTER_REP_CONN_FAIL = 'f', MILTER_REP_ADDHEADER = 'h', MILTER_REP_INSHEADER = 'i',
	MILTER_REP_SETSYMLIST = 'l', MILTER_REP_CHGHEADER = 'm', MILTER_REP_PROGRESS = 'p',
	MILTER_REP_QUARANTINE = 'q', MILTER_REP_REJECT = 'r', MILTER_REP_SKIP = 's',
	MILTER_REP_TEMPFAIL = 't', MILTER_REP_REPLYCODE = 'y', MILTER_REP_OPTNEG = 'O',
};

/* Actions: what a filter may do at the end of a message (SMFIF_*). */
enum {
	MILTER_ACT_ADDHDRS = 0x01, MILTER_ACT_CHGBODY = 0x02, MILTER_ACT_ADDRCPT = 0x04,
	MILTER_ACT_DELRCPT = 0x08, MILTER_ACT_CHGHDRS = 0x10, MILTER_ACT_QUARANTINE = 0x20,
	MILTER_ACT_CHGFROM = 0x40, MILTER_ACT_ADDRCPT_PAR = 0x80, MILTER_ACT_SETSYMLIST = 0x100,
};
#define MILTER_ACT_ALL 0x1ffu

/* Protocol flags (SMFIP_*): steps a filter skips, replies it does not send. */
enum {
	MILTER_P_NOCONNECT = 0x1, MILTER_P_NOHELO = 0x2, MILTER_P_NOMAIL = 0x4,
	MILTER_P_NORCPT = 0x8, MILTER_P_NOBODY = 0x10, MILTER_P_NOHDRS = 0x20,
	MILTER_P_NOEOH = 0x40, MILTER_P_NR_HDR = 0x80, MILTER_P_NOUNKNOWN = 0x100,
	MILTER_P_NODATA = 0x200, MILTER_P_SKIP = 0x400, MILTER_P_RCPT_REJ = 0x800,
	MILTER_P_NR_CONN = 0x1000, MILTER_P_NR_HELO = 0x2000, MILTER_P_NR_MAIL = 0x4000,
	MILTER_P_NR_RCPT = 0x8000, MILTER_P_NR_DATA = 0x10000, MILTER_P_NR_UNKN = 0x20000,
	MILTER_P_NR_EOH = 0x40000, MILTER_P_NR_BODY = 0x80000, MILTER_P_HDR_LEADSPC = 0x100000,
	MILTER_P_MDS_256K = 0x10000000, MILTER_P_MDS_1M = 0x20000000,
};
/*
 * What we offer: every step may be skipped and every reply left out, and
 * header values may keep their leading space. Not offered: RCPT_REJ (we
 * never show a filter a recipient that was refused) and larger packets.
 */
#define MILTER_P_OFFER 0x1ff7ffu

/* The stages a filter may ask macros for (SMFIM_*), in the order of a session. */
enum milter_stage {
	MILTER_STAGE_CONNECT, MILTER_STAGE_HELO, MILTER_STAGE_MAIL, MILTER_STAGE_RCPT,
	MILTER_STAGE_DATA, MILTER_STAGE_EOM, MILTER_STAGE_EOH,
};
#define MILTER_NSTAGES 7

/* ---- packets ---- */

struct milter_packet {
	uint8_t cmd;
	struct slice data;		/* borrowed from the reader, valid until its next feed */
};

enum milter_parse { MILTER_PARSE_OK, MILTER_PARSE_MORE, MILTER_PARSE_BAD };

struct milter_reader {
	uint8_t len_bytes[4];
	size_t nlen;			/* bytes of the length read so far */
	uint32_t want;			/* the packet's length, once known */
	struct buf pkt;
};

void milter_reader_init(struct milter_reader *r);
void milter_reader_clear(struct milter_reader *r);
/*
 * Reads the len bytes at in up to the end of one packet: OK with the packet
 * in *out (its data valid until the next call), MORE when every byte was
 * taken, BAD for a length of 0 or past MILTER_MAX_REPLY (why in err; the
 * connection is then beyond repair). *used_out says how many bytes were taken.
 */
enum milter_parse milter_reader_feed(struct milter_reader *r, const uint8_t *in, size_t len,
    size_t *used_out, struct milter_packet *out, char *err, size_t errsize);

/* ---- commands (each appends one packet to out; 0, or -1 past out's max) ---- */

/* A name and value of a macro, for milter_put_macros. */
struct milter_macro {
	const char *name;		/* "j", "{client_addr}" */
	const char *value;
};

int milter_put_optneg(struct buf *out, uint32_t version, uint32_t actions, uint32_t protocol);
/* The macros for the command cmd that follows (MILTER_CMD_CONNECT ...). */
int milter_put_macros(struct buf *out, uint8_t cmd, const struct milter_macro *m, size_t n);
/*
 * CONNECT: the client's name, and its address: family '4' or '6' with the
 * port and the address in text, 'L' (a local socket: port 0, the path), or
 * 'U' (unknown: nothing after the family).
 */
int milter_put_connect(struct buf *out, const char *hostname, char family, uint16_t port,
    const char *addr);
/* HELO, MAIL, RCPT, UNKNOWN: one string, or for MAIL and RCPT the path then ESMTP arguments. */
int milter_put_strings(struct buf *out, uint8_t cmd, const char *const *s, size_t n);
/* HEADER: name and value as given (the session prepares the value). */
int milter_put_header(struct buf *out, const char *name, const uint8_t *value, size_t len);
/* BODY: at most MILTER_CHUNK bytes. */
int milter_put_body(struct buf *out, const uint8_t *p, size_t n);
/* DATA, EOH, BODYEOB, ABORT, QUIT, QUIT_NC: the command alone. */
int milter_put_bare(struct buf *out, uint8_t cmd);

/* ---- replies ---- */

struct milter_reply {
	uint8_t cmd;			/* MILTER_REP_* */
	uint32_t index;			/* INSHEADER, CHGHEADER */
	/*
	 * Borrowed from the packet. Headers: name and value (value empty in a
	 * CHGHEADER: remove the field). ADDRCPT, DELRCPT, CHGFROM: the address
	 * in addr (angle brackets taken off), ESMTP arguments in args (ADDRCPT_PAR,
	 * CHGFROM; may be empty). REPLBODY: the bytes in value. QUARANTINE: the
	 * reason in value. SETSYMLIST: the names in value.
	 */
	struct slice name, value, addr, args;
	/* REPLYCODE */
	int code;			/* 4xx or 5xx */
	char dsn[16];			/* the enhanced status, or "" */
	char text[MILTER_TEXT_MAX + 1];	/* the lines' text joined by " ", printable ASCII */
	/* OPTNEG: the filter's answer; SETSYMLIST: stage */
	uint32_t version, actions, protocol, stage;
	struct slice macros[MILTER_NSTAGES];	/* the names asked for per stage */
	int has_macros[MILTER_NSTAGES];
};

/*
 * Decodes p into *out (strings borrowed from p): 0, or -1 with why in err for
 * a reply that is not one (an unknown command, a string without its NUL,
 * bytes after the last one, a bad field, address or code).
 */
int milter_reply_decode(const struct milter_packet *p, struct milter_reply *out, char *err,
    size_t errsize);
/* The reply's name, for logs: "ACCEPT", "ADDHEADER" ... ("?" for none). */
const char *milter_reply_name(uint8_t cmd);

/* ---- option negotiation ---- */

/* What a filter and we agreed on. Macro names are copied (owned here). */
struct milter_neg {
	uint32_t version, actions, protocol;
	char macros[MILTER_NSTAGES][MILTER_MACROS_PER_STAGE][MILTER_MACRO_NAME_MAX + 1];
	size_t nmacros[MILTER_NSTAGES];
};

/*
 * Judges the filter's OPTNEG reply r against what we offered (actions,
 * protocol): a version from 2 to 6, no action and no flag we did not offer;
 * its macro lists (at most MILTER_MACROS_PER_STAGE names of at most
 * MILTER_MACRO_NAME_MAX bytes each, written "x" or "{x}") replace the
 * default list of their stage. 0 with *out filled, or -1 with why in err.
 */
int milter_neg_judge(const struct milter_reply *r, uint32_t actions, uint32_t protocol,
    struct milter_neg *out, char *err, size_t errsize);
/* Sets stage's macro list from the names in list (SETSYMLIST); as milter_neg_judge. */
int milter_neg_set_macros(struct milter_neg *neg, uint32_t stage, struct slice list, char *err,
    size_t errsize);
/* The command a stage's macros are sent with. */
uint8_t milter_stage_cmd(enum milter_stage stage);

#endif
