/*
 * test_milter.c - the milter protocol (src/milter), byte by byte: every
 * command we send, every reply a filter sends (good ones with what they
 * decode to, bad ones with the exact bytes and the reason), the packet
 * reader whole and split at each byte, option negotiation, and a filter's
 * session through each step: skipped steps, replies left out, macros,
 * verdicts per stage, changes at the end of a message, and the bounds.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "milter/proto.h"
#include "milter/session.h"

#define IN(s) (const uint8_t *)(s), sizeof(s) - 1

static void
assert_out(struct buf *b, const uint8_t *want, size_t n)
{
	if (b->len != n || memcmp(b->data, want, n) != 0) {
		fprintf(stderr, "got %zu bytes:", b->len);
		for (size_t i = 0; i < b->len; i++)
			fprintf(stderr, " %02x", b->data[i]);
		fprintf(stderr, "\n");
		fail();
	}
	buf_reset(b);
}

/* ---- commands ---- */

static void
test_commands(void **state)
{
	struct buf b;
	static const struct milter_macro mac[] = { { "j", "mx.test" } };
	static const char *const mail[] = { "<a@b.test>", "SIZE=100" };
	static const char *const helo[] = { "mx.example" };
	static const char *const unk[] = { "XFOO bar" };

	(void)state;
	buf_init(&b, 1 << 20);
	assert_int_equal(milter_put_optneg(&b, 6, MILTER_ACT_ALL, MILTER_P_OFFER), 0);
	assert_out(&b, IN("\0\0\0\x0dO\0\0\0\x06\0\0\x01\xff\0\x1f\xf7\xff"));
	assert_int_equal(milter_put_macros(&b, MILTER_CMD_CONNECT, mac, 1), 0);
	assert_out(&b, IN("\0\0\0\x0c" "DCj\0mx.test\0"));
	assert_int_equal(milter_put_connect(&b, "client.test", '4', 2525, "192.0.2.1"), 0);
	assert_out(&b, IN("\0\0\0\x1a" "Cclient.test\0" "4\x09\xdd" "192.0.2.1\0"));
	assert_int_equal(milter_put_connect(&b, "[2001:db8::1]", '6', 25, "2001:db8::1"), 0);
	assert_out(&b, IN("\0\0\0\x1e" "C[2001:db8::1]\0" "6\0\x19" "2001:db8::1\0"));
	assert_int_equal(milter_put_connect(&b, "localhost", 'L', 0, "/run/x"), 0);
	assert_out(&b, IN("\0\0\0\x15" "Clocalhost\0" "L\0\0" "/run/x\0"));
	assert_int_equal(milter_put_connect(&b, "unknown", 'U', 0, NULL), 0);
	assert_out(&b, IN("\0\0\0\x0a" "Cunknown\0U"));
	assert_int_equal(milter_put_strings(&b, MILTER_CMD_HELO, helo, 1), 0);
	assert_out(&b, IN("\0\0\0\x0c" "Hmx.example\0"));
	assert_int_equal(milter_put_strings(&b, MILTER_CMD_MAIL, mail, 2), 0);
	assert_out(&b, IN("\0\0\0\x15" "M<a@b.test>\0SIZE=100\0"));
	assert_int_equal(milter_put_strings(&b, MILTER_CMD_RCPT, mail, 1), 0);
	assert_out(&b, IN("\0\0\0\x0c" "R<a@b.test>\0"));
	assert_int_equal(milter_put_strings(&b, MILTER_CMD_UNKNOWN, unk, 1), 0);
	assert_out(&b, IN("\0\0\0\x0a" "UXFOO bar\0"));
	assert_int_equal(milter_put_header(&b, "Subject", IN("hi\n\tthere")), 0);
	assert_out(&b, IN("\0\0\0\x13" "LSubject\0hi\n\tthere\0"));
	assert_int_equal(milter_put_body(&b, IN("abc")), 0);
	assert_out(&b, IN("\0\0\0\x04" "Babc"));
	static const uint8_t bare[] = { MILTER_CMD_DATA, MILTER_CMD_EOH, MILTER_CMD_BODYEOB,
		MILTER_CMD_ABORT, MILTER_CMD_QUIT, MILTER_CMD_QUIT_NC };
	for (size_t i = 0; i < sizeof(bare); i++) {
		uint8_t want[5] = { 0, 0, 0, 1, bare[i] };

		assert_int_equal(milter_put_bare(&b, bare[i]), 0);
		assert_out(&b, want, 5);
	}
	/* a body chunk is at most 65535 bytes; a full buffer leaves nothing behind */
	{
		static uint8_t big[MILTER_CHUNK + 1];
		struct buf small;

		assert_int_equal(milter_put_body(&b, big, MILTER_CHUNK + 1), -1);
		assert_int_equal(milter_put_body(&b, big, MILTER_CHUNK), 0);
		assert_int_equal(b.len, MILTER_CHUNK + 5);
		assert_memory_equal(b.data, "\0\x01\0\0" "B", 5);
		buf_init(&small, 8);
		assert_int_equal(milter_put_strings(&small, MILTER_CMD_HELO, helo, 1), -1);
		assert_int_equal(milter_put_macros(&small, MILTER_CMD_CONNECT, mac, 1), -1);
		assert_int_equal(small.len, 0);
		buf_clear(&small);
	}
	buf_clear(&b);
}

