/*
 * logsetup.c - the log as the configuration asks. The configuration check
 * has judged every value already; what can fail here is the environment.
 */
#include "main/logsetup.h"

#include <string.h>

#include "util/log.h"

int
log_setup(const struct config *c, char *err, size_t errlen)
{
	enum log_format fmt = LOG_FORMAT_TEXT;

	log_init(2, c->log_level);
	(void)log_format_parse(c->log_format, &fmt);
	log_set_format(fmt);
	if (strcmp(c->log_output, "syslog") == 0 &&
	    log_use_syslog(c->log_syslog_socket, c->log_syslog_facility, err, errlen) == -1)
		return -1;
	return 0;
}
