/*
 * log_sink.c - where lines go: a descriptor (stderr: the terminal, a file,
 * journald's stream) or syslog. For syslog we speak the datagram protocol
 * of syslog(3) ourselves (RFC 3164: "<PRI>Mmm dd hh:mm:ss sterna[PID]: LINE"
 * to a UNIX socket), because syslog(3) knows only /dev/log and a test, or a
 * chroot, wants another path. Either way a line costs one system call.
 */
#include "util/log_int.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static _Atomic int sink_fd = 2;		/* the descriptor; syslog's fallback too */
static _Atomic int syslog_fd = -1;	/* connected datagram socket, or -1 */
static int syslog_facility;		/* already shifted: LOG_MAIL is 2 << 3 */
static struct sockaddr_un syslog_addr;
static pthread_mutex_t syslog_lock = PTHREAD_MUTEX_INITIALIZER;
static time_t syslog_retry_at;		/* under syslog_lock */
static long syslog_pid;			/* getpid(2) is a system call: asked once */

static const struct { const char *name; int code; } facilities[] = {
	{ "user", 1 }, { "mail", 2 }, { "daemon", 3 },
	{ "local0", 16 }, { "local1", 17 }, { "local2", 18 }, { "local3", 19 },
	{ "local4", 20 }, { "local5", 21 }, { "local6", 22 }, { "local7", 23 },
};

void
log_sink_set_fd(int fd)
{
	sink_fd = fd;
}

int
log_syslog_facility_parse(const char *name, int *code_out)
{
	for (size_t i = 0; i < sizeof(facilities) / sizeof(facilities[0]); i++) {
		if (strcmp(name, facilities[i].name) == 0) {
			*code_out = facilities[i].code;
			return 0;
		}
	}
	return -1;
}

static int
syslog_connect(void)
{
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd == -1)
		return -1;
	if (connect(fd, (const struct sockaddr *)&syslog_addr, sizeof(syslog_addr)) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

int
log_use_syslog(const char *path, const char *facility, char *err, size_t errlen)
{
	int code, fd;

	if (log_syslog_facility_parse(facility, &code) == -1) {
		snprintf(err, errlen, "unknown syslog facility '%s'", facility);
		return -1;
	}
	if (strlen(path) >= sizeof(syslog_addr.sun_path)) {
		snprintf(err, errlen, "%s: path too long for a UNIX socket", path);
		return -1;
	}
	pthread_mutex_lock(&syslog_lock);
	syslog_facility = code << 3;
	memset(&syslog_addr, 0, sizeof(syslog_addr));
	syslog_addr.sun_family = AF_UNIX;
	memcpy(syslog_addr.sun_path, path, strlen(path) + 1);
	if (syslog_fd != -1)
		close(syslog_fd);
	/* not listening yet (syslogd starts later) is no error: lines try again */
	fd = syslog_connect();
	syslog_fd = fd == -1 ? -2 : fd;		/* -2: syslog chosen, not connected */
	syslog_retry_at = 0;
	syslog_pid = (long)getpid();
	pthread_mutex_unlock(&syslog_lock);
	return 0;
}

/*
 * A new connection after the syslog daemon went away (restarted), tried at
 * most once a second so that a missing daemon does not cost a connect(2)
 * a line. Returns the descriptor, or -1.
 */
static int
syslog_reconnect(int failed_fd)
{
	time_t now = time(NULL);
	int fd;

	pthread_mutex_lock(&syslog_lock);
	fd = syslog_fd;
	if (fd == failed_fd && now >= syslog_retry_at) {
		if (failed_fd >= 0)
			close(failed_fd);
		syslog_retry_at = now + 1;
		fd = syslog_connect();
		syslog_fd = fd == -1 ? -2 : fd;
	}
	pthread_mutex_unlock(&syslog_lock);
	return fd >= 0 && fd != failed_fd ? fd : -1;
}

static int
syslog_send(enum log_level lvl, const char *line, size_t len)
{
	/* severities of RFC 5424 6.2.1: err 3, warning 4, info 6, debug 7 */
	static const int severity[] = { 3, 4, 6, 7 };
	static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul",
	    "Aug", "Sep", "Oct", "Nov", "Dec" };
	char dgram[LOG_JSON_SIZE + 64];
	time_t now = time(NULL);
	struct tm tm;
	int fd = syslog_fd, n;

	localtime_r(&now, &tm);
	n = snprintf(dgram, sizeof(dgram), "<%d>%s %2d %02d:%02d:%02d sterna[%ld]: ",
	    syslog_facility | severity[(unsigned)lvl < 4 ? lvl : 3], months[tm.tm_mon],
	    tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, syslog_pid);
	if (n < 0 || (size_t)n + len > sizeof(dgram))
		return -1;
	memcpy(dgram + n, line, len);
	len += (size_t)n;
	for (int tries = 0; tries < 2; tries++) {
		/*
		 * Never wait for a syslog daemon that falls behind (the event loop
		 * would stop with it): a full socket sends the line to the descriptor.
		 */
		if (fd >= 0 && send(fd, dgram, len, MSG_NOSIGNAL | MSG_DONTWAIT) != -1)
			return 0;
		if (fd >= 0 && errno == EINTR)
			continue;
		if (fd >= 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS))
			return -1;
		if ((fd = syslog_reconnect(fd)) == -1)
			return -1;
	}
	return -1;
}

void
log_sink_write(enum log_level lvl, char *line, size_t len)
{
	/* syslog takes the line without its "\n" */
	if (syslog_fd != -1 && syslog_send(lvl, line, len - 1) == 0)
		return;
	while (write(sink_fd, line, len) == -1 && errno == EINTR)
		;
}
