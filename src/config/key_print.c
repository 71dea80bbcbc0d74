/*
 * key_print.c - the key table as text (sterna check --keys): one line per
 * key with its default, in one unit per type, so that a script can hold
 * docs/configuration.md against the table (scripts/confdoc.py check) and
 * the two cannot drift apart unnoticed. A third field, "restart", marks
 * the keys that a reload leaves as they were (restart.c).
 */
#include "config/keys_int.h"

#include <stdio.h>

/* A string default in double quotes, with JSON's escapes for '"' and '\'. */
static void
print_quoted(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			fputc('\\', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

void
config_keys_print(FILE *f)
{
	for (size_t i = 0; i < cfg_nrows; i++) {
		const struct key_row *r = &cfg_rows[i];

		fprintf(f, "%s\t", r->path);
		switch (r->type) {
		case KT_COUNT:
		case KT_SIZE:
		case KT_DURATION:
			/* a count, bytes, or milliseconds */
			fprintf(f, "%llu", (unsigned long long)r->def);
			break;
		case KT_BOOL:
			fputs(r->def ? "true" : "false", f);
			break;
		case KT_TLS:
			print_quoted(f, config_tls_name((enum config_tls)r->def));
			break;
		case KT_STRING:
		case KT_PATH:
		case KT_LOG_LEVEL:
		case KT_DELIMITER:
		case KT_ADDRESS:
			/* no default of the table's: required, or worked out at load (hostname) */
			if (r->def_str == NULL)
				fputc('-', f);
			else
				print_quoted(f, r->def_str);
			break;
		case KT_ALIASES:
			fputs("{}", f);
			break;
		case KT_DOMAINS:
		case KT_NAMES:
		case KT_MAP:
		case KT_ROUTES:
		case KT_CIDRS:
		case KT_LIST:
			fputs("[]", f);
			break;
		}
		if (config_key_needs_restart(r->path))
			fputs("\trestart", f);
		fputc('\n', f);
	}
}
