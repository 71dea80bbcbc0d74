/*
 * sasl.c - the bytes of SMTP AUTH (RFC 4954 4): base64 responses, the
 * PLAIN message (RFC 4616 2) and the fields of the LOGIN mechanism
 * (draft-murchison-sasl-login). Decoding is OpenSSL's (EVP_DecodeBlock);
 * what is checked here is that the text is canonical base64 first, since
 * EVP_DecodeBlock skips blanks and pads the output with zeros.
 * No I/O and no password checks: the session runs the exchange, the
 * server verifies the password on a worker thread.
 */
#include "smtp.h"

#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

static int
is_b64(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	    c == '+' || c == '/';
}

enum sasl_err
sasl_b64_decode(const uint8_t *in, size_t len, uint8_t *out, size_t outsize, size_t *out_len)
{
	size_t pad = 0;
	int n;

	*out_len = 0;
	/* RFC 4954 4: "=" is a response of zero bytes */
	if (len == 1 && in[0] == '=')
		return SASL_OK;
	if (len == 0 || len % 4 != 0 || len > (size_t)(1 << 20) || len / 4 * 3 > outsize)
		return SASL_BAD_BASE64;
	if (in[len - 1] == '=')
		pad = in[len - 2] == '=' ? 2 : 1;
	for (size_t i = 0; i < len - pad; i++)
		if (!is_b64(in[i]))
			return SASL_BAD_BASE64;
	n = EVP_DecodeBlock(out, in, (int)len);
	if (n < 0 || (size_t)n < pad)
		return SASL_BAD_BASE64;
	*out_len = (size_t)n - pad;
	return SASL_OK;
}

/* A user name or password: 1 to 255 bytes, no NUL. */
static enum sasl_err
field(const uint8_t *p, size_t len, char out[SASL_FIELD_MAX + 1], size_t *out_len)
{
	if (len == 0 || len > SASL_FIELD_MAX || memchr(p, '\0', len) != NULL)
		return SASL_BAD_MESSAGE;
	memcpy(out, p, len);
	out[len] = '\0';
	*out_len = len;
	return SASL_OK;
}

enum sasl_err
sasl_plain_parse(const uint8_t *msg, size_t len, struct sasl_creds *out)
{
	const uint8_t *nul1, *nul2, *user, *pass;
	size_t zlen, ulen, plen;

	memset(out, 0, sizeof(*out));
	if ((nul1 = memchr(msg, '\0', len)) == NULL)
		return SASL_BAD_MESSAGE;
	zlen = (size_t)(nul1 - msg);
	user = nul1 + 1;
	if ((nul2 = memchr(user, '\0', len - zlen - 1)) == NULL)
		return SASL_BAD_MESSAGE;
	ulen = (size_t)(nul2 - user);
	pass = nul2 + 1;
	plen = len - zlen - ulen - 2;
	if (field(user, ulen, out->user, &out->user_len) != SASL_OK ||
	    field(pass, plen, out->pass, &out->pass_len) != SASL_OK) {
		sasl_creds_wipe(out);
		return SASL_BAD_MESSAGE;
	}
	/* acting as someone else (RFC 4616 2, authzid) is not offered */
	if (zlen > 0 && (zlen != ulen || memcmp(msg, user, ulen) != 0)) {
		sasl_creds_wipe(out);
		return SASL_AUTHZID;
	}
	return SASL_OK;
}

enum sasl_err
sasl_login_field(const uint8_t *msg, size_t len, char out[SASL_FIELD_MAX + 1], size_t *out_len)
{
	return field(msg, len, out, out_len);
}

void
sasl_creds_wipe(struct sasl_creds *c)
{
	/* not memset: the compiler may drop a store to memory that is not read again */
	OPENSSL_cleanse(c, sizeof(*c));
}
