/*
 * sign.c - the DKIM-Signature field (RFC 6376 3.5, 3.7, 5.4): which fields
 * are signed, the header hash over their relaxed forms and the signature
 * field's own with an empty b=, signed with OpenSSL's EVP: RSASSA-PKCS1-v1_5
 * with SHA-256, or Ed25519 over the SHA-256 of the same data (RFC 8463 3).
 * Fields are taken from the bottom up when a name occurs more than once
 * (RFC 6376 5.4.2); an oversigned name is listed once more than it occurs,
 * so that a field of that name added later breaks the signature.
 */
#include "dkim/dkim.h"

#include <stdio.h>
#include <string.h>

#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "util/xalloc.h"

#define SIG_LINE 76	/* fold the field's lines before this many bytes */

static const char *const default_names[] = {
	"from", "reply-to", "subject", "date", "to", "cc", "message-id", "in-reply-to",
	"references", "mime-version", "content-type", "content-transfer-encoding",
	"content-disposition", "list-id", "list-unsubscribe", "list-unsubscribe-post",
	"sender", "feedback-id",
};
static const char *const default_oversigned[] = { "from", "subject", "to", "date" };

const struct dkim_fields dkim_default_fields = {
	default_names, sizeof(default_names) / sizeof(default_names[0]),
	default_oversigned, sizeof(default_oversigned) / sizeof(default_oversigned[0]),
};

static size_t
count_named(const struct header_list *l, const char *name)
{
	size_t n = 0;

	for (size_t i = 0; i < header_list_count(l); i++) {
		struct header_field f = header_list_get(l, i);

		n += header_field_is(&f, name);
	}
	return n;
}

/* The k-th field named name from the bottom (0: the last), or 0 if there is none. */
static int
nth_from_bottom(const struct header_list *l, const char *name, size_t k, struct header_field *out)
{
	for (size_t i = header_list_count(l); i-- > 0;) {
		struct header_field f = header_list_get(l, i);

		if (header_field_is(&f, name) && k-- == 0) {
			*out = f;
			return 1;
		}
	}
	return 0;
}

static int
is_oversigned(const struct dkim_fields *fs, const char *name)
{
	for (size_t i = 0; i < fs->noversigned; i++)
		if (strcmp(fs->oversigned[i], name) == 0)
			return 1;
	return 0;
}

/* Appends s to the field in out, folding first if the line would grow past SIG_LINE. */
static int
fold_append(struct buf *out, size_t *col, const char *s, size_t n)
{
	if (*col + n > SIG_LINE && *col > 1) {
		if (buf_append(out, "\r\n\t", 3) == -1)
			return -1;
		*col = 1;
		if (n > 0 && s[0] == ' ')
			s++, n--;	/* the fold is the space */
	}
	*col += n;
	return buf_append(out, s, n);
}

int
dkim_sign_data(EVP_PKEY *key, enum dkim_alg alg, const uint8_t *data, size_t n, char *out,
    size_t outsize, char *err, size_t errsize)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	uint8_t sig[1024], digest[32];
	size_t siglen = sizeof(sig);
	unsigned dlen = 32;
	int ok;

	ASSERT(ctx != NULL);
	if (alg == DKIM_RSA_SHA256)
		ok = EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, key) == 1 &&
		    EVP_DigestSign(ctx, sig, &siglen, data, n) == 1;
	else	/* RFC 8463 3: PureEdDSA over the SHA-256 of the canonical data */
		ok = EVP_Digest(data, n, digest, &dlen, EVP_sha256(), NULL) == 1 &&
		    EVP_DigestSignInit(ctx, NULL, NULL, NULL, key) == 1 &&
		    EVP_DigestSign(ctx, sig, &siglen, digest, dlen) == 1;
	EVP_MD_CTX_free(ctx);
	if (!ok) {
		snprintf(err, errsize, "the key cannot sign");
		return -1;
	}
	if (outsize < 4 * ((siglen + 2) / 3) + 1) {
		snprintf(err, errsize, "signature too long");
		return -1;
	}
	(void)EVP_EncodeBlock((unsigned char *)out, sig, (int)siglen);
	return 0;
}

void
dkim_sig_init(struct dkim_sig *sg)
{
	memset(sg, 0, sizeof(*sg));
	buf_init(&sg->field, 16 * 1024);
	buf_init(&sg->data, 2 * HEADER_LIST_MAX);
}

void
dkim_sig_clear(struct dkim_sig *sg)
{
	buf_clear(&sg->field);
	buf_clear(&sg->data);
}

