/*
 * log.c - the shape of a line: "TIME LEVEL ID EVENT key=value ...", built
 * whole in one buffer and handed to log_sink.c (a descriptor or syslog) in
 * the chosen format (text as built, or log_json.c's JSON of it).
 */
#include "log.h"
#include "log_int.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static _Atomic int log_max = LOG_INFO;
static _Atomic int log_format = LOG_FORMAT_TEXT;

static const char *const level_names[] = { "error", "warning", "info", "debug" };

void
log_init(int fd, enum log_level lvl)
{
	log_sink_set_fd(fd);
	log_max = lvl;
}

int
log_level_parse(const char *name, enum log_level *out)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (strcmp(name, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

const char *
log_level_name(enum log_level lvl)
{
	return (unsigned)lvl < sizeof(level_names) / sizeof(level_names[0]) ?
	    level_names[lvl] : "debug";
}

int
log_enabled(enum log_level lvl)
{
	return (int)lvl <= log_max;
}

int
log_format_parse(const char *name, enum log_format *out)
{
	if (strcmp(name, "text") == 0)
		*out = LOG_FORMAT_TEXT;
	else if (strcmp(name, "json") == 0)
		*out = LOG_FORMAT_JSON;
	else
		return -1;
	return 0;
}

void
log_set_format(enum log_format fmt)
{
	log_format = fmt;
}

/* "TIME LEVEL ID EVENT " at the start of line: its length, or 0 if it does not fit. */
static size_t
log_head(char *line, size_t size, enum log_level lvl, const char *id, const char *event)
{
	struct timespec ts;
	struct tm tm;
	int n;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = snprintf(line, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s %s %s ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
	    ts.tv_nsec / 1000000, log_level_name(lvl), id && id[0] ? id : "-", event);
	return n < 0 || (size_t)n >= size ? 0 : (size_t)n;
}

/* Ends the line of len bytes (trailing spaces dropped) and sends it in the chosen format. */
static void
log_emit(enum log_level lvl, char *line, size_t len)
{
	char json[LOG_JSON_SIZE];

	while (len > 0 && line[len - 1] == ' ')
		len--;
	line[len] = '\0';
	if (log_format == LOG_FORMAT_JSON) {
		size_t n = log_json_from_line(line, len, json, sizeof(json));

		if (n > 0) {
			log_sink_write(lvl, json, n);
			return;
		}
	}
	line[len++] = '\n';
	log_sink_write(lvl, line, len);
}

void
log_event(enum log_level lvl, const char *id, const char *event, const char *fmt, ...)
{
	char line[LOG_LINE_SIZE];
	va_list ap;
	size_t off;
	int n;

	if (!log_enabled(lvl) || (off = log_head(line, sizeof(line), lvl, id, event)) == 0)
		return;
	va_start(ap, fmt);
	n = vsnprintf(line + off, sizeof(line) - off, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	off += (size_t)n;
	if (off > sizeof(line) - 2)
		off = sizeof(line) - 2;	/* cut an overlong line rather than lose it */
	log_emit(lvl, line, off);
}

/*
 * p's bytes as a value: at most max of them (then "..."), control and 8-bit
 * bytes as \xNN, in double quotes (with \" and \\) when is_quoted or when a
 * bare token would not do (a space, a quote, a backslash, or nothing).
 * out holds max * 4 + 8 bytes.
 */
static const char *
quote_value(const void *p, size_t len, size_t max, int is_quoted, char *out)
{
	static const char hex[] = "0123456789abcdef";
	const uint8_t *s = p;
	size_t n = len > max ? max : len, o = 0;

	is_quoted = is_quoted || len == 0;
	for (size_t i = 0; i < n && !is_quoted; i++)
		is_quoted = s[i] == ' ' || s[i] == '"' || s[i] == '\\';
	if (is_quoted)
		out[o++] = '"';
	for (size_t i = 0; i < n; i++) {
		uint8_t c = s[i];

		if (c < 0x20 || c >= 0x7f) {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		} else {
			if (is_quoted && (c == '"' || c == '\\'))
				out[o++] = '\\';
			out[o++] = (char)c;
		}
	}
	if (len > n) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	if (is_quoted)
		out[o++] = '"';
	out[o] = '\0';
	return out;
}

static void
log_vnote(enum log_level lvl, const char *id, const char *fmt, va_list ap)
{
	char line[LOG_LINE_SIZE], text[LOG_TEXT_MAX + 1], msg[LOG_TEXT_SIZE];
	size_t off;
	int n;

	if (!log_enabled(lvl) || (off = log_head(line, sizeof(line), lvl, id, "note")) == 0)
		return;
	if (vsnprintf(text, sizeof(text), fmt, ap) < 0)
		return;
	n = snprintf(line + off, sizeof(line) - off, "msg=%s",
	    quote_value(text, strlen(text), LOG_TEXT_MAX, 1, msg));
	if (n < 0 || (size_t)n >= sizeof(line) - off - 1)
		return;
	log_emit(lvl, line, off + (size_t)n);
}

void
log_note(enum log_level lvl, const char *id, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vnote(lvl, id, fmt, ap);
	va_end(ap);
}

#define LOG_SIMPLE(name, lvl)					\
	void name(const char *fmt, ...)				\
	{							\
		va_list ap;					\
		va_start(ap, fmt);				\
		log_vnote(lvl, "-", fmt, ap);			\
		va_end(ap);					\
	}
LOG_SIMPLE(log_err, LOG_ERR)
LOG_SIMPLE(log_warn, LOG_WARN)
LOG_SIMPLE(log_info, LOG_INFO)
LOG_SIMPLE(log_debug, LOG_DEBUG)

const char *
log_quote(const void *p, size_t len, char *out)
{
	return quote_value(p, len, LOG_QUOTE_MAX, 0, out);
}

const char *
log_quote_str(const char *s, char *out)
{
	return log_quote(s, strlen(s), out);
}

const char *
log_quote_text(const char *s, char *out)
{
	return quote_value(s, strlen(s), LOG_TEXT_MAX, 0, out);
}

const char *
log_addr(const char *addr, char *out)
{
	char q[LOG_QUOTE_SIZE];
	size_t n;

	if (addr == NULL || addr[0] == '\0') {
		memcpy(out, "<>", 3);
		return out;
	}
	log_quote_str(addr, q);
	n = strlen(q);
	if (q[0] == '"')	/* "<" and ">" go inside the quotes */
		snprintf(out, LOG_ADDR_SIZE, "\"<%.*s>\"", (int)(n - 2), q + 1);
	else
		snprintf(out, LOG_ADDR_SIZE, "<%s>", q);
	return out;
}
