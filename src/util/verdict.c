/*
 * verdict.c - building verdicts: their text is made safe for a reply line
 * here, once, whoever wrote it.
 */
#include "util/verdict.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "util/xalloc.h"

void
verdict_accept(struct verdict *v_out)
{
	memset(v_out, 0, sizeof(*v_out));
	v_out->kind = VERDICT_ACCEPT;
}

void
verdict_set(struct verdict *v_out, enum verdict_kind kind, int code, const char *dsn,
    const char *rule, const char *fmt, ...)
{
	va_list ap;

	ASSERT(kind != VERDICT_TEMPFAIL || (code >= 400 && code <= 499));
	ASSERT(kind != VERDICT_REJECT || (code >= 500 && code <= 599));
	memset(v_out, 0, sizeof(*v_out));
	v_out->kind = kind;
	v_out->code = code;
	(void)snprintf(v_out->dsn, sizeof(v_out->dsn), "%s", dsn ? dsn : "");
	(void)snprintf(v_out->rule, sizeof(v_out->rule), "%s", rule ? rule : "");
	va_start(ap, fmt);
	if (vsnprintf(v_out->text, sizeof(v_out->text), fmt, ap) < 0)
		v_out->text[0] = '\0';
	va_end(ap);
	for (char *p = v_out->text; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
}

const char *
verdict_kind_name(enum verdict_kind k)
{
	static const char *const names[] = { "accept", "tempfail", "reject", "discard", "hold" };

	return (unsigned)k < sizeof(names) / sizeof(names[0]) ? names[k] : "?";
}
