/*
 * signature.c - the webhooks' signature header (webhook.h): HMAC-SHA256
 * with OpenSSL's EVP_MAC, over "UNIX_TIME." and the body, in hex, as the
 * relay services sign theirs. Pure.
 */
#include "events/webhook.h"

#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/params.h>

void
webhook_signature(const char *secret, long long t, const char *body, size_t len, char *out,
    size_t size)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned mac_len = 0;
	char prefix[32], hex[2 * EVP_MAX_MD_SIZE + 1];
	EVP_MAC *m = EVP_MAC_fetch(NULL, "HMAC", NULL);
	EVP_MAC_CTX *ctx = m ? EVP_MAC_CTX_new(m) : NULL;
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string("digest", (char *)"SHA256", 0),
		OSSL_PARAM_construct_end(),
	};
	size_t outl = 0;

	(void)snprintf(prefix, sizeof(prefix), "%lld.", t);
	if (ctx != NULL && EVP_MAC_init(ctx, (const unsigned char *)secret, strlen(secret),
	    params) == 1 && EVP_MAC_update(ctx, (const unsigned char *)prefix, strlen(prefix)) == 1 &&
	    EVP_MAC_update(ctx, (const unsigned char *)body, len) == 1 &&
	    EVP_MAC_final(ctx, mac, &outl, sizeof(mac)) == 1)
		mac_len = (unsigned)outl;
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(m);
	for (unsigned i = 0; i < mac_len; i++)
		(void)snprintf(hex + 2 * i, 3, "%02x", mac[i]);
	hex[2 * mac_len] = '\0';
	(void)snprintf(out, size, "t=%lld,v1=%s", t, hex);
}
