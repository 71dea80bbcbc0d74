/*
 * keys.c - the signing keys of dkim.keys: for each domain its selectors,
 * each key in "<dkim.key_dir>/<domain>.<selector>.key" (PEM, PKCS #8 or
 * the traditional RSA form), read once at start, before the daemon
 * confines itself (the folder is not among the paths it may read later).
 */
#include "dkim/dkim.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>

#include "config/config.h"
#include "util/xalloc.h"

int
dkim_key_path(const char *dir, const char *domain, const char *selector, char *out,
    size_t outsize)
{
	int n = snprintf(out, outsize, "%s/%s.%s.key", dir, domain, selector);

	return n < 0 || (size_t)n >= outsize ? -1 : 0;
}

static int
load_one(struct dkim_keyring *kr, const struct config *cfg, const char *domain,
    const char *selector, char *err, size_t errsize)
{
	char path[4096], why[128];
	struct dkim_key *k;
	EVP_PKEY *pkey;
	FILE *f;

	if (dkim_key_path(cfg->dkim_key_dir, domain, selector, path, sizeof(path)) == -1) {
		snprintf(err, errsize, "%s: the key's path is too long", cfg->dkim_key_dir);
		return -1;
	}
	if ((f = fopen(path, "re")) == NULL) {
		snprintf(err, errsize, "%s: %s (make it with: sterna dkim keygen %s %s)", path,
		    strerror(errno), domain, selector);
		return -1;
	}
	pkey = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (pkey == NULL) {
		ERR_clear_error();
		snprintf(err, errsize, "%s: not a PEM private key", path);
		return -1;
	}
	kr->v = xrealloc(kr->v, (kr->n + 1) * sizeof(*kr->v));
	k = &kr->v[kr->n];
	if (dkim_key_alg(pkey, &k->alg, why, sizeof(why)) == -1) {
		EVP_PKEY_free(pkey);
		snprintf(err, errsize, "%s: %s", path, why);
		return -1;
	}
	k->pkey = pkey;
	k->domain = xstrdup(domain);
	k->selector = xstrdup(selector);
	kr->n++;
	return 0;
}

int
dkim_keyring_load(struct dkim_keyring *kr, const struct config *cfg, char *err, size_t errsize)
{
	memset(kr, 0, sizeof(*kr));
	for (size_t i = 0; i < cfg->dkim_keys.n; i++) {
		const struct config_map_entry *e = &cfg->dkim_keys.v[i];
		char *sels = xstrdup(e->value), *save = NULL;

		/* the configuration checked the selectors: DNS labels, comma-separated */
		for (char *sel = strtok_r(sels, ",", &save); sel != NULL;
		    sel = strtok_r(NULL, ",", &save)) {
			if (load_one(kr, cfg, e->key, sel, err, errsize) == -1) {
				free(sels);
				dkim_keyring_clear(kr);
				return -1;
			}
		}
		free(sels);
	}
	return 0;
}

void
dkim_keyring_clear(struct dkim_keyring *kr)
{
	for (size_t i = 0; i < kr->n; i++) {
		EVP_PKEY_free(kr->v[i].pkey);
		free(kr->v[i].domain);
		free(kr->v[i].selector);
	}
	free(kr->v);
	memset(kr, 0, sizeof(*kr));
}
