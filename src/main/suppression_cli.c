/*
 * suppression_cli.c - sterna suppression list|add|remove: the suppression
 * list (docs/api.md, "Suppression") through the daemon's control socket,
 * for operators without an API key. Exit codes are sysexits.h's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "control/control.h"
#include "main/verbs.h"

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: sterna suppression [-c FILE] [--json] list\n"
	    "       sterna suppression [-c FILE] [--json] add EMAIL [REASON]\n"
	    "       sterna suppression [-c FILE] [--json] remove EMAIL\n");
}

/* One request, its reply printed (as JSON with is_json): the exit code. */
static int
exchange(const char *config, json_t *req, int is_json)
{
	struct ctl_client *cl;
	json_t *rep;
	char err[1024];
	int code = EX_OK, is_closed = 0;

	if ((cl = ctl_client_open(config, &code, err, sizeof(err))) == NULL) {
		fprintf(stderr, "sterna suppression: %s\n", err);
		json_decref(req);
		return code;
	}
	if (ctl_client_send(cl, req) == -1 ||
	    (rep = ctl_client_read(cl, &is_closed, err, sizeof(err))) == NULL) {
		fprintf(stderr, "sterna suppression: the daemon did not answer\n");
		ctl_client_free(&cl);
		json_decref(req);
		return EX_UNAVAILABLE;
	}
	ctl_client_free(&cl);
	json_decref(req);
	if (json_is_false(json_object_get(rep, "ok"))) {
		fprintf(stderr, "sterna suppression: %s\n", json_string_value(json_object_get(
		    json_object_get(rep, "error"), "message")));
		json_decref(rep);
		return EX_DATAERR;
	}
	if (is_json) {
		(void)json_dumpf(rep, stdout, JSON_COMPACT);
		putchar('\n');
	} else if (json_object_get(rep, "suppressions") != NULL) {
		size_t i;
		json_t *e;

		json_array_foreach(json_object_get(rep, "suppressions"), i, e) {
			time_t t = (time_t)json_integer_value(json_object_get(e, "time"));
			char when[32];
			struct tm tm;

			strftime(when, sizeof(when), "%Y-%m-%d %H:%M", localtime_r(&t, &tm));
			printf("%-40s %s  %s\n", json_string_value(json_object_get(e, "email")), when,
			    json_string_value(json_object_get(e, "reason")));
		}
		printf("%lld address%s\n", (long long)json_integer_value(json_object_get(rep, "count")),
		    json_integer_value(json_object_get(rep, "count")) == 1 ? "" : "es");
	} else if (json_object_get(rep, "added") != NULL) {
		printf("%s: %s\n", json_string_value(json_object_get(rep, "email")),
		    json_is_true(json_object_get(rep, "added")) ? "added" : "already on the list");
	} else {
		int is_removed = json_is_true(json_object_get(rep, "removed"));

		printf("%s: %s\n", json_string_value(json_object_get(rep, "email")),
		    is_removed ? "removed" : "not on the list");
		code = is_removed ? EX_OK : EX_NOINPUT;
	}
	json_decref(rep);
	return code;
}

int
verb_suppression(int argc, char **argv)
{
	const char *config, *sub;
	int is_json = 0, code;

	if (verb_socket_opts(argc, argv, usage, &config, &is_json, &code) == -1)
		return code;
	if (optind >= argc) {
		usage(stderr);
		return EX_USAGE;
	}
	sub = argv[optind++];
	if (strcmp(sub, "list") == 0 && optind == argc)
		return exchange(config, json_pack("{s:s}", "op", "suppressions"), is_json);
	if (strcmp(sub, "add") == 0 && (argc - optind == 1 || argc - optind == 2))
		return exchange(config, argc - optind == 2 ?
		    json_pack("{s:s, s:s, s:s}", "op", "suppress", "email", argv[optind], "reason",
		    argv[optind + 1]) : json_pack("{s:s, s:s}", "op", "suppress", "email",
		    argv[optind]), is_json);
	if (strcmp(sub, "remove") == 0 && argc - optind == 1)
		return exchange(config, json_pack("{s:s, s:s}", "op", "unsuppress", "email",
		    argv[optind]), is_json);
	usage(stderr);
	return EX_USAGE;
}
