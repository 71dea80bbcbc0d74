/*
 * log_int.h - what log.c shares with the JSON form (log_json.c) and the
 * outputs (log_sink.c); nothing outside src/util includes it.
 */
#ifndef STERNA_UTIL_LOG_INT_H
#define STERNA_UTIL_LOG_INT_H

#include <stddef.h>

#include "util/log.h"

/* A text line at most (its "\n" included); longer ones are cut. */
#define LOG_LINE_SIZE 8192
/* Its JSON form: \xNN becomes \u00NN and every key gains quotes and a colon. */
#define LOG_JSON_SIZE (LOG_LINE_SIZE * 2)

/*
 * log_json.c: the JSON object of the text line (len bytes, no "\n"), with
 * "\n", into out. Returns its length, or 0 if it does not fit.
 */
size_t log_json_from_line(const char *line, size_t len, char *out, size_t size);

/* log_sink.c: lines go to fd (until log_use_syslog). */
void log_sink_set_fd(int fd);
/* Writes one whole line (its "\n" included) of level lvl: one system call. */
void log_sink_write(enum log_level lvl, char *line, size_t len);

#endif
