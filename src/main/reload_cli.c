/*
 * reload_cli.c - sterna reload: asks the running daemon, through its
 * control socket (found through the configuration, as sterna queue finds
 * it), to read its configuration again, and says what came of it: the
 * generation now in use and the changed keys that wait for a restart, or
 * why the new configuration was refused (the old one then stays in use).
 * SIGHUP does the same without an answer. Exit codes are sysexits.h's.
 */
#include <stdio.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "control/control.h"
#include "main/verbs.h"

static void
usage(FILE *f)
{
	fprintf(f, "usage: sterna reload [-c FILE] [--json]\n");
}

/* The reply as text for people: the exit code. */
static int
print_reply(json_t *rep)
{
	json_t *err = json_object_get(rep, "error"), *keys = json_object_get(rep, "restart"), *k;
	size_t i;

	if (json_is_false(json_object_get(rep, "ok"))) {
		fprintf(stderr, "sterna reload: refused: %s\n",
		    json_string_value(json_object_get(err, "message")));
		if (json_object_get(err, "generation") != NULL)
			fprintf(stderr, "sterna reload: configuration generation %lld stays in use\n",
			    (long long)json_integer_value(json_object_get(err, "generation")));
		return EX_CONFIG;
	}
	printf("reloaded: configuration generation %lld in use\n",
	    (long long)json_integer_value(json_object_get(rep, "generation")));
	if (json_array_size(keys) > 0) {
		printf("waiting for a restart:");
		json_array_foreach(keys, i, k)
			printf("%s %s", i > 0 ? "," : "", json_string_value(k));
		putchar('\n');
	}
	return EX_OK;
}

int
verb_reload(int argc, char **argv)
{
	const char *config;
	struct ctl_client *cl;
	json_t *req, *rep;
	char err[1024];
	int code = EX_OK, is_json = 0, is_closed = 0;

	if (verb_socket_opts(argc, argv, usage, &config, &is_json, &code) == -1)
		return code;
	if (optind != argc) {
		usage(stderr);
		return EX_USAGE;
	}
	if ((cl = ctl_client_open(config, &code, err, sizeof(err))) == NULL) {
		/* the socket is found through the file: a bad one is refused here already */
		if (code == EX_CONFIG)
			fprintf(stderr, "sterna reload: refused: %s\nsterna reload: the daemon was not "
			    "asked; the configuration in use stays\n", err);
		else
			fprintf(stderr, "sterna reload: %s\n", err);
		return code;
	}
	req = json_pack("{s:s}", "op", "reload");
	if (ctl_client_send(cl, req) == -1 ||
	    (rep = ctl_client_read(cl, &is_closed, err, sizeof(err))) == NULL) {
		fprintf(stderr, "sterna reload: the daemon did not answer\n");
		ctl_client_free(&cl);
		json_decref(req);
		return EX_UNAVAILABLE;
	}
	ctl_client_free(&cl);
	json_decref(req);
	if (is_json) {
		(void)json_dumpf(rep, stdout, JSON_COMPACT);
		putchar('\n');
		code = json_is_true(json_object_get(rep, "ok")) ? EX_OK : EX_CONFIG;
	} else {
		code = print_reply(rep);
	}
	json_decref(rep);
	return code;
}
