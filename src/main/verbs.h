/*
 * verbs.h - one function per verb of the binary; each returns the exit status.
 */
#ifndef STERNA_MAIN_VERBS_H
#define STERNA_MAIN_VERBS_H

int verb_serve(int argc, char **argv);
int verb_check(int argc, char **argv);
int verb_passwd(int argc, char **argv);
/* argv[0] is the verb, or the program when it was run as "sendmail". */
int verb_sendmail(int argc, char **argv);
/* Finds "-c FILE" in argv: the file, or NULL after printing usage. */
const char *verb_config_arg(int argc, char **argv, const char *verb);

#endif
