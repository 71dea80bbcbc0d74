/*
 * test_sandbox.c - the confinement of main/sandbox.c, applied in a child
 * process per case since it cannot be undone: what the daemon does still
 * works (files in its folders, renames between them, threads, sockets,
 * user lookups), a write outside its folders fails (Landlock), a call
 * outside the filter fails with EPERM, and a call that only a taken-over
 * process would make ends it with SIGSYS.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config/config.h"
#include "main/sandbox.h"
#include "util/log.h"

#if defined(__SANITIZE_ADDRESS__)
#define IS_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define IS_ASAN 1
#endif
#endif

/* short, so that any name below them fits in PATH_MAX */
#define DIR_MAX 256

static char base[] = "/tmp/sterna-sandbox-XXXXXX";
static char conf_path[DIR_MAX], spool[DIR_MAX], mail[DIR_MAX], outside[DIR_MAX];
static char empty[] = "";

static void
path(char *out, const char *name)
{
	int n = snprintf(out, DIR_MAX, "%s/%s", base, name);

	assert_true(n > 0 && n < DIR_MAX);
}

static int
setup(void **state)
{
	(void)state;
	if (mkdtemp(base) == NULL)
		return -1;
	path(conf_path, "etc");
	path(spool, "spool");
	path(mail, "mail");
	path(outside, "outside");
	if (mkdir(conf_path, 0700) == -1 || mkdir(spool, 0700) == -1 || mkdir(mail, 0700) == -1 ||
	    mkdir(outside, 0700) == -1)
		return -1;
	path(conf_path, "etc/sterna.conf");
	return 0;
}

static int
teardown(void **state)
{
	char cmd[PATH_MAX + 16];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", base);
	return system(cmd) == 0 ? 0 : -1;
}

/*
 * Runs fn in a child confined as the daemon would be with this layout, and
 * returns its wait status: fn's result as the exit code, or the signal that
 * ended it. _exit: no atexit handler (LeakSanitizer's) runs in the child.
 */
static int
run_confined(int (*fn)(void))
{
	struct config cfg = { .path = conf_path, .spool_dir = spool, .mailbox_root = mail,
		.pickup_dir = empty, .users_file = empty, .out_tls_ca_file = empty };
	int status;
	pid_t pid = fork();

	assert_true(pid != -1);
	if (pid == 0)
		_exit(sandbox_apply(&cfg) == -1 ? 100 : fn());
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
}

static void
assert_exit(int status, int code)
{
	if (WIFSIGNALED(status))
		fail_msg("the child ended by signal %d", WTERMSIG(status));
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), code);
}

static void *
thread_main(void *arg)
{
	return arg;
}

/* The spool's round: create, write, flush, rename into another folder, read, remove. */
static int
spool_round(void)
{
	char tmp[PATH_MAX], sub[PATH_MAX], final[PATH_MAX], linked[PATH_MAX], got[5] = { 0 };
	int fd, dfd;

	snprintf(tmp, sizeof(tmp), "%s/t", spool);
	snprintf(sub, sizeof(sub), "%s/queue", spool);
	snprintf(final, sizeof(final), "%s/queue/t", spool);
	snprintf(linked, sizeof(linked), "%s/l", spool);
	if (mkdir(sub, 0700) == -1 || (fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0600)) == -1)
		return 1;
	if (write(fd, "mail", 4) != 4 || fdatasync(fd) == -1 || close(fd) == -1)
		return 2;
	if (rename(tmp, final) == -1 || (dfd = open(sub, O_RDONLY | O_DIRECTORY)) == -1 ||
	    fsync(dfd) == -1 || syncfs(dfd) == -1 || close(dfd) == -1)
		return 3;
	if ((fd = open(final, O_RDONLY)) == -1 || read(fd, got, 4) != 4 || close(fd) == -1 ||
	    strcmp(got, "mail") != 0)
		return 4;
	/* a commit where a file system cannot rename without replacing: a hard link */
	if (linkat(AT_FDCWD, final, AT_FDCWD, linked, 0) == -1 || unlink(linked) == -1)
		return 6;
	if (unlink(final) == -1 || rmdir(sub) == -1)
		return 5;
	return 0;
}

