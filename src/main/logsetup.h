/*
 * logsetup.h - the log as the configuration asks (server.log_level,
 * log_format, log_output, log_syslog_facility, log_syslog_socket).
 */
#ifndef STERNA_MAIN_LOGSETUP_H
#define STERNA_MAIN_LOGSETUP_H

#include <stddef.h>

#include "config/config.h"

/*
 * Sets the level and format, and the output: stderr, or syslog's socket
 * (connected now, before privileges are dropped and the sandbox closes).
 * Returns 0, or -1 with the reason in err.
 */
int log_setup(const struct config *c, char *err, size_t errlen);

#endif
