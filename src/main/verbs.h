/*
 * verbs.h - one function per verb of the binary; each returns the exit status.
 */
#ifndef STERNA_MAIN_VERBS_H
#define STERNA_MAIN_VERBS_H

#include <stdio.h>

int verb_serve(int argc, char **argv);
int verb_check(int argc, char **argv);
int verb_passwd(int argc, char **argv);
/* argv[0] is the verb, or the program when it was run as "sendmail". */
int verb_sendmail(int argc, char **argv);
/* Finds "-c FILE" in argv: the file, or NULL after printing usage. */
const char *verb_config_arg(int argc, char **argv, const char *verb);
/* The configuration when none is named: STERNA_CONFIG if set, else the installed one. */
const char *verb_config_default(void);
/*
 * The options of a verb that only asks the daemon through its control socket:
 * -c FILE (--config; else verb_config_default()), --json, -h (--help). Returns 0
 * with optind at the first operand, or -1 with *exit_out to return (EX_OK after
 * the help, EX_USAGE after a bad option; usage() has printed it).
 */
int verb_socket_opts(int argc, char **argv, void (*usage)(FILE *f), const char **config_out,
    int *is_json_out, int *exit_out);
/* sterna queue ... (argv[0] is "queue"); exit codes of sysexits.h (docs/operations.md). */
int verb_queue(int argc, char **argv);
/* sterna status [-c FILE] [--json]. */
int verb_status(int argc, char **argv);
/* sterna top [-c FILE] [-d SECONDS] [--once]: the daemon's figures, refreshed (top_cli.c). */
int verb_top(int argc, char **argv);
/* mailq: sterna queue list, when the binary runs under that name. */
int verb_mailq(int argc, char **argv);
/*
 * sendmail -q (is_flush: every message, or with -qR those for domain) and
 * sendmail -bp (the listing), with the configuration at config_path.
 */
int verb_queue_sendmail(const char *config_path, int is_flush, const char *domain);
/* sterna suppression list|add|remove ... (argv[0] is "suppression"), through the control socket. */
int verb_suppression(int argc, char **argv);
/* sterna reload: the daemon reads its configuration again (reload_cli.c). */
int verb_reload(int argc, char **argv);
/* sterna apikey new ... (argv[0] is "apikey"): an API key for the HTTP API. */
int verb_apikey(int argc, char **argv);
/* sterna dkim keygen ... (argv[0] is "dkim"): a DKIM signing key and its DNS record. */
int verb_dkim(int argc, char **argv);

#endif
