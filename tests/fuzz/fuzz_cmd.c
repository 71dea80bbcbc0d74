/*
 * fuzz_cmd.c - the command line parser as conn.c drives it: a pipelined
 * stream parsed line after line, an overlong line skipped through its LF.
 * Input layout: byte 0 picks where the stream is cut in two reads
 * (0..255 scaled over the length), the rest is the stream. The stream is
 * run whole and cut, with the real limit (512) and a small one (16) so that
 * overlong lines are common; whole and cut must give the same sequence of
 * results. Every result is checked against the contract in smtp.h, and
 * every MAIL/RCPT path is handed to the address parser.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtp/smtp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)	do { if (!(cond)) abort(); } while (0)

/* One result, with every slice as (offset from the line start, length). */
struct ev {
	enum smtp_parse r;
	size_t off, used;	/* used is 0 for TOO_LONG: it depends on what had arrived */
	enum smtp_verb verb;
	enum smtp_cmd_err err;
	int has_8bit;
	size_t nparams;
	size_t sl[4 + 2 * SMTP_MAX_PARAMS][2];
	int has_value[SMTP_MAX_PARAMS];
};

struct stream {
	struct ev *ev;
	size_t nev, cap;
	size_t start;
	int is_skipping;
};

static int
within(struct slice s, const uint8_t *lo, const uint8_t *hi)
{
	return s.len == 0 || (s.p >= lo && s.p + s.len <= hi);
}

static void
put_slice(struct ev *e, size_t i, struct slice s, const uint8_t *line)
{
	e->sl[i][0] = s.len ? (size_t)(s.p - line) : 0;
	e->sl[i][1] = s.len;
}

/* The contract of smtp_cmd_parse() for one call on in[0..len). */
static void
check_result(const uint8_t *in, size_t len, size_t max, enum smtp_parse r,
    const struct smtp_cmd *cmd, size_t used)
{
	const uint8_t *end;

	CHECK(used <= len);
	switch (r) {
	case SMTP_PARSE_MORE:
		CHECK(used == 0 && len < max);
		CHECK(memchr(in, '\n', len) == NULL);
		break;
	case SMTP_PARSE_TOO_LONG:
		CHECK(len >= max && len > 0);
		CHECK(memchr(in, '\n', max) == NULL);
		CHECK(used == len || in[used] == '\n');
		break;
	case SMTP_PARSE_OK:
	case SMTP_PARSE_BAD:
		CHECK(used > 0 && used <= max && in[used - 1] == '\n');
		CHECK(memchr(in, '\n', used - 1) == NULL);
		end = in + (used >= 2 ? used - 2 : 0);
		if (r == SMTP_PARSE_OK) {
			CHECK(used >= 2 && in[used - 2] == '\r' && cmd->err == SMTP_ERR_NONE);
			/* an accepted line holds no NUL and no other CR */
			CHECK(memchr(in, '\0', used) == NULL);
			CHECK(memchr(in, '\r', used - 2) == NULL);
		} else
			CHECK(cmd->err != SMTP_ERR_NONE);
		CHECK(within(cmd->verb_text, in, end) && within(cmd->arg, in, end) &&
		    within(cmd->path, in, end));
		CHECK(cmd->nparams <= SMTP_MAX_PARAMS);
		for (size_t i = 0; i < cmd->nparams; i++) {
			CHECK(cmd->params[i].key.len > 0);
			CHECK(within(cmd->params[i].key, in, end));
			CHECK(within(cmd->params[i].value, in, end));
			CHECK(cmd->params[i].has_value || cmd->params[i].value.len == 0);
		}
		if (r == SMTP_PARSE_OK && cmd->verb != SMTP_CMD_MAIL && cmd->verb != SMTP_CMD_RCPT)
			CHECK(cmd->path.len == 0 && cmd->nparams == 0);
		CHECK(smtp_verb_name(cmd->verb) != NULL);
		break;
	default:
		abort();
	}
}

static void
record(struct stream *s, enum smtp_parse r, const uint8_t *line, const struct smtp_cmd *cmd,
    size_t used)
{
	struct ev *e;

	if (s->nev == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 16;
		s->ev = realloc(s->ev, s->cap * sizeof(*s->ev));
		CHECK(s->ev != NULL);
	}
	e = &s->ev[s->nev++];
	memset(e, 0, sizeof(*e));
	e->r = r;
	e->off = s->start;
	if (r == SMTP_PARSE_TOO_LONG)
		return;
	e->used = used;
	e->verb = cmd->verb;
	e->err = cmd->err;
	e->has_8bit = cmd->has_8bit;
	e->nparams = cmd->nparams;
	put_slice(e, 0, cmd->verb_text, line);
	put_slice(e, 1, cmd->arg, line);
	put_slice(e, 2, cmd->path, line);
	for (size_t i = 0; i < cmd->nparams; i++) {
		put_slice(e, 4 + 2 * i, cmd->params[i].key, line);
		put_slice(e, 5 + 2 * i, cmd->params[i].value, line);
		e->has_value[i] = cmd->params[i].has_value;
	}
}

/* What has arrived so far is in[0..avail), in an exact-size copy. */
static void
feed(struct stream *s, const uint8_t *in, size_t avail, size_t max)
{
	uint8_t *copy = malloc(avail ? avail : 1);

	CHECK(copy != NULL);
	if (avail)
		memcpy(copy, in, avail);
	for (;;) {
		struct smtp_cmd cmd;
		enum smtp_parse r;
		size_t used;

		if (s->is_skipping) {
			const uint8_t *lf = avail > s->start ?
			    memchr(copy + s->start, '\n', avail - s->start) : NULL;

			if (lf == NULL) {
				s->start = avail;
				break;
			}
			s->start = (size_t)(lf - copy) + 1;
			s->is_skipping = 0;
		}
		r = smtp_cmd_parse(copy + s->start, avail - s->start, max, &cmd, &used);
		check_result(copy + s->start, avail - s->start, max, r, &cmd, used);
		if (r == SMTP_PARSE_MORE)
			break;
		record(s, r, copy + s->start, &cmd, used);
		if (r == SMTP_PARSE_OK && (cmd.verb == SMTP_CMD_MAIL || cmd.verb == SMTP_CMD_RCPT)) {
			struct smtp_addr a;

			(void)smtp_addr_parse(cmd.path, 0, &a);
			(void)smtp_addr_parse(cmd.path, 1, &a);
		}
		s->start += used;
		if (r == SMTP_PARSE_TOO_LONG)
			s->is_skipping = 1;
	}
	free(copy);
}

static void
run(struct stream *s, const uint8_t *in, size_t len, size_t max, size_t cut)
{
	memset(s, 0, sizeof(*s));
	if (cut > 0 && cut < len)
		feed(s, in, cut, max);
	feed(s, in, len, max);
}

static void
same(const struct stream *a, const struct stream *b)
{
	CHECK(a->nev == b->nev && a->start == b->start && a->is_skipping == b->is_skipping);
	for (size_t i = 0; i < a->nev; i++)
		CHECK(memcmp(&a->ev[i], &b->ev[i], sizeof(a->ev[i])) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t limits[] = { 512, 16 };
	const uint8_t *in;
	size_t len, cut;

	if (size < 1)
		return 0;
	in = data + 1;
	len = size - 1;
	cut = (size_t)data[0] * len / 255;
	for (size_t i = 0; i < sizeof(limits) / sizeof(limits[0]); i++) {
		struct stream whole, split;

		run(&whole, in, len, limits[i], 0);
		run(&split, in, len, limits[i], cut);
		same(&whole, &split);
		free(whole.ev);
		free(split.ev);
	}
	return 0;
}