/* ---- the reader ---- */

static void
test_reader(void **state)
{
	static const uint8_t two[] = "\0\0\0\x01" "c" "\0\0\0\x04" "yabc";
	size_t len = sizeof(two) - 1;
	char err[128];

	(void)state;
	for (size_t cut = 0; cut <= len; cut++) {
		struct milter_reader r;
		struct milter_packet p;
		uint8_t cmds[2];
		size_t n = 0, at = 0, end = cut, used;

		milter_reader_init(&r);
		while (at < len) {
			enum milter_parse res = milter_reader_feed(&r, two + at, end - at, &used, &p,
			    err, sizeof(err));

			at += used;
			assert_int_not_equal(res, MILTER_PARSE_BAD);
			if (res == MILTER_PARSE_OK) {
				cmds[n++] = p.cmd;
				if (p.cmd == 'y')
					assert_memory_equal(p.data.p, "abc", 3);
				else
					assert_int_equal(p.data.len, 0);
			} else {
				assert_int_equal(at, end);
				end = len;
			}
		}
		assert_int_equal(n, 2);
		assert_int_equal(cmds[0], 'c');
		assert_int_equal(cmds[1], 'y');
		milter_reader_clear(&r);
	}
	/* lengths out of bounds: 0, and one past a command byte and 65535 data bytes */
	static const struct { const uint8_t *in; size_t len; const char *why; } bad[] = {
		{ IN("\0\0\0\0c"), "packet length 0 out of bounds (1 to 65536)" },
		{ IN("\0\x01\0\x01" "b"), "packet length 65537 out of bounds (1 to 65536)" },
		{ IN("\xff\xff\xff\xff"), "packet length 4294967295 out of bounds (1 to 65536)" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct milter_reader r;
		struct milter_packet p;
		size_t used;

		milter_reader_init(&r);
		assert_int_equal(milter_reader_feed(&r, bad[i].in, bad[i].len, &used, &p, err,
		    sizeof(err)), MILTER_PARSE_BAD);
		assert_string_equal(err, bad[i].why);
		milter_reader_clear(&r);
	}
}

/* ---- replies ---- */

static int
decode(const uint8_t *in, size_t len, struct milter_reply *out, char *err, size_t errsize)
{
	struct milter_packet p = { in[0], { in + 1, len - 1 } };

	return milter_reply_decode(&p, out, err, errsize);
}

static void
test_replies_good(void **state)
{
	struct milter_reply r;
	char err[256];

	(void)state;
	static const uint8_t simple[] = "acdrtps4f";
	for (size_t i = 0; i < sizeof(simple) - 1; i++) {
		assert_int_equal(decode(&simple[i], 1, &r, err, sizeof(err)), 0);
		assert_int_equal(r.cmd, simple[i]);
	}
	assert_int_equal(decode(IN("y550 5.7.1 Go away\0"), &r, err, sizeof(err)), 0);
	assert_int_equal(r.code, 550);
	assert_string_equal(r.dsn, "5.7.1");
	assert_string_equal(r.text, "Go away");
	assert_int_equal(decode(IN("y451-4.7.1 first\r\n451 4.7.1 second\0"), &r, err,
	    sizeof(err)), 0);
	assert_int_equal(r.code, 451);
	assert_string_equal(r.dsn, "4.7.1");
	assert_string_equal(r.text, "first second");
	assert_int_equal(decode(IN("y554\0"), &r, err, sizeof(err)), 0);
	assert_int_equal(r.code, 554);
	assert_string_equal(r.dsn, "");
	assert_string_equal(r.text, "");
	assert_int_equal(decode(IN("y550 no status \x01\0"), &r, err, sizeof(err)), 0);
	assert_string_equal(r.text, "no status ?");
	assert_int_equal(decode(IN("hX-Spam\0yes\0"), &r, err, sizeof(err)), 0);
	assert_int_equal(r.name.len, 6);
	assert_memory_equal(r.value.p, "yes", 3);
	assert_int_equal(decode(IN("i\0\0\0\x02X-A\0 folded\n\tline\0"), &r, err, sizeof(err)), 0);
	assert_int_equal(r.index, 2);
	assert_int_equal(r.value.len, 13);
	assert_int_equal(decode(IN("m\0\0\0\x01Subject\0\0"), &r, err, sizeof(err)), 0);
	assert_int_equal(r.index, 1);
	assert_int_equal(r.value.len, 0);
	assert_int_equal(decode(IN("m\0\0\0\x01Subject\0new\r\n subject\0"), &r, err,
	    sizeof(err)), 0);
	assert_int_equal(decode(IN("+<c@d.test>\0"), &r, err, sizeof(err)), 0);
	assert_int_equal(r.addr.len, 8);
	assert_memory_equal(r.addr.p, "c@d.test", 8);
	assert_int_equal(decode(IN("-c@d.test\0"), &r, err, sizeof(err)), 0);
	assert_memory_equal(r.addr.p, "c@d.test", 8);
	assert_int_equal(decode(IN("2<c@d.test>\0NOTIFY=NEVER\0"), &r, err, sizeof(err)), 0);
	assert_memory_equal(r.args.p, "NOTIFY=NEVER", 12);
	assert_int_equal(decode(IN("e<>\0"), &r, err, sizeof(err)), 0);
	assert_int_equal(r.addr.len, 0);
	assert_int_equal(r.args.len, 0);
	assert_int_equal(decode(IN("e<s@d.test>\0SIZE=10\0"), &r, err, sizeof(err)), 0);
	assert_memory_equal(r.args.p, "SIZE=10", 7);
	assert_int_equal(decode(IN("bnew\r\nbody\0\xff"), &r, err, sizeof(err)), 0);
	assert_int_equal(r.value.len, 11);	/* the body is bytes: NUL and all */
	assert_int_equal(decode(IN("qspam score 12\0"), &r, err, sizeof(err)), 0);
	assert_memory_equal(r.value.p, "spam score 12", 13);
	assert_int_equal(decode(IN("l\0\0\0\x02{auth_authen} i\0"), &r, err, sizeof(err)), 0);
	assert_int_equal(r.stage, 2);
	assert_int_equal(decode(IN("O\0\0\0\x06\0\0\0\x15\0\0\0\x10" "\0\0\0\x05{i} j\0"), &r,
	    err, sizeof(err)), 0);
	assert_int_equal(r.version, 6);
	assert_int_equal(r.actions, 0x15);
	assert_int_equal(r.protocol, 0x10);
	assert_true(r.has_macros[MILTER_STAGE_EOM]);
	assert_false(r.has_macros[MILTER_STAGE_CONNECT]);
	assert_int_equal(r.macros[MILTER_STAGE_EOM].len, 5);
}

static void
test_replies_bad(void **state)
{
	static const struct { const uint8_t *in; size_t len; const char *why; } bad[] = {
		{ IN("z"), "unknown reply 0x7a" },
		{ IN("\x00"), "unknown reply 0x00" },
		{ IN("ax"), "ACCEPT: data after a reply that has none" },
		{ IN("c\0"), "CONTINUE: data after a reply that has none" },
		{ IN("y550 no nul"), "REPLYCODE: reply code without its NUL" },
		{ IN("y250 ok\0"), "reply code: a line that is not a 4xx or 5xx reply" },
		{ IN("y55\0"), "reply code: a line that is not a 4xx or 5xx reply" },
		{ IN("y550x\0"), "reply code: a line that is not a 4xx or 5xx reply" },
		{ IN("y550-only\0"), "reply code: a line that is not a 4xx or 5xx reply" },
		{ IN("y550 a\r\n550 b\0"), "reply code: a line that is not a 4xx or 5xx reply" },
		{ IN("y550-a\r\n451 b\0"), "reply code: lines with different codes" },
		{ IN("y550 4.7.1 wrong class\0"), "reply code: an enhanced status of another class" },
		{ IN("y\0"), "reply code: a line that is not a 4xx or 5xx reply" },
		{ IN("y550 x\0more"), "REPLYCODE: bytes after the last string" },
		{ IN("hX-A\0"), "ADDHEADER: header name or value without its NUL" },
		{ IN("h\0v\0"), "ADDHEADER: header name that is not a field name" },
		{ IN("hX A\0v\0"), "ADDHEADER: header name that is not a field name" },
		{ IN("hX:A\0v\0"), "ADDHEADER: header name that is not a field name" },
		{ IN("hX-A\0v\r\nBcc: x\0"),
		    "ADDHEADER: header value with a line break that is no fold, or a control byte" },
		{ IN("hX-A\0v\n\0"),
		    "ADDHEADER: header value with a line break that is no fold, or a control byte" },
		{ IN("hX-A\0v\rw\0"),
		    "ADDHEADER: header value with a line break that is no fold, or a control byte" },
		{ IN("hX-A\0v\x1b\0"),
		    "ADDHEADER: header value with a line break that is no fold, or a control byte" },
		{ IN("hX-A\0v\0\0"), "ADDHEADER: bytes after the last string" },
		{ IN("i\0\0\0"), "INSHEADER: header index cut short" },
		{ IN("m\0\0\0\x01X\0"), "CHGHEADER: header name or value without its NUL" },
		{ IN("+\0"), "ADDRCPT: address that is not one" },
		{ IN("+<>\0"), "ADDRCPT: address that is not one" },
		{ IN("+a b@c\0"), "ADDRCPT: address that is not one" },
		{ IN("+<a@b\0"), "ADDRCPT: address that is not one" },
		{ IN("+a@b"), "ADDRCPT: address without its NUL" },
		{ IN("-a\r\n@b\0"), "DELRCPT: address that is not one" },
		{ IN("2<>\0"), "ADDRCPT_PAR: address that is not one" },
		{ IN("e<a@b>\0X=\n\0"), "CHGFROM: arguments with a control byte" },
		{ IN("e<a@b>\0X\0Y\0"), "CHGFROM: bytes after the last string" },
		{ IN("qbad\nreason\0"), "QUARANTINE: quarantine reason with a control byte" },
		{ IN("l\0\0\0\x07i\0"), "SETSYMLIST: macro list for an unknown stage" },
		{ IN("l\0\0"), "SETSYMLIST: macro list cut short" },
		{ IN("O\0\0\0\x06\0\0\0\0"), "option negotiation: shorter than 12 bytes" },
		{ IN("O\0\0\0\x06\0\0\0\0\0\0\0\0\0\0\0\x01i"),
		    "option negotiation: a macro list cut short" },
		{ IN("O\0\0\0\x06\0\0\0\0\0\0\0\0\0\0\0\x09i\0"),
		    "option negotiation: macro list for stage 9 unknown" },
		{ IN("O\0\0\0\x06\0\0\0\0\0\0\0\0\0\0\0\x01i\0\0\0\0\x01j\0"),
		    "option negotiation: macro list for stage 1 twice" },
	};
	struct milter_reply r;
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		if (decode(bad[i].in, bad[i].len, &r, err, sizeof(err)) != -1)
			fail_msg("case %zu decoded", i);
		if (strcmp(err, bad[i].why) != 0)
			fail_msg("case %zu: \"%s\"", i, err);
	}
}

