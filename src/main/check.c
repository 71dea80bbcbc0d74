/*
 * check.c - sterna check -c FILE: exit 0, or "FILE:LINE: reason" and 1.
 * The TLS certificates and keys are read too (readable, PEM, the key
 * matching its certificate), and so are the list files of policy { } and
 * the API keys file, as serve would read them at start. A warning (exit 0) when
 * server.max_sessions does not fit in the descriptor limit that serve
 * would raise itself to. A line says how serve would be confined
 * (server.sandbox, and whether this kernel has Landlock).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "http/http.h"
#include "main/fdlimit.h"
#include "main/sandbox.h"
#include "main/verbs.h"
#include "policy/lists.h"
#include "tls/tls.h"

#ifndef STERNA_CONFIG_PATH
#error "meson.build defines STERNA_CONFIG_PATH, the installed configuration's path"
#endif

const char *
verb_config_arg(int argc, char **argv, const char *verb)
{
	if (argc == 3 && strcmp(argv[1], "-c") == 0)
		return argv[2];
	fprintf(stderr, "usage: sterna %s -c FILE\n", verb);
	return NULL;
}

const char *
verb_config_default(void)
{
	const char *env = getenv("STERNA_CONFIG");

	return env != NULL && env[0] != '\0' ? env : STERNA_CONFIG_PATH;
}

/* What serve would confine itself to, as far as it depends on this kernel. */
static void
print_sandbox(const char *path, const struct config *c)
{
	int abi = sandbox_landlock_abi();

	if (!c->is_sandboxed)
		printf("%s: sandbox: off (server.sandbox = false): system calls and files are not "
		    "confined\n", path);
	else if (abi >= 2)
		printf("%s: sandbox: system calls filtered, files confined (Landlock ABI %d)\n", path,
		    abi);
	else
		printf("%s: sandbox: system calls filtered; files are not confined (%s)\n", path,
		    abi == 0 ? "this kernel has no Landlock" :
		    "Landlock ABI 1 cannot allow renames between folders");
}

int
verb_check(int argc, char **argv)
{
	const char *path = verb_config_arg(argc, argv, "check");
	struct config *c;
	struct tls_server *tls;
	struct policy_lists *lists;
	char err[1024];

	if (path == NULL)
		return 2;
	if ((c = config_load(path, err, sizeof(err))) == NULL) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	if ((tls = tls_server_new(c, err, sizeof(err))) == NULL) {
		fprintf(stderr, "%s\n", err);
		config_free(&c);
		return 1;
	}
	tls_server_free(&tls);
	if ((lists = policy_lists_new(c, err, sizeof(err))) == NULL) {
		fprintf(stderr, "%s\n", err);
		config_free(&c);
		return 1;
	}
	policy_lists_free(&lists);
	if (c->http_keys_file[0] != '\0') {
		struct http_keyring *keys = http_keyring_new(c->http_keys_file,
		    c->http_requests_per_minute, err, sizeof(err));

		if (keys == NULL) {
			fprintf(stderr, "%s\n", err);
			config_free(&c);
			return 1;
		}
		http_keyring_free(&keys);
	}
	/* a warning, not an error: the limit is the machine's, and serve starts anyway */
	(void)fdlimit_sessions(c, fdlimit_hard(), err, sizeof(err));
	if (err[0] != '\0')
		printf("%s: warning: %s\n", path, err);
	print_sandbox(path, c);
	printf("%s: ok\n", path);
	config_free(&c);
	return 0;
}
