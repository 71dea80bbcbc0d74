/*
 * fuzz_control.c - libFuzzer target for the control protocol's request
 * reader (src/control/proto.c). The input is what a client sends: it is
 * cut into lines as the daemon cuts it, once whole and once in two reads
 * split at a point the input chooses (the verdicts must agree), and each
 * line is parsed. A request that parses is built again as the client
 * builds it (ctl_req_new), printed, and must read back as the same
 * request; a refused one must say why with a known code. Any violation
 * aborts.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/control.h"
#include "util/buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) \
	do { \
		if (!(cond)) { \
			fprintf(stderr, "fuzz_control.c:%d: %s\n", __LINE__, #cond); \
			abort(); \
		} \
	} while (0)

static int
same(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static int
to_buf(const char *p, size_t n, void *ctx)
{
	return buf_append(ctx, p, n);
}

/* A parsed request, printed as the client prints one, reads back the same. */
static void
round_trip(const struct ctl_req *r)
{
	struct buf b;
	struct ctl_req again;
	char why[256];
	json_t *j;

	if (r->kind == CTL_STATUS)
		j = ctl_req_new("status", NULL, 0);
	else
		j = ctl_req_new(ctl_req_op_name(r), &r->qf.f, r->is_all);
	buf_init(&b, 1 << 20);
	CHECK(ctl_json_line(j, to_buf, &b) == 0);
	json_decref(j);
	CHECK(b.len > 0 && b.data[b.len - 1] == '\n');
	CHECK(ctl_req_parse(b.data, b.len - 1, &again, why, sizeof(why)) == CTL_ERR_NONE);
	CHECK(again.kind == r->kind && again.is_all == r->is_all);
	CHECK(r->kind != CTL_APPLY || again.op == r->op);
	CHECK(again.qf.f.states == r->qf.f.states && again.qf.f.min_age_s == r->qf.f.min_age_s &&
	    again.qf.f.max_age_s == r->qf.f.max_age_s);
	CHECK(same(again.qf.f.qid, r->qf.f.qid) && same(again.qf.f.sender, r->qf.f.sender) &&
	    same(again.qf.f.rcpt, r->qf.f.rcpt) && same(again.qf.f.domain, r->qf.f.domain));
	ctl_req_clear(&again);
	buf_clear(&b);
}

static void
one_line(const uint8_t *p, size_t len)
{
	struct ctl_req r;
	char why[256];
	enum ctl_err e = ctl_req_parse(p, len, &r, why, sizeof(why));

	if (e == CTL_ERR_NONE) {
		round_trip(&r);
		ctl_req_clear(&r);
		return;
	}
	CHECK(e > CTL_ERR_NONE && e < CTL_NERRS && why[0] != '\0');
	CHECK(ctl_err_code(e)[0] != '\0');
}

/* The lines of in[0..n) as the daemon takes them: returns how many bytes it used. */
static size_t
take_lines(const uint8_t *in, size_t n, int *is_too_long)
{
	size_t used = 0, len;

	*is_too_long = 0;
	for (;;) {
		switch (ctl_line_find(in + used, n - used, &len)) {
		case CTL_LINE_MORE:
			return used;
		case CTL_LINE_TOO_LONG:
			*is_too_long = 1;
			return used;
		case CTL_LINE_OK:
			CHECK(len < CTL_MAX_LINE && in[used + len] == '\n');
			CHECK(memchr(in + used, '\n', len) == NULL);
			one_line(in + used, len);
			used += len + 1;
			break;
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t cut, whole, first, second;
	int whole_long, first_long, second_long;

	if (size < 2)
		return 0;
	cut = (data[0] | (size_t)data[1] << 8) % (size - 1);
	data += 2;
	size -= 2;
	whole = take_lines(data, size, &whole_long);
	/* the same bytes in two reads: the first, then what it left with the rest */
	first = take_lines(data, cut, &first_long);
	if (first_long) {
		CHECK(whole_long && whole == first);
		return 0;
	}
	second = take_lines(data + first, size - first, &second_long);
	CHECK(first + second == whole && second_long == whole_long);
	return 0;
}
