/*
 * passwd.c - sterna passwd [-m yescrypt|bcrypt|sha512crypt]: reads a
 * password and prints its hash, for a line of the users file
 * (auth.users_file). From a terminal the password is asked twice without
 * echo; otherwise the first line of standard input is the password (its
 * line end is not part of it). The password is never printed or kept.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "main/verbs.h"
#include "policy/passwd.h"

#define PASS_MAX 256	/* SASL fields are at most 255 bytes: longer could never log in */

/* Reads one line into buf without its line end: its length, or -1 (EOF, too long, NUL). */
static long
read_line(FILE *in, char *buf, size_t size)
{
	size_t n = 0;
	int ch;

	while ((ch = fgetc(in)) != EOF && ch != '\n') {
		if (ch == '\0' || n + 1 >= size)
			return -1;
		buf[n++] = (char)ch;
	}
	if (ch == EOF && n == 0)
		return -1;
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	buf[n] = '\0';
	return (long)n;
}

/* Prompts on stderr and reads a line from the terminal with echo off. */
static long
ask(const char *prompt, char *buf, size_t size)
{
	struct termios old, quiet;
	long n;

	fputs(prompt, stderr);
	fflush(stderr);
	if (tcgetattr(STDIN_FILENO, &old) == -1)
		return -1;
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)ECHO;
	quiet.c_lflag |= ECHONL;
	if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) == -1)
		return -1;
	n = read_line(stdin, buf, size);
	(void)tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
	return n;
}

int
verb_passwd(int argc, char **argv)
{
	static const struct { const char *name, *prefix; } methods[] = {
		{ "yescrypt", "$y$" }, { "bcrypt", "$2b$" }, { "sha512crypt", "$6$" },
	};
	const char *prefix = "$y$";
	char pass[PASS_MAX], again[PASS_MAX], *hash;
	long n;
	int status = 1;

	if (argc == 3 && strcmp(argv[1], "-m") == 0) {
		prefix = NULL;
		for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
			if (strcmp(argv[2], methods[i].name) == 0)
				prefix = methods[i].prefix;
	}
	if ((argc != 1 && argc != 3) || prefix == NULL) {
		fprintf(stderr, "usage: sterna passwd [-m yescrypt|bcrypt|sha512crypt]\n");
		return 2;
	}
	if (isatty(STDIN_FILENO)) {
		n = ask("Password: ", pass, sizeof(pass));
		if (n > 0 && (ask("Again: ", again, sizeof(again)) != n || strcmp(pass, again) != 0)) {
			fprintf(stderr, "sterna passwd: the passwords differ\n");
			goto out;
		}
	} else {
		n = read_line(stdin, pass, sizeof(pass));
	}
	if (n <= 0) {
		fprintf(stderr, "sterna passwd: no password read (1 to 255 bytes, no NUL)\n");
		goto out;
	}
	if ((hash = passwd_hash(prefix, pass)) == NULL) {
		fprintf(stderr, "sterna passwd: cannot make a hash\n");
		goto out;
	}
	printf("%s\n", hash);
	free(hash);
	status = 0;
out:
	explicit_bzero(pass, sizeof(pass));
	explicit_bzero(again, sizeof(again));
	return status;
}
