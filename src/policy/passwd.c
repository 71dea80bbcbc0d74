/*
 * passwd.c - password hashes with libxcrypt: checking a password against a
 * users-file hash, and making a new hash for `sterna passwd`.
 * Checking blocks for as long as the hash is meant to take (yescrypt: tens
 * of milliseconds), so the server calls it on a worker thread, never on the
 * event loop. Nothing here logs, keeps or copies a password.
 */
#include "policy/passwd.h"

#include <crypt.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "util/xalloc.h"

/*
 * A yescrypt hash (default cost) of a password that nobody is given: an
 * unknown user costs the same work as a known one, so timing does not tell
 * which user names exist.
 */
static const char dummy_hash[] =
    "$y$j9T$CK3AMHcj7Ezsa4KBVT.0R1$meNjLu5NHmCKq5Q3j/LZGg2yBXRBL.CKwe4z.iJXNQ9";

int
passwd_verify(const char *hash, const char *pass)
{
	struct crypt_data *data = xcalloc(1, sizeof(*data));
	const char *out;
	int ok = 0;

	if (hash == NULL) {
		(void)crypt_rn(pass, dummy_hash, data, (int)sizeof(*data));
		goto out;
	}
	/* crypt_rn gives NULL, never a "*0" string, for a hash it cannot use */
	out = crypt_rn(pass, hash, data, (int)sizeof(*data));
	if (out != NULL && strlen(out) == strlen(hash))
		ok = CRYPTO_memcmp(out, hash, strlen(hash)) == 0;
out:
	OPENSSL_cleanse(data, sizeof(*data));
	free(data);
	return ok;
}

char *
passwd_hash(const char *prefix, const char *pass)
{
	struct crypt_data *data = xcalloc(1, sizeof(*data));
	char *salt = NULL, *ret = NULL;
	const char *out;

	/* only what the users file accepts: no md5crypt or DES from here */
	if (strcmp(prefix, "$y$") != 0 && strcmp(prefix, "$2b$") != 0 && strcmp(prefix, "$6$") != 0)
		goto out;

	/*
	 * libxcrypt's default cost, random bytes from the kernel; but bcrypt's
	 * default (5) is too cheap today: 10 takes tens of milliseconds, as yescrypt does.
	 */
	if ((salt = crypt_gensalt_ra(prefix, strcmp(prefix, "$2b$") == 0 ? 10 : 0, NULL, 0)) == NULL)
		goto out;
	out = crypt_rn(pass, salt, data, (int)sizeof(*data));
	if (out != NULL && out[0] != '*')
		ret = xstrdup(out);
out:
	free(salt);
	OPENSSL_cleanse(data, sizeof(*data));
	free(data);
	return ret;
}