int
dkim_sig_prepare(struct dkim_sig *sg, const struct header_list *l, const struct dkim_fields *fs,
    enum dkim_alg alg, const char *domain, const char *selector, int64_t t,
    const uint8_t bh[32])
{
	char bh64[64], part[600];
	int first = 1, n;

	buf_reset(&sg->field);
	buf_reset(&sg->data);
	sg->alg = alg;
	(void)EVP_EncodeBlock((unsigned char *)bh64, bh, 32);
	n = snprintf(part, sizeof(part), "DKIM-Signature: v=1; a=%s; c=relaxed/relaxed; d=%s;",
	    alg == DKIM_RSA_SHA256 ? "rsa-sha256" : "ed25519-sha256", domain);
	if (n < 0 || (size_t)n >= sizeof(part) || buf_append(&sg->field, part, (size_t)n) == -1)
		return -1;
	sg->col = (size_t)n;
	n = snprintf(part, sizeof(part), " s=%s;", selector);
	if (n < 0 || (size_t)n >= sizeof(part) ||
	    fold_append(&sg->field, &sg->col, part, (size_t)n) == -1)
		return -1;
	n = snprintf(part, sizeof(part), " t=%lld;", (long long)t);
	if (fold_append(&sg->field, &sg->col, part, (size_t)n) == -1 ||
	    fold_append(&sg->field, &sg->col, " h=", 3) == -1)
		return -1;
	/* h=, and the fields it names into data, bottom-up for repeated names */
	for (size_t i = 0; i < fs->n; i++) {
		size_t have = count_named(l, fs->names[i]);
		size_t times = have + (size_t)is_oversigned(fs, fs->names[i]);

		for (size_t k = 0; k < times; k++) {
			struct header_field f;

			n = snprintf(part, sizeof(part), "%s%s", first ? "" : ":", fs->names[i]);
			if (n < 0 || (size_t)n >= sizeof(part) ||
			    fold_append(&sg->field, &sg->col, part, (size_t)n) == -1)
				return -1;
			first = 0;
			if (nth_from_bottom(l, fs->names[i], k, &f) &&
			    dkim_canon_header(f.raw, f.len, 1, &sg->data) == -1)
				return -1;
		}
	}
	n = snprintf(part, sizeof(part), "; bh=%s;", bh64);
	if (fold_append(&sg->field, &sg->col, part, (size_t)n) == -1 ||
	    fold_append(&sg->field, &sg->col, " b=", 3) == -1)
		return -1;
	/* RFC 6376 3.7: the signature's own field last, with b= empty and no final CRLF */
	return dkim_canon_header(sg->field.data, sg->field.len, 0, &sg->data);
}

int
dkim_sig_finish(struct dkim_sig *sg, struct buf *out)
{
	size_t col = sg->col, start = out->len;

	if (buf_append(out, sg->field.data, sg->field.len) == -1)
		return -1;
	/* b= folded: white space inside a base64 value is ignored (RFC 6376 3.5) */
	for (size_t off = 0, len = strlen(sg->b64); off < len;) {
		size_t room = col < SIG_LINE ? SIG_LINE - col : 0, take;

		if (room < 8) {
			if (buf_append(out, "\r\n\t", 3) == -1)
				goto full;
			col = 1;
			continue;
		}
		take = len - off < room ? len - off : room;
		if (buf_append(out, sg->b64 + off, take) == -1)
			goto full;
		off += take;
		col += take;
	}
	if (buf_append(out, "\r\n", 2) == 0)
		return 0;
full:
	out->len = start;
	return -1;
}

int
dkim_sign(const struct header_list *l, const struct dkim_fields *fs, EVP_PKEY *key,
    enum dkim_alg alg, const char *domain, const char *selector, int64_t t,
    const uint8_t bh[32], struct buf *out, char *err, size_t errsize)
{
	struct dkim_sig sg;
	int r = -1;

	dkim_sig_init(&sg);
	if (dkim_sig_prepare(&sg, l, fs, alg, domain, selector, t, bh) == -1)
		snprintf(err, errsize, "the signature does not fit");
	else if (dkim_sign_data(key, alg, sg.data.data, sg.data.len, sg.b64, sizeof(sg.b64), err,
	    errsize) == 0 && (r = dkim_sig_finish(&sg, out)) == -1)
		snprintf(err, errsize, "the signature does not fit");
	dkim_sig_clear(&sg);
	return r;
}

int
dkim_key_alg(EVP_PKEY *key, enum dkim_alg *alg_out, char *err, size_t errsize)
{
	switch (EVP_PKEY_get_base_id(key)) {
	case EVP_PKEY_RSA:
		/* RFC 8301 3.2: at least 1024; we sign with 2048 or more, as the large providers ask */
		if (EVP_PKEY_get_bits(key) < 2048) {
			snprintf(err, errsize, "an RSA key of %d bits: at least 2048 are needed",
			    EVP_PKEY_get_bits(key));
			return -1;
		}
		*alg_out = DKIM_RSA_SHA256;
		return 0;
	case EVP_PKEY_ED25519:
		*alg_out = DKIM_ED25519_SHA256;
		return 0;
	default:
		snprintf(err, errsize, "neither an RSA nor an Ed25519 key");
		return -1;
	}
}

int
dkim_dns_record(EVP_PKEY *key, struct buf *out)
{
	uint8_t raw[4096], *p = raw;
	char b64[6000];
	size_t len = sizeof(raw);
	enum dkim_alg alg;
	char err[128];
	int n;

	if (dkim_key_alg(key, &alg, err, sizeof(err)) == -1)
		return -1;
	if (alg == DKIM_ED25519_SHA256) {
		/* RFC 8463 4.2: the raw 32-byte public key */
		if (EVP_PKEY_get_raw_public_key(key, raw, &len) != 1)
			return -1;
	} else {
		/* RFC 6376 3.6.1: the DER SubjectPublicKeyInfo */
		if ((n = i2d_PUBKEY(key, NULL)) <= 0 || (size_t)n > sizeof(raw) ||
		    i2d_PUBKEY(key, &p) != n)
			return -1;
		len = (size_t)n;
	}
	(void)EVP_EncodeBlock((unsigned char *)b64, raw, (int)len);
	return buf_printf(out, "v=DKIM1; k=%s; p=%s", alg == DKIM_RSA_SHA256 ? "rsa" : "ed25519",
	    b64);
}
