/*
 * check.c - sterna check -c FILE: exit 0, or "FILE:LINE: reason" and 1;
 * sterna check --keys: every key and its default (config_keys_print).
 * What depends on this machine is checked too, as serve would meet it at
 * start: server.user and local.mailbox_group must exist; the TLS certificates and keys are read
 * (readable, PEM, the key matching its certificate), and so are the CA
 * file of outbound (or the system's trust store where a destination
 * verifies), the list files of policy { } and the API keys file. A warning (exit 0) when
 * server.max_sessions does not fit in the descriptor limit that serve
 * would raise itself to. A line says how serve would be confined
 * (server.sandbox, and whether this kernel has Landlock).
 */
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

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

int
verb_socket_opts(int argc, char **argv, void (*usage)(FILE *f), const char **config_out,
    int *is_json_out, int *exit_out)
{
	static const struct option longs[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	*config_out = verb_config_default();
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "c:h", longs, NULL)) != -1) {
		if (c == 'c') {
			*config_out = optarg;
		} else if (c == 'j') {
			*is_json_out = 1;
		} else if (c == 'h') {
			usage(stdout);
			*exit_out = EX_OK;
			return -1;
		} else {
			usage(stderr);
			*exit_out = EX_USAGE;
			return -1;
		}
	}
	return 0;
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

/*
 * serve switches to server.user when started as root, and stops when there
 * is no such user: better said now than at the first start as root.
 */
static int
check_user(const struct config *c, char *err, size_t errsize)
{
	struct passwd pw, *found = NULL;
	char buf[4096];
	int rc;

	if (c->user[0] == '\0')
		return 0;
	rc = getpwnam_r(c->user, &pw, buf, sizeof(buf), &found);
	if (found != NULL)
		return 0;
	/* none is 0; some NSS modules say so with ENOENT and friends (getpwnam_r(3)) */
	if (rc == 0 || rc == ENOENT || rc == ESRCH || rc == EBADF || rc == EPERM)
		snprintf(err, errsize, "%s:%u: server.user: no such user '%s'", c->user_at.file,
		    c->user_at.line, c->user);
	else
		snprintf(err, errsize, "%s:%u: server.user: cannot look up '%s': %s",
		    c->user_at.file, c->user_at.line, c->user, strerror(rc));
	return -1;
}

/* serve gives the Maildirs to local.mailbox_group, and stops when there is no such group. */
static int
check_mailbox_group(const struct config *c, char *err, size_t errsize)
{
	struct group gr, *found = NULL;
	char buf[4096];

	if (c->mailbox_group[0] == '\0' ||
	    (getgrnam_r(c->mailbox_group, &gr, buf, sizeof(buf), &found) == 0 && found != NULL))
		return 0;
	snprintf(err, errsize, "%s: local.mailbox_group: no such group '%s'", c->path,
	    c->mailbox_group);
	return -1;
}

int
verb_check(int argc, char **argv)
{
	const char *path;
	struct config *c;
	struct tls_server *tls;
	struct policy_lists *lists;
	SSL_CTX *ctx;
	char err[1024];

	/* every key with its default: what sterna.conf(5) and the docs are held against */
	if (argc == 2 && strcmp(argv[1], "--keys") == 0) {
		config_keys_print(stdout);
		return fflush(stdout) == 0 ? 0 : 1;
	}
	if ((path = verb_config_arg(argc, argv, "check")) == NULL)
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
	if (check_user(c, err, sizeof(err)) == -1 || check_mailbox_group(c, err, sizeof(err)) == -1 ||
	    (ctx = tls_client_ctx_required(c, err, sizeof(err))) == NULL) {
		fprintf(stderr, "%s\n", err);
		config_free(&c);
		return 1;
	}
	SSL_CTX_free(ctx);
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
