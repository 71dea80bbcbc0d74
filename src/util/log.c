/*
 * log.c - event lines to stderr (or a chosen fd), one write each.
 */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int log_fd = 2;
static enum log_level log_max = LOG_INFO;

void
log_init(int fd, enum log_level lvl)
{
	log_fd = fd;
	log_max = lvl;
}

int
log_level_parse(const char *name, enum log_level *out)
{
	static const char *const names[] = { "error", "warning", "info", "debug" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(name, names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

int
log_enabled(enum log_level lvl)
{
	return lvl <= log_max;
}

/* Formats "TIME ID EVENT " + fmt into one line and writes it whole. */
static void
log_vline(enum log_level lvl, const char *id, const char *event, const char *fmt, va_list ap)
{
	char line[2048];
	struct timespec ts;
	struct tm tm;
	size_t off;
	int n;

	if (!log_enabled(lvl))
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = snprintf(line, sizeof(line), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s %s ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
	    ts.tv_nsec / 1000000, id ? id : "-", event);
	if (n < 0 || (size_t)n >= sizeof(line))
		return;
	off = (size_t)n;
	n = vsnprintf(line + off, sizeof(line) - off, fmt, ap);
	if (n < 0)
		return;
	off += (size_t)n;
	if (off >= sizeof(line) - 1)
		off = sizeof(line) - 2;	/* cut an overlong line rather than lose it */
	while (off > 0 && line[off - 1] == ' ')
		off--;
	line[off++] = '\n';
	while (write(log_fd, line, off) == -1 && errno == EINTR)
		;
}

void
log_event(enum log_level lvl, const char *id, const char *event, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vline(lvl, id, event, fmt, ap);
	va_end(ap);
}

#define LOG_SIMPLE(name, lvl, word)				\
	void name(const char *fmt, ...)				\
	{							\
		va_list ap;					\
		va_start(ap, fmt);				\
		log_vline(lvl, "sterna", word, fmt, ap);	\
		va_end(ap);					\
	}
LOG_SIMPLE(log_err, LOG_ERR, "error")
LOG_SIMPLE(log_warn, LOG_WARN, "warning")
LOG_SIMPLE(log_info, LOG_INFO, "info")
LOG_SIMPLE(log_debug, LOG_DEBUG, "debug")

const char *
log_quote(const void *p, size_t len, char *out)
{
	static const char hex[] = "0123456789abcdef";
	const uint8_t *s = p;
	size_t n = len > LOG_QUOTE_MAX ? LOG_QUOTE_MAX : len, o = 0;
	int quote = len == 0;

	for (size_t i = 0; i < n && !quote; i++)
		quote = s[i] == ' ' || s[i] == '"' || s[i] == '\\';
	if (quote)
		out[o++] = '"';
	for (size_t i = 0; i < n; i++) {
		uint8_t c = s[i];

		if (c < 0x20 || c >= 0x7f) {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		} else {
			if (quote && (c == '"' || c == '\\'))
				out[o++] = '\\';
			out[o++] = (char)c;
		}
	}
	if (len > n) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	if (quote)
		out[o++] = '"';
	out[o] = '\0';
	return out;
}

const char *
log_quote_str(const char *s, char *out)
{
	return log_quote(s, strlen(s), out);
}
