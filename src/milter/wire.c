/*
 * wire.c - milter packets: the reader of a filter's packets (a length and
 * that many bytes, bounded) and the writers of our commands (proto.h).
 * The formats are those of the milter protocol version 6 as Sendmail's
 * libmilter reads them: strings end with a NUL, numbers in network order.
 */
#include "milter/proto.h"

#include <stdio.h>
#include <string.h>

static void
put_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

void
milter_reader_init(struct milter_reader *r)
{
	memset(r, 0, sizeof(*r));
	buf_init(&r->pkt, MILTER_MAX_REPLY);
}

void
milter_reader_clear(struct milter_reader *r)
{
	buf_clear(&r->pkt);
}

enum milter_parse
milter_reader_feed(struct milter_reader *r, const uint8_t *in, size_t len, size_t *used_out,
    struct milter_packet *out, char *err, size_t errsize)
{
	size_t used = 0;

	if (r->nlen == 0)
		buf_reset(&r->pkt);	/* the packet handed out last time is done with */
	while (r->nlen < 4 && used < len)
		r->len_bytes[r->nlen++] = in[used++];
	if (r->nlen < 4) {
		*used_out = used;
		return MILTER_PARSE_MORE;
	}
	if (r->want == 0) {
		r->want = (uint32_t)r->len_bytes[0] << 24 | (uint32_t)r->len_bytes[1] << 16 |
		    (uint32_t)r->len_bytes[2] << 8 | r->len_bytes[3];
		if (r->want == 0 || r->want > MILTER_MAX_REPLY) {
			snprintf(err, errsize, "packet length %lu out of bounds (1 to %u)",
			    (unsigned long)r->want, MILTER_MAX_REPLY);
			*used_out = used;
			return MILTER_PARSE_BAD;
		}
	}
	{
		size_t take = r->want - r->pkt.len;

		if (take > len - used)
			take = len - used;
		/* want is at most the buffer's max, so this cannot fail */
		(void)buf_append(&r->pkt, in + used, take);
		used += take;
	}
	*used_out = used;
	if (r->pkt.len < r->want)
		return MILTER_PARSE_MORE;
	out->cmd = r->pkt.data[0];
	out->data = (struct slice){ r->pkt.data + 1, r->pkt.len - 1 };
	r->nlen = 0;
	r->want = 0;
	return MILTER_PARSE_OK;
}

/* Appends the header of a packet of n data bytes after cmd. */
static int
put_head(struct buf *out, uint8_t cmd, size_t n)
{
	uint8_t h[5];

	if (n > 0xfffffffeu)
		return -1;
	put_u32(h, (uint32_t)(n + 1));
	h[4] = cmd;
	return buf_append(out, h, sizeof(h));
}

/* Appends a whole packet atomically: on failure out is as it was. */
static int
put_packet(struct buf *out, uint8_t cmd, const struct slice *parts, size_t nparts)
{
	size_t n = 0, mark = out->len;

	for (size_t i = 0; i < nparts; i++)
		n += parts[i].len;
	if (buf_reserve(out, n + 5) == -1 || put_head(out, cmd, n) == -1)
		return -1;
	for (size_t i = 0; i < nparts; i++)
		if (buf_append(out, parts[i].p, parts[i].len) == -1) {
			out->len = mark;
			return -1;
		}
	return 0;
}

/* A string with its NUL as a slice. */
static struct slice
zstr(const char *s)
{
	return (struct slice){ (const uint8_t *)s, strlen(s) + 1 };
}

int
milter_put_optneg(struct buf *out, uint32_t version, uint32_t actions, uint32_t protocol)
{
	uint8_t d[12];
	struct slice part = { d, sizeof(d) };

	put_u32(d, version);
	put_u32(d + 4, actions);
	put_u32(d + 8, protocol);
	return put_packet(out, MILTER_CMD_OPTNEG, &part, 1);
}

int
milter_put_macros(struct buf *out, uint8_t cmd, const struct milter_macro *m, size_t n)
{
	size_t mark = out->len, total = 1;
	uint8_t c = cmd;

	for (size_t i = 0; i < n; i++)
		total += strlen(m[i].name) + 1 + strlen(m[i].value) + 1;
	if (put_head(out, MILTER_CMD_MACRO, total) == -1 || buf_append(out, &c, 1) == -1)
		goto fail;
	for (size_t i = 0; i < n; i++) {
		struct slice name = zstr(m[i].name), value = zstr(m[i].value);

		if (buf_append(out, name.p, name.len) == -1 ||
		    buf_append(out, value.p, value.len) == -1)
			goto fail;
	}
	return 0;
fail:
	out->len = mark;
	return -1;
}

int
milter_put_connect(struct buf *out, const char *hostname, char family, uint16_t port,
    const char *addr)
{
	uint8_t fam = (uint8_t)family, p[2] = { (uint8_t)(port >> 8), (uint8_t)port };
	struct slice parts[4] = { zstr(hostname), { &fam, 1 }, { p, 2 }, { NULL, 0 } };

	if (family == 'U')
		return put_packet(out, MILTER_CMD_CONNECT, parts, 2);
	parts[3] = zstr(addr);
	return put_packet(out, MILTER_CMD_CONNECT, parts, 4);
}

int
milter_put_strings(struct buf *out, uint8_t cmd, const char *const *s, size_t n)
{
	struct slice parts[16];

	if (n > sizeof(parts) / sizeof(parts[0]))
		return -1;
	for (size_t i = 0; i < n; i++)
		parts[i] = zstr(s[i]);
	return put_packet(out, cmd, parts, n);
}

int
milter_put_header(struct buf *out, const char *name, const uint8_t *value, size_t len)
{
	static const uint8_t nul = 0;
	struct slice parts[3] = { zstr(name), { value, len }, { &nul, 1 } };

	return put_packet(out, MILTER_CMD_HEADER, parts, 3);
}

int
milter_put_body(struct buf *out, const uint8_t *p, size_t n)
{
	struct slice part = { p, n };

	if (n > MILTER_CHUNK)
		return -1;
	return put_packet(out, MILTER_CMD_BODY, &part, 1);
}

int
milter_put_bare(struct buf *out, uint8_t cmd)
{
	return put_packet(out, cmd, NULL, 0);
}
