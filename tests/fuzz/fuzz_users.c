/*
 * fuzz_users.c - the users file parser (users.c) on any bytes. Checked:
 * a failure is one "users:LINE: reason" line and leaves no user behind; a
 * success gives users whose names are valid, unique and lowercase, each
 * with a supported hash, and sender addresses that are lowercase.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "config/ucl_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)	do { if (!(cond)) abort(); } while (0)

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config c;
	char err[1024] = "";

	memset(&c, 0, sizeof(c));
	if (cfg_users_parse(&c, "users", data, size, err, sizeof(err)) == -1) {
		CHECK(strncmp(err, "users:", 6) == 0 && strchr(err, '\n') == NULL);
		CHECK(c.nusers == 0 && c.users == NULL);
		return 0;
	}
	for (size_t i = 0; i < c.nusers; i++) {
		const struct config_user *u = &c.users[i];

		CHECK(cfg_is_local_name(u->name) && cfg_is_supported_hash(u->hash));
		for (const char *p = u->name; *p != '\0'; p++)
			CHECK(!(*p >= 'A' && *p <= 'Z'));
		for (size_t k = 0; k < i; k++)
			CHECK(strcmp(c.users[k].name, u->name) != 0);
		for (size_t k = 0; k < u->nsenders; k++)
			for (const char *p = u->senders[k]; *p != '\0'; p++)
				CHECK(!(*p >= 'A' && *p <= 'Z'));
	}
	cfg_users_free(&c);
	return 0;
}
