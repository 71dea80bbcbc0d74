/*
 * fuzz_session.c - the SMTP session state machine driven as conn.c drives
 * it: the input is what a client sends, cut into lines by the command
 * parser and into a message by the DATA reader; every action the session
 * asks for is answered at once (STARTTLS succeeds or fails, commits
 * succeed, fail or meet a mail loop, by the bits of byte 0; policy's
 * verdicts turn through every kind, see answer()). Checked: the
 * session's state assertions hold, every reply line is "ddd" then " " or
 * "-" and ends in CRLF, and a session that asked to close says nothing more.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtp/session.h"
#include "smtp/smtp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)	do { if (!(cond)) abort(); } while (0)

static unsigned nqid;

static void
txn_begin(void *ctx, char out[QID_LEN + 1])
{
	(void)ctx;
	for (int i = QID_LEN - 1; i >= 0; i--)
		out[i] = "0123456789"[(nqid >> (i % 8)) % 10];
	out[QID_LEN] = '\0';
	nqid++;
}

static int
has_room(void *ctx, uint64_t size)
{
	(void)ctx;
	return size < 1000000;
}

/* Every reply line well-formed; the buffer emptied as conn.c empties it. */
static void
check_output(struct smtp_session *s)
{
	struct buf *out = smtp_session_output(s);
	size_t i = 0;

	while (i < out->len) {
		const uint8_t *nl = memchr(out->data + i, '\n', out->len - i);
		size_t n;

		CHECK(nl != NULL);
		n = (size_t)(nl - (out->data + i)) + 1;
		CHECK(n >= 6 && out->data[i + n - 2] == '\r');
		for (size_t k = 0; k < 3; k++)
			CHECK(out->data[i + k] >= '0' && out->data[i + k] <= '9');
		CHECK(out->data[i + 3] == ' ' || out->data[i + 3] == '-' || out->data[i + 3] == '\r');
		for (size_t k = 0; k + 2 < n; k++)
			CHECK(out->data[i + k] != '\r' && out->data[i + k] != '\n' && out->data[i + k] != 0);
		i += n;
	}
	buf_reset(out);
}

/*
 * Policy's answers, driven by the input: which verdict each question gets
 * turns with the question's number and byte 0, so every stage meets every
 * kind (accept, reject, tempfail, a 421, discard, a held-back reject).
 * A question carries what its stage promises.
 */
static enum smtp_act
answer(struct smtp_session *s, enum smtp_act a, unsigned bits, unsigned *nq)
{
	while (a == SMTP_ACT_ASK) {
		const struct smtp_ask *q = smtp_session_ask(s);
		struct verdict v;

		CHECK((q->stage == SMTP_STAGE_AUTH) == (q->creds != NULL));
		CHECK((q->stage == SMTP_STAGE_RCPT) == (q->rcpt != NULL));
		CHECK(q->stage != SMTP_STAGE_MAIL || q->sender != NULL);
		switch ((bits >> 6) + (*nq)++ % 7) {
		case 1:
			verdict_set(&v, VERDICT_REJECT, 550, "5.7.1", "fuzz", "Refused \r\n by rule");
			break;
		case 2:
			verdict_set(&v, VERDICT_TEMPFAIL, 450, "4.7.1", "fuzz", "Later");
			break;
		case 3:
			verdict_set(&v, VERDICT_TEMPFAIL, 421, "4.7.0", "fuzz", "Go away");
			break;
		case 4:
			verdict_set(&v, VERDICT_DISCARD, 0, "", "fuzz", "dropped");
			break;
		case 5:
			verdict_set(&v, VERDICT_REJECT, 535, "5.7.8", "fuzz", "Bad");
			v.delay_ms = 10;
			break;
		default:
			verdict_accept(&v);
			break;
		}
		check_output(s);
		a = smtp_session_answer(s, &v);
	}
	return a;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct smtp_hooks hooks = { .txn_begin = txn_begin, .has_room = has_room };
	struct smtp_session_conf conf = {
		.hostname = "mx.example.test", .max_line_bytes = 512, .max_text_line_bytes = 1000,
		.max_message_bytes = 100000, .max_recipients = 5, .max_errors = 50,
		.max_auth_failures = 3,
	};
	struct smtp_session *s;
	unsigned bits, nq = 0;
	size_t at = 1;
	enum smtp_act a;

	if (size < 1)
		return 0;
	bits = data[0];
	conf.offers_starttls = bits & 1;
	conf.is_auth_offered = (bits >> 1) & 1;
	conf.is_auth_tls_only = (bits >> 2) & 1;
	conf.is_auth_required = (bits >> 3) & 1;
	s = smtp_session_new(&conf, &hooks, "c1", "192.0.2.1");
	smtp_session_set_client(s, "192.0.2.2", (bits >> 4) & 1);
	a = answer(s, smtp_session_start(s, SMTP_START_GREET), bits, &nq);
	check_output(s);
	while (a != SMTP_ACT_CLOSE && at < size) {
		struct smtp_cmd cmd;
		size_t used = 0;
		enum smtp_parse r = smtp_cmd_parse(data + at, size - at, conf.max_line_bytes, &cmd, &used);

		if (r == SMTP_PARSE_MORE)
			break;
		CHECK(used > 0 && used <= size - at);
		a = answer(s, smtp_session_line(s, r, &cmd, at + used < size), bits, &nq);
		at += used;
		check_output(s);
		if (a == SMTP_ACT_STARTTLS) {
			a = smtp_session_starttls_ready(s, (bits >> 5) & 1);
			if (a == SMTP_ACT_HANDSHAKE)
				smtp_session_tls_started(s, "TLSv1.3", "TLS_AES_128_GCM_SHA256");
		} else if (a == SMTP_ACT_DATA) {
			struct dotdata dd;
			uint8_t *out = malloc(size - at + DOTDATA_HELD_MAX + 1);
			size_t out_len = 0;
			int is_end = 0;

			CHECK(out != NULL);
			dotdata_init(&dd, conf.max_text_line_bytes);
			at += dotdata_feed(&dd, data + at, size - at, out, &out_len, &is_end);
			free(out);
			if (!is_end)
				break;	/* the input ended inside the message */
			a = answer(s, smtp_session_data_end(s, dd.flags, dd.body_bytes), bits, &nq);
			if (a == SMTP_ACT_COMMIT) {
				check_output(s);
				a = (bits >> 7) & 1 ?
				    smtp_session_refused(s, 554, "5.4.6", "too many hops", NULL, 0) :
				    smtp_session_committed(s, at % 3 == 0 ? SMTP_COMMIT_IOERR :
				    SMTP_COMMIT_OK);
			}
		}
		if (a == SMTP_ACT_WAIT) {
			check_output(s);
			a = smtp_session_wait_over(s);
		}
		check_output(s);
	}
	if (a == SMTP_ACT_CLOSE) {
		/* closing: whatever else comes gets no answer */
		struct smtp_cmd cmd;
		size_t used = 0;

		enum smtp_parse r = at < size ? smtp_cmd_parse(data + at, size - at,
		    conf.max_line_bytes, &cmd, &used) : SMTP_PARSE_MORE;

		if (r != SMTP_PARSE_MORE) {
			CHECK(smtp_session_line(s, r, &cmd, 0) == SMTP_ACT_CLOSE);
			CHECK(smtp_session_output(s)->len == 0);
		}
	}
	smtp_session_free(&s);
	return 0;
}
