/*
 * log.h - one line per event, every line in one shape:
 *
 *   TIME LEVEL ID EVENT key=value ...
 *
 * TIME is UTC to the millisecond (2026-12-05T14:45:10.123Z), LEVEL one of
 * error, warning, info, debug, ID the connection or queue id the line
 * belongs to ("-" for none), EVENT a fixed word ([a-z][a-z0-9_]*), and each
 * value either a bare token (no space, quote or backslash) or a string in
 * double quotes with \" \\ and \xNN escapes. docs/operations.md ("Logs")
 * names every event and its keys.
 *
 * The same line can be written as one JSON object instead (log_set_format),
 * and to syslog instead of a descriptor (log_use_syslog). Each line costs
 * one write(2) or send(2), so threads may log at once.
 * Text a peer sent reaches a line only through log_quote().
 */
#ifndef STERNA_UTIL_LOG_H
#define STERNA_UTIL_LOG_H

#include <stddef.h>

enum log_level { LOG_ERR, LOG_WARN, LOG_INFO, LOG_DEBUG };
enum log_format { LOG_FORMAT_TEXT, LOG_FORMAT_JSON };

/* Sends lines to fd (stderr by default) from level lvl and more severe. */
void log_init(int fd, enum log_level lvl);
/* Parses "error", "warning", "info", "debug": 0, or -1. */
int log_level_parse(const char *name, enum log_level *out);
/* The word of lvl in a line ("error", ...). */
const char *log_level_name(enum log_level lvl);
int log_enabled(enum log_level lvl);
/* Parses "text", "json": 0, or -1. */
int log_format_parse(const char *name, enum log_format *out);
/* Text lines (the default) or JSON lines from now on. */
void log_set_format(enum log_format fmt);

/*
 * Sends lines from now on as syslog datagrams to the UNIX socket at path
 * ("/dev/log": syslogd or journald), with facility (a name of
 * log_syslog_facility_parse). A line that cannot be sent (no one listens)
 * goes to the descriptor of log_init instead, so that none is lost.
 * Called once, at start, before other threads log. Returns 0, or -1 with
 * the reason in err (an unknown facility, no socket).
 */
int log_use_syslog(const char *path, const char *facility, char *err, size_t errlen);
/* Parses "mail", "daemon", "user", "local0" ... "local7": 0, or -1. */
int log_syslog_facility_parse(const char *name, int *code_out);

/*
 * Writes one line: id (a connection or queue id; "-" for none), a fixed event
 * word, then the key=value pairs that fmt produces. Values from a peer must
 * come from log_quote(), the server's own texts from log_quote_text().
 */
void log_event(enum log_level lvl, const char *id, const char *event, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/*
 * A line in the server's own words: "ID note msg="TEXT"", the text that fmt
 * produces quoted whole and never cut (up to LOG_TEXT_MAX). For conditions
 * that are no event of mail or of a session (a file that cannot be written,
 * the sandbox at start); id is the message's or connection's where there is
 * one, else "-".
 */
void log_note(enum log_level lvl, const char *id, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* log_note() with no id: daemon messages that belong to no message or connection. */
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

/*
 * The same for the server's own texts (reasons, errors, a next hop's
 * reply), which are not cut short: up to LOG_TEXT_MAX bytes. out must hold
 * LOG_TEXT_SIZE bytes.
 */
#define LOG_TEXT_MAX 1024
#define LOG_TEXT_SIZE (LOG_TEXT_MAX * 4 + 8)
const char *log_quote_text(const char *s, char *out);

/*
 * An envelope address as a value: <> for the null sender, <a@b> when the
 * address needs no quotes, else the whole "<...>" quoted. Peer text, so
 * bounded as log_quote(). out must hold LOG_ADDR_SIZE bytes.
 */
#define LOG_ADDR_SIZE (LOG_QUOTE_SIZE + 4)
const char *log_addr(const char *addr, char *out);

#endif
