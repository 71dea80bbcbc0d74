/*
 * log.h - one line per event: "TIME ID EVENT key=value ...".
 * Lines are written with a single write(2) each, so threads may log at once.
 * Text a peer sent reaches a line only through log_quote().
 */
#ifndef STERNA_UTIL_LOG_H
#define STERNA_UTIL_LOG_H

#include <stddef.h>

enum log_level { LOG_ERR, LOG_WARN, LOG_INFO, LOG_DEBUG };

/* Sends lines to fd (stderr by default) from level lvl and more severe. */
void log_init(int fd, enum log_level lvl);
/* Parses "error", "warning", "info", "debug": 0, or -1. */
int log_level_parse(const char *name, enum log_level *out);
int log_enabled(enum log_level lvl);

/*
 * Writes one line: id (a connection or queue id; "-" for none), a fixed event
 * word, then the key=value pairs that fmt produces. Values from a peer must
 * come from log_quote().
 */
void log_event(enum log_level lvl, const char *id, const char *event, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Daemon messages that belong to no message or connection. */
void log_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Makes peer bytes safe for a log line: at most LOG_QUOTE_MAX input bytes
 * (then "..."), control and 8-bit bytes as \xNN, and the whole value in
 * double quotes when it holds a space, a quote or a backslash, or is empty.
 * Returns out, which must hold LOG_QUOTE_SIZE bytes.
 */
#define LOG_QUOTE_MAX 64
#define LOG_QUOTE_SIZE (LOG_QUOTE_MAX * 4 + 8)
const char *log_quote(const void *p, size_t len, char *out);
/* log_quote() of a NUL-terminated string. */
const char *log_quote_str(const char *s, char *out);

#endif