static int
daemon_work(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	pthread_t t;
	void *ret;
	static int arg;
	int l, c, a, r;

	if ((r = spool_round()) != 0)
		return r;
	/* threads after the sandbox: clone3 gets ENOSYS, glibc falls back to clone */
	if (pthread_create(&t, NULL, thread_main, &arg) != 0 || pthread_join(t, &ret) != 0 ||
	    ret != &arg)
		return 10;
	/* a loopback connection, as to an SMTP peer */
	if ((l = socket(AF_INET, SOCK_STREAM, 0)) == -1 || bind(l, (void *)&sa, sizeof(sa)) == -1 ||
	    listen(l, 1) == -1 || getsockname(l, (void *)&sa, &len) == -1)
		return 11;
	if ((c = socket(AF_INET, SOCK_STREAM, 0)) == -1 || connect(c, (void *)&sa, len) == -1 ||
	    (a = accept(l, NULL, NULL)) == -1 || write(c, "x", 1) != 1 || read(a, &r, 1) != 1)
		return 12;
	/* /etc through NSS: a maildrop file's owner */
	if (getpwuid(0) == NULL)
		return 13;
	return 0;
}

static void
test_daemon_work_still_works(void **state)
{
	(void)state;
	assert_exit(run_confined(daemon_work), 0);
}

static int
write_outside(void)
{
	char f[PATH_MAX], d[PATH_MAX];

	snprintf(f, sizeof(f), "%s/escape", outside);
	snprintf(d, sizeof(d), "%s/tmp", outside);
	if (open(f, O_WRONLY | O_CREAT, 0600) != -1 || errno != EACCES)
		return 1;
	if (mkdir(d, 0700) != -1 || errno != EACCES)
		return 2;
	/* the configuration's folder is read, never written */
	snprintf(f, sizeof(f), "%s.new", conf_path);
	if (open(f, O_WRONLY | O_CREAT, 0600) != -1 || errno != EACCES)
		return 3;
	return 0;
}

static void
test_write_outside_fails(void **state)
{
	struct stat st;
	char f[PATH_MAX];

	(void)state;
	if (sandbox_landlock_abi() < 2)
		skip();
	assert_exit(run_confined(write_outside), 0);
	snprintf(f, sizeof(f), "%s/escape", outside);
	assert_int_equal(stat(f, &st), -1);
}

static int
unlisted_call(void)
{
	char f[PATH_MAX], to[PATH_MAX];
	int fd;

	/*
	 * not in the filter: refused, the process goes on (no symbolic links;
	 * hard links only through linkat, which a commit needs where the file
	 * system cannot rename without replacing)
	 */
	snprintf(f, sizeof(f), "%s/a", spool);
	snprintf(to, sizeof(to), "%s/b", spool);
	if ((fd = open(f, O_WRONLY | O_CREAT, 0600)) == -1 || close(fd) == -1)
		return 1;
	if (link(f, to) != -1 || errno != EPERM || symlink(f, to) != -1 || errno != EPERM)
		return 2;
	if (unlink(f) == -1)
		return 3;
#ifndef IS_ASAN
	/* threads only, never a new process (the sanitizer's leak check needs one) */
	if (fork() != -1 || errno != EPERM)
		return 4;
#endif
	return 0;
}

static void
test_unlisted_call_fails_with_eperm(void **state)
{
	(void)state;
	assert_exit(run_confined(unlisted_call), 0);
}

static int
call_setuid(void)
{
	(void)setuid(getuid());
	return 1;
}

static int
call_execve(void)
{
	char *argv[] = { empty, NULL };

	(void)execve("/bin/true", argv, argv + 1);
	return 1;
}

static void
test_takeover_calls_end_the_process(void **state)
{
	int (*fns[])(void) = { call_setuid, call_execve };

	(void)state;
	for (size_t i = 0; i < sizeof(fns) / sizeof(fns[0]); i++) {
		int status = run_confined(fns[i]);

		assert_true(WIFSIGNALED(status));
		assert_int_equal(WTERMSIG(status), SIGSYS);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_daemon_work_still_works),
		cmocka_unit_test(test_write_outside_fails),
		cmocka_unit_test(test_unlisted_call_fails_with_eperm),
		cmocka_unit_test(test_takeover_calls_end_the_process),
	};

	log_init(2, LOG_ERR);
	return cmocka_run_group_tests(tests, setup, teardown);
}
