/*
 * fuzz_milter.c - what a milter filter sends, which may be anything: the
 * packet reader, the decoder and a filter's session. Byte 0 picks a split
 * point; the rest is read as packets until it ends or one is bad, once
 * whole and once split at byte 0's point: both runs must see the same
 * packets. Each packet is decoded; a decoded reply is checked: header
 * names of printable ASCII without ':', values whose line breaks fold,
 * addresses of one token, reply codes 4xx or 5xx with a status of their
 * class and text without CR or LF. Then the packets drive a session as
 * the driver does (the first is the negotiation; then connect, HELO, MAIL,
 * RCPT, DATA, a header, the end of the header, a body chunk, the end, each
 * step waiting for its replies), checking that changes come only at the
 * end of the message, that every verdict is well formed, and that
 * everything the session sends is whole packets.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "milter/proto.h"
#include "milter/session.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)	do { if (!(cond)) abort(); } while (0)
#define MAX_PACKETS 64

struct run {
	uint8_t cmd[MAX_PACKETS];
	uint8_t *data[MAX_PACKETS];
	size_t len[MAX_PACKETS];
	size_t n;
	int is_bad;
};

static void
read_all(const uint8_t *in, size_t len, size_t cut, struct run *out)
{
	struct milter_reader rd;
	size_t at = 0, end = cut;
	char err[256];

	memset(out, 0, sizeof(*out));
	milter_reader_init(&rd);
	while (out->n < MAX_PACKETS) {
		struct milter_packet p;
		size_t used = 0;
		enum milter_parse r = milter_reader_feed(&rd, in + at, end - at, &used, &p, err,
		    sizeof(err));

		CHECK(used <= end - at);
		at += used;
		if (r == MILTER_PARSE_BAD) {
			out->is_bad = 1;
			break;
		}
		if (r == MILTER_PARSE_OK) {
			CHECK(p.data.len < MILTER_MAX_REPLY);
			out->cmd[out->n] = p.cmd;
			out->len[out->n] = p.data.len;
			out->data[out->n] = malloc(p.data.len + 1);
			memcpy(out->data[out->n], p.data.p, p.data.len);
			out->n++;
			continue;
		}
		CHECK(at == end);
		if (end == len)
			break;
		end = len;
	}
	milter_reader_clear(&rd);
}

static void
free_run(struct run *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->data[i]);
}

static void
check_reply(const struct milter_reply *r)
{
	switch (r->cmd) {
	case MILTER_REP_ADDHEADER: case MILTER_REP_INSHEADER: case MILTER_REP_CHGHEADER:
		CHECK(r->name.len > 0 && memchr(r->name.p, ':', r->name.len) == NULL);
		for (size_t i = 0; i < r->name.len; i++)
			CHECK(r->name.p[i] > 0x20 && r->name.p[i] < 0x7f);
		for (size_t i = 0; i < r->value.len; i++)
			if (r->value.p[i] == '\n')
				CHECK(i + 1 < r->value.len &&
				    (r->value.p[i + 1] == ' ' || r->value.p[i + 1] == '\t'));
		break;
	case MILTER_REP_ADDRCPT: case MILTER_REP_DELRCPT: case MILTER_REP_ADDRCPT_PAR:
	case MILTER_REP_CHGFROM:
		for (size_t i = 0; i < r->addr.len; i++)
			CHECK(r->addr.p[i] > 0x20 && r->addr.p[i] != 0x7f);
		break;
	case MILTER_REP_REPLYCODE: {
		size_t n = strnlen(r->text, sizeof(r->text));

		CHECK(r->code >= 400 && r->code <= 599);
		CHECK(n < sizeof(r->text));
		CHECK(memchr(r->text, '\r', n) == NULL && memchr(r->text, '\n', n) == NULL);
		if (r->dsn[0] != '\0')
			CHECK(r->dsn[0] == '0' + r->code / 100);
		break;
	}
	default:
		break;
	}
}

/* What the session appended: whole packets, each within its length. */
static void
check_sent(struct buf *out)
{
	size_t at = 0;

	while (at < out->len) {
		uint32_t n;

		CHECK(out->len - at >= 5);
		n = (uint32_t)out->data[at] << 24 | (uint32_t)out->data[at + 1] << 16 |
		    (uint32_t)out->data[at + 2] << 8 | out->data[at + 3];
		CHECK(n >= 1 && n <= out->len - at - 4);
		at += 4 + n;
	}
	buf_reset(out);
}

static void
check_verdict(const struct verdict *v)
{
	if (v->kind == VERDICT_REJECT)
		CHECK(v->code >= 500 && v->code <= 599);
	if (v->kind == VERDICT_TEMPFAIL)
		CHECK(v->code >= 400 && v->code <= 499);
	CHECK(strchr(v->text, '\r') == NULL && strchr(v->text, '\n') == NULL);
}

static void
drive(const struct run *run)
{
	static const struct milter_limits lim = { 4096, 4096, 16, 4 };
	static const char *const path[] = { "<a@b.test>", "SIZE=10" };
	struct milter m;
	struct milter_action act;
	struct buf out;
	size_t next = 0;
	int step = 0;
	char err[256];

	buf_init(&out, 1 << 20);
	milter_init(&m, "fuzz", &lim, &out);
	milter_set_macro(&m, "j", "mx.test");
	milter_set_macro(&m, "i", "QID");
	milter_open(&m, &act);
	while (next < run->n) {
		struct milter_packet p = { run->cmd[next], { run->data[next], run->len[next] } };
		struct milter_reply r;

		next++;
		check_sent(&out);
		if (milter_reply_decode(&p, &r, err, sizeof(err)) == -1)
			break;
		check_reply(&r);
		milter_input(&m, &r, &act);
		if (act.kind == MILTER_FAIL)
			break;
		if (act.kind == MILTER_CHANGE)
			CHECK(step == 9);
		if (act.kind != MILTER_ANSWER)
			continue;
		check_verdict(&act.v);
		/* the next step that waits for a reply */
		do {
			switch (step++) {
			case 0: milter_connect(&m, "c.test", '4', 25, "192.0.2.1", &act); break;
			case 1: milter_helo(&m, "c.test", &act); break;
			case 2: milter_mail(&m, path, 2, &act); break;
			case 3: milter_rcpt(&m, path, 1, &act); break;
			case 4: milter_data(&m, &act); break;
			case 5: milter_header(&m, "Subject", slice_str(" a\r\n b"), &act); break;
			case 6: milter_eoh(&m, &act); break;
			case 7: milter_body(&m, (const uint8_t *)"x\r\n", 3, &act); break;
			case 8: milter_eom(&m, &act); break;
			default: milter_abort(&m); milter_quit(&m, 0); goto out;
			}
			if (act.kind == MILTER_ANSWER)
				check_verdict(&act.v);
		} while (act.kind == MILTER_ANSWER);
		if (act.kind == MILTER_FAIL)
			break;
	}
out:
	check_sent(&out);
	milter_clear(&m);
	buf_clear(&out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct run whole, split;
	size_t cut;

	if (size < 1)
		return 0;
	cut = data[0];
	data++;
	size--;
	if (cut > size)
		cut = size;
	read_all(data, size, size, &whole);
	read_all(data, size, cut, &split);
	CHECK(whole.n == split.n && whole.is_bad == split.is_bad);
	for (size_t i = 0; i < whole.n; i++)
		CHECK(whole.cmd[i] == split.cmd[i] && whole.len[i] == split.len[i] &&
		    memcmp(whole.data[i], split.data[i], whole.len[i]) == 0);
	drive(&whole);
	free_run(&whole);
	free_run(&split);
	return 0;
}
