/*
 * check.c - sterna check -c FILE: exit 0, or "FILE:LINE: reason" and 1.
 */
#include <stdio.h>
#include <string.h>

#include "config/config.h"
#include "main/verbs.h"

const char *
verb_config_arg(int argc, char **argv, const char *verb)
{
	if (argc == 3 && strcmp(argv[1], "-c") == 0)
		return argv[2];
	fprintf(stderr, "usage: sterna %s -c FILE\n", verb);
	return NULL;
}

int
verb_check(int argc, char **argv)
{
	const char *path = verb_config_arg(argc, argv, "check");
	struct config *c;
	char err[1024];

	if (path == NULL)
		return 2;
	if ((c = config_load(path, err, sizeof(err))) == NULL) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	printf("%s: ok\n", path);
	config_free(&c);
	return 0;
}
