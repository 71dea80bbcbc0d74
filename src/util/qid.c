/*
 * qid.c - time-ordered queue ids.
 */
#include "qid.h"

#include <string.h>

/* Crockford's base32: no I, L, O, U, in ASCII order */
static const char alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

static void
encode(uint64_t v, char out[QID_LEN + 1])
{
	/* 13 digits of 5 bits hold 65 bits: the first digit carries only 4 */
	for (int i = QID_LEN - 1; i >= 0; i--) {
		out[i] = alphabet[v & 31];
		v >>= 5;
	}
	out[QID_LEN] = '\0';
}

static int
decode(const char *s, size_t len, uint64_t *out)
{
	uint64_t v = 0;

	if (len != QID_LEN)
		return -1;
	for (size_t i = 0; i < len; i++) {
		const char *p = s[i] ? strchr(alphabet, s[i]) : NULL;

		if (p == NULL || (i == 0 && p - alphabet > 15))
			return -1;
		v = (v << 5) | (uint64_t)(p - alphabet);
	}
	*out = v;
	return 0;
}

void
qid_next(struct qid_gen *g, uint64_t now_us, char out[QID_LEN + 1])
{
	uint64_t want = (now_us & ((1ull << 52) - 1)) << 12;
	uint64_t last = atomic_load(&g->last), v;

	/* a clock that stepped back, or many ids in one microsecond, still count up */
	do
		v = want > last ? want : last + 1;
	while (!atomic_compare_exchange_weak(&g->last, &last, v));
	encode(v, out);
}

int
qid_seen(struct qid_gen *g, const char *s)
{
	uint64_t v, last;

	if (decode(s, strlen(s), &v) == -1)
		return -1;
	last = atomic_load(&g->last);
	while (v > last && !atomic_compare_exchange_weak(&g->last, &last, v))
		;
	return 0;
}

int
qid_valid(const char *s, size_t len)
{
	uint64_t v;

	return decode(s, len, &v) == 0;
}

uint64_t
qid_time_us(const char *s)
{
	uint64_t v = 0;

	(void)decode(s, QID_LEN, &v);
	return v >> 12;
}
