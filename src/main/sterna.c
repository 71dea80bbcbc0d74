/*
 * sterna.c - the multi-call binary: sterna VERB [options], or the verb
 * named by the name it was run under (a link called "sendmail" or "mailq").
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
	    "       sterna check --keys     list every configuration key with its default\n"
	    "       sterna passwd [-m yescrypt|bcrypt|sha512crypt]\n"
	    "                               read a password, print its hash for the users file\n"
	    "       sterna sendmail [-t] [-i] [-f sender] [-F name] [-C FILE] [recipient ...]\n"
	    "                               queue the message on standard input (also as \"sendmail\")\n"
	    "       sterna queue [-c FILE] list|show|flush|hold|release|delete|bounce ...\n"
	    "                               look at and act on the queue (sterna queue --help)\n"
	    "       sterna status [-c FILE] the daemon and its queue in numbers\n"
	    "       sterna top [-c FILE] [-d SECONDS] [--once]\n"
	    "                               its figures, refreshed like top (sterna top --help)\n"
	    "       sterna reload [-c FILE]   the daemon reads its configuration again\n"
	    "       sterna suppression [-c FILE] list|add|remove ...\n"
	    "                               the addresses not to be mailed again\n"
	    "       sterna apikey new [-c FILE | -f KEYS_FILE] --scopes send,read,admin\n"
	    "                         [--rate N/min] [--name NAME]\n"
	    "                               make a key of the HTTP API, printed once\n"
	    "       sterna dkim keygen [-c FILE] [-t rsa|ed25519] [-b BITS] DOMAIN SELECTOR\n"
	    "                               make a DKIM signing key, print its DNS record\n"
	    "       sterna --version | --help\n");
}

/* The last part of a path: "/usr/sbin/sendmail" gives "sendmail". */
static const char *
base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

int
main(int argc, char **argv)
{
	/* cron, mailx and PHP run /usr/sbin/sendmail: a link to this binary */
	if (argc > 0 && strcmp(base_name(argv[0]), "sendmail") == 0)
		return verb_sendmail(argc, argv);
	if (argc > 0 && strcmp(base_name(argv[0]), "mailq") == 0)
		return verb_mailq(argc, argv);
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
	if (strcmp(argv[1], "sendmail") == 0)
		return verb_sendmail(argc - 1, argv + 1);
	if (strcmp(argv[1], "queue") == 0)
		return verb_queue(argc - 1, argv + 1);
	if (strcmp(argv[1], "status") == 0)
		return verb_status(argc - 1, argv + 1);
	if (strcmp(argv[1], "top") == 0)
		return verb_top(argc - 1, argv + 1);
	if (strcmp(argv[1], "suppression") == 0)
		return verb_suppression(argc - 1, argv + 1);
	if (strcmp(argv[1], "reload") == 0)
		return verb_reload(argc - 1, argv + 1);
	if (strcmp(argv[1], "apikey") == 0)
		return verb_apikey(argc - 1, argv + 1);
	if (strcmp(argv[1], "dkim") == 0)
		return verb_dkim(argc - 1, argv + 1);
	fprintf(stderr, "sterna: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
