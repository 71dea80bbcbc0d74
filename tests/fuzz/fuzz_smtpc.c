/*
 * fuzz_smtpc.c - the SMTP client, reader and state machine, against what a
 * remote server says, which may be anything. Byte 0 picks a split point,
 * byte 1 the session: SMTP or LMTP, the TLS policy, AUTH, the number of
 * recipients, SMTPUTF8. The rest is read as replies until it ends or a
 * reply is bad, once whole and once split at byte 0's point; both runs
 * must see the same replies. Checked for each reply: a code from 200 to
 * 599, an enhanced status that is empty or "D.D.D" of its class, text
 * within SMTPC_TEXT with no CR, LF or NUL.
 * Then the replies drive a session as the outbound client drives it
 * (smtp_client_io.c: TLS and the body "happen" when asked, two messages,
 * then QUIT), and the input's
 * end is the connection's. Checked: every command is one CRLF-ended line,
 * LMTP never says EHLO or HELO and SMTP never LHLO, and every transaction
 * ends consistent: each result is no answer (0) or a 2xx, 4xx or 5xx, and
 * is_sent says exactly whether some recipient's result is a delivery.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "deliver/smtpc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)	do { if (!(cond)) abort(); } while (0)
#define MAX_REPLIES 64
#define MAX_RCPTS 8

/* byte 1 */
enum {
	F_LMTP = 1 << 0,
	F_TLS_ALLOWED = 1 << 1,
	F_TLS_REQUIRED = 1 << 2,
	F_AUTH = 1 << 3,
	F_SMTPUTF8 = 1 << 7,
};
#define NRCPTS(flags) ((((flags) >> 4) & 7) + 1)

struct run {
	struct smtpc_reply r[MAX_REPLIES];
	size_t n;
	int is_bad;
};

static void
check_reply(const struct smtpc_reply *r)
{
	size_t len = strnlen(r->text, sizeof(r->text));

	CHECK(r->code >= 200 && r->code <= 599);
	CHECK(len < sizeof(r->text));
	CHECK(memchr(r->text, '\r', len) == NULL && memchr(r->text, '\n', len) == NULL);
	CHECK(strnlen(r->status, sizeof(r->status)) < sizeof(r->status));
	if (r->status[0] != '\0')
		CHECK(r->status[0] == '0' + r->code / 100 && r->status[1] == '.');
}

/* Reads in[0..len) in the pieces [0, cut) and [cut, len). */
static void
read_all(const uint8_t *in, size_t len, size_t cut, struct run *out)
{
	struct smtpc_reader rd;
	size_t at = 0, end = cut;

	memset(out, 0, sizeof(*out));
	smtpc_reader_init(&rd);
	while (out->n < MAX_REPLIES) {
		size_t used = 0;
		enum smtpc_parse p = smtpc_reader_feed(&rd, in + at, end - at, &used,
		    &out->r[out->n]);

		CHECK(used <= end - at);
		at += used;
		if (p == SMTPC_PARSE_BAD) {
			out->is_bad = 1;
			break;
		}
		if (p == SMTPC_PARSE_OK) {
			check_reply(&out->r[out->n++]);
			continue;
		}
		CHECK(at == end);	/* MORE takes every byte */
		if (end == len)
			break;
		end = len;
	}
	smtpc_reader_clear(&rd);
}

/* What the session sent since the last look: whole lines, and the greeting of its protocol. */
static void
check_sent(struct buf *out, int is_lmtp)
{
	size_t start = 0;

	while (start < out->len) {
		const uint8_t *lf = memchr(out->data + start, '\n', out->len - start);
		size_t n;

		CHECK(lf != NULL);
		n = (size_t)(lf - (out->data + start)) + 1;
		CHECK(n >= 2 && out->data[start + n - 2] == '\r');
		CHECK(memchr(out->data + start, '\r', n - 2) == NULL);
		if (n >= 5 && is_lmtp)
			CHECK(memcmp(out->data + start, "EHLO ", 5) != 0 &&
			    memcmp(out->data + start, "HELO ", 5) != 0);
		else if (n >= 5)
			CHECK(memcmp(out->data + start, "LHLO ", 5) != 0);
		start += n;
	}
	buf_reset(out);
}

/* A transaction that has ended, whichever way. */
static void
check_txn(const struct smtpc_txn *t)
{
	int any_delivered = 0;

	for (size_t i = 0; i < t->nrcpts; i++) {
		int cls = t->results[i].code / 100;

		CHECK(t->results[i].code == 0 || cls == 2 || cls == 4 || cls == 5);
		any_delivered |= cls == 2;
	}
	CHECK(t->is_sent == any_delivered);
}

static void
drive(const struct run *run, unsigned flags)
{
	static const char *const rcpts[MAX_RCPTS] = { "a@x.test", "b@x.test", "c@x.test",
		"d@x.test", "e@x.test", "f@x.test", "g@x.test", "h@x.test" };
	struct smtpc_result results[MAX_RCPTS];
	struct smtpc_txn t = { "s@y.test", rcpts, NRCPTS(flags), 1000, 1, !!(flags & F_SMTPUTF8),
		results, { 0 }, 0 };
	struct smtpc_conf conf = { "out.test", !!(flags & F_TLS_ALLOWED),
		!!(flags & F_TLS_REQUIRED), NULL, NULL, NULL, !!(flags & F_LMTP) };
	struct smtpc c;
	struct buf out;
	int in_txn = 0, ntxn = 0;

	if (flags & F_AUTH) {
		conf.auth_plain_b64 = "AHUAcA==";
		conf.auth_user_b64 = "dQ==";
		conf.auth_pass_b64 = "cA==";
	}
	buf_init(&out, 64 * 1024);
	smtpc_init(&c, &conf, &out);
	for (size_t i = 0; i < run->n; i++) {
		struct smtpc_action act;

		smtpc_input(&c, &run->r[i], &act);
		check_sent(&out, conf.is_lmtp);
		if (act.is_txn_done) {
			CHECK(in_txn);
			check_txn(&t);
			in_txn = 0;
		}
		if (act.is_failed || act.is_closed) {
			if (in_txn)
				check_txn(&t);	/* what a failure leaves is final too */
			in_txn = 0;
			break;
		}
		if (act.want_tls)
			smtpc_tls_ready(&c);
		if (act.want_body)
			smtpc_body_sent(&c);
		/* an immediate verdict (SIZE, SMTPUTF8) leaves the session ready: go on */
		while (act.is_ready && !in_txn && ntxn < 2) {
			ntxn++;
			in_txn = 1;
			smtpc_begin(&c, &t, &act);
			if (act.is_txn_done) {
				check_txn(&t);
				in_txn = 0;
			}
		}
		if (act.is_ready && !in_txn && ntxn == 2)
			smtpc_quit(&c);
		check_sent(&out, conf.is_lmtp);
	}
	/* the input ends: the connection is gone */
	smtpc_lost(&c);
	if (in_txn)
		check_txn(&t);
	buf_clear(&out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct run whole, split;
	size_t cut;
	unsigned flags;

	if (size < 2)
		return 0;
	cut = data[0];
	flags = data[1];
	data += 2;
	size -= 2;
	if (cut > size)
		cut = size;
	read_all(data, size, size, &whole);
	read_all(data, size, cut, &split);
	CHECK(whole.n == split.n && whole.is_bad == split.is_bad);
	for (size_t i = 0; i < whole.n; i++)
		CHECK(memcmp(&whole.r[i], &split.r[i], sizeof(whole.r[i])) == 0);
	drive(&whole, flags);
	return 0;
}
