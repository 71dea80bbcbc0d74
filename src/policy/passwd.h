/*
 * passwd.h - password hashes (crypt(3) from libxcrypt): yescrypt ($y$),
 * bcrypt ($2b$) and sha512-crypt ($6$).
 */
#ifndef STERNA_POLICY_PASSWD_H
#define STERNA_POLICY_PASSWD_H

/*
 * 1 if pass matches hash, 0 if not or if hash is unusable. hash NULL (no
 * such user) does the same work as a real check and gives 0. Blocks for as
 * long as the hash takes: call it on a worker thread.
 */
int passwd_verify(const char *hash, const char *pass);
/*
 * Returns a new hash of pass with a fresh random salt, by prefix ("$y$",
 * "$2b$", "$6$") at libxcrypt's default cost, or NULL on failure.
 */
char *passwd_hash(const char *prefix, const char *pass);

#endif
