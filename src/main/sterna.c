/*
 * sterna.c - the multi-call binary: sterna VERB [options].
 */
#include <stdio.h>
#include <string.h>

#include "main/verbs.h"

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: sterna serve -c FILE    run the mail server in the foreground\n"
	    "       sterna check -c FILE    check a configuration file\n"
	    "       sterna passwd [-m yescrypt|bcrypt|sha512crypt]\n"
	    "                               read a password, print its hash for the users file\n"
	    "       sterna --version | --help\n");
}

int
main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
		printf("sterna %s\n", STERNA_VERSION);
		return 0;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "serve") == 0)
		return verb_serve(argc - 1, argv + 1);
	if (strcmp(argv[1], "check") == 0)
		return verb_check(argc - 1, argv + 1);
	if (strcmp(argv[1], "passwd") == 0)
		return verb_passwd(argc - 1, argv + 1);
	fprintf(stderr, "sterna: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
