/*
 * log_sink.c - where lines go: a descriptor (stderr: the terminal, a file,
 * journald's stream) or syslog. For syslog we speak the datagram protocol
 * of syslog(3) ourselves (RFC 3164: "<PRI>Mmm dd hh:mm:ss sterna[PID]: LINE"
 * to a UNIX socket), because syslog(3) knows only /dev/log and a test, or a
 * chroot, wants another path. Either way a line costs one system call.
 */
#include "util/log_int.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "util/xalloc.h"

static _Atomic int sink_fd = 2;		/* the descriptor; syslog's fallback too */
static _Atomic int syslog_fd = -1;	/* the datagram socket to syslog, or -1 */
static int syslog_facility;		/* already shifted: LOG_MAIL is 2 << 3 */
static struct sockaddr_un syslog_addr;
static pthread_mutex_t syslog_lock = PTHREAD_MUTEX_INITIALIZER;	/* reconnecting */
static time_t syslog_retry_at;		/* under syslog_lock */
static long syslog_pid;			/* getpid(2) is a system call: asked once */
static _Atomic bool syslog_behind;	/* a wait for room ran out: wait no more */

/*
 * How long a line waits for room in a full syslog socket. The kernel
 * queues only net.unix.max_dgram_qlen datagrams for the daemon (10 unless
 * raised; systemd sets 512), so a burst of lines fills it while the daemon
 * is merely slow to be scheduled. One short wait keeps those lines in
 * syslog; a daemon that stays stuck costs one wait, not one per line.
 */
#define SYSLOG_ROOM_WAIT_MS 200

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

int
log_use_syslog(const char *path, const char *facility, char *err, size_t errlen)
{
	int code, fd;

	ASSERT(syslog_fd == -1);
	if (log_syslog_facility_parse(facility, &code) == -1) {
		snprintf(err, errlen, "unknown syslog facility '%s'", facility);
		return -1;
	}
	if (strlen(path) >= sizeof(syslog_addr.sun_path)) {
		snprintf(err, errlen, "%s: path too long for a UNIX socket", path);
		return -1;
	}
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1) {
		snprintf(err, errlen, "syslog: socket: %s", strerror(errno));
		return -1;
	}
	syslog_facility = code << 3;
	syslog_addr.sun_family = AF_UNIX;
	memcpy(syslog_addr.sun_path, path, strlen(path) + 1);
	syslog_pid = (long)getpid();
	/* not listening yet (syslogd starts later) is no error: lines try again */
	(void)connect(fd, (const struct sockaddr *)&syslog_addr, sizeof(syslog_addr));
	syslog_fd = fd;
	return 0;
}

/*
 * The syslog daemon went away (restarted): the same socket is connected
 * again, at most once a second so that a missing daemon does not cost a
 * connect(2) a line. The descriptor is never closed and replaced: another
 * thread may be sending on it, and a number closed under it could be
 * reused by a mail connection. Returns 0 once connected, or -1.
 */
static int
syslog_reconnect(void)
{
	time_t now = time(NULL);
	int r = -1;

	pthread_mutex_lock(&syslog_lock);
	if (now >= syslog_retry_at) {
		syslog_retry_at = now + 1;
		r = connect(syslog_fd, (const struct sockaddr *)&syslog_addr, sizeof(syslog_addr));
	}
	pthread_mutex_unlock(&syslog_lock);
	return r;
}

/*
 * The syslog socket was full: wait for room, unless an earlier wait ran
 * out and no line has gone through since. Returns true if there is room.
 */
static bool
syslog_wait_for_room(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLOUT };
	int r;

	if (atomic_load_explicit(&syslog_behind, memory_order_relaxed))
		return false;
	while ((r = poll(&p, 1, SYSLOG_ROOM_WAIT_MS)) == -1 && errno == EINTR)
		;
	if (r == 1 && (p.revents & POLLOUT))
		return true;
	atomic_store_explicit(&syslog_behind, true, memory_order_relaxed);
	return false;
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
	for (int tries = 0; tries < 3; tries++) {
		/*
		 * Never block on a syslog daemon that falls behind (the event loop
		 * would stop with it): a socket that stays full sends the line to
		 * the descriptor.
		 */
		if (send(fd, dgram, len, MSG_NOSIGNAL | MSG_DONTWAIT) != -1) {
			if (atomic_load_explicit(&syslog_behind, memory_order_relaxed))
				atomic_store_explicit(&syslog_behind, false, memory_order_relaxed);
			return 0;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) {
			if (syslog_wait_for_room(fd))
				continue;
			return -1;
		}
		if (syslog_reconnect() == -1)
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