/* ---- negotiation ---- */

static int
judge(const uint8_t *in, size_t len, struct milter_neg *neg, char *err, size_t errsize)
{
	struct milter_reply r;

	if (decode(in, len, &r, err, errsize) == -1)
		return -1;
	return milter_neg_judge(&r, MILTER_ACT_ALL, MILTER_P_OFFER, neg, err, errsize);
}

static void
test_negotiation(void **state)
{
	struct milter_neg neg;
	char err[256];

	(void)state;
	assert_int_equal(judge(IN("O\0\0\0\x06\0\0\x01\xff\0\x1f\xf7\xff"), &neg, err,
	    sizeof(err)), 0);
	assert_int_equal(neg.actions, MILTER_ACT_ALL);
	/* the default lists */
	assert_int_equal(neg.nmacros[MILTER_STAGE_DATA], 1);
	assert_string_equal(neg.macros[MILTER_STAGE_DATA][0], "i");
	assert_string_equal(neg.macros[MILTER_STAGE_MAIL][2], "{auth_authen}");
	assert_int_equal(judge(IN("O\0\0\0\x02\0\0\0\0\0\0\0\0"), &neg, err, sizeof(err)), 0);
	/* the filter's own lists, with spaces or commas */
	assert_int_equal(judge(IN("O\0\0\0\x06\0\0\x01\0\0\0\0\0"
	    "\0\0\0\x02 {auth_authen},{mail_addr}  i\0" "\0\0\0\x05\0"), &neg, err, sizeof(err)), 0);
	assert_int_equal(neg.nmacros[MILTER_STAGE_MAIL], 3);
	assert_string_equal(neg.macros[MILTER_STAGE_MAIL][1], "{mail_addr}");
	assert_int_equal(neg.nmacros[MILTER_STAGE_EOM], 0);

	static const struct { const uint8_t *in; size_t len; const char *why; } bad[] = {
		{ IN("O\0\0\0\x01\0\0\0\0\0\0\0\0"), "protocol version 1 (2 to 6 spoken)" },
		{ IN("O\0\0\0\x07\0\0\0\0\0\0\0\0"), "protocol version 7 (2 to 6 spoken)" },
		{ IN("O\0\0\0\x06\0\0\x02\0\0\0\0\0"),
		    "asks for actions 0x200 that were not offered (0x1ff)" },
		{ IN("O\0\0\0\x06\0\0\0\0\0\0\x08\0"),
		    "asks for protocol flags 0x800 that were not offered (0x1ff7ff)" },
		{ IN("O\0\0\0\x06\0\0\0\0\x10\0\0\0"),
		    "asks for protocol flags 0x10000000 that were not offered (0x1ff7ff)" },
		{ IN("O\0\0\0\x06\0\0\0\0\0\0\0\0\0\0\0\0"
		    "a b c d e f g h i j k l m n o p q r s t u v w x y z A B C D E F G\0"),
		    "more than 32 macros for stage 0" },
		{ IN("O\0\0\0\x06\0\0\0\0\0\0\0\0\0\0\0\0"
		    "{aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa}\0"),
		    "a macro name longer than 64 bytes" },
		{ IN("O\0\0\0\x06\0\0\0\0\0\0\0\0\0\0\0\0{i}\x01\0"),
		    "a macro name with a byte that is not printable" },
		{ IN("c"), "CONTINUE where option negotiation was due" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		if (judge(bad[i].in, bad[i].len, &neg, err, sizeof(err)) != -1)
			fail_msg("case %zu accepted", i);
		if (strcmp(err, bad[i].why) != 0)
			fail_msg("case %zu: \"%s\"", i, err);
	}
}

/* ---- a session ---- */

static const struct milter_limits lim = { 1000, 300, 5, 2 };

struct fixture {
	struct buf out;
	struct milter m;
	struct milter_reply r;
	uint8_t pkt[1024];
};

static void
fx_init(struct fixture *fx, const uint8_t *optneg, size_t len)
{
	struct milter_action act;

	memset(fx, 0, sizeof(*fx));
	buf_init(&fx->out, 1 << 20);
	milter_init(&fx->m, "f1", &lim, &fx->out);
	milter_open(&fx->m, &act);
	assert_int_equal(act.kind, MILTER_WAIT);
	assert_out(&fx->out, IN("\0\0\0\x0dO\0\0\0\x06\0\0\x01\xff\0\x1f\xf7\xff"));
	milter_set_macro(&fx->m, "j", "mx.test");
	milter_set_macro(&fx->m, "{client_addr}", "192.0.2.1");
	milter_set_macro(&fx->m, "i", "QID1");
	memcpy(fx->pkt, optneg, len);
	assert_int_equal(decode(fx->pkt, len, &fx->r, NULL, 0), 0);
	milter_input(&fx->m, &fx->r, &act);
	assert_int_equal(act.kind, MILTER_ANSWER);
}

static void
fx_clear(struct fixture *fx)
{
	milter_clear(&fx->m);
	buf_clear(&fx->out);
}

/* Feeds one reply (command byte first); returns the action. */
static struct milter_action
feed(struct fixture *fx, const uint8_t *in, size_t len)
{
	struct milter_action act;
	char err[256];

	memcpy(fx->pkt, in, len);
	if (decode(fx->pkt, len, &fx->r, err, sizeof(err)) == -1)
		fail_msg("%s", err);
	milter_input(&fx->m, &fx->r, &act);
	return act;
}

/* Every step, all replies, the default macro lists. */
#define ALL_STEPS IN("O\0\0\0\x06\0\0\x01\xff\0\0\0\0")

static void
test_session_steps(void **state)
{
	struct fixture fx;
	struct milter_action act;
	static const char *const mail[] = { "<a@b.test>" };

	(void)state;
	fx_init(&fx, ALL_STEPS);
	milter_connect(&fx.m, "client.test", '4', 2525, "192.0.2.1", &act);
	assert_int_equal(act.kind, MILTER_WAIT);
	/* the connect macros the caller set, in the list's order, then CONNECT */
	assert_out(&fx.out, IN("\0\0\0\x24" "DCj\0mx.test\0{client_addr}\0" "192.0.2.1\0"
	    "\0\0\0\x1a" "Cclient.test\0" "4\x09\xdd" "192.0.2.1\0"));
	act = feed(&fx, IN("c"));
	assert_int_equal(act.kind, MILTER_ANSWER);
	assert_int_equal(act.v.kind, VERDICT_ACCEPT);
	milter_helo(&fx.m, "c.test", &act);
	assert_out(&fx.out, IN("\0\0\0\x08" "Hc.test\0"));
	(void)feed(&fx, IN("c"));
	/* a command the server does not know, as the filter hears it; refused by it */
	milter_unknown(&fx.m, "XFOO bar", &act);
	assert_out(&fx.out, IN("\0\0\0\x0a" "UXFOO bar\0"));
	act = feed(&fx, IN("r"));
	assert_int_equal(act.v.kind, VERDICT_REJECT);
	milter_mail(&fx.m, mail, 1, &act);
	assert_out(&fx.out, IN("\0\0\0\x09" "DMi\0QID1\0" "\0\0\0\x0c" "M<a@b.test>\0"));
	act = feed(&fx, IN("p"));	/* PROGRESS: still waiting */
	assert_int_equal(act.kind, MILTER_WAIT);
	assert_true(act.is_progress);
	(void)feed(&fx, IN("c"));
	milter_rcpt(&fx.m, mail, 1, &act);
	buf_reset(&fx.out);
	act = feed(&fx, IN("y550 5.1.1 no such user\0"));	/* the recipient only */
	assert_int_equal(act.v.kind, VERDICT_REJECT);
	assert_int_equal(act.v.code, 550);
	assert_string_equal(act.v.dsn, "5.1.1");
	assert_string_equal(act.v.text, "no such user");
	assert_string_equal(act.v.rule, "milter:f1");
	milter_rcpt(&fx.m, mail, 1, &act);
	assert_int_equal(act.kind, MILTER_WAIT);
	(void)feed(&fx, IN("c"));
	milter_data(&fx.m, &act);
	assert_out(&fx.out, IN("\0\0\0\x09" "DRi\0QID1\0" "\0\0\0\x0c" "R<a@b.test>\0"
	    "\0\0\0\x09" "DTi\0QID1\0" "\0\0\0\x01T"));
	(void)feed(&fx, IN("c"));
	/* the space after the colon left out; folds as LF */
	milter_header(&fx.m, "Subject", (struct slice){ IN("  hi\r\n\tthere") }, &act);
	assert_out(&fx.out, IN("\0\0\0\x13" "LSubject\0hi\n\tthere\0"));
	(void)feed(&fx, IN("c"));
	milter_eoh(&fx.m, &act);
	assert_out(&fx.out, IN("\0\0\0\x09" "DNi\0QID1\0" "\0\0\0\x01N"));
	(void)feed(&fx, IN("c"));
	milter_body(&fx.m, IN("body\r\n"), &act);
	assert_out(&fx.out, IN("\0\0\0\x07" "Bbody\r\n"));
	(void)feed(&fx, IN("c"));
	milter_eom(&fx.m, &act);
	assert_out(&fx.out, IN("\0\0\0\x09" "DEi\0QID1\0" "\0\0\0\x01" "E"));
	act = feed(&fx, IN("hX-Spam\0no\0"));
	assert_int_equal(act.kind, MILTER_CHANGE);
	assert_int_equal(act.change->cmd, 'h');
	act = feed(&fx, IN("qheld\0"));
	assert_int_equal(act.kind, MILTER_CHANGE);
	act = feed(&fx, IN("a"));
	assert_int_equal(act.kind, MILTER_ANSWER);
	assert_int_equal(act.v.kind, VERDICT_ACCEPT);
	/* the message ended: no ABORT for it; a second one is aborted */
	milter_abort(&fx.m);
	assert_int_equal(fx.out.len, 0);
	milter_mail(&fx.m, mail, 1, &act);
	(void)feed(&fx, IN("c"));
	buf_reset(&fx.out);
	milter_abort(&fx.m);
	assert_out(&fx.out, IN("\0\0\0\x01" "A"));
	milter_quit(&fx.m, 0);
	assert_out(&fx.out, IN("\0\0\0\x01" "Q"));
	fx_clear(&fx);
}

static void
test_session_skips(void **state)
{
	struct fixture fx;
	struct milter_action act;
	static const char *const mail[] = { "<a@b.test>" };

	(void)state;
	/* no connect, no HELO; MAIL without a reply; headers with their space; SKIP allowed */
	fx_init(&fx, IN("O\0\0\0\x06\0\0\0\0\0\x10\x44\x03"));
	milter_connect(&fx.m, "client.test", '4', 25, "192.0.2.1", &act);
	assert_int_equal(act.kind, MILTER_ANSWER);
	milter_helo(&fx.m, "c.test", &act);
	assert_int_equal(act.kind, MILTER_ANSWER);
	assert_int_equal(fx.out.len, 0);
	milter_mail(&fx.m, mail, 1, &act);
	assert_int_equal(act.kind, MILTER_ANSWER);
	assert_out(&fx.out, IN("\0\0\0\x09" "DMi\0QID1\0" "\0\0\0\x0c" "M<a@b.test>\0"));
	milter_header(&fx.m, "Subject", (struct slice){ IN(" hi") }, &act);
	assert_out(&fx.out, IN("\0\0\0\x0d" "LSubject\0 hi\0"));
	(void)feed(&fx, IN("c"));
	milter_body(&fx.m, IN("x"), &act);
	buf_reset(&fx.out);
	act = feed(&fx, IN("s"));
	assert_int_equal(act.v.kind, VERDICT_ACCEPT);
	assert_true(milter_body_unwanted(&fx.m));
	milter_body(&fx.m, IN("y"), &act);
	assert_int_equal(act.kind, MILTER_ANSWER);
	assert_int_equal(fx.out.len, 0);
	/* a change the filter did not negotiate ends it */
	milter_eom(&fx.m, &act);
	act = feed(&fx, IN("hX\0y\0"));
	assert_int_equal(act.kind, MILTER_FAIL);
	assert_string_equal(act.why, "ADDHEADER without negotiating it");
	milter_mail(&fx.m, mail, 1, &act);
	assert_int_equal(act.kind, MILTER_FAIL);
	fx_clear(&fx);
}

static void
test_session_verdicts(void **state)
{
	struct fixture fx;
	struct milter_action act;
	static const char *const mail[] = { "<a@b.test>" };

	(void)state;
	/* a refused connection stays refused */
	fx_init(&fx, ALL_STEPS);
	milter_connect(&fx.m, "c", '4', 25, "192.0.2.1", &act);
	act = feed(&fx, IN("t"));
	assert_int_equal(act.v.kind, VERDICT_TEMPFAIL);
	assert_int_equal(act.v.code, 451);
	assert_string_equal(act.v.dsn, "4.7.1");
	buf_reset(&fx.out);
	milter_helo(&fx.m, "c.test", &act);
	assert_int_equal(act.kind, MILTER_ANSWER);
	assert_int_equal(act.v.kind, VERDICT_TEMPFAIL);
	milter_mail(&fx.m, mail, 1, &act);
	assert_int_equal(act.v.kind, VERDICT_TEMPFAIL);
	milter_abort(&fx.m);
	assert_int_equal(fx.out.len, 0);
	fx_clear(&fx);

	/* ACCEPT at HELO: the filter hears nothing more of the connection */
	fx_init(&fx, ALL_STEPS);
	milter_helo(&fx.m, "c.test", &act);
	act = feed(&fx, IN("a"));
	buf_reset(&fx.out);
	milter_mail(&fx.m, mail, 1, &act);
	assert_int_equal(act.kind, MILTER_ANSWER);
	assert_int_equal(fx.out.len, 0);
	milter_quit(&fx.m, 1);	/* QUIT_NC: a new connection follows */
	assert_out(&fx.out, IN("\0\0\0\x01" "K"));
	fx_clear(&fx);

	/* ACCEPT at MAIL: nothing more of this message, the next one is heard */
	fx_init(&fx, ALL_STEPS);
	milter_mail(&fx.m, mail, 1, &act);
	(void)feed(&fx, IN("a"));
	buf_reset(&fx.out);
	milter_rcpt(&fx.m, mail, 1, &act);
	milter_data(&fx.m, &act);
	milter_eom(&fx.m, &act);
	assert_int_equal(act.kind, MILTER_ANSWER);
	assert_int_equal(fx.out.len, 0);
	milter_mail(&fx.m, mail, 1, &act);
	assert_int_equal(act.kind, MILTER_WAIT);
	act = feed(&fx, IN("d"));
	assert_int_equal(act.v.kind, VERDICT_DISCARD);
	/* the message discarded at MAIL never ended: the next MAIL aborts it first */
	buf_reset(&fx.out);
	milter_mail(&fx.m, mail, 1, &act);
	assert_out(&fx.out, IN("\0\0\0\x01" "A" "\0\0\0\x09" "DMi\0QID1\0"
	    "\0\0\0\x0c" "M<a@b.test>\0"));
	fx_clear(&fx);

	/* DISCARD before a message, a change before the end, SHUTDOWN */
	fx_init(&fx, ALL_STEPS);
	milter_connect(&fx.m, "c", '4', 25, "192.0.2.1", &act);
	act = feed(&fx, IN("d"));
	assert_int_equal(act.kind, MILTER_FAIL);
	assert_string_equal(act.why, "DISCARD in reply to CONNECT, before any message");
	fx_clear(&fx);
	fx_init(&fx, ALL_STEPS);
	milter_data(&fx.m, &act);
	act = feed(&fx, IN("+x@y\0"));
	assert_int_equal(act.kind, MILTER_FAIL);
	assert_string_equal(act.why, "ADDRCPT before the end of the message");
	fx_clear(&fx);
	fx_init(&fx, ALL_STEPS);
	milter_mail(&fx.m, mail, 1, &act);
	act = feed(&fx, IN("4"));
	assert_int_equal(act.v.code, 421);
	milter_rcpt(&fx.m, mail, 1, &act);
	assert_int_equal(act.v.code, 421);
	fx_clear(&fx);
	fx_init(&fx, ALL_STEPS);
	milter_mail(&fx.m, mail, 1, &act);
	act = feed(&fx, IN("s"));
	assert_int_equal(act.kind, MILTER_FAIL);
	assert_string_equal(act.why, "SKIP where it was not allowed");
	fx_clear(&fx);
	/* a reply when none was due */
	fx_init(&fx, ALL_STEPS);
	act = feed(&fx, IN("c"));
	assert_int_equal(act.kind, MILTER_FAIL);
	assert_string_equal(act.why, "CONTINUE when no reply was due");
	fx_clear(&fx);
	/* an OPTNEG asking for what was not offered */
	memset(&fx, 0, sizeof(fx));
	buf_init(&fx.out, 1 << 20);
	milter_init(&fx.m, "f1", &lim, &fx.out);
	milter_open(&fx.m, &act);
	act = feed(&fx, IN("O\0\0\0\x06\0\0\0\0\0\0\x08\0"));
	assert_int_equal(act.kind, MILTER_FAIL);
	assert_string_equal(act.why, "option negotiation: asks for protocol flags 0x800 that "
	    "were not offered (0x1ff7ff)");
	fx_clear(&fx);
}

static void
test_session_limits(void **state)
{
	struct fixture fx;
	struct milter_action act;
	static uint8_t body[600];

	(void)state;
	body[0] = 'b';
	/* lim: body 1000 bytes, header fields 300 bytes, 5 changes, 2 recipients added */
	fx_init(&fx, ALL_STEPS);
	milter_eom(&fx.m, &act);
	assert_int_equal(feed(&fx, body, sizeof(body)).kind, MILTER_CHANGE);
	act = feed(&fx, body, sizeof(body));
	assert_int_equal(act.kind, MILTER_FAIL);
	assert_string_equal(act.why, "REPLBODY: a body larger than the message size limit");
	fx_clear(&fx);

	fx_init(&fx, ALL_STEPS);
	milter_eom(&fx.m, &act);
	assert_int_equal(feed(&fx, IN("+a@b\0")).kind, MILTER_CHANGE);
	assert_int_equal(feed(&fx, IN("2c@d\0\0")).kind, MILTER_CHANGE);
	act = feed(&fx, IN("+e@f\0"));
	assert_string_equal(act.why, "ADDRCPT: too many recipients added");
	fx_clear(&fx);

	fx_init(&fx, ALL_STEPS);
	milter_eom(&fx.m, &act);
	for (int i = 0; i < 5; i++)
		assert_int_equal(feed(&fx, IN("-a@b\0")).kind, MILTER_CHANGE);
	act = feed(&fx, IN("-a@b\0"));
	assert_string_equal(act.why, "DELRCPT: too many changes to one message");
	fx_clear(&fx);

	fx_init(&fx, ALL_STEPS);
	milter_eom(&fx.m, &act);
	{
		uint8_t h[200];

		memset(h, 'v', sizeof(h));
		memcpy(h, "hX\0", 3);
		h[sizeof(h) - 1] = 0;
		assert_int_equal(feed(&fx, h, sizeof(h)).kind, MILTER_CHANGE);
		act = feed(&fx, h, sizeof(h));
		assert_string_equal(act.why, "ADDHEADER: header fields past the limit");
	}
	fx_clear(&fx);

	/* SETSYMLIST: only when negotiated, and it changes a later stage's list */
	fx_init(&fx, ALL_STEPS);
	milter_data(&fx.m, &act);
	act = feed(&fx, IN("l\0\0\0\x05{j}\0"));
	assert_int_equal(act.kind, MILTER_WAIT);
	(void)feed(&fx, IN("c"));
	buf_reset(&fx.out);
	milter_eom(&fx.m, &act);
	assert_out(&fx.out, IN("\0\0\0\x0e" "DE{j}\0mx.test\0" "\0\0\0\x01" "E"));
	fx_clear(&fx);
	fx_init(&fx, IN("O\0\0\0\x06\0\0\0\0\0\0\0\0"));
	milter_data(&fx.m, &act);
	act = feed(&fx, IN("l\0\0\0\x05{j}\0"));
	assert_string_equal(act.why, "SETSYMLIST without negotiating it");
	fx_clear(&fx);
}

static void
test_macros(void **state)
{
	struct fixture fx;
	struct milter_action act;

	(void)state;
	/* the filter asks for {j} and {i}, and for a macro without a value */
	fx_init(&fx, IN("O\0\0\0\x06\0\0\x01\0\0\0\0\0" "\0\0\0\x04{j} i {nothing}\0"));
	milter_set_macro(&fx.m, "{i}", "QID2");	/* the same macro as "i" */
	milter_set_macro(&fx.m, "nothing", NULL);
	milter_data(&fx.m, &act);
	assert_out(&fx.out, IN("\0\0\0\x15" "DT{j}\0mx.test\0i\0QID2\0" "\0\0\0\x01T"));
	(void)feed(&fx, IN("c"));
	milter_set_macro(&fx.m, "j", NULL);
	milter_set_macro(&fx.m, "i", NULL);
	milter_eom(&fx.m, &act);
	assert_out(&fx.out, IN("\0\0\0\x01" "E"));
	fx_clear(&fx);
}

/* A message through to its end, its reply to the end of the message given. */
static void
whole_message(struct fixture *fx, const uint8_t *eom_reply, size_t len)
{
	static const char *const mail[] = { "<a@b.test>" };
	struct milter_action act;

	milter_mail(&fx->m, mail, 1, &act);
	(void)feed(fx, IN("c"));
	milter_rcpt(&fx->m, mail, 1, &act);
	(void)feed(fx, IN("c"));
	milter_eom(&fx->m, &act);
	act = feed(fx, eom_reply, len);
	assert_int_equal(act.kind, MILTER_ANSWER);
}

static void
test_reuse(void **state)
{
	static const char *const mail[] = { "<a@b.test>" };
	struct fixture fx;
	struct milter_action act;

	(void)state;
	/* CONTINUE at the end: QUIT_NC, the macros gone, the next connection from CONNECT */
	fx_init(&fx, ALL_STEPS);
	assert_false(milter_is_reusable(&fx.m));	/* no message yet: libmilter is at HELO */
	whole_message(&fx, IN("c"));
	assert_true(milter_is_reusable(&fx.m));
	buf_reset(&fx.out);
	milter_quit(&fx.m, 1);
	assert_out(&fx.out, IN("\0\0\0\x01" "K"));
	assert_int_equal(fx.m.nmacros, 0);
	assert_false(milter_is_reusable(&fx.m));
	milter_set_macro(&fx.m, "j", "mx2.test");
	milter_connect(&fx.m, "c", '4', 25, "192.0.2.2", &act);
	assert_int_equal(act.kind, MILTER_WAIT);
	assert_out(&fx.out, IN("\0\0\0\x0d" "DCj\0mx2.test\0"
	    "\0\0\0\x10" "Cc\0" "4\0\x19" "192.0.2.2\0"));
	(void)feed(&fx, IN("c"));
	fx_clear(&fx);

	/* ACCEPT at the end, a refusal, an ABORT after it, a step after it: not reusable */
	fx_init(&fx, ALL_STEPS);
	whole_message(&fx, IN("a"));
	assert_false(milter_is_reusable(&fx.m));
	whole_message(&fx, IN("r"));
	assert_false(milter_is_reusable(&fx.m));
	whole_message(&fx, IN("c"));
	milter_mail(&fx.m, mail, 1, &act);
	(void)feed(&fx, IN("c"));
	milter_abort(&fx.m);
	assert_false(milter_is_reusable(&fx.m));
	whole_message(&fx, IN("c"));
	milter_helo(&fx.m, "c.test", &act);
	(void)feed(&fx, IN("c"));
	assert_false(milter_is_reusable(&fx.m));
	fx_clear(&fx);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_commands),
		cmocka_unit_test(test_reader),
		cmocka_unit_test(test_replies_good),
		cmocka_unit_test(test_replies_bad),
		cmocka_unit_test(test_negotiation),
		cmocka_unit_test(test_session_steps),
		cmocka_unit_test(test_session_skips),
		cmocka_unit_test(test_session_verdicts),
		cmocka_unit_test(test_session_limits),
		cmocka_unit_test(test_macros),
		cmocka_unit_test(test_reuse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
