/*
 * cfg_error.c - the one shape of every configuration error: "FILE:LINE: KEY:
 * reason", cut with "..." when it does not fit, and long values shortened
 * for messages.
 */
#include "config/ucl_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Appends to err at *off: 0, or -1 when the text did not fit (err stays a string). */
static int
err_vappend(char *err, size_t errsize, size_t *off, const char *fmt, va_list ap)
	__attribute__((format(printf, 4, 0)));

static int
err_vappend(char *err, size_t errsize, size_t *off, const char *fmt, va_list ap)
{
	int n = vsnprintf(err + *off, errsize - *off, fmt, ap);

	if (n < 0) {
		err[*off] = '\0';
		return -1;
	}
	if ((size_t)n >= errsize - *off) {
		*off = errsize - 1;
		return -1;
	}
	*off += (size_t)n;
	return 0;
}

static int
err_append(char *err, size_t errsize, size_t *off, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int
err_append(char *err, size_t errsize, size_t *off, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = err_vappend(err, errsize, off, fmt, ap);
	va_end(ap);
	return rc;
}

int
cfg_verror(char *err, size_t errsize, const char *file, unsigned line, const char *key,
    const char *fmt, va_list ap)
{
	size_t off = 0;
	int rc = 0;

	if (errsize == 0)
		return -1;
	err[0] = '\0';
	if (file != NULL && line > 0)
		rc = err_append(err, errsize, &off, "%s:%u: ", file, line);
	else if (file != NULL)
		rc = err_append(err, errsize, &off, "%s: ", file);
	if (rc == 0 && key != NULL)
		rc = err_append(err, errsize, &off, "%s: ", key);
	if (rc == 0)
		rc = err_vappend(err, errsize, &off, fmt, ap);
	if (rc == -1 && errsize > 4)
		memcpy(err + errsize - 4, "...", 4);	/* say that it was cut */
	return -1;
}

int
cfg_error(char *err, size_t errsize, const char *file, unsigned line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)cfg_verror(err, errsize, file, line, NULL, fmt, ap);
	va_end(ap);
	return -1;
}

const char *
cfg_shorten(const char *s, char *out)
{
	size_t n = strlen(s);

	if (n <= 60) {
		memcpy(out, s, n + 1);
		return out;
	}
	n = 57;
	/* cut between UTF-8 characters, never inside one */
	while (n > 0 && ((uint8_t)s[n] & 0xC0) == 0x80)
		n--;
	memcpy(out, s, n);
	memcpy(out + n, "...", 4);
	return out;
}
