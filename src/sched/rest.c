/*
 * rest.c - a message at rest. Most of a large queue waits: for its next
 * attempt in the heap, or held. While it does, its envelope is kept as one
 * packed block (the strings one after another, numbers as varints) instead
 * of a struct spool_msg with a dozen allocations of its own, each with
 * malloc's overhead; a few hundred bytes a message instead of several.
 * It wakes (the whole envelope again) for an attempt and for an operator's
 * operation; listings and filters look at the block in place, without a
 * copy (sched.c: q_rest, q_wake, q_envelope). Pure: no I/O, nothing of the
 * scheduler's.
 *
 * The block is ours alone, written and read in this process: no check of
 * its own beyond the asserts (the queue file is the durable truth, and what
 * the block holds was read from it and checked then).
 */
#include "sched/sched_int.h"

#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

/* A writer that counts when p is NULL (the first pass, for the size). */
struct packer {
	uint8_t *p;
	size_t len;
};

static void
put_u64(struct packer *w, uint64_t v)
{
	do {
		uint8_t b = (uint8_t)(v & 0x7f);

		v >>= 7;
		if (w->p != NULL)
			w->p[w->len] = (uint8_t)(b | (v != 0 ? 0x80 : 0));
		w->len++;
	} while (v != 0);
}

/*
 * A string as its length with its NUL, then its bytes and the NUL (so a
 * look at the block can point into it); 0 for NULL.
 */
static void
put_str(struct packer *w, const char *s)
{
	size_t n;

	if (s == NULL) {
		put_u64(w, 0);
		return;
	}
	n = strlen(s) + 1;
	put_u64(w, (uint64_t)n);
	if (w->p != NULL)
		memcpy(w->p + w->len, s, n);
	w->len += n;
}

static void
pack_into(struct packer *w, const struct spool_msg *m)
{
	put_u64(w, m->nrcpts);
	put_u64(w, (uint64_t)m->origin);
	put_str(w, m->sender);
	put_u64(w, m->arrival_us);
	put_str(w, m->client_ip);
	put_str(w, m->client_name);
	put_str(w, m->helo);
	put_str(w, m->proto);
	put_str(w, m->tls_version);
	put_str(w, m->tls_cipher);
	put_str(w, m->auth_user);
	put_str(w, m->local_user);
	put_u64(w, (uint64_t)(m->local_uid + 1));	/* -1 (none) is 0 */
	put_str(w, m->fail_status);
	put_str(w, m->fail_text);
	put_u64(w, (uint64_t)((m->is_8bitmime != 0) | (m->is_smtputf8 != 0) << 1 |
	    (m->is_held != 0) << 2));
	put_u64(w, m->release_s);
	put_str(w, m->api_meta);
	put_str(w, m->api_idem);
	put_u64(w, m->content_bytes);
	for (size_t i = 0; i < m->nrcpts; i++) {
		const struct spool_rcpt *r = &m->rcpts[i];

		put_str(w, r->to);
		put_str(w, r->orig);
		put_str(w, r->mailbox);
		put_u64(w, (uint64_t)!!r->is_done);
		put_u64(w, r->attempts);
		put_u64(w, r->next_try_s);
		put_str(w, r->status);
		put_str(w, r->reason);
	}
}

uint8_t *
rest_pack(const struct spool_msg *m)
{
	struct packer w = { NULL, 0 };

	pack_into(&w, m);
	w.p = xmalloc(w.len);
	w.len = 0;
	pack_into(&w, m);
	return w.p;
}

struct unpacker {
	const uint8_t *p;
	int is_copy;			/* strings copied (an envelope of its own), or borrowed */
};

static uint64_t
get_u64(struct unpacker *r)
{
	uint64_t v = 0;
	unsigned shift = 0;
	uint8_t b;

	do {
		ASSERT(shift < 64);
		b = *r->p++;
		v |= (uint64_t)(b & 0x7f) << shift;
		shift += 7;
	} while (b & 0x80);
	return v;
}

/* A string: a copy, or borrowed from the block (which keeps each one's NUL for this). */
static char *
get_str(struct unpacker *r)
{
	uint64_t n = get_u64(r);
	char *s = (char *)r->p;

	if (n == 0)
		return NULL;
	ASSERT(s[n - 1] == '\0');
	r->p += n;
	return r->is_copy ? xstrdup(s) : s;
}

/* Into a fixed array (a recipient's status). */
static void
get_str_into(struct unpacker *r, char *out, size_t size)
{
	uint64_t n = get_u64(r);

	ASSERT(n <= size);
	out[0] = '\0';
	if (n > 0)
		memcpy(out, r->p, (size_t)n);
	r->p += n;
}

/* The block into m; its recipients into rcpts (room for them all, zeroed). */
static void
unpack_into(struct unpacker *r, struct spool_msg *m, struct spool_rcpt *rcpts)
{
	uint64_t flags;

	m->origin = (enum spool_origin)get_u64(r);
	m->sender = get_str(r);
	m->arrival_us = get_u64(r);
	m->client_ip = get_str(r);
	m->client_name = get_str(r);
	m->helo = get_str(r);
	m->proto = get_str(r);
	m->tls_version = get_str(r);
	m->tls_cipher = get_str(r);
	m->auth_user = get_str(r);
	m->local_user = get_str(r);
	m->local_uid = (long)get_u64(r) - 1;
	m->fail_status = get_str(r);
	m->fail_text = get_str(r);
	flags = get_u64(r);
	m->is_8bitmime = (flags & 1) != 0;
	m->is_smtputf8 = (flags & 2) != 0;
	m->is_held = (flags & 4) != 0;
	m->release_s = get_u64(r);
	m->api_meta = get_str(r);
	m->api_idem = get_str(r);
	m->content_bytes = get_u64(r);
	m->rcpts = rcpts;
	for (size_t i = 0; i < m->nrcpts; i++) {
		struct spool_rcpt *rc = &rcpts[i];

		rc->to = get_str(r);
		rc->orig = get_str(r);
		rc->mailbox = get_str(r);
		rc->is_done = get_u64(r) != 0;
		rc->attempts = (unsigned)get_u64(r);
		rc->next_try_s = get_u64(r);
		get_str_into(r, rc->status, sizeof(rc->status));
		rc->reason = get_str(r);
	}
}

struct spool_msg *
rest_unpack(const uint8_t *packed, const char *qid)
{
	struct spool_msg *m = spool_msg_new();
	struct unpacker r = { packed, 1 };

	memcpy(m->qid, qid, sizeof(m->qid));
	m->nrcpts = (size_t)get_u64(&r);
	unpack_into(&r, m, xcalloc(m->nrcpts, sizeof(*m->rcpts)));
	return m;
}

const struct spool_msg *
rest_view(const uint8_t *packed, const char *qid, struct rest_view *v)
{
	struct unpacker r = { packed, 0 };
	struct spool_msg *m = &v->m;

	memset(m, 0, sizeof(*m));
	memcpy(m->qid, qid, sizeof(m->qid));
	m->nrcpts = (size_t)get_u64(&r);
	v->many = NULL;
	if (m->nrcpts > sizeof(v->few) / sizeof(v->few[0]))
		v->many = xcalloc(m->nrcpts, sizeof(*v->many));
	else
		memset(v->few, 0, sizeof(v->few));
	unpack_into(&r, m, v->many != NULL ? v->many : v->few);
	return m;
}

void
rest_view_clear(struct rest_view *v)
{
	free(v->many);
	v->many = NULL;
}
